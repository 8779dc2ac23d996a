// SPDX-License-Identifier: GPL-2.0

//! Handlers of the `tcpmig` generic netlink family
//! (`Documentation/netlink/specs/tcpmig.yaml`).
//!
//! Every command acts on the namespace of the requesting socket.

use crate::blob::Reason;
use crate::capture;
use crate::error::Failure;
use crate::inject;
use crate::migrate::{self, OnFailure};
use crate::netns::NetState;
use crate::peers::NodeAddr;
use crate::stats::FlowInfo;
use crate::sys::file::File;
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Attrs, Builder, Dump, Message, Request};
use crate::sys::net::Net;
use crate::sys::sock::{socket_endpoints, Endpoint, Family};
use crate::wire;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_status_get_doit => status_get);
genl_doit!(tcpmig_nl_config_set_doit => config_set);
genl_doit!(tcpmig_nl_conn_capture_doit => conn_capture);
genl_doit!(tcpmig_nl_conn_inject_doit => conn_inject);
genl_doit!(tcpmig_nl_peer_add_doit => peer_add);
genl_doit!(tcpmig_nl_peer_del_doit => peer_del);
genl_dumpit!(tcpmig_nl_peer_get_dumpit => peer_get);
genl_doit!(tcpmig_nl_conn_migrate_doit => conn_migrate);
genl_dumpit!(tcpmig_nl_flow_get_dumpit => flow_get);

/// Puts the status of `net` into `msg`.
fn fill_status(msg: &mut Message, net: &Net) -> Result {
    let state = NetState::of(net).ok_or(ENODEV)?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_NETNS_COOKIE, net.cookie())?;
    msg.put_u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT, state.migrator_port())?;
    msg.put_u32(
        uapi::TCPMIG_A_STATUS_FROZEN_FLOWS,
        state.hold().frozen_flows(),
    )?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_HELD_PACKETS,
        state.hold().held_packets(),
    )?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_DROPPED_PACKETS,
        state.hold().dropped_packets(),
    )?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_HELD_BYTES, state.hold().held_bytes())?;
    let node = state.node();
    msg.put_u16(uapi::TCPMIG_A_STATUS_FLOW_PORT, state.decap().flow_port())?;
    msg.put_u32(uapi::TCPMIG_A_STATUS_PEERS, state.peers().count())?;
    msg.put_u8(
        uapi::TCPMIG_A_STATUS_KEY_SET,
        state.peers().key().is_some().into(),
    )?;
    let [migrated, failed, ambiguous, accepted, refused] = state.stats().snapshot();
    msg.put_u64(uapi::TCPMIG_A_STATUS_MIGRATIONS_OK, migrated)?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_MIGRATIONS_FAILED, failed)?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_MIGRATIONS_AMBIGUOUS, ambiguous)?;
    msg.put_u32(
        uapi::TCPMIG_A_STATUS_FORWARD_FLOWS,
        state.hold().forward_flows(),
    )?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_FORWARDED_PACKETS,
        state.hold().forwarded_packets(),
    )?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_FORWARD_ERRORS,
        state.hold().forward_errors(),
    )?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_ACCEPTED_MIGRATIONS, accepted)?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_REFUSED_MIGRATIONS, refused)?;
    msg.put_u32(uapi::TCPMIG_A_STATUS_DECAP_FLOWS, state.decap().flows())?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_DECAPSULATED_PACKETS,
        state.decap().decapsulated(),
    )?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_DECAP_DROPPED, state.decap().dropped())?;
    msg.put_u64(
        uapi::TCPMIG_A_STATUS_BAD_FRAMES,
        node.map_or(0, |node| node.bad_frames()),
    )
}

fn status_get(request: &Request<'_>) -> Result {
    let mut msg = Message::reply(request, uapi::TCPMIG_CMD_STATUS_GET)?;
    fill_status(&mut msg, request.net())?;
    msg.send_reply(request)
}

fn config_set(request: &Request<'_>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    let attrs = request.attrs();
    // The policy already refused a port of 0 and a key of the wrong size.
    let port = attrs.u16(uapi::TCPMIG_A_CONFIG_MIGRATOR_PORT);
    let key = attrs
        .bytes(uapi::TCPMIG_A_CONFIG_CLUSTER_KEY)
        .and_then(|k| <[u8; 32]>::try_from(k).ok());
    if port.is_none() && key.is_none() {
        request.set_error_message(c"nothing to set");
        return Err(EINVAL);
    }
    state.configure(key, port).map_err(|f| fail(request, f))
}

