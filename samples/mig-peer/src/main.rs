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
//!   mig-peer resume ADDR N WRITE DIR [hold]  phase 2 server: listen,
//!       touch DIR/listening, accept N, read each to EOF, write the
//!       server stream from where phase 1 stopped up to WRITE bytes;
//!       `hold`: wait for DIR/accept before accepting
//!   mig-peer listen ADDR DIR                 listen, touch DIR/listening,
//!       never accept (injected connections stay in the accept queue)
//!   mig-peer client ADDR N SEND1 SEND RCVBUF DIR   connect N (receive
//!       buffer RCVBUF), send SEND1 bytes each, touch DIR/sent, wait for
//!       DIR/go, send the rest up to SEND, shut down writing, read to EOF
//!   mig-peer http ADDR NAME N BODY DIR        an HTTP-ish server: listen,
//!       touch DIR/listening, accept N one by one (N = 0: until killed,
//!       each connection in its own thread), read each request's head up
//!       to its blank line (CRLF or LF line ends; a first line that is not
//!       `METHOD PATH HTTP/x` is the whole head) and Content-Length bytes
//!       of body, save the body in DIR/NAME-PORT.body, append `PORT
//!       METHOD PATH HOST BODYLEN` to DIR/NAME.log (HOST: the Host header
//!       or `-`), answer `200 PATH from NAME`, a newline and BODY bytes of
//!       the server stream (`X-Body: B` asks for B instead), close
//!   mig-peer request ADDR PATH [OPTIONS]     connect, send `GET PATH
//!       HTTP/1.0` and a blank line, read to EOF (writing side left
//!       open); print `port LOCALPORT`, the answer's first line and, with
//!       a body, check it is the server stream and print `body LEN bytes`.
//!       No answer prints `(no answer)`, a reset `reset`: exit status 3.
//!       OPTIONS: -X METHOD instead of GET; -H HOST: HTTP/1.1 and `Host:
//!       HOST`; -d LEN: upload LEN bytes of the client stream (with
//!       Content-Length) before reading, then print `sent LEN bytes`;
//!       -b LEN: `X-Body: LEN`; -p: a second request, `GET /pipelined`
//!       for Host other.example, in the same write as the first's head
//!       (after the upload with -d); -s MS: the head in 3 segments (5
//!       bytes, up to its middle, the rest) MS ms apart; -w MS: wait MS ms
//!       before sending; -k MS: with -d, wait MS ms between the head and
//!       the upload (the connection stays open, the server waiting for
//!       its body); -r RAW: send RAW (escapes \r \n \t \0 \\ \xHH)
//!       instead of a request; -S ADDR: connect from ADDR
//!   mig-peer forge FROM TO FLAGS [SEQ] [frag]   send one TCP segment
//!       FROM (ADDR:PORT, any address, IPv4 or IPv6) TO ADDR:PORT through
//!       a raw socket: FLAGS any of fin, syn, rst, ack joined by +
//!       (fin+ack), sequence number SEQ (default: a random one), no data;
//!       `frag`: with 1500 bytes of data, in two IP fragments (1000
//!       bytes of the segment, then the rest)
//!
//! Files in DIR are named after the client's port: srv-PORT.rx (what the
//! servers read), srv-PORT.off (how far phase 1 wrote), cli-PORT.rx;
//! NAME-PORT.body (the request bodies `http` got) and NAME.log.

mod forge;
mod http;

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

fn resume(addr: SocketAddr, n: usize, write: u64, dir: &Path, hold: bool) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    fs::write(dir.join("listening"), "").map_err(|e| e.to_string())?;
    while hold && !dir.join("accept").exists() {
        thread::sleep(Duration::from_millis(50));
    }
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
    // The scripts migrate up to a few hundred connections first.
    wait_for(&dir.join("go"), Duration::from_secs(1800))?;
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

/// The second request `request -p` sends behind the first.
const PIPELINED: &[u8] = b"GET /pipelined HTTP/1.1\r\nHost: other.example\r\n\r\n";

