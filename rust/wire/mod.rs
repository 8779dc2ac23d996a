// SPDX-License-Identifier: GPL-2.0

//! The blob: one live TCP connection, captured top-down into bytes.
//!
//! Pure `core` code shared byte for byte by the module (`mod wire`), the
//! CLI and the host tests (the `tcpmig-wire` crate, `lib.rs`). The byte
//! layout is in `Documentation/tcpmig/blob.rst`. Decoding never panics
//! and never trusts a length.

mod crc32c;
mod error;
pub mod frame;
mod section;

pub use error::Error;
pub use section::{
    check_served, opt, Addr, FlowMapping, IpState, TcpState, MAX_QUEUE, MAX_WSCALE, MSS_MAX,
    MSS_MIN, RTO_MAX_US, RTO_MIN_US, TCP_CLOSE_WAIT, TCP_ESTABLISHED,
};

use crc32c::Crc32c;
use section::{Reader, Writer};

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"TMIG";
/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 24;
/// Length of a section header (type, flags, length).
pub const SECTION_HEADER_LEN: usize = 8;
/// The largest blob accepted: 64 MiB, far above any socket buffer.
pub const MAX_BLOB_LEN: usize = 64 << 20;

const CHECKSUM_OFFSET: usize = 16;

/// Section types. Sections follow the header in this (top-down) order.
pub mod kind {
    /// TCP state (required).
    pub const TCP: u16 = 1;
    /// IP state (required).
    pub const IP: u16 = 2;
    /// Flow-id mapping (optional).
    pub const FLOW: u16 = 3;
    /// Received bytes the application has not read.
    pub const RECV_DATA: u16 = 4;
    /// Bytes from `snd_una` on: unacknowledged, then not yet sent.
    pub const SEND_DATA: u16 = 5;
    /// Reserved for an authentication tag: parsed, never produced (the
    /// migrator authenticates frames, not blobs; see blob.rst).
    pub const AUTH: u16 = 0x100;
}

/// Section flag: a reader that does not know the section must refuse the
/// blob rather than skip it.
pub const SECTION_REQUIRED: u16 = 1;

/// One TCP connection as a blob carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection<'a> {
    pub tcp: TcpState,
    pub ip: IpState,
    pub flow: Option<FlowMapping>,
    /// Received bytes not yet read: `rcv_nxt - copied_seq`, less one in
    /// CLOSE_WAIT, where the peer's FIN took a sequence number.
    pub recv_data: &'a [u8],
    /// `write_seq - snd_una` bytes: the first `snd_nxt - snd_una` were
    /// sent and await an ack, the rest were never sent.
    pub send_data: &'a [u8],
}

fn section_len(body: usize) -> usize {
    SECTION_HEADER_LEN + body
}

impl Connection<'_> {
    /// The exact length of the encoded blob.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + section_len(TcpState::LEN)
            + section_len(IpState::LEN)
            + self.flow.map_or(0, |_| section_len(FlowMapping::LEN))
            + section_len(self.recv_data.len())
            + section_len(self.send_data.len())
    }

    /// Checks the connection is one a blob may carry (what `decode`
    /// checks after parsing).
    pub fn validate(&self) -> Result<(), Error> {
        self.tcp.validate()?;
        self.ip.validate()?;
        if let Some(flow) = &self.flow {
            flow.validate()?;
        }
        let recv = self.tcp.unread_len() as usize;
        if recv != self.recv_data.len() {
            return Err(Error::RecvDataMismatch {
                expected: recv,
                actual: self.recv_data.len(),
            });
        }
        let send = self.tcp.write_seq.wrapping_sub(self.tcp.snd_una) as usize;
        if send != self.send_data.len() {
            return Err(Error::SendDataMismatch {
                expected: send,
                actual: self.send_data.len(),
            });
        }
        Ok(())
    }

    /// Writes the blob into `out`, which must be exactly
    /// [`encoded_len`](Self::encoded_len) bytes long.
    pub fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        self.validate()?;
        let len = self.encoded_len();
        if len > MAX_BLOB_LEN {
            return Err(Error::TooLarge(len));
        }
        if out.len() != len {
            return Err(Error::LengthMismatch {
                header: len,
                actual: out.len(),
            });
        }
        let mut w = Writer::new(out);
        w.bytes(&MAGIC);
        w.u16(VERSION);
        w.u16(HEADER_LEN as u16);
        w.u32(len as u32);
        w.u32(0); // flags
        w.u32(0); // checksum, filled below
        w.u32(0); // reserved
        w.section(kind::TCP, SECTION_REQUIRED, TcpState::LEN, |w| {
            self.tcp.write(w)
        });
        w.section(kind::IP, SECTION_REQUIRED, IpState::LEN, |w| {
            self.ip.write(w)
        });
        if let Some(flow) = &self.flow {
            w.section(kind::FLOW, 0, FlowMapping::LEN, |w| flow.write(w));
        }
        w.section(
            kind::RECV_DATA,
            SECTION_REQUIRED,
            self.recv_data.len(),
            |w| w.bytes(self.recv_data),
        );
        w.section(
            kind::SEND_DATA,
            SECTION_REQUIRED,
            self.send_data.len(),
            |w| w.bytes(self.send_data),
        );
        if !w.is_exact() {
            return Err(Error::Internal);
        }
        let sum = checksum(out);
        out[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4].copy_from_slice(&sum.to_le_bytes());
        Ok(())
    }
}

