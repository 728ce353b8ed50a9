# SPDX-License-Identifier: BSD-2-Clause
# A thin maintenance front end for meson and ninja. Every target that needs
# Debian packages first runs scripts/install-deps, which installs only what
# is missing and says what it installs. `make` builds; `make help` lists the targets.

# bash wherever it is (FreeBSD: /usr/local/bin/bash). This Makefile is for
# GNU make (gmake on FreeBSD).
SHELL := $(or $(shell command -v bash 2>/dev/null),/bin/bash) -eo pipefail
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
RELEASE_BUILD ?= build-release
PREFIX ?= /usr/local
MESON_OPTS ?=
# The --sandbox mode of every daemon `make test` starts (test builds read
# $SEALPIPE_TEST_SANDBOX when the flag is absent): on, so that a
# legitimate path the sandbox blocks fails the suite. A kernel without
# Landlock network rules (Linux < 6.7) needs `make test SANDBOX=auto`.
# Elsewhere (FreeBSD) no such layer exists, and on would refuse to start:
# auto.
SANDBOX ?= $(if $(filter Linux,$(shell uname -s)),on,auto)
# Seconds per fuzz target for `make fuzz` (CI uses a shorter budget).
FUZZ_SECONDS ?= 300
# Duration of `make soak` in seconds.
SOAK_SECONDS ?= 600
DEPS := scripts/install-deps

.DEFAULT_GOAL := build
.PHONY: help deps build all test test-unit test-e2e asan valgrind fuzz fuzz-short mutants bench \
        soak demo deb test-deb check-freebsd test-rabbitmq image test-kube lint format install uninstall clean

help: ## Show this list
	@echo "sealpipe: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 18

deps: ## Install every package any target needs (Debian 12, as root)
	@$(DEPS) all

# The build the tests run is a test build: it honours the SEALPIPE_TEST_*
# knobs that shrink protocol limits (src/proto/limits.hpp). `make install`
# installs from a release build without them, $(RELEASE_BUILD).
$(BUILD)/build.ninja:
	@$(DEPS) test
	meson setup $(BUILD) --prefix=$(PREFIX) -Dtest_hooks=true $(MESON_OPTS)

build: $(BUILD)/build.ninja ## Build sealpiped, sealpipe and the test tools
	@$(DEPS) build
	ninja -C $(BUILD)

all: build

test: ## Install test dependencies, build, run every test (the CI command)
	@$(DEPS) test
	@$(MAKE) --no-print-directory build
	SEALPIPE_TEST_SANDBOX=$(SANDBOX) meson test -C $(BUILD) --print-errorlogs --num-processes 2

test-unit: build ## Run only the unit tests
	meson test -C $(BUILD) --print-errorlogs --suite unit --suite lint

test-e2e: build ## Run only the end-to-end tests
	SEALPIPE_TEST_SANDBOX=$(SANDBOX) meson test -C $(BUILD) --print-errorlogs --suite e2e

