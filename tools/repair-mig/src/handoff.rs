//! The hand-over of a rebuilt socket from `repair-mig target` to the
//! local server, over a unix stream socket: one message per socket, two
//! bytes of header (the client's port, big-endian) carrying the
//! descriptor as `SCM_RIGHTS`.

use crate::sys;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Room for one control message of one descriptor, aligned for
/// `cmsghdr` (`CMSG_SPACE(sizeof(int))` is 24 bytes on 64-bit).
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Sends `fd` with its client's port.
pub fn send_fd(sock: &UnixStream, port: u16, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut head = port.to_be_bytes();
    let mut iov = libc::iovec {
        iov_base: head.as_mut_ptr().cast(),
        iov_len: head.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: A pure computation on a constant.
    let space = unsafe { libc::CMSG_SPACE(mem::size_of::<i32>() as u32) } as usize;
    // SAFETY: All-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: `msg` points at `cbuf`, which holds `space` bytes, so the
    // first header is there and its data has room for one `int`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<i32>() as u32) as usize;
        libc::CMSG_DATA(cmsg)
            .cast::<i32>()
            .write_unaligned(fd.as_raw_fd());
    }
    // SAFETY: `msg` and everything it points to live across the call.
    let sent = sys::cvt_len(unsafe {
        libc::sendmsg(sock.as_raw_fd(), &raw const msg, libc::MSG_NOSIGNAL)
    })?;
    if sent != head.len() {
        // Two bytes into an empty-enough stream socket go whole; anything
        // else leaves the stream out of step.
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    Ok(())
}

/// Receives one socket and its client's port; `None` when the sender
/// closed the stream.
pub fn recv_fd(sock: &UnixStream) -> io::Result<Option<(u16, OwnedFd)>> {
    let mut head = [0u8; 2];
    let mut iov = libc::iovec {
        iov_base: head.as_mut_ptr().cast(),
        iov_len: head.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: All-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len();
    // SAFETY: `msg` and everything it points to live across the call.
    let got = sys::cvt_len(unsafe {
        libc::recvmsg(sock.as_raw_fd(), &raw mut msg, libc::MSG_CMSG_CLOEXEC)
    })?;
    if got == 0 {
        return Ok(None);
    }
    let fd = take_fd(&msg)?;
    if got == 1 {
        // The unix socket stops a read at the message with descriptors,
        // so only a split header comes short: read its second byte.
        let mut rest = [0u8; 1];
        if sys::recv(sock, &mut rest, 0)? != 1 {
            return Err(io::Error::from_raw_os_error(libc::EPROTO));
        }
        head[1] = rest[0];
    }
    let fd = fd.ok_or_else(|| io::Error::from_raw_os_error(libc::EPROTO))?;
    Ok(Some((u16::from_be_bytes(head), fd)))
}

/// The descriptor in a received message's control data, owned; an
/// error when control data was cut (a descriptor may have been lost).
fn take_fd(msg: &libc::msghdr) -> io::Result<Option<OwnedFd>> {
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    let mut found = None;
    // SAFETY: `msg` was filled by recvmsg: the CMSG_ macros walk only the
    // `msg_controllen` bytes the kernel wrote.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is a header inside the control data (see above).
        let (level, kind, len) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: A pure computation on a constant.
            let head = unsafe { libc::CMSG_LEN(0) } as usize;
            let n = len.saturating_sub(head) / mem::size_of::<i32>();
            for i in 0..n {
                // SAFETY: The kernel wrote `n` descriptors after the header.
                let raw = unsafe { libc::CMSG_DATA(cmsg).cast::<i32>().add(i).read_unaligned() };
                // SAFETY: SCM_RIGHTS installed `raw` in this process for us.
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                // One per message is the protocol: any extra is closed.
                found.get_or_insert(fd);
            }
        }
        // SAFETY: As for CMSG_FIRSTHDR.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_descriptor_and_its_port_cross() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut x, y) = UnixStream::pair().unwrap();
        let y = OwnedFd::from(y);
        send_fd(&a, 40001, y.as_fd()).unwrap();
        send_fd(&a, 2, y.as_fd()).unwrap();
        drop(y);
        let (port, got) = recv_fd(&b).unwrap().unwrap();
        assert_eq!(port, 40001);
        let mut got = UnixStream::from(got);
        x.write_all(b"hi").unwrap();
        let mut buf = [0; 2];
        got.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        assert_eq!(recv_fd(&b).unwrap().unwrap().0, 2);
        drop(a);
        assert!(recv_fd(&b).unwrap().is_none());
    }
}
