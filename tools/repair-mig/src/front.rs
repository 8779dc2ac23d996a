//! `repair-mig front`: the front-end application of the baseline. It
//! accepts each client on the service address, and once the client has
//! sent something, moves the connection to the back-end: hold the flow
//! back (`transit`), freeze, dump, close, send the record, wait for the
//! ack, add the flow's forwarding rule, let the flow through again. A
//! thread per connection.
//!
//! The order: the frozen socket is closed (in repair mode: nothing goes
//! out) *before* its record is sent, not after the ack. On one host (the
//! loopback test) the target cannot connect the same 4-tuple while the
//! frozen socket holds it, so there this order is the only one that
//! works; across hosts it costs nothing, since from the seal on the
//! socket takes nothing in, and after the close the listener's filter
//! keeps the flow's segments from being answered with a RST. The dump is
//! therefore the last moment the connection exists here: a failed move
//! rebuilds it from the dump to reset it. What the client sends while in
//! transit is dropped unacked, and comes again on its retransmit timer.

use crate::link::Link;
use crate::repair::{self, Frozen};
use crate::rule::{Op, Rtnl, Rule};
use crate::sys;
use crate::transit::{self, Transit};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

pub struct Options {
    pub listen: SocketAddr,
    pub target: SocketAddr,
    /// The routing table of the tunnel to the back-end; no rules without.
    pub table: Option<u32>,
    pub pref: u32,
    pub log: Option<PathBuf>,
    /// Bytes written to each client before its move (`--write`).
    pub write: usize,
}

/// What the connection threads share.
struct Front {
    link: Arc<Link>,
    transit: Transit,
    vip_port: u16,
    table: Option<u32>,
    pref: u32,
    /// The rules added so far, to delete at exit, and the socket that
    /// adds them.
    rules: Mutex<(Option<Rtnl>, Vec<Rule>)>,
    log: Option<Mutex<File>>,
    /// What `--write` puts in each send queue: `mig-bench`'s pattern
    /// (byte i is i % 251), which its clients check.
    data: Vec<u8>,
}

/// The moments of one move, CLOCK_MONOTONIC nanoseconds.
#[derive(Default)]
struct Times {
    data: u64,
    start: u64,
    frozen: u64,
    closed: u64,
    sent: u64,
    acked: u64,
    forwarded: u64,
}

pub fn run(o: Options) -> Result<(), String> {
    let signals = crate::signals::block().map_err(|e| format!("signal mask: {e}"))?;
    let log = match &o.log {
        Some(path) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    let rtnl = match o.table {
        Some(_) => Some(Rtnl::open().map_err(|e| format!("rtnetlink: {e}"))?),
        None => None,
    };
    let listener = TcpListener::bind(o.listen).map_err(|e| format!("bind {}: {e}", o.listen))?;
    let listener = Arc::new(listener);
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let front = Arc::new(Front {
        link: Link::new(o.target),
        transit: Transit::new(Arc::clone(&listener)),
        vip_port: bound.port(),
        table: o.table,
        pref: o.pref,
        rules: Mutex::new((rtnl, Vec::new())),
        log,
        data: (0..o.write).map(|i| (i % 251) as u8).collect(),
    });
    {
        let front = Arc::clone(&front);
        crate::signals::on_exit(signals, move || front.delete_rules());
    }
    front.link.warm_up();
    println!("listening {bound}");
    let _ = io::stdout().flush();
    let result = loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                eprintln!("repair-mig front: accept: {e}");
                thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            Err(e) => break Err(format!("accept: {e}")),
        };
        let front = Arc::clone(&front);
        thread::spawn(move || front.serve(OwnedFd::from(stream)));
    };
    front.delete_rules();
    result
}

impl Front {
    /// Moves one connection; every failure is logged here.
    fn serve(&self, fd: OwnedFd) {
        let peer = sys::peer_addr(&fd).ok();
        let name = peer.map_or_else(|| "?".into(), |p| p.to_string());
        if let Err(e) = self.migrate(fd) {
            eprintln!("repair-mig front: {name}: {e}");
        }
    }

