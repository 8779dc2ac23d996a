//! The thin layer over libc: what the `libc` crate lacks from the uapi
//! headers, and safe wrappers for the socket calls the other files make.
//! Nothing above this file calls `libc` with a raw pointer.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `include/uapi/linux/sockios.h`: bytes of the send queue not yet sent.
pub const SIOCOUTQNSD: libc::Ioctl = 0x894b;
/// `include/uapi/linux/sockios.h`: bytes of the send queue not yet acked
/// (the same number as `TIOCOUTQ`).
pub const SIOCOUTQ: libc::Ioctl = libc::TIOCOUTQ;
/// `include/uapi/linux/sockios.h`: bytes of the receive queue not yet read.
pub const SIOCINQ: libc::Ioctl = libc::FIONREAD;

/// `include/net/tcp_states.h`: `tcp_info.tcpi_state` of an open connection.
pub const TCP_ESTABLISHED: u8 = 1;

/// `include/uapi/linux/tcp.h`: `tcp_info.tcpi_options` bits.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
pub const TCPI_OPT_SACK: u8 = 2;
pub const TCPI_OPT_WSCALE: u8 = 4;

/// `include/uapi/linux/tcp.h`: `TCP_REPAIR_QUEUE` values.
pub const TCP_RECV_QUEUE: i32 = 1;
pub const TCP_SEND_QUEUE: i32 = 2;
/// `include/uapi/linux/tcp.h`: `TCP_REPAIR` values. `OFF` sends a window
/// probe as repair ends; `OFF_NO_WP` (-1) does not.
pub const TCP_REPAIR_ON: i32 = 1;
pub const TCP_REPAIR_OFF: i32 = 0;

/// `include/net/tcp.h`: the option kinds `TCP_REPAIR_OPTIONS` takes.
pub const TCPOPT_MAXSEG: u32 = 2;
pub const TCPOPT_WINDOW: u32 = 3;
pub const TCPOPT_SACK_PERM: u32 = 4;
pub const TCPOPT_TIMESTAMP: u32 = 8;

/// `include/uapi/linux/tcp.h`: `struct tcp_repair_opt`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpRepairOpt {
    pub opt_code: u32,
    pub opt_val: u32,
}

/// `include/uapi/linux/tcp.h`: `struct tcp_repair_window`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpRepairWindow {
    pub snd_wl1: u32,
    pub snd_wnd: u32,
    pub max_window: u32,
    pub rcv_wnd: u32,
    pub rcv_wup: u32,
}

/// Types that socket options copy in and out byte for byte.
///
/// # Safety
///
/// Implementors are `#[repr(C)]` (or primitive), contain no pointers or
/// padding the kernel could leave uninitialized in a way that matters,
/// and every bit pattern is a valid value.
pub unsafe trait Pod: Copy {}

// SAFETY: `#[repr(C)]`, two `u32`: any bits are valid.
unsafe impl Pod for TcpRepairOpt {}
// SAFETY: `#[repr(C)]`, five `u32`: any bits are valid.
unsafe impl Pod for TcpRepairWindow {}
// SAFETY: libc's C layout of integers only.
unsafe impl Pod for libc::tcp_info {}
// SAFETY: Two `c_int`.
unsafe impl Pod for libc::linger {}
// SAFETY: A plain integer.
unsafe impl Pod for i32 {}
// SAFETY: An array of `Pod` is `Pod`.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Maps a `-1` return to the thread's errno.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Maps a `-1` length return to the thread's errno.
pub fn cvt_len(r: isize) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// `setsockopt` of any `Pod` value (a whole slice of them for
/// `TCP_REPAIR_OPTIONS`).
pub fn set_opt<T: Pod>(fd: &impl AsRawFd, level: i32, name: i32, val: &[T]) -> io::Result<()> {
    let len = mem::size_of_val(val) as libc::socklen_t;
    // SAFETY: `val` is `len` readable bytes of a `Pod` type for the call.
    cvt(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, val.as_ptr().cast(), len) })?;
    Ok(())
}

/// `setsockopt` of one `int`.
pub fn set_int(fd: &impl AsRawFd, level: i32, name: i32, val: i32) -> io::Result<()> {
    set_opt(fd, level, name, &[val])
}

/// `getsockopt` of a `Pod` value; fails unless the kernel filled it all
/// (a shorter `tcp_info` would leave fields we read at zero).
pub fn get_opt<T: Pod + Default>(fd: &impl AsRawFd, level: i32, name: i32) -> io::Result<T> {
    let mut val = T::default();
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `val` is `len` writable bytes of a `Pod` type; `len` is ours.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut val).cast(),
            &raw mut len,
        )
    })?;
    if len as usize != mem::size_of::<T>() {
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    Ok(val)
}

