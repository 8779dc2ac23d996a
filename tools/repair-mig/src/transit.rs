//! Keeping a client's segments away from the front-end while its
//! connection is in transit. A frozen socket still takes in and acks
//! what the client sends, and once it is closed the listener answers
//! the flow's segments with a RST; both would break the move. So:
//!
//! - `seal` gives the connection's socket a filter that drops every
//!   arriving segment before TCP sees it: nothing more is queued or
//!   acked, the dump that follows is exact, and the client, without
//!   acks, sends again later (on its retransmit timer);
//! - `Transit::hold` adds the client's port to a filter on the listener
//!   that drops that flow's segments after the close, until the flow
//!   has its new home (the rule, or on one host the rebuilt socket,
//!   which the kernel finds before the listener); the returned `Held`
//!   takes the port out when dropped.
//!
//! CRIU does the same with netfilter; socket filters need nothing but
//! the sockets. The listener's filter matches on the client's port only
//! (a classic BPF program on a TCP socket sees the TCP header at offset
//! 0): another client with the same port is held back a moment too.

use crate::sys;
use std::io;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};

// include/uapi/linux/filter.h opcodes.
const LDH_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// The most ports the listener's program can name: two instructions
/// each, two more, within `BPF_MAXINSNS`.
const MAX_HELD: usize = (libc::BPF_MAXINSNS as usize - 2) / 2;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Drops every segment: a verdict of 0 bytes.
const fn drop_all() -> libc::sock_filter {
    libc::sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: 0,
    }
}

/// Seals a connection's socket: it takes in no more segments.
pub fn seal(fd: &impl AsRawFd) -> io::Result<()> {
    sys::attach_filter(fd, &[drop_all()])
}

/// The listener's program: drop a segment whose source port is one of
/// `ports`, keep the rest.
fn program(ports: &[u16]) -> Vec<libc::sock_filter> {
    let mut prog = vec![insn(LDH_ABS, 0, 0, 0)];
    for &port in ports {
        // Equal: fall through to the drop; else jump over it.
        prog.push(insn(JEQ_K, 0, 1, u32::from(port)));
        prog.push(drop_all());
    }
    prog.push(insn(RET_K, 0, 0, u32::MAX));
    prog
}

/// The front-end's listener and the ports it holds back.
pub struct Transit {
    listener: Arc<TcpListener>,
    ports: Mutex<Vec<u16>>,
}

/// A port held back; dropping it lets the port through again.
pub struct Held<'a> {
    transit: &'a Transit,
    port: u16,
}

impl Transit {
    pub fn new(listener: Arc<TcpListener>) -> Self {
        Self {
            listener,
            ports: Mutex::new(Vec::new()),
        }
    }

    /// Holds back the segments from client port `port`.
    pub fn hold(&self, port: u16) -> io::Result<Held<'_>> {
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        if ports.len() >= MAX_HELD {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        ports.push(port);
        if let Err(e) = sys::attach_filter(&*self.listener, &program(&ports)) {
            ports.pop();
            return Err(e);
        }
        Ok(Held {
            transit: self,
            port,
        })
    }

    fn release(&self, port: u16) -> io::Result<()> {
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = ports.iter().position(|&p| p == port) {
            ports.swap_remove(i);
        }
        if ports.is_empty() {
            sys::detach_filter(&*self.listener)
        } else {
            sys::attach_filter(&*self.listener, &program(&ports))
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.transit.release(self.port) {
            eprintln!("repair-mig front: release port {}: {e}", self.port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_program() {
        let p = program(&[40000, 7]);
        let codes: Vec<(u16, u8, u8, u32)> = p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
        assert_eq!(
            codes,
            [
                (0x28, 0, 0, 0),
                (0x15, 0, 1, 40000),
                (0x06, 0, 0, 0),
                (0x15, 0, 1, 7),
                (0x06, 0, 0, 0),
                (0x06, 0, 0, u32::MAX),
            ]
        );
        assert_eq!(
            program(&vec![1; MAX_HELD]).len(),
            libc::BPF_MAXINSNS as usize
        );
    }

    /// Waits up to `ms` for a connect in progress to finish.
    fn connected(fd: &impl AsRawFd, ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd.
        let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        n == 1 && sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_ERROR).unwrap() == 0
    }

    /// The kernel takes the programs; a held port's SYN is dropped, and
    /// its retransmission gets through once the port is released.
    #[test]
    fn a_held_port_is_kept_out() {
        crate::sys::private_netns();
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let to = listener.local_addr().unwrap();
        let transit = Transit::new(Arc::clone(&listener));
        let fd = sys::tcp_socket(&to).unwrap();
        sys::bind(&fd, &"127.0.0.1:0".parse().unwrap()).unwrap();
        let port = sys::local_addr(&fd).unwrap().port();
        let held = transit.hold(port).unwrap();
        let other = transit.hold(port.wrapping_add(1)).unwrap();
        // SAFETY: A plain fcntl on our own socket.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let err = sys::connect(&fd, &to).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINPROGRESS));
        assert!(!connected(&fd, 300), "a held SYN got through");
        drop(held);
        assert!(connected(&fd, 3000), "the released port stayed out");
        drop(other);
        seal(&fd).unwrap();
    }
}
