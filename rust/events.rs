// SPDX-License-Identifier: GPL-2.0

//! Migration events, multicast to the `events` group of the namespace
//! (`tcpmig monitor`). Sent only while someone listens.

use crate::stages::{Stage, Stages};
use crate::sys::genl::{has_listeners, uapi, Message};
use crate::sys::net::Net;
use crate::sys::sock::Family;
use crate::wire::FlowMapping;
use kernel::prelude::*;

/// What happened (`enum tcpmig_event_kind`).
#[derive(Clone, Copy)]
pub(crate) enum EventKind {
    Migrated,
    RolledBack,
    Ambiguous,
    Accepted,
    Refused,
    FlowEnded,
    Dispatched,
    Fallback,
}

impl EventKind {
    fn raw(self) -> u8 {
        (match self {
            Self::Migrated => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_MIGRATED,
            Self::RolledBack => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_ROLLED_BACK,
            Self::Ambiguous => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_AMBIGUOUS,
            Self::Accepted => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_ACCEPTED,
            Self::Refused => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_REFUSED,
            Self::FlowEnded => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_FLOW_ENDED,
            Self::Dispatched => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_DISPATCHED,
            Self::Fallback => uapi::tcpmig_event_kind_TCPMIG_EVENT_KIND_FALLBACK,
        }) as u8
    }
}

/// One event: the flow it is about, if known, and the other node.
pub(crate) struct Event<'a> {
    pub(crate) kind: EventKind,
    pub(crate) flow: Option<&'a FlowMapping>,
    pub(crate) peer: Option<(Family, &'a [u8; 16])>,
    /// Why a migration failed.
    pub(crate) errno: Option<Error>,
    /// The rule of a service that decided.
    pub(crate) rule: Option<u32>,
    /// When the stages of a hand-off ended.
    pub(crate) stages: Option<&'a Stages>,
}

/// Sends `event` to the listeners in `net`; a lost event only costs the
/// listener a line.
pub(crate) fn notify(net: &Net, event: &Event<'_>) {
    let group = uapi::TCPMIG_NLGRP_EVENTS;
    if !has_listeners(net, group) {
        return;
    }
    let Ok(mut msg) = Message::new(uapi::TCPMIG_CMD_EVENT_NTF) else {
        return;
    };
    if fill(&mut msg, event).is_ok() {
        let _ = msg.multicast(net, group);
    }
}

fn fill(msg: &mut Message, event: &Event<'_>) -> Result {
    msg.put_u8(uapi::TCPMIG_A_EVENT_KIND, event.kind.raw())?;
    if let Some(flow) = event.flow {
        let len = Family::from_blob(flow.family).map_or(16, Family::addr_len);
        msg.put_bytes(uapi::TCPMIG_A_EVENT_CLIENT_ADDR, &flow.client_addr[..len])?;
        msg.put_u16(uapi::TCPMIG_A_EVENT_CLIENT_PORT, flow.client_port)?;
        msg.put_bytes(uapi::TCPMIG_A_EVENT_VIP_ADDR, &flow.vip_addr[..len])?;
        msg.put_u16(uapi::TCPMIG_A_EVENT_VIP_PORT, flow.vip_port)?;
        msg.put_u32(uapi::TCPMIG_A_EVENT_FLOW_ID, flow.flow_id)?;
    }
    if let Some((family, addr)) = event.peer {
        msg.put_bytes(uapi::TCPMIG_A_EVENT_PEER_ADDR, &addr[..family.addr_len()])?;
    }
    if let Some(e) = event.errno {
        msg.put_u32(uapi::TCPMIG_A_EVENT_ERRNO, e.to_errno().unsigned_abs())?;
    }
    if let Some(rule) = event.rule {
        msg.put_u32(uapi::TCPMIG_A_EVENT_RULE, rule)?;
    }
    for (stage, ns) in event.stages.iter().flat_map(|s| s.reached()) {
        msg.put_u64_padded(stage_attr(stage), ns, uapi::TCPMIG_A_EVENT_PAD)?;
    }
    Ok(())
}

/// The event attribute that carries the time `stage` ended.
fn stage_attr(stage: Stage) -> u32 {
    match stage {
        Stage::Start => uapi::TCPMIG_A_EVENT_TIME_START,
        Stage::Frozen => uapi::TCPMIG_A_EVENT_TIME_FROZEN,
        Stage::Channel => uapi::TCPMIG_A_EVENT_TIME_CHANNEL,
        Stage::Sent => uapi::TCPMIG_A_EVENT_TIME_SENT,
        Stage::Acked => uapi::TCPMIG_A_EVENT_TIME_ACKED,
        Stage::Forwarding => uapi::TCPMIG_A_EVENT_TIME_FORWARDING,
        Stage::Done => uapi::TCPMIG_A_EVENT_TIME_DONE,
        Stage::Received => uapi::TCPMIG_A_EVENT_TIME_RECEIVED,
        Stage::Injected => uapi::TCPMIG_A_EVENT_TIME_INJECTED,
    }
}
