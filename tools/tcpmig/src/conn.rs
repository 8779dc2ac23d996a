//! `tcpmig conn capture|inject`: move a live connection as a blob;
//! `tcpmig conn migrate`: have the kernel move it to a peer.

use crate::peer::PeerName;
use crate::words::{choice, number, value, Words};
use crate::Globals;
use clap::{Args, Subcommand};
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd};
use tcpmig_client::genl::{find, Client};
use tcpmig_client::migrate::tuple;
use tcpmig_client::uapi::{Cmd, ConnAttr, OnFailure, TIMEOUT_MS_MAX};
use tcpmig_client::Error;
use tcpmig_client::{MigrateOptions, Migrated};

const MIGRATE_HELP: &str = "\
Keywords:
  to PEER              the peer to migrate it to (see tcpmig peer list)
  timeout MS           how long to wait for the peer's answer, in ms
                       (1-60000; default 2000)
  on-failure POLICY    what becomes of the connection if the migration
                       fails: local (it goes on here, the default) or reset

Example:
  tcpmig conn migrate 192.0.2.100:80 192.0.2.1:40000 to be1 timeout 2000 on-failure reset";

#[derive(Subcommand)]
pub enum Verb {
    /// Capture the connection LOCAL <-> REMOTE (ADDR:PORT, [ADDR6]:PORT)
    /// of this namespace into a blob on stdout; the connection is then
    /// frozen here (needs CAP_NET_ADMIN)
    #[command(visible_alias = "dump")]
    Capture {
        #[arg(value_parser = parse_endpoint)]
        local: SocketAddr,
        #[arg(value_parser = parse_endpoint)]
        remote: SocketAddr,
    },
    /// Inject a blob from stdin: the connection waits in the accept queue
    /// of this namespace's listener on its local address (needs
    /// CAP_NET_ADMIN); `no-check` sends the blob without checking it here
    /// first, so the kernel's own checks answer (for testing them)
    #[command(
        visible_alias = "restore",
        override_usage = "tcpmig conn inject [no-check]"
    )]
    Inject {
        #[arg(value_name = "no-check", value_parser = ["no-check"])]
        word: Option<String>,
        #[arg(long, hide = true)]
        no_check: bool,
    },
    /// Migrate a connection of this namespace to a peer (needs
    /// CAP_NET_ADMIN)
    ///
    /// Migrate the connection LOCAL <-> REMOTE of this namespace to peer
    /// PEER: the kernel captures it, sends it to PEER's migrator and waits
    /// for the answer. Then the connection lives on PEER and its client
    /// packets are forwarded there from here. On failure it goes on here,
    /// or is reset if `on-failure reset` says so, and the exit status is 1.
    #[command(
        override_usage = "tcpmig conn migrate <LOCAL> <REMOTE> to <PEER> [timeout <MS>] [on-failure <POLICY>]",
        after_help = MIGRATE_HELP
    )]
    Migrate(MigrateArgs),
}

/// `conn migrate`'s arguments as clap reads them: the keywords, and
/// their flag forms of earlier releases.
#[derive(Args)]
pub struct MigrateArgs {
    /// The connection's local end: ADDR:PORT or [ADDR6]:PORT
    #[arg(value_parser = parse_endpoint)]
    local: SocketAddr,
    /// The connection's remote end (the client): ADDR:PORT or
    /// [ADDR6]:PORT
    #[arg(value_parser = parse_endpoint)]
    remote: SocketAddr,
    /// to PEER, and optionally timeout MS and on-failure POLICY (below)
    #[arg(value_name = "KEYWORD VALUE")]
    words: Vec<String>,
    #[arg(long = "to", hide = true)]
    to: Option<PeerName>,
    #[arg(
        long = "timeout",
        hide = true,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(TIMEOUT_MS_MAX))
    )]
    timeout: Option<u32>,
    #[arg(long = "on-failure", hide = true, value_enum)]
    on_failure: Option<OnFailure>,
}