    /// The steps of one move, timed; an error says what became of the
    /// client (reset, or left as it was).
    fn migrate(&self, fd: OwnedFd) -> Result<(), String> {
        let mut t = Times::default();
        // The first byte, peeked: it stays queued, and moves with the rest.
        let mut byte = [0u8; 1];
        if sys::recv(&fd, &mut byte, libc::MSG_PEEK).map_err(|e| format!("recv: {e}"))? == 0 {
            return Ok(()); // Closed without a word: nothing to move.
        }
        t.data = sys::monotonic_ns();
        let port = sys::peer_addr(&fd)
            .map_err(|e| format!("getpeername: {e}"))?
            .port();
        self.write_ahead(&fd)?;
        t.start = sys::monotonic_ns();
        // Held until this function returns: moved, or reset.
        let _held = self
            .transit
            .hold(port)
            .map_err(|e| format!("hold: {e}; reset"))?;
        if let Err(e) = transit::seal(&fd) {
            let _ = repair::abort(fd);
            return Err(format!("seal: {e}; reset"));
        }
        let frozen = match Frozen::freeze(fd) {
            Ok(frozen) => frozen,
            Err((fd, e)) => {
                let _ = repair::abort(fd);
                return Err(format!("TCP_REPAIR: {e} (needs CAP_NET_ADMIN)"));
            }
        };
        let conn = match frozen.dump() {
            Ok(conn) => conn,
            Err(e) => {
                if let Ok(fd) = frozen.thaw() {
                    let _ = repair::abort(fd);
                }
                return Err(format!("dump: {e}; reset"));
            }
        };
        t.frozen = sys::monotonic_ns();
        drop(frozen); // In repair mode: silent. See the file's head.
        t.closed = sys::monotonic_ns();
        let status = match self.link.send(&conn) {
            Ok(pending) => {
                t.sent = sys::monotonic_ns();
                pending.wait()
            }
            Err(e) => sys::errno(&e),
        };
        t.acked = sys::monotonic_ns();
        if status != 0 {
            let err = io::Error::from_raw_os_error(status);
            return Err(match repair::reset(&conn) {
                Ok(()) => format!("target: {err}; reset"),
                Err(e) => format!("target: {err}; reset failed: {e}"),
            });
        }
        if let Some(table) = self.table {
            let rule = Rule {
                client: conn.peer,
                vip_port: self.vip_port,
                table,
                pref: self.pref,
            };
            self.add_rule(rule).map_err(|e| format!("rule: {e}"))?;
        }
        t.forwarded = sys::monotonic_ns();
        if let Some(log) = &self.log {
            let line = format!(
                "{port} {} {} {} {} {} {} {}\n",
                t.data, t.frozen, t.sent, t.acked, t.forwarded, t.closed, t.start
            );
            let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
            file.write_all(line.as_bytes())
                .map_err(|e| format!("log: {e}"))?;
        }
        Ok(())
    }

    /// Puts `--write`'s bytes in the send queue without waiting: what the
    /// client's window takes leaves, the rest waits there and moves with
    /// the connection. All of it must fit: the buffer is made room for.
    fn write_ahead(&self, fd: &OwnedFd) -> Result<(), String> {
        if self.data.is_empty() {
            return Ok(());
        }
        let room = i32::try_from(self.data.len() * 2).unwrap_or(i32::MAX);
        sys::set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, room)
            .map_err(|e| format!("SO_SNDBUF: {e}"))?;
        let mut off = 0;
        while off < self.data.len() {
            match sys::send(
                fd,
                &self.data[off..],
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            ) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(format!(
                        "write ahead ({off} of {} bytes): {e}",
                        self.data.len()
                    ))
                }
            }
        }
        Ok(())
    }

    fn add_rule(&self, rule: Rule) -> io::Result<()> {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let (rtnl, added) = &mut *rules;
        let rtnl = rtnl.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        match rtnl.apply(Op::Add, &rule) {
            // A client port used again: its rule is still there.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(e),
            Ok(()) => {
                added.push(rule);
                Ok(())
            }
        }
    }

    /// Deletes every rule this front added; the socket goes with them,
    /// so a connection still moving cannot add one after.
    fn delete_rules(&self) {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let (rtnl, added) = &mut *rules;
        let Some(mut rtnl) = rtnl.take() else {
            return;
        };
        for rule in added.drain(..) {
            if let Err(e) = rtnl.apply(Op::Delete, &rule) {
                eprintln!("repair-mig front: delete rule for {}: {e}", rule.client);
            }
        }
    }
}
