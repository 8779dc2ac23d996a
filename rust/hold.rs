// SPDX-License-Identifier: GPL-2.0

//! Holding the packets of frozen flows.
//!
//! Once capture freezes a connection its socket leaves the stack, and a
//! packet of the flow would draw a RST from whatever else answers the
//! 4-tuple. From just before the freeze, the namespace's LOCAL_IN hook
//! (`forward.rs`) asks this table first, which takes such packets off the
//! stack and holds them (up to `MAX_HELD` per flow, and `hold_kbytes` of
//! memory per namespace, a module parameter; beyond either, packets are
//! dropped and counted).
//!
//! A flow is held until its migration ends. On an ack the forwarding
//! table takes its packets and sends them on to the peer; otherwise
//! ([`HoldTable::release`]: a capture or a migration that failed, a
//! connection injected where it was captured) they are delivered here
//! again. A flow nobody releases expires `EXPIRY_SECS` after the freeze
//! (or goes with the namespace), its packets freed: TCP retransmits them
//! to wherever the connection went.
//!
//! The frozen flows are a [`Table`] keyed by 4-tuple: the hook looks a
//! packet's flow up under RCU without a lock, and only a held packet
//! takes its flow's own lock.

use crate::stats::Counter;
use crate::sys::net::NetRef;
use crate::sys::nf::Skb;
use crate::sys::nf::Tuple;
use crate::sys::params;
use crate::sys::sock::Family;
use crate::sys::table::Deadline;
use crate::sys::table::Entry;
use crate::sys::table::Table;
use crate::sys::users::{Charge, UserShare};
use crate::sys::xmit::{self, Rewrite};
use core::sync::atomic::AtomicBool;
use core::sync::atomic::Ordering;
use kernel::new_spinlock_irq;
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;
use kernel::sync::SpinLockIrq;

/// Packets held per flow; later ones are dropped (and counted).
const MAX_HELD: usize = 256;
/// Frozen flows per namespace.
const MAX_FROZEN: usize = 4096;
/// How long a flow's packets are held.
const EXPIRY_SECS: u32 = 180;
/// How often expired flows are swept away (while there are frozen flows).
const SWEEP_MS: u32 = 5000;

/// The memory of one namespace's held packets, against `hold_kbytes`;
/// in a namespace a user owns, also against the same bound for all that
/// user's namespaces together.
struct Budget {
    used: Charge,
    user: Option<Arc<UserShare>>,
}

impl Budget {
    /// Takes `bytes` from the budget, if they fit.
    fn charge(&self, bytes: usize) -> bool {
        let limit = params::hold_kbytes() as usize * 1024;
        if !self.used.take(bytes, limit) {
            return false;
        }
        if let Some(user) = &self.user {
            if !user.held.take(bytes, limit) {
                self.used.give(bytes);
                return false;
            }
        }
        true
    }

    /// Gives back `bytes` charged before.
    fn uncharge(&self, bytes: usize) {
        self.used.give(bytes);
        if let Some(user) = &self.user {
            user.held.give(bytes);
        }
    }
}

/// A held packet, charged to its namespace's budget until it goes.
struct HeldSkb {
    /// `None` once released.
    skb: Option<Skb>,
    bytes: usize,
    budget: Arc<Budget>,
}

impl HeldSkb {
    /// The packet, no longer charged.
    fn release(mut self) -> Option<Skb> {
        self.skb.take()
    }
}

impl Drop for HeldSkb {
    fn drop(&mut self) {
        self.budget.uncharge(self.bytes);
    }
}

/// One frozen flow and the packets held for it.
#[pin_data]
struct Frozen {
    tuple: Tuple,
    /// Set, under `packets`' lock, once the flow left the table: a reader
    /// that still found it hands its packet back instead of holding it,
    /// so nothing is added to the packets freed with the entry.
    dead: AtomicBool,
    /// The held packets; the lock disables interrupts, as the hook runs
    /// in softirq and release in process context.
    #[pin]
    packets: SpinLockIrq<KVec<HeldSkb>>,
    budget: Arc<Budget>,
}

/// What became of a packet of a frozen flow.
enum Held {
    Yes,
    /// The flow or the namespace's budget is full (or memory is short):
    /// the packet was dropped.
    Dropped,
    /// The flow was just released: the packet goes on.
    Released(Skb),
}

