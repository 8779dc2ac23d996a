// SPDX-License-Identifier: GPL-2.0

//! The peers of a node and the cluster key.
//!
//! A peer is another node this one exchanges connections with, named by
//! the administrator (`tcpmig peer add NAME ADDR`). The migrator admits
//! connections from peers only, and the decapsulation hook packets from
//! peers only. Toward each peer a front-end numbers the flows it
//! forwards there: the number is the high half of the flow id.

use crate::error::Failure;
use crate::stats::Counter;
use crate::sys::random;
use crate::sys::sock::Family;
use crate::wire;
use kernel::new_spinlock;
use kernel::new_spinlock_irq;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::SpinLock;
use kernel::sync::SpinLockIrq;

/// Peers per namespace.
const MAX_PEERS: usize = 64;
/// The longest peer name, in bytes.
pub(crate) const MAX_NAME: usize = 15;
/// Flow numbers toward one peer: 1..=65535 (a source port of 0 is not
/// a TCP port).
const NUMBERS: usize = 1 << 16;
const WORD: usize = u64::BITS as usize;
/// How far below the highest request id accepted from a peer a late one
/// may be: a sender's channels run side by side, so their requests can
/// arrive out of order (and the ids are the sender's, across all its
/// peers).
pub(crate) const REPLAY_WINDOW: u64 = 1024;

/// An address of a node: family 4 or 6, IPv4 in the first 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeAddr {
    pub(crate) family: Family,
    pub(crate) addr: [u8; 16],
}

impl NodeAddr {
    /// The address's bytes: 4 or 16 of them.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self.family {
            Family::V4 => &self.addr[..4],
            Family::V6 => &self.addr,
        }
    }
}

/// The flow numbers in use toward a peer.
struct Numbers {
    used: KVec<u64>,
    /// Numbers in use: flows forwarded to the peer now.
    live: u32,
}

/// The request ids seen from a peer: the highest, and which of the
/// [`REPLAY_WINDOW`] ids up to it (a bit per id, by id modulo the
/// window).
#[derive(Default)]
struct Replay {
    highest: u64,
    seen: [u64; REPLAY_WINDOW as usize / WORD],
}

impl Replay {
    fn bit(id: u64) -> (usize, u64) {
        let i = (id % REPLAY_WINDOW) as usize;
        (i / WORD, 1 << (i % WORD))
    }

    /// Whether `id` is new: above the highest, or within the window
    /// below it and not seen. Id 0 is never sent.
    fn accept(&mut self, id: u64) -> bool {
        if id == 0 {
            return false;
        }
        if id > self.highest {
            // The ids the window moves past are forgotten: each bit from
            // the old highest on up to `id`'s own stood for an id now
            // below the window.
            if id - self.highest >= REPLAY_WINDOW {
                self.seen = Default::default();
            } else {
                for gone in self.highest + 1..=id {
                    let (word, mask) = Self::bit(gone);
                    self.seen[word] &= !mask;
                }
            }
            self.highest = id;
        } else if self.highest - id >= REPLAY_WINDOW {
            return false;
        }
        let (word, mask) = Self::bit(id);
        if self.seen[word] & mask != 0 {
            return false;
        }
        self.seen[word] |= mask;
        true
    }
}

/// The most addresses a peer may be served.
pub(crate) const MAX_SERVED: usize = 32;

/// A local address and port a peer may hand this node connections at:
/// family 4 or 6 (as blobs say it), port 0 for every port.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) family: u8,
    pub(crate) port: u16,
    pub(crate) addr: [u8; 16],
}

/// The bytes of one entry of the netlink `serve` list: the family (4 or
/// 6), a zero byte, the port (network order; 0: every port), the address
/// (16 bytes, IPv4 in the first 4).
pub(crate) const SERVED_LEN: usize = 20;

