//! `front-end`: a sample layer-7 front-end that routes by migrating.
//!
//!   front-end LISTEN_ADDR:PORT [--count N] [--timeout MS] PREFIX=PEER...
//!
//! It listens on LISTEN_ADDR:PORT (IPv4, or `[ADDR6]:PORT`), accepts a
//! connection, peeks at the request's first line (`GET /static/x
//! HTTP/1.0`: MSG_PEEK leaves the bytes in the socket's receive queue, so
//! they travel in the blob and the back-end reads the request as if it
//! had been sent to it), picks the first rule whose PREFIX the path
//! starts with (else the rule `default=PEER`), and hands the connection
//! to PEER with `tcpmig_client::Client::migrate_fd`. From then on the
//! back-end, a plain server that only `accept()`s, answers the client
//! directly; this node forwards the client's packets. One line per
//! connection:
//!
//!   client 192.0.2.1:40000 path /static/x -> be1 flow 0x00011282 capture 0.210 ms transfer 1.532 ms
//!
//! The migrated socket is frozen: dropping it sends nothing. A connection
//! whose migration fails was rolled back by the kernel: it is answered
//! here with one line (`503 ...`) and closed.
//!
//! `--count N` exits after N connections (0, the default: never);
//! `--timeout MS` is how long each migration waits for the peer (the
//! kernel's default, 2000 ms, otherwise). Connections are taken one at a
//! time: a migration blocks until the peer answers.
//!
//! Needs CAP_NET_ADMIN and a cluster node with its peers configured
//! (`Documentation/tcpmig/cluster.rst`; `tests/vm/80-front-end.sh`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};
use tcpmig_client::{Client, MigrateOptions, Migrated};

/// The most of a request peeked at for its first line.
const PEEK_MAX: usize = 4096;
/// How long a client has to send its request line.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// `PREFIX=PEER`: paths starting with PREFIX go to PEER.
#[derive(Debug, PartialEq, Eq)]
struct Rule {
    prefix: String,
    peer: String,
}

#[derive(Debug, PartialEq, Eq)]
struct Config {
    listen: SocketAddr,
    rules: Vec<Rule>,
    /// The rule `default=PEER`, if given.
    default: Option<String>,
    count: u64,
    timeout_ms: Option<u32>,
}

const USAGE: &str =
    "usage: front-end LISTEN_ADDR:PORT [--count N] [--timeout MS] PREFIX=PEER... [default=PEER]";

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut listen = None;
    let mut rules = Vec::new();
    let mut default = None;
    let mut count = 0;
    let mut timeout_ms = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match arg.as_str() {
            "--count" => count = value("--count")?,
            "--timeout" => {
                let ms = value("--timeout")?;
                timeout_ms = Some(
                    u32::try_from(ms)
                        .ok()
                        .filter(|ms| *ms > 0)
                        .ok_or("--timeout: 1-60000 ms")?,
                );
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ if listen.is_none() => {
                listen = Some(
                    arg.parse::<SocketAddr>()
                        .map_err(|_| format!("{arg:?}: expected ADDR:PORT or [ADDR6]:PORT"))?,
                )
            }
            _ => {
                let (prefix, peer) = arg
                    .split_once('=')
                    .filter(|(_, peer)| !peer.is_empty())
                    .ok_or_else(|| format!("{arg:?}: expected PREFIX=PEER"))?;
                if prefix == "default" {
                    default = Some(peer.to_string());
                } else {
                    rules.push(Rule {
                        prefix: prefix.to_string(),
                        peer: peer.to_string(),
                    });
                }
            }
        }
    }
    let listen = listen.ok_or(USAGE)?;
    if rules.is_empty() && default.is_none() {
        return Err(format!("no rules; {USAGE}"));
    }
    Ok(Config {
        listen,
        rules,
        default,
        count,
        timeout_ms,
    })
}

/// The path of an HTTP-ish request line: its second word.
fn request_path(line: &str) -> Option<&str> {
    line.split_whitespace().nth(1)
}

/// The peer for `path`: the first rule whose prefix it starts with, else
/// the default.
fn route<'a>(config: &'a Config, path: &str) -> Option<&'a str> {
    config
        .rules
        .iter()
        .find(|r| path.starts_with(&r.prefix))
        .map(|r| r.peer.as_str())
        .or(config.default.as_deref())
}

/// Peeks at the connection until its first line is there; the bytes
/// stay in the receive queue.
fn peek_request_line(conn: &TcpStream) -> io::Result<String> {
    let deadline = Instant::now() + REQUEST_WAIT;
    let mut buf = vec![0u8; PEEK_MAX];
    conn.set_read_timeout(Some(REQUEST_WAIT))?;
    loop {
        // Blocks while the queue is empty, returns at once otherwise.
        let n = conn.peek(&mut buf)?;
        if let Some(end) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(String::from_utf8_lossy(&buf[..end]).trim_end().to_string());
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before a request",
            ));
        }
        if n == buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request line too long",
            ));
        }
        if Instant::now() >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // Part of a line: wait for the rest.
        thread::sleep(Duration::from_millis(5));
    }
}

