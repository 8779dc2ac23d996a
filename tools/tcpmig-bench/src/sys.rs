//! The few socket calls std does not offer, over libc: the clock every
//! log line uses, socket options set before `connect`, a `listen` with a
//! deep backlog, a `connect` bounded by a deadline, and the peek and the
//! non-blocking send of `front`.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds: the clock of the kernel's
/// `ktime_get()`, so these times compare with tcpmig's stage times and
/// across the processes of one machine.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    // CLOCK_MONOTONIC is never negative.
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_len(r: isize) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// Sets an `int` socket option.
pub fn set_int(fd: &impl AsRawFd, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `val` outlives the call and is as long as the length says.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const val).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Reads an `int` socket option.
fn get_int(fd: &impl AsRawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut val: i32 = 0;
    let mut len = mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `val` and `len` outlive the call; `len` is `val`'s size.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut val).cast(),
            &raw mut len,
        )
    })?;
    Ok(val)
}

/// `addr` as a C socket address.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: All-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a
            // sockaddr_in, and nothing else refers to `ss`.
            let sin = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: As above, for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// How deep the accept queue of every listener here is: a load of
/// CONCURRENCY connects at once must not meet dropped SYNs (std's 128
/// is the usual cap otherwise; the kernel cuts it to somaxconn).
const BACKLOG: i32 = 4096;

/// Binds and listens on `addr` (port 0: any free port).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    // SAFETY: A plain call on the listener's own descriptor; listening
    // again only changes the backlog.
    cvt(unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) })?;
    Ok(listener)
}

/// How a client socket is set up before it connects.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectOpts {
    /// The address to connect from (any port).
    pub source: Option<IpAddr>,
    /// SO_RCVBUF, set before the handshake so the window it advertises
    /// stays small.
    pub rcvbuf: Option<i32>,
}

/// Connects to `addr`, giving up after `timeout` (a blocking connect
/// waits for the kernel's SYN retries, minutes).
pub fn connect(addr: SocketAddr, opts: ConnectOpts, timeout: Duration) -> io::Result<TcpStream> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: Plain socket creation; the descriptor is owned right below.
    let raw = cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if let Some(rcvbuf) = opts.rcvbuf {
        set_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf)?;
    }
    if let Some(ip) = opts.source {
        let (sa, len) = sockaddr(&SocketAddr::new(ip, 0));
        // SAFETY: `sa` is a valid socket address of `len` bytes.
        cvt(unsafe { libc::bind(raw, (&raw const sa).cast(), len) })?;
    }
    let (sa, len) = sockaddr(&addr);
    // SAFETY: `sa` is a valid socket address of `len` bytes.
    if unsafe { libc::connect(raw, (&raw const sa).cast(), len) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
        if !poll(&fd, libc::POLLOUT, timeout)? {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
        }
        let err = get_int(&fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
    }
    let stream = TcpStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Waits up to `timeout` for `events` on `fd`; whether they came.
pub fn poll(fd: &impl AsRawFd, events: libc::c_short, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    loop {
        // SAFETY: `pfd` is one valid pollfd for the call.
        match cvt(unsafe { libc::poll(&raw mut pfd, 1, ms) }) {
            Ok(n) => return Ok(n > 0),
            // A signal: wait again (a little longer than asked, at worst).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Peeks at most `buf.len()` bytes without waiting and without taking
/// them from the receive queue: `Ok(0)` at EOF, `WouldBlock` when none.
pub fn peek(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    cvt_len(unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    })
}

/// Sends what fits in the send buffer now, without waiting and without
/// SIGPIPE: how many bytes went into the socket (`WouldBlock` when none).
pub fn send_now(fd: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    cvt_len(unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn the_clock_moves_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
    }

    #[test]
    fn connect_with_options_and_peek() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let opts = ConnectOpts {
            source: Some("127.0.0.1".parse().unwrap()),
            rcvbuf: Some(4096),
        };
        let mut client = connect(addr, opts, Duration::from_secs(5)).unwrap();
        let (mut conn, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let mut buf = [0u8; 8];
        assert_eq!(
            peek(&conn, &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.write_all(b"hi").unwrap();
        assert!(poll(&conn, libc::POLLIN, Duration::from_secs(5)).unwrap());
        assert_eq!(peek(&conn, &mut buf).unwrap(), 2);
        // Peeked bytes are still there.
        conn.read_exact(&mut buf[..2]).unwrap();
        assert_eq!(&buf[..2], b"hi");
        assert_eq!(send_now(&conn, b"ok").unwrap(), 2);
        client.read_exact(&mut buf[..2]).unwrap();
        assert_eq!(&buf[..2], b"ok");
    }

    #[test]
    fn a_refused_connect_fails() {
        // Bound, not listening: the connect is refused at once.
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        let e = connect(addr, ConnectOpts::default(), Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }
}
