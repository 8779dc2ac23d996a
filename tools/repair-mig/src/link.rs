//! The front-end's one TCP connection to the target, shared by every
//! connection it moves: records go out one whole frame at a time (a
//! mutex around the writer), a reader thread hands each ack to the
//! thread waiting for its id. A broken connection fails what waits on it
//! and is made again for the next record.

use crate::record::{self, Ack, Record};
use crate::repair::Conn;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// How long a record may wait for its ack.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// A thread waiting for an ack, and which connection its record went on.
struct Waiter {
    generation: u64,
    tx: Sender<i32>,
}

pub struct Link {
    target: SocketAddr,
    next_id: AtomicU64,
    /// The current connection and its generation (counts connections).
    writer: Mutex<(u64, Option<TcpStream>)>,
    waiting: Mutex<HashMap<u64, Waiter>>,
}

/// A record sent, its ack not yet received.
pub struct Pending<'a> {
    link: &'a Link,
    id: u64,
    rx: Receiver<i32>,
}

/// Locks, and goes on after a thread panicked holding the lock: every
/// critical section here leaves its data consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    pub fn new(target: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            target,
            next_id: AtomicU64::new(1),
            writer: Mutex::new((0, None)),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    /// Connects now rather than at the first record, so that the first
    /// move does not pay for the handshake; a failure is only logged
    /// (the first record tries again).
    pub fn warm_up(self: &Arc<Self>) {
        let mut writer = lock(&self.writer);
        if let Err(e) = self.connect(&mut writer) {
            eprintln!("repair-mig front: link to {}: {e}", self.target);
        }
    }

    /// Makes the connection if there is none, and its reader.
    fn connect(self: &Arc<Self>, writer: &mut (u64, Option<TcpStream>)) -> io::Result<()> {
        if writer.1.is_some() {
            return Ok(());
        }
        let stream = TcpStream::connect(self.target)?;
        stream.set_nodelay(true)?;
        let reader = stream.try_clone()?;
        writer.0 += 1;
        let (link, generation) = (Arc::clone(self), writer.0);
        thread::spawn(move || link.read_acks(reader, generation));
        writer.1 = Some(stream);
        Ok(())
    }

    /// Sends `conn` as a record. The ack is registered for before the
    /// record goes, so the reader cannot see it first.
    pub fn send(self: &Arc<Self>, conn: &Conn) -> io::Result<Pending<'_>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Record::frame(id, conn)?;
        let mut writer = lock(&self.writer);
        self.connect(&mut writer)?;
        let generation = writer.0;
        let (tx, rx) = mpsc::channel();
        lock(&self.waiting).insert(id, Waiter { generation, tx });
        let sent = match &mut writer.1 {
            Some(stream) => stream.write_all(&frame),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        if let Err(e) = sent {
            lock(&self.waiting).remove(&id);
            if let Some(stream) = writer.1.take() {
                // Wakes the reader, which fails the others waiting.
                let _ = stream.shutdown(Shutdown::Both);
            }
            return Err(e);
        }
        Ok(Pending { link: self, id, rx })
    }

    /// The reader of connection `generation`: dispatches acks until the
    /// connection ends, then fails whatever still waits on it.
    fn read_acks(&self, mut stream: TcpStream, generation: u64) {
        let end = loop {
            let body = match record::read_frame(&mut stream) {
                Ok(Some(body)) => body,
                Ok(None) => break io::Error::from_raw_os_error(libc::ECONNRESET),
                Err(e) => break e,
            };
            let ack = match Ack::decode(&body) {
                Ok(ack) => ack,
                Err(m) => break m.into(),
            };
            if let Some(w) = lock(&self.waiting).remove(&ack.id) {
                let _ = w.tx.send(ack.status);
            }
        };
        eprintln!("repair-mig front: link to {}: {end}", self.target);
        let _ = stream.shutdown(Shutdown::Both);
        {
            let mut writer = lock(&self.writer);
            if writer.0 == generation {
                writer.1 = None;
            }
        }
        // New records register under the new generation: only ours go.
        let mut waiting = lock(&self.waiting);
        waiting.retain(|_, w| {
            if w.generation == generation {
                let _ = w.tx.send(libc::ECONNRESET);
            }
            w.generation != generation
        });
    }
}

impl Pending<'_> {
    /// The ack's status: 0, or an errno (ETIMEDOUT when none came).
    pub fn wait(self) -> i32 {
        match self.rx.recv_timeout(ACK_TIMEOUT) {
            Ok(status) => status,
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.link.waiting).remove(&self.id);
                libc::ETIMEDOUT
            }
            Err(RecvTimeoutError::Disconnected) => libc::ECONNRESET,
        }
    }
}
