// SPDX-License-Identifier: GPL-2.0

//! Capture: freeze a live TCP connection and compile it, top-down, into
//! a blob (TCP state, IP state, then the bytes of both queues).

use crate::blob;
use crate::error::Failure;
use crate::netns::NetState;
use crate::sys::net::Net;
use crate::sys::nf::Tuple;
use crate::sys::sock::{Endpoint, Queue, TcpSock};
use crate::wire::{Connection, TCP_CLOSE_WAIT, TCP_ESTABLISHED};
use kernel::prelude::*;

/// Captures the connection `local`/`remote` in `net` into a blob, hands
/// the blob to `deliver` while the socket is still locked, and freezes the
/// connection only if `deliver` succeeded. On any failure the connection
/// is untouched and goes on.
pub(crate) fn capture(
    net: &Net,
    local: &Endpoint,
    remote: &Endpoint,
    deliver: impl FnOnce(&[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let sock = TcpSock::lookup_established(net, local, remote).ok_or((
        ENOENT,
        c"no established connection with these addresses in this namespace",
    ))?;
    let tcp = sock.lock();
    let state = tcp.state();
    if state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT {
        return Err((
            EINVAL,
            c"only ESTABLISHED and CLOSE_WAIT connections can move",
        ));
    }
    let tcp_state = tcp.tcp_state();
    let ip_state = tcp.ip_state();

    let mut recv = KVec::from_elem(0u8, tcp_state.unread_len() as usize, GFP_KERNEL)
        .map_err(|_| (ENOMEM, c"out of memory"))?;
    tcp.copy_queues(&[Queue::Receive], tcp_state.copied_seq, &mut recv)
        .map_err(|e| (e, c"the receive queue does not match the sequence numbers"))?;
    let queued = tcp_state.write_seq.wrapping_sub(tcp_state.snd_una) as usize;
    let mut send =
        KVec::from_elem(0u8, queued, GFP_KERNEL).map_err(|_| (ENOMEM, c"out of memory"))?;
    tcp.copy_queues(
        &[Queue::Retransmit, Queue::Write],
        tcp_state.snd_una,
        &mut send,
    )
    .map_err(|e| (e, c"the send queues do not match the sequence numbers"))?;

    let conn = Connection {
        tcp: tcp_state,
        ip: ip_state,
        flow: None,
        recv_data: &recv,
        send_data: &send,
    };
    let blob = blob::encode(&conn).map_err(|e| (e, c"the connection cannot be encoded"))?;
    // Hold the flow's packets from now on: after the freeze nothing here
    // may answer them.
    let hold = NetState::of(net)
        .ok_or((ENODEV, c"tcpmig is unloading"))?
        .hold();
    let tuple = Tuple::of(local, remote);
    hold.freeze(tuple).map_err(|e| {
        (
            e,
            c"cannot hold the flow's packets (too many frozen flows?)",
        )
    })?;
    if let Err(failure) = deliver(&blob) {
        hold.thaw(&tuple);
        return Err(failure);
    }
    // The blob is out; from now on the connection lives elsewhere.
    tcp.freeze();
    Ok(())
}
