# certroll — build, test, demo. Every target installs what it needs itself.
SWIFT ?= swift
BIN := .build/debug

.PHONY: deps build test test-long demo bench clean

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build

# Unit tests run anywhere; integration tests (real sshd in namespaces) need
# root and say so when skipped.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	$(BIN)/certroll demo

clean:
	rm -rf .build
