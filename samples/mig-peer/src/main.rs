//! `mig-peer`: a plain TCP client and server for tcpmig's migration
//! tests. Neither side knows about tcpmig: the server only `accept()`s.
//!
//! Each direction carries a deterministic stream (`gen`), so both ends
//! can be checked byte for byte (the tests compare SHA-256 sums):
//!
//!   mig-peer gen client|server LEN           the stream, to stdout
//!   mig-peer serve ADDR N READ WRITE DIR [BUF]   phase 1 server: accept
//!       N, read READ bytes of each, write up to WRITE bytes without
//!       blocking, record what it got and wrote in DIR, touch DIR/ready,
//!       then hold the connections until killed; BUF sets SO_RCVBUF and
//!       SO_SNDBUF (to hold large queues: raise rmem_max/wmem_max first)
//!   mig-peer resume ADDR N WRITE DIR         phase 2 server: listen,
//!       touch DIR/listening, accept N, read each to EOF, write the
//!       server stream from where phase 1 stopped up to WRITE bytes
//!   mig-peer listen ADDR DIR                 listen, touch DIR/listening,
//!       never accept (injected connections stay in the accept queue)
//!   mig-peer client ADDR N SEND1 SEND RCVBUF DIR   connect N (receive
//!       buffer RCVBUF), send SEND1 bytes each, touch DIR/sent, wait for
//!       DIR/go, send the rest up to SEND, shut down writing, read to EOF
//!   mig-peer http ADDR NAME N BODY DIR        an HTTP-ish server: listen,
//!       touch DIR/listening, accept N one by one, read each request up
//!       to its blank line, answer `200 PATH from NAME`, a newline and
//!       BODY bytes of the server stream, close
//!   mig-peer request ADDR PATH               connect, send `GET PATH
//!       HTTP/1.0` and a blank line, read to EOF (writing side left
//!       open), print the answer's first line; with a body, check it is
//!       the server stream and print `body LEN bytes`
//!
//! Files in DIR are named after the client's port: srv-PORT.rx (what the
//! servers read), srv-PORT.off (how far phase 1 wrote), cli-PORT.rx.

use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Byte `i` of a stream: a keyed xorshift of the position, so any
/// offset can be produced on its own.
fn stream_byte(seed: u64, i: u64) -> u8 {
    let mut x = seed ^ (i / 8).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> ((i % 8) * 8)) as u8
}

fn stream(seed: u64, from: u64, to: u64) -> Vec<u8> {
    (from..to).map(|i| stream_byte(seed, i)).collect()
}

const CLIENT: u64 = 0x00c1_1e57;
const SERVER: u64 = 0x005e_7ee7;

fn seed(name: &str) -> Result<u64, String> {
    match name {
        "client" => Ok(CLIENT),
        "server" => Ok(SERVER),
        _ => Err(format!("unknown stream '{name}' (client or server)")),
    }
}

fn file(dir: &Path, prefix: &str, port: u16, ext: &str) -> PathBuf {
    dir.join(format!("{prefix}-{port}.{ext}"))
}

fn append(path: &Path, bytes: &[u8]) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(bytes)
}

fn wait_for(path: &Path, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > timeout {
            return Err(format!("timed out waiting for {}", path.display()));
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn set_int(fd: i32, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `fd` is an open socket; `val` outlives the call.
    let r = unsafe { libc::setsockopt(fd, level, name, (&raw const val).cast(), 4) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn serve(
    addr: SocketAddr,
    n: usize,
    read: usize,
    write: u64,
    dir: &Path,
    buf: Option<i32>,
) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    // The client connects all N before it sends, and this server reads
    // each one it accepts: every connection must fit in the accept queue
    // (std listens with a backlog of 128).
    let backlog = libc::c_int::try_from(n)
        .unwrap_or(libc::c_int::MAX)
        .max(128);
    // SAFETY: A plain call on the listener's own descriptor.
    if unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), backlog) } != 0 {
        return Err(format!("listen {addr}: {}", io::Error::last_os_error()));
    }
    if let Some(buf) = buf {
        // Accepted sockets inherit the listener's buffer sizes.
        let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
        for name in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
            set_int(fd, libc::SOL_SOCKET, name, buf).map_err(|e| e.to_string())?;
        }
    }
    let mut held = Vec::new();
    for _ in 0..n {
        let (mut conn, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let mut buf = vec![0; read];
        conn.read_exact(&mut buf)
            .map_err(|e| format!("read from {peer}: {e}"))?;
        append(&file(dir, "srv", peer.port(), "rx"), &buf).map_err(|e| e.to_string())?;
        // Write what the peer's small window lets through; the rest stays
        // queued in this socket (unacked and unsent bytes to migrate).
        conn.set_nonblocking(true).map_err(|e| e.to_string())?;
        let data = stream(SERVER, 0, write);
        let mut off = 0;
        while off < data.len() {
            match conn.write(&data[off..]) {
                Ok(k) => off += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("write to {peer}: {e}")),
            }
        }
        fs::write(file(dir, "srv", peer.port(), "off"), off.to_string())
            .map_err(|e| e.to_string())?;
        held.push(conn);
    }
    fs::write(dir.join("ready"), "").map_err(|e| e.to_string())?;
    // Hold the connections; tcpmig takes them from under us.
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}