/// CRC32C over the blob with its checksum field taken as zero.
fn checksum(blob: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(&blob[..CHECKSUM_OFFSET]);
    crc.update(&[0; 4]);
    crc.update(&blob[CHECKSUM_OFFSET + 4..]);
    crc.finish()
}

/// Parses and checks a blob; the data sections borrow from `blob`.
pub fn decode(blob: &[u8]) -> Result<Connection<'_>, Error> {
    let mut r = Reader::new(blob);
    let magic = r.array::<4>().ok_or(Error::Truncated)?;
    if magic != MAGIC {
        return Err(Error::BadMagic(magic));
    }
    let version = r.u16().ok_or(Error::Truncated)?;
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let header_len = usize::from(r.u16().ok_or(Error::Truncated)?);
    if header_len < HEADER_LEN {
        return Err(Error::BadHeaderLength(header_len));
    }
    let total = r.u32().ok_or(Error::Truncated)? as usize;
    if total > MAX_BLOB_LEN {
        return Err(Error::TooLarge(total));
    }
    if total != blob.len() {
        return Err(Error::LengthMismatch {
            header: total,
            actual: blob.len(),
        });
    }
    if header_len > total {
        return Err(Error::BadHeaderLength(header_len));
    }
    let _flags = r.u32().ok_or(Error::Truncated)?;
    let stored = r.u32().ok_or(Error::Truncated)?;
    let computed = checksum(blob);
    if stored != computed {
        return Err(Error::BadChecksum { stored, computed });
    }

    let mut r = Reader::new(&blob[header_len..]);
    let (mut tcp, mut ip, mut flow, mut recv, mut send) = (None, None, None, None, None);
    let mut seen_auth = false;
    while !r.is_empty() {
        let ty = r.u16().ok_or(Error::SectionTruncated)?;
        let flags = r.u16().ok_or(Error::SectionTruncated)?;
        let len = r.u32().ok_or(Error::SectionTruncated)? as usize;
        let body = r.take(len).ok_or(Error::SectionTruncated)?;
        let duplicate = match ty {
            kind::TCP => tcp.replace(TcpState::read(body)?).is_some(),
            kind::IP => ip.replace(IpState::read(body)?).is_some(),
            kind::FLOW => flow.replace(FlowMapping::read(body)?).is_some(),
            kind::RECV_DATA => recv.replace(body).is_some(),
            kind::SEND_DATA => send.replace(body).is_some(),
            kind::AUTH => core::mem::replace(&mut seen_auth, true),
            _ if flags & SECTION_REQUIRED != 0 => return Err(Error::UnknownRequiredSection(ty)),
            _ => false,
        };
        if duplicate {
            return Err(Error::DuplicateSection(ty));
        }
    }
    let conn = Connection {
        tcp: tcp.ok_or(Error::MissingSection(kind::TCP))?,
        ip: ip.ok_or(Error::MissingSection(kind::IP))?,
        flow,
        recv_data: recv.unwrap_or(&[]),
        send_data: send.unwrap_or(&[]),
    };
    conn.validate()?;
    Ok(conn)
}

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