/// A migration, as `conn migrate` asks for it.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrate {
    local: SocketAddr,
    remote: SocketAddr,
    to: PeerName,
    timeout_ms: Option<u32>,
    on_failure: Option<OnFailure>,
}

impl MigrateArgs {
    /// The migration the words and flags ask for.
    pub fn resolve(self) -> Result<Migrate, String> {
        let words = Words::parse(&self.words, &["to", "timeout", "on-failure"])?;
        let range = 1..=u64::from(TIMEOUT_MS_MAX);
        Ok(Migrate {
            local: self.local,
            remote: self.remote,
            to: words
                .get("to", self.to, value)?
                .ok_or("expected `to PEER`")?,
            timeout_ms: words.get("timeout", self.timeout, number(range))?,
            on_failure: words.get("on-failure", self.on_failure, choice)?,
        })
    }
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    match verb {
        Verb::Capture { local, remote } => capture(&Client::connect()?, local, remote),
        Verb::Inject { word, no_check } => {
            inject(&Client::connect()?, !(no_check || word.is_some()))
        }
        Verb::Migrate(args) => {
            let m = args
                .resolve()
                .unwrap_or_else(|e| crate::usage_error(&["conn", "migrate"], e));
            migrate(&Client::connect()?, &m, globals.json)
        }
    }
}

/// One end of a connection on the command line: `ADDR:PORT` or
/// `[ADDR6]:PORT`, the port 1-65535.
pub fn parse_endpoint(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|_| "expected ADDR:PORT or [ADDR6]:PORT".to_string())?;
    if addr.port() == 0 {
        return Err("port 0 is no connection's port".into());
    }
    Ok(addr)
}

/// A memfd: the kernel reads a blob from it or writes one into it, so
/// blobs of any size pass (a netlink attribute holds 64 KiB, a request
/// the socket's send buffer).
fn memfd() -> Result<File, Error> {
    // SAFETY: A plain system call with a static name; the descriptor it
    // returns is ours alone.
    let fd = unsafe { libc::memfd_create(c"tcpmig-blob".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::Other(format!(
            "cannot create a memfd for the blob: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn fd_attr(file: &File) -> (ConnAttr, Vec<u8>) {
    let fd = u32::try_from(file.as_raw_fd()).unwrap_or(u32::MAX);
    (ConnAttr::BlobFd, fd.to_ne_bytes().to_vec())
}

/// Captures the connection LOCAL <-> REMOTE of this namespace and writes
/// its blob to stdout. The connection is frozen here once this succeeds.
fn capture(client: &Client, local: SocketAddr, remote: SocketAddr) -> Result<(), Error> {
    let mut attrs = tuple("conn capture", local, remote)?;
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        return Err(Error::Other(
            "conn capture: the blob is binary; redirect stdout to a file".into(),
        ));
    }
    let mut file = memfd()?;
    attrs.push(fd_attr(&file));
    let attrs = client.request(Cmd::ConnCapture, &attrs)?;
    let len = find(&attrs, ConnAttr::BlobLen)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or(Error::BadReply("no blob length"))?;
    // The kernel has frozen the connection: the blob is all there is now.
    let mut blob = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.take(u64::from(len)).read_to_end(&mut blob))
        .and_then(|n| {
            if n == len as usize {
                Ok(())
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            }
        })
        .and_then(|()| stdout.write_all(&blob))
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Error::Other(format!(
                "conn capture: cannot write the blob ({e}); the connection is lost"
            ))
        })
}

/// Injects the blob read from stdin into this namespace's listener,
/// checking it first unless `check` is off.
fn inject(client: &Client, check: bool) -> Result<(), Error> {
    let mut blob = Vec::new();
    std::io::stdin()
        .read_to_end(&mut blob)
        .map_err(|e| Error::Other(format!("conn inject: cannot read the blob from stdin: {e}")))?;
    // Refuse what the kernel would, with the same words, before asking it;
    // `--no-check` lets the kernel's own checks be tested.
    if check {
        tcpmig_wire::decode(&blob)
            .map_err(|e| Error::Other(format!("conn inject: invalid blob: {e}")))?;
    }
    let mut file = memfd()?;
    file.write_all(&blob)
        .map_err(|e| Error::Other(format!("conn inject: cannot stage the blob: {e}")))?;
    client
        .request(Cmd::ConnInject, &[fd_attr(&file)])
        .map(|_| ())
}

