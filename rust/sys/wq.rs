// SPDX-License-Identifier: GPL-2.0

//! Workqueues of the module's own: the migrator's workers, the node's
//! flow-end notifier and every service run on one each.

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

    /// Runs `f` on the queue; `f` may queue more work through the
    /// [`Chain`] it gets.
    pub(crate) fn spawn(&self, f: impl FnOnce(&Chain) + Send + 'static) -> Result {
        spawn(self.wq, f)
    }
}

/// The queue a work item runs on, lent to the item: it can queue more
/// work there ("chained" work, which even a draining queue accepts).
///
/// # Invariants
///
/// `wq` is the live workqueue the borrowing work item runs on: a workqueue
/// is destroyed only after its running items return.
pub(crate) struct Chain {
    wq: NonNull<bindings::workqueue_struct>,
}

impl Chain {
    /// Runs `f` on the same queue.
    pub(crate) fn spawn(&self, f: impl FnOnce(&Chain) + Send + 'static) -> Result {
        spawn(self.wq, f)
    }
}

/// A workqueue pointer that moves into the work item queued on it.
struct QueuePtr(NonNull<bindings::workqueue_struct>);

// SAFETY: A workqueue is used from any task.
unsafe impl Send for QueuePtr {}

fn spawn(
    wq: NonNull<bindings::workqueue_struct>,
    f: impl FnOnce(&Chain) + Send + 'static,
) -> Result {
    let ptr = QueuePtr(wq);
    // SAFETY: The callers own the workqueue or run on it, so it is live.
    let queue = unsafe { Queue::from_raw(wq.as_ptr().cast()) };
    queue.try_spawn(GFP_KERNEL, move || {
        let ptr = ptr;
        // INVARIANT: This closure runs on the queue `ptr` names.
        f(&Chain { wq: ptr.0 })
    })?;
    Ok(())
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
