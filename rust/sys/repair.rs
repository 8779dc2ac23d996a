// SPDX-License-Identifier: GPL-2.0

//! Rebuilding a connection in a kernel socket: created in a namespace,
//! rebuilt in repair mode through the TCP_REPAIR socket options and what
//! they cannot set (congestion and IP state, CLOSE_WAIT), then handed to
//! a listener's accept queue.
//!
//! The repair steps are the methods of [`Repair`], named after what they
//! set; the socket options and their encodings stay in this file.

use super::{
    bindings,
    net::Net,
    sock::{
        Family,
        Sock, //
    },
    socket::KernelSocket,
};
use crate::wire::{
    IpState,
    TcpState, //
};
use core::ptr::NonNull;
use kernel::{
    error::to_result,
    ffi::c_void,
    prelude::*, //
};

/// A connection being rebuilt: the socket it is rebuilt in, the data
/// queued without waiting, the hand-off to a listener.
impl KernelSocket {
    /// A TCP socket of `family` in `net` to rebuild a connection in; like
    /// a handshake's child, it is charged to a memory cgroup only when
    /// accepted (see `repair.c`).
    pub(crate) fn new(net: &Net, family: Family) -> Result<Self> {
        // SAFETY: `net` is live; the shim returns a new socket or NULL.
        let sock = unsafe { bindings::tcpmig_sock_create(net.as_ptr(), family.af()) };
        let sock = NonNull::new(sock).ok_or(ENOMEM)?;
        // SAFETY: The new TCP socket is ours, handed over.
        Ok(unsafe { Self::from_raw(sock) })
    }

    /// Makes room for `send` queued send bytes and `recv` queued received
    /// bytes: the defaults (16 KiB and 128 KiB) refuse larger queues. No
    /// privileged socket option: admin rights in the namespace suffice.
    pub(crate) fn reserve_buffers(&self, send: usize, recv: usize) -> Result {
        let send = u32::try_from(send).map_err(|_| EMSGSIZE)?;
        let recv = u32::try_from(recv).map_err(|_| EMSGSIZE)?;
        // SAFETY: `sock` is ours.
        unsafe { bindings::tcpmig_reserve_buffers(self.as_ptr(), send, recv) };
        Ok(())
    }

    /// Turns repair mode on (`TCP_REPAIR`): the steps of a rebuild become
    /// available, and until [`Repair::finish`] the socket sends nothing,
    /// on release either.
    pub(crate) fn repair(&self) -> Result<Repair<'_>> {
        self.set_int(bindings::SOL_TCP, bindings::TCP_REPAIR, 1)?;
        Ok(Repair { socket: self })
    }

    /// Queues `data` for sending (in repair mode: into the chosen queue).
    pub(crate) fn send(&self, data: &[u8]) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `sock` is ours; `data` is valid.
        to_result(unsafe { bindings::tcpmig_send(self.as_ptr(), data.as_ptr().cast(), data.len()) })
    }

    /// Sends a restored connection's never-sent bytes, whatever its
    /// not-sent low-water mark.
    pub(crate) fn send_unsent(&self, data: &[u8]) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `sock` is ours; `data` is valid.
        to_result(unsafe {
            bindings::tcpmig_send_unsent(self.as_ptr(), data.as_ptr().cast(), data.len())
        })
    }

    /// Hands the connection to `listener`'s accept queue; on success the
    /// kernel socket is gone and the connection belongs to the listener.
    pub(crate) fn hand_to(self, listener: &Sock) -> Result {
        // SAFETY: Both are live; on success the shim released `sock`.
        to_result(unsafe { bindings::tcpmig_accept_queue_add(listener.as_ptr(), self.as_ptr()) })?;
        core::mem::forget(self);
        Ok(())
    }

    fn set_option(&self, level: u32, name: u32, val: *const c_void, len: usize) -> Result {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `sock` is ours; `val` is valid for `len` bytes.
        to_result(unsafe {
            bindings::tcpmig_setsockopt(self.as_ptr(), level as i32, name as i32, val, len)
        })
    }

    fn set_int(&self, level: u32, name: u32, val: i32) -> Result {
        self.set_option(level, name, (&raw const val).cast(), size_of::<i32>())
    }
}

/// A queue of a socket in repair mode.
#[derive(Clone, Copy)]
pub(crate) enum RepairQueue {
    /// The send queue: bytes queued here count as sent, awaiting their
    /// acknowledgement.
    Send,
    /// The receive queue: bytes queued here wait for the application.
    Receive,
}

impl RepairQueue {
    fn option_value(self) -> i32 {
        let queue = match self {
            Self::Send => bindings::TCP_SEND_QUEUE,
            Self::Receive => bindings::TCP_RECV_QUEUE,
        };
        queue as i32
    }
}

/// The options a connection negotiated in its handshake.
pub(crate) struct RepairOptions {
    /// The peer's MSS.
    pub(crate) mss: u16,
    /// Window scales (sending, receiving), if negotiated.
    pub(crate) wscale: Option<(u8, u8)>,
    /// Selective acknowledgements.
    pub(crate) sack: bool,
    /// Timestamps.
    pub(crate) timestamps: bool,
}

/// The window state of a connection (`TCP_REPAIR_WINDOW`).
pub(crate) struct RepairWindow {
    pub(crate) snd_wl1: u32,
    pub(crate) snd_wnd: u32,
    pub(crate) max_window: u32,
    pub(crate) rcv_wnd: u32,
    pub(crate) rcv_wup: u32,
}

/// A kernel socket in repair mode: the steps of rebuilding a connection.
pub(crate) struct Repair<'a> {
    socket: &'a KernelSocket,
}

