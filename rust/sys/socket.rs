// SPDX-License-Identifier: GPL-2.0

//! Kernel sockets for injection: created in a namespace, rebuilt in
//! repair mode through the TCP_REPAIR socket options, then handed to a
//! listener's accept queue.
//!
//! The repair steps are the methods of [`Repair`], named after what they
//! set; the socket options and their encodings stay in this file.

use super::{
    bindings,
    net::Net,
    sock::{
        Endpoint,
        Family,
        Sock, //
    },
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

/// Whether `addr` of `family` is an address of this host in `net`.
pub(crate) fn addr_is_local(net: &Net, family: Family, addr: &[u8; 16]) -> bool {
    // SAFETY: `net` is live; `addr` is 16 valid bytes.
    unsafe { bindings::tcpmig_addr_is_local(net.as_ptr(), family.af(), addr.as_ptr().cast()) }
}

/// A kernel TCP socket; released on drop unless handed to a listener.
///
/// # Invariants
///
/// `sock` is a kernel socket owned by this value, holding a TCP sock.
pub(crate) struct KernelSocket {
    sock: NonNull<bindings::socket>,
    /// Release in repair mode: the peer hears nothing of the close.
    silent: bool,
}

impl KernelSocket {
    /// A TCP socket of `family` in `net`.
    pub(crate) fn new(net: &Net, family: Family) -> Result<Self> {
        // SAFETY: `net` is live; the shim returns a new socket or NULL.
        let sock = unsafe { bindings::tcpmig_sock_create(net.as_ptr(), family.af()) };
        // INVARIANT: The new socket is ours.
        NonNull::new(sock)
            .map(|sock| Self {
                sock,
                silent: false,
            })
            .ok_or(ENOMEM)
    }

    /// From now on, dropping the socket closes its connection silently
    /// (in repair mode): for a connection that may still go elsewhere.
    pub(crate) fn close_silently(&mut self) {
        self.silent = true;
    }

    /// The socket's TCP sock.
    pub(crate) fn sock(&self) -> &Sock {
        // SAFETY: `sock` is ours and holds its sock while it lives.
        let sk = unsafe { bindings::tcpmig_socket_sk(self.sock.as_ptr()) };
        // SAFETY: A TCP socket's sock is a full TCP sock that lives as
        // long as the socket, so as long as `self`.
        unsafe { Sock::from_raw(sk) }
    }

    fn set_option(&self, level: u32, name: u32, val: *const c_void, len: usize) -> Result {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `sock` is ours; `val` is valid for `len` bytes.
        to_result(unsafe {
            bindings::tcpmig_setsockopt(self.sock.as_ptr(), level as i32, name as i32, val, len)
        })
    }

    fn set_int(&self, level: u32, name: u32, val: i32) -> Result {
        self.set_option(level, name, (&raw const val).cast(), size_of::<i32>())
    }

    /// Makes room for `send` queued send bytes and `recv` queued received
    /// bytes: the defaults (16 KiB and 128 KiB) refuse larger queues. No
    /// privileged socket option: admin rights in the namespace suffice.
    pub(crate) fn reserve_buffers(&self, send: usize, recv: usize) -> Result {
        let send = u32::try_from(send).map_err(|_| EMSGSIZE)?;
        let recv = u32::try_from(recv).map_err(|_| EMSGSIZE)?;
        // SAFETY: `sock` is ours.
        unsafe { bindings::tcpmig_reserve_buffers(self.sock.as_ptr(), send, recv) };
        Ok(())
    }

    /// Turns repair mode on (`TCP_REPAIR`): the steps of a rebuild become
    /// available, and until [`Repair::finish`] the socket sends nothing,
    /// on release either.
    pub(crate) fn repair(&self) -> Result<Repair<'_>> {
        self.set_int(bindings::SOL_TCP, bindings::TCP_REPAIR, 1)?;
        Ok(Repair { socket: self })
    }

    fn endpoint_call(
        &self,
        f: unsafe extern "C" fn(*mut bindings::socket, i32, *const u8, u16) -> i32,
        ep: &Endpoint,
    ) -> Result {
        // SAFETY: `sock` is ours; the address is 16 valid bytes.
        to_result(unsafe {
            f(
                self.sock.as_ptr(),
                ep.family.af(),
                ep.addr.as_ptr(),
                ep.port.to_be(),
            )
        })
    }

    /// Binds to `local`.
    pub(crate) fn bind(&self, local: &Endpoint) -> Result {
        self.endpoint_call(bindings::tcpmig_bind, local)
    }

    /// Connects to `remote` (in repair mode: straight to ESTABLISHED, no
    /// SYN; otherwise without waiting for the handshake).
    pub(crate) fn connect(&self, remote: &Endpoint) -> Result {
        self.endpoint_call(bindings::tcpmig_connect, remote)
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

    /// Sends a restored connection's never-sent bytes, whatever its
    /// not-sent low-water mark.
    pub(crate) fn send_unsent(&self, data: &[u8]) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `sock` is ours; `data` is valid.
        to_result(unsafe {
            bindings::tcpmig_send_unsent(self.sock.as_ptr(), data.as_ptr().cast(), data.len())
        })
    }

    /// Hands the connection to `listener`'s accept queue; on success the
    /// kernel socket is gone and the connection belongs to the listener.
    pub(crate) fn hand_to(self, listener: &Sock) -> Result {
        // SAFETY: Both are live; on success the shim released `sock`.
        to_result(unsafe {
            bindings::tcpmig_accept_queue_add(listener.as_ptr(), self.sock.as_ptr())
        })?;
        core::mem::forget(self);
        Ok(())
    }

    /// Shuts down the sending side (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn shutdown_write(&self) -> Result {
        // SAFETY: `sock` is ours.
        to_result(unsafe { bindings::tcpmig_shutdown_write(self.sock.as_ptr()) })
    }

    /// An MPTCP socket of `family` in `net` (tests): its connections run
    /// over TCP subflows a blob cannot carry alone. Only `connect`,
    /// `bind`, `listen`, `accept` and `local_port` apply to it.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn new_mptcp(net: &Net, family: Family) -> Result<Self> {
        // SAFETY: `net` is live; the shim returns a new socket or NULL.
        let sock = unsafe { bindings::tcpmig_test_sock_create_mptcp(net.as_ptr(), family.af()) };
        // INVARIANT: The new socket is ours. (Its sock is an MPTCP one, not
        // a TCP one: the tests never call `sock()` on it.)
        NonNull::new(sock)
            .map(|sock| Self {
                sock,
                silent: false,
            })
            .ok_or(ENOMEM)
    }

    /// The local port the socket is bound to (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn local_port(&self) -> u16 {
        // SAFETY: `sock` is ours and holds its sock.
        unsafe { bindings::tcpmig_test_local_port(self.sock.as_ptr()) }
    }

    /// Makes an accepted connection movable: capture refuses kernel
    /// users' sockets, and this one is a kernel socket only because the
    /// module accepted it for a client (a service, or a test). On a
    /// listener, before it listens: the connections it accepts are
    /// movable from the start, and their locks are of a process's
    /// socket lock class (a child's class follows this flag).
    pub(crate) fn make_movable(&self) {
        // SAFETY: `sock` is ours and holds its sock.
        unsafe { bindings::tcpmig_sock_make_movable(self.sock.as_ptr()) };
    }

    /// Sends one byte of urgent data (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn send_urgent(&self, byte: u8) -> Result {
        // SAFETY: `sock` is ours.
        let n = unsafe { bindings::tcpmig_test_send_oob(self.sock.as_ptr(), byte) };
        to_result(n)
    }

    /// Signs the connection's segments with a TCP-MD5 key (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn set_md5_key(&self) -> Result {
        // SAFETY: `sock` is ours and connected.
        to_result(unsafe { bindings::tcpmig_test_set_md5_key(self.sock.as_ptr()) })
    }

    /// Attaches the upper-layer protocol `name` (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn set_ulp(&self, name: &core::ffi::CStr) -> Result {
        // SAFETY: `sock` is ours; `name` is a C string.
        to_result(unsafe { bindings::tcpmig_test_set_ulp(self.sock.as_ptr(), name.as_char_ptr()) })
    }

    /// Lets the socket bind to a port in TIME_WAIT.
    pub(crate) fn reuse_addr(&self) {
        // SAFETY: `sock` is ours and holds its sock.
        unsafe { bindings::sock_set_reuseaddr(self.sock().as_ptr()) };
    }

    /// Listens with room for `backlog` connections.
    pub(crate) fn listen(&self, backlog: i32) -> Result {
        // SAFETY: `sock` is ours and bound.
        to_result(unsafe { bindings::tcpmig_listen(self.sock.as_ptr(), backlog) })
    }

    /// Takes a connection off the accept queue without waiting (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn accept(&self) -> Result<KernelSocket> {
        let mut new = core::ptr::null_mut();
        // SAFETY: `sock` is ours and listening; `new` receives a socket.
        to_result(unsafe {
            bindings::kernel_accept(self.sock.as_ptr(), &mut new, bindings::O_NONBLOCK as i32)
        })?;
        // INVARIANT: `kernel_accept` gave us the new socket.
        NonNull::new(new)
            .map(|sock| KernelSocket {
                sock,
                silent: false,
            })
            .ok_or(EINVAL)
    }

    /// Reads what is there (at most `buf.len()` bytes) without waiting
    /// (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: `sock` is ours; `buf` is valid for its length.
        let n = unsafe {
            bindings::tcpmig_recv(self.sock.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        to_result(n)?;
        Ok(n as usize)
    }
}

