# Tenantry — `make run` to start the daemon, `make test` to run every suite.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
DB ?= data/tenantry.sqlite
LISTEN ?= 127.0.0.1:8080
OPERATOR_EMAIL ?= admin@tenantry.local

# Debian packages: to build, to run the test suites, to benchmark.
BUILD_PACKAGES := libmicrohttpd-dev libargon2-dev libsqlite3-dev libcurl4-openssl-dev pkg-config
TEST_PACKAGES := nginx-light systemd curl chromium chromium-driver
BENCH_PACKAGES := wrk sqlite3 gcc libc6-dev postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test-deps bench-deps build release run test lint test-swift test-integration bench clean

# Installs whichever of the Debian packages are missing.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 is needed (https://www.swift.org/install/linux/)"; exit 1; }
	$(call apt_install,$(BUILD_PACKAGES))

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))
	@$(PYTHON) -c 'import pytest, openapi_spec_validator, selenium, aiosmtpd, standardwebhooks, cryptography, stripe, joserfc, pyotp' 2>/dev/null || $(PYTHON) -m pip install -q pytest openapi-spec-validator selenium aiosmtpd standardwebhooks cryptography stripe joserfc pyotp

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds, creates the database and (once) an operator account, then serves in the foreground.
run: release
	@mkdir -p $(dir $(DB))
	@.build/release/tenantryd migrate --db $(DB)
	@.build/release/tenantryd admin create --email $(OPERATOR_EMAIL) --if-missing --db $(DB)
	@echo
	@echo "  Console:  http://$(LISTEN)/"
	@echo "  Log in as $(OPERATOR_EMAIL) with the password printed above (shown only when the account is created)."
	@echo "  Lost it?  .build/release/tenantryd admin set-password --email $(OPERATOR_EMAIL) --db $(DB)"
	@echo "  Stop with Ctrl-C."
	@echo
	exec .build/release/tenantryd serve --db $(DB) --listen $(LISTEN) --public Public

test: test-deps lint
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory test-swift test-integration

# The style in .swift-format, checked as CI runs it; `swift format -i -r Sources Tests Package.swift` applies it.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

test-swift:
	$(SWIFT) test --skip-build --disable-xctest

test-integration:
	TENANTRYD=$(CURDIR)/.build/debug/tenantryd $(PYTHON) -m pytest -q Tests/integration Tests/console

bench: bench-deps release
	bench/run.sh

clean:
	rm -rf .build
