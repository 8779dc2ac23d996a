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
use crate::hold::HoldTable;
use crate::inject;
use crate::migrator::{Migrator, PeerAddr, Reply, RequestError, Service};
use crate::peers::NodeAddr;
use crate::peers::Peer;
use crate::peers::Peers;
use crate::stats::Stats;
use crate::sys::net::Net;
use crate::sys::net::NetRef;
use crate::sys::nf::Tuple;
use crate::sys::sock::Family;
use crate::sys::socket::KernelSocket;
use crate::wire;
use crate::wire::frame::Kind;
use crate::wire::FlowMapping;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A peer's answer to a migration, as the front-end acts on it.
pub(crate) enum Answer {
    /// The peer owns the connection now; it saw the request come from
    /// this node's address `via`.
    Accepted { via: [u8; 16] },
    /// The peer refused it, and said why.
    Refused(PeerReason),
    /// Nothing reached the peer.
    Unreachable,
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

/// A running node.
pub(crate) struct Node {
    /// Declared first: its workers stop before the rest goes.
    migrator: Migrator<Receiver>,
    /// Holds the flow port bound.
    _flow_port: KernelSocket,
    decap: Arc<DecapTable>,
}

impl Node {
    /// Starts the node of `net` with its migrator on `port`.
    pub(crate) fn start(net: &Net, port: u16, shared: &Shared) -> Result<Self, Failure> {
        let flow_port = port
            .checked_add(1)
            .ok_or((EINVAL, c"the migrator port must leave room for the flow port after it"))?;
        let reservation = KernelSocket::reserve(net, flow_port)
            .map_err(|e| (e, c"the flow port (migrator port + 1) is in use"))?;
        let receiver = Receiver {
            // SAFETY: The node lives in the namespace's pernet state.
            net: unsafe { NetRef::new(net) },
            peers: shared.peers.clone(),
            decap: shared.decap.clone(),
            hold: shared.hold.clone(),
            stats: shared.stats.clone(),
        };
        let migrator = Migrator::new(net, port, receiver)
            .map_err(|e| (e, c"cannot listen on the migrator port"))?;
        shared.decap.set_flow_port(flow_port);
        Ok(Self {
            migrator,
            _flow_port: reservation,
            decap: shared.decap.clone(),
        })
    }

    /// Sends the blob of a migration to `peer` and waits for its answer.
    pub(crate) fn migrate(&self, peer: &Peer, blob: &[u8], timeout_ms: u32) -> Answer {
        let to = PeerAddr {
            family: peer.addr.family.blob(),
            addr: peer.addr.addr,
            port: peer.port,
        };
        match self
            .migrator
            .request(&to, Kind::Migrate, blob, timeout_ms)
        {
            Ok((reply, via)) if reply.status == 0 => Answer::Accepted { via },
            Ok((reply, _)) => Answer::Refused(PeerReason::new(reply.reason())),
            Err(RequestError::Unreachable) => Answer::Unreachable,
            Err(_) => Answer::Unknown,
        }
    }

    /// Frames the migrator refused since it started.
    pub(crate) fn bad_frames(&self) -> u64 {
        self.migrator.bad_frames()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.decap.set_flow_port(0);
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
    fn admits(&self, family: u8, addr: &[u8; 16]) -> bool {
        node_addr(family, addr).is_some_and(|a| self.peers.by_addr(&a).is_some())
    }

    fn key(&self) -> Option<[u8; 32]> {
        self.peers.key()
    }

    fn handle(&self, from: &PeerAddr, kind: Kind, request_id: u64, payload: &[u8]) -> Reply {
        let reply = self.handle_request(from, kind, request_id, payload);
        if reply.status == 0 {
            self.stats.accepted();
        } else {
            self.stats.refused();
        }
        reply
    }
}

impl Receiver {
    fn handle_request(&self, from: &PeerAddr, kind: Kind, request_id: u64, payload: &[u8]) -> Reply {
        let Some(peer) = node_addr(from.family, &from.addr).and_then(|a| self.peers.by_addr(&a))
        else {
            return Reply::refuse(EPERM, b"not a peer of this node");
        };
        if !peer.accept_request(request_id) {
            return Reply::refuse(EALREADY, b"replayed request id");
        }
        let done = match kind {
            Kind::Migrate => self.accept(from, payload),
            Kind::FlowEnd => self.end(&peer, payload),
            _ => Err((EOPNOTSUPP, c"unknown request").into()),
        };
        match done {
            Ok(()) => Reply::ok(),
            Err(failure) => Reply::refuse_with(failure),
        }
    }

    /// Takes the connection of `blob`: its flow into the decapsulation
    /// table first (its packets may come as soon as the front-end hears
    /// of it), then into a new socket.
    fn accept(&self, from: &PeerAddr, blob: &[u8]) -> Result<(), Failure> {
        let conn = wire::decode(blob).map_err(|e| Failure::blob(EINVAL, e))?;
        let flow = conn
            .flow
            .ok_or((EINVAL, c"the blob has no flow-id mapping"))?;
        let consistent = flow.family == conn.ip.family
            && flow.family == from.family
            && flow.vip_addr == conn.ip.local_addr
            && flow.vip_port == conn.ip.local_port
            && flow.client_addr == conn.ip.remote_addr
            && flow.client_port == conn.ip.remote_port;
        if !consistent {
            return Err((EINVAL, c"the flow-id mapping does not match the connection").into());
        }
        if flow.flow_id >> 16 == 0 || flow.flow_id as u16 != self.decap.flow_port() {
            return Err((EINVAL, c"the flow id is not one toward this node's flow port").into());
        }
        let key = self
            .decap
            .insert(&from.addr, &flow)
            .map_err(|e| (e, c"the decapsulation table is full"))?;
        inject::inject(self.net.get(), blob).inspect_err(|_| {
            self.decap.remove(&key);
        })
    }
}

impl Receiver {
    /// A flow this node forwarded to `peer` ended there: forget it.
    fn end(&self, peer: &Peer, payload: &[u8]) -> Result<(), Failure> {
        let m = FlowMapping::from_bytes(payload).map_err(|e| Failure::blob(EINVAL, e))?;
        let tuple = Tuple {
            family: m.family,
            local_addr: m.vip_addr,
            local_port: m.vip_port,
            remote_addr: m.client_addr,
            remote_port: m.client_port,
        };
        if self.hold.unforward(&tuple, peer, (m.flow_id >> 16) as u16) {
            Ok(())
        } else {
            Err((ENOENT, c"no such flow forwarded to the peer").into())
        }
    }
}

fn node_addr(family: u8, addr: &[u8; 16]) -> Option<NodeAddr> {
    Some(NodeAddr {
        family: Family::from_blob(family)?,
        addr: *addr,
    })
}
