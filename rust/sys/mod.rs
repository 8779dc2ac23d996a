// SPDX-License-Identifier: GPL-2.0

//! The module's window on kernel internals the kernel crate does not cover.
//!
//! `bindings` is the module's own bindgen output for `tcpmig_sys.h`
//! (TCP/IP socket internals, generic netlink, netfilter, pernet). Nothing
//! outside `sys` sees it: the submodules wrap it in safe types, and the
//! rest of the module uses only those.
//!
//! Each submodule has a C file of the same name, and `kunit.c` holds the
//! helpers only the KUnit suites call. Most of what they hold wraps
//! static inline functions, but not all: `sock.c` reads a locked
//! `tcp_sock` into a flat struct and freezes a captured connection,
//! `repair.c` sets the congestion state TCP_REPAIR cannot and hands a
//! rebuilt connection to a listener's accept queue (open-coding the
//! unexported `inet_csk_reqsk_queue_add()`), `socket.c` gives the
//! module's own sockets blocking calls with timeouts, `nf.c` parses a
//! packet's 4-tuple for the hooks, `charge.c` charges an injected
//! connection's send queue to its acceptor's memory cgroup, `params.c`
//! declares the module parameters, `users.c` says who owns a namespace and `layout.c` lists
//! C's view of every struct the Rust code reads.

pub(crate) mod charge;
pub(crate) mod file;
pub(crate) mod genl;
pub(crate) mod hmac;
pub(crate) mod layout;
pub(crate) mod net;
pub(crate) mod nf;
pub(crate) mod params;
pub(crate) mod proc;
pub(crate) mod random;
pub(crate) mod repair;
pub(crate) mod sock;
pub(crate) mod socket;
pub(crate) mod table;
pub(crate) mod time;
pub(crate) mod users;
pub(crate) mod wq;
pub(crate) mod xmit;

/// Raw bindings: do not use directly, wrap them in this module.
#[allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    // Since rustc 1.88; older ones (the stock kernel's 1.85) do not know it.
    unknown_lints,
    unnecessary_transmutes,
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    use kernel::ffi;

    // The kernel blocklists these from every bindgen run; define them
    // as its own bindings do.
    type __kernel_size_t = usize;
    type __kernel_ssize_t = isize;
    type __kernel_ptrdiff_t = isize;

    include!("bindings_generated.rs");
}
