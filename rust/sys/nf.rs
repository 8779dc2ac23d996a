// SPDX-License-Identifier: GPL-2.0

//! Netfilter: per-namespace hooks that hand each TCP packet to a table.
//!
//! A table implements [`Hook`]; [`HookRegistration::new`] registers it
//! at one hook point of a namespace, for IPv4 and IPv6, first in
//! priority. `nf.c` parses each TCP packet's 4-tuple and calls
//! [`trampoline`], monomorphized for the table's type, which lends the
//! packet to [`Hook::hook`] as an owned [`Skb`] and turns the [`HookVerdict`]
//! into netfilter's.

use super::bindings;
use super::net::Net;
use super::sock::Endpoint;
use super::table::hash_words;
use super::table::Key;
use crate::wire::Addr;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::ffi::c_uint;
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

    fn raw(&self) -> bindings::tcpmig_tuple {
        bindings::tcpmig_tuple {
            family: self.family,
            flags: 0,
            local_port: self.local_port.to_be(),
            remote_port: self.remote_port.to_be(),
            local_addr: self.local_addr,
            remote_addr: self.remote_addr,
        }
    }

    fn from_raw(t: &bindings::tcpmig_tuple) -> Self {
        Self {
            family: t.family,
            local_addr: t.local_addr,
            local_port: u16::from_be(t.local_port),
            remote_addr: t.remote_addr,
            remote_port: u16::from_be(t.remote_port),
        }
    }
}

/// Word `i` of a 16-byte address, in native order (only hashed).
fn addr_word(addr: &Addr, i: usize) -> u32 {
    u32::from_ne_bytes([addr[i], addr[i + 1], addr[i + 2], addr[i + 3]])
}

