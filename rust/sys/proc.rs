// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/tcpmig`: a namespace's counters, one `name value` line
//! each, in the order of [`COUNTERS`] (names in `proc.c`, values from
//! `tcpmig_counters()` in `rust/stats.rs`).

use super::bindings;
use super::net::Net;
use super::net::NetRef;
use kernel::error::to_result;
use kernel::prelude::*;

/// How many counters the file shows.
pub(crate) const COUNTERS: usize = bindings::TCPMIG_COUNTERS as usize;

/// The file of one namespace; removed on drop, after the reads in
/// progress.
pub(crate) struct ProcFile(NetRef);

impl ProcFile {
    /// Creates `/proc/net/tcpmig` in `net`; its reads call
    /// `tcpmig_counters()` (`rust/stats.rs`).
    ///
    /// # Safety
    ///
    /// The value is dropped before `net`'s pernet exit returns.
    pub(crate) unsafe fn new(net: &Net) -> Result<Self> {
        // SAFETY: `net` is live.
        to_result(unsafe { bindings::tcpmig_proc_register(net.as_ptr()) })?;
        // SAFETY: By the caller's guarantee.
        Ok(Self(unsafe { NetRef::new(net) }))
    }
}

impl Drop for ProcFile {
    fn drop(&mut self) {
        // SAFETY: Registered by `new` in this namespace, which is live.
        unsafe { bindings::tcpmig_proc_unregister(self.0.get().as_ptr()) };
    }
}

/// The show callback's source of counters: `crate::stats::counters`.
///
/// # Safety
///
/// `net` is a live namespace whose file is being read (so its state is
/// there: the file goes first) and `out` is valid for `COUNTERS` writes.
#[no_mangle]
unsafe extern "C" fn tcpmig_counters(net: *mut bindings::net, out: *mut u64) -> bool {
    // SAFETY: The caller's guarantee.
    let Some(counters) = crate::netns::counters(unsafe { Net::from_raw(net) }) else {
        return false;
    };
    // SAFETY: The caller's guarantee.
    unsafe { core::ptr::copy_nonoverlapping(counters.as_ptr(), out, COUNTERS) };
    true
}
