// SPDX-License-Identifier: GPL-2.0

//! Why a blob was refused.

use core::fmt;

/// A precise reason to refuse a blob (or a connection to encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its fixed header.
    Truncated,
    BadMagic([u8; 4]),
    UnsupportedVersion(u16),
    BadHeaderLength(usize),
    /// The header's total length is not the blob's length.
    LengthMismatch {
        header: usize,
        actual: usize,
    },
    TooLarge(usize),
    BadChecksum {
        stored: u32,
        computed: u32,
    },
    /// A section header or body runs past the end of the blob.
    SectionTruncated,
    /// A known section is shorter than its fields.
    SectionTooShort {
        kind: u16,
        len: usize,
        need: usize,
    },
    DuplicateSection(u16),
    UnknownRequiredSection(u16),
    MissingSection(u16),
    /// Only ESTABLISHED (1) and CLOSE_WAIT (8) connections move.
    BadState(u8),
    /// Address family other than 4 or 6.
    BadFamily(u8),
    /// An IPv4 address with non-zero bytes past its fourth.
    BadAddress,
    BadWindowScale(u8),
    /// An MSS outside `MSS_MIN..=MSS_MAX`.
    BadMss(u16),
    /// Option bits this format does not define.
    UnknownOptions(u8),
    /// A field outside the range TCP gives it.
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    /// Fields that contradict each other (a static description).
    Inconsistent(&'static str),
    /// An address or port no connection can have.
    BadEndpoint {
        which: &'static str,
        why: &'static str,
    },
    /// `snd_una <= snd_nxt <= write_seq` does not hold.
    SequenceOrder,
    /// The received bytes are not `rcv_nxt - copied_seq` long (less the
    /// FIN in CLOSE_WAIT).
    RecvDataMismatch {
        expected: usize,
        actual: usize,
    },
    /// The send bytes are not `write_seq - snd_una` long.
    SendDataMismatch {
        expected: usize,
        actual: usize,
    },
    /// The encoder's length computation and layout disagree (a bug).
    Internal,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated => write!(f, "truncated blob (shorter than its header)"),
            Error::BadMagic(m) => write!(f, "bad magic {m:02x?} (not a tcpmig blob)"),
            Error::UnsupportedVersion(v) => write!(f, "unsupported blob version {v}"),
            Error::BadHeaderLength(l) => write!(f, "bad header length {l}"),
            Error::LengthMismatch { header, actual } => {
                write!(
                    f,
                    "length mismatch: header says {header} bytes, blob has {actual}"
                )
            }
            Error::TooLarge(l) => write!(f, "blob of {l} bytes exceeds the limit"),
            Error::BadChecksum { stored, computed } => {
                write!(
                    f,
                    "bad checksum: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            Error::SectionTruncated => write!(f, "a section runs past the end of the blob"),
            Error::SectionTooShort { kind, len, need } => {
                write!(f, "section {kind} has {len} bytes, needs {need}")
            }
            Error::DuplicateSection(k) => write!(f, "section {k} appears twice"),
            Error::UnknownRequiredSection(k) => write!(f, "unknown required section {k}"),
            Error::MissingSection(k) => write!(f, "required section {k} is missing"),
            Error::BadState(s) => write!(
                f,
                "TCP state {s} cannot migrate (ESTABLISHED or CLOSE_WAIT only)"
            ),
            Error::BadFamily(fam) => write!(f, "bad address family {fam}"),
            Error::BadAddress => write!(f, "IPv4 address with stray bytes"),
            Error::BadWindowScale(s) => write!(f, "window scale {s} exceeds 14"),
            Error::BadMss(m) => write!(
                f,
                "MSS {m} is outside {}..={}",
                super::section::MSS_MIN,
                super::section::MSS_MAX
            ),
            Error::UnknownOptions(bits) => write!(f, "unknown option bits {bits:#04x}"),
            Error::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} = {value} is outside {min}..={max}"),
            Error::Inconsistent(what) => f.write_str(what),
            Error::BadEndpoint { which, why } => write!(f, "{which} {why}"),
            Error::SequenceOrder => write!(
                f,
                "sequence numbers out of order (snd_una <= snd_nxt <= write_seq)"
            ),
            Error::RecvDataMismatch { expected, actual } => {
                write!(
                    f,
                    "received data is {actual} bytes, rcv_nxt - copied_seq is {expected}"
                )
            }
            Error::SendDataMismatch { expected, actual } => {
                write!(
                    f,
                    "send data is {actual} bytes, write_seq - snd_una is {expected}"
                )
            }
            Error::Internal => write!(f, "internal error: blob layout and length disagree"),
        }
    }
}