/// Reads a netlink `serve` list for a peer of `family`: each entry an
/// address a peer's blob may name, of the peer's own family (a peer hands
/// over connections of its family only), at most [`MAX_SERVED`].
pub(crate) fn parse_served(bytes: &[u8], family: Family) -> Result<KVec<Served>, Failure> {
    if bytes.len() % SERVED_LEN != 0 || bytes.len() / SERVED_LEN > MAX_SERVED {
        return Err((EINVAL, c"serve: entries of 20 bytes, at most 32").into());
    }
    let mut serve =
        KVec::with_capacity(bytes.len() / SERVED_LEN, GFP_KERNEL).map_err(|_| Failure::oom())?;
    for entry in bytes.chunks_exact(SERVED_LEN) {
        if entry[1] != 0 {
            return Err((EINVAL, c"serve: an entry's second byte must be 0").into());
        }
        let mut addr = [0; 16];
        addr.copy_from_slice(&entry[4..]);
        wire::check_served(entry[0], &addr).map_err(|reason| Failure {
            errno: EINVAL,
            msg: c"serve",
            blob: Some(reason),
            peer: None,
        })?;
        if entry[0] != family.blob() {
            return Err((EINVAL, c"serve: an entry of another family than the peer's").into());
        }
        let port = u16::from_be_bytes([entry[2], entry[3]]);
        // Room for each was reserved above.
        serve
            .push(
                Served {
                    family: entry[0],
                    port,
                    addr,
                },
                GFP_KERNEL,
            )
            .map_err(|_| Failure::oom())?;
    }
    Ok(serve)
}

/// A netlink `serve` list of `serve`'s entries, as `parse_served` reads
/// it.
pub(crate) fn served_bytes(serve: &[Served]) -> Result<KVec<u8>> {
    let mut bytes = KVec::with_capacity(serve.len() * SERVED_LEN, GFP_KERNEL)?;
    for s in serve {
        let [hi, lo] = s.port.to_be_bytes();
        bytes.extend_from_slice(&[s.family, 0, hi, lo], GFP_KERNEL)?;
        bytes.extend_from_slice(&s.addr, GFP_KERNEL)?;
    }
    Ok(bytes)
}

/// A configured peer.
#[pin_data]
pub(crate) struct Peer {
    name: [u8; MAX_NAME],
    name_len: usize,
    pub(crate) addr: NodeAddr,
    /// Its migrator port; its flow port is the next one.
    pub(crate) port: u16,
    /// What it may hand this node (nothing, if empty).
    pub(crate) serve: KVec<Served>,
    /// The request ids accepted from it (replay protection).
    #[pin]
    replay: SpinLock<Replay>,
    #[pin]
    numbers: SpinLockIrq<Numbers>,
    /// What services handed to it.
    pub(crate) dispatch: Dispatched,
}

/// Connections services handed to a peer: how many, their first bytes,
/// and the hand-offs that failed.
#[derive(Default)]
pub(crate) struct Dispatched {
    pub(crate) connections: Counter,
    pub(crate) bytes: Counter,
    pub(crate) failures: Counter,
}

impl Peer {
    pub(crate) fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// Whether the peer may hand this node a connection whose local end
    /// is `addr`:`port` (of family 4 or 6).
    pub(crate) fn serves(&self, family: u8, addr: &[u8; 16], port: u16) -> bool {
        self.serve
            .iter()
            .any(|s| s.family == family && s.addr == *addr && (s.port == 0 || s.port == port))
    }

    /// The peer's flow port: the low half of every flow id toward it.
    pub(crate) fn flow_port(&self) -> u16 {
        self.port.wrapping_add(1)
    }

    /// Accepts request `id` from this peer once: a replayed id, or one
    /// older than the replay window, is refused.
    pub(crate) fn accept_request(&self, id: u64) -> bool {
        self.replay.lock().accept(id)
    }

