// SPDX-License-Identifier: GPL-2.0

//! Forwarding (front-end): the client packets of a migrated flow go on to
//! its new owner, encapsulated with the flow id in the TCP ports.
//!
//! The namespace's LOCAL_IN hook asks the hold table first (a frozen
//! flow's packets wait there while its migration is out), then this
//! table: a forwarded flow's packet is rewritten toward its back-end
//! and sent. A flow is forwarded from its peer's ack on, the held packets
//! first, until the back-end says the connection ended (FLOW_END) or it
//! idles for `flow_idle_secs`.
//!
//! No packet ends a flow here: a FIN, a RST or a SYN on its 4-tuple may
//! come from anyone who knows the client's address and port, and only
//! the back-end's TCP can tell (by their sequence numbers, RFC 5961).
//! They are forwarded like the rest. A client that reuses its port after
//! a real close sends a SYN the back-end finds no live socket for: it
//! drops it and ends the flow (`decap.rs`), and the client's
//! retransmitted SYN reaches this node's own stack, a new connection.
//!
//! The forwarded flows are a [`Table`] keyed by 4-tuple, read under RCU.

use crate::hold::HoldTable;
use crate::peers::Peer;
use crate::stats::{Counter, FlowInfo, FlowKind};
use crate::sys::net::NetRef;
use crate::sys::nf::conntrack_end;
use crate::sys::nf::Flags;
use crate::sys::nf::Hook;
use crate::sys::nf::HookVerdict;
use crate::sys::nf::Skb;
use crate::sys::nf::Tuple;
use crate::sys::params;
use crate::sys::table::Entry;
use crate::sys::table::Room;
use crate::sys::table::Table;
use crate::sys::time::hz;
use crate::sys::time::jiffies;
use crate::sys::time::ms_since;
use crate::sys::time::now_ns;
use crate::sys::xmit::{self, Rewrite};
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// Forwarded flows per namespace.
pub(crate) const MAX_FORWARDS: usize = 1 << 14;
/// How often idle flows are swept away.
const SWEEP_MS: u32 = 5000;

/// What a forwarded flow's entry weighs, for the scale bench.
#[cfg(tcpmig_bench)]
pub(crate) const FORWARDED_BYTES: usize = core::mem::size_of::<Forwarded>();

/// A migrated flow whose client packets go on to its new owner.
struct Forwarded {
    /// The namespace, which outlives its table.
    net: NetRef,
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
}

impl Entry for Forwarded {
    type Key = Tuple;

    fn key(&self) -> &Tuple {
        &self.tuple
    }

    const SWEPT: bool = true;

    /// Until the back-end says the connection ended, or it idled for
    /// `flow_idle_secs`.
    fn alive(&self) -> bool {
        let idle = jiffies().wrapping_sub(self.last.load(Ordering::Relaxed));
        idle < u64::from(params::flow_idle_secs()) * hz()
    }
}

impl Forwarded {
    /// A packet of the flow goes to its back-end now. A SYN does not
    /// keep the flow from idling: anyone may send one.
    fn sent_one(&self, flags: Flags) {
        if !flags.syn {
            self.last.store(jiffies(), Ordering::Relaxed);
        }
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
    /// Runs when the entry is freed (an RCU callback, or the table's drop
    /// at the namespace's exit, before conntrack's).
    fn drop(&mut self) {
        conntrack_end(self.net.get(), &self.tuple);
        self.peer.put_number(self.number);
    }
}

/// Room in the forwarding table for one flow ([`ForwardTable::reserve`]).
pub(crate) struct ForwardRoom<'a>(Room<'a, Forwarded>);

/// The flows forwarded from one namespace after their migration.
pub(crate) struct ForwardTable {
    net: NetRef,
    flows: Table<Forwarded>,
    /// Asked first by the hook; a flow's held packets go on first.
    /// Declared after `flows`, which it outlives (see `DecapTable`).
    hold: Arc<HoldTable>,
    forwarded: Counter,
    errors: Counter,
    /// ICMP errors about a flow's packets passed on to its back-end.
    icmp: Counter,
    /// Packets too big for the path to their back-end.
    too_big: Counter,
}

impl ForwardTable {
    /// The table of `net`, which it must not outlive (it lives in the
    /// namespace's pernet state).
    pub(crate) fn new(net: NetRef, hold: Arc<HoldTable>) -> Result<Self> {
        Ok(Self {
            net,
            hold,
            flows: Table::new(MAX_FORWARDS, SWEEP_MS)?,
            forwarded: Counter::new(),
            errors: Counter::new(),
            icmp: Counter::new(),
            too_big: Counter::new(),
        })
    }

