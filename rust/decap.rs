// SPDX-License-Identifier: GPL-2.0

//! Decapsulation (back-end): the flows migrated to this node, keyed by
//! flow id, and the PRE_ROUTING hook that turns their forwarded packets
//! back into the client's.
//!
//! A front-end forwards a client packet of a migrated flow with the
//! addresses front-end -> back-end and the flow id in the port fields:
//! the source port is the front-end's number for the flow, the
//! destination port this node's flow port. No socket here can have the
//! flow port (the node holds it bound), so a packet to it is never part
//! of a real connection: it is a forwarded one or it is dropped. The
//! hook restores client address:port -> VIP address:port (checksums
//! updated) before routing, and the packet goes up to the migrated
//! socket as if it had come from the client.

use crate::forward::ForwardTable;
use crate::peers::{NodeAddr, Peers};
use crate::stats::{FlowInfo, FlowKind};
use crate::sys::net::NetRef;
use crate::sys::nf::Flags;
use crate::sys::nf::Hook;
use crate::sys::nf::HookVerdict;
use crate::sys::nf::Skb;
use crate::sys::nf::Tuple;
use crate::sys::sock::addr_is_local;
use crate::sys::sock::connection;
use crate::sys::sock::Connection;
use crate::sys::sock::Endpoint;
use crate::sys::sock::Family;
use crate::sys::table::hash_words;
use crate::sys::table::Entry;
use crate::sys::table::Key;
use crate::sys::table::Table;
use crate::sys::time::hz;
use crate::sys::time::jiffies;
use crate::sys::time::ms_since;
use crate::sys::xmit::{self, Rewrite};
use crate::wire::FlowMapping;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::AtomicU16;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering;
use kernel::new_condvar;
use kernel::new_spinlock_irq;
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;
use kernel::sync::CondVar;
use kernel::sync::SpinLockIrq;
use kernel::time::msecs_to_jiffies;

/// Migrated flows per namespace.
pub(crate) const MAX_DECAP: usize = 1 << 14;
/// How often the table looks for flows whose connection ended.
const SWEEP_MS: u32 = 1000;
/// A new flow's connection is being injected: it is not looked for until
/// this long after the flow came.
const GRACE_SECS: u64 = 10;

/// A flow id as a back-end sees it: which front-end, and its number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecapKey {
    pub(crate) family: u8,
    pub(crate) front_end: [u8; 16],
    pub(crate) number: u16,
}

impl Key for DecapKey {
    fn hash(&self, seed: u32) -> u32 {
        let a = &self.front_end;
        let word = |i: usize| u32::from_ne_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
        let words = [
            word(0),
            word(4),
            word(8),
            word(12),
            (u32::from(self.family) << 16) | u32::from(self.number),
        ];
        hash_words(&words, seed)
    }
}

/// A flow whose connection ended here, for its front-end to hear of.
pub(crate) struct EndedFlow {
    pub(crate) front_end: [u8; 16],
    pub(crate) mapping: FlowMapping,
    /// Times the front-end could not be told yet.
    pub(crate) attempts: u32,
}

/// The notices of ended flows not sent yet; the notifier waits on
/// `wake` for the next one.
#[pin_data]
pub(crate) struct EndedQueue {
    #[pin]
    flows: SpinLockIrq<KVec<EndedFlow>>,
    #[pin]
    wake: CondVar,
}

impl EndedQueue {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            flows <- new_spinlock_irq!(KVec::new(), "tcpmig_decap_ended"),
            wake <- new_condvar!("tcpmig_decap_ended"),
        })
    }

    /// Queues a notice (in any context); without memory the front-end's
    /// idle timeout ends the flow.
    fn push(&self, ended: EndedFlow) {
        // Under the queue's spinlock (irqs off): an atomic allocation.
        let _ = self.flows.lock().push(ended, GFP_ATOMIC);
    }
}

/// What a migrated flow's entry weighs, for the scale bench.
#[cfg(tcpmig_bench)]
pub(crate) const DECAP_BYTES: usize = core::mem::size_of::<Decap>();