    /// A flow number no live flow toward this peer has, drawn at random
    /// (the first free one from a random start): it is the forwarded
    /// packets' source port, which an off-path sender would otherwise
    /// guess. `EBUSY` when all 65535 are taken.
    pub(crate) fn take_number(&self) -> Result<u16> {
        let start = random::u32() as usize % NUMBERS;
        let mut numbers = self.numbers.lock();
        // Word by word from the start's word (its bits below the start
        // masked off), around the ring and back to the start's word.
        let first = start / WORD;
        let words = NUMBERS / WORD;
        for i in 0..=words {
            let word = (first + i) % words;
            let mut free = !numbers.used[word];
            if i == 0 {
                free &= u64::MAX << (start % WORD);
            }
            if word == 0 {
                free &= !1; // 0 is not a port
            }
            if free != 0 {
                numbers.used[word] |= 1 << free.trailing_zeros();
                numbers.live += 1;
                return Ok((word * WORD) as u16 + free.trailing_zeros() as u16);
            }
        }
        Err(EBUSY)
    }

    /// Gives `number` back; its flow is gone.
    pub(crate) fn put_number(&self, number: u16) {
        let n = usize::from(number);
        let mut numbers = self.numbers.lock();
        let (word, bit) = (n / WORD, 1 << (n % WORD));
        if numbers.used[word] & bit != 0 {
            numbers.used[word] &= !bit;
            numbers.live -= 1;
        }
    }

    /// Flows forwarded to the peer now.
    pub(crate) fn live_flows(&self) -> u32 {
        self.numbers.lock().live
    }
}

/// The peers of a namespace and its cluster key.
#[pin_data]
pub(crate) struct Peers {
    #[pin]
    list: SpinLockIrq<KVec<Arc<Peer>>>,
    #[pin]
    key: SpinLockIrq<Option<[u8; 32]>>,
}

impl Peers {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            list <- new_spinlock_irq!(KVec::new(), "tcpmig_peers"),
            key <- new_spinlock_irq!(None, "tcpmig_key"),
        })
    }

    /// Adds a peer; `EEXIST` if the name or the address is taken,
    /// `ENOSPC` beyond `MAX_PEERS`.
    pub(crate) fn add(
        &self,
        name: &[u8],
        addr: NodeAddr,
        port: u16,
        serve: KVec<Served>,
    ) -> Result {
        if name.is_empty() || name.len() > MAX_NAME || serve.len() > MAX_SERVED {
            return Err(EINVAL);
        }
        let mut name_buf = [0u8; MAX_NAME];
        name_buf[..name.len()].copy_from_slice(name);
        let name_len = name.len();
        let used = KVec::from_elem(0u64, NUMBERS / WORD, GFP_KERNEL)?;
        // The initializer binds each field's name once it is set: the
        // length is taken before.
        let peer = Arc::pin_init(
            try_pin_init!(Peer {
                name: name_buf,
                name_len,
                addr,
                port,
                serve,
                replay <- new_spinlock!(Replay::default(), "tcpmig_peer_replay"),
                numbers <- new_spinlock_irq!(Numbers { used, live: 0 }, "tcpmig_peer_numbers"),
                dispatch: Dispatched::default(),
            }),
            GFP_KERNEL,
        )?;
        let mut list = self.list.lock();
        if list.iter().any(|p| p.name() == name || p.addr == addr) {
            return Err(EEXIST);
        }
        if list.len() >= MAX_PEERS {
            return Err(ENOSPC);
        }
        list.push(peer, GFP_ATOMIC)?;
        Ok(())
    }

    /// Removes the peer `name`; `EBUSY` while flows are forwarded to it
    /// (their numbers must not be handed out again by a peer added anew).
    pub(crate) fn remove(&self, name: &[u8]) -> Result {
        let removed = {
            let mut list = self.list.lock();
            let i = list.iter().position(|p| p.name() == name).ok_or(ENOENT)?;
            if list[i].live_flows() > 0 {
                return Err(EBUSY);
            }
            list.remove(i)?
        };
        drop(removed);
        Ok(())
    }

    fn find(&self, pred: impl Fn(&Peer) -> bool) -> Option<Arc<Peer>> {
        self.list.lock().iter().find(|p| pred(p)).cloned()
    }

    pub(crate) fn by_name(&self, name: &[u8]) -> Option<Arc<Peer>> {
        self.find(|p| p.name() == name)
    }

    pub(crate) fn by_addr(&self, addr: &NodeAddr) -> Option<Arc<Peer>> {
        self.find(|p| p.addr == *addr)
    }

    /// The `i`th peer, for listing.
    pub(crate) fn nth(&self, i: usize) -> Option<Arc<Peer>> {
        self.list.lock().get(i).cloned()
    }

    pub(crate) fn count(&self) -> u32 {
        self.list.lock().len() as u32
    }

    pub(crate) fn replace_key(&self, key: Option<[u8; 32]>) {
        *self.key.lock() = key;
    }

    pub(crate) fn key(&self) -> Option<[u8; 32]> {
        *self.key.lock()
    }
}

