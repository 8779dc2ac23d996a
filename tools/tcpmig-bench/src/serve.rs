//! `serve`: the back-end application. Connections come either from a TCP
//! listener (`--listen`: tcpmig injects migrated connections into the
//! listener, so they are just accepted; also the direct path) or as
//! descriptors over a unix socket (`--unix`: the baseline's `repair-mig
//! target` hands over the sockets it rebuilt). Each is served by a
//! thread of its own with the bench protocol (`protocol`), after its
//! row `port,t_accepted` is logged.

use crate::csv::Log;
use crate::handoff;
use crate::protocol;
use crate::sys;
use std::fs;
use std::io::{self, ErrorKind, Read};
use std::net::Shutdown;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const HEADER: &str = "port,t_accepted";

/// Where connections come from.
pub enum Source {
    Listen(SocketAddr),
    Unix(PathBuf),
}

/// What every connection's thread shares.
struct Backend {
    name: String,
    log: Log,
}

pub fn run(source: Source, name: String, log: Log) -> Result<(), String> {
    let backend = Arc::new(Backend { name, log });
    match source {
        Source::Listen(addr) => listen(addr, &backend),
        Source::Unix(path) => unix(&path, &backend),
    }
}

fn listen(addr: SocketAddr, backend: &Arc<Backend>) -> Result<(), String> {
    let listener = sys::listen(addr).map_err(|e| format!("listen {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    crate::listening(&bound.to_string());
    loop {
        let conn = match listener.accept() {
            Ok((conn, _)) => conn,
            // A connection reset while queued, a signal: not the listener's fault.
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept: {e}")),
        };
        spawn(conn, sys::monotonic_ns(), backend);
    }
}

fn unix(path: &Path, backend: &Arc<Backend>) -> Result<(), String> {
    // A socket file left by an earlier run would make bind fail.
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            return Err(format!("{}: {e}", path.display()));
        }
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::listening(&path.display().to_string());
    loop {
        let sender = match listener.accept() {
            Ok((sender, _)) => sender,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept on {}: {e}", path.display())),
        };
        let backend = Arc::clone(backend);
        // One thread per sender (repair-mig target keeps one open and
        // sends every socket on it).
        crate::spawn("a unix sender", move || {
            if let Err(e) = take_sockets(&sender, &backend) {
                eprintln!("mig-bench serve: unix sender: {e}");
            }
        });
    }
}

/// Serves each socket a sender passes until it hangs up.
fn take_sockets(sender: &UnixStream, backend: &Arc<Backend>) -> io::Result<()> {
    while let Some(fds) = handoff::recv_fds(sender)? {
        let t_accepted = sys::monotonic_ns();
        for fd in fds {
            spawn(TcpStream::from(fd), t_accepted, backend);
        }
    }
    Ok(())
}

/// Logs a connection and serves it on a thread of its own.
fn spawn(conn: TcpStream, t_accepted: u64, backend: &Arc<Backend>) {
    let backend = Arc::clone(backend);
    crate::spawn("a connection", move || {
        serve_one(conn, t_accepted, &backend)
    });
}

fn serve_one(conn: TcpStream, t_accepted: u64, backend: &Backend) {
    // Not a connected socket (a sender passed something else): nothing
    // to serve.
    let peer = match conn.peer_addr() {
        Ok(peer) => peer,
        Err(e) => return eprintln!("mig-bench serve: a socket without a peer: {e}"),
    };
    backend
        .log
        .row(&[peer.port().to_string(), t_accepted.to_string()]);
    // Answers are small writes the client waits for: no Nagle delay
    // (ECHO rounds above a segment would otherwise wait for an ACK).
    if let Err(e) = conn.set_nodelay(true) {
        eprintln!("mig-bench serve: {peer}: TCP_NODELAY: {e}");
    }
    if let Err(e) = protocol::serve(&conn, &backend.name) {
        eprintln!("mig-bench serve: {peer}: {e}");
        linger(&conn);
    }
}

/// How long a refused client has to stop sending.
const LINGER: Duration = Duration::from_secs(2);

/// Closes a refused connection gently: FIN after the `ERR` line, then
/// what the client still sends is read and dropped, so the close does
/// not turn into a reset that could beat the answer.
fn linger(conn: &TcpStream) {
    let _ = conn.shutdown(Shutdown::Write);
    if conn.set_read_timeout(Some(LINGER)).is_ok() {
        let _ = io::copy(&mut conn.take(64 << 20), &mut io::sink());
    }
}
