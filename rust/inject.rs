// SPDX-License-Identifier: GPL-2.0

//! Inject: infuse a blob into a new socket of this namespace, top-down,
//! and queue it on the local listener, whose `accept()` returns it as if
//! the connection had been terminated here.
//!
//! The order is CRIU's, through TCP_REPAIR on a kernel socket created in
//! the listener's family: queue sequence numbers, bind and connect (no
//! SYN), options, timestamp, queued bytes, windows, then what TCP_REPAIR
//! cannot set (congestion and RTT state), repair off, and the hand-off
//! into the accept queue (Documentation/tcpmig/inject.rst).

use crate::{
    blob,
    error::Failure,
    netns::NetState,
    sys::{
        net::Net,
        nf::Tuple,
        sock::{
            Endpoint,
            Family,
            Lookup,
            Sock, //
        },
        socket::{
            addr_is_local,
            KernelSocket,
            RepairOptions,
            RepairQueue,
            RepairWindow, //
        },
    },
    wire::{
        opt,
        Connection,
        TCP_CLOSE_WAIT, //
    },
};
use kernel::prelude::*;

/// Restores the connection in `blob` into `net`'s listener on the blob's
/// local address and port. On failure nothing is left behind.
pub(crate) fn inject(net: &Net, blob: &[u8]) -> Result<(), Failure> {
    let conn = blob::decode(blob).map_err(|e| (e, c"invalid blob"))?;
    let family = Family::from_blob(conn.ip.family).ok_or((EINVAL, c"invalid blob"))?;
    let local = Endpoint {
        family,
        addr: conn.ip.local_addr,
        port: conn.ip.local_port,
    };
    let remote = Endpoint {
        family,
        addr: conn.ip.remote_addr,
        port: conn.ip.remote_port,
    };
    if !addr_is_local(net, local.family, &local.addr) {
        return Err((
            EADDRNOTAVAIL,
            c"the blob's local address is not an address of this namespace",
        ));
    }
    let listener = Sock::lookup(net, Lookup::Listener, &local, &remote).ok_or((
        ECONNREFUSED,
        c"no listener on the blob's local address and port",
    ))?;
    if listener.family() == Family::V4 && family == Family::V6 {
        return Err((
            EAFNOSUPPORT,
            c"an IPv6 connection cannot go to an IPv4 listener",
        ));
    }
    // The listener's family: accept() gives the child the listener's ops.
    let socket =
        KernelSocket::new(net, listener.family()).map_err(|e| (e, c"cannot create a socket"))?;
    rebuild(&socket, &conn, &local, &remote)
        .map_err(|e| (e, c"cannot rebuild the connection"))?;
    socket
        .hand_to(&listener)
        .map_err(|e| (e, c"the listener cannot take the connection"))?;
    // Restored where it was captured: its packets must reach it again.
    if let Some(state) = NetState::of(net) {
        state.hold().thaw(&Tuple::of(&local, &remote));
    }
    Ok(())
}

fn rebuild(
    socket: &KernelSocket,
    conn: &Connection<'_>,
    local: &Endpoint,
    remote: &Endpoint,
) -> Result {
    let tcp = &conn.tcp;
    let unacked = tcp.snd_nxt.wrapping_sub(tcp.snd_una) as usize;
    let (sent, unsent) = conn.send_data.split_at(unacked.min(conn.send_data.len()));
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
    repair.finish()?;
    // Bytes never sent go out the normal way.
    socket.send(unsent)
}

#[kunit_tests(tcpmig_migration)]
mod tests {
    use super::*;
    use crate::capture::capture;
    use kernel::time::{
        delay::fsleep,
        Delta, //
    };

    const PORT: u16 = 47_011;
    const FROM_CLIENT: &[u8] = b"bytes the server has not read yet";
    const FROM_SERVER: &[u8] = b"bytes the client reads after the move";

    fn loopback(port: u16) -> Endpoint {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        Endpoint {
            family: Family::V4,
            addr,
            port,
        }
    }

