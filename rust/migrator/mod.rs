// SPDX-License-Identifier: GPL-2.0

//! The connection migrator: authenticated request/reply frames between
//! nodes over kernel TCP sockets.
//!
//! Every node (network namespace) runs one: a dual-stack listener on the
//! migrator port whose admitted connections are served on a workqueue of
//! its own (`listener`), and a few outgoing connections per peer for
//! the requests this node makes (`channel`). A front-end sends a blob with
//! MIGRATE and waits for the reply; a back-end reports a flow's end with
//! FLOW_END. Frames are `wire::frame`, authenticated by HMAC-SHA256 with
//! the cluster key. `Documentation/tcpmig/migrator.rst` has the details.

mod channel;
mod listener;

use crate::acceptor::Acceptor;
use crate::stages::Stages;
use crate::stats::Counter;
use crate::sys::{
    hmac::{
        hmac_sha256,
        tags_equal,
        Tag,
        TAG_LEN, //
    },
    net::Net,
    sock::{
        Endpoint,
        Family, //
    },
    socket::KernelSocket,
    time::{
        jiffies,
        real_time_ns, //
    },
    wq::OwnedQueue,
};
use crate::wire::frame::Header;
pub(crate) use crate::wire::frame::{
    Kind,
    Reply, //
};
use channel::Remote;
use core::sync::atomic::{
    AtomicU64,
    Ordering, //
};
use kernel::time::msecs_to_jiffies;
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

/// Length of the cluster key.
pub(crate) const KEY_LEN: usize = 32;

/// The cluster key: every frame carries an HMAC-SHA256 tag made with it.
pub(crate) type Key = [u8; KEY_LEN];

/// What the node does with the migrator's traffic.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Whether a connection from `addr` may send requests (the peer
    /// allowlist); others are closed at once.
    fn admits(&self, family: Family, addr: &[u8; 16]) -> bool;

    /// The cluster key; `None` refuses every frame (and request).
    fn key(&self) -> Option<Key>;

    /// Answers an authenticated request of `kind` (never a reply) from
    /// `from`. Runs in a worker of the migrator and may sleep, but must
    /// return in bounded time: the migrator's teardown waits for it.
    fn handle(&self, from: &Endpoint, kind: Kind, request_id: u64, payload: &[u8]) -> Reply;
}

/// Why a request got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// Refused before anything was tried (no key, payload above the
    /// kind's bound, out of memory): nothing was sent.
    Local(Error),
    /// Nothing was sent: the connect failed, or an earlier one did and
    /// the peer's backoff (`EAGAIN`) is not over. The caller can safely
    /// roll back.
    Unreachable(Error),
    /// The request may have reached the peer (the connection broke or
    /// timed out after its first byte was sent): the caller must find
    /// out, as the peer may have acted on it.
    Ambiguous(Error),
    /// An answer came that is not a reply to the request (wrong kind or
    /// id, bad tag, malformed); the peer may have acted on the request.
    BadReply,
}

/// Counters of the migrator's listener.
#[derive(Default)]
struct Counters {
    admitted: Counter,
    refused: Counter,
    served: Counter,
    bad_frames: Counter,
    bad_tags: Counter,
    no_key: Counter,
}

/// A snapshot of the migrator's listener counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MigratorStats {
    /// Connections admitted.
    pub(crate) admitted: u64,
    /// Connections from addresses the handler does not admit.
    pub(crate) refused: u64,
    /// Requests handled and answered.
    pub(crate) served: u64,
    /// Connections closed on a malformed frame (magic, version, kind,
    /// reserved fields, bounds).
    pub(crate) bad_frames: u64,
    /// Connections closed on a frame whose tag did not verify.
    pub(crate) bad_tags: u64,
    /// Connections closed on a frame that came while no key was set.
    pub(crate) no_key: u64,
}

/// What the migrator's workers share with it.
#[pin_data]
struct Inner<H: Handler> {
    handler: H,
    /// The listener and the connections being served.
    #[pin]
    acceptor: Acceptor,
    #[pin]
    peers: Mutex<KVec<Arc<Remote>>>,
    counters: Counters,
    next_id: AtomicU64,
}

