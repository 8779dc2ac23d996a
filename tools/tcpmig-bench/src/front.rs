//! `front`: tcpmig's front-end application for the bench. It accepts
//! clients on the VIP and, once a client has sent something, migrates
//! the connection to the back-end PEER with
//! `tcpmig_client::Client::migrate_fd`. The bytes stay unread (only
//! peeked at): they travel in the receive queue, and so do the bytes
//! `--write N` puts in the send queue first. One thread per connection;
//! one CSV row each.

use crate::csv::Log;
use crate::pattern;
use crate::sys;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tcpmig_client::{Client, MigrateOptions};

pub const HEADER: &str =
    "port,t_data,t_start,t_migrated,capture_ns,transfer_ns,inject_ns,ok,written";

/// The largest `--write`: the bytes are held in memory.
pub const MAX_WRITE: usize = 1 << 30;
/// How long a client has to send its first byte.
const DATA_WAIT: Duration = Duration::from_secs(30);

pub struct Front {
    pub listen: SocketAddr,
    /// The back-end, as tcpmig names its peers.
    pub peer: String,
    /// Bytes of the pattern written to each client before the hand-off.
    pub write: usize,
    /// How long tcpmig waits for the peer (its default when `None`).
    pub timeout_ms: Option<u32>,
}

/// Netlink clients for the connection threads: one per migration in
/// flight (a `Client` serves one request at a time), reused so that no
/// migration pays for opening one.
struct Pool(Mutex<Vec<Client>>);

impl Pool {
    fn take(&self) -> Result<Client, String> {
        let spare = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match spare {
            Some(client) => Ok(client),
            None => Client::connect().map_err(|e| format!("tcpmig: {e}")),
        }
    }

    fn give_back(&self, client: Client) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(client);
    }
}

/// One connection's row; zeros for what did not happen.
#[derive(Default)]
struct Row {
    port: u16,
    t_data: u64,
    t_start: u64,
    t_migrated: u64,
    capture_ns: u64,
    transfer_ns: u64,
    inject_ns: u64,
    ok: bool,
    written: usize,
}

impl Row {
    fn fields(&self) -> Vec<String> {
        vec![
            self.port.to_string(),
            self.t_data.to_string(),
            self.t_start.to_string(),
            self.t_migrated.to_string(),
            self.capture_ns.to_string(),
            self.transfer_ns.to_string(),
            self.inject_ns.to_string(),
            u8::from(self.ok).to_string(),
            self.written.to_string(),
        ]
    }
}

pub fn run(front: Front, log: Log) -> Result<(), String> {
    // Fails now, not at the first client, without the module.
    let pool = Arc::new(Pool(Mutex::new(vec![
        Client::connect().map_err(|e| format!("tcpmig: {e}"))?
    ])));
    let listener =
        sys::listen(front.listen).map_err(|e| format!("listen {}: {e}", front.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    crate::listening(&bound.to_string());
    // Made once: the time between a client's first byte and the
    // migration is the send calls' only.
    let data: Arc<[u8]> = pattern::bytes(0, front.write).into();
    let front = Arc::new(front);
    let log = Arc::new(log);
    loop {
        let (conn, client) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept: {e}")),
        };
        let (front, log, pool) = (Arc::clone(&front), Arc::clone(&log), Arc::clone(&pool));
        let data = Arc::clone(&data);
        crate::spawn("a connection", move || {
            let mut row = Row {
                port: client.port(),
                ..Row::default()
            };
            if let Err(e) = hand_off(conn, &front, &data, &pool, &mut row) {
                eprintln!("mig-bench front: {client}: {e}");
            }
            log.row(&row.fields());
        });
    }
}

/// Waits for the client's first byte, puts `data` in the send queue,
/// migrates. The connection is dropped at the end either way: frozen
/// after a migration (closing sends nothing), closed after a failure.
fn hand_off(
    conn: TcpStream,
    front: &Front,
    data: &[u8],
    pool: &Pool,
    row: &mut Row,
) -> Result<(), String> {
    wait_for_data(&conn)?;
    row.t_data = sys::monotonic_ns();
    if !data.is_empty() {
        // Room for all of it beside what the client's window lets out
        // (the kernel doubles the value; the buffer size is not part of
        // what migrates, the queued bytes are).
        let room = i32::try_from(data.len() * 2).unwrap_or(i32::MAX);
        sys::set_int(&conn, libc::SOL_SOCKET, libc::SO_SNDBUF, room)
            .map_err(|e| format!("SO_SNDBUF: {e}"))?;
    }
    row.written = send_now(&conn, data)?;
    if row.written < data.len() {
        eprintln!(
            "mig-bench front: port {}: only {} of {} bytes fit in the send buffer",
            row.port,
            row.written,
            data.len()
        );
    }
    let tcpmig = pool.take()?;
    let opts = MigrateOptions {
        timeout_ms: front.timeout_ms,
        on_failure: None,
    };
    row.t_start = sys::monotonic_ns();
    let migrated = tcpmig.migrate_fd(conn.as_fd(), &front.peer, &opts);
    row.t_migrated = sys::monotonic_ns();
    pool.give_back(tcpmig);
    let m = migrated.map_err(|e| format!("migration to {} failed: {e}", front.peer))?;
    row.capture_ns = m.capture_ns;
    row.transfer_ns = m.transfer_ns;
    row.inject_ns = m.inject_ns;
    row.ok = true;
    Ok(())
}

/// Waits until at least one byte is readable, taking none.
fn wait_for_data(conn: &TcpStream) -> Result<(), String> {
    let mut one = [0u8; 1];
    loop {
        if !sys::poll(conn, libc::POLLIN, DATA_WAIT).map_err(|e| format!("poll: {e}"))? {
            return Err(format!("no data in {} s", DATA_WAIT.as_secs()));
        }
        match sys::peek(conn, &mut one) {
            Ok(0) => return Err("closed before sending anything".into()),
            Ok(_) => return Ok(()),
            // POLLIN for something else than data (an error is caught
            // by the peek): wait again.
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(format!("peek: {e}")),
        }
    }
}

/// Writes what of `data` fits in the send buffer, without waiting: what
/// the client's window lets through leaves, the rest waits in the send
/// queue and moves with the connection. How many bytes went in.
fn send_now(conn: &TcpStream, data: &[u8]) -> Result<usize, String> {
    let mut off = 0;
    while off < data.len() {
        match sys::send_now(conn, &data[off..]) {
            Ok(k) => off += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(off)
}
