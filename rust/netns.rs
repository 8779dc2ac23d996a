// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each namespace is a node of its own.

use crate::hold::HoldTable;
use crate::sys::net::Net;
use crate::sys::net::Pernet;
use crate::sys::net::PernetState;
use crate::sys::nf::HookPoint;
use crate::sys::nf::HookRegistration;
use crate::sys::params;
use core::sync::atomic::AtomicU16;
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// What tcpmig keeps in every network namespace.
pub(crate) struct NetState {
    /// The frozen flows, registered as the LOCAL_IN hook that holds their
    /// packets; dropping it unregisters the hook before the table goes.
    hold: HookRegistration<HoldTable>,
    /// Port of this namespace's connection migrator; never 0.
    migrator_port: AtomicU16,
}

pub(crate) static PERNET: Pernet<NetState> = Pernet::new();

impl PernetState for NetState {
    fn new(net: &Net) -> Result<Self> {
        let hold = HookRegistration::new(net, HookPoint::LocalIn, HoldTable::new())?;
        Ok(Self {
            hold,
            migrator_port: AtomicU16::new(params::migrator_port()),
        })
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

    /// The frozen flows of this namespace and their held packets.
    pub(crate) fn hold(&self) -> &HoldTable {
        self.hold.table()
    }

    pub(crate) fn migrator_port(&self) -> u16 {
        self.migrator_port.load(Ordering::Relaxed)
    }

    /// Sets the migrator port; 0 is refused by the netlink policy.
    pub(crate) fn set_migrator_port(&self, port: u16) {
        self.migrator_port.store(port, Ordering::Relaxed);
    }
}
