// SPDX-License-Identifier: GPL-2.0

//! A namespace as a cluster node: its cluster state, the node that runs
//! while it has a key (its migrator, its flow port, the flow-end
//! notifier), and the front-end's request to a peer.
//!
//! A namespace becomes a node when it gets a cluster key: then its
//! migrator listens on the migrator port and it holds the flow port (the
//! next one) bound, so no connection of its own can ever use it. What
//! the migrator receives from peers is `receive.rs`'s.

use crate::decap::DecapTable;
use crate::decap::EndedFlow;
use crate::error::Failure;
use crate::error::PeerReason;
use crate::forward::ForwardTable;
use crate::hold::HoldTable;
use crate::migrator::{Migrator, RequestError};
use crate::peers::NodeAddr;
use crate::peers::Peer;
use crate::peers::Peers;
use crate::receive::{inject_ns, Receiver};
use crate::stages::Stages;
use crate::stats::Stats;
use crate::sys::net::NetRef;
use crate::sys::nf::Defrag;
use crate::sys::params;
use crate::sys::sock::Endpoint;
use crate::sys::sock::Family;
use crate::sys::socket::KernelSocket;
use crate::sys::time::jiffies;
use crate::sys::time::ms_since;
use crate::sys::wq::OwnedQueue;
use crate::wire::frame::Kind;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::AtomicU16;
use core::sync::atomic::Ordering;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::Mutex;

/// A peer's answer to a migration, as the front-end acts on it.
pub(crate) enum Answer {
    /// The peer owns the connection now; it saw the request come from
    /// this node's address `via`, and took `inject_ns` to inject it.
    Accepted { via: [u8; 16], inject_ns: u64 },
    /// The peer refused it, and said why.
    Refused(PeerReason),
    /// Nothing reached the peer, for this reason (`EKEYREJECTED`: its
    /// key differs; `ECONNREFUSED`: it does not take this node).
    Unreachable(Error),
    /// The request may have reached the peer, the answer did not.
    Unknown,
}

/// A namespace's cluster state: its peers and key, its flow tables, its
/// counters, and the node that runs while it has a key. The namespace
/// owns it and hands it, as one `Arc`, to what migrates: the netlink
/// commands and the dispatcher's services.
#[pin_data]
pub(crate) struct Cluster {
    pub(crate) peers: Arc<Peers>,
    /// Front-end: the frozen flows, and the flows forwarded from here.
    pub(crate) hold: Arc<HoldTable>,
    pub(crate) forward: Arc<ForwardTable>,
    /// Back-end: the flows migrated here.
    pub(crate) decap: Arc<DecapTable>,
    pub(crate) stats: Arc<Stats>,
    /// The running node, once the namespace has a cluster key. Its own
    /// lock is held only to swap the node: dropping one waits for its
    /// work items, and work items take that lock (a service looks the
    /// node up), so no node is dropped under it.
    #[pin]
    node: Mutex<Option<Arc<Node>>>,
    /// Held through a configuration.
    #[pin]
    configuring: Mutex<()>,
    /// Port of this namespace's connection migrator; never 0.
    migrator_port: AtomicU16,
    net: NetRef,
}

impl Cluster {
    /// The cluster state of `net`, which it must not outlive (it lives in
    /// the namespace's pernet state), with the tables the namespace's
    /// hooks share.
    pub(crate) fn new(
        net: NetRef,
        hold: Arc<HoldTable>,
        forward: Arc<ForwardTable>,
        decap: Arc<DecapTable>,
    ) -> Result<impl PinInit<Self, Error>> {
        let peers = Arc::pin_init(Peers::new(), GFP_KERNEL)?;
        let stats = Arc::new(Stats::default(), GFP_KERNEL)?;
        Ok(try_pin_init!(Self {
            peers,
            hold,
            forward,
            decap,
            stats,
            node <- new_mutex!(None, "tcpmig_node"),
            configuring <- new_mutex!((), "tcpmig_configuring"),
            migrator_port: AtomicU16::new(params::migrator_port()),
            net,
        }))
    }

    /// The running node, if the namespace has a cluster key.
    pub(crate) fn node(&self) -> Option<Arc<Node>> {
        self.node.lock().clone()
    }

    pub(crate) fn migrator_port(&self) -> u16 {
        self.migrator_port.load(Ordering::Relaxed)
    }

