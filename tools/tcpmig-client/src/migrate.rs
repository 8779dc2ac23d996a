//! `CONN_MIGRATE`: have the kernel move a connection of this namespace to
//! a peer, named by the caller's socket (`fd`) or by its 4-tuple.

use crate::error::Error;
use crate::genl::{find, Attrs, Client};
use crate::uapi::{addr_bytes, Cmd, ConnAttr, OnFailure, PEER_NAME_MAX, TIMEOUT_MS_MAX};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// How a migration is done; `None` fields take the kernel's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// How long to wait for the peer's answer, in ms (1-60000; the
    /// kernel's default is 2000).
    pub timeout_ms: Option<u32>,
    /// What becomes of the connection if the migration fails (the
    /// kernel's default is [`OnFailure::Local`]).
    pub on_failure: Option<OnFailure>,
}

/// What the kernel reports of a migration that succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// High half the front-end's flow number, low half the back-end's
    /// flow port.
    pub flow_id: u32,
    /// How long the capture took (socket locked to blob encoded).
    pub capture_ns: u64,
    /// How long the blob took to reach the peer and be acknowledged.
    pub transfer_ns: u64,
    /// Of `transfer_ns`, the peer's own time: checking the blob and
    /// injecting the connection.
    pub inject_ns: u64,
}

impl Migrated {
    pub(crate) fn parse(attrs: &Attrs) -> Result<Self, Error> {
        Ok(Self {
            flow_id: find(attrs, ConnAttr::FlowId)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .ok_or(Error::BadReply("no flow id"))?,
            capture_ns: find(attrs, ConnAttr::CaptureNs)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
                .ok_or(Error::BadReply("no capture time"))?,
            transfer_ns: find(attrs, ConnAttr::TransferNs)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
                .ok_or(Error::BadReply("no transfer time"))?,
            inject_ns: find(attrs, ConnAttr::InjectNs)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
                .ok_or(Error::BadReply("no injection time"))?,
        })
    }
}

