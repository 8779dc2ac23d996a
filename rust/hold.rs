// SPDX-License-Identifier: GPL-2.0

//! Holding the packets of frozen flows.
//!
//! Once capture freezes a connection its socket leaves the stack, and a
//! packet of the flow would draw a RST from whatever else answers the
//! 4-tuple. From just before the freeze, the namespace's LOCAL_IN hook
//! takes such packets off the stack and holds them here instead (up to
//! `MAX_HELD` per flow, and `hold_kbytes` of memory per namespace, a
//! module parameter; beyond either, packets are dropped and counted). Cluster migration will release them to the new
//! owner; on one host nobody can, and a flow's packets are freed when it
//! expires (`EXPIRY_SECS` after the freeze), when the connection is
//! injected into this same namespace, or when the namespace goes: TCP
//! retransmits them to wherever the connection went.
//!
//! The frozen flows are a [`Table`] keyed by 4-tuple: the hook looks a
//! packet's flow up under RCU without a lock, and only a held packet
//! takes its flow's own lock.

use crate::peers::Peer;
use crate::stats::FlowInfo;
use crate::sys::genl::uapi;
use crate::sys::net::NetRef;
use crate::sys::nf::Flags;
use crate::sys::nf::Hook;
use crate::sys::nf::Skb;
use crate::sys::nf::Tuple;
use crate::sys::nf::Verdict;
use crate::sys::params;
use crate::sys::sock::Family;
use crate::sys::table::Deadline;
use crate::sys::table::Entry;
use crate::sys::table::Table;
use crate::sys::time::hz;
use crate::sys::time::jiffies;
use crate::sys::time::ms_since;
use crate::sys::time::now_ns;
use crate::sys::xmit::{self, Rewrite};
use core::sync::atomic::AtomicBool;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering;
use kernel::new_spinlock_irq;
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;
use kernel::sync::SpinLockIrq;

/// Packets held per flow; later ones are dropped (and counted).
const MAX_HELD: usize = 256;
/// Frozen flows per namespace.
const MAX_FLOWS: usize = 4096;
/// Forwarded flows per namespace.
pub(crate) const MAX_FORWARDS: usize = 1 << 14;
/// How long a flow's packets are held.
const EXPIRY_SECS: u32 = 180;
/// How often expired flows are swept away (while there are frozen flows).
const SWEEP_MS: u32 = 5000;

/// The memory of one namespace's held packets, against `hold_kbytes`.
struct Budget {
    used: AtomicUsize,
}

