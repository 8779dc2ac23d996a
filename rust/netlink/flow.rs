// SPDX-License-Identifier: GPL-2.0

//! `flow-get`: the flows forwarded from here, then those decapsulated
//! here.

use super::{dump_state, put_addr};
use crate::stats::{FlowInfo, FlowKind};
use crate::sys::genl::{genl_dumpit, uapi, Builder, Dump};
use kernel::prelude::*;

genl_dumpit!(tcpmig_nl_flow_get_dumpit => flow_get);

/// Lists the forwarded flows, then the decapsulated ones; the cursor
/// counts over both.
fn flow_get(dump: &mut Dump<'_>) -> Result {
    let skip = dump.cursor();
    let cluster = dump_state(dump)?.cluster();
    // Whether the message has room for more, or what went wrong.
    let mut outcome = Ok(true);
    let mut put = |flow: &FlowInfo| {
        if matches!(outcome, Ok(true)) {
            outcome = dump.entry(uapi::TCPMIG_CMD_FLOW_GET, |msg| fill_flow(msg, flow));
        }
        matches!(outcome, Ok(true))
    };
    let forwards = cluster.forward.visit(0, |_| true);
    cluster.forward.visit(skip, &mut put);
    // What the skip did not use up falls on the decapsulated flows.
    cluster.decap.visit(skip.saturating_sub(forwards), &mut put);
    outcome.map(|_| ())
}

fn fill_flow(msg: &mut Builder, flow: &FlowInfo) -> Result {
    let kind = match flow.kind {
        FlowKind::Forward => uapi::tcpmig_flow_kind_TCPMIG_FLOW_KIND_FORWARD,
        FlowKind::Decap => uapi::tcpmig_flow_kind_TCPMIG_FLOW_KIND_DECAP,
    };
    let pad = uapi::TCPMIG_A_FLOW_PAD;
    msg.put_u8(uapi::TCPMIG_A_FLOW_KIND, kind as u8)?;
    put_addr(
        msg,
        uapi::TCPMIG_A_FLOW_CLIENT_ADDR,
        flow.family,
        &flow.client,
    )?;
    msg.put_u16(uapi::TCPMIG_A_FLOW_CLIENT_PORT, flow.client_port)?;
    put_addr(msg, uapi::TCPMIG_A_FLOW_VIP_ADDR, flow.family, &flow.vip)?;
    msg.put_u16(uapi::TCPMIG_A_FLOW_VIP_PORT, flow.vip_port)?;
    put_addr(msg, uapi::TCPMIG_A_FLOW_PEER_ADDR, flow.family, &flow.peer)?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_FLOW_ID, flow.flow_id)?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_AGE_MS, flow.age_ms)?;
    msg.put_u32(uapi::TCPMIG_A_FLOW_IDLE_MS, flow.idle_ms)?;
    msg.put_u64_padded(uapi::TCPMIG_A_FLOW_PACKETS, flow.packets, pad)?;
    if flow.first_forwarded != 0 {
        let first = flow.first_forwarded;
        msg.put_u64_padded(uapi::TCPMIG_A_FLOW_FIRST_FORWARDED, first, pad)?;
    }
    Ok(())
}
