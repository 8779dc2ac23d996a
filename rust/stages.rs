// SPDX-License-Identifier: GPL-2.0

//! When each stage of a hand-off ended, for `tcpmig monitor` and `make
//! bench`. The times are CLOCK_MONOTONIC nanoseconds, the clock user space
//! reads with `clock_gettime(CLOCK_MONOTONIC)`: a benchmark lines them up
//! with its own on the same node, and the module's time separates from
//! the CLI's and the emulator's.

use crate::sys::time::now_ns;

/// A stage of a hand-off, in the order they end.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    /// The migration began.
    Start,
    /// The connection is locked, its packets held, its blob encoded.
    Frozen,
    /// The channel to the peer is free (after other hand-offs to it).
    Channel,
    /// The blob is in the channel socket.
    Sent,
    /// The peer's ack is read and verified.
    Acked,
    /// The flow is forwarded, the held packets sent on.
    Forwarding,
    /// The connection is released.
    Done,
    /// Back-end: the blob is read and its tag verified.
    Received,
    /// Back-end: the new socket is in the listener's accept queue.
    Injected,
}

const STAGES: usize = 9;

impl Stage {
    const ALL: [Stage; STAGES] = [
        Self::Start,
        Self::Frozen,
        Self::Channel,
        Self::Sent,
        Self::Acked,
        Self::Forwarding,
        Self::Done,
        Self::Received,
        Self::Injected,
    ];
}

/// The stages a hand-off reached, and when.
#[derive(Default)]
pub(crate) struct Stages {
    /// By `Stage as usize`; 0: not reached.
    at: [u64; STAGES],
}

impl Stages {
    /// `stage` ends now.
    pub(crate) fn mark(&mut self, stage: Stage) {
        self.at[stage as usize] = now_ns();
    }

    /// When `stage` ended; 0 if it did not.
    pub(crate) fn at(&self, stage: Stage) -> u64 {
        self.at[stage as usize]
    }

    /// From `from` to `to`, in ns; 0 unless both were reached.
    pub(crate) fn between(&self, from: Stage, to: Stage) -> u64 {
        match (self.at(from), self.at(to)) {
            (0, _) | (_, 0) => 0,
            (a, b) => b.saturating_sub(a),
        }
    }

    /// The stages reached, with their times.
    pub(crate) fn reached(&self) -> impl Iterator<Item = (Stage, u64)> + '_ {
        Stage::ALL
            .iter()
            .map(|&s| (s, self.at(s)))
            .filter(|&(_, t)| t != 0)
    }
}
