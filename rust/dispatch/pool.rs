// SPDX-License-Identifier: GPL-2.0

//! Pools: named groups of peers, each with a policy that picks one for a
//! new connection. A pool names its peers; a name that is no peer (yet)
//! and a peer whose migrator is down are skipped, and so is every peer a
//! connection already failed on.

use super::Name;
use crate::node::Node;
use crate::peers::{Peer, Peers};
use crate::rules;
use crate::stats::Counter;
use core::num::NonZeroU32;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Peers per pool.
pub(crate) const MAX_MEMBERS: usize = 32;
/// Pools per namespace.
const MAX_POOLS: usize = 64;

/// How a pool picks a peer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Each in turn.
    RoundRobin,
    /// The one with the fewest flows forwarded from here.
    LeastFlows,
    /// Rendezvous hashing of the client's address: a client keeps its
    /// peer, and a peer leaving moves only its own clients.
    ConsistentHash,
}

/// What a pool is, as configured.
pub(crate) struct PoolConfig {
    pub(crate) policy: Policy,
    pub(crate) members: KVec<Name>,
}

/// A pool of peers.
#[pin_data]
pub(crate) struct Pool {
    pub(crate) name: Name,
    #[pin]
    config: Mutex<PoolConfig>,
    /// Where round-robin starts next.
    next: AtomicU32,
    pub(crate) picks: Counter,
}

impl Pool {
    fn new(name: Name, config: PoolConfig) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                name,
                config <- new_mutex!(config),
                next: AtomicU32::new(0),
                picks: Counter::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// Calls `f` with the pool's configuration.
    pub(crate) fn with_config<R>(&self, f: impl FnOnce(&PoolConfig) -> R) -> R {
        f(&self.config.lock())
    }

    /// Picks a peer for a connection from `client_hash`, skipping those
    /// in `tried`, those not configured and those `node` finds down.
    pub(crate) fn pick(
        &self,
        peers: &Peers,
        node: &Node,
        client_hash: u32,
        tried: &[Arc<Peer>],
    ) -> Option<Arc<Peer>> {
        let config = self.config.lock();
        let mut found: [Option<Arc<Peer>>; MAX_MEMBERS] = [const { None }; MAX_MEMBERS];
        for (slot, name) in found.iter_mut().zip(config.members.iter()) {
            *slot = peers
                .by_name(name.as_bytes())
                .filter(|p| !tried.iter().any(|t| Arc::ptr_eq(t, p)) && node.peer_up(p));
        }
        let members = &found[..config.members.len().min(MAX_MEMBERS)];
        let usable = |i: usize| members.get(i).is_some_and(Option::is_some);
        let chosen = match config.policy {
            Policy::RoundRobin => {
                let n = NonZeroU32::new(members.len() as u32)?;
                let start = self.next.fetch_add(1, Ordering::Relaxed);
                (0..n.get())
                    .map(|k| (start.wrapping_add(k) % n) as usize)
                    .find(|&i| usable(i))
            }
            Policy::LeastFlows => {
                // Ties go round: a burst of picks does not herd onto one.
                let n = NonZeroU32::new(members.len() as u32)?;
                let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
                members
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| Some((i, p.as_ref()?.live_flows())))
                    .min_by_key(|&(i, flows)| (flows, (i as u32).wrapping_sub(start) % n))
                    .map(|(i, _)| i)
            }
            Policy::ConsistentHash => rules::rendezvous(
                config.members.iter().map(|n| n.as_bytes()),
                client_hash,
                usable,
            ),
        };
        let peer = found.get_mut(chosen?)?.take()?;
        self.picks.inc();
        Some(peer)
    }
}

/// The pools of a namespace.
#[pin_data]
pub(crate) struct Pools {
    #[pin]
    list: Mutex<KVec<Arc<Pool>>>,
}

impl Pools {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            list <- new_mutex!(KVec::new()),
        })
    }

    pub(crate) fn get(&self, name: &Name) -> Option<Arc<Pool>> {
        self.list.lock().iter().find(|p| p.name == *name).cloned()
    }

    /// Runs `f` while the pool `name` exists and cannot go (a rule that
    /// names it is added under this, and `remove` checks the rules
    /// under the same lock); `ENOENT` if there is no such pool.
    pub(crate) fn while_exists<R>(&self, name: &Name, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let list = self.list.lock();
        if !list.iter().any(|p| p.name == *name) {
            return Err(ENOENT);
        }
        f()
    }

    /// The `i`th pool, for listing.
    pub(crate) fn nth(&self, i: usize) -> Option<Arc<Pool>> {
        self.list.lock().get(i).cloned()
    }

    /// Adds a pool; `EEXIST` if the name is taken.
    pub(crate) fn add(&self, name: Name, config: PoolConfig) -> Result {
        let pool = Pool::new(name, config)?;
        let mut list = self.list.lock();
        if list.iter().any(|p| p.name == name) {
            return Err(EEXIST);
        }
        if list.len() >= MAX_POOLS {
            return Err(ENOSPC);
        }
        list.push(pool, GFP_KERNEL)?;
        Ok(())
    }

    /// Changes a pool's policy and members (either may be absent).
    pub(crate) fn set(
        &self,
        name: &Name,
        policy: Option<Policy>,
        members: Option<KVec<Name>>,
    ) -> Result {
        let pool = self.get(name).ok_or(ENOENT)?;
        let mut config = pool.config.lock();
        if let Some(policy) = policy {
            config.policy = policy;
        }
        if let Some(members) = members {
            config.members = members;
        }
        Ok(())
    }

    /// Removes a pool unless `in_use` says a rule names it (`EBUSY`).
    pub(crate) fn remove(&self, name: &Name, in_use: impl Fn(&Name) -> bool) -> Result {
        let removed = {
            let mut list = self.list.lock();
            let i = list.iter().position(|p| p.name == *name).ok_or(ENOENT)?;
            if in_use(name) {
                return Err(EBUSY);
            }
            list.remove(i)?
        };
        drop(removed);
        Ok(())
    }
}

/// Parses a comma-separated list of peer names.
pub(crate) fn parse_members(list: &[u8]) -> Result<KVec<Name>, &'static CStr> {
    let mut members = KVec::new();
    for part in list.split(|&b| b == b',') {
        let name = Name::new(part).ok_or(c"a member is not a valid peer name (1 to 15 bytes)")?;
        if members.contains(&name) {
            return Err(c"a peer is named twice in the pool");
        }
        if members.len() >= MAX_MEMBERS {
            return Err(c"a pool has at most 32 peers");
        }
        members
            .push(name, GFP_KERNEL)
            .map_err(|_| c"out of memory")?;
    }
    Ok(members)
}
