// SPDX-License-Identifier: GPL-2.0

//! Errors of capture and inject as their requester sees them.

use core::ffi::CStr;
use kernel::prelude::*;

/// Why a capture or an inject failed: an errno, and a message for the
/// requester (netlink's extack keeps the pointer, so it is static).
pub(crate) type Failure = (Error, &'static CStr);