impl Repair<'_> {
    fn select_queue(&self, queue: Option<RepairQueue>) -> Result {
        let val = queue.map_or(0, RepairQueue::option_value); // 0: TCP_NO_QUEUE
        self.socket
            .set_int(bindings::SOL_TCP, bindings::TCP_REPAIR_QUEUE, val)
    }

    /// Sets the first sequence number of `queue` (`TCP_QUEUE_SEQ`);
    /// before `connect`.
    pub(crate) fn set_queue_seq(&self, queue: RepairQueue, seq: u32) -> Result {
        self.select_queue(Some(queue))?;
        // The option takes the 32 bits of the sequence number as an int.
        let seq = i32::from_ne_bytes(seq.to_ne_bytes());
        self.socket
            .set_int(bindings::SOL_TCP, bindings::TCP_QUEUE_SEQ, seq)?;
        self.select_queue(None)
    }

    /// Sets the negotiated options (`TCP_REPAIR_OPTIONS`); after
    /// `connect`, before any data (the kernel refuses them afterwards).
    pub(crate) fn set_options(&self, options: &RepairOptions) -> Result {
        let mut opts = [bindings::tcp_repair_opt::default(); 4];
        let mut n = 0;
        let mut push = |opt_code: u32, opt_val: u32| {
            opts[n] = bindings::tcp_repair_opt { opt_code, opt_val };
            n += 1;
        };
        push(bindings::TCPOPT_MSS, options.mss.into());
        if let Some((snd, rcv)) = options.wscale {
            push(
                bindings::TCPOPT_WINDOW,
                u32::from(snd) | u32::from(rcv) << 16,
            );
        }
        if options.sack {
            push(bindings::TCPOPT_SACK_PERM, 0);
        }
        if options.timestamps {
            push(bindings::TCPOPT_TIMESTAMP, 0);
        }
        self.socket.set_option(
            bindings::SOL_TCP,
            bindings::TCP_REPAIR_OPTIONS,
            opts.as_ptr().cast(),
            n * size_of::<bindings::tcp_repair_opt>(),
        )
    }

    /// Continues this side's timestamps from `ts_val` (`TCP_TIMESTAMP`),
    /// counting microseconds if `usec`.
    pub(crate) fn set_timestamp(&self, ts_val: u32, usec: bool) -> Result {
        // The option's low bit selects microsecond timestamps; round up,
        // never down, so the peer sees TSval keep growing.
        let val = (ts_val.wrapping_add(1) & !1) | u32::from(usec);
        self.socket.set_int(
            bindings::SOL_TCP,
            bindings::TCP_TIMESTAMP,
            i32::from_ne_bytes(val.to_ne_bytes()),
        )
    }

    /// Puts `data` into `queue` as if it had gone through the connection:
    /// received and unread, or sent and unacknowledged.
    pub(crate) fn queue(&self, queue: RepairQueue, data: &[u8]) -> Result {
        self.select_queue(Some(queue))?;
        self.socket.send(data)?;
        self.select_queue(None)
    }

    /// Sets the window state (`TCP_REPAIR_WINDOW`).
    pub(crate) fn set_window(&self, window: &RepairWindow) -> Result {
        let raw = bindings::tcp_repair_window {
            snd_wl1: window.snd_wl1,
            snd_wnd: window.snd_wnd,
            max_window: window.max_window,
            rcv_wnd: window.rcv_wnd,
            rcv_wup: window.rcv_wup,
        };
        self.socket.set_option(
            bindings::SOL_TCP,
            bindings::TCP_REPAIR_WINDOW,
            (&raw const raw).cast(),
            size_of::<bindings::tcp_repair_window>(),
        )
    }

    /// Sets what TCP_REPAIR cannot: the congestion and RTT state of `tcp`
    /// (`tcp_sock` units; the RTO is derived from them as the kernel
    /// does), the peer's last timestamp, the window clamp, and zero window
    /// scales on a connection that has none.
    pub(crate) fn set_congestion(&self, tcp: &TcpState) {
        let t = bindings::tcpmig_tcp {
            ecn_ok: tcp.options & crate::wire::opt::ECN != 0,
            window_clamp: tcp.window_clamp,
            ts_recent: tcp.ts_recent,
            snd_cwnd: tcp.snd_cwnd,
            snd_ssthresh: tcp.snd_ssthresh,
            srtt_us: tcp.srtt_us,
            mdev_us: tcp.mdev_us,
            ..Default::default()
        };
        // SAFETY: The socket is ours and connected; `t` is valid.
        unsafe { bindings::tcpmig_set_cc(self.socket.as_ptr(), &t) };
    }

    /// Sets the IP side the connection had: TOS or traffic class, its own
    /// TTL or hop limit (0: the default), the IPv6 flow label.
    pub(crate) fn set_ip(&self, ip: &IpState) {
        let raw = bindings::tcpmig_ip {
            family: ip.family,
            tos: ip.tos,
            ttl: ip.ttl,
            flow_label: ip.flow_label,
            ..Default::default()
        };
        // SAFETY: The socket is ours and connected; `raw` is valid.
        unsafe { bindings::tcpmig_set_ip(self.socket.as_ptr(), &raw) };
    }

    /// Moves the connection to CLOSE_WAIT: the peer's FIN is consumed
    /// again (after the received bytes are queued).
    pub(crate) fn enter_close_wait(&self) {
        // SAFETY: The socket is ours and connected.
        unsafe { bindings::tcpmig_set_close_wait(self.socket.as_ptr()) };
    }

    /// Leaves repair mode: the connection goes live (the kernel sends a
    /// window probe, which tells the peer where this end stands).
    pub(crate) fn finish(self) -> Result {
        self.socket
            .set_int(bindings::SOL_TCP, bindings::TCP_REPAIR, 0)
    }
}
