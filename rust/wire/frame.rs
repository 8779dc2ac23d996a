// SPDX-License-Identifier: GPL-2.0

//! Frames of the connection migrator: the requests and replies nodes
//! exchange over their kernel TCP connections.
//!
//! A frame is a 24-byte little-endian header, a payload and a 32-byte
//! HMAC-SHA256 tag over header and payload with the cluster key. This
//! file encodes and checks headers and reply payloads; the tag is the
//! caller's (the module computes it with the kernel's SHA-256 library).
//! The byte layout is in `Documentation/tcpmig/migrator.rst`.

use core::fmt;

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"TMCH";
/// The frame format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 24;
/// Length of the tag that ends every frame.
pub const TAG_LEN: usize = 32;
/// The largest payload of a frame other than MIGRATE.
pub const MAX_SMALL_PAYLOAD: usize = 4096;
/// The longest reason a reply carries.
pub const MAX_REASON_LEN: usize = 127;
/// The longest reply payload: status and reason.
pub const MAX_REPLY_LEN: usize = 4 + MAX_REASON_LEN;

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A request carrying a blob: migrate this connection to you.
    Migrate = 1,
    /// The answer to a request, carrying its request id.
    Reply = 2,
    /// A request: a migrated flow ended (sent by the back-end).
    FlowEnd = 3,
    /// The listener's greeting on a connection it admitted: empty, with
    /// request id 0. The client checks its tag before it sends anything,
    /// so a peer that does not admit it, or has another key, is known
    /// before a request could be half-delivered.
    Hello = 4,
}

impl Kind {
    /// The kind with wire value `v`, if known.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Migrate),
            2 => Some(Self::Reply),
            3 => Some(Self::FlowEnd),
            4 => Some(Self::Hello),
            _ => None,
        }
    }

    /// The largest payload a frame of this kind may carry.
    pub fn max_payload(self) -> usize {
        match self {
            Self::Migrate => super::MAX_BLOB_LEN,
            Self::Reply => MAX_REPLY_LEN,
            Self::FlowEnd => MAX_SMALL_PAYLOAD,
            Self::Hello => 0,
        }
    }

    /// Whether frames of this kind are requests (answered by a reply).
    pub fn is_request(self) -> bool {
        matches!(self, Self::Migrate | Self::FlowEnd)
    }
}

/// Why a frame (or a reply payload) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    BadMagic([u8; 4]),
    UnsupportedVersion(u8),
    UnknownKind(u8),
    /// A reserved field is not zero.
    Reserved,
    /// The payload length is above the kind's bound.
    TooLong {
        kind: Kind,
        len: usize,
    },
    /// A reply payload shorter than its status.
    ReplyTruncated,
    /// A negative reply status (errnos travel positive).
    BadStatus(i32),
    /// A reply reason longer than [`MAX_REASON_LEN`].
    ReasonTooLong(usize),
    /// A reply reason with a NUL byte.
    ReasonHasNul,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(m) => write!(f, "bad frame magic {m:02x?}"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported frame version {v}"),
            Self::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            Self::Reserved => write!(f, "reserved frame field not zero"),
            Self::TooLong { kind, len } => {
                write!(f, "{kind:?} payload of {len} bytes is above its bound")
            }
            Self::ReplyTruncated => write!(f, "reply shorter than its status"),
            Self::BadStatus(s) => write!(f, "negative reply status {s}"),
            Self::ReasonTooLong(n) => write!(f, "reply reason of {n} bytes"),
            Self::ReasonHasNul => write!(f, "reply reason with a NUL byte"),
        }
    }
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    /// The request's id; a reply carries the id of the request it answers.
    pub request_id: u64,
    payload_len: u32,
}

impl Header {
    /// The header of a frame of `kind` with a payload of `payload_len`
    /// bytes, if within the kind's bound.
    pub fn new(kind: Kind, request_id: u64, payload_len: usize) -> Result<Self, FrameError> {
        if payload_len > kind.max_payload() {
            return Err(FrameError::TooLong {
                kind,
                len: payload_len,
            });
        }
        Ok(Self {
            kind,
            request_id,
            // Every bound fits in 32 bits.
            payload_len: payload_len as u32,
        })
    }

    /// The payload length.
    pub fn payload_len(&self) -> usize {
        self.payload_len as usize
    }

    /// How many bytes follow the header: payload and tag.
    pub fn rest_len(&self) -> usize {
        self.payload_len() + TAG_LEN
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = self.kind as u8;
        // 6..8: reserved, zero.
        out[8..16].copy_from_slice(&self.request_id.to_le_bytes());
        out[16..20].copy_from_slice(&self.payload_len.to_le_bytes());
        // 20..24: reserved, zero.
        out
    }

