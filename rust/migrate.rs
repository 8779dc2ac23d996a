// SPDX-License-Identifier: GPL-2.0

//! Migration (front-end): move a live connection to a peer.
//!
//! The connection is captured with its flow-id mapping, the blob goes to
//! the peer's migrator, and the connection stays locked (its packets
//! held) until the peer answers. On the ack its packets are forwarded to
//! the peer from then on, the held ones first, and the local socket
//! freezes. On a refusal, or when nothing reached the peer, it is rolled
//! back: the held packets are delivered here again and the connection
//! goes on (or is reset, by the caller's policy). When the channel broke
//! after the blob went out the outcome is unknown: the peer may own the
//! connection now. It must not live on both nodes, so it is reset here.

use crate::capture;
use crate::error::Failure;
use crate::error::PeerReason;
use crate::events::{self, Event, EventKind};
use crate::node::{Answer, Cluster};
use crate::stages::{Stage, Stages};
use crate::sys::net::Net;
use crate::sys::nf::Tuple;
use crate::sys::sock::Endpoint;
use crate::sys::sock::Lookup;
use crate::sys::sock::Sock;
use crate::sys::xmit::Rewrite;
use crate::wire::FlowMapping;
use kernel::prelude::*;

/// What becomes of a connection whose migration failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// It goes on here.
    Local,
    /// It is reset (its client sees a RST).
    Reset,
}

/// A finished migration.
pub(crate) struct Outcome {
    pub(crate) flow_id: u32,
    /// Locking and capturing the connection into its blob.
    pub(crate) capture_ns: u64,
    /// From the blob going out to the peer's ack.
    pub(crate) transfer_ns: u64,
    /// Of the transfer, the peer's own time: checking the blob and
    /// injecting the connection.
    pub(crate) inject_ns: u64,
}

/// Migrates the connection `local`/`remote` of `net`, whose cluster
/// state is `cluster`, to the peer `name`.
pub(crate) fn migrate(
    net: &Net,
    cluster: &Cluster,
    local: &Endpoint,
    remote: &Endpoint,
    name: &[u8],
    timeout_ms: u32,
    on_failure: OnFailure,
) -> Result<Outcome, Failure> {
    let mut stages = Stages::default();
    stages.mark(Stage::Start);
    let node = cluster
        .node()
        .ok_or((ENOTCONN, c"this node has no cluster key: set one first"))?;
    let peer = cluster
        .peers
        .by_name(name)
        .ok_or((ENOENT, c"no peer of that name"))?;
    if peer.addr.family != local.family {
        return Err((
            EAFNOSUPPORT,
            c"the peer's address family differs from the connection's",
        )
            .into());
    }
    // Before anything goes out: a peer must not take a connection this
    // node then cannot forward.
    let room = cluster
        .forward
        .reserve()
        .map_err(|e| (e, c"the forwarding table is full: nothing was sent"))?;
    let number = peer
        .take_number()
        .map_err(|e| (e, c"every flow number toward the peer is in use"))?;
    let flow_id = (u32::from(number) << 16) | u32::from(peer.flow_port());
    let mapping = FlowMapping {
        family: local.family.blob(),
        flow_id,
        client_port: remote.port,
        vip_port: local.port,
        client_addr: remote.addr,
        vip_addr: local.addr,
    };
    let tuple = Tuple::of(local, remote);
    let mut inject_ns = 0;
    let mut ambiguous = false;
    let mut number_taken = true;
    let result = capture::capture(net, &cluster.hold, local, remote, Some(mapping), |blob| {
        stages.mark(Stage::Frozen);
        match node.migrate(&peer, blob, timeout_ms, &mut stages) {
            Answer::Accepted { via, inject_ns: ns } => {
                inject_ns = ns;
                // `forward` owns the number from here, on error too.
                number_taken = false;
                // From the address the peer saw the blob come from: the
                // peer knows this node by it.
                let to = Rewrite {
                    family: local.family,
                    src: via,
                    dst: peer.addr.addr,
                    sport: number,
                    dport: peer.flow_port(),
                };
                cluster
                    .forward
                    .forward(room, &tuple, to, peer.clone(), number)
                    .map_err(|e| {
                        // The peer has it, this node cannot forward: the
                        // outcome is as bad as an unknown one.
                        ambiguous = true;
                        (
                            e,
                            c"the peer took the connection but it cannot be forwarded",
                        )
                    })?;
                stages.mark(Stage::Forwarding);
                Ok(())
            }
            Answer::Refused(reason) => {
                Err(Failure::peer(ECONNREFUSED, c"refused by the peer", reason))
            }
            Answer::Unreachable(e) if e == EKEYREJECTED => Err((
                e,
                c"the peer's migrator has another cluster key: nothing was sent",
            )
                .into()),
            Answer::Unreachable(e) => Err(Failure::peer(
                EHOSTUNREACH,
                if e == ECONNREFUSED {
                    c"the peer's migrator is unreachable or does not take this node as a peer"
                } else {
                    c"the peer's migrator is unreachable"
                },
                PeerReason::errno(e),
            )),
            Answer::Unknown => {
                ambiguous = true;
                Err((
                    ETIMEDOUT,
                    c"no answer from the peer after the blob went out: the connection was reset",
                )
                    .into())
            }
        }
    });
    stages.mark(Stage::Done);
    if number_taken {
        peer.put_number(number);
    }
    let stats = &cluster.stats;
    let mut event = Event {
        kind: EventKind::Migrated,
        flow: Some(&mapping),
        peer: Some((peer.addr.family, &peer.addr.addr)),
        errno: None,
        rule: None,
        stages: Some(&stages),
    };
    match result {
        Ok(()) => {
            stats.migrated.inc();
            events::notify(net, &event);
            Ok(Outcome {
                flow_id,
                capture_ns: stages.between(Stage::Start, Stage::Frozen),
                transfer_ns: stages.between(Stage::Frozen, Stage::Acked),
                inject_ns,
            })
        }
        Err(failure) => {
            if ambiguous {
                stats.ambiguous.inc();
                event.kind = EventKind::Ambiguous;
            } else {
                stats.failed.inc();
                event.kind = EventKind::RolledBack;
            }
            event.errno = Some(failure.errno);
            events::notify(net, &event);
            if ambiguous || on_failure == OnFailure::Reset {
                reset(net, local, remote);
            }
            Err(failure)
        }
    }
}

/// Resets the connection `local`/`remote`, if it is still here.
fn reset(net: &Net, local: &Endpoint, remote: &Endpoint) {
    if let Some(sock) = Sock::lookup(net, Lookup::Established, local, remote) {
        sock.abort();
    }
}
