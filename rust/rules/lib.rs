// SPDX-License-Identifier: GPL-2.0

//! `tcpmig-rules`: the content dispatcher's decision logic as a host
//! crate, for the host tests. The module compiles the same `mod.rs` as its
//! `rules` module.

#![no_std]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

#[path = "mod.rs"]
mod rules;

pub use rules::*;
