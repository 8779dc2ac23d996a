// SPDX-License-Identifier: GPL-2.0

//! TCP socks: finding one by its 4-tuple, reading its state under the
//! socket lock, copying its queues, and freezing it after capture.
//!
//! [`Sock`] wraps `struct sock` the way the kernel crate wraps its
//! refcounted objects: `ARef<Sock>` owns a reference. Rust reads no
//! `tcp_sock` field itself: `sock.c` copies them into a flat struct under
//! the socket lock, so no Rust reference ever points at a struct other
//! CPUs write.

use super::{
    bindings,
    net::Net, //
};
use crate::wire::{
    opt,
    Addr,
    IpState,
    TcpState, //
};
use core::ptr::NonNull;
use kernel::{
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};

/// An address family of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Family {
    /// IPv4 (`AF_INET`; 4 in a blob).
    V4,
    /// IPv6 (`AF_INET6`; 6 in a blob).
    V6,
}

impl Family {
    /// The family a blob calls `family` (4 or 6).
    pub(crate) fn from_blob(family: u8) -> Option<Self> {
        match family {
            4 => Some(Self::V4),
            6 => Some(Self::V6),
            _ => None,
        }
    }

    /// The family of an address of `len` bytes (4 or 16).
    pub(crate) fn from_addr_len(len: usize) -> Option<Self> {
        match len {
            4 => Some(Self::V4),
            16 => Some(Self::V6),
            _ => None,
        }
    }

    /// The length of its addresses: 4 or 16 bytes.
    pub(crate) fn addr_len(self) -> usize {
        match self {
            Self::V4 => 4,
            Self::V6 => 16,
        }
    }

    /// What a blob calls this family.
    pub(crate) fn blob(self) -> u8 {
        match self {
            Self::V4 => 4,
            Self::V6 => 6,
        }
    }

    /// The `AF_*` constant.
    pub(super) fn af(self) -> i32 {
        let af = match self {
            Self::V4 => bindings::AF_INET,
            Self::V6 => bindings::AF_INET6,
        };
        af as i32
    }

    fn from_af(af: u32) -> Self {
        if af == bindings::AF_INET6 {
            Self::V6
        } else {
            Self::V4
        }
    }
}

/// One end of a connection: family, address (IPv4 in the first 4 bytes),
/// port (host order).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) family: Family,
    pub(crate) addr: Addr,
    pub(crate) port: u16,
}

/// Whether `addr` of `family` is an address of this host in `net`.
pub(crate) fn addr_is_local(net: &Net, family: Family, addr: &[u8; 16]) -> bool {
    // SAFETY: `net` is live; `addr` is 16 valid bytes.
    unsafe { bindings::tcpmig_addr_is_local(net.as_ptr(), family.af(), addr.as_ptr().cast()) }
}

/// What a namespace has of a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connection {
    /// No socket at all.
    None,
    /// A full socket, in any state up to LAST_ACK: its TCP judges what
    /// comes.
    Full,
    /// Only a TIME_WAIT (or SYN_RECV) sock: the connection is over, or
    /// not yet accepted.
    Mini,
}

/// What `net` has of the connection `local`/`remote`.
pub(crate) fn connection(net: &Net, local: &Endpoint, remote: &Endpoint) -> Connection {
    // SAFETY: `net` is live and the addresses are 16 valid bytes.
    let state = unsafe {
        bindings::tcpmig_connection_state(
            net.as_ptr(),
            local.family.af(),
            local.addr.as_ptr().cast(),
            local.port.to_be(),
            remote.addr.as_ptr().cast(),
            remote.port.to_be(),
        )
    };
    match state as u32 {
        bindings::TCPMIG_CONN_FULL => Connection::Full,
        bindings::TCPMIG_CONN_MINI => Connection::Mini,
        _ => Connection::None,
    }
}