/// The 4-tuple attributes of the connection LOCAL <-> REMOTE (for
/// `migrate` and the CLI's `conn capture`); `verb`
/// names the command in the error.
pub fn tuple(
    verb: &str,
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<Vec<(ConnAttr, Vec<u8>)>, Error> {
    if local.is_ipv4() != remote.is_ipv4() {
        return Err(Error::Other(format!(
            "{verb}: LOCAL and REMOTE must be of one address family"
        )));
    }
    Ok(vec![
        (ConnAttr::LocalAddr, addr_bytes(local.ip())),
        (ConnAttr::LocalPort, local.port().to_be_bytes().to_vec()),
        (ConnAttr::RemoteAddr, addr_bytes(remote.ip())),
        (ConnAttr::RemotePort, remote.port().to_be_bytes().to_vec()),
    ])
}

/// The peer and options attributes, checked as the kernel's policy
/// would: refused here with the same limits, before anything is locked.
fn options(peer: &str, opts: &MigrateOptions) -> Result<Vec<(ConnAttr, Vec<u8>)>, Error> {
    if peer.is_empty() || peer.len() > PEER_NAME_MAX || peer.contains('\0') {
        return Err(Error::Other(format!(
            "migrate: peer name {peer:?}: 1-{PEER_NAME_MAX} bytes, no NUL"
        )));
    }
    let mut attrs = vec![(ConnAttr::Peer, [peer.as_bytes(), b"\0"].concat())];
    if let Some(ms) = opts.timeout_ms {
        if !(1..=TIMEOUT_MS_MAX).contains(&ms) {
            return Err(Error::Other(format!(
                "migrate: timeout {ms} ms: 1-{TIMEOUT_MS_MAX}"
            )));
        }
        attrs.push((ConnAttr::TimeoutMs, ms.to_ne_bytes().to_vec()));
    }
    if let Some(policy) = opts.on_failure {
        attrs.push((ConnAttr::OnFailure, vec![policy as u8]));
    }
    Ok(attrs)
}

impl Client {
    /// Migrates the connection of `fd`, a connected TCP socket of this
    /// process, to `peer`.
    ///
    /// Blocks until the peer answers or the timeout passes. On success
    /// the socket is frozen: drop it (closing it sends nothing). On
    /// failure it was rolled back and goes on here, unless
    /// `opts.on_failure` said [`OnFailure::Reset`].
    pub fn migrate_fd(
        &self,
        fd: BorrowedFd<'_>,
        peer: &str,
        opts: &MigrateOptions,
    ) -> Result<Migrated, Error> {
        let fd = u32::try_from(fd.as_raw_fd())
            .map_err(|_| Error::Other("migrate: a negative descriptor".into()))?;
        let mut attrs = vec![(ConnAttr::Fd, fd.to_ne_bytes().to_vec())];
        attrs.extend(options(peer, opts)?);
        Migrated::parse(&self.request(Cmd::ConnMigrate, &attrs)?)
    }

    /// Migrates the connection LOCAL <-> REMOTE of this network
    /// namespace (anyone's socket) to `peer`; otherwise as
    /// [`migrate_fd`](Self::migrate_fd).
    pub fn migrate(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        peer: &str,
        opts: &MigrateOptions,
    ) -> Result<Migrated, Error> {
        let mut attrs = tuple("migrate", local, remote)?;
        attrs.extend(options(peer, opts)?);
        Migrated::parse(&self.request(Cmd::ConnMigrate, &attrs)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples() {
        let v4: SocketAddr = "192.0.2.50:7000".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:40000".parse().unwrap();
        let e = tuple("migrate", v4, v6).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("migrate: LOCAL and REMOTE must be of one address family")
        );
        let attrs = tuple("migrate", v6, v6).unwrap_or_else(|e| panic!("{e}"));
        // Ports go big-endian in the `conn` set.
        assert_eq!(attrs[1], (ConnAttr::LocalPort, vec![0x9c, 0x40]));
        assert_eq!(attrs[0].1.len(), 16);
    }

    #[test]
    fn options_as_the_policy_wants() {
        let opts = MigrateOptions {
            timeout_ms: Some(500),
            on_failure: Some(OnFailure::Reset),
        };
        let attrs = options("be1", &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            attrs,
            vec![
                (ConnAttr::Peer, b"be1\0".to_vec()),
                (ConnAttr::TimeoutMs, 500u32.to_ne_bytes().to_vec()),
                (ConnAttr::OnFailure, vec![1]),
            ]
        );
        let defaults = options("be1", &MigrateOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.len(), 1);
        assert!(options("", &opts).is_err());
        assert!(options("ABCDEFGHIJKLMNOP", &opts).is_err());
        let zero = MigrateOptions {
            timeout_ms: Some(0),
            on_failure: None,
        };
        assert!(options("be1", &zero).is_err());
    }

    #[test]
    fn migration_reply() {
        let u32_attr = |a: ConnAttr, v: u32| (u16::from(a), v.to_ne_bytes().to_vec());
        let u64_attr = |a: ConnAttr, v: u64| (u16::from(a), v.to_ne_bytes().to_vec());
        let attrs = vec![
            u32_attr(ConnAttr::FlowId, 0x0001_1282),
            (3, Vec::new()),
            u64_attr(ConnAttr::CaptureNs, 1_234_567),
            u64_attr(ConnAttr::TransferNs, 45_000),
            u64_attr(ConnAttr::InjectNs, 12_000),
        ];
        let m = Migrated::parse(&attrs).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m,
            Migrated {
                flow_id: 0x0001_1282,
                capture_ns: 1_234_567,
                transfer_ns: 45_000,
                inject_ns: 12_000,
            }
        );
        let e = Migrated::parse(&attrs[..3].to_vec())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("malformed reply from the kernel: no transfer time")
        );
    }

    #[test]
    fn errors_say_the_kernel_message() {
        let e = Error::Kernel {
            errno: libc::EHOSTUNREACH,
            message: Some("peer be2: no listener".into()),
        };
        assert!(e.to_string().ends_with(": peer be2: no listener"), "{e}");
        assert_eq!(e.errno(), Some(libc::EHOSTUNREACH));
        assert_eq!(e.kernel_message(), Some("peer be2: no listener"));
    }
}
