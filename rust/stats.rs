// SPDX-License-Identifier: GPL-2.0

//! Counters: the one [`Counter`] type every room counts with, the
//! namespace's migrations both ways, and the row a live flow is listed as.

use crate::sys::sock::Family;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering;

/// An event count, read without ordering against anything else.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// One more.
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters of one namespace's migrations; the packet counters live with
/// the tables that count them.
#[derive(Default)]
pub(crate) struct Stats {
    /// Connections that left for a peer, which acked them.
    pub(crate) migrated: Counter,
    /// Migrations that failed; the connection was rolled back.
    pub(crate) failed: Counter,
    /// Migrations whose outcome is unknown; the connection was reset.
    pub(crate) ambiguous: Counter,
    /// Connections a peer migrated here, injected.
    pub(crate) taken: Counter,
    /// A peer's migrations refused here.
    pub(crate) refused: Counter,
}

/// The values of [`Stats`] at one moment.
pub(crate) struct Counts {
    pub(crate) migrated: u64,
    pub(crate) failed: u64,
    pub(crate) ambiguous: u64,
    pub(crate) taken: u64,
    pub(crate) refused: u64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            migrated: self.migrated.get(),
            failed: self.failed.get(),
            ambiguous: self.ambiguous.get(),
            taken: self.taken.get(),
            refused: self.refused.get(),
        }
    }
}

/// Which table a listed flow is in.
#[derive(Clone, Copy)]
pub(crate) enum FlowKind {
    /// Front-end: its packets go on to a back-end.
    Forward,
    /// Back-end: its packets come from a front-end.
    Decap,
}

/// A live flow, as `tcpmig flow list` shows it.
pub(crate) struct FlowInfo {
    pub(crate) kind: FlowKind,
    pub(crate) family: Family,
    pub(crate) client: [u8; 16],
    pub(crate) client_port: u16,
    pub(crate) vip: [u8; 16],
    pub(crate) vip_port: u16,
    /// The back-end it goes to, or the front-end it comes from.
    pub(crate) peer: [u8; 16],
    pub(crate) flow_id: u32,
    pub(crate) age_ms: u32,
    pub(crate) idle_ms: u32,
    pub(crate) packets: u64,
    /// When the first packet was forwarded, CLOCK_MONOTONIC ns (0: not
    /// yet, or a decapsulated flow).
    pub(crate) first_forwarded: u64,
}
