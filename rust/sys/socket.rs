// SPDX-License-Identifier: GPL-2.0

//! Kernel TCP sockets of the module's own: the migrator's channels and
//! listener, every service's listener and the connections it accepts,
//! and the socket that reserves the flow port.
//!
//! Blocking calls wait at most as long as [`KernelSocket::set_timeouts`]
//! allows. The same type carries a connection being rebuilt in repair
//! mode: its steps are in `repair.rs`.

use super::{
    bindings,
    net::Net,
    sock::{
        Endpoint,
        Family,
        Sock, //
    },
};
use core::ptr::NonNull;
use kernel::{
    error::to_result,
    prelude::*, //
};

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
    /// Takes ownership of a kernel socket.
    ///
    /// # Safety
    ///
    /// `sock` is a kernel socket holding a TCP sock, which the caller
    /// owns and hands over.
    pub(super) unsafe fn from_raw(sock: NonNull<bindings::socket>) -> Self {
        // INVARIANT: By the function's requirements.
        Self {
            sock,
            silent: false,
        }
    }

    /// The socket, still ours.
    pub(super) fn as_ptr(&self) -> *mut bindings::socket {
        self.sock.as_ptr()
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

    /// The namespace of the socket.
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: `sock` is ours; its sock is in a live namespace.
        let net = unsafe { bindings::tcpmig_sock_net(self.sock.as_ptr()) };
        // A kernel socket holds no reference on its namespace and must be
        // released before the namespace is dismantled.
        // SAFETY: So the namespace outlives `self`.
        unsafe { Net::from_raw(net) }
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
}

/// Blocking I/O for the module's connections: every call waits at most
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

/// Test helpers: sockets that capture must refuse, and reads, accepts and
/// half-closes without waiting (their C halves are in `kunit.c`).
impl KernelSocket {
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

    /// Shuts down the sending side (tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn shutdown_write(&self) -> Result {
        // SAFETY: `sock` is ours.
        to_result(unsafe { bindings::tcpmig_shutdown_write(self.sock.as_ptr()) })
    }
}

// SAFETY: A kernel socket is not tied to the task that created it.
unsafe impl Send for KernelSocket {}

// The only `&mut` operation (`close_silently`) changes this value's own
// field.
// SAFETY: Every `&KernelSocket` operation locks the sock in the socket layer.
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