impl Frozen {
    fn new(tuple: Tuple, budget: Arc<Budget>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            tuple,
            dead: AtomicBool::new(false),
            packets <- new_spinlock_irq!(KVec::with_capacity(16, GFP_KERNEL)?, "tcpmig_hold_flow"),
            budget,
        })
    }

    /// Holds `skb`, unless the flow was released meanwhile or is full.
    fn hold(&self, mut skb: Skb) -> Held {
        if self.dead.load(Ordering::Relaxed) {
            return Held::Released(skb);
        }
        // Outside the lock: this may free a conntrack entry or a socket
        // reference, which must not happen with interrupts off.
        skb.unref();
        let bytes = skb.truesize();
        if !self.budget.charge(bytes) {
            return Held::Dropped;
        }
        let held = HeldSkb {
            skb: Some(skb),
            bytes,
            budget: self.budget.clone(),
        };
        let refused = {
            let mut packets = self.packets.lock();
            // Released since the check above: the packet lost its route, so
            // it cannot go back; the peer retransmits it.
            if self.dead.load(Ordering::Relaxed)
                || packets.len() >= MAX_HELD
                || packets.reserve(1, GFP_ATOMIC).is_err()
            {
                Some(held)
            } else {
                // Cannot fail: room was reserved.
                let _ = packets.push(held, GFP_ATOMIC);
                None
            }
        };
        match refused {
            None => Held::Yes,
            // Freed outside the lock.
            Some(_) => Held::Dropped,
        }
    }

    /// Closes the flow to new packets and takes those it holds.
    fn close(&self) -> KVec<HeldSkb> {
        let mut packets = self.packets.lock();
        self.dead.store(true, Ordering::Relaxed);
        core::mem::take(&mut *packets)
    }
}

impl Entry for Frozen {
    type Key = Tuple;

    fn key(&self) -> &Tuple {
        &self.tuple
    }

    /// Closes the flow to new packets; those it holds are freed with it,
    /// after the grace period, not here under the table's lock.
    fn retire(&self) {
        let _packets = self.packets.lock();
        self.dead.store(true, Ordering::Relaxed);
    }
}

/// The frozen flows of one namespace and their held packets.
#[pin_data]
pub(crate) struct HoldTable {
    net: NetRef,
    flows: Table<Frozen>,
    budget: Arc<Budget>,
    held: Counter,
    dropped: Counter,
    released: Counter,
    release_errors: Counter,
}

impl HoldTable {
    /// The table of `net`, which it must not outlive (it lives in the
    /// namespace's pernet state); `user` is the share of the namespace's
    /// owner, if a user owns it.
    pub(crate) fn new(net: NetRef, user: Option<Arc<UserShare>>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            net,
            flows: Table::new(MAX_FROZEN, SWEEP_MS)?,
            budget: Arc::new(
                Budget {
                    used: Charge::new(),
                    user,
                },
                GFP_KERNEL,
            )?,
            held: Counter::new(),
            dropped: Counter::new(),
            released: Counter::new(),
            release_errors: Counter::new(),
        })
    }

    /// Starts holding the packets of `tuple`, for `EXPIRY_SECS` at most.
    ///
    /// Fails with `ENOSPC` when `MAX_FROZEN` flows are frozen and `EEXIST`
    /// if `tuple` is frozen already.
    pub(crate) fn hold(&self, tuple: Tuple) -> Result {
        self.flows.insert(
            Frozen::new(tuple, self.budget.clone()),
            Some(Deadline::after_secs(EXPIRY_SECS)),
        )
    }

    /// Stops holding `tuple` and takes its packets, in their order: the
    /// caller sends them on.
    pub(crate) fn take(&self, tuple: &Tuple) -> impl Iterator<Item = Skb> {
        let packets = {
            let guard = rcu::read_lock();
            self.flows
                .get(tuple, &guard)
                .map(Frozen::close)
                .unwrap_or_default()
        };
        self.flows.remove(tuple);
        packets.into_iter().filter_map(HeldSkb::release)
    }

    /// Stops holding `tuple`'s packets and delivers them here again: a
    /// capture or a migration that failed, or a connection injected where
    /// it was captured. Either way the connection has a socket here.
    pub(crate) fn release(&self, tuple: &Tuple) {
        let Some(family) = Family::from_blob(tuple.family) else {
            return;
        };
        let back = Rewrite {
            family,
            src: tuple.remote_addr,
            dst: tuple.local_addr,
            sport: tuple.remote_port,
            dport: tuple.local_port,
        };
        for skb in self.take(tuple) {
            match xmit::send(self.net.get(), skb, &back) {
                Ok(()) => self.released.inc(),
                Err(_) => self.release_errors.inc(),
            }
        }
    }

    /// Whether `tuple` is frozen here.
    pub(crate) fn is_held(&self, tuple: &Tuple, guard: &rcu::Guard) -> bool {
        self.flows.get(tuple, guard).is_some()
    }

    /// Whether no flow is frozen: the hook's fast path.
    pub(crate) fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Holds `skb` if its flow is frozen (or drops it, counted, if the
    /// flow is full); hands it back otherwise, or if the flow was
    /// released just now.
    pub(crate) fn catch(&self, skb: Skb, tuple: &Tuple, guard: &rcu::Guard) -> Option<Skb> {
        let held = match self.flows.get(tuple, guard) {
            Some(flow) => flow.hold(skb),
            None => return Some(skb),
        };
        match held {
            Held::Yes => self.held.inc(),
            Held::Dropped => self.dropped.inc(),
            Held::Released(skb) => return Some(skb),
        }
        None
    }

    /// Frozen flows now (expired ones not yet swept included).
    pub(crate) fn frozen_flows(&self) -> u32 {
        self.flows.len() as u32
    }

    /// Packets held since the namespace started.
    pub(crate) fn held_packets(&self) -> u64 {
        self.held.get()
    }

    /// Packets of frozen flows dropped since the namespace started: the
    /// flow held `MAX_HELD` already, or the namespace `hold_kbytes`.
    pub(crate) fn dropped_packets(&self) -> u64 {
        self.dropped.get()
    }

    /// Held packets delivered here again, since the namespace started.
    pub(crate) fn released_packets(&self) -> u64 {
        self.released.get()
    }

    /// Held packets that could not be delivered here again.
    pub(crate) fn release_errors(&self) -> u64 {
        self.release_errors.get()
    }

    /// Memory the held packets take now.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.budget.used.get() as u64
    }
}

