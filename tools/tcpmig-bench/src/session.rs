//! `bulk` and `rr`: one connection to a `serve`, what it carries once
//! it is wherever it ended up (forwarded through the front-end, or
//! direct). `bulk` times a `SINK` upload: throughput. `rr` times `ECHO`
//! rounds: request/response rate and latency.

use crate::pattern;
use crate::protocol::{self, Command, LineError};
use crate::stats::{self, Latencies};
use crate::sys::{self, ConnectOpts};
use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long one read or write may block.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection that said HELLO and got its answer.
struct Session {
    conn: TcpStream,
    answers: BufReader<TcpStream>,
}

impl Session {
    fn open(addr: SocketAddr, source: Option<IpAddr>, path: &str) -> Result<Self, String> {
        let opts = ConnectOpts {
            source,
            rcvbuf: None,
        };
        let conn = sys::connect(addr, opts, TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
        let setup = |e: std::io::Error| e.to_string();
        conn.set_nodelay(true).map_err(setup)?;
        conn.set_read_timeout(Some(TIMEOUT)).map_err(setup)?;
        conn.set_write_timeout(Some(TIMEOUT)).map_err(setup)?;
        let answers = BufReader::with_capacity(64 << 10, conn.try_clone().map_err(setup)?);
        let mut s = Self { conn, answers };
        s.send(&Command::Hello(path.into()))?;
        let line = s.line()?;
        if !line.starts_with(&format!("200 {path} from ")) {
            return Err(format!("HELLO answered {line:?}"));
        }
        Ok(s)
    }

    fn send(&mut self, cmd: &Command) -> Result<(), String> {
        self.conn
            .write_all(cmd.line().as_bytes())
            .map_err(|e| format!("send: {e}"))
    }

    /// The next answer line.
    fn line(&mut self) -> Result<String, String> {
        match protocol::read_line(&mut self.answers) {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err("EOF instead of an answer".into()),
            Err(LineError::Io(e)) => Err(format!("read: {e}")),
            Err(e) => Err(format!("answer: {e}")),
        }
    }
}

/// `bulk`: uploads `bytes` with SINK; seconds from the command to `OK`.
pub fn bulk(addr: SocketAddr, bytes: u64, source: Option<IpAddr>) -> Result<(), String> {
    let mut s = Session::open(addr, source, "/bulk")?;
    let start = sys::monotonic_ns();
    s.send(&Command::Sink(bytes))?;
    protocol::write_pattern(&mut s.conn, bytes).map_err(|e| format!("send: {e}"))?;
    let line = s.line()?;
    let seconds = (sys::monotonic_ns() - start) as f64 / 1e9;
    if line != format!("OK {bytes}") {
        return Err(format!("SINK answered {line:?}"));
    }
    let summary = serde_json::json!({
        "bytes": bytes,
        "seconds": seconds,
        "mbit_per_s": if seconds > 0.0 { bytes as f64 * 8.0 / seconds / 1e6 } else { 0.0 },
    });
    println!("{summary}");
    Ok(())
}

/// `rr`: COUNT ECHO rounds of SIZE bytes, each timed and checked.
pub fn rr(addr: SocketAddr, size: u64, count: u64, source: Option<IpAddr>) -> Result<(), String> {
    let mut s = Session::open(addr, source, "/rr")?;
    s.send(&Command::Echo { size, count })?;
    // At most MAX_ECHO bytes (the caller checked, as the server will).
    let request = pattern::bytes(0, size as usize);
    let mut echo = vec![0u8; size as usize];
    let mut rounds = Vec::new();
    let start = sys::monotonic_ns();
    for round in 0..count {
        let t0 = sys::monotonic_ns();
        s.conn
            .write_all(&request)
            .map_err(|e| format!("round {round}: send: {e}"))?;
        s.answers
            .read_exact(&mut echo)
            .map_err(|e| format!("round {round}: read: {e}"))?;
        rounds.push(sys::monotonic_ns() - t0);
        if echo != request {
            return Err(format!("round {round}: the echo differs"));
        }
    }
    let seconds = (sys::monotonic_ns() - start) as f64 / 1e9;
    let l = Latencies::of(rounds);
    let summary = serde_json::json!({
        "count": count,
        "size": size,
        "seconds": seconds,
        "per_second": if seconds > 0.0 { count as f64 / seconds } else { 0.0 },
        "p50_us": stats::us(l.p50),
        "p99_us": stats::us(l.p99),
    });
    println!("{summary}");
    Ok(())
}