    /// Sets the cluster key and the migrator port (either may be absent)
    /// and starts the node, or restarts it on a new port. On failure
    /// nothing changed: a node that was running runs again on its port
    /// (unless a migration in flight still holds that port).
    pub(crate) fn configure(
        &self,
        key: Option<[u8; 32]>,
        port: Option<u16>,
    ) -> Result<(), Failure> {
        let _configuring = self.configuring.lock();
        let running = self.node.lock().is_some();
        // A new key restarts the node too: its migrator's connections,
        // greeted under the old key, must go, so that peers greet again
        // (and learn of a key that differs) before they send anything.
        let new_key = key.is_some_and(|k| self.peers.key() != Some(k));
        let new_port = port.is_some_and(|p| p != self.migrator_port());
        let restart = !running || new_key || new_port;
        let port = port.unwrap_or(self.migrator_port());
        let key_set = key.is_some() || self.peers.key().is_some();
        let old_key = self.peers.key();
        if let Some(key) = key {
            // The new node greets under the new key from its first peer on.
            self.peers.replace_key(Some(key));
        }
        if key_set && restart {
            // The old node lets go of its ports first (when the migrations
            // in flight that hold it end). Out of the lock: see above.
            let old = self.node.lock().take();
            drop(old);
            let start = |port| -> Result<Arc<Node>, Failure> {
                let started = Node::start(self, port)?;
                Arc::new(started, GFP_KERNEL).map_err(|_| Failure::oom())
            };
            match start(port) {
                Ok(started) => *self.node.lock() = Some(started),
                Err(failure) => {
                    self.peers.replace_key(old_key);
                    if running {
                        *self.node.lock() = start(self.migrator_port()).ok();
                    }
                    return Err(failure);
                }
            }
        }
        self.migrator_port.store(port, Ordering::Relaxed);
        Ok(())
    }
}

/// How often a back-end tries again to tell front-ends about flows that
/// ended (a new ended flow is told at once).
const NOTIFY_MS: u32 = 500;
/// How long a FLOW_END may take; the front-end's idle timeout covers a
/// lost one.
const NOTIFY_TIMEOUT_MS: u32 = 1000;
/// How often a FLOW_END is tried (every NOTIFY_MS, about 2 minutes) while
/// the front-end is unreachable or not a peer.
const NOTIFY_ATTEMPTS: u32 = 240;

/// A running node.
pub(crate) struct Node {
    /// Stops the notifier; dropped before the migrator it uses.
    _notifier: OwnedQueue,
    stopping: Arc<AtomicBool>,
    /// Its workers stop before the rest goes.
    migrator: Arc<Migrator<Receiver>>,
    /// Holds the flow port bound.
    _flow_port: KernelSocket,
    /// Fragments are gathered before the hooks while the node runs.
    _defrag: Defrag,
    flow_port: u16,
    decap: Arc<DecapTable>,
}

impl Node {
    /// Starts the node of `cluster` with its migrator on `port`.
    fn start(cluster: &Cluster, port: u16) -> Result<Self, Failure> {
        let net = cluster.net.get();
        let flow_port = port.checked_add(1).ok_or((
            EINVAL,
            c"the migrator port must leave room for the flow port after it",
        ))?;
        let reservation = KernelSocket::reserve(net, flow_port)
            .map_err(|e| (e, c"the flow port (migrator port + 1) is in use"))?;
        let defrag =
            Defrag::enable(net).map_err(|e| (e, c"cannot turn on the kernel's defragmentation"))?;
        let receiver = Receiver {
            net: cluster.net,
            peers: cluster.peers.clone(),
            decap: cluster.decap.clone(),
            forward: cluster.forward.clone(),
            stats: cluster.stats.clone(),
        };
        let migrator = Migrator::new(net, port, receiver)
            .map_err(|e| (e, c"cannot listen on the migrator port"))?;
        let migrator = Arc::new(migrator, GFP_KERNEL).map_err(|_| Failure::oom())?;
        let stopping = Arc::new(AtomicBool::new(false), GFP_KERNEL).map_err(|_| Failure::oom())?;
        let notifier = OwnedQueue::new().map_err(|e| (e, c"cannot start the node's notifier"))?;
        {
            let (migrator, stopping) = (migrator.clone(), stopping.clone());
            notifier
                .spawn(move |_| notify_loop(&migrator, &stopping))
                .map_err(|e| (e, c"cannot start the node's notifier"))?;
        }
        cluster.decap.set_flow_port(flow_port);
        Ok(Self {
            _notifier: notifier,
            stopping,
            migrator,
            _flow_port: reservation,
            _defrag: defrag,
            flow_port,
            decap: cluster.decap.clone(),
        })
    }

