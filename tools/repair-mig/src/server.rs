//! `repair-mig server`: the back-end application of the baseline. It
//! never accepts: sockets arrive rebuilt from `repair-mig target` over
//! the unix socket, and each is served as `mig-peer http` serves a
//! connection: read the request head and its Content-Length bytes of
//! body, answer `200 PATH from NAME`, a newline and BODY bytes of the
//! server stream (`X-Body: B` asks for B), shut down writing, drain.

use crate::handoff;
use crate::http;
use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

pub struct Options {
    pub unix_path: PathBuf,
    pub name: String,
    pub body: u64,
    pub log: Option<PathBuf>,
}

/// What every connection thread needs.
struct Server {
    name: String,
    body: u64,
    log: Option<Mutex<File>>,
}

/// Byte `i` of a stream: `stream_byte` of `samples/mig-peer`, which the
/// test clients check answers against (the unit test below pins it).
fn stream_byte(seed: u64, i: u64) -> u8 {
    let mut x = seed ^ (i / 8).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> ((i % 8) * 8)) as u8
}

/// mig-peer's seed of the server stream.
const SERVER: u64 = 0x005e_7ee7;

pub fn run(o: Options) -> Result<(), String> {
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
    // A socket file left by an earlier run would make bind fail.
    match fs::remove_file(&o.unix_path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            return Err(format!("{}: {e}", o.unix_path.display()));
        }
        _ => {}
    }
    let listener =
        UnixListener::bind(&o.unix_path).map_err(|e| format!("{}: {e}", o.unix_path.display()))?;
    println!("listening {}", o.unix_path.display());
    let _ = io::stdout().flush();
    let server = Arc::new(Server {
        name: o.name,
        body: o.body,
        log,
    });
    loop {
        let sock = match listener.accept() {
            Ok((sock, _)) => sock,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept: {e}")),
        };
        let server = Arc::clone(&server);
        thread::spawn(move || {
            if let Err(e) = server.receive(&sock) {
                eprintln!("repair-mig server: hand-over: {e}");
            }
        });
    }
}

impl Server {
    /// Takes the sockets one target connection hands over.
    fn receive(self: &Arc<Self>, sock: &UnixStream) -> io::Result<()> {
        while let Some((port, fd)) = handoff::recv_fd(sock)? {
            let t_accepted = sys::monotonic_ns();
            if let Some(log) = &self.log {
                let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
                file.write_all(format!("{port} {t_accepted}\n").as_bytes())?;
            }
            let server = Arc::clone(self);
            thread::spawn(move || {
                let mut conn = TcpStream::from(fd);
                match server.answer(&mut conn) {
                    Ok(path) => {
                        eprintln!("{}: {port} {path}", server.name);
                        linger(conn);
                    }
                    Err(e) => eprintln!("repair-mig server: {port}: {e}"),
                }
            });
        }
        Ok(())
    }

    /// Reads one request and answers it; returns its path.
    fn answer(&self, conn: &mut TcpStream) -> Result<String, String> {
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        let len = loop {
            if let Some(len) = http::head_len(&req) {
                break len;
            }
            let k = conn.read(&mut buf).map_err(|e| format!("read: {e}"))?;
            if k == 0 {
                return Err(format!("EOF after {} bytes of request", req.len()));
            }
            req.extend_from_slice(&buf[..k]);
        };
        let head = http::parse(&req[..len])?;
        // The body: what came after the head, then the rest.
        let want = head.content_length.unwrap_or(0);
        let have = (req.len() - len) as u64;
        if have < want {
            let got = io::copy(&mut conn.take(want - have), &mut io::sink())
                .map_err(|e| format!("read body: {e}"))?;
            if got < want - have {
                return Err(format!("EOF after {} of {want} body bytes", have + got));
            }
        }
        let path = head.path;
        let mut answer = format!("200 {path} from {}\n", self.name).into_bytes();
        let body = head.x_body.unwrap_or(self.body);
        answer.extend((0..body).map(|i| stream_byte(SERVER, i)));
        conn.write_all(&answer).map_err(|e| format!("write: {e}"))?;
        Ok(path)
    }
}

/// Closes an answered connection gently, as mig-peer does: FIN first,
/// then what the client still sends is read and dropped, so the close
/// does not turn into a reset that could beat the answer.
fn linger(conn: TcpStream) {
    let _ = conn.shutdown(Shutdown::Write);
    let mut conn = conn;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = io::copy(&mut conn, &mut io::sink());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of `mig-peer gen server 16`.
    #[test]
    fn the_server_stream_is_mig_peers() {
        let got: Vec<u8> = (0..16).map(|i| stream_byte(SERVER, i)).collect();
        let want = [
            0xf3, 0x7e, 0x81, 0xe2, 0x10, 0x18, 0x8b, 0x28, 0x96, 0xcb, 0x02, 0xd2, 0x80, 0x72,
            0xc1, 0x03,
        ];
        assert_eq!(got, want);
    }
}