impl<H: Handler> Inner<H> {
    /// Wakes every worker: each blocked accept, receive or send fails.
    fn stop(&self) {
        self.acceptor.stop(KernelSocket::shutdown);
    }
}

/// How long a peer found unreachable counts as down.
pub(crate) const DOWN_MS: u32 = 1_000;

/// A node's connection migrator.
pub(crate) struct Migrator<H: Handler> {
    /// Dropped first: waits for every worker, which hold `shared`.
    _queue: OwnedQueue,
    shared: Arc<Inner<H>>,
}

impl<H: Handler> Migrator<H> {
    /// Listens on `[::]:port` (IPv4 peers too) in `net` and serves the
    /// admitted connections with `handler`. Port 0 picks a free one (a
    /// node that only makes requests). The migrator must be dropped
    /// before `net` is dismantled: its sockets hold no reference to it.
    pub(crate) fn new(net: &Net, port: u16, handler: H) -> Result<Self> {
        let listener = listener::listen(net, port)?;
        let queue = OwnedQueue::new()?;
        let shared = Arc::pin_init(
            try_pin_init!(Inner {
                handler,
                acceptor <- Acceptor::new(listener),
                peers <- new_mutex!(KVec::new()),
                counters: Counters::default(),
                // Ids keep growing across module reloads and reboots.
                next_id: AtomicU64::new(real_time_ns()),
            }),
            GFP_KERNEL,
        )?;
        let acceptor = shared.clone();
        queue.spawn(move |chain| listener::accept_loop(acceptor, chain))?;
        Ok(Self {
            _queue: queue,
            shared,
        })
    }

    /// What handles the requests from peers.
    pub(crate) fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// The listener's counters.
    pub(crate) fn stats(&self) -> MigratorStats {
        let c = &self.shared.counters;
        MigratorStats {
            admitted: c.admitted.get(),
            refused: c.refused.get(),
            served: c.served.get(),
            bad_frames: c.bad_frames.get(),
            bad_tags: c.bad_tags.get(),
            no_key: c.no_key.get(),
        }
    }

    /// Sends a request of `kind` to the migrator at `peer` and waits for
    /// its reply, at most `timeout_ms` in all (connect, send, receive).
    /// Requests to one peer go side by side over up to
    /// [`channel::CHANNELS`] connections, each made on first use and
    /// kept. May sleep; never call it from the packet path.
    pub(crate) fn request(
        &self,
        peer: &Endpoint,
        kind: Kind,
        payload: &[u8],
        timeout_ms: u32,
    ) -> Result<Reply, RequestError> {
        self.request_via(peer, kind, payload, timeout_ms, &mut Stages::default())
            .map(|(reply, _)| reply)
    }

    /// Like [`request`](Self::request), and says which local address the
    /// request went from (the address the peer knows this node by); marks
    /// in `stages` when the channel was free, the request sent and the
    /// reply read.
    pub(crate) fn request_via(
        &self,
        peer: &Endpoint,
        kind: Kind,
        payload: &[u8],
        timeout_ms: u32,
        stages: &mut Stages,
    ) -> Result<(Reply, Endpoint), RequestError> {
        if !kind.is_request() {
            return Err(RequestError::Local(EINVAL));
        }
        // Checks the bound; the id is set once the connection is there.
        let header =
            Header::new(kind, 0, payload.len()).map_err(|_| RequestError::Local(EMSGSIZE))?;
        let key = self
            .shared
            .handler
            .key()
            .ok_or(RequestError::Local(ENOKEY))?;
        let peer = self.peer(peer).map_err(RequestError::Local)?;
        // The caller's time runs from now, waiting for the channel included.
        let deadline = Instant::<Monotonic>::now() + Delta::from_millis(timeout_ms.max(1).into());
        let result = peer.exchange(
            self.shared.acceptor.listener().net(),
            header,
            payload,
            &key,
            deadline,
            &self.shared.next_id,
            stages,
        );
        let down_since = match result {
            // Never 0, the mark of a peer that is up.
            Err(RequestError::Unreachable(_)) => jiffies().max(1),
            _ => 0,
        };
        peer.down_since.store(down_since, Ordering::Relaxed);
        result
    }