#[kunit_tests(tcpmig_hold)]
mod tests {
    use super::*;

    use crate::kunit::v4_addr;

    fn test_net() -> NetRef {
        NetRef::init_net()
    }

    fn tuple(remote_port: u16) -> Tuple {
        let addr = v4_addr([192, 0, 2, 1]);
        Tuple {
            family: 4,
            local_addr: addr,
            local_port: 7000,
            remote_addr: addr,
            remote_port,
        }
    }

    #[test]
    fn hold_and_release_count_flows() -> Result {
        let hold = KBox::pin_init(HoldTable::new(test_net(), None), GFP_KERNEL)?;
        hold.hold(tuple(1))?;
        hold.hold(tuple(2))?;
        assert_eq!(hold.hold(tuple(1)), Err(EEXIST));
        assert_eq!(hold.frozen_flows(), 2);
        hold.release(&tuple(1));
        hold.release(&tuple(1));
        assert_eq!(hold.frozen_flows(), 1);
        hold.hold(tuple(1))?;
        assert_eq!(hold.frozen_flows(), 2);
        assert_eq!(hold.held_packets(), 0);
        Ok(())
    }

    #[test]
    fn a_released_flow_is_closed_to_late_readers() -> Result {
        let hold = KBox::pin_init(HoldTable::new(test_net(), None), GFP_KERNEL)?;
        hold.hold(tuple(3))?;
        let guard = rcu::read_lock();
        let flow = hold.flows.get(&tuple(3), &guard).ok_or(ENOENT)?;
        assert!(!flow.dead.load(Ordering::Relaxed));
        hold.release(&tuple(3));
        // A reader that found the flow before the release sees it closed.
        assert!(flow.dead.load(Ordering::Relaxed));
        assert!(hold.flows.get(&tuple(3), &guard).is_none());
        // Before the table drops, which waits for RCU callbacks.
        drop(guard);
        Ok(())
    }

    #[test]
    fn the_namespace_budget_bounds_held_memory() -> Result {
        let budget = Budget {
            used: Charge::new(),
            user: None,
        };
        let limit = params::hold_kbytes() as usize * 1024;
        assert!(budget.charge(limit - 100));
        assert!(!budget.charge(101));
        assert!(budget.charge(100));
        assert!(!budget.charge(1));
        Ok(())
    }

    #[test]
    fn a_users_namespaces_share_one_budget() -> Result {
        let user = UserShare::unlisted(1000)?;
        let budget = || Budget {
            used: Charge::new(),
            user: Some(user.clone()),
        };
        let (a, b) = (budget(), budget());
        let limit = params::hold_kbytes() as usize * 1024;
        assert!(a.charge(limit - 100));
        // b's own budget is empty, the user's is not.
        assert!(!b.charge(101));
        assert_eq!(b.used.get(), 0);
        assert!(b.charge(100));
        a.uncharge(limit - 100);
        assert!(b.charge(limit - 100));
        assert_eq!(user.held.get(), limit);
        Ok(())
    }
}
