// SPDX-License-Identifier: GPL-2.0

//! Kernel sockets for injection: created in a namespace, rebuilt in
//! repair mode through the socket options, then handed to a listener.

use super::bindings;
use super::net::Net;
use super::sock::{lookup, Endpoint, LockedTcp};
use crate::wire::TcpState;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::prelude::*;

pub(crate) use bindings::{
    TCPOPT_MSS, TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WINDOW, TCP_QUEUE_SEQ, TCP_RECV_QUEUE,
    TCP_REPAIR, TCP_REPAIR_OPTIONS, TCP_REPAIR_QUEUE, TCP_REPAIR_WINDOW, TCP_SEND_QUEUE,
    TCP_TIMESTAMP,
};
pub(crate) type RepairOpt = bindings::tcp_repair_opt;
pub(crate) type RepairWindow = bindings::tcp_repair_window;

/// `TCP_REPAIR` values.
pub(crate) const TCP_REPAIR_ON: i32 = 1;
pub(crate) const TCP_REPAIR_OFF: i32 = 0;
/// `TCP_REPAIR_QUEUE`: neither queue.
pub(crate) const TCP_NO_QUEUE: i32 = 0;

/// A listening socket, held.
///
/// # Invariants
///
/// `sk` is a socket with a reference owned by this value.
pub(crate) struct Listener {
    sk: NonNull<bindings::sock>,
}

impl Listener {
    /// The listener `local` would reach from `remote` in `net`.
    pub(crate) fn lookup(net: &Net, local: &Endpoint, remote: &Endpoint) -> Option<Self> {
        // INVARIANT: The lookup returns a held socket.
        lookup(bindings::tcpmig_lookup_listener, net, local, remote).map(|sk| Self { sk })
    }

    /// The listener's address family as a blob family (4 or 6).
    pub(crate) fn family(&self) -> u8 {
        // SAFETY: `sk` is live by the invariant; the family never changes.
        let family = unsafe { (*self.sk.as_ptr()).__sk_common.skc_family };
        if u32::from(family) == bindings::AF_INET6 {
            6
        } else {
            4
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: By the invariant we own one reference.
        unsafe { bindings::tcpmig_sock_put(self.sk.as_ptr()) };
    }
}

/// Whether `addr` (family 4 or 6) is an address of this host in `net`.
pub(crate) fn addr_is_local(net: &Net, family: u8, addr: &[u8; 16]) -> bool {
    let af = if family == 6 {
        bindings::AF_INET6
    } else {
        bindings::AF_INET
    };
    // SAFETY: `addr` is 16 valid bytes.
    unsafe { bindings::tcpmig_addr_is_local(net.as_ptr(), af as i32, addr.as_ptr().cast()) }
}

/// A kernel TCP socket; released on drop unless handed to a listener.
///
/// # Invariants
///
/// `sock` is a kernel socket owned by this value.
pub(crate) struct KernelSocket {
    sock: NonNull<bindings::socket>,
}

impl KernelSocket {
    /// A TCP socket of `family` (4 or 6) in `net`.
    pub(crate) fn new(net: &Net, family: u8) -> Result<Self> {
        let af = if family == 6 {
            bindings::AF_INET6
        } else {
            bindings::AF_INET
        };
        // SAFETY: `net` is live; the shim returns a new socket or NULL.
        let sock = unsafe { bindings::tcpmig_sock_create(net.as_ptr(), af as i32) };
        // INVARIANT: The new socket is ours.
        NonNull::new(sock).map(|sock| Self { sock }).ok_or(ENOMEM)
    }

    fn set_raw(&self, level: u32, name: u32, val: *const core::ffi::c_void, len: usize) -> Result {
        // SAFETY: `sock` is ours; `val` is valid for `len` bytes.
        to_result(unsafe {
            bindings::tcpmig_setsockopt(
                self.sock.as_ptr(),
                level as i32,
                name as i32,
                val,
                len as u32,
            )
        })
    }

    /// Sets an `int` TCP option.
    pub(crate) fn set_tcp(&self, name: u32, val: i32) -> Result {
        self.set_raw(bindings::SOL_TCP, name, (&raw const val).cast(), 4)
    }

    /// Makes room for `send` queued send bytes and `recv` queued received
    /// bytes: the defaults (16 KiB and 128 KiB) refuse larger queues.
    /// Forcing a size turns autotuning off for that buffer.
    pub(crate) fn reserve_buffers(&self, send: usize, recv: usize) -> Result {
        // skb overhead roughly doubles the memory charged for the bytes.
        let size = |n: usize| i32::try_from(2 * n + (64 << 10)).map_err(|_| EMSGSIZE);
        if send > 16 << 10 {
            let val = size(send)?;
            self.set_raw(
                bindings::SOL_SOCKET,
                bindings::SO_SNDBUFFORCE,
                (&raw const val).cast(),
                4,
            )?;
        }
        if recv > 64 << 10 {
            let val = size(recv)?;
            self.set_raw(
                bindings::SOL_SOCKET,
                bindings::SO_RCVBUFFORCE,
                (&raw const val).cast(),
                4,
            )?;
        }
        Ok(())
    }

