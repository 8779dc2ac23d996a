//! `repair-mig`: what a user would build instead of tcpmig, from
//! `TCP_REPAIR` in userspace (as CRIU's libsoccr and Prism do). `make
//! bench` runs it on the same work as tcpmig to compare the two.
//!
//!   repair-mig target LISTEN UNIX_PATH
//!       The back-end daemon. Accepts front-ends on LISTEN; for each
//!       record one sends, rebuilds the connection with TCP_REPAIR, hands
//!       the socket to the server at UNIX_PATH (SCM_RIGHTS, the client's
//!       port as header), then acks the record (0 or an errno).
//!   repair-mig front LISTEN TARGET [--tunnel-table N] [--rule-pref P]
//!           [--write N] [--log FILE]
//!       The front-end application. Accepts clients on LISTEN (the
//!       VIP); once a client has sent a byte, holds its segments back
//!       (socket filters), freezes its connection, dumps it, closes it
//!       silently and sends it to TARGET; on the ack, with
//!       --tunnel-table, adds the rule `from CLIENT ipproto tcp sport
//!       CLIENT_PORT dport VIP_PORT lookup N pref P` (P: 500), deleted
//!       when the front exits (SIGINT, SIGTERM). A failed move resets
//!       the client. --write N: N bytes of mig-bench's pattern go in
//!       each send queue first (the move carries them). --log FILE: a
//!       line per moved connection, `CLIENT_PORT t_data t_frozen t_sent
//!       t_acked t_forwarded t_closed t_start`, CLOCK_MONOTONIC ns
//!       (t_start: after the --write bytes went in); t_closed comes
//!       before t_sent (see front.rs), and without --tunnel-table
//!       t_forwarded is just after t_acked. A failed move has no line,
//!       only one on stderr.
//!   repair-mig server UNIX_PATH NAME BODY [--log FILE]
//!       The back-end application. Takes sockets at UNIX_PATH and
//!       serves each as `mig-peer http` does: `200 PATH from NAME`, a
//!       newline, BODY bytes of the server stream (X-Body: B for B).
//!       --log FILE: `CLIENT_PORT t_accepted` per socket.
//!
//! `target`, `front` and `server` print `listening ADDR` on stdout once
//! they listen (ADDR with the port chosen for port 0). Exit status: 0,
//! 1 on an error (one line on stderr), 2 on a usage error. All three
//! need CAP_NET_ADMIN (TCP_REPAIR, rules) except `server`.

mod front;
mod handoff;
// The request heads of mig-peer, shared without making it a library.
#[path = "../../../samples/mig-peer/src/http.rs"]
#[cfg_attr(not(test), expect(dead_code, reason = "mig-peer's client half"))]
mod http;
mod link;
mod record;
mod repair;
mod rule;
mod server;
mod signals;
mod sys;
mod target;
mod transit;

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

const USAGE: &str = "\
usage: repair-mig target LISTEN UNIX_PATH
       repair-mig front LISTEN TARGET [--tunnel-table N] [--rule-pref P] [--write N] [--log FILE]
       repair-mig server UNIX_PATH NAME BODY [--log FILE]";

/// A command line that does not parse.
struct Usage(String);

fn arg<T: FromStr>(args: &[String], i: usize, what: &str) -> Result<T, Usage> {
    let s = args
        .get(i)
        .ok_or_else(|| Usage(format!("missing {what}")))?;
    s.parse().map_err(|_| Usage(format!("bad {what}: {s}")))
}

/// The `--flag VALUE` options after the positional arguments.
fn flags<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, &'a str)>, Usage> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if !known.contains(&flag.as_str()) {
            return Err(Usage(format!("unknown option {flag}")));
        }
        let value = it
            .next()
            .ok_or_else(|| Usage(format!("{flag}: missing value")))?;
        out.push((flag.as_str(), value.as_str()));
    }
    Ok(out)
}

fn value<T: FromStr>(flag: &str, v: &str) -> Result<T, Usage> {
    v.parse().map_err(|_| Usage(format!("bad {flag}: {v}")))
}

fn run(args: &[String]) -> Result<Result<(), String>, Usage> {
    let rest = |n: usize| args.get(n..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("target") => {
            if args.len() != 3 {
                return Err(Usage("target takes LISTEN UNIX_PATH".into()));
            }
            Ok(target::run(
                arg(args, 1, "LISTEN")?,
                arg(args, 2, "UNIX_PATH")?,
            ))
        }
        Some("front") => {
            let mut o = front::Options {
                listen: arg(args, 1, "LISTEN")?,
                target: arg(args, 2, "TARGET")?,
                table: None,
                pref: 500,
                log: None,
                write: 0,
            };
            let known = ["--tunnel-table", "--rule-pref", "--log", "--write"];
            for (flag, v) in flags(rest(3), &known)? {
                match flag {
                    "--tunnel-table" => o.table = Some(value(flag, v)?),
                    "--rule-pref" => o.pref = value(flag, v)?,
                    "--write" => o.write = value(flag, v)?,
                    _ => o.log = Some(PathBuf::from(v)),
                }
            }
            Ok(front::run(o))
        }
        Some("server") => {
            let mut o = server::Options {
                unix_path: arg(args, 1, "UNIX_PATH")?,
                name: arg(args, 2, "NAME")?,
                body: arg(args, 3, "BODY")?,
                log: None,
            };
            for (_, v) in flags(rest(4), &["--log"])? {
                o.log = Some(PathBuf::from(v));
            }
            Ok(server::run(o))
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(Ok(()))
        }
        Some(other) => Err(Usage(format!("unknown command {other}"))),
        None => Err(Usage(String::new())),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("repair-mig: {e}");
            ExitCode::FAILURE
        }
        Err(Usage(e)) => {
            if !e.is_empty() {
                eprintln!("repair-mig: {e}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
