// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/tcpmig`: a namespace's counters, one `name value` line
//! each, in the order of [`COUNTERS`] (names in `proc.c`, values from the
//! registration's [`Counters`]).
//!
//! [`ProcFile::new`] creates the file with a [`Counters`] of the caller's;
//! `proc.c` calls [`show`], monomorphized for its type, at each read.

use super::bindings;
use super::net::NetRef;
use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::prelude::*;

/// How many counters the file shows.
pub(crate) const COUNTERS: usize = bindings::TCPMIG_COUNTERS as usize;

/// The source of a namespace's counters, read at each read of the file.
pub(crate) trait Counters: Send + Sync + 'static {
    /// The values in the order of the names in `proc.c`; `None` shows an
    /// empty file.
    fn counters(&self) -> Option<[u64; COUNTERS]>;
}

/// The file of one namespace; removed on drop, after the reads in
/// progress.
///
/// # Invariants
///
/// `proc` is registered in `net` with `_data`, which stays at its address
/// (boxed) until `drop` has removed the file.
pub(crate) struct ProcFile<T: Counters> {
    net: NetRef,
    proc: NonNull<bindings::tcpmig_proc>,
    /// Read only through the registration, by [`show`].
    _data: KBox<T>,
}

// SAFETY: The raw pointer is only used at drop; `_data` is `Send`.
unsafe impl<T: Counters> Send for ProcFile<T> {}
// SAFETY: Shared access reaches nothing but `_data`, which is `Sync`.
unsafe impl<T: Counters> Sync for ProcFile<T> {}

impl<T: Counters> ProcFile<T> {
    /// Creates `/proc/net/tcpmig` in `net`; its reads show `data`'s
    /// counters.
    pub(crate) fn new(net: NetRef, data: T) -> Result<Self> {
        let data = KBox::new(data, GFP_KERNEL)?;
        let raw = core::ptr::from_ref::<T>(&data).cast::<c_void>();
        let at = net.get().as_ptr();
        // `show::<T>` gets only `raw`, a `T` that stays at its address and
        // alive until `drop` removed the file (which waits for reads).
        // SAFETY: `at` is live; `raw` is valid for every call of `show`.
        let proc = unsafe { bindings::tcpmig_proc_register(at, Some(show::<T>), raw) };
        // On failure nothing is registered and `data` drops here.
        let proc = NonNull::new(proc).ok_or(ENOMEM)?;
        // INVARIANT: Registered just now in `net` with `data`.
        Ok(Self {
            net,
            proc,
            _data: data,
        })
    }
}

impl<T: Counters> Drop for ProcFile<T> {
    fn drop(&mut self) {
        // SAFETY: By the invariant registered in this namespace, which is
        // live; once this returns no read uses `_data`, which drops after.
        unsafe { bindings::tcpmig_proc_unregister(self.net.get().as_ptr(), self.proc.as_ptr()) };
    }
}

/// The show callback's source of counters: `T::counters` of the
/// registration's data.
///
/// # Safety
///
/// `data` is the `T` of a live registration and `out` is valid for
/// `COUNTERS` writes.
unsafe extern "C" fn show<T: Counters>(data: *const c_void, out: *mut u64) -> bool {
    // SAFETY: By the caller's guarantee `data` is a live `T`.
    let data = unsafe { &*data.cast::<T>() };
    let Some(counters) = data.counters() else {
        return false;
    };
    // SAFETY: The caller's guarantee.
    unsafe { core::ptr::copy_nonoverlapping(counters.as_ptr(), out, COUNTERS) };
    true
}
