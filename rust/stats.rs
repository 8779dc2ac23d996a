// SPDX-License-Identifier: GPL-2.0

//! Per-namespace counters of migrations, both ways.

use crate::sys::sock::Family;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering;

/// Counters of one namespace's migrations; the packet counters live with
/// the tables that count them.
#[derive(Default)]
pub(crate) struct Stats {
    migrated: AtomicU64,
    failed: AtomicU64,
    ambiguous: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Stats {
    /// A connection left for a peer, which acked it.
    pub(crate) fn migrated(&self) {
        bump(&self.migrated);
    }

    /// A migration failed and the connection was rolled back.
    pub(crate) fn failed(&self) {
        bump(&self.failed);
    }

    /// A migration's outcome is unknown; the connection was reset.
    pub(crate) fn ambiguous(&self) {
        bump(&self.ambiguous);
    }

    /// A connection came from a peer and was injected here.
    pub(crate) fn accepted(&self) {
        bump(&self.accepted);
    }

    /// A peer's migration request was refused here.
    pub(crate) fn refused(&self) {
        bump(&self.refused);
    }

    /// (migrated, failed, ambiguous, accepted, refused)
    pub(crate) fn snapshot(&self) -> [u64; 5] {
        [
            read(&self.migrated),
            read(&self.failed),
            read(&self.ambiguous),
            read(&self.accepted),
            read(&self.refused),
        ]
    }
}

/// A live flow, as `tcpmig flows` lists it.
pub(crate) struct FlowInfo {
    /// `TCPMIG_FLOW_KIND_FORWARD` or `_DECAP`.
    pub(crate) kind: u8,
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
