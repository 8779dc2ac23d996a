//! `clients`: the load. COUNT connections, CONCURRENCY at a time, each:
//! connect (SO_RCVBUF set first with `--rcvbuf`), send the `--pad`
//! preamble and `HELLO /bench`, read the `--expect-write` bytes the
//! front-end wrote before the hand-off (checked against the pattern),
//! then the `200 /bench from NAME` line, and close. Whichever path the
//! connection took (direct, tcpmig, the baseline), the client is the
//! same: only the times differ.

use crate::csv::{self, Log};
use crate::pattern;
use crate::protocol::{Command, MAX_LINE};
use crate::stats::{self, Latencies};
use crate::sys::{self, ConnectOpts};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

pub const HEADER: &str = "port,t_connect,t_answer,t_done,backend,ok";

/// How long one connection may take, connect to answer.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest `--pad`: the preamble is held in memory.
pub const MAX_PAD: u64 = 1 << 30;
/// The path every connection asks for.
const PATH: &str = "/bench";

pub struct Load {
    pub addr: SocketAddr,
    pub count: u64,
    pub concurrency: u64,
    pub pad: u64,
    pub expect_write: u64,
    pub connect: ConnectOpts,
}

/// One connection's outcome. Times are CLOCK_MONOTONIC ns: t_connect
/// just before `connect()`, t_answer when the read that brought the
/// answer line's first byte returned, t_done when its `\n` came.
#[derive(Debug, Default)]
struct Outcome {
    port: u16,
    t_connect: u64,
    t_answer: u64,
    t_done: u64,
    backend: String,
    ok: bool,
}

impl Outcome {
    fn fields(&self) -> Vec<String> {
        vec![
            self.port.to_string(),
            self.t_connect.to_string(),
            self.t_answer.to_string(),
            self.t_done.to_string(),
            csv::field(&self.backend),
            u8::from(self.ok).to_string(),
        ]
    }
}

/// Runs the load; prints the summary line; whether all succeeded.
pub fn run(load: &Load, log: &Log) -> Result<bool, String> {
    let next = AtomicU64::new(0);
    // Made once, outside every connection's times.
    let req = request(load.pad);
    let start = sys::monotonic_ns();
    let latencies = thread::scope(|s| {
        let workers: Vec<_> = (0..load.concurrency.min(load.count))
            .map(|_| s.spawn(|| worker(load, &req, &next, log)))
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.join().map_err(|_| "a client thread panicked")?);
        }
        Ok::<_, String>(all)
    })?;
    let wall = (sys::monotonic_ns() - start) as f64 / 1e9;
    let ok = latencies.len() as u64;
    let failed = load.count - ok;
    let l = Latencies::of(latencies);
    let summary = serde_json::json!({
        "count": load.count,
        "ok": ok,
        "failed": failed,
        "wall_s": wall,
        "conn_per_s": if wall > 0.0 { load.count as f64 / wall } else { 0.0 },
        "p50_us": stats::us(l.p50),
        "p90_us": stats::us(l.p90),
        "p99_us": stats::us(l.p99),
    });
    println!("{summary}");
    Ok(failed == 0)
}

/// Makes connections until COUNT were started; the latencies
/// (t_answer - t_connect) of those that succeeded.
fn worker(load: &Load, req: &[u8], next: &AtomicU64, log: &Log) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    while next.fetch_add(1, Ordering::Relaxed) < load.count {
        let mut o = Outcome::default();
        match one(load, req, &mut buf, &mut o) {
            Ok(()) => {
                o.ok = true;
                latencies.push(o.t_answer - o.t_connect);
            }
            Err(e) => eprintln!("mig-bench clients: port {}: {e}", o.port),
        }
        log.row(&o.fields());
    }
    latencies
}

/// What a connection sends: the preamble, then the head.
fn request(pad: u64) -> Vec<u8> {
    let mut req = Vec::new();
    if pad > 0 {
        req.extend(Command::Pad(pad).line().into_bytes());
        // At most MAX_PAD: fits.
        req.extend(pattern::bytes(0, pad as usize));
    }
    req.extend(Command::Hello(PATH.into()).line().into_bytes());
    req
}

/// The time left before `deadline`, or a timeout error.
fn left(deadline: u64) -> Result<Duration, String> {
    let now = sys::monotonic_ns();
    if now >= deadline {
        return Err(format!("timed out ({} s)", TIMEOUT.as_secs()));
    }
    Ok(Duration::from_nanos(deadline - now).max(Duration::from_millis(1)))
}

