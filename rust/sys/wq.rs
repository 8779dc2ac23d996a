// SPDX-License-Identifier: GPL-2.0

//! A workqueue of the migrator's own, and the real-time clock.

use super::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::workqueue::Queue;

/// An unbound workqueue (`tcpmig-mig`); dropping it waits for every work
/// item on it, including those they queued, then destroys it.
///
/// # Invariants
///
/// `wq` is a workqueue this value allocated and alone destroys.
pub(crate) struct OwnedQueue {
    wq: NonNull<bindings::workqueue_struct>,
}

impl OwnedQueue {
    /// Allocates the workqueue.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: May sleep; callers are in process context.
        let wq = unsafe { bindings::tcpmig_wq_alloc() };
        // INVARIANT: The workqueue is new and ours.
        NonNull::new(wq).map(|wq| Self { wq }).ok_or(ENOMEM)
    }

    /// The queue, to spawn work on.
    pub(crate) fn queue(&self) -> &Queue {
        // SAFETY: By the invariant the workqueue lives until `self` drops.
        unsafe { Queue::from_raw(self.wq.as_ptr().cast()) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: By the invariant the workqueue is ours, destroyed once.
        unsafe { bindings::tcpmig_wq_destroy(self.wq.as_ptr()) };
    }
}

// SAFETY: Workqueues are used from any task; the kernel serialises their
// state itself.
unsafe impl Send for OwnedQueue {}
// SAFETY: As above.
unsafe impl Sync for OwnedQueue {}

/// The real-time clock in nanoseconds since the epoch.
pub(crate) fn real_time_ns() -> u64 {
    // SAFETY: Reads a clock; no preconditions.
    unsafe { bindings::tcpmig_real_ns() }
}
