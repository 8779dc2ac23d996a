// SPDX-License-Identifier: GPL-2.0

//! `peer-add`, `peer-del` and `peer-get`: the nodes this one migrates to
//! and takes migrations from.

use super::{addr, dump_state, run};
use crate::error::Failure;
use crate::peers::{parse_served, served_bytes, NodeAddr};
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Dump, Request};
use kernel::prelude::*;

genl_doit!(tcpmig_nl_peer_add_doit => peer_add);
genl_doit!(tcpmig_nl_peer_del_doit => peer_del);
genl_dumpit!(tcpmig_nl_peer_get_dumpit => peer_get);

fn peer_add(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let name = attrs
            .string(uapi::TCPMIG_A_PEER_NAME)
            .filter(|n| !n.is_empty())
            .ok_or((EINVAL, c"missing peer name"))?;
        let (family, addr) = addr(&attrs, uapi::TCPMIG_A_PEER_ADDR, c"missing peer address")?;
        let cluster = state.cluster();
        let port = attrs
            .u16(uapi::TCPMIG_A_PEER_PORT)
            .unwrap_or(cluster.migrator_port());
        if port == u16::MAX {
            return Err((
                EINVAL,
                c"the peer's flow port (its migrator port + 1) must be a port",
            )
                .into());
        }
        let addr = NodeAddr { family, addr };
        let serve = parse_served(
            attrs.bytes(uapi::TCPMIG_A_PEER_SERVE).unwrap_or_default(),
            family,
        )?;
        cluster
            .peers
            .add(name, addr, port, serve)
            .map_err(|e| match e {
                e if e == EEXIST => (e, c"a peer with this name or address exists").into(),
                e if e == ENOSPC => (e, c"too many peers").into(),
                e => Failure::from((e, c"cannot add the peer")),
            })
    })
}

fn peer_del(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let name = attrs
            .string(uapi::TCPMIG_A_PEER_NAME)
            .ok_or((EINVAL, c"missing peer name"))?;
        state.cluster().peers.remove(name).map_err(|e| {
            let msg = if e == EBUSY {
                c"flows are forwarded to the peer: it goes once they end"
            } else {
                c"no peer of that name"
            };
            (e, msg).into()
        })
    })
}

fn peer_get(dump: &mut Dump<'_>) -> Result {
    let cluster = dump_state(dump)?.cluster();
    let node = cluster.node();
    while let Some(peer) = cluster.peers.nth(dump.cursor()) {
        let added = dump.entry(uapi::TCPMIG_CMD_PEER_GET, |msg| {
            let pad = uapi::TCPMIG_A_PEER_PAD;
            let up = node.as_ref().is_some_and(|node| node.peer_up(&peer));
            let d = &peer.dispatch;
            msg.put_string(uapi::TCPMIG_A_PEER_NAME, peer.name())?;
            msg.put_bytes(uapi::TCPMIG_A_PEER_ADDR, peer.addr.bytes())?;
            msg.put_u16(uapi::TCPMIG_A_PEER_PORT, peer.port)?;
            msg.put_u8(uapi::TCPMIG_A_PEER_UP, up.into())?;
            msg.put_u32(uapi::TCPMIG_A_PEER_FLOWS, peer.live_flows())?;
            msg.put_u64_padded(uapi::TCPMIG_A_PEER_DISPATCHED, d.connections.get(), pad)?;
            msg.put_u64_padded(uapi::TCPMIG_A_PEER_DISPATCHED_BYTES, d.bytes.get(), pad)?;
            let failures = d.failures.get();
            msg.put_u64_padded(uapi::TCPMIG_A_PEER_DISPATCH_FAILURES, failures, pad)?;
            if !peer.serve.is_empty() {
                msg.put_bytes(uapi::TCPMIG_A_PEER_SERVE, &served_bytes(&peer.serve)?)?;
            }
            Ok(())
        })?;
        if !added {
            break;
        }
    }
    Ok(())
}
