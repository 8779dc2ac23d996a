// SPDX-License-Identifier: GPL-2.0

//! The content dispatcher's rules: which rule the first bytes of a
//! connection match, and which node a sticky key belongs to.
//!
//! Pure `core` code shared byte for byte by the module (`mod rules`) and
//! the host tests (the `tcpmig-rules` crate, `lib.rs`). No allocation, no
//! raw pointers, and no panic reachable from any input: every scan works on
//! partial data (a request split over several segments) and says
//! [`Verdict::NeedMore`] until it can decide, and never changes its mind
//! once it has.

mod hash;
mod http;
mod matching;
mod verdict;

pub use hash::{client_hash, rendezvous};
pub use matching::{first_match, Decision, Match};
pub use verdict::Verdict;

#[cfg(test)]
mod tests;
