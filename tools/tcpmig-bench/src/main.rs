//! `mig-bench`: the load generator and the applications of `make bench`,
//! which compares tcpmig's hand-off with a user-space TCP_REPAIR baseline
//! (`tools/repair-mig`) and measures forwarding. The paths it times:
//!
//!   tcpmig:   clients -> front (front-end node) -migrate-> serve --listen
//!   baseline: clients -> repair-mig front -> repair-mig target
//!                                        -SCM_RIGHTS-> serve --unix
//!   direct:   clients -> serve --listen
//!
//! Subcommands (ADDR: `192.0.2.100:80` or `[2001:db8::1]:80`; IP: an
//! address without a port):
//!
//!   mig-bench serve (--listen ADDR | --unix PATH) NAME [--log FILE]
//!       The back-end application: accepts TCP connections on ADDR, or
//!       takes connected sockets passed over the unix stream socket PATH
//!       (each message: at least one byte, ignored, and one descriptor
//!       as SCM_RIGHTS). Serves each on a thread of its own with the
//!       bench protocol (`protocol.rs`), answering HELLO with
//!       `200 PATH from NAME`. Log: `port,t_accepted` per connection.
//!   mig-bench front LISTEN PEER [--write N] [--timeout MS] [--log FILE]
//!       tcpmig's front-end: accepts clients on LISTEN (the VIP); once a
//!       client's first byte is readable (peeked, never read), writes N
//!       bytes of the pattern without waiting (--write; what the client's
//!       small window holds back stays in the send queue), then migrates
//!       the connection to PEER with tcpmig (--timeout: how long tcpmig
//!       waits for the peer, 1-60000 ms). Needs the tcpmig module and
//!       CAP_NET_ADMIN. Log: `port,t_data,t_start,t_migrated,capture_ns,
//!       transfer_ns,inject_ns,ok,written` per connection: the first byte
//!       seen, the call to tcpmig and its return; tcpmig's own stage
//!       durations; written: how many of the N bytes went in. A failed
//!       migration (rolled back by tcpmig) is ok=0 and the client closed.
//!   mig-bench clients ADDR COUNT CONCURRENCY [--pad N] [--rcvbuf B]
//!           [--expect-write N] [--source IP] [--log FILE]
//!       The load: COUNT connections, at most CONCURRENCY at once. Each
//!       connects (SO_RCVBUF B first), sends `PAD N` and N bytes, then
//!       `HELLO /bench`, reads the N bytes the front wrote (checked),
//!       then the `200 /bench from NAME` line, and closes. 30 s each at
//!       most. Log: `port,t_connect,t_answer,t_done,backend,ok` (just
//!       before connect(); when the answer's first byte was read; when
//!       its end was; NAME; 0 for a failure, said on stderr). JSON:
//!       count, ok, failed, wall_s, conn_per_s, p50_us, p90_us, p99_us
//!       (of t_answer - t_connect, connections that succeeded). Exit
//!       status 1 when any failed.
//!   mig-bench rtt ADDR COUNT SIZE [--reply R] [--log FILE]
//!   mig-bench rtt-server LISTEN [--reply R]
//!       The floor of a hand-off: COUNT rounds over one connection, each
//!       SIZE bytes out and R (default 64) back (`rtt.rs`). Log:
//!       `round,t_start,t_end,rtt_ns`. JSON: count, size, reply, p50_us,
//!       p90_us, p99_us, mean_us.
//!   mig-bench bulk ADDR BYTES [--source IP]
//!       HELLO /bulk, then SINK BYTES: JSON bytes, seconds (SINK to OK),
//!       mbit_per_s.
//!   mig-bench rr ADDR SIZE COUNT [--source IP]
//!       HELLO /rr, then ECHO SIZE COUNT: JSON count, size, seconds,
//!       per_second, p50_us, p99_us.
//!
//! The bench protocol (`serve`; `protocol.rs`): the client speaks
//! first, a text line ending in `\n` per command, binary data after it;
//! any number of commands per connection, until the client closes.
//!
//!   PAD N            N bytes follow, dropped; no answer (a preamble, to
//!                    have a receive queue at a hand-off)
//!   HELLO PATH       answered `200 PATH from NAME`
//!   SINK N           N bytes follow; answered `OK N`
//!   ECHO SIZE COUNT  COUNT rounds of SIZE bytes (1-16 MiB) sent back
//!   SOURCE N         answered with N bytes of the pattern
//!
//! Anything else is answered `ERR why` and the connection closed. The
//! server reads through a buffer: a head that came with earlier bytes
//! (all in a migrated socket's receive queue) is read as a stream.
//! `rtt` frames (`rtt.rs`): each round the client sends a 4-byte
//! big-endian length and that many bytes; the server answers a 4-byte
//! big-endian length R and R bytes; the client checks R = its --reply.
//!
//! Every time is CLOCK_MONOTONIC in nanoseconds, the clock of the
//! kernel's `ktime_get()`: they compare with tcpmig's stage times and
//! across the processes of one machine. `--log FILE` appends CSV rows,
//! with the header line only when FILE is new or empty. `serve`, `front`
//! and `rtt-server` print `listening ADDR` (the port chosen for port 0)
//! or `listening PATH` once they accept, then run until killed. Byte `i`
//! of any data sent is `i % 251` (`pattern.rs`). Exit status: 0; 1 on an
//! error (a line on stderr) or a failed connection; 2 on a usage error.