    /// Parses and checks a header: everything a receiver needs to know
    /// before it reads (and allocates for) the payload.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        let mut magic = [0; 4];
        magic.copy_from_slice(&bytes[0..4]);
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if bytes[4] != VERSION {
            return Err(FrameError::UnsupportedVersion(bytes[4]));
        }
        let kind = Kind::from_u8(bytes[5]).ok_or(FrameError::UnknownKind(bytes[5]))?;
        if bytes[6..8] != [0; 2] || bytes[20..24] != [0; 4] {
            return Err(FrameError::Reserved);
        }
        let mut id = [0; 8];
        id.copy_from_slice(&bytes[8..16]);
        let mut len = [0; 4];
        len.copy_from_slice(&bytes[16..20]);
        Self::new(
            kind,
            u64::from_le_bytes(id),
            u32::from_le_bytes(len) as usize,
        )
    }
}

/// The answer to a request: ok, or an errno and a short reason.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    status: i32,
    reason: [u8; MAX_REASON_LEN],
    reason_len: u8,
}

impl Reply {
    /// Success.
    pub const fn ok() -> Self {
        Self {
            status: 0,
            reason: [0; MAX_REASON_LEN],
            reason_len: 0,
        }
    }

    /// Success, with a note (text, as a reason: cut at its first NUL and
    /// at [`MAX_REASON_LEN`] bytes).
    pub fn ok_with(note: &[u8]) -> Self {
        let mut out = Self::error(1, note);
        out.status = 0;
        out
    }

    /// A refusal with `errno` (its absolute value: the kernel's negative
    /// errnos work too; 0 is no refusal and becomes `EPROTO`, 71) and a
    /// reason, cut at its first NUL and at [`MAX_REASON_LEN`] bytes.
    pub fn error(errno: i32, reason: &[u8]) -> Self {
        let status = match errno.unsigned_abs() {
            0 => 71,
            e => e.min(i32::MAX as u32) as i32,
        };
        let reason = reason.split(|&b| b == 0).next().unwrap_or(&[]);
        let len = reason.len().min(MAX_REASON_LEN);
        let mut out = Self::ok();
        out.status = status;
        out.reason[..len].copy_from_slice(&reason[..len]);
        out.reason_len = len as u8;
        out
    }