    /// Retries `f` while it says EAGAIN, for up to a second.
    fn patiently<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
        for _ in 0..100 {
            match f() {
                Err(e) if e == EAGAIN => fsleep(Delta::from_millis(10)),
                other => return other,
            }
        }
        Err(ETIMEDOUT)
    }

    fn recv_exactly(sock: &KernelSocket, len: usize) -> Result<KVec<u8>> {
        let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        let mut got = 0;
        while got < len {
            got += patiently(|| sock.recv(&mut buf[got..]))?;
        }
        Ok(buf)
    }

    /// A kernel connection over loopback, captured on the server side and
    /// injected back into the same listener, keeps every field the blob
    /// carries, its unread bytes, and goes on in both directions.
    #[test]
    fn capture_then_inject_keeps_the_connection() -> Result {
        let net = Net::init_net();
        let listening = KernelSocket::new(net, Family::V4)?;
        listening.bind(&loopback(PORT))?;
        listening.listen(8)?;
        let client = KernelSocket::new(net, Family::V4)?;
        client.connect(&loopback(PORT))?;
        let server = patiently(|| listening.accept())?;
        client.send(FROM_CLIENT)?;
        fsleep(Delta::from_millis(50));
        let client_port = client.sock().lock().ip_state().local_port;

        let mut blob = KVec::new();
        capture(net, &loopback(PORT), &loopback(client_port), |b| {
            blob.extend_from_slice(b, GFP_KERNEL)
                .map_err(|_| (ENOMEM, c"out of memory"))
        })
        .map_err(|(e, _)| e)?;
        let before = blob::decode(&blob)?;
        assert_eq!(before.recv_data, FROM_CLIENT);
        // The old socket is frozen: its owner sees the connection aborted.
        assert!(server.recv(&mut [0u8; 8]).err() == Some(ECONNABORTED));

        inject(net, &blob).map_err(|(e, _)| e)?;
        let moved = patiently(|| listening.accept())?;
        let after = moved.sock().lock().tcp_state();
        let t = &before.tcp;
        assert_eq!(
            (after.snd_una, after.snd_nxt, after.write_seq),
            (t.snd_una, t.snd_nxt, t.write_seq)
        );
        assert_eq!((after.rcv_nxt, after.copied_seq), (t.rcv_nxt, t.copied_seq));
        // Leaving repair mode sent a window probe and the client's answer
        // was processed: window fields may have moved on, never back.
        let not_back = |after: u32, before: u32| (after.wrapping_sub(before) as i32) >= 0;
        assert!(not_back(after.snd_wl1, t.snd_wl1));
        assert!(after.max_window >= t.max_window);
        assert!(not_back(after.rcv_wup, t.rcv_wup) && after.rcv_wnd > 0);
        assert_eq!(
            (after.snd_wscale, after.rcv_wscale, after.mss_clamp),
            (t.snd_wscale, t.rcv_wscale, t.mss_clamp)
        );
        assert_eq!(after.options & !opt::TS_USEC, t.options & !opt::TS_USEC);
        assert!(after.ts_recent != 0 && not_back(after.ts_recent, t.ts_recent));
        assert!(after.ts_val.wrapping_sub(t.ts_val) < 1 << 30); // never backwards
        assert_eq!(
            (after.snd_cwnd, after.snd_ssthresh),
            (t.snd_cwnd, t.snd_ssthresh)
        );
        assert_eq!((after.srtt_us, after.mdev_us), (t.srtt_us, t.mdev_us));
        assert_eq!(moved.sock().lock().ip_state(), before.ip);

        // The unread bytes come out first, then the conversation goes on.
        assert_eq!(&recv_exactly(&moved, FROM_CLIENT.len())?[..], FROM_CLIENT);
        moved.send(FROM_SERVER)?;
        assert_eq!(&recv_exactly(&client, FROM_SERVER.len())?[..], FROM_SERVER);
        client.send(b"more")?;
        assert_eq!(&recv_exactly(&moved, 4)?[..], b"more");
        Ok(())
    }

    /// A connection whose peer already sent its FIN (CLOSE_WAIT) moves
    /// too: the new owner reads the unread bytes, then end-of-file, and
    /// can still answer.
    #[test]
    fn close_wait_moves_with_its_fin() -> Result {
        let net = Net::init_net();
        let listening = KernelSocket::new(net, Family::V4)?;
        listening.bind(&loopback(PORT + 1))?;
        listening.listen(8)?;
        let client = KernelSocket::new(net, Family::V4)?;
        client.connect(&loopback(PORT + 1))?;
        let _server = patiently(|| listening.accept())?;
        client.send(FROM_CLIENT)?;
        client.shutdown_write()?;
        fsleep(Delta::from_millis(50));
        let client_port = client.sock().lock().ip_state().local_port;

        let mut blob = KVec::new();
        capture(net, &loopback(PORT + 1), &loopback(client_port), |b| {
            blob.extend_from_slice(b, GFP_KERNEL)
                .map_err(|_| (ENOMEM, c"out of memory"))
        })
        .map_err(|(e, _)| e)?;
        assert_eq!(blob::decode(&blob)?.tcp.state, TCP_CLOSE_WAIT);

        inject(net, &blob).map_err(|(e, _)| e)?;
        let moved = patiently(|| listening.accept())?;
        assert_eq!(moved.sock().lock().state(), TCP_CLOSE_WAIT);
        assert_eq!(&recv_exactly(&moved, FROM_CLIENT.len())?[..], FROM_CLIENT);
        assert_eq!(patiently(|| moved.recv(&mut [0u8; 8]))?, 0); // the FIN
        moved.send(FROM_SERVER)?;
        assert_eq!(&recv_exactly(&client, FROM_SERVER.len())?[..], FROM_SERVER);
        Ok(())
    }
}