/// The two ends of the connection of the calling process's TCP socket
/// `fd`, which must be of `net` (`EXDEV` otherwise) and connected.
pub(crate) fn socket_endpoints(net: &Net, fd: u32) -> Result<(Endpoint, Endpoint)> {
    let fd = i32::try_from(fd).map_err(|_| EBADF)?;
    let (mut family, mut laddr, mut lport, mut raddr, mut rport) =
        (0u8, [0u8; 16], 0, [0u8; 16], 0);
    // SAFETY: `net` is live; the out-pointers are valid, the addresses for
    // 16 bytes; the shim looks `fd` up in the calling process's table.
    kernel::error::to_result(unsafe {
        bindings::tcpmig_sockfd_endpoints(
            net.as_ptr(),
            fd,
            &mut family,
            laddr.as_mut_ptr(),
            &mut lport,
            raddr.as_mut_ptr(),
            &mut rport,
        )
    })?;
    let family = Family::from_blob(family).ok_or(EAFNOSUPPORT)?;
    Ok((
        Endpoint {
            family,
            addr: laddr,
            port: lport,
        },
        Endpoint {
            family,
            addr: raddr,
            port: rport,
        },
    ))
}

/// Which hash table a [`Sock::lookup`] searches.
#[derive(Clone, Copy)]
pub(crate) enum Lookup {
    /// Established connections (full socks only: no time-wait or request
    /// socks).
    Established,
    /// The listener a SYN from the remote end would reach.
    Listener,
}

/// A full TCP sock (`struct sock`).
///
/// # Invariants
///
/// A `&Sock` points to a live, full TCP sock; `ARef<Sock>` owns one of
/// its references.
#[repr(transparent)]
pub(crate) struct Sock(Opaque<bindings::sock>);

// SAFETY: The kernel's sock refcount works from any thread.
unsafe impl AlwaysRefCounted for Sock {
    fn inc_ref(&self) {
        // SAFETY: By the invariant the sock is live.
        unsafe { bindings::tcpmig_sock_hold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owned.
        unsafe { bindings::tcpmig_sock_put(obj.cast().as_ptr()) };
    }
}

// SAFETY: A sock is shared between CPUs by design; every method takes the
// lock or reads what the kernel lets readers read without it.
unsafe impl Send for Sock {}
// SAFETY: As above.
unsafe impl Sync for Sock {}

impl Sock {
    /// Borrows a `struct sock`.
    ///
    /// # Safety
    ///
    /// `sk` is a full TCP sock that stays alive for `'a`.
    pub(super) unsafe fn from_raw<'a>(sk: *mut bindings::sock) -> &'a Sock {
        // SAFETY: `Sock` is a transparent wrapper of `struct sock`; the
        // caller guarantees the rest. INVARIANT: As just said.
        unsafe { &*sk.cast::<Sock>() }
    }

