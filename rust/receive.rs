// SPDX-License-Identifier: GPL-2.0

//! Receive (back-end): what a node's migrator hands on from its peers.
//!
//! A MIGRATE request carries a blob: it is admitted (from a peer, with a
//! fresh request id), decoded once, checked to be at an address and port
//! this node serves the peer and to name no loopback or link-local
//! address and no client address of this node's, its flow put into the
//! decapsulation table (the front-end forwards the flow's packets as soon
//! as it hears the ack), and its connection injected into the local
//! listener. The ack's note says how long that took. A FLOW_END request
//! tells a front-end that a flow it forwarded ended on its back-end.

use crate::decap::DecapTable;
use crate::error::{Failure, Text};
use crate::events::{self, Event, EventKind};
use crate::forward::ForwardTable;
use crate::inject;
use crate::migrator::{Handler, Reply};
use crate::peers::NodeAddr;
use crate::peers::Peer;
use crate::peers::Peers;
use crate::stages::{Stage, Stages};
use crate::stats::Stats;
use crate::sys::net::NetRef;
use crate::sys::nf::Tuple;
use crate::sys::sock::addr_is_local;
use crate::sys::sock::Endpoint;
use crate::sys::sock::Family;
use crate::wire;
use crate::wire::frame::Kind;
use crate::wire::frame::MAX_REASON_LEN;
use crate::wire::FlowMapping;
use core::fmt::Write;
use kernel::prelude::*;
use kernel::sync::Arc;

/// How an ack's note begins: the nanoseconds the back-end took to check
/// the blob and inject the connection follow.
const INJECTED: &str = "injected in ns ";

/// The back-end's half of a node: the migrator's [`Handler`].
pub(crate) struct Receiver {
    pub(crate) net: NetRef,
    pub(crate) peers: Arc<Peers>,
    pub(crate) decap: Arc<DecapTable>,
    pub(crate) forward: Arc<ForwardTable>,
    pub(crate) stats: Arc<Stats>,
}

impl Handler for Receiver {
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
                self.stats.taken.inc();
            } else {
                self.stats.refused.inc();
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
                .take(&peer, from, payload)
                .inspect(|_| stages.mark(Stage::Injected)),
            Kind::FlowEnd => self.end(&peer, payload),
            _ => Err((EOPNOTSUPP, c"unknown request").into()),
        };
        let event_kind = match (kind, &done) {
            (Kind::Migrate, Ok(_)) => Some(EventKind::Accepted),
            (Kind::Migrate, Err(_)) => Some(EventKind::Refused),
            (Kind::FlowEnd, Ok(_)) => Some(EventKind::FlowEnded),
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
            // The front-end reports how long the injection took here.
            Ok(_) if kind == Kind::Migrate => {
                let mut note = Text::<MAX_REASON_LEN>::new();
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
    fn take(&self, peer: &Peer, from: &Endpoint, blob: &[u8]) -> Result<FlowMapping, Failure> {
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
        // What the peer is served first: one served nothing learns
        // nothing more of this node from the refusals below.
        if !peer.serves(flow.family, &flow.vip_addr, flow.vip_port) {
            return Err((EPERM, c"this node serves the peer no such address and port").into());
        }
        // What only this host or its link reaches is not a peer's to hand
        // over: a loopback-only service, or one that trusts this host's
        // own addresses, would take it "from" there.
        flow.check_routable().map_err(|reason| Failure {
            errno: EPERM,
            msg: c"not from a peer",
            blob: Some(reason),
            peer: None,
        })?;
        let net = self.net.get();
        if addr_is_local(net, from.family, &flow.client_addr) {
            return Err((EPERM, c"not from a peer: the client address is this node's").into());
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
        inject::inject(net, &conn, &self.forward, None).inspect_err(|_| {
            self.decap.remove(&key);
        })?;
        self.decap.injected(&key);
        Ok(flow)
    }

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
        if self.forward.end(&tuple, peer, (m.flow_id >> 16) as u16) {
            Ok(m)
        } else {
            Err((ENOENT, c"no such flow forwarded to the peer").into())
        }
    }
}

/// How a peer of the release before says it: read for a rolling upgrade.
const INJECTED_BEFORE: &str = "infused in ns ";

/// The injection time an ack's note says; 0 if it says none.
pub(crate) fn inject_ns(note: &[u8]) -> u64 {
    let digits = note
        .strip_prefix(INJECTED.as_bytes())
        .or_else(|| note.strip_prefix(INJECTED_BEFORE.as_bytes()))
        .unwrap_or(&[]);
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
    let mut text = Text::<MAX_REASON_LEN>::new();
    let _ = match &failure.blob {
        Some(reason) => write!(text, "{}: {}", failure.msg.to_str().unwrap_or("?"), reason),
        None => write!(text, "{}", failure.msg.to_str().unwrap_or("?")),
    };
    refusal(failure.errno, text.as_bytes())
}
