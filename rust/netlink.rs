// SPDX-License-Identifier: GPL-2.0

//! Handlers of the `tcpmig` generic netlink family
//! (`Documentation/netlink/specs/tcpmig.yaml`).
//!
//! Every command acts on the namespace of the requesting socket.

use crate::blob::Reason;
use crate::capture;
use crate::error::Failure;
use crate::inject;
use crate::netns::NetState;
use crate::sys::file::File;
use crate::sys::genl::{genl_doit, uapi, Attrs, Message, Request};
use crate::sys::net::Net;
use crate::sys::sock::{Endpoint, Family};
use crate::wire;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_status_get_doit => status_get);
genl_doit!(tcpmig_nl_config_set_doit => config_set);
genl_doit!(tcpmig_nl_conn_capture_doit => conn_capture);
genl_doit!(tcpmig_nl_conn_inject_doit => conn_inject);

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
    msg.put_u64(uapi::TCPMIG_A_STATUS_HELD_BYTES, state.hold().held_bytes())
}

fn status_get(request: &Request<'_>) -> Result {
    let mut msg = Message::reply(request, uapi::TCPMIG_CMD_STATUS_GET)?;
    fill_status(&mut msg, request.net())?;
    msg.send_reply(request)
}

fn config_set(request: &Request<'_>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    let attrs = request.attrs();
    // The policy already refused a port of 0 or of the wrong size.
    let Some(port) = attrs.u16(uapi::TCPMIG_A_CONFIG_MIGRATOR_PORT) else {
        request.set_error_message(c"nothing to set");
        return Err(EINVAL);
    };
    state.set_migrator_port(port);
    Ok(())
}

/// Reports a failure to the requester: its message in extack (with the
/// decoder's reason for a refused blob), its errno.
fn fail(request: &Request<'_>, failure: Failure) -> Error {
    match failure.blob {
        Some(reason) => request.set_error_detail(failure.msg, &Reason(reason)),
        None => request.set_error_message(failure.msg),
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

fn conn_capture(request: &Request<'_>) -> Result {
    let attrs = request.attrs();
    let (local, remote) = (|| {
        let local = endpoint(
            &attrs,
            uapi::TCPMIG_A_CONN_LOCAL_ADDR,
            uapi::TCPMIG_A_CONN_LOCAL_PORT,
        )?;
        let remote = endpoint(
            &attrs,
            uapi::TCPMIG_A_CONN_REMOTE_ADDR,
            uapi::TCPMIG_A_CONN_REMOTE_PORT,
        )?;
        if local.family != remote.family {
            return Err((EINVAL, c"local and remote addresses of different families").into());
        }
        Ok((local, remote))
    })()
    .map_err(|f| fail(request, f))?;
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
    capture::capture(request.net(), &local, &remote, |blob| {
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
    let attrs = request.attrs();
    if let Some(fd) = attrs.u32(uapi::TCPMIG_A_CONN_BLOB_FD) {
        let blob = File::get(fd)
            .and_then(|file| file.read_all(wire::MAX_BLOB_LEN))
            .map_err(|e| fail(request, (e, c"cannot read the blob from blob-fd").into()))?;
        return inject::inject(request.net(), &blob).map_err(|f| fail(request, f));
    }
    let blob = attrs
        .bytes(uapi::TCPMIG_A_CONN_BLOB)
        .ok_or_else(|| fail(request, (EINVAL, c"missing blob (or blob-fd)").into()))?;
    inject::inject(request.net(), blob).map_err(|f| fail(request, f))
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
        let (cookie, port) = msg.parse(|attrs| {
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
