// SPDX-License-Identifier: GPL-2.0

//! A namespace as a cluster node: its migrator, its flow port, and the
//! back-end's half of a migration.
//!
//! A namespace becomes a node when it gets a cluster key: then its
//! migrator listens on the migrator port and it holds the flow port (the
//! next one) bound, so no connection of its own can ever use it.

use crate::decap::DecapTable;
use crate::error::Failure;
use crate::error::PeerReason;
use crate::events::{self, Event};
use crate::hold::HoldTable;
use crate::inject;
use crate::migrator::{Migrator, Reply, RequestError, Service};
use crate::peers::NodeAddr;
use crate::peers::Peer;
use crate::peers::Peers;
use crate::stages::{Stage, Stages};
use crate::stats::Stats;
use crate::sys::net::NetRef;
use crate::sys::nf::Tuple;
use crate::sys::sock::Endpoint;
use crate::sys::sock::Family;
use crate::sys::socket::KernelSocket;
use crate::sys::wq::OwnedQueue;
use crate::wire;
use crate::wire::frame::Kind;
use crate::wire::frame::MAX_REASON_LEN;
use crate::wire::FlowMapping;
use core::fmt::Write;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::time::delay::fsleep;
use kernel::time::Delta;

/// How an ack's note begins: the nanoseconds the back-end took to check
/// the blob and inject the connection follow.
const INJECTED: &str = "injected in ns ";

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

/// The state a node shares with its migrator's workers.
pub(crate) struct Shared {
    pub(crate) peers: Arc<Peers>,
    pub(crate) decap: Arc<DecapTable>,
    pub(crate) hold: Arc<HoldTable>,
    pub(crate) stats: Arc<Stats>,
}

/// How often a back-end tells front-ends about flows that ended.
const NOTIFY_MS: i64 = 500;
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
    decap: Arc<DecapTable>,
}