/// Serves one connection of `http`: reads its head and body, records
/// them in DIR and answers.
fn http_conn(
    conn: &mut TcpStream,
    peer: SocketAddr,
    name: &str,
    body: u64,
    dir: &Path,
) -> Result<(), String> {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    let len = loop {
        if let Some(len) = http::head_len(&req) {
            break len;
        }
        let k = conn.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if k == 0 {
            return Err(format!("EOF after {} bytes of request", req.len()));
        }
        req.extend_from_slice(&buf[..k]);
    };
    let head = http::parse(&req[..len])?;
    // What came after the head, then the rest of the body.
    let mut got = req.split_off(len);
    let want = head.content_length.unwrap_or(0);
    if (got.len() as u64) < want {
        let more = want - got.len() as u64;
        conn.take(more)
            .read_to_end(&mut got)
            .map_err(|e| format!("read body: {e}"))?;
        if (got.len() as u64) < want {
            return Err(format!("EOF after {} of {want} body bytes", got.len()));
        }
    }
    got.truncate(want as usize);
    fs::write(file(dir, name, peer.port(), "body"), &got).map_err(|e| e.to_string())?;
    let host = head.host.as_deref().unwrap_or("-");
    let line = format!(
        "{} {} {} {host} {}\n",
        peer.port(),
        head.method,
        head.path,
        got.len()
    );
    append(&dir.join(format!("{name}.log")), line.as_bytes()).map_err(|e| e.to_string())?;
    let path = &head.path;
    let mut answer = format!("200 {path} from {name}\n").into_bytes();
    answer.extend(stream(SERVER, 0, head.x_body.unwrap_or(body)));
    conn.write_all(&answer)
        .map_err(|e| format!("write to {peer}: {e}"))?;
    eprintln!("{name}: {peer} {path}");
    Ok(())
}

/// Closes an answered connection gently: FIN first, then whatever the
/// client still sends (a pipelined request) is read and dropped, so the
/// close does not turn into a reset that could beat the answer.
fn linger(conn: TcpStream) {
    let _ = conn.shutdown(Shutdown::Write);
    thread::spawn(move || {
        let mut conn = conn;
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = io::copy(&mut conn, &mut io::sink());
    });
}

fn http(addr: SocketAddr, name: &str, n: usize, body: u64, dir: &Path) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    fs::write(dir.join("listening"), "").map_err(|e| e.to_string())?;
    let mut accepted = 0;
    while n == 0 || accepted < n {
        let (mut conn, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        accepted += 1;
        if n > 0 {
            http_conn(&mut conn, peer, name, body, dir).map_err(|e| format!("{peer}: {e}"))?;
            linger(conn);
            continue;
        }
        let (name, dir) = (name.to_string(), dir.to_path_buf());
        thread::spawn(
            move || match http_conn(&mut conn, peer, &name, body, &dir) {
                Ok(()) => linger(conn),
                Err(e) => eprintln!("mig-peer: {peer}: {e}"),
            },
        );
    }
    Ok(())
}

/// The options of `request`.
#[derive(Default)]
struct RequestOpts {
    method: Option<String>,
    host: Option<String>,
    upload: Option<u64>,
    x_body: Option<u64>,
    pipelined: bool,
    split: Option<u64>,
    wait: Option<u64>,
    keep: Option<u64>,
    raw: Option<Vec<u8>>,
    source: Option<std::net::IpAddr>,
}

impl RequestOpts {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "-p" {
                o.pipelined = true;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag}: missing value"))?;
            let num = || -> Result<u64, String> {
                value.parse().map_err(|e| format!("{flag} {value}: {e}"))
            };
            match flag.as_str() {
                "-X" => o.method = Some(value.clone()),
                "-H" => o.host = Some(value.clone()),
                "-d" => o.upload = Some(num()?),
                "-b" => o.x_body = Some(num()?),
                "-s" => o.split = Some(num()?),
                "-w" => o.wait = Some(num()?),
                "-k" => o.keep = Some(num()?),
                "-r" => o.raw = Some(http::unescape(value)?),
                "-S" => o.source = Some(value.parse().map_err(|_| format!("bad address {value}"))?),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.raw.is_some()
            && (o.method.is_some()
                || o.host.is_some()
                || o.upload.is_some()
                || o.x_body.is_some()
                || o.pipelined)
        {
            return Err("-r sends RAW alone: no -X, -H, -d, -b or -p".into());
        }
        if o.keep.is_some() && o.upload.is_none() {
            return Err("-k holds the upload back: it needs -d".into());
        }
        Ok(o)
    }
}

/// Whether a write failed because the peer reset the connection.
fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
}