    /// Room for a flow to forward, taken before its peer is asked to
    /// take the connection: `ENOSPC` when the table is full.
    pub(crate) fn reserve(&self) -> Result<ForwardRoom<'_>> {
        self.flows.reserve().map(ForwardRoom)
    }

    /// Forwards `tuple`'s packets from now on, rewritten by `to`, the
    /// held ones first, in `room`; its flow number toward `peer` is given
    /// back when the flow goes.
    pub(crate) fn forward(
        &self,
        room: ForwardRoom<'_>,
        tuple: &Tuple,
        to: Rewrite,
        peer: Arc<Peer>,
        number: u16,
    ) -> Result {
        let entry = Forwarded {
            net: self.net,
            tuple: *tuple,
            to,
            peer,
            number,
            last: AtomicU64::new(jiffies()),
            born: jiffies(),
            packets: AtomicU64::new(0),
            first: AtomicU64::new(0),
        };
        // A flow the 4-tuple had before (idle, not swept yet) goes.
        self.flows.remove(tuple);
        // A packet the closing frozen flow turns away finds this entry.
        self.flows
            .insert_reserved(room.0, Ok::<_, Error>(entry), None)?;
        // When the first of them went (sent or not, as on the hook's path).
        let mut first = 0;
        for skb in self.hold.take(tuple) {
            if first == 0 {
                first = now_ns();
            }
            self.send(skb, &to);
        }
        if first != 0 {
            if let Some(flow) = self.flows.get(tuple, &rcu::read_lock()) {
                flow.stamp_first(first);
            }
        }
        Ok(())
    }

    /// The connection `tuple` lives here again (injected where it was
    /// captured, or where it was forwarded from): its held packets are
    /// delivered here, and it is no longer forwarded, wherever it went.
    pub(crate) fn take_back(&self, tuple: &Tuple) {
        self.hold.release(tuple);
        self.flows.remove(tuple);
    }

    /// Stops forwarding the flow `tuple` that went to `peer` with
    /// `number` (its back-end says it ended); whether it was forwarded.
    pub(crate) fn end(&self, tuple: &Tuple, peer: &Peer, number: u16) -> bool {
        self.flows
            .remove_if(tuple, |f| f.number == number && f.peer.addr == peer.addr)
    }

    /// Whether `tuple` is frozen or forwarded here: the connection moved
    /// on from this node.
    pub(crate) fn moved_on(&self, tuple: &Tuple) -> bool {
        let guard = rcu::read_lock();
        self.hold.is_held(tuple, &guard) || self.flows.get(tuple, &guard).is_some()
    }

    fn send(&self, skb: Skb, to: &Rewrite) {
        match xmit::send(self.net.get(), skb, to) {
            Ok(()) => self.forwarded.inc(),
            // The client was told the path's MTU.
            Err(e) if e == EMSGSIZE => self.too_big.inc(),
            Err(_) => self.errors.inc(),
        }
    }

    /// Passes an ICMP error about a packet of the forwarded flow `tuple`
    /// on to its back-end: the packet it quotes went from there to the
    /// client, from the VIP, and the error came back to the VIP, here.
    fn send_error(&self, skb: Skb, tuple: &Tuple) -> HookVerdict {
        let to = {
            let guard = rcu::read_lock();
            match self.flows.get(tuple, &guard) {
                Some(flow) => flow.to,
                None => return HookVerdict::Accept(skb),
            }
        };
        match xmit::send_error(self.net.get(), skb, &to) {
            Ok(()) => self.icmp.inc(),
            Err(_) => self.errors.inc(),
        }
        HookVerdict::Stolen
    }

    /// Calls `f` with the forwarded flows from the `skip`th on, until it
    /// returns `false`; returns how many there are (from `skip` on, when
    /// it went through).
    pub(crate) fn visit(&self, skip: usize, mut f: impl FnMut(&FlowInfo) -> bool) -> usize {
        let guard = rcu::read_lock();
        let mut count = 0;
        self.flows.visit(skip, &guard, |flow| {
            count += 1;
            f(&FlowInfo {
                kind: FlowKind::Forward,
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
    pub(crate) fn flows(&self) -> u32 {
        self.flows.len() as u32
    }

    /// Packets forwarded to a back-end since the namespace started.
    pub(crate) fn forwarded_packets(&self) -> u64 {
        self.forwarded.get()
    }

    /// Packets that could not be forwarded.
    pub(crate) fn forward_errors(&self) -> u64 {
        self.errors.get()
    }

    /// ICMP errors passed on to a back-end.
    pub(crate) fn icmp_forwarded(&self) -> u64 {
        self.icmp.get()
    }

    /// Packets too big for the path to their back-end, answered with the
    /// path's MTU.
    pub(crate) fn too_big(&self) -> u64 {
        self.too_big.get()
    }

    /// Keeps `skb` if its flow is frozen, forwards it if its flow
    /// migrated. An ICMP error about a forwarded flow goes to its
    /// back-end; one about a frozen flow to the socket still here.
    fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> HookVerdict {
        if self.flows.is_empty() && (flags.icmp || self.hold.is_empty()) {
            return HookVerdict::Accept(skb);
        }
        if flags.icmp {
            return self.send_error(skb, tuple);
        }
        let guard = rcu::read_lock();
        // Not frozen, or released just now: migrated (forwarded below) or
        // rolled back.
        let Some(skb) = self.hold.catch(skb, tuple, &guard) else {
            return HookVerdict::Stolen;
        };
        let Some(flow) = self.flows.get(tuple, &guard) else {
            return HookVerdict::Accept(skb);
        };
        let to = flow.to;
        flow.sent_one(flags);
        drop(guard);
        self.send(skb, &to);
        HookVerdict::Stolen
    }
}

/// The namespace's LOCAL_IN hook, sharing the table with migrations
/// (which forward flows) and the node (which ends them).
pub(crate) struct ForwardHook(pub(crate) Arc<ForwardTable>);

impl Hook for ForwardHook {
    fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> HookVerdict {
        self.0.hook(skb, tuple, flags)
    }
}
