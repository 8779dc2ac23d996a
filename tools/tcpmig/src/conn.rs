//! `tcpmig conn capture|inject`: move a live connection as a blob.

use crate::error::Error;
use crate::genl::{find, Client};
use crate::uapi::{Cmd, ConnAttr};
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd};

fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// A memfd: the kernel reads a blob from it or writes one into it, so
/// blobs of any size pass (a netlink attribute holds 64 KiB, a request
/// the socket's send buffer).
fn memfd() -> Result<File, Error> {
    // SAFETY: A plain system call with a static name; the descriptor it
    // returns is ours alone.
    let fd = unsafe { libc::memfd_create(c"tcpmig-blob".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::Other(format!(
            "cannot create a memfd for the blob: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn fd_attr(file: &File) -> (ConnAttr, Vec<u8>) {
    let fd = u32::try_from(file.as_raw_fd()).unwrap_or(u32::MAX);
    (ConnAttr::BlobFd, fd.to_ne_bytes().to_vec())
}

/// Captures the connection LOCAL <-> REMOTE of this namespace and writes
/// its blob to stdout. The connection is frozen here once this succeeds.
pub fn capture(client: &Client, local: SocketAddr, remote: SocketAddr) -> Result<(), Error> {
    if local.is_ipv4() != remote.is_ipv4() {
        return Err(Error::Other(
            "conn capture: LOCAL and REMOTE must be of one address family".into(),
        ));
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        return Err(Error::Other(
            "conn capture: the blob is binary; redirect stdout to a file".into(),
        ));
    }
    let mut file = memfd()?;
    let attrs = client.request(
        Cmd::ConnCapture,
        &[
            (ConnAttr::LocalAddr, addr_bytes(local.ip())),
            (ConnAttr::LocalPort, local.port().to_be_bytes().to_vec()),
            (ConnAttr::RemoteAddr, addr_bytes(remote.ip())),
            (ConnAttr::RemotePort, remote.port().to_be_bytes().to_vec()),
            fd_attr(&file),
        ],
    )?;
    let len = find(&attrs, ConnAttr::BlobLen)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or(Error::BadReply("no blob length"))?;
    // The kernel has frozen the connection: the blob is all there is now.
    let mut blob = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.take(u64::from(len)).read_to_end(&mut blob))
        .and_then(|n| {
            if n == len as usize {
                Ok(())
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            }
        })
        .and_then(|()| stdout.write_all(&blob))
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Error::Other(format!(
                "conn capture: cannot write the blob ({e}); the connection is lost"
            ))
        })
}

/// Injects the blob read from stdin into this namespace's listener,
/// checking it first unless `check` is off.
pub fn inject(client: &Client, check: bool) -> Result<(), Error> {
    let mut blob = Vec::new();
    std::io::stdin()
        .read_to_end(&mut blob)
        .map_err(|e| Error::Other(format!("conn inject: cannot read the blob from stdin: {e}")))?;
    // Refuse what the kernel would, with the same words, before asking it;
    // `--no-check` lets the kernel's own checks be tested.
    if check {
        tcpmig_wire::decode(&blob)
            .map_err(|e| Error::Other(format!("conn inject: invalid blob: {e}")))?;
    }
    let mut file = memfd()?;
    file.write_all(&blob)
        .map_err(|e| Error::Other(format!("conn inject: cannot stage the blob: {e}")))?;
    client
        .request(Cmd::ConnInject, &[fd_attr(&file)])
        .map(|_| ())
}
