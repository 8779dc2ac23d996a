// SPDX-License-Identifier: GPL-2.0

//! Randomness from the kernel's CRNG: the flow tables' hash seeds, and
//! the flow numbers a front-end draws toward a peer.

use super::bindings;

/// A uniformly random `u32` (`get_random_u32()`).
pub(crate) fn u32() -> u32 {
    // SAFETY: A call without requirements; the CRNG is ready long before
    // a module loads.
    unsafe { bindings::tcpmig_random_u32() }
}