/// Sends the request of `request`: the head (in 3 pieces with -s), the
/// upload, the pipelined request. Returns how many body bytes went out.
fn send_request(conn: &mut TcpStream, path: &str, o: &RequestOpts) -> io::Result<u64> {
    let (mut first, head_len) = match &o.raw {
        Some(raw) => (raw.clone(), raw.len()),
        None => {
            let head = http::request_head(
                o.method.as_deref().unwrap_or("GET"),
                path,
                o.host.as_deref(),
                o.upload,
                o.x_body,
            );
            let len = head.len();
            (head, len)
        }
    };
    if o.pipelined && o.upload.is_none() {
        first.extend_from_slice(PIPELINED);
    }
    match o.split {
        Some(ms) => {
            let a = first.len().min(5);
            let b = (head_len / 2).clamp(a, first.len());
            for (i, piece) in [&first[..a], &first[a..b], &first[b..]].iter().enumerate() {
                if i > 0 {
                    thread::sleep(Duration::from_millis(ms));
                }
                conn.write_all(piece)?;
            }
        }
        None => conn.write_all(&first)?,
    }
    let Some(upload) = o.upload else {
        return Ok(0);
    };
    if let Some(ms) = o.keep {
        thread::sleep(Duration::from_millis(ms));
    }
    let mut sent = 0;
    while sent < upload {
        let to = upload.min(sent + 65536);
        conn.write_all(&stream(CLIENT, sent, to))?;
        sent = to;
    }
    if o.pipelined {
        conn.write_all(PIPELINED)?;
    }
    Ok(sent)
}

/// `request`: returns the exit status (3: no answer or a reset).
/// Connects to `addr`, from the address `source` when given.
fn connect_from(addr: SocketAddr, source: Option<std::net::IpAddr>) -> io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr);
    };
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: Plain socket creation; the fd is owned by `TcpStream` below.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket we own.
    let stream_ = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let (sa, len) = sockaddr(&SocketAddr::new(source, 0));
    // SAFETY: `sa` is a valid sockaddr of `len` bytes.
    if unsafe { libc::bind(fd, (&raw const sa).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (sa, len) = sockaddr(&addr);
    // SAFETY: `sa` is a valid sockaddr of `len` bytes.
    if unsafe { libc::connect(fd, (&raw const sa).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stream_)
}

fn request(addr: SocketAddr, path: &str, o: &RequestOpts) -> Result<u8, String> {
    let mut conn = connect_from(addr, o.source).map_err(|e| format!("connect {addr}: {e}"))?;
    let port = conn.local_addr().map_err(|e| e.to_string())?.port();
    println!("port {port}");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    if o.split.is_some() {
        conn.set_nodelay(true).map_err(|e| e.to_string())?;
    }
    if let Some(ms) = o.wait {
        thread::sleep(Duration::from_millis(ms));
    }
    // The whole request goes out before the answer is read.
    let mut reset = false;
    let sent = match send_request(&mut conn, path, o) {
        Ok(sent) => Some(sent),
        Err(e) if is_reset(&e) => {
            reset = true;
            None
        }
        Err(e) => return Err(format!("send: {e}")),
    };
    let mut answer = Vec::new();
    match conn.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => reset = true,
        Err(e) => return Err(format!("read from {addr}: {e}")),
    }
    if !answer.is_empty() {
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
    }
    let status = if reset {
        println!("reset");
        3
    } else if answer.is_empty() {
        println!("(no answer)");
        3
    } else {
        0
    };
    if let (Some(_), Some(sent)) = (o.upload, sent) {
        println!("sent {sent} bytes");
    }
    Ok(status)
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

fn run(args: &[String]) -> Result<u8, String> {
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
    let done = match args.first().map(String::as_str) {
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
        Some("resume") => {
            let hold = match args.get(5).map(String::as_str) {
                None => false,
                Some("hold") => true,
                Some(other) => return Err(format!("{other}: not `hold`")),
            };
            resume(addr(1)?, num(2)? as usize, num(3)?, &dir(4)?, hold)
        }
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
        Some("forge") => {
            let fragmented = args.last().is_some_and(|a| a == "frag");
            let args = &args[..args.len() - usize::from(fragmented)];
            let ep = |i: usize| -> Result<SocketAddr, String> {
                let s = args.get(i).ok_or("forge FROM TO FLAGS [SEQ] [frag]")?;
                s.parse().map_err(|_| format!("{s}: not an ADDR:PORT"))
            };
            let (from, to) = (ep(1)?, ep(2)?);
            let flags = forge::flags(args.get(3).ok_or("missing FLAGS")?)?;
            let seq = match args.get(4) {
                Some(s) => s.parse().map_err(|_| format!("bad sequence number {s}"))?,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.subsec_nanos().wrapping_mul(2_654_435_761)),
            };
            forge::packets(from, to, flags, seq, fragmented)?
                .iter()
                .try_for_each(|p| forge::send(p, to.ip()))
                .map_err(|e| format!("forge: {e}"))
        }
        Some("request") => {
            let opts = RequestOpts::parse(args.get(3..).unwrap_or_default())?;
            return request(addr(1)?, args.get(2).ok_or("missing PATH")?, &opts);
        }
        _ => Err(
            "usage: mig-peer gen|serve|resume|listen|client|http|request|forge ... (see the source's header)"
                .into(),
        ),
    };
    done.map(|()| 0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("mig-peer: {e}");
            ExitCode::FAILURE
        }
    }
}
