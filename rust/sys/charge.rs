// SPDX-License-Identifier: GPL-2.0

//! An injected connection's send queue, charged to the memory cgroup of
//! the task that accepts it (`charge.c`): the hand-off to an accept queue
//! watches the sock until it is accepted or destroyed.

use super::bindings;

/// Watching injected socks; dropping it, after every namespace's state
/// went, puts back those still waiting in an accept queue.
pub(crate) struct Watch(());

impl Watch {
    /// Readies the watch; the module's init calls it before any inject
    /// can run.
    pub(crate) fn start() -> Self {
        // SAFETY: Once per load, before the hand-off can run.
        unsafe { bindings::tcpmig_charge_init() };
        Watch(())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: At the module's exit, after every inject ended.
        unsafe { bindings::tcpmig_charge_exit() };
    }
}
