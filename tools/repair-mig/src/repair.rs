//! Freeze, dump and restore one TCP connection with `TCP_REPAIR`: the
//! part of the baseline that CRIU's libsoccr does. The front-end
//! freezes and dumps (`Frozen`), the back-end restores (`restore`).
//!
//! Sequence numbers, as the kernel keeps them:
//!
//! ```text
//!   send queue:  snd_una ......... snd_nxt ......... write_seq
//!                |<-- sent, unacked -->|<-- unsent -->|
//!                |<--------- SIOCOUTQ --------------->|
//!                                      |<-SIOCOUTQNSD->|
//!   recv queue:  copied_seq ....................... rcv_nxt
//!                |<-------------- SIOCINQ ------------>|
//! ```
//!
//! `TCP_QUEUE_SEQ` reads `write_seq` or `rcv_nxt` (the queue's end); on
//! restore it sets the queue's start, and writing the queue moves it on.

use crate::sys::{self, TcpRepairOpt, TcpRepairWindow};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::Duration;

/// What a dump found of a connection: everything `restore` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Our end (the service's address) and the client's.
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// The sequence number of the send queue's first byte (`snd_una`).
    pub send_seq: u32,
    /// The sequence number of the receive queue's first byte
    /// (`copied_seq`: the application has read up to here).
    pub recv_seq: u32,
    /// How many bytes at the end of `send_queue` were never sent.
    pub unsent: u32,
    /// The MSS clamp (what `TCP_MAXSEG` reads in repair mode).
    pub mss: u16,
    pub sack: bool,
    pub timestamps: bool,
    /// Window scales (ours for sending, ours for receiving) if the
    /// handshake negotiated scaling.
    pub wscale: Option<(u8, u8)>,
    /// `TCP_TIMESTAMP`: our timestamp clock now (low bit: usec clock).
    pub timestamp: u32,
    pub window: TcpRepairWindow,
    /// Bytes received and not read by the application.
    pub recv_queue: Vec<u8>,
    /// Bytes written by the application and not acked by the client.
    pub send_queue: Vec<u8>,
}

/// `TCP_MAX_WSCALE` in `include/net/tcp.h`.
pub const MAX_WSCALE: u8 = 14;

/// How many times `dump` reads the queues again when data arrived while
/// it read them, and how long it lets the client's burst go on before
/// each new try: up to 20 ms for a client still pushing its request.
const DUMP_TRIES: usize = 200;
const DUMP_SETTLE: Duration = Duration::from_micros(100);

/// A step of a dump or restore that failed, and the kernel's answer.
#[derive(Debug)]
pub struct Failed {
    pub step: &'static str,
    pub err: io::Error,
}

impl Failed {
    /// The errno to answer with (EIO if the error has none).
    pub fn errno(&self) -> i32 {
        sys::errno(&self.err)
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.err)
    }
}

/// Names the step an `io::Result` came from.
trait At<T> {
    fn at(self, step: &'static str) -> Result<T, Failed>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, step: &'static str) -> Result<T, Failed> {
        self.map_err(|err| Failed { step, err })
    }
}

/// A connection in repair mode: the kernel sends no data for it (it
/// still acks what arrives: see `dump`) and a close is silent. Dropping
/// it closes it so (no FIN, no RST); `thaw` gives the socket back
/// working.
pub struct Frozen(OwnedFd);

impl Frozen {
    /// Puts `fd` in repair mode. Fails with EPERM without CAP_NET_ADMIN.
    pub fn freeze(fd: OwnedFd) -> Result<Self, (OwnedFd, io::Error)> {
        match repair(&fd, sys::TCP_REPAIR_ON) {
            Ok(()) => Ok(Self(fd)),
            Err(e) => Err((fd, e)),
        }
    }

    /// Leaves repair mode: the socket works again.
    pub fn thaw(self) -> io::Result<OwnedFd> {
        repair(&self.0, sys::TCP_REPAIR_OFF)?;
        Ok(self.0)
    }

