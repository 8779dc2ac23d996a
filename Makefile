# SPDX-License-Identifier: GPL-2.0
# tcpmig: top-level targets. The module itself is built by Kbuild.
#
#   make                  tcpmig.ko against the running kernel's build tree
#                         (/lib/modules/$(uname -r)/build), like any
#                         out-of-tree module; KDIR=/path for another one
#   make demo             QEMU: an in-kernel L7 load balancer migrating live
#                         connections from a front-end to two back-ends
#   make check            every test: host, module build with clippy, QEMU
#   make check-stock      the stock flavor: Debian 13's kernel, DKMS, QEMU
#   make bench            tcpmig against a TCP_REPAIR baseline, ipip and
#                         direct, in one QEMU guest: tables, JSON, CSV and
#                         plots in out/bench/ (BENCH=quick to try it)
#   make module-test      tcpmig.ko against the cached debug test kernel
#                         (installs the toolchain, builds the kernel once)
#   make tools            the tcpmig CLI and mig-peer (static)
#   make setup            install the toolchain (demo, check and
#                         module-test call it; plain `make` does not)

SHELL := /bin/bash
FLAVOR ?= debug
CLIPPY ?=
KDIR ?= /lib/modules/$(shell uname -r)/build

.PHONY: all module module-test clean-module tools setup check check-stock bench demo clean

all: module

setup:
	scripts/setup

module:
	@[ -d "$(KDIR)" ] || { echo "make: no kernel build tree at $(KDIR);" \
		"pass KDIR=, or run 'make module-test' for the test kernel" >&2; exit 1; }
	. scripts/env.sh && $(MAKE) -C "$(KDIR)" $$KMAKE_ARGS M="$(CURDIR)" \
		$(if $(CLIPPY),CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver) modules

module-test: setup
	@$(MAKE) --no-print-directory module KDIR="$$(scripts/kernel $(FLAVOR))"

tools:
	scripts/build-cli

check:
	tests/check

demo:
	tests/demo/run

bench:
	tests/bench/run

clean-module:
	rm -f rust/sys/bindings_generated.rs rust/sys/uapi/bindings_generated.rs
	find . -path ./target -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.d' -o -name '*.rmeta' \) \
		-type f -print0 | xargs -0 rm -f
	rm -f Module.symvers modules.order

clean: clean-module
	cargo clean

# The stock flavor alone: Debian 13's own kernel, DKMS, VM tests (tests/stock).
check-stock:
	tests/stock