/// `tcp_info` has no `Default`; all-zero is a valid one.
pub fn tcp_info(fd: &impl AsRawFd) -> io::Result<libc::tcp_info> {
    // SAFETY: `tcp_info` is integers only: all-zero is valid.
    let mut info: libc::tcp_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info` is `len` writable bytes; `len` is ours.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &raw mut len,
        )
    })?;
    // The fields we read are in the first 8 bytes, there since 2.6.
    if (len as usize) < 8 {
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    Ok(info)
}

/// An `ioctl` that answers one `int` (`SIOCINQ`, `SIOCOUTQ`, ...).
pub fn ioctl_int(fd: &impl AsRawFd, req: libc::Ioctl) -> io::Result<i32> {
    let mut val: libc::c_int = 0;
    // SAFETY: These requests write one `int` to the pointer.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), req, &raw mut val) })?;
    Ok(val)
}

/// A new TCP socket of `addr`'s family, close-on-exec.
pub fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: Plain socket creation.
    let fd = cvt(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn bind(fd: &impl AsRawFd, addr: &SocketAddr) -> io::Result<()> {
    let (sa, len) = sockaddr(addr);
    // SAFETY: `sa` is a valid sockaddr of `len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), (&raw const sa).cast(), len) })?;
    Ok(())
}

pub fn connect(fd: &impl AsRawFd, addr: &SocketAddr) -> io::Result<()> {
    let (sa, len) = sockaddr(addr);
    // SAFETY: `sa` is a valid sockaddr of `len` bytes.
    cvt(unsafe { libc::connect(fd.as_raw_fd(), (&raw const sa).cast(), len) })?;
    Ok(())
}

/// `send(2)` with flags; returns how many bytes went.
pub fn send(fd: &impl AsRawFd, buf: &[u8], flags: i32) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its length.
    cvt_len(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) })
}

/// `recv(2)` with flags; returns how many bytes came.
pub fn recv(fd: &impl AsRawFd, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length.
    cvt_len(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) })
}

/// Attaches a classic BPF program to a socket (`SO_ATTACH_FILTER`),
/// replacing any it had. On a TCP socket it sees each arriving segment
/// from its TCP header on; 0 drops the segment before TCP sees it.
pub fn attach_filter(fd: &impl AsRawFd, prog: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(prog.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads through it; the cast is for the C type.
        filter: prog.as_ptr().cast_mut(),
    };
    let size = mem::size_of_val(&fprog) as libc::socklen_t;
    // SAFETY: `fprog` and the program it points to live across the call.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const fprog).cast(),
            size,
        )
    })?;
    Ok(())
}

/// Removes a socket's filter; none there is no error.
pub fn detach_filter(fd: &impl AsRawFd) -> io::Result<()> {
    match set_int(fd, libc::SOL_SOCKET, libc::SO_DETACH_FILTER, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        done => done,
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of the kernel's
/// `ktime_get_ns()`, so the logs line up with tcpmig's and other
/// processes' on the same machine.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a writable timespec; CLOCK_MONOTONIC always exists,
    // so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A `SocketAddr` as the sockaddr the kernel takes.
pub fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: All-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough.
            let sin = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as u16;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: As above.
            let sin6 = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as u16;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// The address `getsockname`/`getpeername` answers.
fn name(fd: &impl AsRawFd, peer: bool) -> io::Result<SocketAddr> {
    // SAFETY: All-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut len = mem::size_of_val(&ss) as libc::socklen_t;
    let fd = fd.as_raw_fd();
    let sa = (&raw mut ss).cast();
    // SAFETY: `ss` is `len` writable bytes; `len` is ours.
    cvt(unsafe {
        if peer {
            libc::getpeername(fd, sa, &raw mut len)
        } else {
            libc::getsockname(fd, sa, &raw mut len)
        }
    })?;
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: The kernel wrote a sockaddr_in (family says so).
            let sin = unsafe { &*(&raw const ss).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: The kernel wrote a sockaddr_in6 (family says so).
            let sin6 = unsafe { &*(&raw const ss).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

pub fn local_addr(fd: &impl AsRawFd) -> io::Result<SocketAddr> {
    name(fd, false)
}

pub fn peer_addr(fd: &impl AsRawFd) -> io::Result<SocketAddr> {
    name(fd, true)
}

/// The errno an error carries, EIO when it has none (our own errors).
pub fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Moves the calling thread (and what it spawns from now on) into a new
/// network namespace with its loopback up: tests get a private stack
/// whose sysctls and rules they may change. Needs CAP_SYS_ADMIN.
#[cfg(test)]
pub fn private_netns() {
    // SAFETY: unshare() moves this thread only; nothing is shared yet.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        panic!(
            "unshare(CLONE_NEWNET): {} (these tests run as root)",
            io::Error::last_os_error()
        );
    }
    // SAFETY: Plain socket creation.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })
        .expect("socket");
    // SAFETY: `fd` is fresh and ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: All-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo") {
        *d = *s as libc::c_char;
    }
    // SAFETY: `ifr` is a valid ifreq for these requests.
    unsafe {
        cvt(libc::ioctl(
            fd.as_raw_fd(),
            libc::SIOCGIFFLAGS,
            &raw mut ifr,
        ))
        .expect("SIOCGIFFLAGS");
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        cvt(libc::ioctl(
            fd.as_raw_fd(),
            libc::SIOCSIFFLAGS,
            &raw mut ifr,
        ))
        .expect("SIOCSIFFLAGS");
    }
}
