// SPDX-License-Identifier: GPL-2.0

//! Handlers of the `tcpmig` generic netlink family
//! (`Documentation/netlink/specs/tcpmig.yaml`).
//!
//! Every command acts on the namespace of the requesting socket.

use crate::netns::NetState;
use crate::sys::genl::{genl_doit, uapi, Message, Request};
use crate::sys::net::Net;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_status_get_doit => status_get);
genl_doit!(tcpmig_nl_config_set_doit => config_set);

/// Puts the status of `net` into `msg`.
fn fill_status(msg: &mut Message, net: &Net) -> Result {
    let state = NetState::of(net).ok_or(ENODEV)?;
    msg.put_u64(uapi::TCPMIG_A_STATUS_NETNS_COOKIE, net.cookie())?;
    msg.put_u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT, state.migrator_port())
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
    let Some(port) = attrs.u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT) else {
        request.set_error_message(c"nothing to set");
        return Err(EINVAL);
    };
    state.set_migrator_port(port);
    Ok(())
}

#[kunit_tests(tcpmig_netlink)]
mod tests {
    use super::*;
    use crate::sys::params;

    #[test]
    fn new_namespace_state_takes_the_module_parameter() {
        let state = NetState::of(Net::init_net());
        assert!(state.is_some());
        if let Some(state) = state {
            assert_eq!(state.migrator_port(), params::migrator_port());
        }
    }

    #[test]
    fn status_message_carries_cookie_and_port() {
        let net = Net::init_net();
        let msg = Message::new(uapi::TCPMIG_CMD_STATUS_GET);
        assert!(msg.is_ok());
        if let Ok(mut msg) = msg {
            assert!(fill_status(&mut msg, net).is_ok());
            let parsed = msg.parse(|attrs| {
                (
                    attrs.u64(uapi::TCPMIG_A_STATUS_NETNS_COOKIE),
                    attrs.u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT),
                )
            });
            let port = NetState::of(net).map(NetState::migrator_port);
            assert_eq!(parsed.ok(), Some((Some(net.cookie()), port)));
            assert!(net.cookie() != 0);
        }
    }
}