mod args;
mod clients;
mod csv;
mod front;
mod handoff;
mod pattern;
mod protocol;
mod rtt;
mod serve;
mod session;
mod stats;
mod sys;

use args::Args;
use csv::Log;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "\
usage: mig-bench serve (--listen ADDR | --unix PATH) NAME [--log FILE]
       mig-bench front LISTEN PEER [--write N] [--timeout MS] [--log FILE]
       mig-bench clients ADDR COUNT CONCURRENCY [--pad N] [--rcvbuf B]
               [--expect-write N] [--source IP] [--log FILE]
       mig-bench rtt ADDR COUNT SIZE [--reply R] [--log FILE]
       mig-bench rtt-server LISTEN [--reply R]
       mig-bench bulk ADDR BYTES [--source IP]
       mig-bench rr ADDR SIZE COUNT [--source IP]
ADDR: 192.0.2.100:80 or [2001:db8::1]:80; times: CLOCK_MONOTONIC ns;
--log FILE appends CSV (header when new); summaries: one JSON line";

/// Why a subcommand did not run to success.
enum Failure {
    /// The command line is wrong: the usage text follows.
    Usage(String),
    /// It ran and failed (or some of its connections did).
    Run(String),
}

type Outcome = Result<(), Failure>;

fn usage(e: String) -> Failure {
    Failure::Usage(e)
}

fn failed(e: String) -> Failure {
    Failure::Run(e)
}

/// The stack of a connection's thread: its buffers are on the heap, and
/// a load of thousands of connections should not reserve gigabytes.
const STACK: usize = 512 << 10;

/// Runs `work` on a thread of its own (one per connection everywhere);
/// a thread that cannot be created is reported, and what `work` owns
/// (the connection) dropped with it.
pub fn spawn(what: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().stack_size(STACK).spawn(work) {
        eprintln!("mig-bench: no thread for {what}: {e}");
    }
}

/// Says on stdout that a listener is up, and where.
pub fn listening(what: &str) {
    println!("listening {what}");
    // A script waits for this line: not left in a buffer.
    let _ = std::io::stdout().flush();
}

/// A subcommand: its name, the options it takes, its runner.
struct Subcommand {
    name: &'static str,
    flags: &'static [&'static str],
    run: fn(&Args) -> Outcome,
}

const COMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "serve",
        flags: &["--listen", "--unix", "--log"],
        run: serve,
    },
    Subcommand {
        name: "front",
        flags: &["--write", "--timeout", "--log"],
        run: front,
    },
    Subcommand {
        name: "clients",
        flags: &["--pad", "--rcvbuf", "--expect-write", "--source", "--log"],
        run: clients,
    },
    Subcommand {
        name: "rtt",
        flags: &["--reply", "--log"],
        run: rtt,
    },
    Subcommand {
        name: "rtt-server",
        flags: &["--reply"],
        run: rtt_server,
    },
    Subcommand {
        name: "bulk",
        flags: &["--source"],
        run: bulk,
    },
    Subcommand {
        name: "rr",
        flags: &["--source"],
        run: rr,
    },
];