fn peer_add(request: &Request<'_>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    let attrs = request.attrs();
    (|| {
        let name = attrs
            .string(uapi::TCPMIG_A_PEER_NAME)
            .filter(|n| !n.is_empty())
            .ok_or((EINVAL, c"missing peer name"))?;
        let bytes = attrs
            .bytes(uapi::TCPMIG_A_PEER_ADDR)
            .ok_or((EINVAL, c"missing peer address"))?;
        let family =
            Family::from_addr_len(bytes.len()).ok_or((EINVAL, c"an address is 4 or 16 bytes"))?;
        let mut addr = NodeAddr {
            family,
            addr: [0; 16],
        };
        addr.addr[..bytes.len()].copy_from_slice(bytes);
        let port = attrs
            .u16(uapi::TCPMIG_A_PEER_PORT)
            .unwrap_or(state.migrator_port());
        if port == u16::MAX {
            return Err((
                EINVAL,
                c"the peer's flow port (its migrator port + 1) must be a port",
            )
                .into());
        }
        state.peers().add(name, addr, port).map_err(|e| match e {
            e if e == EEXIST => (e, c"a peer with this name or address exists").into(),
            e if e == ENOSPC => (e, c"too many peers").into(),
            e => Failure::from((e, c"cannot add the peer")),
        })
    })()
    .map_err(|f| fail(request, f))
}

fn peer_del(request: &Request<'_>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    let attrs = request.attrs();
    let name = attrs
        .string(uapi::TCPMIG_A_PEER_NAME)
        .ok_or_else(|| fail(request, (EINVAL, c"missing peer name").into()))?;
    state.peers().remove(name).map_err(|e| {
        let msg = if e == EBUSY {
            c"flows are forwarded to the peer: it goes once they end"
        } else {
            c"no peer of that name"
        };
        fail(request, (e, msg).into())
    })
}

fn peer_get(dump: &mut Dump<'_>) -> Result {
    loop {
        let state = NetState::of(dump.net()).ok_or(ENODEV)?;
        let Some(peer) = state.peers().nth(dump.cursor()) else {
            break;
        };
        let added = dump.entry(uapi::TCPMIG_CMD_PEER_GET, |msg| {
            msg.put_string(uapi::TCPMIG_A_PEER_NAME, peer.name())?;
            msg.put_bytes(uapi::TCPMIG_A_PEER_ADDR, peer.addr.bytes())?;
            msg.put_u16(uapi::TCPMIG_A_PEER_PORT, peer.port)?;
            let up = state.node().is_some_and(|node| node.peer_up(&peer));
            msg.put_u8(uapi::TCPMIG_A_PEER_UP, up.into())?;
            msg.put_u32(uapi::TCPMIG_A_PEER_FLOWS, peer.live_flows())?;
            let d = &peer.dispatch;
            let pad = uapi::TCPMIG_A_PEER_PAD;
            let load =
                |v: &core::sync::atomic::AtomicU64| v.load(core::sync::atomic::Ordering::Relaxed);
            msg.put_u64_padded(uapi::TCPMIG_A_PEER_DISPATCHED, load(&d.connections), pad)?;
            msg.put_u64_padded(uapi::TCPMIG_A_PEER_DISPATCHED_BYTES, load(&d.bytes), pad)?;
            msg.put_u64_padded(
                uapi::TCPMIG_A_PEER_DISPATCH_FAILURES,
                load(&d.failures),
                pad,
            )
        })?;
        if !added {
            break;
        }
    }
    Ok(())
}

/// Lists the forwarded flows, then the decapsulated ones.
fn flow_get(dump: &mut Dump<'_>) -> Result {
    let skip = dump.cursor();
    let state = NetState::of(dump.net()).ok_or(ENODEV)?;
    // Whether the message has room for more, or what went wrong.
    let mut outcome = Ok(true);
    let mut put = |flow: &FlowInfo| {
        if matches!(outcome, Ok(true)) {
            outcome = dump.entry(uapi::TCPMIG_CMD_FLOW_GET, |msg| fill_flow(msg, flow));
        }
        matches!(outcome, Ok(true))
    };
    let forwards = state.hold().visit_forwards(0, |_| true);
    state.hold().visit_forwards(skip, &mut put);
    // What the skip did not use up falls on the decapsulated flows.
    state.decap().visit(skip.saturating_sub(forwards), &mut put);
    outcome.map(|_| ())
}