    /// Sends the blob of a migration to `peer` and waits for its answer.
    pub(crate) fn migrate(
        &self,
        peer: &Peer,
        blob: &[u8],
        timeout_ms: u32,
        stages: &mut Stages,
    ) -> Answer {
        match self
            .migrator
            .request_via(&migrator_of(peer), Kind::Migrate, blob, timeout_ms, stages)
        {
            Ok((reply, via)) if reply.is_ok() => Answer::Accepted {
                via: via.addr,
                inject_ns: inject_ns(reply.reason()),
            },
            Ok((reply, _)) => Answer::Refused(PeerReason::new(reply.reason())),
            Err(RequestError::Local(e) | RequestError::Unreachable(e)) => Answer::Unreachable(e),
            Err(RequestError::Ambiguous(_) | RequestError::BadReply) => Answer::Unknown,
        }
    }

    /// Whether `peer`'s migrator answered the last request (or was never
    /// asked): services skip the peers that are down.
    pub(crate) fn peer_up(&self, peer: &Peer) -> bool {
        !self.migrator.is_down(&migrator_of(peer))
    }

    /// Connections and frames the migrator refused since it started:
    /// from non-peers, malformed, with a bad tag, or while it had no key.
    pub(crate) fn bad_frames(&self) -> u64 {
        let stats = self.migrator.stats();
        stats.refused + stats.bad_frames + stats.bad_tags + stats.no_key
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // A migration may hold this node past the start of the next one:
        // its port, not the next node's, stops.
        self.decap.clear_flow_port(self.flow_port);
        // The notifier sees it when woken (after a request's timeout at
        // most); `notifier` then drops first and waits for it.
        self.stopping.store(true, Ordering::Relaxed);
        self.decap.wake_notifier();
    }
}

/// Where `peer`'s migrator listens.
fn migrator_of(peer: &Peer) -> Endpoint {
    Endpoint {
        family: peer.addr.family,
        addr: peer.addr.addr,
        port: peer.port,
    }
}

/// The back-end's notifier: tells each front-end which of its flows
/// ended here, as they end, until the node stops. Notices that did not
/// go through are tried again every [`NOTIFY_MS`].
fn notify_loop(migrator: &Migrator<Receiver>, stopping: &AtomicBool) {
    let decap = &migrator.handler().decap;
    let mut retry = KVec::new();
    let mut retried = jiffies();
    while !stopping.load(Ordering::Relaxed) {
        let mut due = decap.wait_ended(NOTIFY_MS);
        if ms_since(retried) >= NOTIFY_MS {
            retried = jiffies();
            for ended in retry.drain_all() {
                // Without memory the front-end's idle timeout ends it.
                let _ = due.push(ended, GFP_KERNEL);
            }
        }
        for mut ended in due {
            if stopping.load(Ordering::Relaxed) {
                let _ = retry.push(ended, GFP_KERNEL);
            } else if !notify(migrator, &ended) {
                ended.attempts += 1;
                if ended.attempts < NOTIFY_ATTEMPTS {
                    let _ = retry.push(ended, GFP_KERNEL);
                }
            }
        }
    }
    // Back into the table's queue, for the node that replaces this one
    // (a configuration change); on unload it goes with the table, and
    // the front-end's idle timeout ends the flow.
    for ended in retry {
        decap.requeue_ended(ended);
    }
}

/// Tells the front-end of `ended` that its flow ended here: whether the
/// notice was answered (even "no such flow") or possibly received. Not
/// a peer for now, or unreachable: again later.
fn notify(migrator: &Migrator<Receiver>, ended: &EndedFlow) -> bool {
    let Some(family) = Family::from_blob(ended.mapping.family) else {
        return true; // Never valid: dropped.
    };
    let front_end = NodeAddr {
        family,
        addr: ended.front_end,
    };
    migrator
        .handler()
        .peers
        .by_addr(&front_end)
        .is_some_and(|peer| {
            let notice = ended.mapping.to_bytes();
            !matches!(
                migrator.request(
                    &migrator_of(&peer),
                    Kind::FlowEnd,
                    &notice,
                    NOTIFY_TIMEOUT_MS
                ),
                Err(RequestError::Local(_) | RequestError::Unreachable(_))
            )
        })
}