    /// Reads the connection's state and queues. A frozen socket still
    /// takes in (and acks) data the client sends, so the receive side is
    /// read again until `rcv_nxt` held still across a whole dump: what
    /// arrives after the dump is lost to the move (the caller closes the
    /// socket at once, so that a later segment meets a RST instead).
    pub fn dump(&self) -> Result<Conn, Failed> {
        let fd = &self.0;
        let info = sys::tcp_info(fd).at("TCP_INFO")?;
        if info.tcpi_state != sys::TCP_ESTABLISHED {
            // A FIN in either queue needs the FIN replay of libsoccr;
            // the baseline moves established connections only.
            return Err(errno(libc::EOPNOTSUPP)).at("state");
        }
        for i in 0..DUMP_TRIES {
            if i > 0 {
                thread::sleep(DUMP_SETTLE);
            }
            let rcv_nxt = queue_seq(fd, sys::TCP_RECV_QUEUE).at("receive queue seq")?;
            let conn = match self.dump_once(&info) {
                Err(e) if e.err.raw_os_error() == Some(libc::EAGAIN) => continue,
                dumped => dumped?,
            };
            // The queue read ends where rcv_nxt was before and after.
            let end = conn.recv_seq.wrapping_add(conn.recv_queue.len() as u32);
            let after = queue_seq(fd, sys::TCP_RECV_QUEUE).at("receive queue seq")?;
            if end == rcv_nxt && after == rcv_nxt {
                return Ok(conn);
            }
        }
        Err(errno(libc::EAGAIN)).at("receive queue never settled")
    }

