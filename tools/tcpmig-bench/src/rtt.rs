//! `rtt` and `rtt-server`: the floor under a hand-off. A migration is a
//! blob sent to the peer and a short answer back; this times the same
//! exchange over one plain TCP connection (TCP_NODELAY on both sides),
//! with no capture or injection around it.
//!
//! Each round, the client sends a 4-byte big-endian length SIZE and SIZE
//! bytes (of the pattern); the server reads them all and answers a
//! 4-byte big-endian length R and R bytes (its `--reply`, default 64).
//! The client checks R against its own `--reply`, so a mismatched setup
//! fails at the first round instead of timing the wrong exchange.

use crate::csv::Log;
use crate::pattern;
use crate::protocol;
use crate::stats::{self, Latencies};
use crate::sys;
use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub const HEADER: &str = "round,t_start,t_end,rtt_ns";

/// The answer's size unless `--reply` says otherwise: about an ack.
pub const DEFAULT_REPLY: u32 = 64;
/// How long one read or write may block.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A length prefix and `len` bytes of the pattern.
fn frame(len: u32) -> Vec<u8> {
    let mut f = len.to_be_bytes().to_vec();
    // u32 fits in usize on the targets this runs on.
    f.extend(pattern::bytes(0, len as usize));
    f
}

/// Reads a length prefix; `None` at EOF before it.
fn read_len(r: &mut impl Read) -> io::Result<Option<u32>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => Ok(Some(u32::from_be_bytes(len))),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

pub struct Rounds {
    pub addr: SocketAddr,
    pub count: u64,
    pub size: u32,
    pub reply: u32,
}

pub fn client(r: &Rounds, log: &Log) -> Result<(), String> {
    let conn = sys::connect(r.addr, sys::ConnectOpts::default(), TIMEOUT)
        .map_err(|e| format!("connect {}: {e}", r.addr))?;
    let setup = |e: io::Error| e.to_string();
    conn.set_nodelay(true).map_err(setup)?;
    conn.set_read_timeout(Some(TIMEOUT)).map_err(setup)?;
    conn.set_write_timeout(Some(TIMEOUT)).map_err(setup)?;
    let request = frame(r.size);
    let mut answers = BufReader::with_capacity(64 << 10, &conn);
    let mut answer = vec![0u8; r.reply as usize];
    let mut rtts = Vec::new();
    for round in 0..r.count {
        let t_start = sys::monotonic_ns();
        (&conn)
            .write_all(&request)
            .map_err(|e| format!("round {round}: send: {e}"))?;
        let len = read_len(&mut answers)
            .map_err(|e| format!("round {round}: read: {e}"))?
            .ok_or_else(|| format!("round {round}: EOF"))?;
        if len != r.reply {
            return Err(format!(
                "the server answers {len} bytes, --reply says {}",
                r.reply
            ));
        }
        answers
            .read_exact(&mut answer)
            .map_err(|e| format!("round {round}: read: {e}"))?;
        let t_end = sys::monotonic_ns();
        rtts.push(t_end - t_start);
        log.row(&[
            round.to_string(),
            t_start.to_string(),
            t_end.to_string(),
            (t_end - t_start).to_string(),
        ]);
    }
    let l = Latencies::of(rtts);
    let summary = serde_json::json!({
        "count": r.count,
        "size": r.size,
        "reply": r.reply,
        "p50_us": stats::us(l.p50),
        "p90_us": stats::us(l.p90),
        "p99_us": stats::us(l.p99),
        "mean_us": stats::us(l.mean),
    });
    println!("{summary}");
    Ok(())
}

pub fn server(listen: SocketAddr, reply: u32) -> Result<(), String> {
    let listener = sys::listen(listen).map_err(|e| format!("listen {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    crate::listening(&bound.to_string());
    loop {
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept: {e}")),
        };
        crate::spawn("a connection", move || {
            if let Err(e) = answer(&conn, reply) {
                eprintln!("mig-bench rtt-server: {peer}: {e}");
            }
        });
    }
}

/// Answers one client's rounds until it closes.
fn answer(conn: &TcpStream, reply: u32) -> io::Result<()> {
    conn.set_nodelay(true)?;
    let answer = frame(reply);
    let mut requests = BufReader::with_capacity(64 << 10, conn);
    while let Some(len) = read_len(&mut requests)? {
        protocol::discard(&mut requests, u64::from(len))?;
        (&mut &*conn).write_all(&answer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(frame(0), vec![0, 0, 0, 0]);
        let f = frame(300);
        assert_eq!(&f[..4], &[0, 0, 1, 44]);
        assert_eq!(f[4..], pattern::bytes(0, 300));
        let mut r = io::Cursor::new(f);
        assert_eq!(read_len(&mut r).unwrap(), Some(300));
        assert_eq!(read_len(&mut io::Cursor::new(vec![0, 1])).unwrap(), None);
    }
}
