// SPDX-License-Identifier: GPL-2.0

//! Handlers of the `tcpmig` generic netlink family
//! (`Documentation/netlink/specs/tcpmig.yaml`).
//!
//! Every command acts on the namespace of the requesting socket.

use crate::capture;
use crate::error::Failure;
use crate::inject;
use crate::netns::NetState;
use crate::sys::genl::{genl_doit, uapi, Attrs, Message, Request};
use crate::sys::net::Net;
use crate::sys::sock::{Endpoint, Family};
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
    // The policy already refused a port of 0 or of the wrong size.
    let Some(port) = attrs.u16(uapi::TCPMIG_A_CONFIG_MIGRATOR_PORT) else {
        request.set_error_message(c"nothing to set");
        return Err(EINVAL);
    };
    state.set_migrator_port(port);
    Ok(())
}

/// Reports a failure to the requester: its message in extack, its errno.
fn fail(request: &Request<'_>, (errno, msg): Failure) -> Error {
    request.set_error_message(msg);
    errno
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
            return Err((EINVAL, c"local and remote addresses of different families"));
        }
        Ok((local, remote))
    })()
    .map_err(|f| fail(request, f))?;
    // The reply goes out before the connection freezes: if it cannot, the
    // connection goes on where it is.
    capture::capture(request.net(), &local, &remote, |blob| {
        if blob.len() > MAX_BLOB_REPLY {
            return Err((
                EMSGSIZE,
                c"the connection has too many queued bytes to capture",
            ));
        }
        let send = || {
            let mut msg =
                Message::reply_sized(request, uapi::TCPMIG_CMD_CONN_CAPTURE, blob.len() + 64)?;
            msg.put_bytes(uapi::TCPMIG_A_CONN_BLOB, blob)?;
            msg.send_reply(request)
        };
        send().map_err(|e| (e, c"cannot send the blob"))
    })
    .map_err(|f| fail(request, f))
}

/// The largest blob a capture returns, in one netlink message (the CLI reads
/// up to 1 MiB at once).
const MAX_BLOB_REPLY: usize = (1 << 20) - 4096;

fn conn_inject(request: &Request<'_>) -> Result {
    let attrs = request.attrs();
    let blob = attrs
        .bytes(uapi::TCPMIG_A_CONN_BLOB)
        .ok_or_else(|| fail(request, (EINVAL, c"missing blob")))?;
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