    fn dump_once(&self, info: &libc::tcp_info) -> Result<Conn, Failed> {
        let fd = &self.0;
        let (recv_end, recv_queue) =
            peek_queue(fd, sys::TCP_RECV_QUEUE, sys::SIOCINQ).at("receive queue")?;
        let (send_end, send_queue) =
            peek_queue(fd, sys::TCP_SEND_QUEUE, sys::SIOCOUTQ).at("send queue")?;
        let unsent = sys::ioctl_int(fd, sys::SIOCOUTQNSD).at("SIOCOUTQNSD")?;
        let unsent = u32::try_from(unsent)
            .ok()
            .filter(|&u| u as usize <= send_queue.len())
            .ok_or_else(|| errno(libc::EPROTO))
            .at("SIOCOUTQNSD")?;
        let opts = info.tcpi_options;
        let timestamps = opts & sys::TCPI_OPT_TIMESTAMPS != 0;
        let wscale = (opts & sys::TCPI_OPT_WSCALE != 0).then_some((
            info.tcpi_snd_rcv_wscale & 0xf,
            info.tcpi_snd_rcv_wscale >> 4,
        ));
        // TCP_INFO's snd_mss is the clamp less the options in use:
        // restoring from it would shrink segments with every move.
        let mss = sys::get_opt::<i32>(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG).at("TCP_MAXSEG")?;
        let mss = u16::try_from(mss)
            .map_err(|_| errno(libc::EPROTO))
            .at("TCP_MAXSEG")?;
        let timestamp = if timestamps {
            sys::get_opt::<i32>(fd, libc::IPPROTO_TCP, libc::TCP_TIMESTAMP).at("TCP_TIMESTAMP")?
                as u32
        } else {
            0
        };
        Ok(Conn {
            local: sys::local_addr(fd).at("getsockname")?,
            peer: sys::peer_addr(fd).at("getpeername")?,
            send_seq: send_end.wrapping_sub(send_queue.len() as u32),
            recv_seq: recv_end.wrapping_sub(recv_queue.len() as u32),
            unsent,
            mss,
            sack: opts & sys::TCPI_OPT_SACK != 0,
            timestamps,
            wscale,
            timestamp,
            window: sys::get_opt(fd, libc::IPPROTO_TCP, libc::TCP_REPAIR_WINDOW)
                .at("TCP_REPAIR_WINDOW")?,
            recv_queue,
            send_queue,
        })
    }
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

fn repair(fd: &OwnedFd, val: i32) -> io::Result<()> {
    sys::set_int(fd, libc::IPPROTO_TCP, libc::TCP_REPAIR, val)
}

fn select_queue(fd: &OwnedFd, queue: i32) -> io::Result<()> {
    sys::set_int(fd, libc::IPPROTO_TCP, libc::TCP_REPAIR_QUEUE, queue)
}

/// The sequence number at the end of `queue` (`rcv_nxt`, `write_seq`).
fn queue_seq(fd: &OwnedFd, queue: i32) -> io::Result<u32> {
    select_queue(fd, queue)?;
    Ok(sys::get_opt::<i32>(fd, libc::IPPROTO_TCP, libc::TCP_QUEUE_SEQ)? as u32)
}

/// The end sequence number and the bytes of `queue`, whose length
/// `len_ioctl` tells. In repair mode `recv(MSG_PEEK)` reads the queue
/// `TCP_REPAIR_QUEUE` selects; one byte more than expected is asked for
/// so that a queue that grew meanwhile shows.
fn peek_queue(fd: &OwnedFd, queue: i32, len_ioctl: libc::Ioctl) -> io::Result<(u32, Vec<u8>)> {
    let end = queue_seq(fd, queue)?;
    let len = usize::try_from(sys::ioctl_int(fd, len_ioctl)?).map_err(|_| errno(libc::EPROTO))?;
    let mut buf = vec![0; len + 1];
    let got = match len {
        0 => 0,
        _ => sys::recv(fd, &mut buf, libc::MSG_PEEK | libc::MSG_DONTWAIT)?,
    };
    if got != len {
        return Err(errno(libc::EAGAIN));
    }
    buf.truncate(len);
    Ok((end, buf))
}

/// Rebuilds `conn` as a working socket, in the order the kernel
/// requires (`do_tcp_setsockopt`, `tcp_repair_options_est`):
///
/// 1. `SO_REUSEADDR`, repair on, freebind, bind to the service address
///    (repair mode forces address reuse: the front-end's listener may
///    hold the same port on this host, and on the back-end a server may
///    listen on the VIP's port);
/// 2. both queues' start sequence numbers: only while the socket is
///    closed (`TCP_QUEUE_SEQ` wants `TCP_CLOSE`);
/// 3. `connect`: in repair mode no SYN, straight to established;
/// 4. the options: only once established and before anything was sent;
/// 5. the timestamp clock;
/// 6. the receive queue, then the sent part of the send queue (repair
///    mode files it as sent: the retransmit timer resends what the
///    client did not ack);
/// 7. the windows: last, as they are checked against `rcv_nxt`, which
///    step 6 moves;
/// 8. repair off, with the window probe: the client's answer tells the
///    new socket its window and wakes a client stalled on a zero one;
/// 9. the unsent part of the send queue, written as plain data.
pub fn restore(conn: &Conn) -> Result<OwnedFd, Failed> {
    let fd = sys::tcp_socket(&conn.local).at("socket")?;
    // SO_REUSEADDR first: set after TCP_REPAIR, it would overwrite the
    // forced reuse repair mode sets (both are `sk_reuse`).
    sys::set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).at("SO_REUSEADDR")?;
    repair(&fd, sys::TCP_REPAIR_ON).at("TCP_REPAIR on")?;
    let (level, freebind) = match conn.local {
        SocketAddr::V4(_) => (libc::IPPROTO_IP, libc::IP_FREEBIND),
        SocketAddr::V6(_) => (libc::IPPROTO_IPV6, libc::IPV6_FREEBIND),
    };
    sys::set_int(&fd, level, freebind, 1).at("freebind")?;
    sys::bind(&fd, &conn.local).at("bind")?;
    set_queue_seq(&fd, sys::TCP_SEND_QUEUE, conn.send_seq).at("send queue seq")?;
    set_queue_seq(&fd, sys::TCP_RECV_QUEUE, conn.recv_seq).at("receive queue seq")?;
    sys::connect(&fd, &conn.peer).at("connect")?;
    sys::set_opt(
        &fd,
        libc::IPPROTO_TCP,
        libc::TCP_REPAIR_OPTIONS,
        &options(conn),
    )
    .at("TCP_REPAIR_OPTIONS")?;
    if conn.timestamps {
        sys::set_int(
            &fd,
            libc::IPPROTO_TCP,
            libc::TCP_TIMESTAMP,
            conn.timestamp as i32,
        )
        .at("TCP_TIMESTAMP")?;
    }
    let sent = conn.send_queue.len() - conn.unsent as usize;
    let (sent, unsent) = conn.send_queue.split_at(sent);
    room(
        &fd,
        libc::SO_RCVBUF,
        libc::SO_RCVBUFFORCE,
        conn.recv_queue.len(),
    )
    .at("SO_RCVBUF")?;
    room(
        &fd,
        libc::SO_SNDBUF,
        libc::SO_SNDBUFFORCE,
        conn.send_queue.len(),
    )
    .at("SO_SNDBUF")?;
    select_queue(&fd, sys::TCP_RECV_QUEUE).at("TCP_REPAIR_QUEUE")?;
    write_queue(&fd, &conn.recv_queue).at("receive queue")?;
    select_queue(&fd, sys::TCP_SEND_QUEUE).at("TCP_REPAIR_QUEUE")?;
    write_queue(&fd, sent).at("send queue (sent)")?;
    sys::set_opt(
        &fd,
        libc::IPPROTO_TCP,
        libc::TCP_REPAIR_WINDOW,
        &[conn.window],
    )
    .at("TCP_REPAIR_WINDOW")?;
    repair(&fd, sys::TCP_REPAIR_OFF).at("TCP_REPAIR off")?;
    if let Err(e) = write_queue(&fd, unsent) {
        // Working now: a plain close would reach the client.
        let _ = silence(&fd);
        return Err(e).at("send queue (unsent)");
    }
    Ok(fd)
}

