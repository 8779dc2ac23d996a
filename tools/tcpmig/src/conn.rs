//! `tcpmig conn capture|inject`: move a live connection as a blob.

use crate::error::Error;
use crate::genl::{find, Client};
use crate::uapi::{Cmd, ConnAttr};
use std::io::{IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr};

fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
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
    let attrs = client.request(
        Cmd::ConnCapture,
        &[
            (ConnAttr::LocalAddr, addr_bytes(local.ip())),
            (ConnAttr::LocalPort, local.port().to_be_bytes().to_vec()),
            (ConnAttr::RemoteAddr, addr_bytes(remote.ip())),
            (ConnAttr::RemotePort, remote.port().to_be_bytes().to_vec()),
        ],
    )?;
    let blob = find(&attrs, ConnAttr::Blob).ok_or(Error::BadReply("no blob"))?;
    // The kernel has frozen the connection: the blob is all there is now.
    stdout
        .write_all(blob)
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Error::Other(format!(
                "conn capture: cannot write the blob ({e}); the connection is lost"
            ))
        })
}

/// Injects the blob read from stdin into this namespace's listener.
pub fn inject(client: &Client) -> Result<(), Error> {
    let mut blob = Vec::new();
    std::io::stdin()
        .read_to_end(&mut blob)
        .map_err(|e| Error::Other(format!("conn inject: cannot read the blob from stdin: {e}")))?;
    // Refuse what the kernel would, with the same words, before asking it.
    tcpmig_wire::decode(&blob)
        .map_err(|e| Error::Other(format!("conn inject: invalid blob: {e}")))?;
    client
        .request(Cmd::ConnInject, &[(ConnAttr::Blob, blob)])
        .map(|_| ())
}
