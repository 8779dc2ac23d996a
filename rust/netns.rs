// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each namespace is a node of its own.

use crate::hold::HoldTable;
use crate::sys::net::{Net, Pernet, PernetState};
use crate::sys::nf::Hooks;
use crate::sys::params;
use core::pin::Pin;
use core::sync::atomic::{AtomicU16, Ordering};
use kernel::prelude::*;

/// What tcpmig keeps in every network namespace.
pub(crate) struct NetState {
    /// The hook feeding `hold`; declared first, so it is unregistered
    /// before `hold` goes.
    _hooks: Hooks,
    /// Packets of the flows frozen by capture.
    hold: Pin<KBox<HoldTable>>,
    /// Port of this namespace's connection migrator; never 0.
    migrator_port: AtomicU16,
}

pub(crate) static PERNET: Pernet<NetState> = Pernet::new();

impl PernetState for NetState {
    fn new(net: &Net) -> Result<Self> {
        let hold = KBox::pin_init(HoldTable::new(), GFP_KERNEL)?;
        // SAFETY: `hold` is heap-allocated and outlives the hooks, which
        // `NetState` drops first; the entry point is `HoldTable`'s.
        let hooks = unsafe { Hooks::register(net, &*hold)? };
        Ok(Self {
            _hooks: hooks,
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
        &self.hold
    }

    pub(crate) fn migrator_port(&self) -> u16 {
        self.migrator_port.load(Ordering::Relaxed)
    }

    /// Sets the migrator port; 0 is refused by the netlink policy.
    pub(crate) fn set_migrator_port(&self, port: u16) {
        self.migrator_port.store(port, Ordering::Relaxed);
    }
}