fn set_queue_seq(fd: &OwnedFd, queue: i32, seq: u32) -> io::Result<()> {
    select_queue(fd, queue)?;
    sys::set_int(fd, libc::IPPROTO_TCP, libc::TCP_QUEUE_SEQ, seq as i32)
}

/// The `TCP_REPAIR_OPTIONS` list: what the handshake negotiated.
fn options(conn: &Conn) -> Vec<TcpRepairOpt> {
    let opt = |opt_code, opt_val| TcpRepairOpt { opt_code, opt_val };
    let mut opts = vec![opt(sys::TCPOPT_MAXSEG, u32::from(conn.mss))];
    if let Some((snd, rcv)) = conn.wscale {
        opts.push(opt(
            sys::TCPOPT_WINDOW,
            u32::from(snd) | (u32::from(rcv) << 16),
        ));
    }
    if conn.sack {
        opts.push(opt(sys::TCPOPT_SACK_PERM, 0));
    }
    if conn.timestamps {
        opts.push(opt(sys::TCPOPT_TIMESTAMP, 0));
    }
    opts
}

/// Makes the buffer `opt` hold `len` bytes of queue: a fresh socket's
/// default may not hold what a grown one had (the receive queue is
/// charged to it, and a full send buffer would block the write).
fn room(fd: &OwnedFd, opt: i32, force: i32, len: usize) -> io::Result<()> {
    // Twice, as the kernel doubles what it is given for its overhead;
    // and twice that again, for the per-skb truesize.
    let want = len.saturating_mul(4);
    let have = sys::get_opt::<i32>(fd, libc::SOL_SOCKET, opt)?;
    if want <= have as usize {
        return Ok(());
    }
    let want = i32::try_from(want / 2).unwrap_or(i32::MAX);
    sys::set_int(fd, libc::SOL_SOCKET, force, want)
}

