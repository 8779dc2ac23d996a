// SPDX-License-Identifier: GPL-2.0

//! Inject: rebuild the connection of a blob in a new socket of this
//! namespace, top-down, and queue it on the local listener, whose
//! `accept()` returns it as if the connection had been terminated here.
//!
//! The order is CRIU's, in the kernel's repair mode on a kernel socket
//! created in the listener's family: queue sequence numbers, bind and
//! connect (no SYN), options, timestamp, queued bytes, windows, then what
//! repair mode cannot set (congestion, RTT and IP state); a last check of
//! the listener while nothing has gone out yet; repair off; the unsent
//! bytes; and the hand-off into the accept queue
//! (Documentation/tcpmig/migration.rst). Whatever fails, the socket
//! closes silently and the blob can go elsewhere.

use crate::{
    error::Failure,
    forward::ForwardTable,
    hold::HoldTable,
    sys::{
        net::Net,
        nf::Tuple,
        repair::{
            Repair,
            RepairOptions,
            RepairQueue,
            RepairWindow, //
        },
        sock::{
            addr_is_local,
            Endpoint,
            Family,
            Lookup,
            Sock, //
        },
        socket::KernelSocket,
    },
    wire::{
        opt,
        Connection,
        TCP_CLOSE_WAIT, //
    },
};
use kernel::prelude::*;

/// Injects the connection `conn` (a decoded blob) into `net`'s listener
/// on its local address and port, or on `listener_port` of that address
/// when given: the connection keeps its own port (its packets find it by
/// the 4-tuple) and that listener's owner accepts it. `forward` is the
/// namespace's: a connection that comes back to where it was captured or
/// forwarded from lives here again. On failure nothing is left behind.
pub(crate) fn inject(
    net: &Net,
    conn: &Connection<'_>,
    forward: &ForwardTable,
    listener_port: Option<u16>,
) -> Result<(), Failure> {
    let (local, remote) = endpoints(conn).ok_or((EINVAL, c"invalid blob"))?;
    let family = local.family;
    if !addr_is_local(net, local.family, &local.addr) {
        return Err((
            EADDRNOTAVAIL,
            c"the blob's local address is not an address of this namespace",
        )
            .into());
    }
    let at = Endpoint {
        port: listener_port.unwrap_or(local.port),
        ..local
    };
    let listener = Sock::lookup(net, Lookup::Listener, &at, &remote).ok_or((
        ECONNREFUSED,
        c"no listener on the blob's local address and port",
    ))?;
    if listener.family() == Family::V4 && family == Family::V6 {
        return Err((
            EAFNOSUPPORT,
            c"an IPv6 connection cannot go to an IPv4 listener",
        )
            .into());
    }
    // The listener's family: accept() gives the child the listener's ops.
    let mut socket =
        KernelSocket::new(net, listener.family()).map_err(|e| (e, c"cannot create a socket"))?;
    // Whatever fails from here on, the peer hears nothing: the blob can
    // still go elsewhere.
    socket.close_silently();
    let repair = rebuild(&socket, conn, &local, &remote)
        .map_err(|e| (e, c"cannot rebuild the connection"))?;
    // Up to here the socket is in repair mode, and dropping it sends
    // nothing: check what can still fail while that holds.
    listener
        .can_accept()
        .map_err(|e| (e, c"the listener cannot take the connection"))?;
    // Leaving repair mode sends a window probe, which also tells the peer
    // where this end stands; bytes never sent go out the normal way.
    repair
        .finish()
        .map_err(|e| (e, c"cannot leave repair mode"))?;
    let (_, unsent) = sent_and_unsent(conn);
    socket
        .send_unsent(unsent)
        .map_err(|e| (e, c"cannot queue the unsent bytes"))?;
    // If the listener filled up or closed meanwhile, the socket closes
    // silently (above): the blob can go elsewhere.
    socket
        .hand_to(&listener)
        .map_err(|e| (e, c"the listener cannot take the connection"))?;
    // Injected where it was captured (or where it was forwarded from):
    // its packets must reach it here again.
    forward.take_back(&Tuple::of(&local, &remote));
    Ok(())
}

