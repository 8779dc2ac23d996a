// SPDX-License-Identifier: GPL-2.0

//! The capture -> inject round trip on one host (KUnit suite
//! `tcpmig_migration`): a kernel connection over loopback is captured,
//! injected back into a listener, and goes on; with odd but legal TCP,
//! and with the refusals that must leave nothing behind.

use kernel::prelude::*;

#[kunit_tests(tcpmig_migration)]
mod tests {
    use crate::blob;
    use crate::capture::capture;
    use crate::error::Failure;
    use crate::inject::inject;
    use crate::kunit::loopback;
    use crate::netns::NetState;
    use crate::node::Cluster;
    use crate::sys::net::Net;
    use crate::sys::sock::Family;
    use crate::sys::socket::KernelSocket;
    use crate::wire::opt;
    use crate::wire::{TCP_CLOSE_WAIT, TCP_ESTABLISHED};
    use kernel::prelude::*;
    use kernel::time::{
        delay::fsleep,
        Delta, //
    };

    /// The initial namespace's cluster state.
    fn cluster() -> Result<&'static Cluster> {
        Ok(NetState::initial().ok_or(ENODEV)?.cluster())
    }

    /// Decodes `blob` and injects it into `net`, as `conn-inject` does.
    fn inject_blob(net: &Net, blob: &[u8]) -> Result<(), Failure> {
        let conn = crate::wire::decode(blob).map_err(|e| Failure::blob(blob::to_errno(e), e))?;
        inject(
            net,
            &conn,
            &cluster().map_err(|e| (e, c"no state"))?.forward,
            None,
        )
    }

    /// Listener ports below the ephemeral range (32768-60999 by default):
    /// a client socket of an earlier test could hold one of those.
    const PORT: u16 = 27_011;
    const FROM_CLIENT: &[u8] = b"bytes the server has not read yet";
    const FROM_SERVER: &[u8] = b"bytes the client reads after the move";

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
            &cluster()?.hold,
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

        inject_blob(net, &blob).map_err(logged)?;
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

        inject_blob(net, &blob).map_err(logged)?;
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

        inject_blob(Net::init_net(), &blob).map_err(logged)?;
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

        inject_blob(Net::init_net(), &unscaled).map_err(logged)?;
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
        let refused = inject_blob(net, &blob).map_err(logged);
        assert!(refused == Err(ENOBUFS));
        fsleep(Delta::from_millis(100));
        // No RST and no FIN reached the client.
        assert_eq!(client.sock().state(), TCP_ESTABLISHED);
        assert!(client.recv(&mut [0u8; 8]).err() == Some(EAGAIN));

        let _queued = patiently(|| listening.accept())?;
        inject_blob(net, &blob).map_err(logged)?;
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
        let port = 28_000 + (crate::sys::time::jiffies() % 1000) as u16;
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
        inject_blob(Net::init_net(), &marked).map_err(logged)?;
        let moved = patiently(|| listening.accept())?;
        let ip = moved.sock().lock().ip_state();
        assert_eq!((ip.tos, ip.ttl), (0x28, 33));
        Ok(())
    }
}
