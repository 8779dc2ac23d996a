// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each namespace is a node of its own.

use crate::decap::DecapHook;
use crate::decap::DecapTable;
use crate::dispatch::Dispatcher;
use crate::error::Failure;
use crate::hold::HoldHook;
use crate::hold::HoldTable;
use crate::node::Node;
use crate::node::Shared;
use crate::peers::Peers;
use crate::stats::Stats;
use crate::sys::net::Net;
use crate::sys::net::NetRef;
use crate::sys::net::Pernet;
use crate::sys::net::PernetState;
use crate::sys::nf::HookPoint;
use crate::sys::nf::HookRegistration;
use crate::sys::params;
use crate::sys::proc::Counters;
use crate::sys::proc::ProcFile;
use crate::sys::proc::COUNTERS;
use core::sync::atomic::AtomicU16;
use core::sync::atomic::Ordering;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sync::Mutex;

/// What tcpmig keeps in every network namespace.
pub(crate) struct NetState {
    /// `/proc/net/tcpmig`; removed first, after the reads in progress.
    _proc: ProcFile<ProcCounters>,
    /// The services, stopped (their work items waited for) before the
    /// node and the tables they use.
    dispatch: Pin<KBox<Dispatcher>>,
    /// The running node, once the namespace has a cluster key. Declared
    /// before the tables: its migrator's workers use them.
    node: Pin<KBox<Mutex<Option<Arc<Node>>>>>,
    /// Held through a configuration. The node's own lock is held only to
    /// swap the node: dropping one waits for its work items, and work
    /// items take that lock (a service looks the node up), so no node is
    /// dropped under it.
    configuring: Pin<KBox<Mutex<()>>>,
    /// The frozen and the forwarded flows, registered as the LOCAL_IN
    /// hook that holds or forwards their packets; dropping it unregisters
    /// the hook before the table goes.
    hold: HookRegistration<HoldHook>,
    /// The flows migrated here, as the PRE_ROUTING hook that decapsulates
    /// their packets.
    decap: HookRegistration<DecapHook>,
    shared: Shared,
    /// Port of this namespace's connection migrator; never 0.
    migrator_port: AtomicU16,
    net: NetRef,
}

pub(crate) static PERNET: Pernet<NetState> = Pernet::new();

impl PernetState for NetState {
    fn new(net_ref: NetRef) -> Result<Self> {
        let net = net_ref.get();
        let hold = Arc::pin_init(HoldTable::new(net_ref), GFP_KERNEL)?;
        let decap = Arc::new(DecapTable::new(net_ref, hold.clone())?, GFP_KERNEL)?;
        let shared = Shared {
            peers: Arc::pin_init(Peers::new(), GFP_KERNEL)?,
            decap: decap.clone(),
            hold: hold.clone(),
            stats: Arc::new(Stats::default(), GFP_KERNEL)?,
        };
        let hold = HookRegistration::new(net, HookPoint::LocalIn, Ok::<_, Error>(HoldHook(hold)))?;
        let decap =
            HookRegistration::new(net, HookPoint::PreRouting, Ok::<_, Error>(DecapHook(decap)))?;
        Ok(Self {
            _proc: ProcFile::new(net_ref, ProcCounters(net_ref))?,
            dispatch: KBox::pin_init(Dispatcher::new()?, GFP_KERNEL)?,
            node: KBox::pin_init(new_mutex!(None, "tcpmig_node"), GFP_KERNEL)?,
            configuring: KBox::pin_init(new_mutex!((), "tcpmig_configuring"), GFP_KERNEL)?,
            hold,
            decap,
            shared,
            migrator_port: AtomicU16::new(params::migrator_port()),
            net: net_ref,
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
        &self.hold.table().0
    }

    pub(crate) fn decap(&self) -> &DecapTable {
        &self.decap.table().0
    }

    pub(crate) fn dispatch(&self) -> &Dispatcher {
        &self.dispatch
    }

    pub(crate) fn peers(&self) -> &Peers {
        &self.shared.peers
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// The running node, if the namespace has a cluster key.
    pub(crate) fn node(&self) -> Option<Arc<Node>> {
        self.node.lock().clone()
    }

    pub(crate) fn migrator_port(&self) -> u16 {
        self.migrator_port.load(Ordering::Relaxed)
    }

    /// Sets the cluster key and the migrator port (either may be absent)
    /// and starts the node, or restarts it on a new port. On failure
    /// nothing changed: a node that was running runs again on its port
    /// (unless a migration in flight still holds that port).
    pub(crate) fn configure(
        &self,
        key: Option<[u8; 32]>,
        port: Option<u16>,
    ) -> Result<(), Failure> {
        let _configuring = self.configuring.lock();
        let running = self.node.lock().is_some();
        // A new key restarts the node too: its migrator's connections,
        // greeted under the old key, must go, so that peers greet again
        // (and learn of a key that differs) before they send anything.
        let new_key = key.is_some_and(|k| self.peers().key() != Some(k));
        let new_port = port.is_some_and(|p| p != self.migrator_port());
        let restart = !running || new_key || new_port;
        let port = port.unwrap_or(self.migrator_port());
        let key_set = key.is_some() || self.peers().key().is_some();
        let old_key = self.peers().key();
        if let Some(key) = key {
            // The new node greets under the new key from its first peer on.
            self.peers().replace_key(Some(key));
        }
        if key_set && restart {
            // The old node lets go of its ports first (when the migrations
            // in flight that hold it end). Out of the lock: see above.
            let old = self.node.lock().take();
            drop(old);
            let start = |port| -> Result<Arc<Node>, Failure> {
                let started = Node::start(self.net, port, &self.shared)?;
                Arc::new(started, GFP_KERNEL).map_err(|_| (ENOMEM, c"out of memory").into())
            };
            match start(port) {
                Ok(started) => *self.node.lock() = Some(started),
                Err(failure) => {
                    self.peers().replace_key(old_key);
                    if running {
                        *self.node.lock() = start(self.migrator_port()).ok();
                    }
                    return Err(failure);
                }
            }
        }
        self.migrator_port.store(port, Ordering::Relaxed);
        Ok(())
    }
}

/// What `/proc/net/tcpmig` shows of a namespace: its state's counters,
/// gathered at each read.
struct ProcCounters(NetRef);

impl Counters for ProcCounters {
    fn counters(&self) -> Option<[u64; COUNTERS]> {
        counters(self.0.get())
    }
}

/// Every counter of `net` in `/proc/net/tcpmig`'s order (`proc.c`).
fn counters(net: &Net) -> Option<[u64; COUNTERS]> {
    let state = NetState::of(net)?;
    let [migrated, failed, ambiguous, accepted, refused] = state.stats().snapshot();
    let hold = state.hold();
    let decap = state.decap();
    Some([
        migrated,
        failed,
        ambiguous,
        hold.forward_flows().into(),
        hold.forwarded_packets(),
        hold.forward_errors(),
        hold.frozen_flows().into(),
        hold.held_packets(),
        hold.dropped_packets(),
        accepted,
        refused,
        decap.flows().into(),
        decap.decapsulated(),
        decap.dropped(),
        state.node().map_or(0, |node| node.bad_frames()),
    ])
}
