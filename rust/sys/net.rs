// SPDX-License-Identifier: GPL-2.0

//! Network namespaces and per-namespace state (pernet operations).

use super::bindings;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::to_result;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A network namespace (`struct net`).
///
/// # Invariants
///
/// A `&Net` points to a live `struct net` for as long as the reference lives.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// Borrows a `struct net`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a `struct net` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Net {
        // SAFETY: `Net` is a transparent wrapper of `struct net`; the caller
        // guarantees the lifetime. INVARIANT: by the same guarantee.
        unsafe { &*ptr.cast::<Net>() }
    }

    /// The initial network namespace, which lives as long as the kernel.
    /// The KUnit suites' only.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn init_net() -> &'static Net {
        // SAFETY: `init_net` is a static of the kernel.
        unsafe { Net::from_raw(bindings::tcpmig_init_net()) }
    }

    /// The kernel's 64-bit cookie of this namespace, unique while it lives.
    pub(crate) fn cookie(&self) -> u64 {
        // SAFETY: By the invariant the net is live; `net_cookie` is written
        // once, before the namespace becomes visible.
        unsafe { (*self.0.get()).net_cookie }
    }

    pub(super) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }
}

/// A namespace, remembered by state that lives in the namespace's own
/// pernet state (a hook's table, a migrator), which is gone before the
/// namespace is.
///
/// Only `sys` makes one: [`PernetState::new`] is handed the namespace's,
/// and its copies go only to what the state owns.
///
/// # Invariants
///
/// The namespace outlives this value.
#[derive(Clone, Copy)]
pub(crate) struct NetRef(NonNull<bindings::net>);

// SAFETY: A namespace may be used from any thread.
unsafe impl Send for NetRef {}
// SAFETY: As above.
unsafe impl Sync for NetRef {}

impl NetRef {
    /// # Safety
    ///
    /// The value (and its copies) is dropped before `net`'s pernet exit
    /// returns.
    pub(super) unsafe fn new(net: &Net) -> Self {
        // INVARIANT: By the caller's guarantee.
        Self(NonNull::from(net).cast())
    }

    /// The initial namespace, which outlives everything (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn init_net() -> Self {
        // INVARIANT: The initial namespace is never dismantled.
        Self(NonNull::from(Net::init_net()).cast())
    }

    pub(crate) fn get(&self) -> &Net {
        // SAFETY: By the invariant the namespace is live.
        unsafe { Net::from_raw(self.0.as_ptr()) }
    }
}

/// Waits until every packet-path RCU reader that started before the call
/// (netfilter hooks, socket lookups in softirq) has finished.
pub(crate) fn synchronize_net() {
    // SAFETY: May sleep; callers are in process context.
    unsafe { bindings::synchronize_net() };
}

/// State a module keeps in every network namespace.
pub(crate) trait PernetState: Sized + Sync + 'static {
    /// Makes the state of a namespace that is being set up; an error
    /// fails the namespace's creation (or the module's registration).
    ///
    /// `net` is valid for as long as the state lives: the state is
    /// dropped at the namespace's pernet exit. Its copies go only into
    /// what the state owns, which drops with it (work items included:
    /// their owners wait for them).
    fn new(net: NetRef) -> Result<Self>;

    /// The one static that stores this state (the kernel's callbacks get
    /// only the namespace, so they find their id through it).
    fn pernet() -> &'static Pernet<Self>;
}

/// Per-namespace storage of a `T`, as a static.
///
/// The kernel writes into `ops` and `id` while the ops are registered;
/// both are only touched by the kernel after `register` wrote them.
pub(crate) struct Pernet<T: PernetState> {
    ops: UnsafeCell<bindings::pernet_operations>,
    id: UnsafeCell<u32>,
    registered: AtomicBool,
    _state: PhantomData<T>,
}

// `ops` and `id` are written by `register` before the kernel shares
// them, then only by the kernel under `pernet_ops_rwsem`.
// SAFETY: So readers, who go through `registered` (an atomic), race none.
unsafe impl<T: PernetState> Sync for Pernet<T> {}