/// One migrated flow: where its forwarded packets really come from and go.
struct Decap {
    key: DecapKey,
    /// Client -> VIP, as the migrated socket knows the connection.
    to: Rewrite,
    mapping: FlowMapping,
    net: NetRef,
    born: u64,
    /// When the flow last had a packet (jiffies).
    last: AtomicU64,
    packets: AtomicU64,
    /// Set when the sweep found the connection gone.
    ended: AtomicBool,
    /// Set once its front-end's notice is queued (by the sweep, or by a
    /// new connection's SYN): one notice per flow.
    told: AtomicBool,
    /// Set once its connection is in a socket here.
    injected: AtomicBool,
    queue: Arc<EndedQueue>,
    /// This node's frozen and forwarded flows: a connection that moved
    /// on from here still needs its flow (its packets come this way).
    front: Arc<ForwardTable>,
}

impl Entry for Decap {
    type Key = DecapKey;

    fn key(&self) -> &DecapKey {
        &self.key
    }

    const SWEPT: bool = true;

    /// While the migrated connection has a socket here, in any state up
    /// to the end of TIME_WAIT (a retransmitted FIN or last ACK of the
    /// client must still reach it), or moved on from here and is
    /// forwarded (its packets still come this way).
    fn alive(&self) -> bool {
        if self.told.load(Ordering::Relaxed) {
            return false;
        }
        if self.young() {
            return true;
        }
        let (vip, client) = self.endpoints();
        let tuple = Tuple::of(&vip, &client);
        let alive = connection(self.net.get(), &vip, &client) != Connection::None
            || self.front.moved_on(&tuple);
        if !alive {
            self.ended.store(true, Ordering::Relaxed);
        }
        alive
    }

    /// Queues an ended flow's notice for its front-end.
    fn retire(&self) {
        if self.ended.load(Ordering::Relaxed) {
            self.tell();
        }
    }
}

impl Decap {
    /// Whether the flow came less than [`GRACE_SECS`] ago: its connection
    /// may still be on its way into a socket.
    fn young(&self) -> bool {
        jiffies().wrapping_sub(self.born) < GRACE_SECS * hz()
    }

    /// The migrated connection's ends here: VIP and client.
    fn endpoints(&self) -> (Endpoint, Endpoint) {
        let m = &self.mapping;
        let family = self.to.family;
        let vip = Endpoint {
            family,
            addr: m.vip_addr,
            port: m.vip_port,
        };
        let client = Endpoint {
            family,
            addr: m.client_addr,
            port: m.client_port,
        };
        (vip, client)
    }

    /// Whether a SYN on the flow goes up to TCP: only while the connection
    /// has a full socket, whose TCP answers it with a challenge ACK (RFC
    /// 5961), or moved on from here. Once its connection is over (only a
    /// TIME_WAIT left, or nothing), the SYN is a new connection of the
    /// client's on a reused port: the front-end's to dispatch, not this
    /// node's to take. The flow ends now and its front-end hears of it at
    /// once; the client's retransmitted SYN then goes to the front-end's
    /// own stack. A flow whose connection is not in its socket yet (not
    /// injected) only has the SYN dropped.
    fn takes_syn(&self) -> bool {
        let (vip, client) = self.endpoints();
        // Moved on from here: the node it went to judges (this node's
        // forwarding sends the SYN on after the rewrite).
        if connection(self.net.get(), &vip, &client) == Connection::Full
            || self.front.moved_on(&Tuple::of(&vip, &client))
        {
            return true;
        }
        // Not injected yet, a TIME_WAIT found is an older connection's.
        if self.injected.load(Ordering::Relaxed) {
            self.tell();
        }
        false
    }

    /// Queues the notice of the flow's end for its front-end, once, and
    /// wakes the notifier (any context).
    fn tell(&self) {
        if self.told.swap(true, Ordering::Relaxed) {
            return;
        }
        self.queue.push(EndedFlow {
            front_end: self.key.front_end,
            mapping: self.mapping,
            attempts: 0,
        });
        self.queue.wake.notify_one();
    }
}

