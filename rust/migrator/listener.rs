// SPDX-License-Identifier: GPL-2.0

//! The migrator's server side: accept admitted peers, then read each
//! request frame, check it (bounds, then the tag) before anything acts on
//! it, hand it to the handler and write the reply frame.

use super::{
    tag,
    verify,
    Handler,
    Inner, //
};
use crate::acceptor::Admitted;
use crate::sys::{
    net::Net,
    sock::{
        Endpoint,
        Family, //
    },
    socket::KernelSocket,
    wq::Chain,
};
use crate::wire::frame::{
    Header,
    Kind,
    HEADER_LEN,
    MAX_REPLY_LEN, //
};
use kernel::{
    prelude::*,
    sync::Arc, //
};

/// How long a frame, once begun, may go without a byte arriving (and a
/// reply may take to leave). Between frames a connection may idle
/// forever.
const FRAME_TIMEOUT_MS: u32 = 5_000;

/// Accept queue length: peers are few, and each keeps one connection.
const BACKLOG: i32 = 64;

/// A dual-stack listener on `[::]:port` in `net`.
pub(super) fn listen(net: &Net, port: u16) -> Result<KernelSocket> {
    let sock = KernelSocket::new_plain(net, Family::V6)?;
    // A restarted migrator must get its port back from TIME_WAIT.
    sock.reuse_addr();
    sock.bind(&Endpoint {
        family: Family::V6,
        addr: [0; 16],
        port,
    })?;
    sock.listen(BACKLOG)?;
    Ok(sock)
}

/// The acceptor: runs until the migrator stops (its listener shutdown
/// wakes the accept).
pub(super) fn accept_loop<H: Handler>(shared: Arc<Inner<H>>, chain: &Chain) {
    while let Some(sock) = shared.acceptor.accept() {
        let Ok(from) = sock.peer() else {
            continue; // Gone already.
        };
        if !shared.handler.admits(from.family, &from.addr) {
            shared.counters.refused.inc();
            continue; // `sock` drops: closed at once.
        }
        sock.set_nodelay();
        let Ok(sock) = Arc::new(sock, GFP_KERNEL) else {
            continue;
        };
        // Unbounded here; dropped (closed at once) when stopping.
        if !matches!(shared.acceptor.admit(&sock, usize::MAX), Admitted::Yes) {
            continue;
        }
        shared.counters.admitted.inc();
        let server = shared.clone();
        let conn = sock.clone();
        if chain.spawn(move |_| serve(&server, &conn, &from)).is_err() {
            forget(&shared, &sock);
        }
    }
}

/// Greets one connection, serves it until it ends, breaks or is
/// refused, then forgets it (its socket is released with the last
/// reference).
fn serve<H: Handler>(shared: &Arc<Inner<H>>, sock: &Arc<KernelSocket>, from: &Endpoint) {
    if greet(shared, sock).is_ok() {
        while serve_one(shared, sock, from).is_ok() {}
    }
    forget(shared, sock);
}

/// Sends the greeting: an empty HELLO frame under the cluster key.
fn greet<H: Handler>(shared: &Inner<H>, sock: &KernelSocket) -> Result {
    let Some(key) = shared.handler.key() else {
        shared.counters.no_key.inc();
        return Err(ENOKEY);
    };
    let header = Header::new(Kind::Hello, 0, 0).map_err(|_| EINVAL)?.encode();
    let hello_tag = tag(&key, &header, &[]);
    sock.set_timeouts(FRAME_TIMEOUT_MS, FRAME_TIMEOUT_MS);
    sock.send_all([&header, &hello_tag]).map_err(|(e, _)| e)
}

fn forget<H: Handler>(shared: &Inner<H>, sock: &Arc<KernelSocket>) {
    shared.acceptor.leave(sock);
}

/// Reads one request and answers it. Any error ends the connection; the
/// refusals are counted.
fn serve_one<H: Handler>(shared: &Inner<H>, sock: &KernelSocket, from: &Endpoint) -> Result {
    let counters = &shared.counters;
    let mut raw = [0u8; HEADER_LEN];
    // Idle as long as the peer likes; once a frame begins, it must keep
    // coming.
    sock.set_timeouts(FRAME_TIMEOUT_MS, 0);
    sock.recv_exact(&mut raw[..1])?;
    sock.set_timeouts(FRAME_TIMEOUT_MS, FRAME_TIMEOUT_MS);
    sock.recv_exact(&mut raw[1..])?;
    let header = match Header::decode(&raw) {
        Ok(h) if h.kind.is_request() => h,
        _ => {
            counters.bad_frames.inc();
            return Err(EBADMSG);
        }
    };
    let Some(key) = shared.handler.key() else {
        counters.no_key.inc();
        return Err(ENOKEY);
    };
    // Bounded by the header's check (at most the largest blob and a
    // tag), and grown only as the bytes come: an unauthenticated header
    // alone cannot make the node allocate what it announces.
    let mut rest = KVVec::new();
    let mut chunk = [0u8; 4096];
    while rest.len() < header.rest_len() {
        let n = (header.rest_len() - rest.len()).min(chunk.len());
        sock.recv_exact(&mut chunk[..n])?;
        rest.extend_from_slice(&chunk[..n], GFP_KERNEL_ACCOUNT)?;
    }
    let (payload, tag_bytes) = rest.split_at(header.payload_len());
    if !verify(&key, &raw, payload, tag_bytes) {
        counters.bad_tags.inc();
        return Err(EBADMSG);
    }
    let reply = shared
        .handler
        .handle(from, header.kind, header.request_id, payload);
    drop(rest);
    counters.served.inc();

    let mut buf = [0u8; MAX_REPLY_LEN];
    let body = reply.encode(&mut buf);
    let reply_header = Header::new(Kind::Reply, header.request_id, body.len())
        .map_err(|_| EINVAL)?
        .encode();
    let reply_tag = tag(&key, &reply_header, body);
    sock.send_all([&reply_header, body, &reply_tag])
        .map_err(|(e, _)| e)
}