impl Node {
    /// Starts the node of `net` with its migrator on `port`.
    pub(crate) fn start(net_ref: NetRef, port: u16, shared: &Shared) -> Result<Self, Failure> {
        let net = net_ref.get();
        let flow_port = port.checked_add(1).ok_or((
            EINVAL,
            c"the migrator port must leave room for the flow port after it",
        ))?;
        let reservation = KernelSocket::reserve(net, flow_port)
            .map_err(|e| (e, c"the flow port (migrator port + 1) is in use"))?;
        let receiver = Receiver {
            net: net_ref,
            peers: shared.peers.clone(),
            decap: shared.decap.clone(),
            hold: shared.hold.clone(),
            stats: shared.stats.clone(),
        };
        let migrator = Migrator::new(net, port, receiver)
            .map_err(|e| (e, c"cannot listen on the migrator port"))?;
        let migrator = Arc::new(migrator, GFP_KERNEL).map_err(|_| (ENOMEM, c"out of memory"))?;
        let stopping =
            Arc::new(AtomicBool::new(false), GFP_KERNEL).map_err(|_| (ENOMEM, c"out of memory"))?;
        let notifier = OwnedQueue::new().map_err(|e| (e, c"cannot start the node's notifier"))?;
        {
            let (migrator, stopping) = (migrator.clone(), stopping.clone());
            notifier
                .spawn(move |_| notify_loop(&migrator, &stopping))
                .map_err(|e| (e, c"cannot start the node's notifier"))?;
        }
        shared.decap.set_flow_port(flow_port);
        Ok(Self {
            _notifier: notifier,
            stopping,
            migrator,
            _flow_port: reservation,
            decap: shared.decap.clone(),
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
        let to = Endpoint {
            family: peer.addr.family,
            addr: peer.addr.addr,
            port: peer.port,
        };
        match self
            .migrator
            .request_via(&to, Kind::Migrate, blob, timeout_ms, stages)
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
        !self.migrator.is_down(&Endpoint {
            family: peer.addr.family,
            addr: peer.addr.addr,
            port: peer.port,
        })
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
        self.decap.set_flow_port(0);
        // The notifier sees it within NOTIFY_MS (plus a request's
        // timeout); `notifier` then drops first and waits for it.
        self.stopping.store(true, Ordering::Relaxed);
    }
}

/// The back-end's notifier: tells each front-end which of its flows
/// ended here, until the node stops.
fn notify_loop(migrator: &Migrator<Receiver>, stopping: &AtomicBool) {
    let receiver = migrator.service();
    while !stopping.load(Ordering::Relaxed) {
        fsleep(Delta::from_millis(NOTIFY_MS));
        for mut ended in receiver.decap.take_ended() {
            if stopping.load(Ordering::Relaxed) {
                // Back into the table's queue, for the node that replaces
                // this one (a configuration change); on unload it goes
                // with the table, and the front-end's idle timeout ends
                // the flow.
                receiver.decap.requeue_ended(ended);
                continue;
            }
            let Some(family) = Family::from_blob(ended.mapping.family) else {
                continue;
            };
            let front_end = NodeAddr {
                family,
                addr: ended.front_end,
            };
            let sent = receiver.peers.by_addr(&front_end).is_some_and(|peer| {
                let to = Endpoint {
                    family,
                    addr: peer.addr.addr,
                    port: peer.port,
                };
                let notice = ended.mapping.to_bytes();
                // Answered (even "no such flow"), or possibly received.
                !matches!(
                    migrator.request(&to, Kind::FlowEnd, &notice, NOTIFY_TIMEOUT_MS),
                    Err(RequestError::Local(_) | RequestError::Unreachable(_))
                )
            });
            // Not a peer for now, or unreachable: again later. A notice
            // never delivered costs the front-end an idle timeout.
            ended.attempts += 1;
            if !sent && ended.attempts < NOTIFY_ATTEMPTS {
                receiver.decap.requeue_ended(ended);
            }
        }
    }
}

/// The back-end's half: what the migrator hands on from peers.
struct Receiver {
    net: NetRef,
    peers: Arc<Peers>,
    decap: Arc<DecapTable>,
    hold: Arc<HoldTable>,
    stats: Arc<Stats>,
}

impl Service for Receiver {
    fn admits(&self, family: Family, addr: &[u8; 16]) -> bool {
        let addr = NodeAddr {
            family,
            addr: *addr,
        };
        self.peers.by_addr(&addr).is_some()
    }

    fn key(&self) -> Option<[u8; 32]> {
        self.peers.key()
    }

    fn handle(&self, from: &Endpoint, kind: Kind, request_id: u64, payload: &[u8]) -> Reply {
        let reply = self.handle_request(from, kind, request_id, payload);
        if kind == Kind::Migrate {
            if reply.is_ok() {
                self.stats.accepted();
            } else {
                self.stats.refused();
            }
        }
        reply
    }
}

impl Receiver {
    fn handle_request(
        &self,
        from: &Endpoint,
        kind: Kind,
        request_id: u64,
        payload: &[u8],
    ) -> Reply {
        let addr = NodeAddr {
            family: from.family,
            addr: from.addr,
        };
        let Some(peer) = self.peers.by_addr(&addr) else {
            return refusal(EPERM, b"not a peer of this node");
        };
        if !peer.accept_request(request_id) {
            return refusal(EALREADY, b"replayed request id");
        }
        let mut stages = Stages::default();
        stages.mark(Stage::Received);
        let done = match kind {
            Kind::Migrate => self
                .accept(from, payload)
                .inspect(|_| stages.mark(Stage::Injected)),
            Kind::FlowEnd => self.end(&peer, payload),
            _ => Err((EOPNOTSUPP, c"unknown request").into()),
        };
        let event_kind = match (kind, &done) {
            (Kind::Migrate, Ok(_)) => Some(events::Kind::Accepted),
            (Kind::Migrate, Err(_)) => Some(events::Kind::Refused),
            (Kind::FlowEnd, Ok(_)) => Some(events::Kind::FlowEnded),
            _ => None,
        };
        if let Some(event_kind) = event_kind {
            let event = Event {
                kind: event_kind,
                flow: done.as_ref().ok(),
                peer: Some((from.family, &from.addr)),
                errno: done.as_ref().err().map(|f| f.errno),
                rule: None,
                stages: (kind == Kind::Migrate).then_some(&stages),
            };
            events::notify(self.net.get(), &event);
        }
        match done {
            // The front-end reports how long the infusion took here.
            Ok(_) if kind == Kind::Migrate => {
                let mut note = ReasonText {
                    buf: [0; MAX_REASON_LEN],
                    len: 0,
                };
                let ns = stages.between(Stage::Received, Stage::Injected);
                let _ = write!(note, "{INJECTED}{ns}");
                Reply::ok_with(note.as_bytes())
            }
            Ok(_) => Reply::ok(),
            Err(failure) => refusal_for(&failure),
        }
    }

    /// Takes the connection of `blob`: its flow into the decapsulation
    /// table first (its packets may come as soon as the front-end hears
    /// of it), then into a new socket.
    fn accept(&self, from: &Endpoint, blob: &[u8]) -> Result<FlowMapping, Failure> {
        let conn = wire::decode(blob).map_err(|e| Failure::blob(EINVAL, e))?;
        let flow = conn
            .flow
            .ok_or((EINVAL, c"the blob has no flow-id mapping"))?;
        let consistent = flow.family == conn.ip.family
            && flow.family == from.family.blob()
            && flow.vip_addr == conn.ip.local_addr
            && flow.vip_port == conn.ip.local_port
            && flow.client_addr == conn.ip.remote_addr
            && flow.client_port == conn.ip.remote_port;
        if !consistent {
            return Err((EINVAL, c"the flow-id mapping does not match the connection").into());
        }
        if flow.flow_id >> 16 == 0 || flow.flow_id as u16 != self.decap.flow_port() {
            return Err((
                EINVAL,
                c"the flow id is not one toward this node's flow port",
            )
                .into());
        }
        let key = self
            .decap
            .insert(&from.addr, &flow)
            .map_err(|e| (e, c"the decapsulation table is full"))?;
        inject::inject(self.net.get(), blob, &self.hold).inspect_err(|_| {
            self.decap.remove(&key);
        })?;
        Ok(flow)
    }
}

impl Receiver {
    /// A flow this node forwarded to `peer` ended there: forget it.
    fn end(&self, peer: &Peer, payload: &[u8]) -> Result<FlowMapping, Failure> {
        let m = FlowMapping::from_bytes(payload).map_err(|e| Failure::blob(EINVAL, e))?;
        let tuple = Tuple {
            family: m.family,
            local_addr: m.vip_addr,
            local_port: m.vip_port,
            remote_addr: m.client_addr,
            remote_port: m.client_port,
        };
        if self.hold.unforward(&tuple, peer, (m.flow_id >> 16) as u16) {
            Ok(m)
        } else {
            Err((ENOENT, c"no such flow forwarded to the peer").into())
        }
    }
}

/// The infusion time an ack's note says; 0 if it says none.
fn inject_ns(note: &[u8]) -> u64 {
    let digits = note.strip_prefix(INJECTED.as_bytes()).unwrap_or(&[]);
    digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

fn refusal(errno: Error, reason: &[u8]) -> Reply {
    Reply::error(errno.to_errno().abs(), reason)
}

/// The refusal telling a peer why `failure` happened: its message, and
/// the decoder's reason for a refused blob.
fn refusal_for(failure: &Failure) -> Reply {
    let mut text = ReasonText {
        buf: [0; MAX_REASON_LEN],
        len: 0,
    };
    let _ = match &failure.blob {
        Some(reason) => write!(text, "{}: {}", failure.msg.to_str().unwrap_or("?"), reason),
        None => write!(text, "{}", failure.msg.to_str().unwrap_or("?")),
    };
    refusal(failure.errno, text.as_bytes())
}

/// A refusal's reason, cut at what a reply carries.
struct ReasonText {
    buf: [u8; MAX_REASON_LEN],
    len: usize,
}

impl ReasonText {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Write for ReasonText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