fn log(args: &Args, header: &str) -> Result<Log, Failure> {
    Log::open(args.log().map_err(usage)?.as_deref(), header).map_err(failed)
}

fn serve(a: &Args) -> Outcome {
    a.exactly(&["NAME"]).map_err(usage)?;
    let name: String = a.at(0, "NAME").map_err(usage)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(usage(format!("NAME {name:?}: printable, no spaces")));
    }
    let listen = a.flag::<String>("--listen").map_err(usage)?;
    let unix = a.flag::<String>("--unix").map_err(usage)?;
    let source = match (listen, unix) {
        (Some(addr), None) => serve::Source::Listen(args::addr(&addr).map_err(usage)?),
        (None, Some(path)) => serve::Source::Unix(path.into()),
        _ => {
            return Err(usage(
                "serve takes one of --listen ADDR, --unix PATH".into(),
            ))
        }
    };
    serve::run(source, name, log(a, serve::HEADER)?).map_err(failed)
}

fn front(a: &Args) -> Outcome {
    a.exactly(&["LISTEN", "PEER"]).map_err(usage)?;
    let listen = args::addr(&a.positional[0]).map_err(usage)?;
    let timeout_ms = a.flag::<u32>("--timeout").map_err(usage)?;
    if timeout_ms.is_some_and(|ms| !(1..=60_000).contains(&ms)) {
        return Err(usage("--timeout: 1-60000 ms".into()));
    }
    let write = a.flag("--write").map_err(usage)?.unwrap_or(0);
    if write > front::MAX_WRITE {
        return Err(usage(format!("--write: at most {}", front::MAX_WRITE)));
    }
    let f = front::Front {
        listen,
        peer: a.positional[1].clone(),
        write,
        timeout_ms,
    };
    front::run(f, log(a, front::HEADER)?).map_err(failed)
}

fn clients(a: &Args) -> Outcome {
    a.exactly(&["ADDR", "COUNT", "CONCURRENCY"])
        .map_err(usage)?;
    let addr = args::addr(&a.positional[0]).map_err(usage)?;
    let load = clients::Load {
        addr,
        count: a.at(1, "COUNT").map_err(usage)?,
        concurrency: a.at(2, "CONCURRENCY").map_err(usage)?,
        pad: a.flag("--pad").map_err(usage)?.unwrap_or(0),
        expect_write: a.flag("--expect-write").map_err(usage)?.unwrap_or(0),
        connect: sys::ConnectOpts {
            source: args::source(a, addr).map_err(usage)?,
            rcvbuf: a.flag("--rcvbuf").map_err(usage)?,
        },
    };
    if load.concurrency == 0 {
        return Err(usage("CONCURRENCY: at least 1".into()));
    }
    if load.pad > clients::MAX_PAD {
        return Err(usage(format!("--pad: at most {}", clients::MAX_PAD)));
    }
    if clients::run(&load, &log(a, clients::HEADER)?).map_err(failed)? {
        Ok(())
    } else {
        Err(failed("some connections failed".into()))
    }
}

fn reply(a: &Args) -> Result<u32, Failure> {
    Ok(a.flag("--reply")
        .map_err(usage)?
        .unwrap_or(rtt::DEFAULT_REPLY))
}

fn rtt(a: &Args) -> Outcome {
    a.exactly(&["ADDR", "COUNT", "SIZE"]).map_err(usage)?;
    let rounds = rtt::Rounds {
        addr: args::addr(&a.positional[0]).map_err(usage)?,
        count: a.at(1, "COUNT").map_err(usage)?,
        size: a.at(2, "SIZE").map_err(usage)?,
        reply: reply(a)?,
    };
    rtt::client(&rounds, &log(a, rtt::HEADER)?).map_err(failed)
}

