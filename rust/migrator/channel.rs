// SPDX-License-Identifier: GPL-2.0

//! The migrator's client side: up to [`CHANNELS`] connections per peer,
//! each made on first use and kept, each carrying one request at a time,
//! with a backoff after a failed connect. Its errors say whether the
//! request can have reached the peer.

use super::{
    tag,
    verify,
    Key,
    RequestError, //
};
use crate::stages::{
    Stage,
    Stages, //
};
use crate::sys::{
    net::Net,
    sock::Endpoint,
    socket::KernelSocket, //
};
use crate::wire::frame::{
    Header,
    Kind,
    Reply,
    HEADER_LEN,
    MAX_REPLY_LEN,
    TAG_LEN, //
};
use core::sync::atomic::{
    AtomicU64,
    AtomicUsize,
    Ordering, //
};
use kernel::{
    prelude::*,
    sync::{
        new_mutex,
        Arc,
        Mutex, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
};

/// The first backoff after a failed connect; it doubles up to the last.
const BACKOFF_MIN_MS: u32 = 100;
const BACKOFF_MAX_MS: u32 = 5_000;

/// Requests in flight side by side to one peer, each on a connection of
/// its own. The peer accepts their ids out of order within its replay
/// window (`peers::REPLAY_WINDOW`).
pub(super) const CHANNELS: usize = 4;

/// A peer migrator, and the channels to it.
#[pin_data]
pub(super) struct Remote {
    pub(super) addr: Endpoint,
    /// Each held for a whole request.
    #[pin]
    channels: [Mutex<Channel>; CHANNELS],
    /// Which busy channel the next request queues on.
    next: AtomicUsize,
    /// Inner by the channels: a peer that refused one connect is not
    /// tried again by the others before the backoff is over.
    #[pin]
    backoff: Mutex<Backoff>,
    /// When the last request found the peer unreachable, in jiffies; 0
    /// when it answered (read without the channels' locks, which a
    /// request holds throughout).
    pub(super) down_since: AtomicU64,
}

impl Remote {
    pub(super) fn new(addr: &Endpoint) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                addr: *addr,
                channels <- pin_init::pin_init_array_from_fn(|_| {
                    new_mutex!(Channel { sock: None })
                }),
                next: AtomicUsize::new(0),
                backoff <- new_mutex!(Backoff {
                    retry_at: None,
                    backoff_ms: 0,
                }),
                down_since: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// Whether this is the peer at `addr`.
    pub(super) fn is(&self, addr: &Endpoint) -> bool {
        self.addr.family == addr.family
            && self.addr.addr == addr.addr
            && self.addr.port == addr.port
    }

    /// One request and its reply, on a free channel (one with a
    /// connection first), or queued behind one in turn when all are
    /// busy. Marks in `stages` when the channel was had.
    #[expect(clippy::too_many_arguments)]
    pub(super) fn exchange(
        &self,
        net: &Net,
        header: Header,
        payload: &[u8],
        key: &Key,
        deadline: Instant<Monotonic>,
        next_id: &AtomicU64,
        stages: &mut Stages,
    ) -> Result<(Reply, Endpoint), RequestError> {
        // A free channel with a connection first, channel 0 first:
        // requests one after another keep using one connection, and a
        // peer in its connect backoff still takes requests on the
        // connections it has. Then any free channel; then a busy one.
        let connected = || {
            self.channels
                .iter()
                .find_map(|c| c.try_lock().filter(|c| c.sock.is_some()))
        };
        let free = || self.channels.iter().find_map(|c| c.try_lock());
        let mut channel = match connected().or_else(free) {
            Some(channel) => channel,
            None => {
                let turn = self.next.fetch_add(1, Ordering::Relaxed) % CHANNELS;
                self.channels[turn].lock()
            }
        };
        stages.mark(Stage::Channel);
        channel.exchange(
            net,
            &self.addr,
            &self.backoff,
            header,
            payload,
            key,
            deadline,
            next_id,
            stages,
        )
    }
}

/// A connection to a peer, made on first use.
struct Channel {
    sock: Option<KernelSocket>,
}

/// When to try connecting to a peer again.
struct Backoff {
    /// After a failed connect: no new one before this.
    retry_at: Option<Instant<Monotonic>>,
    /// The backoff the next failed connect sets (0: none failed yet).
    backoff_ms: u32,
}

/// Milliseconds left until `deadline`; 0 when it passed.
fn left_ms(deadline: Instant<Monotonic>) -> u32 {
    let left = (deadline - Instant::<Monotonic>::now()).as_millis_ceil();
    left.clamp(0, i64::from(u32::MAX)) as u32
}

impl Channel {
    /// One request and its reply; the connection is kept only if both
    /// went through.
    #[expect(clippy::too_many_arguments)]
    fn exchange(
        &mut self,
        net: &Net,
        addr: &Endpoint,
        backoff: &Mutex<Backoff>,
        header: Header,
        payload: &[u8],
        key: &Key,
        deadline: Instant<Monotonic>,
        next_id: &AtomicU64,
        stages: &mut Stages,
    ) -> Result<(Reply, Endpoint), RequestError> {
        // Waiting for the channel used up the time: nothing was sent.
        if left_ms(deadline) == 0 {
            return Err(RequestError::Unreachable(ETIMEDOUT));
        }
        let sock = self.connect(net, addr, backoff, key, deadline)?;
        let local = sock.local().map_err(RequestError::Unreachable)?;
        let request_id = next_id.fetch_add(1, Ordering::Relaxed);
        let header = Header::new(header.kind, request_id, header.payload_len())
            .map_err(|_| RequestError::Local(EMSGSIZE))?
            .encode();
        let tag = tag(key, &header, payload);
        let left = left_ms(deadline).max(1);
        sock.set_timeouts(left, left);
        match sock.send_all([&header, payload, &tag]) {
            Ok(()) => {}
            Err((e, 0)) => return Err(RequestError::Unreachable(e)),
            Err((e, _)) => return Err(RequestError::Ambiguous(e)),
        }
        stages.mark(Stage::Sent);
        let reply = read_reply(&sock, request_id, key, deadline)?;
        stages.mark(Stage::Acked);
        // Only a connection that carried a whole exchange is reused: no
        // stale reply can be waiting in it.
        self.sock = Some(sock);
        Ok((reply, local))
    }

    /// The kept connection if it is still good, else a new one (unless
    /// the backoff of a failed connect is not over).
    fn connect(
        &mut self,
        net: &Net,
        addr: &Endpoint,
        backoff: &Mutex<Backoff>,
        key: &Key,
        deadline: Instant<Monotonic>,
    ) -> Result<KernelSocket, RequestError> {
        if let Some(sock) = self.sock.take() {
            if sock.idle_ok() {
                return Ok(sock);
            }
            // The peer closed it (or sent what nobody asked for).
        }
        let now = Instant::<Monotonic>::now();
        let waiting = |b: &Backoff| b.retry_at.is_some_and(|at| (at - now).as_nanos() > 0);
        if waiting(&backoff.lock()) {
            return Err(RequestError::Unreachable(EAGAIN));
        }
        let sock = KernelSocket::new_plain(net, addr.family).map_err(RequestError::Local)?;
        sock.set_nodelay();
        let left = left_ms(deadline).max(1);
        sock.set_timeouts(left, left);
        match sock
            .connect(addr)
            .and_then(|()| read_hello(&sock, key, deadline))
        {
            Ok(()) => {
                let mut b = backoff.lock();
                b.retry_at = None;
                b.backoff_ms = 0;
                Ok(sock)
            }
            Err(e) => {
                let mut b = backoff.lock();
                // Channels that failed side by side back off once.
                if !waiting(&b) {
                    b.backoff_ms = match b.backoff_ms {
                        0 => BACKOFF_MIN_MS,
                        ms => (ms * 2).min(BACKOFF_MAX_MS),
                    };
                    // From the failure: a connect that timed out took
                    // longer than the backoff.
                    let failed = Instant::<Monotonic>::now();
                    b.retry_at = Some(failed + Delta::from_millis(b.backoff_ms.into()));
                }
                // A blocking connect that ran out of time says EINPROGRESS.
                Err(RequestError::Unreachable(if e == EINPROGRESS {
                    ETIMEDOUT
                } else {
                    e
                }))
            }
        }
    }
}

/// Reads the listener's greeting: a peer that closes the connection
/// instead does not admit this node (`ECONNREFUSED`), one whose tag does
/// not verify has another key (`EKEYREJECTED`).
fn read_hello(sock: &KernelSocket, key: &Key, deadline: Instant<Monotonic>) -> Result {
    let mut raw = [0u8; HEADER_LEN + TAG_LEN];
    sock.set_timeouts(left_ms(deadline).max(1), left_ms(deadline).max(1));
    sock.recv_exact(&mut raw).map_err(|e| {
        if e == EAGAIN || e == ETIMEDOUT {
            ETIMEDOUT
        } else {
            ECONNREFUSED
        }
    })?;
    let (header, tag_bytes) = raw.split_at(HEADER_LEN);
    let hello = <&[u8; HEADER_LEN]>::try_from(header)
        .ok()
        .and_then(|h| Header::decode(h).ok());
    if !hello.is_some_and(|h| h.kind == Kind::Hello && h.payload_len() == 0) {
        return Err(EPROTO);
    }
    if !verify(key, header, &[], tag_bytes) {
        return Err(EKEYREJECTED);
    }
    Ok(())
}

/// Reads the reply to `request_id`: the right kind and id, a valid tag,
/// a well-formed payload.
fn read_reply(
    sock: &KernelSocket,
    request_id: u64,
    key: &Key,
    deadline: Instant<Monotonic>,
) -> Result<Reply, RequestError> {
    let ambiguous = RequestError::Ambiguous;
    let timeouts = || match left_ms(deadline) {
        0 => Err(ambiguous(ETIMEDOUT)),
        left => {
            sock.set_timeouts(left, left);
            Ok(())
        }
    };
    let mut raw = [0u8; HEADER_LEN];
    timeouts()?;
    sock.recv_exact(&mut raw).map_err(ambiguous)?;
    let header = match Header::decode(&raw) {
        Ok(h) if h.kind == Kind::Reply && h.request_id == request_id => h,
        _ => return Err(RequestError::BadReply),
    };
    let mut buf = [0u8; MAX_REPLY_LEN + TAG_LEN];
    let rest = &mut buf[..header.rest_len()];
    timeouts()?;
    sock.recv_exact(rest).map_err(ambiguous)?;
    let (payload, tag_bytes) = rest.split_at(header.payload_len());
    if !verify(key, &raw, payload, tag_bytes) {
        return Err(RequestError::BadReply);
    }
    Reply::decode(payload).map_err(|_| RequestError::BadReply)
}