/// The flows migrated to one namespace.
pub(crate) struct DecapTable {
    net: NetRef,
    /// Fields drop in order: `flows` waits for the RCU callbacks that free
    /// its entries (each holds `front`) while this reference still stands,
    /// so no callback drops the last one; a table's drop sleeps.
    flows: Table<Decap>,
    front: Arc<ForwardTable>,
    ended: Arc<EndedQueue>,
    /// This node's flow port; 0 while it is not a cluster node.
    flow_port: AtomicU16,
    decapsulated: AtomicU64,
    dropped: AtomicU64,
}

impl DecapTable {
    /// The table of `net`, which it must not outlive.
    pub(crate) fn new(net: NetRef, front: Arc<ForwardTable>) -> Result<Self> {
        Ok(Self {
            net,
            front,
            flows: Table::new(MAX_DECAP, SWEEP_MS)?,
            ended: Arc::pin_init(EndedQueue::new(), GFP_KERNEL)?,
            flow_port: AtomicU16::new(0),
            decapsulated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Starts decapsulating packets to `port`.
    pub(crate) fn set_flow_port(&self, port: u16) {
        self.flow_port.store(port, Ordering::Relaxed);
    }

    /// Stops decapsulating packets to `port`, unless a newer node's port
    /// replaced it already.
    pub(crate) fn clear_flow_port(&self, port: u16) {
        let _ = self
            .flow_port
            .compare_exchange(port, 0, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Notes that the connection of the flow `key` is in its socket now:
    /// from here on a SYN that finds no full socket ends the flow.
    pub(crate) fn injected(&self, key: &DecapKey) {
        if let Some(flow) = self.flows.get(key, &rcu::read_lock()) {
            flow.injected.store(true, Ordering::Relaxed);
        }
    }

    /// This node's flow port; 0 while it is not a cluster node.
    pub(crate) fn flow_port(&self) -> u16 {
        self.flow_port.load(Ordering::Relaxed)
    }

    /// Adds the flow `mapping` describes, forwarded by `front_end`; a
    /// stale flow with the same id goes (the front-end only reuses a
    /// number once its flow is gone there).
    pub(crate) fn insert(&self, front_end: &[u8; 16], mapping: &FlowMapping) -> Result<DecapKey> {
        let key = DecapKey {
            family: mapping.family,
            front_end: *front_end,
            number: (mapping.flow_id >> 16) as u16,
        };
        let to = Rewrite {
            family: Family::from_blob(mapping.family).ok_or(EINVAL)?,
            src: mapping.client_addr,
            dst: mapping.vip_addr,
            sport: mapping.client_port,
            dport: mapping.vip_port,
        };
        let entry = Decap {
            key,
            to,
            mapping: *mapping,
            net: self.net,
            born: jiffies(),
            last: AtomicU64::new(jiffies()),
            packets: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            told: AtomicBool::new(false),
            injected: AtomicBool::new(false),
            queue: self.ended.clone(),
            front: self.front.clone(),
        };
        self.flows.remove(&key);
        self.flows.insert(Ok::<_, Error>(entry), None)?;
        Ok(key)
    }

    pub(crate) fn remove(&self, key: &DecapKey) -> bool {
        self.flows.remove(key)
    }

    /// The flows whose connection ended since the last call, waiting up
    /// to `ms` for one (or for [`Self::wake_notifier`]).
    pub(crate) fn wait_ended(&self, ms: u32) -> KVec<EndedFlow> {
        let mut flows = self.ended.flows.lock();
        if flows.is_empty() && ms > 0 {
            // Woken, timed out or signalled: whichever, what is queued.
            let _ = self
                .ended
                .wake
                .wait_interruptible_timeout(&mut flows, msecs_to_jiffies(ms));
        }
        core::mem::take(&mut *flows)
    }

    /// Wakes the notifier waiting in [`Self::wait_ended`] (it is stopping).
    pub(crate) fn wake_notifier(&self) {
        self.ended.wake.notify_all();
    }

    /// Gives back a flow whose front-end could not be told, for the
    /// node's next notifier.
    pub(crate) fn requeue_ended(&self, ended: EndedFlow) {
        self.ended.push(ended);
    }

    /// Calls `f` with the flows from the `skip`th on, until it returns
    /// `false`.
    pub(crate) fn visit(&self, skip: usize, mut f: impl FnMut(&FlowInfo) -> bool) {
        let guard = rcu::read_lock();
        self.flows.visit(skip, &guard, |flow| {
            f(&FlowInfo {
                kind: FlowKind::Decap,
                family: flow.to.family,
                client: flow.mapping.client_addr,
                client_port: flow.mapping.client_port,
                vip: flow.mapping.vip_addr,
                vip_port: flow.mapping.vip_port,
                peer: flow.key.front_end,
                flow_id: flow.mapping.flow_id,
                age_ms: ms_since(flow.born),
                idle_ms: ms_since(flow.last.load(Ordering::Relaxed)),
                packets: flow.packets.load(Ordering::Relaxed),
                first_forwarded: 0,
            })
        });
    }

    pub(crate) fn flows(&self) -> u32 {
        self.flows.len() as u32
    }

    pub(crate) fn decapsulated(&self) -> u64 {
        self.decapsulated.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The namespace's PRE_ROUTING hook, sharing the table with the
/// migrator that fills it, and the peers that may pass errors on.
pub(crate) struct DecapHook(pub(crate) Arc<DecapTable>, pub(crate) Arc<Peers>);

impl Hook for DecapHook {
    fn hook(&self, skb: Skb, tuple: &Tuple, flags: Flags) -> HookVerdict {
        if flags.icmp {
            return HookVerdict::Accept(self.readdress_error(skb, tuple));
        }
        self.0.decapsulate(skb, tuple, flags)
    }
}

impl DecapHook {
    /// An ICMP error a front-end passed on (from the peer to this node,
    /// about a packet from a VIP and port the peer is served) is
    /// addressed to the VIP again, as it was sent: conntrack relates an
    /// error to a connection only if it is addressed to the connection's
    /// end (and calls it invalid otherwise). The stack finds the socket
    /// by the quoted packet either way.
    fn readdress_error(&self, mut skb: Skb, tuple: &Tuple) -> Skb {
        let Some(family) = Family::from_blob(tuple.family) else {
            return skb;
        };
        let from = NodeAddr {
            family,
            addr: skb.source(tuple.family),
        };
        let served = self
            .1
            .by_addr(&from)
            .is_some_and(|peer| peer.serves(tuple.family, &tuple.local_addr, tuple.local_port));
        if served {
            let to = Rewrite {
                family,
                src: from.addr,
                dst: tuple.local_addr,
                sport: 0,
                dport: 0,
            };
            // Left as it came on failure: the stack still finds its socket.
            let _ = xmit::readdress(&mut skb, &to);
        }
        skb
    }
}

impl DecapTable {
    /// Restores a forwarded packet, drops a forged one (and a new
    /// connection's SYN: [`Decap::takes_syn`]), passes the rest.
    fn decapsulate(&self, mut skb: Skb, tuple: &Tuple, flags: Flags) -> HookVerdict {
        let port = self.flow_port.load(Ordering::Relaxed);
        if port == 0 || tuple.local_port != port {
            return HookVerdict::Accept(skb);
        }
        // Traffic this node routes for others is not for its flow port.
        let Some(family) = Family::from_blob(tuple.family) else {
            return HookVerdict::Accept(skb);
        };
        if !addr_is_local(self.net.get(), family, &tuple.local_addr) {
            return HookVerdict::Accept(skb);
        }
        let key = DecapKey {
            family: tuple.family,
            front_end: tuple.remote_addr,
            number: tuple.remote_port,
        };
        let guard = rcu::read_lock();
        let restored = match self.flows.get(&key, &guard) {
            Some(flow) if flags.syn && !flow.takes_syn() => false,
            Some(flow) => {
                flow.last.store(jiffies(), Ordering::Relaxed);
                flow.packets.fetch_add(1, Ordering::Relaxed);
                xmit::rewrite(&mut skb, &flow.to).is_ok()
            }
            None => false,
        };
        drop(guard);
        if restored {
            self.decapsulated.fetch_add(1, Ordering::Relaxed);
            HookVerdict::Accept(skb)
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            HookVerdict::Drop(skb)
        }
    }
}