/// Nanoseconds as milliseconds with three decimals (truncated).
fn millis(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

/// What `conn migrate` prints: one line, or a JSON object.
fn report(
    local: SocketAddr,
    remote: SocketAddr,
    peer: &PeerName,
    m: &Migrated,
    json: bool,
) -> String {
    if json {
        serde_json::json!({
            "flow_id": m.flow_id,
            "capture_ns": m.capture_ns,
            "transfer_ns": m.transfer_ns,
            "inject_ns": m.inject_ns,
            "peer": peer.to_string(),
            "local": local.to_string(),
            "remote": remote.to_string(),
        })
        .to_string()
    } else {
        format!(
            "migrated {local} {remote} to {peer}: flow id {:#010x} (number {}, flow port {}), \
             capture {} ms, transfer {} ms (injection on the peer {} ms)",
            m.flow_id,
            m.flow_id >> 16,
            m.flow_id & 0xffff,
            millis(m.capture_ns),
            millis(m.transfer_ns),
            millis(m.inject_ns)
        )
    }
}

/// Migrates the connection LOCAL <-> REMOTE of this namespace to its
/// peer; the timeout and on-failure are the kernel's defaults if absent.
fn migrate(client: &Client, m: &Migrate, json: bool) -> Result<(), Error> {
    let opts = MigrateOptions {
        timeout_ms: m.timeout_ms,
        on_failure: m.on_failure,
    };
    let migrated = client.migrate(m.local, m.remote, &m.to.to_string(), &opts)?;
    println!("{}", report(m.local, m.remote, &m.to, &migrated, json));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let ok = |s: &str| parse_endpoint(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("192.0.2.50:7000").to_string(), "192.0.2.50:7000");
        assert_eq!(ok("[2001:db8::50]:7000").to_string(), "[2001:db8::50]:7000");
        assert!(ok("[::ffff:192.0.2.1]:1").is_ipv6());
        assert_eq!(ok("192.0.2.1:65535").port(), 65535);
        for bad in [
            "192.0.2.50",
            "2001:db8::50:7000",
            "[192.0.2.50]:7000",
            "192.0.2.50:70000",
            "192.0.2.50:",
            "host:80",
            "",
        ] {
            let e = parse_endpoint(bad).expect_err(bad);
            assert_eq!(e, "expected ADDR:PORT or [ADDR6]:PORT", "{bad}");
        }
        assert!(parse_endpoint("[::1]:0").unwrap_err().contains("port 0"));
    }

    #[test]
    fn migration_report() {
        let m = Migrated {
            flow_id: 0x0001_1282,
            capture_ns: 1_234_567,
            transfer_ns: 45_000,
            inject_ns: 12_000,
        };
        let local = parse_endpoint("192.0.2.50:7000").unwrap();
        let remote = parse_endpoint("192.0.2.1:40000").unwrap();
        let peer: PeerName = "be1".parse().unwrap();
        assert_eq!(
            report(local, remote, &peer, &m, false),
            "migrated 192.0.2.50:7000 192.0.2.1:40000 to be1: flow id 0x00011282 \
             (number 1, flow port 4738), capture 1.234 ms, transfer 0.045 ms \
             (injection on the peer 0.012 ms)"
        );
        assert_eq!(
            report(local, remote, &peer, &m, true),
            r#"{"capture_ns":1234567,"flow_id":70274,"inject_ns":12000,"local":"192.0.2.50:7000","peer":"be1","remote":"192.0.2.1:40000","transfer_ns":45000}"#
        );
    }
}
