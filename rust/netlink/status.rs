// SPDX-License-Identifier: GPL-2.0

//! `status-get` and `config-set`: the namespace's counters, and its
//! cluster key and migrator port.

use super::run;
use crate::netns::NetState;
use crate::sys::genl::{genl_doit, uapi, Message, Request};
use crate::sys::net::Net;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_status_get_doit => status_get);
genl_doit!(tcpmig_nl_config_set_doit => config_set);

/// Puts the status of `net`, whose state is `state`, into `msg`.
fn fill_status(msg: &mut Message, net: &Net, state: &NetState) -> Result {
    use uapi::*;
    let cluster = state.cluster();
    let (hold, forward, decap) = (&cluster.hold, &cluster.forward, &cluster.decap);
    let stats = cluster.stats.snapshot();
    msg.put_u16(TCPMIG_A_STATUS_MIGRATOR_PORT, cluster.migrator_port())?;
    msg.put_u32(TCPMIG_A_STATUS_FROZEN_FLOWS, hold.frozen_flows())?;
    msg.put_u16(TCPMIG_A_STATUS_FLOW_PORT, decap.flow_port())?;
    msg.put_u32(TCPMIG_A_STATUS_PEERS, cluster.peers.count())?;
    msg.put_u8(
        TCPMIG_A_STATUS_KEY_SET,
        cluster.peers.key().is_some().into(),
    )?;
    msg.put_u32(TCPMIG_A_STATUS_FORWARD_FLOWS, forward.flows())?;
    msg.put_u32(TCPMIG_A_STATUS_DECAP_FLOWS, decap.flows())?;
    // Packets sent on: forwarded to a back-end, or delivered here again
    // after a rollback.
    let sent = forward.forwarded_packets() + hold.released_packets();
    let errors = forward.forward_errors() + hold.release_errors();
    let bad_frames = cluster.node().map_or(0, |node| node.bad_frames());
    for (attr, value) in [
        (TCPMIG_A_STATUS_NETNS_COOKIE, net.cookie()),
        (TCPMIG_A_STATUS_HELD_PACKETS, hold.held_packets()),
        (TCPMIG_A_STATUS_DROPPED_PACKETS, hold.dropped_packets()),
        (TCPMIG_A_STATUS_HELD_BYTES, hold.held_bytes()),
        (TCPMIG_A_STATUS_MIGRATIONS_OK, stats.migrated),
        (TCPMIG_A_STATUS_MIGRATIONS_FAILED, stats.failed),
        (TCPMIG_A_STATUS_MIGRATIONS_AMBIGUOUS, stats.ambiguous),
        (TCPMIG_A_STATUS_FORWARDED_PACKETS, sent),
        (TCPMIG_A_STATUS_FORWARD_ERRORS, errors),
        (TCPMIG_A_STATUS_ACCEPTED_MIGRATIONS, stats.taken),
        (TCPMIG_A_STATUS_REFUSED_MIGRATIONS, stats.refused),
        (TCPMIG_A_STATUS_DECAPSULATED_PACKETS, decap.decapsulated()),
        (TCPMIG_A_STATUS_DECAP_DROPPED, decap.dropped()),
        (TCPMIG_A_STATUS_BAD_FRAMES, bad_frames),
        (TCPMIG_A_STATUS_ICMP_FORWARDED, forward.icmp_forwarded()),
        (TCPMIG_A_STATUS_TOO_BIG, forward.too_big()),
    ] {
        msg.put_u64_padded(attr, value, TCPMIG_A_STATUS_PAD)?;
    }
    Ok(())
}

fn status_get(request: &Request<'_>) -> Result {
    run(request, |state| {
        let mut msg = Message::reply(request, uapi::TCPMIG_CMD_STATUS_GET)
            .map_err(|e| (e, c"out of memory"))?;
        fill_status(&mut msg, request.net(), state)
            .and_then(|()| msg.send_reply(request))
            .map_err(|e| (e, c"cannot send the reply").into())
    })
}

fn config_set(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        // The policy already refused a port of 0 and a key of the wrong size.
        let port = attrs.u16(uapi::TCPMIG_A_CONFIG_MIGRATOR_PORT);
        let key = attrs
            .bytes(uapi::TCPMIG_A_CONFIG_CLUSTER_KEY)
            .and_then(|k| <[u8; 32]>::try_from(k).ok());
        if port.is_none() && key.is_none() {
            return Err((EINVAL, c"nothing to set").into());
        }
        state.cluster().configure(key, port)
    })
}

#[kunit_tests(tcpmig_netlink)]
mod tests {
    use super::*;
    use crate::sys::params;

    #[test]
    fn new_namespace_state_takes_the_module_parameter() -> Result {
        let state = NetState::of(Net::init_net()).ok_or(ENODEV)?;
        assert_eq!(state.cluster().migrator_port(), params::migrator_port());
        Ok(())
    }

    #[test]
    fn status_message_carries_cookie_and_port() -> Result {
        let net = Net::init_net();
        let state = NetState::of(net).ok_or(ENODEV)?;
        let mut msg = Message::new(uapi::TCPMIG_CMD_STATUS_GET)?;
        fill_status(&mut msg, net, state)?;
        let (cookie, port) = msg.parse(uapi::TCPMIG_A_STATUS_MAX, |attrs| {
            (
                attrs.u64(uapi::TCPMIG_A_STATUS_NETNS_COOKIE),
                attrs.u16(uapi::TCPMIG_A_STATUS_MIGRATOR_PORT),
            )
        })?;
        assert_eq!(cookie, Some(net.cookie()));
        assert_eq!(port, Some(state.cluster().migrator_port()));
        assert!(net.cookie() != 0);
        Ok(())
    }
}
