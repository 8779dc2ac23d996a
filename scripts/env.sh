# Shared settings for scripts/setup, scripts/kernel and the Makefile targets.
# Sourced, not run. Everything built or downloaded lives in $TCPMIG_CACHE,
# outside the clone; deleting it only costs time.

TCPMIG_CACHE=${TCPMIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpmig}

# Pinned inputs.
KVER=7.3.4
KSRC_PKG=linux-source-7.3
KSRC_PKG_VERSION=7.3.4-1~bpo13+1
KSRC_SUITE=trixie-backports
BINDGEN_VERSION=0.73.2
# Debian packages; versions seen when pinned (bookworm, bookworm-security).
DEB_PACKAGES="
rustc-web=1.96.0+dfsg1-1~deb12u2
rust-web-src=1.96.0+dfsg1-1~deb12u2
rust-web-clippy=1.96.0+dfsg1-1~deb12u2
rustfmt-web=1.96.0+dfsg1-1~deb12u2
clang-19=1:19.1.7-3~deb12u1
lld-19=1:19.1.7-3~deb12u1
llvm-19=1:19.1.7-3~deb12u1
libclang-19-dev=1:19.1.7-3~deb12u1
flex bison bc libelf-dev libssl-dev cpio kmod
qemu-system-x86
busybox-static
iproute2
nftables=1.0.6-2+deb12u2
python3-yaml python3-jsonschema
"

KSRC=$TCPMIG_CACHE/src/linux-$KVER
BINDGEN=$TCPMIG_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

# Arguments for every kernel and module build. rustup's rustc has no
# rust-src; Debian's rustc-web does, so name it explicitly.
KMAKE_ARGS="ARCH=x86_64 LLVM=-19 RUSTC=/usr/bin/rustc BINDGEN=$BINDGEN"

die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# The stock flavor: Debian 13's own kernel (trixie-backports), built
# against in a minimal trixie chroot with the toolchain that built it
# (scripts/stock-chroot, scripts/stock-kernel).
STOCK_KVER=7.3.4+deb13-amd64
STOCK_PKG_VERSION=7.3.4-1~bpo13+1
STOCK_SUITE=trixie
STOCK_MIRROR=http://deb.debian.org/debian
# What the stock kernel's headers record (CONFIG_RUSTC_VERSION_TEXT,
# CONFIG_BINDGEN_VERSION_TEXT) decides these pins; see STOCK_CHROOT_PACKAGES.
STOCK_CHROOT_PACKAGES="
rustc=1.85.1+dfsg1-1+deb13u1
rust-src=1.85.1+dfsg1-1+deb13u1
bindgen=0.71.1-6
gcc-14=14.2.0-19
dwarves=1.30-1
dkms=3.2.2-1~deb13u1
make bc flex bison libelf-dev libssl-dev kmod python3 xz-utils
"
