// SPDX-License-Identifier: GPL-2.0

//! Errors of capture and inject as their requester sees them.

use crate::wire;
use core::ffi::CStr;
use kernel::prelude::*;

/// Why a capture or an inject failed: an errno, a message for the
/// requester (netlink's extack keeps the pointer, so it is static), and
/// for a refused blob the decoder's precise reason.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) errno: Error,
    pub(crate) msg: &'static CStr,
    pub(crate) blob: Option<wire::Error>,
    /// For a migration the peer refused, the peer's own reason; for one
    /// that never reached it, the transport's error (boxed: failures
    /// travel by value; lost if memory is short).
    pub(crate) peer: Option<KBox<PeerReason>>,
}

impl Failure {
    /// A refused blob: `reason` says which field, and why.
    pub(crate) fn blob(errno: Error, reason: wire::Error) -> Self {
        Self {
            errno,
            msg: c"invalid blob",
            blob: Some(reason),
            peer: None,
        }
    }

    /// A migration the peer refused, for `reason`.
    pub(crate) fn peer(errno: Error, msg: &'static CStr, reason: PeerReason) -> Self {
        Self {
            errno,
            msg,
            blob: None,
            peer: KBox::new(reason, GFP_KERNEL).ok(),
        }
    }
}

impl From<(Error, &'static CStr)> for Failure {
    fn from((errno, msg): (Error, &'static CStr)) -> Self {
        Self {
            errno,
            msg,
            blob: None,
            peer: None,
        }
    }
}

/// A peer's reason for refusing a migration: its text, at most
/// `PeerReason::MAX` bytes, anything but printable ASCII shown as `?`.
#[derive(Clone, Copy)]
pub(crate) struct PeerReason {
    text: [u8; PeerReason::MAX],
    len: usize,
}

impl PeerReason {
    pub(crate) const MAX: usize = 127;

    pub(crate) fn new(bytes: &[u8]) -> Self {
        let mut text = [0; Self::MAX];
        let len = bytes.len().min(Self::MAX);
        for (to, from) in text.iter_mut().zip(&bytes[..len]) {
            *to = if from.is_ascii_graphic() || *from == b' ' {
                *from
            } else {
                b'?'
            };
        }
        Self { text, len }
    }

    /// The reason `e` names, for a failure that had no words: "error -N".
    pub(crate) fn errno(e: Error) -> Self {
        let mut text = [0u8; 24];
        let mut n = e.to_errno().unsigned_abs();
        let mut i = text.len();
        loop {
            i -= 1;
            text[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut out = [0u8; 32];
        let prefix = b"error -";
        out[..prefix.len()].copy_from_slice(prefix);
        let digits = &text[i..];
        out[prefix.len()..prefix.len() + digits.len()].copy_from_slice(digits);
        Self::new(&out[..prefix.len() + digits.len()])
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

impl kernel::fmt::Display for PeerReason {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        // Printable ASCII only, by construction.
        f.write_str(core::str::from_utf8(self.as_bytes()).unwrap_or("?"))
    }
}

impl core::fmt::Debug for PeerReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(core::str::from_utf8(self.as_bytes()).unwrap_or("?"))
    }
}