/// Blocking I/O for the migrator's connections: every call waits at most
/// as long as [`KernelSocket::set_timeouts`] allows, and a
/// [`KernelSocket::shutdown`] from another task ends every wait.
impl KernelSocket {
    /// A plain TCP socket of `family` in `net`; an IPv6 one is dual-stack.
    pub(crate) fn new_plain(net: &Net, family: Family) -> Result<Self> {
        // SAFETY: `net` is live; the shim returns a new socket or NULL.
        let sock = unsafe { bindings::tcpmig_sock_create_plain(net.as_ptr(), family.af()) };
        // INVARIANT: The new socket is ours.
        NonNull::new(sock)
            .map(|sock| Self {
                sock,
                silent: false,
            })
            .ok_or(ENOMEM)
    }

    /// The namespace of the socket.
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: `sock` is ours; its sock is in a live namespace.
        let net = unsafe { bindings::tcpmig_sock_net(self.sock.as_ptr()) };
        // SAFETY: A kernel socket must be released before its namespace
        // is dismantled (it holds no reference), so the namespace
        // outlives `self`.
        unsafe { Net::from_raw(net) }
    }

    /// Waits for a connection and takes it off the accept queue.
    pub(crate) fn accept_wait(&self) -> Result<KernelSocket> {
        let mut new = core::ptr::null_mut();
        // SAFETY: `sock` is ours and listening; `new` receives a socket.
        to_result(unsafe { bindings::tcpmig_accept(self.sock.as_ptr(), &mut new) })?;
        // INVARIANT: `kernel_accept` gave us the new socket.
        NonNull::new(new)
            .map(|sock| KernelSocket {
                sock,
                silent: false,
            })
            .ok_or(EINVAL)
    }

    /// Sends each write at once (TCP_NODELAY): a frame goes out in pieces,
    /// and Nagle would hold its last one for the peer's delayed ack.
    pub(crate) fn set_nodelay(&self) {
        // SAFETY: `sock` is ours, a TCP socket.
        unsafe { bindings::tcpmig_set_nodelay(self.sock.as_ptr()) };
    }

    /// Sets how long sends (and connect) and receives wait, in
    /// milliseconds; 0 waits forever.
    pub(crate) fn set_timeouts(&self, send_ms: u32, recv_ms: u32) {
        // SAFETY: `sock` is ours.
        unsafe { bindings::tcpmig_set_timeouts(self.sock.as_ptr(), send_ms, recv_ms) };
    }

    /// Reads exactly `buf.len()` bytes: `ETIMEDOUT` when no byte came
    /// for the receive timeout, `ECONNRESET` when the peer closed first.
    pub(crate) fn recv_exact(&self, buf: &mut [u8]) -> Result {
        // SAFETY: `sock` is ours; `buf` is valid for its length.
        to_result(unsafe {
            bindings::tcpmig_recv_exact(self.sock.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        })
    }

    /// Peeks at the first bytes of the receive queue into `buf` without
    /// consuming them, waiting at most `timeout_ms` until more than
    /// `have` are there. Returns how many are there and whether the
    /// stream ended; no more than `have` when the wait ran out.
    pub(crate) fn peek(
        &self,
        buf: &mut [u8],
        have: usize,
        timeout_ms: u32,
    ) -> Result<(usize, bool)> {
        let mut eof = false;
        // SAFETY: `sock` is ours; `buf` is valid for its length.
        let n = unsafe {
            bindings::tcpmig_peek(
                self.sock.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                have,
                timeout_ms,
                &mut eof,
            )
        };
        match to_result(n) {
            Ok(()) => Ok((n as usize, eof)),
            Err(e) if e == EAGAIN => Ok((have.min(buf.len()), eof)),
            Err(e) => Err(e),
        }
    }

    /// Sends `parts` one after the other; on error also says how many
    /// bytes went into the socket before it.
    pub(crate) fn send_all<const N: usize>(
        &self,
        parts: [&[u8]; N],
    ) -> core::result::Result<(), (Error, usize)> {
        let slices = parts.map(|p| bindings::tcpmig_slice {
            data: p.as_ptr().cast(),
            len: p.len(),
        });
        let mut sent = 0;
        // SAFETY: `sock` is ours; each slice points to `len` valid bytes.
        let err =
            unsafe { bindings::tcpmig_send_all(self.sock.as_ptr(), slices.as_ptr(), N, &mut sent) };
        to_result(err).map_err(|e| (e, sent))
    }

    /// Shuts the connection down both ways, waking every task blocked on
    /// the socket (a listener's `accept_wait` fails from then on).
    pub(crate) fn shutdown(&self) {
        // SAFETY: `sock` is ours. An error only says it was not connected.
        let _ = unsafe { bindings::tcpmig_shutdown(self.sock.as_ptr()) };
    }

    /// The peer of a connected socket; a v4-mapped address as IPv4.
    pub(crate) fn peer(&self) -> Result<Endpoint> {
        self.address(true)
    }

    /// The local address and port (a v4-mapped address as IPv4).
    pub(crate) fn local(&self) -> Result<Endpoint> {
        self.address(false)
    }

    fn address(&self, peer: bool) -> Result<Endpoint> {
        let (mut family, mut addr, mut port) = (0u8, [0u8; 16], 0u16);
        // SAFETY: `sock` is ours; the out-pointers are valid, `addr` for
        // 16 bytes.
        to_result(unsafe {
            bindings::tcpmig_sock_addr(
                self.sock.as_ptr(),
                peer,
                &mut family,
                addr.as_mut_ptr(),
                &mut port,
            )
        })?;
        Ok(Endpoint {
            family: Family::from_blob(family).ok_or(EAFNOSUPPORT)?,
            addr,
            port,
        })
    }

    /// Whether an idle connection can still carry a request (established,
    /// no error, no FIN or stray bytes from the peer).
    pub(crate) fn idle_ok(&self) -> bool {
        // SAFETY: `sock` is ours.
        unsafe { bindings::tcpmig_sock_idle_ok(self.sock.as_ptr()) }
    }
}

