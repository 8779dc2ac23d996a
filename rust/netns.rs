// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each namespace is a node of its own.

use crate::sys::net::{Net, Pernet, PernetState};
use crate::sys::params;
use core::sync::atomic::{AtomicU16, Ordering};

/// What tcpmig keeps in every network namespace.
pub(crate) struct NetState {
    /// Port of this namespace's connection migrator; never 0.
    migrator_port: AtomicU16,
}

pub(crate) static PERNET: Pernet<NetState> = Pernet::new();

impl PernetState for NetState {
    fn new(_net: &Net) -> Self {
        Self {
            migrator_port: AtomicU16::new(params::migrator_port()),
        }
    }

    fn pernet() -> &'static Pernet<Self> {
        &PERNET
    }
}

impl NetState {
    /// The state of `net`; `None` only while the module loads or unloads.
    pub(crate) fn of(net: &Net) -> Option<&Self> {
        PERNET.get(net)
    }

    pub(crate) fn migrator_port(&self) -> u16 {
        self.migrator_port.load(Ordering::Relaxed)
    }

    /// Sets the migrator port; 0 is refused by the netlink policy.
    pub(crate) fn set_migrator_port(&self, port: u16) {
        self.migrator_port.store(port, Ordering::Relaxed);
    }
}
