// SPDX-License-Identifier: GPL-2.0

//! A kernel listener and the connections it took, served each by a work
//! item of its own, and stoppable: the migrator's listener and every
//! service's run on one.
//!
//! Stopping marks the set, ends every connection in it (a migrator's
//! are shut down, a service's undecided ones reset) and shuts the
//! listener down, which wakes its accept; the owner's work queue then
//! waits for the work items.

use crate::sys::socket::KernelSocket;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::time::{delay::fsleep, Delta};

/// Whether a connection joined the set.
pub(crate) enum Admitted {
    Yes,
    /// The set is at its bound (or memory is short).
    Full,
    /// The acceptor is stopping.
    Stopping,
}

/// What [`Acceptor::leave`] found.
pub(crate) struct Left {
    /// The connection was in the set (it left just now).
    pub(crate) was_in: bool,
    /// The acceptor is stopping (and ended the connection if it was in).
    pub(crate) stopping: bool,
}

/// The connections being served, and whether the acceptor is stopping.
struct Conns {
    stopping: bool,
    list: KVec<Arc<KernelSocket>>,
}

/// A listening kernel socket and the connections it took.
#[pin_data]
pub(crate) struct Acceptor {
    listener: KernelSocket,
    #[pin]
    conns: Mutex<Conns>,
}

impl Acceptor {
    /// An acceptor on `listener`, which listens already.
    pub(crate) fn new(listener: KernelSocket) -> impl PinInit<Self> {
        pin_init!(Self {
            listener,
            conns <- new_mutex!(Conns {
                stopping: false,
                list: KVec::new(),
            }),
        })
    }

    pub(crate) fn listener(&self) -> &KernelSocket {
        &self.listener
    }

    /// The next connection; `None` once the acceptor is stopping.
    pub(crate) fn accept(&self) -> Option<KernelSocket> {
        loop {
            match self.listener.accept_wait() {
                Ok(sock) => return Some(sock),
                Err(_) if self.stopping() => return None,
                // Out of memory, or an aborted handshake: not for long.
                Err(_) => fsleep(Delta::from_millis(100)),
            }
        }
    }

    /// Adds `sock` to the set, if it holds fewer than `max`.
    pub(crate) fn admit(&self, sock: &Arc<KernelSocket>, max: usize) -> Admitted {
        let mut conns = self.conns.lock();
        if conns.stopping {
            Admitted::Stopping
        } else if conns.list.len() >= max || conns.list.push(sock.clone(), GFP_KERNEL).is_err() {
            Admitted::Full
        } else {
            Admitted::Yes
        }
    }

    /// Takes `sock` out of the set: from now on the stop does not touch
    /// it.
    pub(crate) fn leave(&self, sock: &Arc<KernelSocket>) -> Left {
        let mut conns = self.conns.lock();
        let position = conns.list.iter().position(|s| Arc::ptr_eq(s, sock));
        if let Some(i) = position {
            let _ = conns.list.remove(i);
        }
        Left {
            was_in: position.is_some(),
            stopping: conns.stopping,
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.conns.lock().stopping
    }

    /// Connections in the set now.
    pub(crate) fn len(&self) -> usize {
        self.conns.lock().list.len()
    }

    /// Marks the acceptor stopping, ends every connection in the set with
    /// `end`, and wakes the accept.
    pub(crate) fn stop(&self, end: impl Fn(&KernelSocket)) {
        let mut conns = self.conns.lock();
        conns.stopping = true;
        for sock in conns.list.iter() {
            end(sock);
        }
        drop(conns);
        self.listener.shutdown();
    }
}
