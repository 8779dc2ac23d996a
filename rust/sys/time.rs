// SPDX-License-Identifier: GPL-2.0

//! Clocks: jiffies for the tables' ages and deadlines, CLOCK_MONOTONIC
//! nanoseconds for the stages of a hand-off, the real-time clock for
//! request ids that must not repeat across a node's restarts.
//!
//! Milliseconds to jiffies is the kernel crate's
//! `kernel::time::msecs_to_jiffies`.

use super::bindings;

/// Jiffies now, 64 bits.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: Reads a counter.
    unsafe { bindings::tcpmig_jiffies64() }
}

/// Milliseconds since the jiffy `then`, saturated.
pub(crate) fn ms_since(then: u64) -> u32 {
    // SAFETY: A pure computation on the jiffies counter.
    unsafe { bindings::tcpmig_ms_since(then) }
}

/// Jiffies per second.
pub(crate) fn hz() -> u64 {
    // SAFETY: Reads a constant.
    unsafe { bindings::tcpmig_hz() }
}

/// Now, on CLOCK_MONOTONIC, in nanoseconds.
pub(crate) fn now_ns() -> u64 {
    // SAFETY: Reads a clock; callable in any context but NMI.
    unsafe { bindings::tcpmig_mono_ns() }
}

/// The real-time clock in nanoseconds since the epoch.
pub(crate) fn real_time_ns() -> u64 {
    // SAFETY: Reads a clock; no preconditions.
    unsafe { bindings::tcpmig_real_ns() }
}
