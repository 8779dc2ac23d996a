// SPDX-License-Identifier: GPL-2.0

//! `tcpmig-wire`: the blob format as a host crate, for the CLI and the
//! host tests. The module compiles the same `mod.rs` as its `wire` module.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "mod.rs"]
mod wire;

pub use wire::*;