    /// Sets `TCP_REPAIR_OPTIONS`.
    pub(crate) fn set_repair_options(&self, opts: &[RepairOpt]) -> Result {
        self.set_raw(
            bindings::SOL_TCP,
            TCP_REPAIR_OPTIONS,
            opts.as_ptr().cast(),
            core::mem::size_of_val(opts),
        )
    }

    /// Sets `TCP_REPAIR_WINDOW`.
    pub(crate) fn set_repair_window(&self, window: &RepairWindow) -> Result {
        self.set_raw(
            bindings::SOL_TCP,
            TCP_REPAIR_WINDOW,
            core::ptr::from_ref(window).cast(),
            core::mem::size_of::<RepairWindow>(),
        )
    }

    /// Binds to `local`.
    pub(crate) fn bind(&self, local: &Endpoint) -> Result {
        // SAFETY: `sock` is ours; the address is 16 valid bytes.
        to_result(unsafe {
            bindings::tcpmig_bind(
                self.sock.as_ptr(),
                local.family,
                local.addr.as_ptr(),
                local.port.to_be(),
            )
        })
    }

    /// Connects to `remote` (in repair mode: straight to ESTABLISHED, no SYN).
    pub(crate) fn connect(&self, remote: &Endpoint) -> Result {
        // SAFETY: `sock` is ours; the address is 16 valid bytes.
        to_result(unsafe {
            bindings::tcpmig_connect(
                self.sock.as_ptr(),
                remote.family,
                remote.addr.as_ptr(),
                remote.port.to_be(),
            )
        })
    }

    /// Queues `data` for sending (in repair mode: into the chosen queue).
    pub(crate) fn send(&self, data: &[u8]) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `sock` is ours; `data` is valid.
        to_result(unsafe {
            bindings::tcpmig_send(self.sock.as_ptr(), data.as_ptr().cast(), data.len())
        })
    }

    /// Sets what TCP_REPAIR cannot: the congestion and RTT state of
    /// `tcp` (`tcp_sock` units) and the peer's last timestamp.
    pub(crate) fn set_beyond_repair(&self, tcp: &TcpState) {
        // SAFETY: `sock` is ours and connected.
        unsafe {
            bindings::tcpmig_set_cc(
                self.sock.as_ptr(),
                tcp.snd_cwnd,
                tcp.snd_ssthresh,
                tcp.srtt_us,
                tcp.mdev_us,
                tcp.rto_us,
                tcp.ts_recent,
            )
        };
    }

    /// Moves a repaired connection to CLOSE_WAIT: the peer's FIN is
    /// consumed again (call after queueing the received bytes).
    pub(crate) fn enter_close_wait(&self) {
        // SAFETY: `sock` is ours and connected.
        unsafe { bindings::tcpmig_set_close_wait(self.sock.as_ptr()) };
    }

    /// Shuts down the sending side (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn shutdown_write(&self) -> Result {
        // SAFETY: `sock` is ours.
        to_result(unsafe { bindings::tcpmig_shutdown_write(self.sock.as_ptr()) })
    }

    /// Locks the socket's TCP state for reading.
    pub(crate) fn lock(&self) -> LockedTcp<'_> {
        // SAFETY: `sock` is ours and holds a TCP sock while it lives.
        let sk = unsafe { bindings::tcpmig_socket_sk(self.sock.as_ptr()) };
        // SAFETY: As above; the sock lives as long as `self`.
        unsafe { LockedTcp::lock(NonNull::new_unchecked(sk)) }
    }

    /// Listens with room for `backlog` connections.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn listen(&self, backlog: i32) -> Result {
        // SAFETY: `sock` is ours and bound.
        to_result(unsafe { bindings::kernel_listen(self.sock.as_ptr(), backlog) })
    }

    /// Takes a connection off the accept queue without waiting.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn accept(&self) -> Result<KernelSocket> {
        let mut new = core::ptr::null_mut();
        // SAFETY: `sock` is ours and listening; `new` receives a socket.
        to_result(unsafe {
            bindings::kernel_accept(self.sock.as_ptr(), &mut new, bindings::O_NONBLOCK as i32)
        })?;
        // INVARIANT: `kernel_accept` gave us the new socket.
        NonNull::new(new)
            .map(|sock| KernelSocket { sock })
            .ok_or(EINVAL)
    }

    /// Reads what is there (at most `buf.len()` bytes) without waiting.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: `sock` is ours; `buf` is valid for its length.
        let n = unsafe {
            bindings::tcpmig_recv(self.sock.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        to_result(n)?;
        Ok(n as usize)
    }

    /// Hands the connection to `listener`'s accept queue; on success the
    /// kernel socket is gone and the connection belongs to the listener.
    pub(crate) fn hand_to(self, listener: &Listener) -> Result {
        // SAFETY: Both are live; on success the shim released `sock`.
        to_result(unsafe {
            bindings::tcpmig_accept_queue_add(listener.sk.as_ptr(), self.sock.as_ptr())
        })?;
        core::mem::forget(self);
        Ok(())
    }
}

impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: The socket is ours; releasing a socket in repair mode
        // sends neither FIN nor RST.
        unsafe { bindings::tcpmig_sock_release(self.sock.as_ptr()) };
    }
}
