// SPDX-License-Identifier: GPL-2.0

//! Module parameters, in /sys/module/tcpmig/parameters/.
//!
//! They are declared in `params.c`: the 7.3 `module!` macro registers Rust
//! parameters with permission 0, which hides them from sysfs.

use super::bindings;

/// The migrator port a new network namespace starts with (`migrator_port`).
///
/// Never 0: the parameter's setter refuses it.
pub(crate) fn migrator_port() -> u16 {
    // SAFETY: The shim only reads a `u16` with `READ_ONCE`.
    unsafe { bindings::tcpmig_param_migrator_port() }
}

/// The KiB of packets each namespace may hold for its frozen flows, and
/// all the namespaces one user owns together (`hold_kbytes`).
pub(crate) fn hold_kbytes() -> u32 {
    // SAFETY: The shim only reads a `u32` with `READ_ONCE`.
    unsafe { bindings::tcpmig_param_hold_kbytes() }
}

/// Undecided dispatcher connections all the namespaces one user owns may
/// have at once (`user_pending`).
pub(crate) fn user_pending() -> u32 {
    // SAFETY: The shim only reads a `u32` with `READ_ONCE`.
    unsafe { bindings::tcpmig_param_user_pending() }
}

/// Seconds a forwarded flow may go without a packet (`flow_idle_secs`),
/// at least 1.
pub(crate) fn flow_idle_secs() -> u32 {
    // SAFETY: The shim only reads a `u32` with `READ_ONCE`.
    unsafe { bindings::tcpmig_param_flow_idle_secs() }
}
