# certroll — build, test, demo. Every target installs what it needs itself.
SWIFT ?= swift
BIN := .build/debug

# `make install [PREFIX=/usr/local] [DESTDIR=]`; BINDIR, MANDIR, BASHCOMPDIR,
# ZSHCOMPDIR and FISHCOMPDIR may be overridden too (scripts/install-files).
PREFIX ?= /usr/local
DESTDIR ?=
# The Swift runtime (and Foundation) linked in, so the installed binary needs
# no toolchain: only libssh2, OpenSSL and libc from the system. A scratch path
# of its own: .build/release is make bench's (runtime not linked in), and must
# never be what gets installed. No $ORIGIN run path: an installed binary loads
# libraries from the system's folders only, never from the one it sits in.
RELEASE := $(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath --product certroll --scratch-path .build-release
RELEASE_BIN := .build-release/release/certroll
# One place for the version: the line `--version` prints from.
VERSION := $(shell sed -n 's/^ *static let number = "\(.*\)"$$/\1/p' Sources/CertrollCLI/Version.swift)

.PHONY: deps build test test-long test-install demo bench clean release install uninstall deb

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build

# Unit tests run anywhere; integration tests (real sshd in namespaces) need
# root and say so when skipped.
# One run at a time on a machine (scripts/one-test-run): the sandbox suites
# use fixed names, so a second run would tear down the first's sandboxes.
test: deps
	$(SWIFT) build --build-tests
	@scripts/one-test-run $(SWIFT) test --skip-build
	@scripts/one-test-run scripts/test-install

# What an admin gets: make install into a temporary prefix and make deb, then
# use both (--version, man, completions, ldd, dpkg -i/-r in a throwaway root).
test-install: deps
	@scripts/one-test-run scripts/test-install

# The long sandbox sweeps too: SIGKILL of the controller after every journal
# line, then resume (RolloutFaultTests; CERTROLL_LONG_TESTS=1).
test-long: deps
	$(SWIFT) build --build-tests
	CERTROLL_LONG_TESTS=1 scripts/one-test-run $(SWIFT) test --skip-build

# Release-build benchmarks on the sandbox (root); writes docs/benchmarks.md.
bench: deps
	@scripts/bench

release: deps
	$(RELEASE)

# Rebuilt only when a source is newer, so `sudo make install` after
# `make release` does not run swift build as root in your checkout.
$(RELEASE_BIN): Package.swift $(shell find Sources Plugins -type f)
	@scripts/install-deps
	$(RELEASE)

install: $(RELEASE_BIN)
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install-files install $(RELEASE_BIN)

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install-files uninstall

# certroll_$(VERSION)_ARCH.deb in DEBDIR (the top folder unless given).
DEBDIR ?= .
deb: $(RELEASE_BIN)
	@scripts/build-deb $(RELEASE_BIN) $(VERSION) "$(DEBDIR)"

demo: build
	$(BIN)/certroll demo

clean:
	rm -rf .build .build-release certroll_*.deb
