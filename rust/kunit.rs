// SPDX-License-Identifier: GPL-2.0

//! What the KUnit suites share: the addresses and endpoints they build.

use crate::sys::sock::{Endpoint, Family};

/// An IPv4 address as the tables keep it (the first 4 of 16 bytes).
pub(crate) fn v4_addr(octets: [u8; 4]) -> [u8; 16] {
    let mut addr = [0; 16];
    addr[..4].copy_from_slice(&octets);
    addr
}

/// 127.0.0.1 on `port`.
pub(crate) fn loopback(port: u16) -> Endpoint {
    Endpoint {
        family: Family::V4,
        addr: v4_addr([127, 0, 0, 1]),
        port,
    }
}

/// ::1 on `port`.
pub(crate) fn loopback6(port: u16) -> Endpoint {
    let mut addr = [0; 16];
    addr[15] = 1;
    Endpoint {
        family: Family::V6,
        addr,
        port,
    }
}
