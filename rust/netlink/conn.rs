// SPDX-License-Identifier: GPL-2.0

//! `conn-migrate`, `conn-capture` and `conn-inject`: one connection moved
//! to a peer, or captured into a blob and injected from one.

use super::{addr, run};
use crate::blob;
use crate::capture;
use crate::error::Failure;
use crate::inject;
use crate::migrate::{self, OnFailure};
use crate::sys::file::File;
use crate::sys::genl::{genl_doit, uapi, Attrs, Message, Request};
use crate::sys::sock::{socket_endpoints, Endpoint};
use crate::wire;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_conn_migrate_doit => conn_migrate);
genl_doit!(tcpmig_nl_conn_capture_doit => conn_capture);
genl_doit!(tcpmig_nl_conn_inject_doit => conn_inject);

/// The default wait for a peer's answer to a migration.
const DEFAULT_ANSWER_MS: u32 = 2000;

/// The largest blob a capture returns inline: a netlink attribute's
/// length is 16 bits.
const MAX_INLINE_BLOB: usize = 65_000;

/// One end of the connection named by an address and a port attribute
/// (the port in network order).
fn endpoint(attrs: &Attrs<'_>, addr_attr: u32, port: u32) -> Result<Endpoint, Failure> {
    let (family, addr) = addr(attrs, addr_attr, c"missing address")?;
    let port = attrs.be16(port).ok_or((EINVAL, c"missing port"))?;
    Ok(Endpoint { family, addr, port })
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

fn conn_migrate(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let (local, remote) = match attrs.u32(uapi::TCPMIG_A_CONN_FD) {
            Some(fd) => socket_endpoints(request.net(), fd).map_err(|e| {
                let msg = match e {
                    e if e == EXDEV => c"fd is a socket of another network namespace",
                    e if e == ENOTCONN => c"fd is not an established TCP connection",
                    _ => c"fd is not a TCP socket of this process",
                };
                Failure::from((e, msg))
            })?,
            None => conn_endpoints(&attrs)?,
        };
        let name = attrs
            .string(uapi::TCPMIG_A_CONN_PEER)
            .ok_or((EINVAL, c"missing peer"))?;
        let timeout = attrs
            .u32(uapi::TCPMIG_A_CONN_TIMEOUT_MS)
            .unwrap_or(DEFAULT_ANSWER_MS);
        let reset = uapi::tcpmig_on_failure_TCPMIG_ON_FAILURE_RESET as u8;
        let on_failure = match attrs.u8(uapi::TCPMIG_A_CONN_ON_FAILURE) {
            Some(v) if v == reset => OnFailure::Reset,
            _ => OnFailure::Local,
        };
        let net = request.net();
        let cluster = state.cluster();
        let outcome = migrate::migrate(net, cluster, &local, &remote, name, timeout, on_failure)?;
        let reply = || -> Result {
            let pad = uapi::TCPMIG_A_CONN_PAD;
            let mut msg = Message::reply(request, uapi::TCPMIG_CMD_CONN_MIGRATE)?;
            msg.put_u32(uapi::TCPMIG_A_CONN_FLOW_ID, outcome.flow_id)?;
            msg.put_u64_padded(uapi::TCPMIG_A_CONN_CAPTURE_NS, outcome.capture_ns, pad)?;
            msg.put_u64_padded(uapi::TCPMIG_A_CONN_TRANSFER_NS, outcome.transfer_ns, pad)?;
            msg.put_u64_padded(uapi::TCPMIG_A_CONN_INJECT_NS, outcome.inject_ns, pad)?;
            msg.send_reply(request)
        };
        // The connection moved: only its report is lost.
        reply().map_err(|e| (e, c"migrated, but the reply could not be sent").into())
    })
}

fn conn_capture(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let (local, remote) = conn_endpoints(&attrs)?;
        let file = match attrs.u32(uapi::TCPMIG_A_CONN_BLOB_FD) {
            Some(fd) => Some(
                File::get(fd)
                    .map_err(|e| (e, c"blob-fd is not a memfd or tmpfs file of this process"))?,
            ),
            None => None,
        };
        // The blob goes out before the connection freezes: if it cannot,
        // the connection goes on where it is.
        let hold = &state.cluster().hold;
        capture::capture(request.net(), hold, &local, &remote, None, |blob| {
            let mut msg = Message::reply(request, uapi::TCPMIG_CMD_CONN_CAPTURE)
                .map_err(|_| Failure::oom())?;
            match &file {
                Some(file) => {
                    file.write_all(blob)
                        .map_err(|e| (e, c"cannot write the blob into blob-fd"))?;
                    let len =
                        u32::try_from(blob.len()).map_err(|_| (EMSGSIZE, c"blob too large"))?;
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
                    let size = blob.len() + 64;
                    msg = Message::reply_sized(request, uapi::TCPMIG_CMD_CONN_CAPTURE, size)
                        .map_err(|_| Failure::oom())?;
                    msg.put_bytes(uapi::TCPMIG_A_CONN_BLOB, blob)
                        .map_err(|e| (e, c"cannot send the blob"))?;
                }
            }
            msg.send_reply(request)
                .map_err(|e| (e, c"cannot send the reply").into())
        })
    })
}

fn conn_inject(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let read;
        let bytes = match attrs.u32(uapi::TCPMIG_A_CONN_BLOB_FD) {
            Some(fd) => {
                read = File::get(fd)
                    .and_then(|file| file.read_all(wire::MAX_BLOB_LEN))
                    .map_err(|e| (e, c"cannot read the blob from blob-fd"))?;
                &read[..]
            }
            None => attrs
                .bytes(uapi::TCPMIG_A_CONN_BLOB)
                .ok_or((EINVAL, c"missing blob (or blob-fd)"))?,
        };
        let conn = wire::decode(bytes).map_err(|e| Failure::blob(blob::to_errno(e), e))?;
        inject::inject(request.net(), &conn, &state.cluster().forward, None)
    })
}