/// Writes a queue's bytes; in repair mode the kernel may refuse a big
/// write whole (ENOMEM for one linear skb), so halve it and go on.
fn write_queue(fd: &OwnedFd, mut buf: &[u8]) -> io::Result<()> {
    let mut chunk = buf.len();
    while !buf.is_empty() {
        let n = chunk.min(buf.len());
        match sys::send(fd, &buf[..n], libc::MSG_NOSIGNAL) {
            Ok(0) => return Err(errno(libc::EIO)),
            Ok(k) => buf = &buf[k..],
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) && chunk > 1024 => chunk /= 2,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Resets a connection the front-end could not move: rebuilds it here
/// from its dump (the frozen socket is gone) and closes it with a zero
/// linger, so the client gets a RST with the right sequence numbers.
pub fn reset(conn: &Conn) -> Result<(), Failed> {
    let fd = restore(conn)?;
    abort(fd).at("SO_LINGER")
}

/// Closes a working socket with a RST (`SO_LINGER` zero).
pub fn abort(fd: OwnedFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    sys::set_opt(&fd, libc::SOL_SOCKET, libc::SO_LINGER, &[linger])?;
    drop(fd);
    Ok(())
}

/// Puts a working socket back into repair mode so that dropping it is
/// silent: a back-end that restored a socket and then failed must leave
/// the client alone (the front-end resets it).
pub fn silence(fd: &OwnedFd) -> io::Result<()> {
    repair(fd, sys::TCP_REPAIR_ON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    /// A connected pair on loopback: (client, server's accepted end).
    /// The client's receive buffer is set before connect, so the window
    /// it offers stays that small.
    fn pair(addr: &str, rcvbuf: Option<i32>) -> (TcpStream, OwnedFd) {
        let listener = TcpListener::bind(addr).unwrap();
        let to = listener.local_addr().unwrap();
        let fd = sys::tcp_socket(&to).unwrap();
        if let Some(buf) = rcvbuf {
            sys::set_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, buf).unwrap();
        }
        sys::connect(&fd, &to).unwrap();
        let (srv, _) = listener.accept().unwrap();
        let client = TcpStream::from(fd);
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        (client, OwnedFd::from(srv))
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn options_of(fd: &impl AsRawFd) -> (u8, u8) {
        let info = sys::tcp_info(fd).unwrap();
        let mask = sys::TCPI_OPT_SACK | sys::TCPI_OPT_TIMESTAMPS | sys::TCPI_OPT_WSCALE;
        (info.tcpi_options & mask, info.tcpi_snd_rcv_wscale)
    }

    /// Unsent bytes (the client's small window holds them back) and an
    /// unread request move, and the connection goes on both ways.
    #[test]
    fn unsent_and_unread_bytes_move() {
        sys::private_netns();
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let (mut client, srv) = pair(addr, Some(4096));
            client.write_all(b"request").unwrap();
            let data = pattern(300_000);
            let mut off = 0;
            while off < data.len() {
                match sys::send(&srv, &data[off..], libc::MSG_DONTWAIT) {
                    Ok(k) => off += k,
                    Err(_) => break,
                }
            }
            // Let the data reach the server and the window close.
            std::thread::sleep(Duration::from_millis(100));
            let before = options_of(&srv);
            let frozen = Frozen::freeze(srv).map_err(|(_, e)| e).unwrap();
            let conn = frozen.dump().unwrap();
            assert_eq!(conn.recv_queue, b"request");
            assert!(conn.unsent > 0, "the window held nothing back");
            assert!(conn.timestamps && conn.sack && conn.wscale.is_some());
            drop(frozen);
            let restored = restore(&conn).unwrap();
            assert_eq!(options_of(&restored), before);
            let mut restored = TcpStream::from(restored);
            let mut got = vec![0; off];
            client.read_exact(&mut got).unwrap();
            assert!(got == data[..off], "{addr}: the stream differs");
            client.write_all(b" and more").unwrap();
            let mut req = [0; 16];
            restored.read_exact(&mut req).unwrap();
            assert_eq!(&req, b"request and more");
        }
    }

    /// Bytes the kernel counts as sent and the client never acked come
    /// again from the rebuilt socket's retransmit timer. Repair mode makes
    /// such bytes: written to the send queue, they are filed as sent.
    #[test]
    fn sent_unacked_bytes_are_retransmitted() {
        sys::private_netns();
        let (mut client, srv) = pair("127.0.0.1:0", None);
        let frozen = Frozen::freeze(srv).map_err(|(_, e)| e).unwrap();
        select_queue(&frozen.0, sys::TCP_SEND_QUEUE).unwrap();
        write_queue(&frozen.0, b"in flight").unwrap();
        let conn = frozen.dump().unwrap();
        assert_eq!(conn.send_queue, b"in flight");
        assert_eq!(conn.unsent, 0);
        drop(frozen);
        let _restored = restore(&conn).unwrap();
        let mut got = [0; 9];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"in flight");
    }

    /// A failed move resets the client from the dump alone.
    #[test]
    fn reset_reaches_the_client() {
        sys::private_netns();
        let (mut client, srv) = pair("127.0.0.1:0", None);
        client.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let frozen = Frozen::freeze(srv).map_err(|(_, e)| e).unwrap();
        let conn = frozen.dump().unwrap();
        drop(frozen);
        reset(&conn).unwrap();
        let err = client.read(&mut [0; 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }
}