fn fill_flow(msg: &mut Builder, flow: &FlowInfo) -> Result {
    let len = if flow.family == Family::V4 { 4 } else { 16 };
    let pad = uapi::TCPMIG_A_FLOW_PAD;
    msg.put_u8(uapi::TCPMIG_A_FLOW_KIND, flow.kind)?;
    msg.put_bytes(uapi::TCPMIG_A_FLOW_CLIENT_ADDR, &flow.client[..len])?;
    msg.put_u16(uapi::TCPMIG_A_FLOW_CLIENT_PORT, flow.client_port)?;
    msg.put_bytes(uapi::TCPMIG_A_FLOW_VIP_ADDR, &flow.vip[..len])?;
    msg.put_u16(uapi::TCPMIG_A_FLOW_VIP_PORT, flow.vip_port)?;
    msg.put_bytes(uapi::TCPMIG_A_FLOW_PEER_ADDR, &flow.peer[..len])?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_FLOW_ID, flow.flow_id)?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_AGE_MS, flow.age_ms)?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_IDLE_MS, flow.idle_ms)?;
    msg.put_u64_padded(uapi::TCPMIG_A_FLOW_PACKETS, flow.packets, pad)?;
    if flow.first_forwarded != 0 {
        msg.put_u64_padded(
            uapi::TCPMIG_A_FLOW_FIRST_FORWARDED,
            flow.first_forwarded,
            pad,
        )?;
    }
    Ok(())
}

/// The default wait for a peer's answer.
const DEFAULT_TIMEOUT_MS: u32 = 2000;

fn conn_migrate(request: &Request<'_>) -> Result {
    let attrs = request.attrs();
    let (local, remote) = match attrs.u32(uapi::TCPMIG_A_CONN_FD) {
        Some(fd) => socket_endpoints(request.net(), fd).map_err(|e| {
            let msg = match e {
                e if e == EXDEV => c"fd is a socket of another network namespace",
                e if e == ENOTCONN => c"fd is not an established TCP connection",
                _ => c"fd is not a TCP socket of this process",
            };
            fail(request, (e, msg).into())
        })?,
        None => conn_endpoints(&attrs).map_err(|f| fail(request, f))?,
    };
    let name = attrs
        .string(uapi::TCPMIG_A_CONN_PEER)
        .ok_or_else(|| fail(request, (EINVAL, c"missing peer").into()))?;
    let timeout = attrs
        .u32(uapi::TCPMIG_A_CONN_TIMEOUT_MS)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    let on_failure = match attrs.u8(uapi::TCPMIG_A_CONN_ON_FAILURE) {
        Some(v) if v == uapi::tcpmig_on_failure_TCPMIG_ON_FAILURE_RESET as u8 => OnFailure::Reset,
        _ => OnFailure::Local,
    };
    let outcome = migrate::migrate(request.net(), &local, &remote, name, timeout, on_failure)
        .map_err(|f| fail(request, f))?;
    let mut msg = Message::reply(request, uapi::TCPMIG_CMD_CONN_MIGRATE)?;
    msg.put_u32(uapi::TCPMIG_A_CONN_FLOW_ID, outcome.flow_id)?;
    let pad = uapi::TCPMIG_A_CONN_PAD;
    msg.put_u64_padded(uapi::TCPMIG_A_CONN_CAPTURE_NS, outcome.capture_ns, pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_CONN_TRANSFER_NS, outcome.transfer_ns, pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_CONN_INJECT_NS, outcome.inject_ns, pad)?;
    msg.send_reply(request)
}

/// Reports a failure to the requester: its message in extack (with the
/// decoder's reason for a refused blob), its errno.
pub(crate) fn fail(request: &Request<'_>, failure: Failure) -> Error {
    match (failure.blob, failure.peer) {
        (Some(reason), _) => request.set_error_detail(failure.msg, &Reason(reason)),
        (None, Some(reason)) => request.set_error_detail(failure.msg, &*reason),
        (None, None) => request.set_error_message(failure.msg),
    }
    failure.errno
}

/// One end of the connection named by an address and a port attribute.
fn endpoint(attrs: &Attrs<'_>, addr: u32, port: u32) -> Result<Endpoint, Failure> {
    let bytes = attrs.bytes(addr).ok_or((EINVAL, c"missing address"))?;
    let port = attrs.be16(port).ok_or((EINVAL, c"missing port"))?;
    let family =
        Family::from_addr_len(bytes.len()).ok_or((EINVAL, c"an address is 4 or 16 bytes"))?;
    let mut ep = Endpoint {
        family,
        addr: [0; 16],
        port,
    };
    ep.addr[..bytes.len()].copy_from_slice(bytes);
    Ok(ep)
}