impl Budget {
    /// Takes `bytes` from the budget, if they fit.
    fn charge(&self, bytes: usize) -> bool {
        let limit = params::hold_kbytes() as usize * 1024;
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            if used.saturating_add(bytes) > limit {
                return false;
            }
            match self.used.compare_exchange_weak(
                used,
                used + bytes,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => used = now,
            }
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
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
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
    /// in softirq and thaw in process context.
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
    /// The flow just thawed: the packet goes on.
    Thawed(Skb),
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

    /// Holds `skb`, unless the flow thawed meanwhile or is full.
    fn hold(&self, mut skb: Skb) -> Held {
        if self.dead.load(Ordering::Relaxed) {
            return Held::Thawed(skb);
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
            // Thawed since the check above: the packet lost its route, so
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

/// What a forwarded flow's entry weighs, for the scale bench.
#[cfg(tcpmig_bench)]
pub(crate) const FORWARDED_BYTES: usize = core::mem::size_of::<Forwarded>();

/// A migrated flow whose client packets go on to its new owner.
struct Forwarded {
    tuple: Tuple,
    /// Front-end -> back-end, the flow id in the ports.
    to: Rewrite,
    peer: Arc<Peer>,
    number: u16,
    /// When the flow last had a packet (jiffies).
    last: AtomicU64,
    /// When it was migrated (jiffies).
    born: u64,
    packets: AtomicU64,
    /// When its first packet was forwarded (CLOCK_MONOTONIC ns; 0: not
    /// yet), for `make bench`.
    first: AtomicU64,
    /// The client sent a FIN or a RST.
    client_closed: AtomicBool,
    /// A new connection took the 4-tuple: nothing is forwarded any more.
    superseded: AtomicBool,
}

impl Entry for Forwarded {
    type Key = Tuple;

    fn key(&self) -> &Tuple {
        &self.tuple
    }

    const SWEPT: bool = true;

    /// Until the back-end says the connection ended, a new connection
    /// took the 4-tuple, or it idled for `flow_idle_secs`.
    fn alive(&self) -> bool {
        if self.superseded.load(Ordering::Relaxed) {
            return false;
        }
        let idle = jiffies().wrapping_sub(self.last.load(Ordering::Relaxed));
        idle < u64::from(params::flow_idle_secs()) * hz()
    }
}

impl Forwarded {
    /// A packet of the flow goes to its back-end now.
    fn sent_one(&self) {
        self.last.store(jiffies(), Ordering::Relaxed);
        if self.first.load(Ordering::Relaxed) == 0 {
            self.stamp_first(now_ns());
        }
        self.packets.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes `at` as the time of the first packet forwarded (held or
    /// new), unless one was noted.
    fn stamp_first(&self, at: u64) {
        let _ = self
            .first
            .compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed);
    }
}

impl Drop for Forwarded {
    fn drop(&mut self) {
        self.peer.put_number(self.number);
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

/// The frozen flows of one namespace and their held packets, and the
/// flows forwarded from here after their migration.
#[pin_data]
pub(crate) struct HoldTable {
    net: NetRef,
    flows: Table<Frozen>,
    forwards: Table<Forwarded>,
    budget: Arc<Budget>,
    held: AtomicU64,
    dropped: AtomicU64,
    forwarded: AtomicU64,
    forward_errors: AtomicU64,
}

impl HoldTable {
    /// The table of `net`, which it must not outlive (it lives in the
    /// namespace's pernet state).
    pub(crate) fn new(net: NetRef) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            net,
            flows: Table::new(MAX_FLOWS, SWEEP_MS)?,
            forwards: Table::new(MAX_FORWARDS, SWEEP_MS)?,
            forwarded: AtomicU64::new(0),
            forward_errors: AtomicU64::new(0),
            budget: Arc::new(
                Budget {
                    used: AtomicUsize::new(0),
                },
                GFP_KERNEL,
            )?,
            held: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Starts holding the packets of `tuple`, for `EXPIRY_SECS` at most.
    ///
    /// Fails with `ENOSPC` when `MAX_FLOWS` flows are frozen and `EEXIST`
    /// if `tuple` is frozen already.
    pub(crate) fn freeze(&self, tuple: Tuple) -> Result {
        self.flows.insert(
            Frozen::new(tuple, self.budget.clone()),
            Some(Deadline::after_secs(EXPIRY_SECS)),
        )
    }

    /// Closes the frozen flow `tuple` and takes its packets.
    fn close(&self, tuple: &Tuple) -> KVec<HeldSkb> {
        let packets = {
            let guard = rcu::read_lock();
            self.flows
                .get(tuple, &guard)
                .map(Frozen::close)
                .unwrap_or_default()
        };
        self.flows.remove(tuple);
        packets
    }

    /// Stops holding `tuple`'s packets and delivers them here again: a
    /// capture or a migration that failed, or a connection injected where
    /// it was captured. Either way the connection has a socket here.
    pub(crate) fn thaw(&self, tuple: &Tuple) {
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
        for held in self.close(tuple) {
            if let Some(skb) = held.release() {
                self.send(skb, &back);
            }
        }
    }

    /// Forwards `tuple`'s packets from now on, rewritten by `to`, the
    /// held ones first; its flow number toward `peer` is given back when
    /// the flow goes.
    pub(crate) fn forward(
        &self,
        tuple: &Tuple,
        to: Rewrite,
        peer: Arc<Peer>,
        number: u16,
    ) -> Result {
        let entry = Forwarded {
            tuple: *tuple,
            to,
            peer,
            number,
            last: AtomicU64::new(jiffies()),
            born: jiffies(),
            packets: AtomicU64::new(0),
            first: AtomicU64::new(0),
            client_closed: AtomicBool::new(false),
            superseded: AtomicBool::new(false),
        };
        // A flow the 4-tuple had before (superseded by this connection,
        // not swept yet) goes.
        self.forwards.remove(tuple);
        // A packet the closing flow turns away finds this entry.
        self.forwards.insert(Ok::<_, Error>(entry), None)?;
        // When the first of them went (sent or not, as on the hook's path).
        let mut first = 0;
        for held in self.close(tuple) {
            if let Some(skb) = held.release() {
                if first == 0 {
                    first = now_ns();
                }
                self.send(skb, &to);
            }
        }
        if first != 0 {
            if let Some(flow) = self.forwards.get(tuple, &rcu::read_lock()) {
                flow.stamp_first(first);
            }
        }
        Ok(())
    }

    /// Stops forwarding `tuple`, wherever it went: the connection came
    /// back to this node.
    pub(crate) fn unforward_any(&self, tuple: &Tuple) {
        self.forwards.remove(tuple);
    }

    /// Whether `tuple` is frozen or forwarded here.
    pub(crate) fn has(&self, tuple: &Tuple) -> bool {
        let guard = rcu::read_lock();
        self.flows.get(tuple, &guard).is_some() || self.forwards.get(tuple, &guard).is_some()
    }

    /// Stops forwarding the flow `tuple` that went to `peer` with
    /// `number` (its back-end says it ended); whether it was forwarded.
    pub(crate) fn unforward(&self, tuple: &Tuple, peer: &Peer, number: u16) -> bool {
        let ours = {
            let guard = rcu::read_lock();
            self.forwards
                .get(tuple, &guard)
                .is_some_and(|f| f.number == number && f.peer.addr == peer.addr)
        };
        ours && self.forwards.remove(tuple)
    }

    fn send(&self, skb: Skb, to: &Rewrite) {
        match xmit::send(self.net.get(), skb, to) {
            Ok(()) => self.forwarded.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.forward_errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Calls `f` with the forwarded flows from the `skip`th on, until it
    /// returns `false`; returns how many there are (from `skip` on, when
    /// it went through).
    pub(crate) fn visit_forwards(
        &self,
        skip: usize,
        mut f: impl FnMut(&FlowInfo) -> bool,
    ) -> usize {
        let guard = rcu::read_lock();
        let mut count = 0;
        self.forwards.visit(skip, &guard, |flow| {
            count += 1;
            f(&FlowInfo {
                kind: uapi::tcpmig_flow_kind_TCPMIG_FLOW_KIND_FORWARD as u8,
                family: flow.to.family,
                client: flow.tuple.remote_addr,
                client_port: flow.tuple.remote_port,
                vip: flow.tuple.local_addr,
                vip_port: flow.tuple.local_port,
                peer: flow.to.dst,
                flow_id: (u32::from(flow.number) << 16) | u32::from(flow.to.dport),
                age_ms: ms_since(flow.born),
                idle_ms: ms_since(flow.last.load(Ordering::Relaxed)),
                packets: flow.packets.load(Ordering::Relaxed),
                first_forwarded: flow.first.load(Ordering::Relaxed),
            })
        });
        count
    }

    /// Flows forwarded from here now.
    pub(crate) fn forward_flows(&self) -> u32 {
        self.forwards.len() as u32
    }

    /// Packets sent on since the namespace started: forwarded to a
    /// back-end, or delivered here again after a rollback.
    pub(crate) fn forwarded_packets(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Packets that could not be sent on.
    pub(crate) fn forward_errors(&self) -> u64 {
        self.forward_errors.load(Ordering::Relaxed)
    }

    /// Frozen flows now (expired ones not yet swept included).
    pub(crate) fn frozen_flows(&self) -> u32 {
        self.flows.len() as u32
    }

    /// Packets held since the namespace started.
    pub(crate) fn held_packets(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Packets of frozen flows dropped since the namespace started: the
    /// flow held `MAX_HELD` already, or the namespace `hold_kbytes`.
    pub(crate) fn dropped_packets(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Memory the held packets take now.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.budget.used.load(Ordering::Relaxed) as u64
    }
}

/// The namespace's LOCAL_IN hook, sharing the table with the
/// migrator, which ends forwarded flows.
pub(crate) struct HoldHook(pub(crate) Arc<HoldTable>);

impl Hook for HoldHook {
    fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> Verdict {
        self.0.hook(skb, tuple, flags)
    }
}

impl HoldTable {
    /// Keeps `skb` if its flow is frozen, forwards it if its flow
    /// migrated.
    pub(crate) fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> Verdict {
        if self.flows.is_empty() && self.forwards.is_empty() {
            return Verdict::Accept(skb);
        }
        let guard = rcu::read_lock();
        let held = match self.flows.get(tuple, &guard) {
            Some(flow) => flow.hold(skb),
            None => Held::Thawed(skb),
        };
        let skb = match held {
            Held::Yes => {
                self.held.fetch_add(1, Ordering::Relaxed);
                return Verdict::Stolen;
            }
            Held::Dropped => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return Verdict::Stolen;
            }
            // Not frozen, or closed just now: migrated (forwarded below)
            // or rolled back.
            Held::Thawed(skb) => skb,
        };
        let Some(flow) = self.forwards.get(tuple, &guard) else {
            return Verdict::Accept(skb);
        };
        // A new connection with the 4-tuple of a migrated one whose client
        // closed it (a FIN or RST went by): the client reuses its port
        // while the back-end may still sit in TIME_WAIT. The new one is
        // this node's to take: the old flow ends here, and the sweep
        // removes it. (A SYN before the client closed is the old
        // connection's business: forwarded, as any packet.)
        if flow.superseded.load(Ordering::Relaxed)
            || (flags.syn && flow.client_closed.load(Ordering::Relaxed))
        {
            flow.superseded.store(true, Ordering::Relaxed);
            return Verdict::Accept(skb);
        }
        if flags.fin_or_rst {
            flow.client_closed.store(true, Ordering::Relaxed);
        }
        let to = flow.to;
        flow.sent_one();
        drop(guard);
        self.send(skb, &to);
        Verdict::Stolen
    }
}

#[kunit_tests(tcpmig_hold)]
mod tests {
    use super::*;

    fn test_net() -> NetRef {
        NetRef::init_net()
    }

    fn tuple(remote_port: u16) -> Tuple {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&[192, 0, 2, 1]);
        Tuple {
            family: 4,
            local_addr: addr,
            local_port: 7000,
            remote_addr: addr,
            remote_port,
        }
    }

    #[test]
    fn freeze_and_thaw_count_flows() -> Result {
        let hold = KBox::pin_init(HoldTable::new(test_net()), GFP_KERNEL)?;
        hold.freeze(tuple(1))?;
        hold.freeze(tuple(2))?;
        assert_eq!(hold.freeze(tuple(1)), Err(EEXIST));
        assert_eq!(hold.frozen_flows(), 2);
        hold.thaw(&tuple(1));
        hold.thaw(&tuple(1));
        assert_eq!(hold.frozen_flows(), 1);
        hold.freeze(tuple(1))?;
        assert_eq!(hold.frozen_flows(), 2);
        assert_eq!(hold.held_packets(), 0);
        Ok(())
    }

    #[test]
    fn a_thawed_flow_is_closed_to_late_readers() -> Result {
        let hold = KBox::pin_init(HoldTable::new(test_net()), GFP_KERNEL)?;
        hold.freeze(tuple(3))?;
        let guard = rcu::read_lock();
        let flow = hold.flows.get(&tuple(3), &guard).ok_or(ENOENT)?;
        assert!(!flow.dead.load(Ordering::Relaxed));
        hold.thaw(&tuple(3));
        // A reader that found the flow before the thaw sees it closed.
        assert!(flow.dead.load(Ordering::Relaxed));
        assert!(hold.flows.get(&tuple(3), &guard).is_none());
        // Before the table drops, which waits for RCU callbacks.
        drop(guard);
        Ok(())
    }

    #[test]
    fn the_namespace_budget_bounds_held_memory() -> Result {
        let budget = Budget {
            used: AtomicUsize::new(0),
        };
        let limit = params::hold_kbytes() as usize * 1024;
        assert!(budget.charge(limit - 100));
        assert!(!budget.charge(101));
        assert!(budget.charge(100));
        assert!(!budget.charge(1));
        Ok(())
    }
}