    /// 0 for success, else a positive errno.
    pub fn status(&self) -> i32 {
        self.status
    }

    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.status == 0
    }

    /// Why the request failed (text without NUL; may be empty).
    pub fn reason(&self) -> &[u8] {
        &self.reason[..usize::from(self.reason_len)]
    }

    /// The reply payload, written into `buf`.
    pub fn encode<'a>(&self, buf: &'a mut [u8; MAX_REPLY_LEN]) -> &'a [u8] {
        let len = 4 + self.reason().len();
        buf[..4].copy_from_slice(&self.status.to_le_bytes());
        buf[4..len].copy_from_slice(self.reason());
        &buf[..len]
    }

    /// Parses and checks a reply payload.
    pub fn decode(payload: &[u8]) -> Result<Self, FrameError> {
        if payload.len() < 4 {
            return Err(FrameError::ReplyTruncated);
        }
        let mut status = [0; 4];
        status.copy_from_slice(&payload[..4]);
        let status = i32::from_le_bytes(status);
        if status < 0 {
            return Err(FrameError::BadStatus(status));
        }
        let reason = &payload[4..];
        if reason.len() > MAX_REASON_LEN {
            return Err(FrameError::ReasonTooLong(reason.len()));
        }
        if reason.contains(&0) {
            return Err(FrameError::ReasonHasNul);
        }
        let mut out = Self::ok();
        out.status = status;
        out.reason[..reason.len()].copy_from_slice(reason);
        out.reason_len = reason.len() as u8;
        Ok(out)
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("reason", &self.reason().escape_ascii())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::MAX_BLOB_LEN;
    use super::*;

    fn header(kind: Kind, id: u64, len: usize) -> Result<[u8; HEADER_LEN], FrameError> {
        Ok(Header::new(kind, id, len)?.encode())
    }

    #[test]
    fn header_bytes() -> Result<(), FrameError> {
        let h = header(Kind::Migrate, 0x0102_0304_0506_0708, 0x0102_0304)?;
        assert_eq!(
            h,
            [
                b'T', b'M', b'C', b'H', 1, 1, 0, 0, // magic, version, kind, reserved
                8, 7, 6, 5, 4, 3, 2, 1, // request id
                4, 3, 2, 1, // payload length
                0, 0, 0, 0, // reserved
            ]
        );
        Ok(())
    }

    #[test]
    fn ok_with_a_note_round_trips() -> Result<(), FrameError> {
        let reply = Reply::ok_with(b"injected in 1234 ns");
        assert!(reply.is_ok());
        let mut buf = [0; MAX_REPLY_LEN];
        let decoded = Reply::decode(reply.encode(&mut buf))?;
        assert!(decoded.is_ok());
        assert_eq!(decoded.reason(), b"injected in 1234 ns");
        Ok(())
    }

    #[test]
    fn header_round_trip() -> Result<(), FrameError> {
        for kind in [Kind::Migrate, Kind::Reply, Kind::FlowEnd, Kind::Hello] {
            for len in [0, 1.min(kind.max_payload()), kind.max_payload()] {
                let h = Header::new(kind, u64::MAX - 3, len)?;
                assert_eq!(Header::decode(&h.encode()), Ok(h));
                assert_eq!(h.payload_len(), len);
                assert_eq!(h.rest_len(), len + TAG_LEN);
            }
        }
        Ok(())
    }

    #[test]
    fn bounds() -> Result<(), FrameError> {
        let too_long = |kind: Kind, len| -> Result<(), FrameError> {
            let mut h = header(kind, 1, 0)?;
            h[16..20].copy_from_slice(&(len as u32).to_le_bytes());
            assert_eq!(
                Header::decode(&h),
                Err(FrameError::TooLong { kind, len }),
                "{kind:?} {len}"
            );
            assert!(Header::new(kind, 1, len).is_err());
            Ok(())
        };
        too_long(Kind::Migrate, MAX_BLOB_LEN + 1)?;
        too_long(Kind::Migrate, u32::MAX as usize)?;
        too_long(Kind::FlowEnd, MAX_SMALL_PAYLOAD + 1)?;
        too_long(Kind::Reply, MAX_REPLY_LEN + 1)?;
        too_long(Kind::Hello, 1)?;
        assert!(Header::new(Kind::Migrate, 1, MAX_BLOB_LEN).is_ok());
        assert!(Header::new(Kind::FlowEnd, 1, MAX_SMALL_PAYLOAD).is_ok());
        Ok(())
    }

    #[test]
    fn refusals() -> Result<(), FrameError> {
        let good = header(Kind::FlowEnd, 9, 10)?;
        let with = |at: usize, v: u8| {
            let mut h = good;
            h[at] = v;
            Header::decode(&h)
        };
        assert_eq!(with(0, b'X'), Err(FrameError::BadMagic(*b"XMCH")));
        assert_eq!(with(3, b'G'), Err(FrameError::BadMagic(*b"TMCG")));
        assert_eq!(with(4, 0), Err(FrameError::UnsupportedVersion(0)));
        assert_eq!(with(4, 2), Err(FrameError::UnsupportedVersion(2)));
        assert_eq!(with(5, 0), Err(FrameError::UnknownKind(0)));
        assert_eq!(with(5, 5), Err(FrameError::UnknownKind(5)));
        assert_eq!(with(5, 0xff), Err(FrameError::UnknownKind(0xff)));
        for at in [6, 7, 20, 21, 22, 23] {
            assert_eq!(with(at, 1), Err(FrameError::Reserved), "byte {at}");
        }
        // Every single-bit flip of the fixed fields is refused.
        for at in (0..8).chain(20..24) {
            for bit in 0..8 {
                let mut h = good;
                h[at] ^= 1 << bit;
                if at == 5 && matches!(h[5], 1 | 2) {
                    continue; // another known kind, within its bound
                }
                assert!(Header::decode(&h).is_err(), "byte {at} bit {bit}");
            }
        }
        Ok(())
    }

    #[test]
    fn reply_round_trip() -> Result<(), FrameError> {
        let mut buf = [0; MAX_REPLY_LEN];
        let ok = Reply::ok();
        assert_eq!(ok.encode(&mut buf), &[0, 0, 0, 0]);
        assert_eq!(Reply::decode(&[0, 0, 0, 0]), Ok(ok));
        assert!(ok.is_ok());

        let nack = Reply::error(-111, b"no listener on 192.0.2.100:80");
        assert_eq!(nack.status(), 111);
        let bytes = nack.encode(&mut buf);
        assert_eq!(&bytes[..4], &111i32.to_le_bytes());
        assert_eq!(&bytes[4..], b"no listener on 192.0.2.100:80");
        let back = Reply::decode(bytes)?;
        assert_eq!(back, nack);
        assert_eq!(back.reason(), b"no listener on 192.0.2.100:80");
        assert!(!back.is_ok());
        Ok(())
    }

    #[test]
    fn reply_reason_is_cut() {
        let long = [b'x'; 300];
        let r = Reply::error(22, &long);
        assert_eq!(r.reason().len(), MAX_REASON_LEN);
        assert_eq!(Reply::error(22, b"before\0after").reason(), b"before");
        assert_eq!(Reply::error(0, b"").status(), 71);
        assert_eq!(Reply::error(i32::MIN, b"").status(), i32::MAX);
        let mut buf = [0; MAX_REPLY_LEN];
        assert_eq!(r.encode(&mut buf).len(), MAX_REPLY_LEN);
    }

    #[test]
    fn reply_refusals() {
        assert_eq!(Reply::decode(&[]), Err(FrameError::ReplyTruncated));
        assert_eq!(Reply::decode(&[0, 0, 0]), Err(FrameError::ReplyTruncated));
        assert_eq!(
            Reply::decode(&(-5i32).to_le_bytes()),
            Err(FrameError::BadStatus(-5))
        );
        let mut long = [b'a'; 4 + MAX_REASON_LEN + 1];
        long[..4].copy_from_slice(&[5, 0, 0, 0]);
        assert_eq!(
            Reply::decode(&long),
            Err(FrameError::ReasonTooLong(MAX_REASON_LEN + 1))
        );
        assert!(Reply::decode(&long[..MAX_REPLY_LEN]).is_ok());
        assert_eq!(
            Reply::decode(&[5, 0, 0, 0, b'a', 0, b'b']),
            Err(FrameError::ReasonHasNul)
        );
    }
}
