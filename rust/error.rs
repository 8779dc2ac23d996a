// SPDX-License-Identifier: GPL-2.0

//! Errors as their requester sees them: every netlink command's, and a
//! peer's refusal of a migration.

use crate::wire;
use core::ffi::CStr;
use core::fmt::Write;
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
    /// An allocation failed.
    pub(crate) fn oom() -> Self {
        (ENOMEM, c"out of memory").into()
    }

    /// The namespace has no state: the module is loading or unloading.
    pub(crate) fn unloading() -> Self {
        (ENODEV, c"tcpmig is unloading").into()
    }

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
        let mut text = Text::<24>::new();
        let _ = write!(text, "error -{}", e.to_errno().unsigned_abs());
        Self::new(text.as_bytes())
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

/// Text formatted into a fixed buffer, cut at `N` bytes.
pub(crate) struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Write for Text<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