fn rtt_server(a: &Args) -> Outcome {
    a.exactly(&["LISTEN"]).map_err(usage)?;
    let listen = args::addr(&a.positional[0]).map_err(usage)?;
    rtt::server(listen, reply(a)?).map_err(failed)
}

fn bulk(a: &Args) -> Outcome {
    a.exactly(&["ADDR", "BYTES"]).map_err(usage)?;
    let addr = args::addr(&a.positional[0]).map_err(usage)?;
    let bytes = a.at(1, "BYTES").map_err(usage)?;
    session::bulk(addr, bytes, args::source(a, addr).map_err(usage)?).map_err(failed)
}

fn rr(a: &Args) -> Outcome {
    a.exactly(&["ADDR", "SIZE", "COUNT"]).map_err(usage)?;
    let addr = args::addr(&a.positional[0]).map_err(usage)?;
    let size: u64 = a.at(1, "SIZE").map_err(usage)?;
    if !(1..=protocol::MAX_ECHO).contains(&size) {
        return Err(usage(format!("SIZE: 1-{}", protocol::MAX_ECHO)));
    }
    let count = a.at(2, "COUNT").map_err(usage)?;
    session::rr(addr, size, count, args::source(a, addr).map_err(usage)?).map_err(failed)
}

/// Parses and runs a command line (without the program name).
fn run(words: &[String]) -> Outcome {
    let (name, rest) = words
        .split_first()
        .ok_or_else(|| usage("no subcommand".into()))?;
    let cmd = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| usage(format!("unknown subcommand {name:?}")))?;
    let args = Args::parse(rest, cmd.flags).map_err(|e| usage(format!("{name}: {e}")))?;
    (cmd.run)(&args).map_err(|f| match f {
        Failure::Usage(e) => usage(format!("{name}: {e}")),
        Failure::Run(e) => failed(format!("{name}: {e}")),
    })
}

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    match run(&words) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("mig-bench: {e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("mig-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn is_usage(s: &str) -> bool {
        matches!(run(&words(s)), Err(Failure::Usage(_)))
    }

    /// Command lines refused before anything runs (nothing here binds,
    /// connects or needs tcpmig).
    #[test]
    fn usage_errors() {
        for bad in [
            "",
            "nope",
            "serve be1",
            "serve --listen 127.0.0.1:0 --unix /tmp/x be1",
            "serve --listen 127.0.0.1 be1",
            "serve --listen 127.0.0.1:0",
            "serve --listen 127.0.0.1:0 a b",
            "serve --listen 127.0.0.1:0 be1 --count 3",
            "front 192.0.2.100:80",
            "front 192.0.2.100:80 be1 extra",
            "front localhost:80 be1",
            "front 192.0.2.100:80 be1 --write x",
            "front 192.0.2.100:80 be1 --write -1",
            "front 192.0.2.100:80 be1 --write 1073741825",
            "clients 127.0.0.1:80 20 5 --pad 1073741825",
            "front [2001:db8::100]:80 be1 --timeout 0",
            "front 192.0.2.100:80 be1 --timeout 60001",
            "front 192.0.2.100:80 be1 --log",
            "front 192.0.2.100:80 be1 --pad 5",
            "clients 127.0.0.1:80 20",
            "clients 127.0.0.1:80 20 0",
            "clients 127.0.0.1:80 20 5 --source 127.0.0.1:5",
            "clients 127.0.0.1:80 20 5 --source ::1",
            "bulk [::1]:80 5 --source 127.0.0.1",
            "clients 127.0.0.1:80 20 5 --rcvbuf x",
            "rtt 127.0.0.1:80 10",
            "rtt 127.0.0.1:80 10 4294967296",
            "rtt-server 127.0.0.1:80 --reply -1",
            "bulk 127.0.0.1:80",
            "rr 127.0.0.1:80 0 10",
            "rr 127.0.0.1:80 16777217 10",
        ] {
            assert!(is_usage(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_command_is_in_the_usage() {
        for c in COMMANDS {
            assert!(
                USAGE.contains(&format!("mig-bench {} ", c.name)),
                "{}",
                c.name
            );
            for flag in c.flags {
                assert!(USAGE.contains(flag), "{} {flag}", c.name);
            }
        }
    }
}