impl Key for Tuple {
    fn hash(&self, seed: u32) -> u32 {
        let (l, r) = (&self.local_addr, &self.remote_addr);
        let words = [
            addr_word(l, 0),
            addr_word(l, 4),
            addr_word(l, 8),
            addr_word(l, 12),
            addr_word(r, 0),
            addr_word(r, 4),
            addr_word(r, 8),
            addr_word(r, 12),
            (u32::from(self.local_port) << 16) | u32::from(self.remote_port),
            u32::from(self.family),
        ];
        hash_words(&words, seed)
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
    /// Drops the packet's route, conntrack and socket references, which a
    /// packet kept for a while must not pin; it can no longer go back to
    /// the stack as it is.
    pub(crate) fn unref(&mut self) {
        // SAFETY: By the invariant the packet is ours.
        unsafe { bindings::tcpmig_skb_unref(self.0.as_ptr()) };
    }

    /// The source address of the packet, of `family` (a hook's tuple
    /// says which), its network header at its data.
    pub(crate) fn source(&self, family: u8) -> Addr {
        let mut addr = [0u8; 16];
        // SAFETY: The packet is ours, of `family`; `addr` takes 16 bytes.
        unsafe { bindings::tcpmig_skb_saddr(self.0.as_ptr(), family, addr.as_mut_ptr()) };
        addr
    }

    /// The memory the packet takes (`truesize`).
    pub(crate) fn truesize(&self) -> usize {
        // SAFETY: By the invariant the packet is ours.
        unsafe { bindings::tcpmig_skb_truesize(self.0.as_ptr()) as usize }
    }

    /// Takes ownership of a packet (tests).
    ///
    /// # Safety
    ///
    /// `skb` is a packet the caller owns and hands over.
    #[cfg(CONFIG_KUNIT)]
    pub(super) unsafe fn from_raw(skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: By the function's requirements.
        Self(skb)
    }

    /// The packet, still ours.
    pub(super) fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// Gives the packet away (to the caller of the hook, or to a C
    /// function that consumes it).
    pub(super) fn into_raw(self) -> *mut bindings::sk_buff {
        ManuallyDrop::new(self).0.as_ptr()
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: By the invariant the packet is ours.
        unsafe { bindings::tcpmig_kfree_skb(self.0.as_ptr()) };
    }
}

/// What a hook did with a packet.
pub(crate) enum HookVerdict {
    /// The packet goes on through the stack (perhaps rewritten).
    Accept(Skb),
    /// The hook kept the packet (held it, sent it elsewhere, or freed it).
    Stolen,
    /// The stack drops the packet and counts the drop.
    Drop(Skb),
}

/// What a hook needs of a packet's TCP flags.
#[derive(Clone, Copy)]
pub(crate) struct Flags {
    /// A SYN without ACK: a connection's first packet.
    pub(crate) syn: bool,
    /// Not a packet of the flow but an ICMP error about one of its
    /// packets, sent from here (destination unreachable, fragmentation
    /// needed or packet too big, time exceeded, parameter problem).
    pub(crate) icmp: bool,
}

/// The connection `tuple` (its remote end the client) leaves this host:
/// its conntrack entry, if any, stops tracking windows, as one picked up
/// mid-stream does, for conntrack sees only the client's half of it from
/// now on (`tcpmig_conntrack_liberal` in `nf.c`).
pub(crate) fn conntrack_liberal(net: &Net, tuple: &Tuple) {
    let raw = tuple.raw();
    // SAFETY: `net` is live; `raw` is valid for the call.
    unsafe { bindings::tcpmig_conntrack_liberal(net.as_ptr(), &raw) };
}

/// The migrated connection `tuple` is no longer forwarded from here: its
/// conntrack entry, if any, goes (`tcpmig_conntrack_end` in `nf.c`). From
/// any context.
pub(crate) fn conntrack_end(net: &Net, tuple: &Tuple) {
    let raw = tuple.raw();
    // SAFETY: `net` is live; `raw` is valid for the call.
    unsafe { bindings::tcpmig_conntrack_end(net.as_ptr(), &raw) };
}

/// The kernel's defragmentation in a namespace, on while this lives: at
/// PRE_ROUTING fragments are gathered before the hooks see them (it runs
/// just before them), as for conntrack. Without it a back-end would meet
/// a forwarded flow's IPv4 fragments only past its decapsulation, and a
/// front-end a client's IPv6 ones only past LOCAL_IN.
///
/// # Invariants
///
/// The defragmentation was enabled once in `net`, which outlives this.
pub(crate) struct Defrag {
    net: NonNull<bindings::net>,
}

// SAFETY: Only used at drop, which may run on any thread.
unsafe impl Send for Defrag {}
// SAFETY: No shared access.
unsafe impl Sync for Defrag {}

impl Defrag {
    /// Turns it on in `net` (refcounted), which must outlive the value.
    pub(crate) fn enable(net: &Net) -> Result<Self> {
        // SAFETY: `net` is live.
        kernel::error::to_result(unsafe { bindings::tcpmig_defrag_enable(net.as_ptr()) })?;
        // INVARIANT: Enabled just now.
        Ok(Self {
            net: NonNull::from(net).cast(),
        })
    }
}

impl Drop for Defrag {
    fn drop(&mut self) {
        // SAFETY: By the invariant, enabled once in this live namespace.
        unsafe { bindings::tcpmig_defrag_disable(self.net.as_ptr()) };
    }
}

/// A table that looks at every TCP packet passing a hook point.
pub(crate) trait Hook: Send + Sync + 'static {
    /// Decides about `skb`, of the flow `tuple`; runs in softirq under
    /// `rcu_read_lock()`.
    fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> HookVerdict;
}

/// Where in the IP stack a hook runs (`enum nf_inet_hooks`).
#[derive(Clone, Copy)]
pub(crate) enum HookPoint {
    /// Before routing, every packet received.
    PreRouting,
    /// Packets for this host, after routing.
    LocalIn,
}

impl HookPoint {
    fn hooknum(self) -> c_uint {
        match self {
            Self::PreRouting => bindings::TCPMIG_NF_PRE_ROUTING,
            Self::LocalIn => bindings::TCPMIG_NF_LOCAL_IN,
        }
    }
}

