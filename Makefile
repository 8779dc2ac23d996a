# SPDX-License-Identifier: GPL-2.0
# tcpmig: top-level targets. The module itself is built by Kbuild.
#
#   make demo             QEMU: a live connection moves between namespaces
#   make check            every test: host, module build with clippy, QEMU
#   make module           tcpmig.ko against the cached debug test kernel
#   make KDIR=/path       tcpmig.ko against another (Rust-enabled) kernel build
#   make tools            the tcpmig CLI (static)
#   make setup            install the toolchain (the other targets call it)

SHELL := /bin/bash
FLAVOR ?= debug
CLIPPY ?=

.PHONY: all module clean-module tools setup check demo clean

all: module

setup:
	tools/setup

ifeq ($(KDIR),)
module: setup
	@$(MAKE) --no-print-directory module KDIR="$$(tools/kernel $(FLAVOR))"
else
module:
	. tools/env.sh && $(MAKE) -C "$(KDIR)" $$KMAKE_ARGS M="$(CURDIR)" \
		$(if $(CLIPPY),CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver) modules
endif

tools:
	tools/build-cli

check:
	tests/check

demo:
	tests/demo/run

clean-module:
	rm -f rust/sys/bindings_generated.rs
	find . -path ./target -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.d' -o -name '*.rmeta' \) \
		-type f -print0 | xargs -0 rm -f
	rm -f Module.symvers modules.order

clean: clean-module
	cargo clean