    pub(super) fn as_ptr(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// The sock of `local`/`remote` in `net`'s `table`, if any.
    pub(crate) fn lookup(
        net: &Net,
        table: Lookup,
        local: &Endpoint,
        remote: &Endpoint,
    ) -> Option<ARef<Sock>> {
        let lookup = match table {
            Lookup::Established => bindings::tcpmig_lookup_established,
            Lookup::Listener => bindings::tcpmig_lookup_listener,
        };
        // SAFETY: `net` is live and the addresses are 16 valid bytes.
        let sk = unsafe {
            lookup(
                net.as_ptr(),
                local.family.af(),
                local.addr.as_ptr().cast(),
                local.port.to_be(),
                remote.addr.as_ptr().cast(),
                remote.port.to_be(),
            )
        };
        // SAFETY: Both lookups return a held full TCP sock or NULL; the
        // reference becomes the `ARef`'s.
        NonNull::new(sk).map(|sk| unsafe { ARef::from_raw(sk.cast()) })
    }

    /// Resets the connection: a RST to the peer, `ECONNABORTED` to the
    /// owner. Takes the sock's lock, so the caller must not hold it.
    pub(crate) fn abort(&self) {
        // SAFETY: The sock is live and a full TCP sock; process context.
        unsafe { bindings::tcpmig_abort(self.as_ptr()) };
    }

    /// The TCP state (`TCP_ESTABLISHED`, ...), read without the lock.
    pub(crate) fn state(&self) -> u8 {
        // SAFETY: The sock is live; the state is written with WRITE_ONCE
        // or under the lock, and read here once, as `READ_ONCE` would.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).__sk_common.skc_state) }
    }

    /// The address family, fixed when the sock was made.
    pub(crate) fn family(&self) -> Family {
        // SAFETY: The sock is live; its family never changes.
        let af = unsafe { (*self.as_ptr()).__sk_common.skc_family };
        Family::from_af(af.into())
    }

    /// Whether this listener can take one more connection now: `Ok`, or
    /// ECONNREFUSED (no longer listening) or ENOBUFS (accept queue full).
    pub(crate) fn can_accept(&self) -> Result {
        // SAFETY: The sock is live; the shim reads two fields once each.
        kernel::error::to_result(unsafe { bindings::tcpmig_listener_can_accept(self.as_ptr()) })
    }

    /// Locks the sock (`lock_sock`; may sleep) until the guard drops.
    pub(crate) fn lock(&self) -> LockedSock<'_> {
        // SAFETY: The sock is live by the invariant.
        unsafe { bindings::tcpmig_lock_sock(self.as_ptr()) };
        // INVARIANT: Locked just now.
        LockedSock { sock: self }
    }
}

/// Which queue [`LockedSock::copy_queues`] reads.
#[derive(Clone, Copy)]
pub(crate) enum Queue {
    /// Received, in order, not yet read by the application.
    Receive,
    /// Sent, awaiting acknowledgement.
    Retransmit,
    /// Not yet sent.
    Write,
}

/// Why a connection cannot move faithfully.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Unmovable {
    /// A kernel user (a kernel socket, or one with `sk_user_data`: RPC,
    /// sockmap, ...) owns it.
    KernelOwned,
    /// An MPTCP subflow: its state belongs to its MPTCP connection.
    Mptcp,
    /// An upper-layer protocol (kTLS) keeps state beside TCP's.
    UpperLayer,
    /// TCP-MD5 or TCP-AO signs its segments with keys a blob does not carry.
    Signed,
    /// Urgent data is pending in one direction.
    Urgent,
    /// Accurate ECN: its counters are not in the blob.
    AccEcn,
}

/// A locked TCP sock; unlocks on drop.
///
/// # Invariants
///
/// `sock` is locked (`lock_sock`) by this value.
pub(crate) struct LockedSock<'a> {
    sock: &'a Sock,
}

