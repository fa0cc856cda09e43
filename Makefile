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

# The long sandbox sweeps too: SIGKILL of the controller after every journal
# line, then resume (RolloutFaultTests; CERTROLL_LONG_TESTS=1).
test-long: deps
	$(SWIFT) build --build-tests
	CERTROLL_LONG_TESTS=1 $(SWIFT) test --skip-build

# Release-build benchmarks on the sandbox (root); writes docs/benchmarks.md.
bench: deps
	@scripts/bench

demo: build
	$(BIN)/certroll demo

clean:
	rm -rf .build