// SAFETY: A kernel socket is not tied to the task that created it.
unsafe impl Send for KernelSocket {}

// SAFETY: Every operation through `&KernelSocket` goes through the socket
// layer, which locks the sock itself; the only `&mut` one
// (`close_silently`) changes this value's own field.
unsafe impl Sync for KernelSocket {}

impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: The socket is ours and released once, here.
        unsafe {
            if self.silent {
                bindings::tcpmig_sock_release_silently(self.sock.as_ptr());
            } else {
                bindings::tcpmig_sock_release(self.sock.as_ptr());
            }
        }
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
        unsafe { bindings::tcpmig_set_cc(self.socket.sock.as_ptr(), &t) };
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
        unsafe { bindings::tcpmig_set_ip(self.socket.sock.as_ptr(), &raw) };
    }

    /// Moves the connection to CLOSE_WAIT: the peer's FIN is consumed
    /// again (after the received bytes are queued).
    pub(crate) fn enter_close_wait(&self) {
        // SAFETY: The socket is ours and connected.
        unsafe { bindings::tcpmig_set_close_wait(self.socket.sock.as_ptr()) };
    }

    /// Leaves repair mode: the connection goes live (the kernel sends a
    /// window probe, which tells the peer where this end stands).
    pub(crate) fn finish(self) -> Result {
        self.socket
            .set_int(bindings::SOL_TCP, bindings::TCP_REPAIR, 0)
    }
}

impl KernelSocket {
    /// A socket that holds `port` bound on every address of `net`, IPv4
    /// and IPv6, so that no other socket there can use it.
    pub(crate) fn reserve(net: &Net, port: u16) -> Result<Self> {
        let mut err = 0;
        // SAFETY: `net` is live; the shim returns a new socket or NULL
        // with the reason in `err`.
        let sock = unsafe { bindings::tcpmig_sock_reserve(net.as_ptr(), port, &mut err) };
        // INVARIANT: The new socket is ours.
        match NonNull::new(sock) {
            Some(sock) => Ok(Self {
                sock,
                silent: false,
            }),
            None => Err(Error::from_errno(err)),
        }
    }
}
