// SPDX-License-Identifier: GPL-2.0

//! Capture: lock a live TCP connection, read it top-down into a blob
//! (TCP state, IP state, then the bytes of both queues), hold its packets
//! while the blob is out, and freeze it once the blob was delivered.

use crate::{
    blob,
    error::Failure,
    hold::HoldTable,
    sys::{
        net::{
            synchronize_net,
            Net, //
        },
        nf::{
            self,
            Tuple, //
        },
        sock::{
            Endpoint,
            Lookup,
            Queue,
            Sock,
            Unmovable, //
        },
    },
    wire::{
        Connection,
        FlowMapping,
        MAX_QUEUE,
        TCP_CLOSE_WAIT,
        TCP_ESTABLISHED, //
    },
};
use kernel::prelude::*;

/// Captures the connection `local`/`remote` in `net` into a blob (with
/// the flow-id mapping `flow` when it migrates to a peer), holds its
/// packets in `hold` (the namespace's table), hands
/// the blob to `deliver` while the socket is still locked, and freezes the
/// connection only if `deliver` succeeded. On any failure the connection
/// is untouched and goes on.
pub(crate) fn capture(
    net: &Net,
    hold: &HoldTable,
    local: &Endpoint,
    remote: &Endpoint,
    flow: Option<FlowMapping>,
    deliver: impl FnOnce(&[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let sock = Sock::lookup(net, Lookup::Established, local, remote).ok_or((
        ENOENT,
        c"no established connection with these addresses in this namespace",
    ))?;
    let tcp = sock.lock();
    let state = tcp.state();
    if state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT {
        return Err((
            EINVAL,
            c"only ESTABLISHED and CLOSE_WAIT connections can move",
        )
            .into());
    }
    tcp.movable().map_err(|why| {
        let msg = match why {
            Unmovable::KernelOwned => c"the socket belongs to a kernel user and cannot move",
            Unmovable::Mptcp => c"an MPTCP subflow cannot move on its own",
            Unmovable::UpperLayer => c"the connection runs an upper-layer protocol (kTLS)",
            Unmovable::Signed => c"TCP-MD5/TCP-AO keys cannot move with the connection",
            Unmovable::Urgent => c"urgent data is pending on the connection",
            Unmovable::AccEcn => c"accurate ECN state cannot move with the connection",
        };
        (EOPNOTSUPP, msg)
    })?;
    let mut tcp_state = tcp.tcp_state();
    if state == TCP_CLOSE_WAIT && tcp_state.copied_seq == tcp_state.rcv_nxt {
        // The owner read the end-of-file, and reading it moved copied_seq
        // past the FIN. The new owner reads it again, as every new owner
        // of a connection whose peer closed does.
        tcp_state.copied_seq = tcp_state.copied_seq.wrapping_sub(1);
    }
    let ip_state = tcp.ip_state();

    // Sizes are checked before anything is allocated.
    let unread = tcp_state.unread_len();
    let queued = tcp_state.write_seq.wrapping_sub(tcp_state.snd_una);
    if unread > MAX_QUEUE || queued > MAX_QUEUE {
        return Err((
            EMSGSIZE,
            c"the connection has more bytes queued than a blob carries (16 MiB each way)",
        )
            .into());
    }
    let mut recv = buffer(unread)?;
    tcp.copy_queues(&[Queue::Receive], tcp_state.copied_seq, &mut recv)
        .map_err(|e| (e, c"the receive queue does not match the sequence numbers"))?;
    let mut send = buffer(queued)?;
    tcp.copy_queues(
        &[Queue::Retransmit, Queue::Write],
        tcp_state.snd_una,
        &mut send,
    )
    .map_err(|e| (e, c"the send queues do not match the sequence numbers"))?;

    let conn = Connection {
        tcp: tcp_state,
        ip: ip_state,
        flow,
        recv_data: &recv,
        send_data: &send,
    };
    // A connection whose state a blob cannot hold (a field outside the
    // range the decoder accepts) stays where it is, and the reason shows.
    conn.validate().map_err(|reason| Failure {
        errno: EOPNOTSUPP,
        msg: c"the connection cannot be encoded",
        blob: Some(reason),
        peer: None,
    })?;
    let blob = blob::encode(&conn).map_err(|e| (e, c"the connection cannot be encoded"))?;
    // Hold the flow's packets from now on: after the freeze nothing here
    // may answer them.
    let tuple = Tuple::of(local, remote);
    hold.hold(tuple).map_err(|e| {
        (
            e,
            c"cannot hold the flow's packets (too many frozen flows?)",
        )
    })?;
    // From now on the client's ACKs cover data only the new owner sent.
    nf::conntrack_liberal(net, &tuple);
    if let Err(failure) = deliver(&blob) {
        hold.release(&tuple);
        return Err(failure);
    }
    // The blob is out; from now on the connection lives elsewhere. A
    // packet that passed the hook on another CPU before the flow froze
    // must reach the socket while it is still hashed (its backlog, as the
    // socket is locked), not find none and draw a RST: wait for it.
    synchronize_net();
    tcp.freeze();
    Ok(())
}

/// A zeroed buffer of `len` bytes; large ones come from vmalloc.
fn buffer(len: u32) -> Result<KVVec<u8>, Failure> {
    KVVec::from_elem(0u8, len as usize, GFP_KERNEL_ACCOUNT).map_err(|_| Failure::oom())
}