/// The two ends of the blob's connection.
fn endpoints(conn: &Connection<'_>) -> Option<(Endpoint, Endpoint)> {
    let family = Family::from_blob(conn.ip.family)?;
    let end = |addr, port| Endpoint { family, addr, port };
    Some((
        end(conn.ip.local_addr, conn.ip.local_port),
        end(conn.ip.remote_addr, conn.ip.remote_port),
    ))
}

/// Resets the client of the connection `conn`, captured (frozen) here
/// and taken nowhere: the connection is rebuilt in a socket of its own,
/// which then aborts, sending a RST in the connection's sequence space.
/// A client waiting for an answer would otherwise wait forever. Its held
/// packets (in `hold`) go last: they meet no socket, and draw RSTs too.
pub(crate) fn reset_client(net: &Net, conn: &Connection<'_>, hold: &HoldTable) {
    let Some((local, remote)) = endpoints(conn) else {
        return;
    };
    if let Ok(mut socket) = KernelSocket::new(net, local.family) {
        socket.close_silently();
        if let Ok(repair) = rebuild(&socket, conn, &local, &remote) {
            if repair.finish().is_ok() {
                socket.sock().abort();
            }
        }
    }
    hold.release(&Tuple::of(&local, &remote));
}

/// The send bytes already sent (awaiting their acknowledgement) and those
/// never sent.
fn sent_and_unsent<'a>(conn: &Connection<'a>) -> (&'a [u8], &'a [u8]) {
    let unacked = conn.tcp.snd_nxt.wrapping_sub(conn.tcp.snd_una) as usize;
    // The decoder checked that the send bytes cover snd_nxt - snd_una.
    conn.send_data.split_at(unacked.min(conn.send_data.len()))
}

/// Rebuilds the connection of `conn` in `socket`, up to but not out of
/// repair mode.
fn rebuild<'a>(
    socket: &'a KernelSocket,
    conn: &Connection<'_>,
    local: &Endpoint,
    remote: &Endpoint,
) -> Result<Repair<'a>> {
    let tcp = &conn.tcp;
    let (sent, _) = sent_and_unsent(conn);
    let has = |bit| tcp.options & bit != 0;

    socket.reserve_buffers(conn.send_data.len(), conn.recv_data.len())?;
    let repair = socket.repair()?;
    // The queues start where the blob's bytes start.
    repair.set_queue_seq(RepairQueue::Send, tcp.snd_una)?;
    repair.set_queue_seq(RepairQueue::Receive, tcp.copied_seq)?;
    socket.bind(local)?;
    socket.connect(remote)?;
    repair.set_options(&RepairOptions {
        mss: tcp.mss_clamp,
        wscale: has(opt::WSCALE).then_some((tcp.snd_wscale, tcp.rcv_wscale)),
        sack: has(opt::SACK),
        timestamps: has(opt::TIMESTAMPS),
    })?;
    if has(opt::TIMESTAMPS) {
        repair.set_timestamp(tcp.ts_val, has(opt::TS_USEC))?;
    }
    repair.queue(RepairQueue::Receive, conn.recv_data)?;
    if tcp.state == TCP_CLOSE_WAIT {
        repair.enter_close_wait();
    }
    repair.queue(RepairQueue::Send, sent)?;
    repair.set_window(&RepairWindow {
        snd_wl1: tcp.snd_wl1,
        snd_wnd: tcp.snd_wnd,
        max_window: tcp.max_window,
        rcv_wnd: tcp.rcv_wnd,
        rcv_wup: tcp.rcv_wup,
    })?;
    repair.set_congestion(tcp);
    repair.set_ip(&conn.ip);
    Ok(repair)
}