    /// Whether a request to the migrator at `addr` found it unreachable
    /// less than [`DOWN_MS`] ago (one never asked is taken to be up).
    /// After that it is up again: the next request probes it.
    pub(crate) fn is_down(&self, addr: &Endpoint) -> bool {
        let peers = self.shared.peers.lock();
        let Some(since) = peers
            .iter()
            .find(|p| p.is(addr))
            .map(|p| p.down_since.load(Ordering::Relaxed))
        else {
            return false;
        };
        since != 0 && jiffies().wrapping_sub(since) < msecs_to_jiffies(DOWN_MS) as u64
    }

    /// The peer `addr`, added on first use.
    fn peer(&self, addr: &Endpoint) -> Result<Arc<Remote>> {
        let mut peers = self.shared.peers.lock();
        if let Some(peer) = peers.iter().find(|p| p.is(addr)) {
            return Ok(peer.clone());
        }
        let peer = Remote::new(addr)?;
        peers.push(peer.clone(), GFP_KERNEL)?;
        Ok(peer)
    }
}

impl<H: Handler> Drop for Migrator<H> {
    /// Wakes every worker here; `queue` then drops and waits for them,
    /// and `shared` (the last reference) releases the sockets. Nothing
    /// of the migrator runs once this returns.
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// The tag of a frame: over its header and payload.
fn tag(key: &Key, header: &[u8], payload: &[u8]) -> Tag {
    hmac_sha256(key, [header, payload])
}

/// Whether `tag` is the tag of `header` and `payload` with `key`.
fn verify(key: &Key, header: &[u8], payload: &[u8], tag_bytes: &[u8]) -> bool {
    let Ok(got) = <&Tag>::try_from(tag_bytes) else {
        return false;
    };
    tags_equal(&tag(key, header, payload), got)
}

const _: () = assert!(TAG_LEN == crate::wire::frame::TAG_LEN);

#[kunit_tests(tcpmig_migrator)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicBool;
    use kernel::time::delay::fsleep;

    const KEY: Key = [0x5a; KEY_LEN];
    const OTHER_KEY: Key = [0xa5; KEY_LEN];
    const TIMEOUT_MS: u32 = 10_000;
    /// Listener ports of the servers below (the clients take any), below
    /// the ephemeral range, where no client socket can hold one.
    const PORT: u16 = 27_240;

    /// A handler that admits one family (or both), answers `nack...`
    /// payloads with a refusal, checks the pattern of large ones, holds
    /// `hold` requests while `hold` is set, and remembers the last
    /// request.
    struct TestHandler {
        key: Option<Key>,
        only: Option<Family>,
        last_id: AtomicU64,
        last_from_v4: AtomicBool,
        handled: AtomicU64,
        hold: AtomicBool,
    }

    fn handler(key: Option<Key>, only: Option<Family>) -> TestHandler {
        TestHandler {
            key,
            only,
            last_id: AtomicU64::new(0),
            last_from_v4: AtomicBool::new(false),
            handled: AtomicU64::new(0),
            hold: AtomicBool::new(false),
        }
    }

    fn pattern(i: usize) -> u8 {
        (i % 251) as u8
    }

    impl Handler for TestHandler {
        fn admits(&self, family: Family, _addr: &[u8; 16]) -> bool {
            self.only.is_none_or(|f| f == family)
        }

        fn key(&self) -> Option<Key> {
            self.key
        }

        fn handle(&self, from: &Endpoint, kind: Kind, request_id: u64, payload: &[u8]) -> Reply {
            self.handled.fetch_add(1, Ordering::Relaxed);
            self.last_id.store(request_id, Ordering::Relaxed);
            self.last_from_v4
                .store(from.family == Family::V4, Ordering::Relaxed);
            // Bounded, as a handler must be: the test gives up after it.
            for _ in 0..TIMEOUT_MS / 10 {
                if payload != b"hold" || !self.hold.load(Ordering::Relaxed) {
                    break;
                }
                fsleep(Delta::from_millis(10));
            }
            if payload.starts_with(b"nack") {
                return Reply::error(ENOENT.to_errno(), b"no such flow: 192.0.2.1:40000");
            }
            if kind == Kind::Migrate && payload.iter().enumerate().any(|(i, &b)| b != pattern(i)) {
                return Reply::error(EINVAL.to_errno(), b"pattern");
            }
            Reply::ok()
        }
    }