impl<T: PernetState> Pernet<T> {
    /// Makes the (unregistered) storage.
    pub(crate) const fn new() -> Self {
        Self {
            // SAFETY: All-zero is a valid `pernet_operations` (no callbacks).
            ops: UnsafeCell::new(unsafe { core::mem::zeroed() }),
            id: UnsafeCell::new(0),
            registered: AtomicBool::new(false),
            _state: PhantomData,
        }
    }

    /// Makes a `T` in every namespace, now and whenever one is created,
    /// until the returned registration is dropped.
    pub(crate) fn register(&'static self) -> Result<PernetRegistration<T>> {
        if self.registered.load(Ordering::Acquire) {
            return Err(EBUSY);
        }
        let ops = self.ops.get();
        // SAFETY: Not registered, so the kernel does not know `ops` yet
        // and nothing else writes it (module init is single-threaded).
        unsafe {
            (*ops).init = Some(Self::init_net);
            (*ops).exit = Some(Self::exit_net);
            (*ops).id = self.id.get();
            (*ops).size = core::mem::size_of::<T>();
        }
        // SAFETY: `ops` is a valid, 'static `pernet_operations`.
        to_result(unsafe { bindings::register_pernet_subsys(ops) })?;
        self.registered.store(true, Ordering::Release);
        Ok(PernetRegistration { pernet: self })
    }

    /// The state of `net`, or `None` while not registered.
    pub(crate) fn get<'a>(&'static self, net: &'a Net) -> Option<&'a T> {
        if !self.registered.load(Ordering::Acquire) {
            return None;
        }
        // Registered, so `init_net` wrote a `T` for every live namespace,
        // `net` among them. It lives until `exit_net`, which runs once
        // `net` is dead or the ops are unregistered; the registration's
        // owner drops every user of the state (netlink) before that.
        // SAFETY: As just said.
        Some(unsafe { &*self.slot(net.as_ptr()) })
    }

    /// Where the kernel keeps this state for `net`.
    ///
    /// # Safety
    ///
    /// The ops are registered (the kernel assigned `id`) and `net` is live.
    unsafe fn slot(&self, net: *mut bindings::net) -> *mut T {
        // SAFETY: By the caller's guarantees `id` is assigned and stable.
        let id = unsafe { *self.id.get() };
        // SAFETY: `net` is live and `id` ours; the kernel kzalloc'd an
        // aligned, `size_of::<T>()`-byte slot there before calling `init`.
        unsafe { bindings::tcpmig_net_generic(net, id).cast::<T>() }
    }

    /// Makes the state of a namespace (`pernet_operations.init`).
    ///
    /// # Safety
    ///
    /// Called by the kernel for a live `net` after it assigned our id and
    /// allocated our slot.
    unsafe extern "C" fn init_net(net: *mut bindings::net) -> c_int {
        // SAFETY: The kernel calls `init` for a live namespace after it
        // assigned our id and allocated our slot.
        let slot = unsafe { T::pernet().slot(net) };
        // The reference goes to the state, which `exit_net` drops before
        // the namespace is gone.
        // SAFETY: The namespace is live for this call.
        match T::new(unsafe { NetRef::new(Net::from_raw(net)) }) {
            Ok(state) => {
                // SAFETY: `slot` is ours, sized and aligned for `T`, not
                // yet a `T`.
                unsafe { slot.write(state) };
                0
            }
            // The kernel frees the slot and does not call `exit`.
            Err(e) => e.to_errno(),
        }
    }

    /// Drops the state of a namespace (`pernet_operations.exit`).
    ///
    /// # Safety
    ///
    /// Called by the kernel once per `net` whose `init_net` succeeded.
    unsafe extern "C" fn exit_net(net: *mut bindings::net) {
        // SAFETY: The kernel calls `exit` only after `init` succeeded for
        // `net`, so the slot holds a `T`; this is its last use.
        unsafe { core::ptr::drop_in_place(T::pernet().slot(net)) };
    }
}

/// Registered pernet operations; dropping it unregisters them, which
/// drops the state of every namespace.
pub(crate) struct PernetRegistration<T: PernetState> {
    pernet: &'static Pernet<T>,
}

impl<T: PernetState> Drop for PernetRegistration<T> {
    fn drop(&mut self) {
        self.pernet.registered.store(false, Ordering::Release);
        // SAFETY: Registered by `register`, which made this value.
        unsafe { bindings::unregister_pernet_subsys(self.pernet.ops.get()) };
    }
}
