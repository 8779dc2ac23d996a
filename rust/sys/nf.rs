// SPDX-License-Identifier: GPL-2.0

//! Netfilter: the LOCAL_IN hook that holds the packets of frozen flows.
//!
//! `shim.c` registers one hook for IPv4 and one for IPv6 per namespace
//! and parses each TCP packet's 4-tuple; `nf_hold_entry!` defines the
//! Rust function it calls, which decides whether to take the packet.

use super::bindings;
use super::net::Net;
use super::sock::Endpoint;
use crate::wire::Addr;
use core::ptr::NonNull;
use kernel::prelude::*;

/// A TCP flow as seen from this host.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuple {
    pub(crate) family: u8,
    pub(crate) local_addr: Addr,
    pub(crate) local_port: u16,
    pub(crate) remote_addr: Addr,
    pub(crate) remote_port: u16,
}

#[doc(hidden)]
pub(crate) type RawTuple = bindings::tcpmig_tuple;
#[doc(hidden)]
pub(crate) type RawSkb = bindings::sk_buff;

impl Tuple {
    /// The flow between `local` and `remote`.
    pub(crate) fn of(local: &Endpoint, remote: &Endpoint) -> Self {
        Self {
            family: local.family.blob(),
            local_addr: local.addr,
            local_port: local.port,
            remote_addr: remote.addr,
            remote_port: remote.port,
        }
    }

    #[doc(hidden)]
    pub(crate) fn from_raw(t: &RawTuple) -> Self {
        Self {
            family: t.family,
            local_addr: t.local_addr,
            local_port: u16::from_be(t.local_port),
            remote_addr: t.remote_addr,
            remote_port: u16::from_be(t.remote_port),
        }
    }
}

/// A packet taken off the stack; freed on drop.
///
/// # Invariants
///
/// `skb` is a packet owned by this value.
pub(crate) struct Skb(NonNull<bindings::sk_buff>);

// SAFETY: An owned skb may be freed from any context that may free skbs.
unsafe impl Send for Skb {}

impl Skb {
    /// # Safety
    ///
    /// The caller gives up its ownership of `skb`.
    #[doc(hidden)]
    pub(crate) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Option<Self> {
        // INVARIANT: By the caller's guarantee.
        NonNull::new(skb).map(Self)
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: By the invariant the packet is ours.
        unsafe { bindings::tcpmig_kfree_skb(self.0.as_ptr()) };
    }
}

/// Defines the hook's entry point as `$hold: fn(&$table, Skb, &Tuple) ->
/// Result<(), Skb>`: `Ok` if it took the packet, `Err` hands it back.
macro_rules! nf_hold_entry {
    ($table:ty, $hold:path) => {
        /// Called by the netfilter hook for every TCP packet.
        ///
        /// # Safety
        ///
        /// `table` is the `$table` the hooks were registered with, alive
        /// until they are unregistered; `skb` is the hook's packet.
        #[no_mangle]
        unsafe extern "C" fn tcpmig_hold_skb(
            table: *mut ::kernel::ffi::c_void,
            skb: *mut $crate::sys::nf::RawSkb,
            tuple: *const $crate::sys::nf::RawTuple,
        ) -> bool {
            // SAFETY: See above; the hook passes a valid tuple.
            let (table, tuple) = unsafe { (&*table.cast::<$table>(), &*tuple) };
            let tuple = $crate::sys::nf::Tuple::from_raw(tuple);
            // SAFETY: The packet is lent to us; we hand it back below
            // unless `$hold` keeps it (then the hook returns NF_STOLEN).
            let Some(skb) = (unsafe { $crate::sys::nf::Skb::from_raw(skb) }) else {
                return false;
            };
            match $hold(table, skb, &tuple) {
                Ok(()) => true,
                Err(skb) => {
                    ::core::mem::forget(skb);
                    false
                }
            }
        }
    };
}
pub(crate) use nf_hold_entry;

/// The registered hooks of one namespace; dropping unregisters them and
/// waits until no hook runs.
///
/// # Invariants
///
/// `hooks` is registered in `net`, which outlives this value (pernet).
pub(crate) struct Hooks {
    net: NonNull<bindings::net>,
    hooks: NonNull<bindings::tcpmig_hooks>,
}

// SAFETY: The registration is only touched at creation and drop.
unsafe impl Send for Hooks {}
// SAFETY: As above: no shared access.
unsafe impl Sync for Hooks {}

impl Hooks {
    /// Registers the hooks of `net`, which call the entry point with
    /// `table`.
    ///
    /// # Safety
    ///
    /// `table` outlives the registration, and is the type the entry point
    /// was defined for.
    pub(crate) unsafe fn register<T>(net: &Net, table: &T) -> Result<Self> {
        let table = core::ptr::from_ref(table).cast_mut().cast();
        // SAFETY: `net` is live; the shim allocates and registers.
        let hooks = unsafe { bindings::tcpmig_hooks_register(net.as_ptr(), table) };
        let hooks = NonNull::new(hooks).ok_or(ENOMEM)?;
        // INVARIANT: Registered just now in `net`.
        Ok(Self {
            net: NonNull::new(net.as_ptr()).ok_or(EINVAL)?,
            hooks,
        })
    }
}

impl Drop for Hooks {
    fn drop(&mut self) {
        // SAFETY: Registered in `net` by `register`.
        unsafe { bindings::tcpmig_hooks_unregister(self.net.as_ptr(), self.hooks.as_ptr()) };
    }
}

/// Jiffies now, 64 bits.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: Reads a counter.
    unsafe { bindings::tcpmig_jiffies64() }
}

/// Jiffies per second.
pub(crate) fn hz() -> u64 {
    // SAFETY: Reads a constant.
    unsafe { bindings::tcpmig_hz() }
}
