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
    blob,
    error::Failure,
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
        self,
        opt,
        Connection,
        TCP_CLOSE_WAIT, //
    },
};
use kernel::prelude::*;

/// Injects the connection in `blob` into `net`'s listener on the blob's
/// local address and port. On failure nothing is left behind.
pub(crate) fn inject(net: &Net, blob: &[u8], hold: &HoldTable) -> Result<(), Failure> {
    inject_to(net, blob, hold, None)
}

/// Like [`inject`], into the listener on `listener_port` of the blob's
/// local address when given: the connection keeps its own port (its
/// packets find it by the 4-tuple) and that listener's owner accepts it.
pub(crate) fn inject_to(
    net: &Net,
    blob: &[u8],
    hold: &HoldTable,
    listener_port: Option<u16>,
) -> Result<(), Failure> {
    let conn = wire::decode(blob).map_err(|e| Failure::blob(blob::to_errno(e), e))?;
    let (local, remote) = endpoints(&conn).ok_or((EINVAL, c"invalid blob"))?;
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
    let repair = rebuild(&socket, &conn, &local, &remote)
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
    let (_, unsent) = sent_and_unsent(&conn);
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
    let tuple = Tuple::of(&local, &remote);
    hold.thaw(&tuple);
    hold.unforward_any(&tuple);
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

/// Resets the client of the connection in `blob`, captured (frozen) here
/// and taken nowhere: the connection is rebuilt in a socket of its own,
/// which then aborts, sending a RST in the connection's sequence space.
/// A client waiting for an answer would otherwise wait forever. Its held
/// packets go last (they meet no socket, and draw RSTs too).
pub(crate) fn reset_client(net: &Net, blob: &[u8], hold: &HoldTable) {
    let Some((conn, (local, remote))) = wire::decode(blob)
        .ok()
        .and_then(|conn| Some((conn.clone(), endpoints(&conn)?)))
    else {
        return;
    };
    if let Ok(mut socket) = KernelSocket::new(net, local.family) {
        socket.close_silently();
        if let Ok(repair) = rebuild(&socket, &conn, &local, &remote) {
            if repair.finish().is_ok() {
                socket.sock().abort();
            }
        }
    }
    hold.thaw(&Tuple::of(&local, &remote));
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

#[kunit_tests(tcpmig_migration)]
mod tests {
    use super::*;
    use crate::capture::capture;
    use crate::wire::TCP_ESTABLISHED;
    use kernel::time::{
        delay::fsleep,
        Delta, //
    };

    use crate::netns::NetState;

    /// The initial namespace's hold table.
    fn test_hold() -> Result<&'static HoldTable> {
        Ok(NetState::of(Net::init_net()).ok_or(ENODEV)?.hold())
    }

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

    /// A failure's errno, its message logged (it shows in the KTAP output).
    fn logged(failure: Failure) -> Error {
        pr_err!("{:?}\n", failure);
        failure.errno
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

    /// A kernel listener on `port`. It reuses the address: a test run
    /// earlier (the suite runs at every insmod) can leave a connection of
    /// the port in TIME_WAIT.
    fn listener(port: u16, backlog: i32) -> Result<KernelSocket> {
        let listening = KernelSocket::new(Net::init_net(), Family::V4)?;
        listening.reuse_addr();
        listening.bind(&loopback(port))?;
        listening.listen(backlog)?;
        Ok(listening)
    }

    /// A loopback connection to a kernel listener on `port`: the
    /// listener, the client, the accepted server end and the client's
    /// port.
    fn connected(port: u16) -> Result<(KernelSocket, KernelSocket, KernelSocket, u16)> {
        let net = Net::init_net();
        let listening = listener(port, 8)?;
        let client = KernelSocket::new(net, Family::V4)?;
        client.connect(&loopback(port))?;
        let server = patiently(|| listening.accept())?;
        server.make_movable();
        let client_port = client.sock().lock().ip_state().local_port;
        Ok((listening, client, server, client_port))
    }

    /// Captures the server end of `port`'s connection from `client_port`.
    fn capture_server(port: u16, client_port: u16) -> Result<KVec<u8>> {
        let mut blob = KVec::new();
        capture(
            Net::init_net(),
            &loopback(port),
            &loopback(client_port),
            None,
            |b| {
                blob.extend_from_slice(b, GFP_KERNEL)
                    .map_err(|_| (ENOMEM, c"out of memory").into())
            },
        )
        .map_err(logged)?;
        Ok(blob)
    }

    /// A kernel connection over loopback, captured on the server side and
    /// injected back into the same listener, keeps every field the blob
    /// carries, its unread bytes, and goes on in both directions.
    #[test]
    fn capture_then_inject_keeps_the_connection() -> Result {
        let net = Net::init_net();
        let (listening, client, server, client_port) = connected(PORT)?;
        client.send(FROM_CLIENT)?;
        fsleep(Delta::from_millis(50));
        let blob = capture_server(PORT, client_port)?;
        let before = blob::decode(&blob)?;
        assert_eq!(before.recv_data, FROM_CLIENT);
        // The old socket is frozen: its owner sees the connection aborted.
        assert!(server.recv(&mut [0u8; 8]).err() == Some(ECONNABORTED));

        inject(net, &blob, test_hold()?).map_err(logged)?;
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
        let (listening, client, _server, client_port) = connected(PORT + 1)?;
        client.send(FROM_CLIENT)?;
        client.shutdown_write()?;
        fsleep(Delta::from_millis(50));
        let blob = capture_server(PORT + 1, client_port)?;
        assert_eq!(blob::decode(&blob)?.tcp.state, TCP_CLOSE_WAIT);

        inject(net, &blob, test_hold()?).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        assert_eq!(moved.sock().lock().state(), TCP_CLOSE_WAIT);
        assert_eq!(&recv_exactly(&moved, FROM_CLIENT.len())?[..], FROM_CLIENT);
        assert_eq!(patiently(|| moved.recv(&mut [0u8; 8]))?, 0); // the FIN
        moved.send(FROM_SERVER)?;
        assert_eq!(&recv_exactly(&client, FROM_SERVER.len())?[..], FROM_SERVER);
        Ok(())
    }

    /// A CLOSE_WAIT connection whose owner already read the end-of-file
    /// (its `copied_seq` is past the FIN) moves too, and its new owner
    /// reads the end-of-file again.
    #[test]
    fn close_wait_after_eof_moves() -> Result {
        let port = PORT + 2;
        let (listening, client, server, client_port) = connected(port)?;
        client.send(FROM_CLIENT)?;
        client.shutdown_write()?;
        assert_eq!(&recv_exactly(&server, FROM_CLIENT.len())?[..], FROM_CLIENT);
        assert_eq!(patiently(|| server.recv(&mut [0u8; 8]))?, 0); // the FIN

        let blob = capture_server(port, client_port)?;
        let conn = blob::decode(&blob)?;
        assert_eq!(conn.tcp.state, TCP_CLOSE_WAIT);
        assert!(conn.recv_data.is_empty());

        inject(Net::init_net(), &blob, test_hold()?).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        assert_eq!(patiently(|| moved.recv(&mut [0u8; 8]))?, 0);
        moved.send(FROM_SERVER)?;
        assert_eq!(&recv_exactly(&client, FROM_SERVER.len())?[..], FROM_SERVER);
        Ok(())
    }

    /// A connection without window scaling comes back without it: no
    /// scale divides its advertised windows, and its window clamp is the
    /// blob's.
    #[test]
    fn unscaled_connection_stays_unscaled() -> Result {
        let port = PORT + 3;
        let (listening, _client, _server, client_port) = connected(port)?;
        let blob = capture_server(port, client_port)?;
        let mut conn = blob::decode(&blob)?;
        let t = &mut conn.tcp;
        t.options &= !opt::WSCALE;
        (t.snd_wscale, t.rcv_wscale) = (0, 0);
        t.snd_wnd = t.snd_wnd.min(0xffff);
        t.max_window = t.max_window.min(0xffff);
        t.rcv_wnd = t.rcv_wnd.min(0xffff);
        t.window_clamp = 60_000;
        let unscaled = blob::encode(&conn)?;

        inject(Net::init_net(), &unscaled, test_hold()?).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        let after = moved.sock().lock().tcp_state();
        assert_eq!(after.options & opt::WSCALE, 0);
        assert_eq!((after.snd_wscale, after.rcv_wscale), (0, 0));
        assert_eq!(after.window_clamp, 60_000);
        Ok(())
    }

    /// An inject that fails at the listener (its accept queue full)
    /// changes nothing: the peer sees no reset and no close, and the same
    /// blob goes in once the listener has room.
    #[test]
    fn refused_inject_leaves_the_connection_alone() -> Result {
        let port = PORT + 4;
        let net = Net::init_net();
        let listening = listener(port, 0)?; // full with one queued connection
        let client = KernelSocket::new(net, Family::V4)?;
        client.connect(&loopback(port))?;
        let server = patiently(|| listening.accept())?;
        server.make_movable();
        let client_port = client.sock().lock().ip_state().local_port;
        let queued = KernelSocket::new(net, Family::V4)?;
        queued.connect(&loopback(port))?;
        client.send(FROM_CLIENT)?;
        fsleep(Delta::from_millis(50));

        let blob = capture_server(port, client_port)?;
        let refused = inject(net, &blob, test_hold()?).map_err(logged);
        assert!(refused == Err(ENOBUFS));
        fsleep(Delta::from_millis(100));
        // No RST and no FIN reached the client.
        assert_eq!(client.sock().state(), TCP_ESTABLISHED);
        assert!(client.recv(&mut [0u8; 8]).err() == Some(EAGAIN));

        let _queued = patiently(|| listening.accept())?;
        inject(net, &blob, test_hold()?).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        assert_eq!(&recv_exactly(&moved, FROM_CLIENT.len())?[..], FROM_CLIENT);
        moved.send(FROM_SERVER)?;
        assert_eq!(&recv_exactly(&client, FROM_SERVER.len())?[..], FROM_SERVER);
        Ok(())
    }

    /// Connections a blob cannot carry faithfully stay where they are,
    /// each refused with its own reason.
    #[test]
    fn unmovable_connections_are_refused() -> Result {
        let refused = |port: u16, client_port: u16| -> Result<Error> {
            match capture_server(port, client_port) {
                Err(e) => Ok(e),
                Ok(_) => Err(EINVAL), // moved: the test fails below
            }
        };
        // A kernel user's socket.
        let port = PORT + 5;
        let net = Net::init_net();
        let listening = listener(port, 8)?;
        let client = KernelSocket::new(net, Family::V4)?;
        client.connect(&loopback(port))?;
        let kernel_owned = patiently(|| listening.accept())?;
        let client_port = client.sock().lock().ip_state().local_port;
        assert!(refused(port, client_port)? == EOPNOTSUPP);
        drop(kernel_owned);

        // Urgent data pending at the server.
        let (_l, client, server, client_port) = connected(PORT + 6)?;
        client.send_urgent(b'!')?;
        fsleep(Delta::from_millis(50));
        assert!(refused(PORT + 6, client_port)? == EOPNOTSUPP);
        // It is still the server's: it reads the urgent byte's neighbours.
        assert!(server.sock().state() == TCP_ESTABLISHED);

        // TCP-MD5.
        let (_l, _client, server, client_port) = connected(PORT + 7)?;
        server.set_md5_key()?;
        assert!(refused(PORT + 7, client_port)? == EOPNOTSUPP);

        // An MPTCP connection's subflow. (A port of its own each run: the
        // subflows of the previous run may still be in TIME_WAIT.)
        let port = 48_000 + (crate::sys::time::jiffies() % 1000) as u16;
        let listening = KernelSocket::new_mptcp(net, Family::V4)?;
        listening.bind(&loopback(port))?;
        listening.listen(8)?;
        let client = KernelSocket::new_mptcp(net, Family::V4)?;
        client.connect(&loopback(port))?;
        let _server = patiently(|| listening.accept())?;
        let subflow = refused(port, client.local_port())?;
        assert!(subflow == EOPNOTSUPP);

        // kTLS (the ULP attached, no keys yet).
        let (_l, _client, server, client_port) = connected(PORT + 8)?;
        server.set_ulp(c"tls")?;
        assert!(refused(PORT + 8, client_port)? == EOPNOTSUPP);
        assert!(server.sock().state() == TCP_ESTABLISHED);
        Ok(())
    }

    /// The IP side moves too: a connection's own TOS and TTL.
    #[test]
    fn tos_and_ttl_are_restored() -> Result {
        let port = PORT + 10;
        let (listening, _client, _server, client_port) = connected(port)?;
        let blob = capture_server(port, client_port)?;
        let mut conn = blob::decode(&blob)?;
        (conn.ip.tos, conn.ip.ttl) = (0x28, 33);
        let marked = blob::encode(&conn)?;
        inject(Net::init_net(), &marked, test_hold()?).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        let ip = moved.sock().lock().ip_state();
        assert_eq!((ip.tos, ip.ttl), (0x28, 33));
        Ok(())
    }
}
