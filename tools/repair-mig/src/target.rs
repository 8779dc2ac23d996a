//! `repair-mig target`: the back-end daemon of the baseline. Each
//! front-end connects once and sends records; for each, in order, the
//! daemon rebuilds the socket (`repair::restore`), hands it to the local
//! server over a unix socket (`handoff`) and only then acks the record.
//! A record that fails is answered with its errno; the daemon goes on.
//! A thread per front-end connection.

use crate::handoff;
use crate::record::{self, Ack, Record};
use crate::repair::{self, Failed};
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

pub fn run(listen: SocketAddr, unix_path: PathBuf) -> Result<(), String> {
    let listener = TcpListener::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening {bound}");
    let _ = io::stdout().flush();
    let unix_path = Arc::new(unix_path);
    loop {
        let (stream, front) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("accept: {e}")),
        };
        let unix_path = Arc::clone(&unix_path);
        thread::spawn(move || {
            if let Err(e) = serve_front(stream, &unix_path) {
                eprintln!("repair-mig target: front {front}: {e}");
            }
        });
    }
}

/// Answers one front-end's records until it hangs up.
fn serve_front(stream: TcpStream, unix_path: &Path) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    // The unix connection to the server, made at the first record and
    // again after a failure.
    let mut server = None;
    while let Some(body) = record::read_frame(&mut reader)? {
        let (id, status) = match Record::decode(&body) {
            Ok(rec) => match restore(&rec, unix_path, &mut server) {
                Ok(()) => (rec.id, 0),
                Err(e) => {
                    eprintln!("repair-mig target: {}: {e}", rec.conn.peer);
                    (rec.id, e.errno())
                }
            },
            // Framed right but unreadable: answer it if it has an id;
            // without one the stream itself cannot be trusted.
            Err(m) => match Record::id_of(&body) {
                Some(id) => {
                    eprintln!("repair-mig target: record {id}: {m}");
                    (id, libc::EINVAL)
                }
                None => return Err(m.into()),
            },
        };
        writer.write_all(&Ack { id, status }.encode())?;
    }
    Ok(())
}

/// Rebuilds one connection and hands it to the server.
fn restore(rec: &Record, unix_path: &Path, server: &mut Option<UnixStream>) -> Result<(), Failed> {
    let fd = repair::restore(&rec.conn)?;
    let sent = match server {
        Some(sock) => Ok(sock),
        None => UnixStream::connect(unix_path).map(|sock| server.insert(sock)),
    }
    .and_then(|sock| handoff::send_fd(sock, rec.conn.peer.port(), fd.as_fd()));
    if let Err(err) = sent {
        *server = None;
        // The front-end resets the client: closing here must be silent.
        let _ = repair::silence(&fd);
        return Err(Failed {
            step: "hand-over",
            err,
        });
    }
    Ok(())
}