/// Both ends of the connection a request names.
fn conn_endpoints(attrs: &Attrs<'_>) -> Result<(Endpoint, Endpoint), Failure> {
    let local = endpoint(
        attrs,
        uapi::TCPMIG_A_CONN_LOCAL_ADDR,
        uapi::TCPMIG_A_CONN_LOCAL_PORT,
    )?;
    let remote = endpoint(
        attrs,
        uapi::TCPMIG_A_CONN_REMOTE_ADDR,
        uapi::TCPMIG_A_CONN_REMOTE_PORT,
    )?;
    if local.family != remote.family {
        return Err((EINVAL, c"local and remote addresses of different families").into());
    }
    Ok((local, remote))
}

fn conn_capture(request: &Request<'_>) -> Result {
    let attrs = request.attrs();
    let (local, remote) = conn_endpoints(&attrs).map_err(|f| fail(request, f))?;
    let file = match attrs.u32(uapi::TCPMIG_A_CONN_BLOB_FD) {
        Some(fd) => Some(File::get(fd).map_err(|e| {
            fail(
                request,
                (e, c"blob-fd is not a memfd or tmpfs file of this process").into(),
            )
        })?),
        None => None,
    };
    // The blob goes out before the connection freezes: if it cannot, the
    // connection goes on where it is.
    capture::capture(request.net(), &local, &remote, None, |blob| {
        let mut msg = Message::reply(request, uapi::TCPMIG_CMD_CONN_CAPTURE)
            .map_err(|e| (e, c"out of memory"))?;
        match &file {
            Some(file) => {
                file.write_all(blob)
                    .map_err(|e| (e, c"cannot write the blob into blob-fd"))?;
                let len = u32::try_from(blob.len()).map_err(|_| (EMSGSIZE, c"blob too large"))?;
                msg.put_u32(uapi::TCPMIG_A_CONN_BLOB_LEN, len)
                    .map_err(|e| (e, c"cannot send the blob's length"))?;
            }
            None if blob.len() > MAX_INLINE_BLOB => {
                return Err((
                    EMSGSIZE,
                    c"the blob is larger than an attribute: use blob-fd",
                )
                    .into());
            }
            None => {
                msg = Message::reply_sized(request, uapi::TCPMIG_CMD_CONN_CAPTURE, blob.len() + 64)
                    .map_err(|e| (e, c"out of memory"))?;
                msg.put_bytes(uapi::TCPMIG_A_CONN_BLOB, blob)
                    .map_err(|e| (e, c"cannot send the blob"))?;
            }
        }
        msg.send_reply(request)
            .map_err(|e| (e, c"cannot send the reply").into())
    })
    .map_err(|f| fail(request, f))
}

/// The largest blob a capture returns inline: a netlink attribute's
/// length is 16 bits.
const MAX_INLINE_BLOB: usize = 65_000;

fn conn_inject(request: &Request<'_>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    let attrs = request.attrs();
    if let Some(fd) = attrs.u32(uapi::TCPMIG_A_CONN_BLOB_FD) {
        let blob = File::get(fd)
            .and_then(|file| file.read_all(wire::MAX_BLOB_LEN))
            .map_err(|e| fail(request, (e, c"cannot read the blob from blob-fd").into()))?;
        return inject::inject(request.net(), &blob, state.hold()).map_err(|f| fail(request, f));
    }
    let blob = attrs
        .bytes(uapi::TCPMIG_A_CONN_BLOB)
        .ok_or_else(|| fail(request, (EINVAL, c"missing blob (or blob-fd)").into()))?;
    inject::inject(request.net(), blob, state.hold()).map_err(|f| fail(request, f))
}

#[kunit_tests(tcpmig_netlink)]
mod tests {
    use super::*;
    use crate::sys::params;

    #[test]
    fn new_namespace_state_takes_the_module_parameter() -> Result {
        let state = NetState::of(Net::init_net()).ok_or(ENODEV)?;
        assert_eq!(state.migrator_port(), params::migrator_port());
        Ok(())
    }

    #[test]
    fn status_message_carries_cookie_and_port() -> Result {
        let net = Net::init_net();
        let mut msg = Message::new(uapi::TCPMIG_CMD_STATUS_GET)?;
        fill_status(&mut msg, net)?;
        let (cookie, port) = msg.parse(uapi::TCPMIG_A_STATUS_MAX, |attrs| {
            (
                attrs.u64(uapi::TCPMIG_A_STATUS_NETNS_COOKIE),
                attrs.u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT),
            )
        })?;
        let state = NetState::of(net).ok_or(ENODEV)?;
        assert_eq!(cookie, Some(net.cookie()));
        assert_eq!(port, Some(state.migrator_port()));
        assert!(net.cookie() != 0);
        Ok(())
    }
}