/// One connection; `buf` is for reading.
fn one(load: &Load, req: &[u8], buf: &mut [u8], o: &mut Outcome) -> Result<(), String> {
    o.t_connect = sys::monotonic_ns();
    let deadline = o.t_connect + TIMEOUT.as_nanos() as u64;
    let mut conn = sys::connect(load.addr, load.connect, TIMEOUT)
        .map_err(|e| format!("connect {}: {e}", load.addr))?;
    o.port = conn.local_addr().map_err(|e| e.to_string())?.port();
    conn.set_write_timeout(Some(left(deadline)?))
        .map_err(|e| e.to_string())?;
    conn.write_all(req).map_err(|e| format!("send: {e}"))?;
    let answer = read_answer(&mut conn, load.expect_write, deadline, buf)?;
    o.t_answer = answer.t_answer;
    o.t_done = answer.t_done;
    o.backend = answer.backend;
    Ok(())
}

#[derive(Debug)]
struct Answer {
    t_answer: u64,
    t_done: u64,
    backend: String,
}

/// Reads `expect` bytes of the pattern, then the answer line; nothing
/// may follow it.
fn read_answer(
    conn: &mut TcpStream,
    expect: u64,
    deadline: u64,
    buf: &mut [u8],
) -> Result<Answer, String> {
    let mut off = 0;
    let mut line = Vec::new();
    let mut t_answer = None;
    loop {
        conn.set_read_timeout(Some(left(deadline)?))
            .map_err(|e| e.to_string())?;
        let n = match conn.read(buf) {
            Ok(0) => {
                return Err(format!(
                    "EOF after {off} of {expect} written bytes and {} of the answer",
                    line.len()
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!(
                    "timed out ({} s) after {off} of {expect} written bytes",
                    TIMEOUT.as_secs()
                ))
            }
            Err(e) => return Err(format!("read: {e}")),
        };
        let now = sys::monotonic_ns();
        let mut got = &buf[..n];
        if off < expect {
            let k = got
                .len()
                .min(usize::try_from(expect - off).unwrap_or(usize::MAX));
            if let Some(at) = pattern::mismatch(&got[..k], off) {
                return Err(format!("written byte {at} is not the pattern's"));
            }
            off += k as u64;
            got = &got[k..];
        }
        if got.is_empty() {
            continue;
        }
        t_answer.get_or_insert(now);
        line.extend_from_slice(got);
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            if end + 1 != line.len() {
                return Err(format!("{} bytes after the answer", line.len() - end - 1));
            }
            let text = String::from_utf8_lossy(&line[..end]);
            let backend = text
                .strip_prefix(&format!("200 {PATH} from "))
                .ok_or_else(|| format!("answer {text:?}"))?;
            return Ok(Answer {
                t_answer: t_answer.unwrap_or(now),
                t_done: now,
                backend: backend.to_string(),
            });
        }
        if line.len() >= MAX_LINE {
            return Err("answer line too long".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn requests() {
        assert_eq!(request(0), b"HELLO /bench\n");
        let r = request(300);
        assert_eq!(&r[..8], b"PAD 300\n");
        assert_eq!(r[8..308], pattern::bytes(0, 300));
        assert_eq!(&r[308..], b"HELLO /bench\n");
    }

    /// Reads `answer`'s bytes sent in `pieces`, as a front-end and a
    /// back-end would (the written bytes, then the line).
    fn read(expect: u64, pieces: Vec<Vec<u8>>) -> Result<Answer, String> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let writer = thread::spawn(move || {
            for p in pieces {
                server.write_all(&p).unwrap();
                thread::sleep(Duration::from_millis(20));
            }
        });
        let deadline = sys::monotonic_ns() + 5_000_000_000;
        let r = read_answer(&mut client, expect, deadline, &mut [0; 1000]);
        writer.join().unwrap();
        r
    }

    #[test]
    fn answers() {
        let a = read(
            1000,
            vec![
                pattern::bytes(0, 700),
                [pattern::bytes(700, 300), b"200 /be".to_vec()].concat(),
                b"nch from be1\n".to_vec(),
            ],
        )
        .unwrap();
        assert_eq!(a.backend, "be1");
        // The line began before (or as) it ended; how far apart depends
        // on the scheduler, which a test must not time.
        assert!(a.t_done >= a.t_answer, "{a:?}");
        assert_eq!(
            read(0, vec![b"200 /bench from b".to_vec(), b"e2\n".to_vec()])
                .unwrap()
                .backend,
            "be2"
        );
    }

    #[test]
    fn wrong_answers() {
        let mut bad = pattern::bytes(0, 100);
        bad[42] = 0xff;
        bad.extend(b"200 /bench from be1\n");
        let e = read(100, vec![bad]).unwrap_err();
        assert!(e.contains("byte 42"), "{e}");
        let e = read(0, vec![b"ERR no\n".to_vec()]).unwrap_err();
        assert!(e.contains("ERR no"), "{e}");
        let e = read(0, vec![b"200 /bench from be1\nmore".to_vec()]).unwrap_err();
        assert!(e.contains("after the answer"), "{e}");
        let e = read(10, vec![pattern::bytes(0, 5)]).unwrap_err();
        assert!(e.contains("EOF after 5 of 10"), "{e}");
    }
}
