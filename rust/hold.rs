// SPDX-License-Identifier: GPL-2.0

//! Holding the packets of frozen flows.
//!
//! Once capture freezes a connection its socket leaves the stack, and a
//! packet of the flow would draw a RST from whatever else answers the
//! 4-tuple. From just before the freeze, the namespace's LOCAL_IN hook
//! takes such packets off the stack and holds them here instead (up to
//! `MAX_HELD` per flow). Cluster migration will release them to the new
//! owner; on one host nobody can, and a flow's packets are freed when it
//! expires (`EXPIRY_SECS` after the freeze), when the connection is
//! restored into this same namespace, or when the namespace goes: TCP
//! retransmits them to wherever the connection went.

use crate::sys::nf::{hz, jiffies, nf_hold_entry, Skb, Tuple};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::new_spinlock_irq;
use kernel::prelude::*;
use kernel::sync::SpinLockIrq;

/// Packets held per flow; later ones are dropped (and counted).
const MAX_HELD: usize = 256;
/// Frozen flows per namespace.
const MAX_FLOWS: usize = 4096;
/// How long a flow's packets are held.
const EXPIRY_SECS: u64 = 180;

struct Frozen {
    tuple: Tuple,
    since: u64,
    packets: KVec<Skb>,
}

/// The frozen flows of one namespace and their held packets.
#[pin_data]
pub(crate) struct HoldTable {
    #[pin]
    flows: SpinLockIrq<KVec<Frozen>>,
    /// Number of frozen flows: the hook's fast path when 0.
    active: AtomicUsize,
    held: AtomicU64,
    dropped: AtomicU64,
}

nf_hold_entry!(HoldTable, HoldTable::hold);

impl HoldTable {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            flows <- new_spinlock_irq!(KVec::new(), "tcpmig_hold"),
            active: AtomicUsize::new(0),
            held: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Starts holding the packets of `tuple`.
    pub(crate) fn freeze(&self, tuple: Tuple) -> Result {
        let packets = KVec::with_capacity(16, GFP_KERNEL)?;
        let now = jiffies();
        let expired = {
            let mut flows = self.flows.lock();
            let expired = take_expired(&mut flows, now)?;
            if flows.len() >= MAX_FLOWS {
                return Err(EBUSY);
            }
            flows.push(
                Frozen {
                    tuple,
                    since: now,
                    packets,
                },
                GFP_ATOMIC,
            )?;
            self.active.store(flows.len(), Ordering::Relaxed);
            expired
        };
        // Freed outside the lock.
        drop(expired);
        Ok(())
    }

    /// Stops holding `tuple`'s packets and frees them: a capture that
    /// failed, or a connection restored where it was captured. Either way
    /// the connection has a socket here again and its peer retransmits.
    pub(crate) fn thaw(&self, tuple: &Tuple) {
        let gone = {
            let mut flows = self.flows.lock();
            let gone = flows
                .iter()
                .position(|f| f.tuple == *tuple)
                .and_then(|i| flows.remove(i).ok());
            self.active.store(flows.len(), Ordering::Relaxed);
            gone
        };
        drop(gone);
    }

    /// The hook's decision, in softirq: keep `skb` if its flow is frozen.
    fn hold(&self, skb: Skb, tuple: &Tuple) -> Result<(), Skb> {
        if self.active.load(Ordering::Relaxed) == 0 {
            return Err(skb);
        }
        let overflow = {
            let mut flows = self.flows.lock();
            let Some(flow) = flows.iter_mut().find(|f| f.tuple == *tuple) else {
                return Err(skb);
            };
            if flow.packets.len() >= MAX_HELD || flow.packets.reserve(1, GFP_ATOMIC).is_err() {
                Some(skb)
            } else {
                // Cannot fail: room was reserved.
                let _ = flow.packets.push(skb, GFP_ATOMIC);
                None
            }
        };
        match overflow {
            None => self.held.fetch_add(1, Ordering::Relaxed),
            Some(skb) => {
                drop(skb);
                self.dropped.fetch_add(1, Ordering::Relaxed)
            }
        };
        Ok(())
    }

    /// Frozen flows now.
    pub(crate) fn frozen_flows(&self) -> u32 {
        self.active.load(Ordering::Relaxed) as u32
    }

    /// Packets held since the namespace started.
    pub(crate) fn held_packets(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }
}

/// Moves the flows frozen longer than `EXPIRY_SECS` out of `flows`.
fn take_expired(flows: &mut KVec<Frozen>, now: u64) -> Result<KVec<Frozen>> {
    let limit = EXPIRY_SECS * hz();
    let mut expired = KVec::new();
    let mut i = 0;
    while i < flows.len() {
        if now.wrapping_sub(flows[i].since) > limit {
            expired.reserve(1, GFP_ATOMIC)?;
            if let Ok(flow) = flows.remove(i) {
                // Cannot fail: room was reserved.
                let _ = expired.push(flow, GFP_ATOMIC);
            }
        } else {
            i += 1;
        }
    }
    Ok(expired)
}