# Reports of every process (daemonized ones included, whose exit status no
# test sees) go to one directory; any file there fails the run. The
# daemons run with --sandbox=off: LeakSanitizer's exit-time check needs
# ptrace, and its reports need files the sandbox does not grant.
# 34-sandbox still runs them confined (without the leak check).
SAN_LOGS = $(abspath $(ASAN_BUILD))/sanitizer-logs
asan: ## Build with ASan+UBSan in build-asan/ and run the whole suite
	@$(DEPS) asan
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbench=false -Dtest_hooks=true $(MESON_OPTS)
	ninja -C $(ASAN_BUILD)
	rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:log_path=$(SAN_LOGS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOGS)/ubsan \
	SP_SANITIZED=1 SP_SLOW=2 SEALPIPE_TEST_SANDBOX=off \
	    meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
	    --no-suite freebsd
	@if [ -n "$$(ls -A $(SAN_LOGS))" ]; then \
	    echo "sanitizer reports:"; cat $(SAN_LOGS)/*; exit 1; fi
	@echo "asan: no sanitizer report"

valgrind: ## Run the whole suite under valgrind memcheck (smaller data sizes)
	@$(DEPS) valgrind
	@$(MAKE) --no-print-directory build
	rm -rf $(BUILD)/valgrind-logs && mkdir -p $(BUILD)/valgrind-logs
	meson test -C $(BUILD) --print-errorlogs --setup valgrind --num-processes 2 --no-suite freebsd
	@bad=$$(find $(BUILD)/valgrind-logs -type f -size +0 | head -20); \
	if [ -n "$$bad" ]; then echo "valgrind reports:"; for f in $$bad; do echo "== $$f"; cat "$$f"; done; exit 1; fi
	@echo "valgrind: no error and no leak in $$(ls $(BUILD)/valgrind-logs | wc -l) processes"

fuzz: ## Build the libFuzzer targets with clang-14 and run each for FUZZ_SECONDS
	@$(DEPS) fuzz
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CXX=clang++-14 meson setup $(FUZZ_BUILD) -Dfuzz=true \
	    -Dtests=false -Dbench=false -Dman=false -Db_lundef=false $(MESON_OPTS)
	ninja -C $(FUZZ_BUILD)
	tests/fuzz/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-short: ## Run each fuzz target for 45 s (what CI does)
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=45

DEB_BUILD ?= build-deb
deb: ## Build the Debian package into build-deb/ (sealpipe_VERSION_ARCH.deb)
	@$(DEPS) deb
	scripts/make-deb $(DEB_BUILD)

test-deb: ## Build the package, lintian it, install it here, run a pipe as its user, purge it
	@$(DEPS) deb
	@$(DEPS) test
	@$(MAKE) --no-print-directory build
	tests/deb/run.sh $(BUILD)

check-freebsd: ## Compile every source file for FreeBSD 14 with -Werror (needs ../shared/freebsd)
	@$(DEPS) freebsd
	tests/freebsd/check-compile . $(BUILD)/freebsd

mutants: ## Mutation check: disable each security check of tests/mutants/mutants.toml, expect its tests to fail
	@$(DEPS) test
	tests/mutants/run

bench: ## Compare sealpiped with spiped, stunnel, socat and a plain relay (see bench/README.md)
	@$(DEPS) bench
	@$(MAKE) --no-print-directory build
	bench/run $(BUILD)

soak: ## Mixed-traffic soak test for SOAK_SECONDS (default 10 minutes)
	@$(DEPS) test
	@$(MAKE) --no-print-directory build
	SOAK_SECONDS=$(SOAK_SECONDS) tests/e2e/soak.sh $(BUILD)

demo: ## Build, then run a working tunnel on loopback and show what happens
	@$(DEPS) build
	@$(MAKE) --no-print-directory build
	scripts/demo $(BUILD)

test-rabbitmq: ## RabbitMQ AMQP and management UI through sealpipe (installs rabbitmq)
	@$(DEPS) rabbitmq
	@$(MAKE) --no-print-directory build
	tests/e2e/rabbitmq/run $(BUILD) $(RABBITMQ_ARGS)

$(RELEASE_BUILD)/build.ninja:
	@$(DEPS) build
	meson setup $(RELEASE_BUILD) --prefix=$(PREFIX) --buildtype=release -Dtests=false -Dbench=false \
	    -Dtest_hooks=false $(MESON_OPTS)

image: $(RELEASE_BUILD)/build.ninja ## Build the container image sealpipe:latest (from scratch, podman, no registry)
	@$(DEPS) kube
	ninja -C $(RELEASE_BUILD)
	deploy/image/build sealpipe:latest $(RELEASE_BUILD)/src/sealpiped $(RELEASE_BUILD)/src/sealpipe

test-kube: $(RELEASE_BUILD)/build.ninja ## The image as Kubernetes sidecars under podman kube play (see docs/kubernetes.md)
	@$(DEPS) kube
	@$(MAKE) --no-print-directory build
	ninja -C $(RELEASE_BUILD)
	tests/kube/run.sh $(BUILD) $(RELEASE_BUILD)

lint: build ## shellcheck, mandoc -Tlint and systemd-analyze on the shipped files
	meson test -C $(BUILD) --print-errorlogs --suite lint

format: ## Apply .clang-format to the C++ sources (lint-format checks it)
	clang-format -i $$(find src tests/unit tests/tools tests/fuzz bench/tools -name '*.cpp' -o -name '*.hpp')

install: ## Install binaries, man pages and service files under PREFIX (a release build)
	@$(DEPS) build
	@$(MAKE) --no-print-directory $(RELEASE_BUILD)/build.ninja
	ninja -C $(RELEASE_BUILD)
	meson install -C $(RELEASE_BUILD)

uninstall: ## Remove what `make install` installed
	ninja -C $(RELEASE_BUILD) uninstall

clean: ## Remove all build directories
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD) $(DEB_BUILD)