fn resume(addr: SocketAddr, n: usize, write: u64, dir: &Path) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    fs::write(dir.join("listening"), "").map_err(|e| e.to_string())?;
    let mut workers = Vec::new();
    for _ in 0..n {
        let (mut conn, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let dir = dir.to_path_buf();
        workers.push(thread::spawn(move || -> Result<(), String> {
            let off: u64 = fs::read_to_string(file(&dir, "srv", peer.port(), "off"))
                .map_err(|e| format!("{peer}: no phase-1 record: {e}"))?
                .trim()
                .parse()
                .map_err(|e| format!("{peer}: bad offset: {e}"))?;
            let mut reader = conn.try_clone().map_err(|e| e.to_string())?;
            let rx = thread::spawn(move || {
                let mut got = Vec::new();
                reader.read_to_end(&mut got).map(|_| got)
            });
            conn.write_all(&stream(SERVER, off, write))
                .map_err(|e| format!("write to {peer}: {e}"))?;
            conn.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
            let got = rx
                .join()
                .map_err(|_| "reader panicked")?
                .map_err(|e| format!("read from {peer}: {e}"))?;
            append(&file(&dir, "srv", peer.port(), "rx"), &got).map_err(|e| e.to_string())
        }));
    }
    for w in workers {
        w.join().map_err(|_| "worker panicked")??;
    }
    Ok(())
}

fn client(
    addr: SocketAddr,
    n: usize,
    send1: u64,
    send: u64,
    rcvbuf: i32,
    dir: &Path,
) -> Result<(), String> {
    let mut conns = Vec::new();
    for _ in 0..n {
        let sock = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        // SAFETY: Plain socket creation; the fd is owned by `TcpStream` below.
        let fd = unsafe { libc::socket(sock, libc::SOCK_STREAM, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error().to_string());
        }
        // SAFETY: `fd` is a fresh socket we own.
        let stream_ = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf).map_err(|e| e.to_string())?;
        let (sa, len) = sockaddr(&addr);
        // SAFETY: `sa` is a valid sockaddr of `len` bytes.
        if unsafe { libc::connect(fd, (&raw const sa).cast(), len) } != 0 {
            return Err(format!("connect {addr}: {}", io::Error::last_os_error()));
        }
        conns.push(stream_);
    }
    for c in &mut conns {
        c.write_all(&stream(CLIENT, 0, send1))
            .map_err(|e| e.to_string())?;
    }
    fs::write(dir.join("sent"), "").map_err(|e| e.to_string())?;
    wait_for(&dir.join("go"), Duration::from_secs(300))?;
    let mut workers = Vec::new();
    for mut c in conns {
        let dir = dir.to_path_buf();
        workers.push(thread::spawn(move || -> Result<(), String> {
            let port = c.local_addr().map_err(|e| e.to_string())?.port();
            let mut reader = c.try_clone().map_err(|e| e.to_string())?;
            let rx = thread::spawn(move || {
                let mut got = Vec::new();
                reader.read_to_end(&mut got).map(|_| got)
            });
            c.write_all(&stream(CLIENT, send1, send))
                .map_err(|e| format!("{port}: write: {e}"))?;
            c.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
            let got = rx
                .join()
                .map_err(|_| "reader panicked")?
                .map_err(|e| format!("{port}: read: {e}"))?;
            append(&file(&dir, "cli", port, "rx"), &got).map_err(|e| e.to_string())
        }));
    }
    for w in workers {
        w.join().map_err(|_| "worker panicked")??;
    }
    Ok(())
}