/// Whether sequence number `a` comes before `b`.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl LockedSock<'_> {
    fn sk(&self) -> *mut bindings::sock {
        self.sock.as_ptr()
    }

    /// The TCP state (`TCP_ESTABLISHED`, ...).
    pub(crate) fn state(&self) -> u8 {
        self.sock.state()
    }

    /// Whether a blob can carry this connection faithfully.
    pub(crate) fn movable(&self) -> Result<(), Unmovable> {
        // SAFETY: The sock is locked and live.
        let why = unsafe { bindings::tcpmig_sk_movable(self.sk()) } as u32;
        match why {
            bindings::TCPMIG_MOVABLE => Ok(()),
            bindings::TCPMIG_MPTCP => Err(Unmovable::Mptcp),
            bindings::TCPMIG_ULP => Err(Unmovable::UpperLayer),
            bindings::TCPMIG_SIGNED => Err(Unmovable::Signed),
            bindings::TCPMIG_URGENT => Err(Unmovable::Urgent),
            bindings::TCPMIG_ACCECN => Err(Unmovable::AccEcn),
            _ => Err(Unmovable::KernelOwned),
        }
    }

    /// The TCP part of the blob.
    pub(crate) fn tcp_state(&self) -> TcpState {
        let mut t = bindings::tcpmig_tcp::default();
        // SAFETY: The sock is locked and live; `t` is ours.
        unsafe { bindings::tcpmig_sk_tcp(self.sk(), &mut t) };
        let mut options = 0;
        for (on, bit) in [
            (t.sack_ok, opt::SACK),
            (t.tstamp_ok, opt::TIMESTAMPS),
            (t.wscale_ok, opt::WSCALE),
            (t.ecn_ok, opt::ECN),
            (t.usec_ts, opt::TS_USEC),
        ] {
            if on {
                options |= bit;
            }
        }
        TcpState {
            state: t.state,
            options,
            snd_wscale: t.snd_wscale,
            rcv_wscale: t.rcv_wscale,
            mss_clamp: t.mss_clamp,
            snd_una: t.snd_una,
            snd_nxt: t.snd_nxt,
            write_seq: t.write_seq,
            rcv_nxt: t.rcv_nxt,
            copied_seq: t.copied_seq,
            snd_wl1: t.snd_wl1,
            snd_wnd: t.snd_wnd,
            max_window: t.max_window,
            rcv_wnd: t.rcv_wnd,
            rcv_wup: t.rcv_wup,
            window_clamp: t.window_clamp,
            ts_recent: t.ts_recent,
            ts_val: t.ts_val,
            snd_cwnd: t.snd_cwnd,
            snd_ssthresh: t.snd_ssthresh,
            srtt_us: t.srtt_us,
            mdev_us: t.mdev_us,
            rto_us: t.rto_us,
        }
    }

    /// The IP part of the blob.
    pub(crate) fn ip_state(&self) -> IpState {
        let mut ip = bindings::tcpmig_ip::default();
        // SAFETY: The sock is locked and live; `ip` is ours.
        unsafe { bindings::tcpmig_sk_ip(self.sk(), &mut ip) };
        IpState {
            family: ip.family,
            tos: ip.tos,
            ttl: ip.ttl,
            flow_label: ip.flow_label,
            local_port: u16::from_be(ip.local_port),
            remote_port: u16::from_be(ip.remote_port),
            local_addr: ip.local_addr,
            remote_addr: ip.remote_addr,
        }
    }

    /// Copies the bytes of `queues` (walked in order) from sequence number
    /// `start` into `out`, which must be filled exactly.
    pub(crate) fn copy_queues(&self, queues: &[Queue], start: u32, out: &mut [u8]) -> Result {
        let mut next = start;
        let mut done = 0usize;
        for &queue in queues {
            let which = match queue {
                Queue::Receive => bindings::TCPMIG_RECV_QUEUE,
                Queue::Retransmit => bindings::TCPMIG_RTX_QUEUE,
                Queue::Write => bindings::TCPMIG_WRITE_QUEUE,
            };
            let mut skb = core::ptr::null_mut();
            loop {
                if done == out.len() {
                    return Ok(());
                }
                let mut seq = 0u32;
                let mut len = 0u32;
                // SAFETY: The sock is locked, so its queues are stable;
                // `skb` is NULL or the previous skb of this queue.
                skb = unsafe {
                    bindings::tcpmig_queue_next(self.sk(), which as i32, skb, &mut seq, &mut len)
                };
                if skb.is_null() {
                    break;
                }
                let end = seq.wrapping_add(len);
                if !before(next, end) {
                    continue; // already read or acknowledged
                }
                if before(next, seq) {
                    return Err(EIO); // a hole: the queues disagree with the sequence numbers
                }
                let offset = next.wrapping_sub(seq);
                let n = ((len - offset) as usize).min(out.len() - done);
                let dst = &mut out[done..done + n];
                // SAFETY: `skb` holds `len` bytes of payload; `offset + n <= len`
                // and `dst` has room for `n` bytes.
                let err = unsafe {
                    bindings::skb_copy_bits(skb, offset as i32, dst.as_mut_ptr().cast(), n as i32)
                };
                if err != 0 {
                    return Err(EIO);
                }
                done += n;
                next = next.wrapping_add(n as u32);
            }
        }
        if done == out.len() {
            Ok(())
        } else {
            Err(EIO)
        }
    }

    /// Freezes the connection: from now on its stack sends nothing for it,
    /// its owner's next read or write fails with ECONNABORTED (then reads
    /// with ENOTCONN, writes with EPIPE), and its close is silent. The
    /// sock leaves the established hash table.
    pub(crate) fn freeze(self) {
        // SAFETY: The sock is locked and live.
        unsafe { bindings::tcpmig_freeze(self.sk()) };
    }
}

impl Drop for LockedSock<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `Sock::lock`, which made this guard.
        unsafe { bindings::tcpmig_release_sock(self.sk()) };
    }
}
