//! How `serve --unix` takes connected sockets from the baseline's
//! `repair-mig target`: over a unix stream socket, each socket as
//! `SCM_RIGHTS` on a message of a few bytes. The bytes are not read for
//! meaning (repair-mig sends the client's port; `getpeername` says the
//! same), so any sender that sends at least one byte with each
//! descriptor is understood.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// The most descriptors taken from one message; a sender sends one.
const MAX_FDS: usize = 8;

/// Room for the control message of `MAX_FDS` descriptors, aligned for
/// `cmsghdr` (`CMSG_SPACE(8 * sizeof(int))` is 48 bytes on 64-bit).
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Receives the next descriptors; an empty list for bytes that came
/// without one (the rest of a message read in two), `None` at EOF.
pub fn recv_fds(sock: &UnixStream) -> io::Result<Option<Vec<OwnedFd>>> {
    let mut bytes = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: All-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len();
    let got = loop {
        // SAFETY: `msg` and the buffers it points to live across the call.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &raw mut msg, libc::MSG_CMSG_CLOEXEC) };
        match usize::try_from(r) {
            Ok(got) => break got,
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    };
    // Taken first: descriptors that came are ours to close, whatever else.
    let fds = take_fds(&msg);
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {MAX_FDS} descriptors in one message"),
        ));
    }
    if got == 0 && fds.is_empty() {
        return Ok(None);
    }
    Ok(Some(fds))
}

/// The descriptors in a received message's control data, owned.
fn take_fds(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: `msg` was filled by recvmsg: the CMSG_ macros walk only the
    // `msg_controllen` bytes the kernel wrote.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is a header inside the control data (above).
        let (level, kind, len) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: A pure computation on a constant.
            let head = unsafe { libc::CMSG_LEN(0) } as usize;
            let n = len.saturating_sub(head) / mem::size_of::<libc::c_int>();
            for i in 0..n {
                // SAFETY: The kernel wrote `n` descriptors after the header,
                // inside the control buffer.
                let raw = unsafe {
                    libc::CMSG_DATA(cmsg)
                        .cast::<libc::c_int>()
                        .add(i)
                        .read_unaligned()
                };
                // SAFETY: SCM_RIGHTS installed `raw` in this process for
                // us; nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: As for CMSG_FIRSTHDR.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    fds
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::{AsFd, BorrowedFd};

    /// Sends `fd` with `bytes` (at least one), as repair-mig does.
    pub fn send_fd(sock: &UnixStream, bytes: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
        let mut iov = libc::iovec {
            iov_base: bytes.as_ptr().cast_mut().cast(),
            iov_len: bytes.len(),
        };
        let mut cbuf = CmsgBuf([0; 64]);
        // SAFETY: A pure computation on a constant.
        let space = unsafe { libc::CMSG_SPACE(mem::size_of::<libc::c_int>() as u32) } as usize;
        // SAFETY: All-zero is a valid msghdr.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: `msg` points at `cbuf`, which holds `space` bytes: the
        // first header is there, its data has room for one descriptor.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::c_int>() as u32) as usize;
            libc::CMSG_DATA(cmsg)
                .cast::<libc::c_int>()
                .write_unaligned(fd.as_raw_fd());
        }
        // SAFETY: `msg` and everything it points to live across the call;
        // sendmsg only reads through `iov_base`.
        let sent = unsafe { libc::sendmsg(sock.as_raw_fd(), &raw const msg, libc::MSG_NOSIGNAL) };
        if usize::try_from(sent) != Ok(bytes.len()) {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    #[test]
    fn descriptors_cross() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut x, y) = UnixStream::pair().unwrap();
        let y = OwnedFd::from(y);
        send_fd(&a, &40001u16.to_be_bytes(), y.as_fd()).unwrap();
        send_fd(&a, b"x", y.as_fd()).unwrap();
        drop(y);
        // One message, one descriptor, each time: recvmsg on a unix
        // stream stops after the message that carried descriptors.
        let mut got = recv_fds(&b).unwrap().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(recv_fds(&b).unwrap().unwrap().len(), 1);
        let mut got = UnixStream::from(got.remove(0));
        x.write_all(b"hi").unwrap();
        let mut buf = [0; 2];
        got.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        // Bytes without a descriptor, then EOF.
        (&a).write_all(b"stray").unwrap();
        assert_eq!(recv_fds(&b).unwrap().map(|v| v.len()), Some(0));
        drop(a);
        assert!(recv_fds(&b).unwrap().is_none());
    }
}
