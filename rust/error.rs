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
}

impl Failure {
    /// A refused blob: `reason` says which field, and why.
    pub(crate) fn blob(errno: Error, reason: wire::Error) -> Self {
        Self {
            errno,
            msg: c"invalid blob",
            blob: Some(reason),
        }
    }
}

impl From<(Error, &'static CStr)> for Failure {
    fn from((errno, msg): (Error, &'static CStr)) -> Self {
        Self {
            errno,
            msg,
            blob: None,
        }
    }
}