    use crate::kunit::{loopback as v4, loopback6 as v6};

    fn migrator(port: u16, handler: TestHandler) -> Result<Migrator<TestHandler>> {
        Migrator::new(Net::init_net(), port, handler)
    }

    /// Requests over IPv4 and IPv6 are handled and answered; the second
    /// to a peer reuses its connection; ids grow; the server sees IPv4
    /// peers as IPv4 (not v4-mapped).
    #[test]
    fn request_and_reply() -> Result {
        let server = migrator(PORT, handler(Some(KEY), None))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client.request(&v4(PORT), Kind::FlowEnd, b"flow 7 ended", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        assert!(server.handler().last_from_v4.load(Ordering::Relaxed));
        let first = server.handler().last_id.load(Ordering::Relaxed);
        let reply = client.request(&v4(PORT), Kind::FlowEnd, b"", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        let second = server.handler().last_id.load(Ordering::Relaxed);
        assert!(second > first);
        assert_eq!(server.stats().admitted, 1);

        let reply = client.request(&v6(PORT), Kind::FlowEnd, b"over ::1", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        assert!(!server.handler().last_from_v4.load(Ordering::Relaxed));
        assert!(server.handler().last_id.load(Ordering::Relaxed) > second);
        let stats = server.stats();
        assert_eq!(stats.admitted, 2);
        assert_eq!(stats.served, 3);
        assert_eq!(stats.bad_frames + stats.bad_tags + stats.refused, 0);
        Ok(())
    }

    /// Requests to one peer run side by side: one the server holds does
    /// not keep the next waiting, which takes a second connection.
    #[test]
    fn requests_run_side_by_side() -> Result {
        let server = migrator(PORT + 9, handler(Some(KEY), None))?;
        server.handler().hold.store(true, Ordering::Relaxed);
        let client = Arc::new(migrator(0, handler(Some(KEY), None))?, GFP_KERNEL)?;
        // 0 while the held request is in flight, then 1 if it went through.
        let held = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
        let queue = OwnedQueue::new()?;
        let (c, h) = (client.clone(), held.clone());
        queue.spawn(move |_| {
            let reply = c.request(&v4(PORT + 9), Kind::FlowEnd, b"hold", TIMEOUT_MS);
            h.store(
                if reply == Ok(Reply::ok()) { 1 } else { 2 },
                Ordering::Relaxed,
            );
        })?;
        for _ in 0..TIMEOUT_MS / 10 {
            if server.handler().handled.load(Ordering::Relaxed) == 1 {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        assert_eq!(server.handler().handled.load(Ordering::Relaxed), 1);
        let reply = client.request(&v4(PORT + 9), Kind::FlowEnd, b"next", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        assert_eq!(held.load(Ordering::Relaxed), 0);
        server.handler().hold.store(false, Ordering::Relaxed);
        // Waits for the held request's reply.
        drop(queue);
        assert_eq!(held.load(Ordering::Relaxed), 1);
        assert_eq!(server.stats().admitted, 2);
        assert_eq!(server.stats().served, 2);
        Ok(())
    }

    /// A refusal comes back with its errno and reason intact.
    #[test]
    fn nack_keeps_its_reason() -> Result {
        let _server = migrator(PORT + 1, handler(Some(KEY), None))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client
            .request(&v4(PORT + 1), Kind::FlowEnd, b"nack please", TIMEOUT_MS)
            .map_err(|_| EIO)?;
        assert_eq!(reply.status(), ENOENT.to_errno().abs());
        assert_eq!(reply.reason(), b"no such flow: 192.0.2.1:40000");
        Ok(())
    }

    /// A server with another key: its greeting does not verify, so the
    /// client sends nothing and can safely roll back.
    #[test]
    fn wrong_key_is_refused() -> Result {
        let server = migrator(PORT + 2, handler(Some(OTHER_KEY), None))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client.request(&v4(PORT + 2), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(EKEYREJECTED)));
        assert_eq!(server.stats().admitted, 1);
        assert_eq!(server.handler().handled.load(Ordering::Relaxed), 0);

        // Without a key nothing is sent, and a server without one refuses.
        let keyless = migrator(0, handler(None, None))?;
        let reply = keyless.request(&v4(PORT + 2), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Local(ENOKEY)));
        let keyless_server = migrator(PORT + 3, handler(None, None))?;
        let reply = client.request(&v4(PORT + 3), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(ECONNREFUSED)));
        assert_eq!(keyless_server.stats().no_key, 1);
        Ok(())
    }

    /// A frame with a forged tag is refused before the handler sees it,
    /// and counted; the connection is closed.
    #[test]
    fn forged_tag_is_refused() -> Result {
        let server = migrator(PORT + 8, handler(Some(KEY), None))?;
        let sock = KernelSocket::new_plain(Net::init_net(), Family::V4)?;
        sock.set_timeouts(TIMEOUT_MS, TIMEOUT_MS);
        sock.connect(&v4(PORT + 8))?;
        let mut hello = [0u8; crate::wire::frame::HEADER_LEN + TAG_LEN];
        sock.recv_exact(&mut hello)?;
        let header = Header::new(Kind::FlowEnd, 1, 1)
            .map_err(|_| EINVAL)?
            .encode();
        sock.send_all([&header, b"x", &[0u8; TAG_LEN]])
            .map_err(|(e, _)| e)?;
        // The server closes the connection: the read ends.
        let mut byte = [0u8; 1];
        assert!(sock.recv_exact(&mut byte).is_err());
        assert_eq!(server.stats().bad_tags, 1);
        assert_eq!(server.handler().handled.load(Ordering::Relaxed), 0);
        Ok(())
    }

    /// A peer the handler does not admit is closed at once and counted.
    #[test]
    fn unadmitted_peer_is_refused() -> Result {
        let server = migrator(PORT + 4, handler(Some(KEY), Some(Family::V6)))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client.request(&v4(PORT + 4), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(ECONNREFUSED)));
        assert_eq!(server.stats().refused, 1);
        assert_eq!(server.stats().admitted, 0);
        let reply = client.request(&v6(PORT + 4), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        assert_eq!(server.handler().handled.load(Ordering::Relaxed), 1);
        Ok(())
    }

    /// No listener: unreachable, and within the backoff unreachable again
    /// at once, without a connect.
    #[test]
    fn no_listener_is_unreachable() -> Result {
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client.request(&v4(PORT + 5), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(ECONNREFUSED)));
        let start = Instant::<Monotonic>::now();
        let reply = client.request(&v4(PORT + 5), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(EAGAIN)));
        assert!(start.elapsed().as_millis() < 100);
        // Other peers have their own backoff; bounds are checked first.
        let reply = client.request(&v6(PORT + 5), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(ECONNREFUSED)));
        let reply = client.request(&v4(PORT + 5), Kind::FlowEnd, &[0; 4097], TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Local(EMSGSIZE)));
        let reply = client.request(&v4(PORT + 5), Kind::Reply, b"", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Local(EINVAL)));
        Ok(())
    }

    /// A 4 MiB blob goes through whole.
    #[test]
    fn large_payload_round_trips() -> Result {
        let server = migrator(PORT + 6, handler(Some(KEY), None))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let mut blob = KVVec::from_elem(0u8, 4 << 20, GFP_KERNEL)?;
        for (i, b) in blob.iter_mut().enumerate() {
            *b = pattern(i);
        }
        let reply = client.request(&v4(PORT + 6), Kind::Migrate, &blob, 60_000);
        assert_eq!(reply, Ok(Reply::ok()));
        assert_eq!(server.stats().served, 1);
        Ok(())
    }

    /// Dropping a migrator with an idle connection returns at once (the
    /// shutdown wakes its worker); the client then finds the connection
    /// closed and the port without a listener.
    #[test]
    fn drop_with_idle_connection() -> Result {
        let server = migrator(PORT + 7, handler(Some(KEY), None))?;
        let client = migrator(0, handler(Some(KEY), None))?;
        let reply = client.request(&v4(PORT + 7), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Ok(Reply::ok()));
        let start = Instant::<Monotonic>::now();
        drop(server);
        assert!(start.elapsed().as_millis() < 1_000);
        let reply = client.request(&v4(PORT + 7), Kind::FlowEnd, b"x", TIMEOUT_MS);
        assert_eq!(reply, Err(RequestError::Unreachable(ECONNREFUSED)));
        Ok(())
    }
}