/// Nanoseconds as milliseconds with three decimals (truncated).
fn millis(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

fn report(client: SocketAddr, path: &str, peer: &str, m: &Migrated) -> String {
    format!(
        "client {client} path {path} -> {peer} flow {:#010x} capture {} ms transfer {} ms",
        m.flow_id,
        millis(m.capture_ns),
        millis(m.transfer_ns)
    )
}

/// Answers the connection here with one line and closes it.
fn refuse(mut conn: TcpStream, client: SocketAddr, status: &str, why: &str) {
    eprintln!("client {client}: {status} {why}");
    // Best effort, the client may be gone. The request is read first: a
    // close with unread bytes would send a RST, and the client could lose
    // the answer.
    let mut sink = [0u8; PEEK_MAX];
    if conn.set_nonblocking(true).is_ok() {
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    }
    let _ = conn.set_nonblocking(false);
    let _ = conn.write_all(format!("{status} {why}\n").as_bytes());
}

fn handle(
    tcpmig: &Client,
    config: &Config,
    opts: &MigrateOptions,
    conn: TcpStream,
    client: SocketAddr,
) {
    let line = match peek_request_line(&conn) {
        Ok(line) => line,
        Err(e) => return refuse(conn, client, "400", &format!("no request line: {e}")),
    };
    let Some(path) = request_path(&line) else {
        return refuse(conn, client, "400", "no path in the request line");
    };
    let Some(peer) = route(config, path) else {
        return refuse(conn, client, "404", &format!("no rule for {path}"));
    };
    match tcpmig.migrate_fd(conn.as_fd(), peer, opts) {
        // The socket is frozen: dropping it sends nothing.
        Ok(m) => println!("{}", report(client, path, peer, &m)),
        // Rolled back by the kernel: the connection is ours again.
        Err(e) => refuse(
            conn,
            client,
            "503",
            &format!("migration to {peer} failed: {e}"),
        ),
    }
}

fn run(config: &Config) -> Result<(), String> {
    let tcpmig = Client::connect().map_err(|e| e.to_string())?;
    let listener =
        TcpListener::bind(config.listen).map_err(|e| format!("bind {}: {e}", config.listen))?;
    let opts = MigrateOptions {
        timeout_ms: config.timeout_ms,
        on_failure: None,
    };
    let mut served = 0;
    while config.count == 0 || served < config.count {
        let (conn, client) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        handle(&tcpmig, config, &opts, conn, client);
        served += 1;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("front-end: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("front-end: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn rules_and_options() {
        let c = parse_args(&args(
            "[2001:db8::100]:8080 /static=be1 --count 3 /api=be2 default=be1 --timeout 500",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.to_string(), "[2001:db8::100]:8080");
        assert_eq!(c.count, 3);
        assert_eq!(c.timeout_ms, Some(500));
        assert_eq!(c.default.as_deref(), Some("be1"));
        assert_eq!(route(&c, "/static/x"), Some("be1"));
        assert_eq!(route(&c, "/api/v1"), Some("be2"));
        assert_eq!(route(&c, "/"), Some("be1"));
        let no_default =
            parse_args(&args("192.0.2.100:8080 /static=be1")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(route(&no_default, "/other"), None);
        for bad in [
            "",
            "192.0.2.100:8080",
            "host:80 /=be1",
            "192.0.2.100:8080 /static",
            "192.0.2.100:8080 /=",
            "192.0.2.100:8080 --count",
            "192.0.2.100:8080 --timeout 0 /=be1",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let c = parse_args(&args("0.0.0.0:80 /static/big=be2 /static=be1"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(route(&c, "/static/big/1"), Some("be2"));
        assert_eq!(route(&c, "/static/small"), Some("be1"));
    }

    #[test]
    fn paths() {
        assert_eq!(request_path("GET /static/x HTTP/1.0"), Some("/static/x"));
        assert_eq!(request_path("GET"), None);
        let m = Migrated {
            flow_id: 0x0001_1282,
            capture_ns: 210_000,
            transfer_ns: 1_532_999,
            inject_ns: 900_000,
        };
        let client = "192.0.2.1:40000".parse().unwrap();
        assert_eq!(
            report(client, "/static/x", "be1", &m),
            "client 192.0.2.1:40000 path /static/x -> be1 flow 0x00011282 capture 0.210 ms transfer 1.532 ms"
        );
    }

    /// The peek leaves the request in the receive queue.
    #[test]
    fn peeking_keeps_the_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        client.write_all(b"GET /static/a ").unwrap();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            client.write_all(b"HTTP/1.0\r\n\r\n").unwrap();
            client
        });
        let line = peek_request_line(&conn).unwrap();
        assert_eq!(line, "GET /static/a HTTP/1.0");
        let _client = sender.join().unwrap();
        let mut all = [0u8; 26];
        conn.read_exact(&mut all).unwrap();
        assert_eq!(&all, b"GET /static/a HTTP/1.0\r\n\r\n");
    }
}