#[kunit_tests(tcpmig_peers)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    use crate::kunit::v4_addr;

    fn addr(last: u8) -> NodeAddr {
        NodeAddr {
            family: Family::V4,
            addr: v4_addr([192, 0, 2, last]),
        }
    }

    #[test]
    fn names_and_addresses_are_unique() -> Result {
        let peers = KBox::pin_init(Peers::new(), GFP_KERNEL)?;
        peers.add(b"be1", addr(3), 4737, KVec::new())?;
        assert_eq!(peers.add(b"be1", addr(4), 4737, KVec::new()), Err(EEXIST));
        assert_eq!(peers.add(b"be2", addr(3), 4737, KVec::new()), Err(EEXIST));
        assert_eq!(peers.add(b"", addr(5), 4737, KVec::new()), Err(EINVAL));
        assert_eq!(
            peers.add(b"sixteen-bytes-xx", addr(5), 4737, KVec::new()),
            Err(EINVAL)
        );
        peers.add(b"be2", addr(4), 4737, KVec::new())?;
        assert_eq!(peers.count(), 2);
        assert!(peers.by_addr(&addr(4)).is_some_and(|p| p.name() == b"be2"));
        peers.remove(b"be1")?;
        assert_eq!(peers.remove(b"be1"), Err(ENOENT));
        assert!(peers.by_name(b"be1").is_none());
        Ok(())
    }

    #[test]
    fn request_ids_are_accepted_once() -> Result {
        let peers = KBox::pin_init(Peers::new(), GFP_KERNEL)?;
        peers.add(b"fe", addr(2), 4737, KVec::new())?;
        let peer = peers.by_name(b"fe").ok_or(ENOENT)?;
        assert!(!peer.accept_request(0));
        assert!(peer.accept_request(5));
        assert!(!peer.accept_request(5));
        // Out of order, within the window: once each.
        assert!(peer.accept_request(4));
        assert!(!peer.accept_request(4));
        assert!(peer.accept_request(9));
        assert!(peer.accept_request(7));
        assert!(!peer.accept_request(7));
        assert!(peer.accept_request(6));
        Ok(())
    }

    #[test]
    fn request_ids_at_the_window_edges() -> Result {
        let mut r = Replay::default();
        let high = u64::MAX - 3;
        assert!(r.accept(high));
        // The oldest id the window holds, and the first one below it.
        assert!(r.accept(high - (REPLAY_WINDOW - 1)));
        assert!(!r.accept(high - (REPLAY_WINDOW - 1)));
        assert!(!r.accept(high - REPLAY_WINDOW));
        // A step of less than the window keeps what it still covers.
        assert!(r.accept(high + 1));
        assert!(!r.accept(high));
        // A step of the whole window forgets everything below it; an id
        // that shares a bit with a forgotten one is new.
        let mut r = Replay::default();
        assert!(r.accept(100));
        assert!(r.accept(100 + REPLAY_WINDOW));
        assert!(!r.accept(100));
        assert!(r.accept(101 + REPLAY_WINDOW));
        assert!(r.accept(REPLAY_WINDOW + 2));
        assert!(!r.accept(REPLAY_WINDOW + 2));
        // Ids in order, for many windows: each taken, once.
        let mut r = Replay::default();
        for id in 1..=5 * REPLAY_WINDOW {
            assert!(r.accept(id));
            assert!(!r.accept(id));
        }
        // Every id of a window, in reverse, once each.
        let mut r = Replay::default();
        let top = 10 * REPLAY_WINDOW;
        for id in (top - REPLAY_WINDOW + 1..=top).rev() {
            assert!(r.accept(id));
        }
        for id in top - REPLAY_WINDOW..=top {
            assert!(!r.accept(id));
        }
        Ok(())
    }

    #[test]
    fn flow_numbers_are_unique_and_exhaust() -> Result {
        let peers = KBox::pin_init(Peers::new(), GFP_KERNEL)?;
        peers.add(b"be", addr(3), 4737, KVec::new())?;
        let peer = peers.by_name(b"be").ok_or(ENOENT)?;
        let mut seen = KVec::from_elem(false, 65536, GFP_KERNEL)?;
        for _ in 1..=65535u32 {
            let n = usize::from(peer.take_number()?);
            assert!(n != 0 && !seen[n]);
            seen[n] = true;
        }
        assert_eq!(peer.take_number(), Err(EBUSY));
        assert_eq!(peer.live_flows(), 65535);
        assert_eq!(peers.remove(b"be"), Err(EBUSY));
        peer.put_number(7);
        peer.put_number(7);
        assert_eq!(peer.live_flows(), 65534);
        assert_eq!(peer.take_number(), Ok(7));
        peer.put_number(65535);
        peer.put_number(1);
        let (a, b) = (peer.take_number()?, peer.take_number()?);
        assert_eq!(a.min(b), 1);
        assert_eq!(a.max(b), 65535);
        Ok(())
    }

    #[test]
    fn a_peer_is_served_what_it_was_given() -> Result {
        let peers = KBox::pin_init(Peers::new(), GFP_KERNEL)?;
        let vip = v4_addr([192, 0, 2, 100]);
        let mut vip6 = [0; 16];
        vip6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        vip6[15] = 0x64;
        let mut serve = KVec::new();
        serve.push(
            Served {
                family: 4,
                port: 80,
                addr: vip,
            },
            GFP_KERNEL,
        )?;
        serve.push(
            Served {
                family: 6,
                port: 0,
                addr: vip6,
            },
            GFP_KERNEL,
        )?;
        peers.add(b"fe", addr(2), 4737, serve)?;
        let fe = peers.by_name(b"fe").ok_or(ENOENT)?;
        assert!(fe.serves(4, &vip, 80));
        assert!(!fe.serves(4, &vip, 81));
        assert!(!fe.serves(4, &v4_addr([192, 0, 2, 101]), 80));
        // Port 0 is every port; the family is part of the match.
        assert!(fe.serves(6, &vip6, 1) && fe.serves(6, &vip6, 65535));
        assert!(!fe.serves(6, &vip, 80));
        // Without a list, nothing.
        peers.add(b"other", addr(9), 4737, KVec::new())?;
        let other = peers.by_name(b"other").ok_or(ENOENT)?;
        assert!(!other.serves(4, &vip, 80));
        // At most MAX_SERVED.
        let mut many = KVec::new();
        for port in 1..=MAX_SERVED as u16 + 1 {
            many.push(
                Served {
                    family: 4,
                    port,
                    addr: vip,
                },
                GFP_KERNEL,
            )?;
        }
        assert_eq!(peers.add(b"many", addr(7), 4737, many), Err(EINVAL));
        Ok(())
    }

    /// An entry of the netlink `serve` list.
    fn entry(family: u8, zero: u8, port: u16, addr: [u8; 16]) -> [u8; SERVED_LEN] {
        let mut e = [0; SERVED_LEN];
        let [hi, lo] = port.to_be_bytes();
        e[..4].copy_from_slice(&[family, zero, hi, lo]);
        e[4..].copy_from_slice(&addr);
        e
    }

    #[test]
    fn serve_lists_from_netlink() -> Result {
        let vip = v4_addr([192, 0, 2, 100]);
        let mut list = KVec::new();
        list.extend_from_slice(&entry(4, 0, 80, vip), GFP_KERNEL)?;
        list.extend_from_slice(&entry(4, 0, 0, v4_addr([198, 51, 100, 7])), GFP_KERNEL)?;
        let served = parse_served(&list, Family::V4).map_err(|f| f.errno)?;
        assert_eq!(served_bytes(&served)?.as_slice(), list.as_slice());
        assert_eq!(served.len(), 2);
        assert!(
            served[0]
                == Served {
                    family: 4,
                    port: 80,
                    addr: vip
                }
        );
        assert_eq!(served[1].port, 0);
        assert!(parse_served(&[], Family::V4).is_ok_and(|s| s.is_empty()));
        let refused = |bytes: &[u8], family, msg: &CStr| {
            let f = parse_served(bytes, family).err();
            assert!(f
                .as_ref()
                .is_some_and(|f| f.errno == EINVAL && f.msg == msg));
            f.and_then(|f| f.blob)
        };
        let layout = c"serve: entries of 20 bytes, at most 32";
        refused(&list[..19], Family::V4, layout);
        refused(&list[..21], Family::V4, layout);
        let mut many = KVec::new();
        for _ in 0..=MAX_SERVED {
            many.extend_from_slice(&entry(4, 0, 80, vip), GFP_KERNEL)?;
        }
        refused(&many, Family::V4, layout);
        refused(
            &entry(4, 1, 80, vip),
            Family::V4,
            c"serve: an entry's second byte must be 0",
        );
        // The family is the peer's; the address one a blob may name.
        let other = c"serve: an entry of another family than the peer's";
        refused(&entry(4, 0, 80, vip), Family::V6, other);
        let why = |which, why| Some(wire::Error::BadEndpoint { which, why });
        let bad = refused(&entry(5, 0, 80, vip), Family::V4, c"serve");
        assert_eq!(bad, Some(wire::Error::BadFamily(5)));
        let bad = refused(
            &entry(4, 0, 80, v4_addr([127, 0, 0, 1])),
            Family::V4,
            c"serve",
        );
        assert_eq!(bad, why("served", "address is loopback"));
        let bad = refused(&entry(4, 0, 80, [0; 16]), Family::V4, c"serve");
        assert_eq!(bad, why("served", "address is unspecified"));
        let mut mapped = [0; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 192, 0, 2, 100]);
        let bad = refused(&entry(6, 0, 80, mapped), Family::V6, c"serve");
        assert_eq!(
            bad,
            why(
                "served",
                "address is v4-mapped (an IPv4 connection is family 4)"
            )
        );
        Ok(())
    }

    /// Flow numbers go into the forwarded packets' source port: an
    /// off-path sender who could guess the next one would need only the
    /// client's port to aim at a flow. They are drawn at random.
    #[test]
    fn flow_numbers_are_not_sequential() -> Result {
        let peers = KBox::pin_init(Peers::new(), GFP_KERNEL)?;
        peers.add(b"be", addr(3), 4737, KVec::new())?;
        let peer = peers.by_name(b"be").ok_or(ENOENT)?;
        let mut last = peer.take_number()?;
        let mut steps_of_one = 0;
        for _ in 0..32 {
            let n = peer.take_number()?;
            if n == last.wrapping_add(1) {
                steps_of_one += 1;
            }
            last = n;
        }
        // 32 random draws of 65535 make a step of one by chance with a
        // probability of about 1/2000; more than two, never.
        assert!(steps_of_one <= 2);
        Ok(())
    }
}