/// Calls `T::hook` for the packet of a hook registered with a `T`.
///
/// # Safety
///
/// `table` is the `T` the hooks were registered with, alive until they
/// are unregistered; `skb` is the hook's packet, lent to this call; and
/// `tuple` is valid for the call.
unsafe extern "C" fn trampoline<T: Hook>(
    table: *const c_void,
    skb: *mut bindings::sk_buff,
    tuple: *const bindings::tcpmig_tuple,
) -> c_uint {
    let Some(skb) = NonNull::new(skb) else {
        return bindings::TCPMIG_NF_ACCEPT;
    };
    // INVARIANT: The hook's packet is ours until we return a verdict;
    // every path below either keeps it (NF_STOLEN) or hands it back.
    let skb = Skb(skb);
    // SAFETY: By the function's requirements.
    let (table, tuple) = unsafe { (&*table.cast::<T>(), &*tuple) };
    let flags = Flags {
        syn: tuple.flags & bindings::TCPMIG_SYN as u8 != 0,
        icmp: tuple.flags & bindings::TCPMIG_ICMP as u8 != 0,
    };
    match table.hook(skb, &Tuple::from_raw(tuple), flags) {
        HookVerdict::Accept(skb) => {
            skb.into_raw();
            bindings::TCPMIG_NF_ACCEPT
        }
        HookVerdict::Stolen => bindings::TCPMIG_NF_STOLEN,
        HookVerdict::Drop(skb) => {
            // NF_DROP: netfilter frees the packet.
            skb.into_raw();
            bindings::TCPMIG_NF_DROP
        }
    }
}

/// A table registered as the hook of a namespace, IPv4 and IPv6; it owns
/// the table, and dropping it unregisters the hooks, waits until none
/// runs, then frees the table.
///
/// The registration belongs in the namespace's pernet state, which is
/// dropped before the namespace goes.
///
/// # Invariants
///
/// `hooks` is registered in `net` with `trampoline::<T>` and the address
/// of `*_table`; `net` outlives this value.
pub(crate) struct HookRegistration<T: Hook> {
    net: NonNull<bindings::net>,
    hooks: NonNull<bindings::tcpmig_hooks>,
    /// Reached by the hook through its address only; kept until the
    /// hooks are unregistered.
    _table: Pin<KBox<T>>,
}

// SAFETY: The raw pointers are only used at drop; the table is `Send`.
unsafe impl<T: Hook> Send for HookRegistration<T> {}
// SAFETY: Shared access reaches only the table, which is `Sync`.
unsafe impl<T: Hook> Sync for HookRegistration<T> {}

impl<T: Hook> HookRegistration<T> {
    /// Makes the table and registers it at `point` in `net`.
    pub(crate) fn new(net: &Net, point: HookPoint, table: impl PinInit<T, Error>) -> Result<Self> {
        let table = KBox::pin_init(table, GFP_KERNEL)?;
        let raw = core::ptr::from_ref::<T>(&table).cast::<c_void>();
        // `trampoline::<T>` gets only `raw`, a `T` that stays at its address
        // (pinned) and alive until `drop` has unregistered the hooks.
        // SAFETY: `net` is live; `raw` is valid for every call of the hook.
        let hooks = unsafe {
            bindings::tcpmig_hooks_register(
                net.as_ptr(),
                point.hooknum(),
                Some(trampoline::<T>),
                raw,
            )
        };
        // On failure nothing is registered and `table` drops here.
        let hooks = NonNull::new(hooks).ok_or(ENOMEM)?;
        // INVARIANT: Registered just now in `net` with `table`; the caller
        // keeps us in `net`'s pernet state.
        Ok(Self {
            // `Net` is a transparent wrapper of `struct net`.
            net: NonNull::from(net).cast(),
            hooks,
            _table: table,
        })
    }
}

impl<T: Hook> Drop for HookRegistration<T> {
    fn drop(&mut self) {
        // The shim waits for hooks still running: once it returns nobody
        // uses the table, which drops after this.
        // SAFETY: `hooks` was registered in `net` by `new`.
        unsafe { bindings::tcpmig_hooks_unregister(self.net.as_ptr(), self.hooks.as_ptr()) };
    }
}
