// SPDX-License-Identifier: GPL-2.0

//! TCP sockets: finding one by its 4-tuple, reading its state under the
//! socket lock, copying its queues, and freezing it after capture.

use super::bindings;
use super::net::Net;
use crate::wire::{opt, Addr, IpState, TcpState};
use core::ptr::NonNull;
use kernel::prelude::*;

/// One end of a connection: family 4 or 6, address, port (host order).
#[derive(Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) family: u8,
    pub(crate) addr: Addr,
    pub(crate) port: u16,
}

impl Endpoint {
    pub(super) fn af(&self) -> i32 {
        if self.family == 6 {
            bindings::AF_INET6 as i32
        } else {
            bindings::AF_INET as i32
        }
    }
}

/// A shim lookup by 4-tuple: `tcpmig_lookup_established` or
/// `tcpmig_lookup_listener`, both returning a held socket or NULL.
pub(super) type LookupFn = unsafe extern "C" fn(
    *mut bindings::net,
    i32,
    *const core::ffi::c_void,
    u16,
    *const core::ffi::c_void,
    u16,
) -> *mut bindings::sock;

/// Looks `local`/`remote` up in `net` with `f`; the socket found is held.
pub(super) fn lookup(
    f: LookupFn,
    net: &Net,
    local: &Endpoint,
    remote: &Endpoint,
) -> Option<NonNull<bindings::sock>> {
    // SAFETY: `net` is live and the addresses are 16 valid bytes; both
    // lookups take a reference on what they return.
    let sk = unsafe {
        f(
            net.as_ptr(),
            local.af(),
            local.addr.as_ptr().cast(),
            local.port.to_be(),
            remote.addr.as_ptr().cast(),
            remote.port.to_be(),
        )
    };
    NonNull::new(sk)
}

/// A full TCP socket we hold a reference to.
///
/// # Invariants
///
/// `sk` is a full TCP socket with a reference owned by this value.
pub(crate) struct TcpSock {
    sk: NonNull<bindings::sock>,
}

impl TcpSock {
    /// The established socket of `local`/`remote` in `net`, if any.
    pub(crate) fn lookup_established(
        net: &Net,
        local: &Endpoint,
        remote: &Endpoint,
    ) -> Option<Self> {
        // INVARIANT: The lookup returns a held full TCP socket.
        lookup(bindings::tcpmig_lookup_established, net, local, remote).map(|sk| Self { sk })
    }

    /// Locks the socket (`lock_sock`) until the guard drops.
    pub(crate) fn lock(&self) -> LockedTcp<'_> {
        // SAFETY: `sk` is live by the invariant.
        unsafe { LockedTcp::lock(self.sk) }
    }
}

impl Drop for TcpSock {
    fn drop(&mut self) {
        // SAFETY: By the invariant we own one reference.
        unsafe { bindings::tcpmig_sock_put(self.sk.as_ptr()) };
    }
}

/// Which queue [`LockedTcp::copy_queue`] reads.
#[derive(Clone, Copy)]
pub(crate) enum Queue {
    /// Received, in order, not yet read by the application.
    Receive,
    /// Sent, awaiting acknowledgement.
    Retransmit,
    /// Not yet sent.
    Write,
}

/// A locked TCP socket; unlocks on drop.
///
/// # Invariants
///
/// `sk` is a full TCP socket, alive for `'a` and locked by this value.
pub(crate) struct LockedTcp<'a> {
    sk: NonNull<bindings::sock>,
    _sock: core::marker::PhantomData<&'a bindings::sock>,
}

fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl LockedTcp<'_> {
    /// Locks `sk` (`lock_sock`; may sleep).
    ///
    /// # Safety
    ///
    /// `sk` is a full TCP socket that stays alive while the guard lives.
    pub(super) unsafe fn lock<'b>(sk: NonNull<bindings::sock>) -> LockedTcp<'b> {
        // SAFETY: By the caller's guarantee.
        unsafe { bindings::tcpmig_lock_sock(sk.as_ptr()) };
        // INVARIANT: Locked just now.
        LockedTcp {
            sk,
            _sock: core::marker::PhantomData,
        }
    }

    fn sk(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }

    fn tp(&self) -> &bindings::tcp_sock {
        // SAFETY: A full TCP socket is a `tcp_sock` (its first member
        // chain is `sock`); we hold its lock, so its fields are stable.
        unsafe { &*self.sk().cast::<bindings::tcp_sock>() }
    }

    /// The TCP state (`TCP_ESTABLISHED`, ...).
    pub(crate) fn state(&self) -> u8 {
        self.tp().inet_conn.icsk_inet.sk.__sk_common.skc_state
    }

    /// The TCP part of the blob.
    pub(crate) fn tcp_state(&self) -> TcpState {
        let tp = self.tp();
        let rx = &tp.rx_opt;
        let mut options = 0;
        if rx.sack_ok() != 0 {
            options |= opt::SACK;
        }
        if rx.tstamp_ok() != 0 {
            options |= opt::TIMESTAMPS;
        }
        if rx.wscale_ok() != 0 {
            options |= opt::WSCALE;
        }
        // SAFETY: The socket is locked and live.
        if unsafe { bindings::tcpmig_tcp_ecn_ok(self.sk()) } {
            options |= opt::ECN;
        }
        if tp.tcp_usec_ts() != 0 {
            options |= opt::TS_USEC;
        }
        TcpState {
            state: self.state(),
            options,
            snd_wscale: rx.snd_wscale() as u8,
            rcv_wscale: rx.rcv_wscale() as u8,
            mss_clamp: rx.mss_clamp,
            snd_una: tp.snd_una,
            snd_nxt: tp.snd_nxt,
            write_seq: tp.write_seq,
            rcv_nxt: tp.rcv_nxt,
            copied_seq: tp.copied_seq,
            snd_wl1: tp.snd_wl1,
            snd_wnd: tp.snd_wnd,
            max_window: tp.max_window,
            rcv_wnd: tp.rcv_wnd,
            rcv_wup: tp.rcv_wup,
            window_clamp: tp.window_clamp,
            ts_recent: rx.ts_recent,
            // SAFETY: The socket is locked and live.
            ts_val: unsafe { bindings::tcpmig_tcp_ts_now(self.sk()) },
            snd_cwnd: tp.snd_cwnd,
            snd_ssthresh: tp.snd_ssthresh,
            srtt_us: tp.srtt_us,
            mdev_us: tp.mdev_us,
            // SAFETY: A pure conversion.
            rto_us: unsafe { bindings::tcpmig_jiffies_to_usecs(tp.inet_conn.icsk_rto as usize) },
        }
    }

    /// The IP part of the blob.
    pub(crate) fn ip_state(&self) -> IpState {
        let mut ip = bindings::tcpmig_ip::default();
        // SAFETY: The socket is locked and live; `ip` is ours.
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
            } as i32;
            let mut skb = core::ptr::null_mut();
            loop {
                if done == out.len() {
                    return Ok(());
                }
                let (mut seq, mut len) = (0u32, 0u32);
                // SAFETY: The socket is locked, so its queues are stable;
                // `skb` is NULL or the previous skb of this queue.
                skb = unsafe {
                    bindings::tcpmig_queue_next(self.sk(), which, skb, &mut seq, &mut len)
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
    /// socket leaves the established hash table.
    pub(crate) fn freeze(self) {
        // SAFETY: The socket is locked and live.
        unsafe { bindings::tcpmig_freeze(self.sk()) };
    }
}

impl Drop for LockedTcp<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `TcpSock::lock`, which made this guard.
        unsafe { bindings::tcpmig_release_sock(self.sk()) };
    }
}