fn listen(addr: SocketAddr, dir: &Path) -> Result<(), String> {
    let _listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    fs::write(dir.join("listening"), "").map_err(|e| e.to_string())?;
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}

/// Reads one request up to its blank line; returns its path (the second
/// word of the first line).
fn read_request(conn: &mut TcpStream) -> Result<String, String> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let k = conn.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if k == 0 {
            return Err(format!("EOF after {} bytes of request", req.len()));
        }
        req.extend_from_slice(&buf[..k]);
    }
    let text = String::from_utf8_lossy(&req);
    let line = text.lines().next().unwrap_or_default();
    line.split_whitespace()
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| format!("no path in {line:?}"))
}

fn http(addr: SocketAddr, name: &str, n: usize, body: u64, dir: &Path) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    fs::write(dir.join("listening"), "").map_err(|e| e.to_string())?;
    for _ in 0..n {
        let (mut conn, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let path = read_request(&mut conn).map_err(|e| format!("{peer}: {e}"))?;
        let mut answer = format!("200 {path} from {name}\n").into_bytes();
        answer.extend(stream(SERVER, 0, body));
        conn.write_all(&answer)
            .map_err(|e| format!("write to {peer}: {e}"))?;
        eprintln!("{name}: {peer} {path}");
    }
    Ok(())
}

fn request(addr: SocketAddr, path: &str) -> Result<(), String> {
    let mut conn = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let end = answer
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(answer.len());
    println!("{}", String::from_utf8_lossy(&answer[..end]));
    let body = answer.get(end + 1..).unwrap_or_default();
    if !body.is_empty() {
        if body != stream(SERVER, 0, body.len() as u64).as_slice() {
            return Err(format!(
                "{} bytes of body, not the server stream",
                body.len()
            ));
        }
        println!("body {} bytes", body.len());
    }
    Ok(())
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: All-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough.
            let sin = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as u16;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: As above.
            let sin6 = unsafe { &mut *(&raw mut ss).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as u16;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn run(args: &[String]) -> Result<(), String> {
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .ok_or("missing argument")?
            .parse()
            .map_err(|e| format!("argument {i}: {e}"))
    };
    let addr = |i: usize| -> Result<SocketAddr, String> {
        args.get(i)
            .ok_or("missing address")?
            .parse()
            .map_err(|e| format!("address: {e}"))
    };
    let dir = |i: usize| -> Result<PathBuf, String> {
        Ok(PathBuf::from(args.get(i).ok_or("missing DIR")?))
    };
    match args.first().map(String::as_str) {
        Some("gen") => {
            let s = seed(args.get(1).map_or("", String::as_str))?;
            io::stdout()
                .write_all(&stream(s, 0, num(2)?))
                .map_err(|e| e.to_string())
        }
        Some("serve") => serve(
            addr(1)?,
            num(2)? as usize,
            num(3)? as usize,
            num(4)?,
            &dir(5)?,
            args.get(6).map(|_| num(6)).transpose()?.map(|b| b as i32),
        ),
        Some("resume") => resume(addr(1)?, num(2)? as usize, num(3)?, &dir(4)?),
        Some("listen") => listen(addr(1)?, &dir(2)?),
        Some("client") => client(
            addr(1)?,
            num(2)? as usize,
            num(3)?,
            num(4)?,
            num(5)? as i32,
            &dir(6)?,
        ),
        Some("http") => http(
            addr(1)?,
            args.get(2).ok_or("missing NAME")?,
            num(3)? as usize,
            num(4)?,
            &dir(5)?,
        ),
        Some("request") => request(addr(1)?, args.get(2).ok_or("missing PATH")?),
        _ => Err(
            "usage: mig-peer gen|serve|resume|listen|client|http|request ... (see the source's header)"
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mig-peer: {e}");
            ExitCode::FAILURE
        }
    }
}
