// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each namespace is a node of its own.
//!
//! This is the one room that knows every other: it builds the tables,
//! registers the hooks that share them, and hands the cluster state down
//! to the dispatcher. Only the netlink commands look it up by namespace.

use crate::decap::DecapHook;
use crate::decap::DecapTable;
use crate::dispatch::Dispatcher;
use crate::forward::ForwardHook;
use crate::forward::ForwardTable;
use crate::hold::HoldTable;
use crate::node::Cluster;
use crate::sys::net::Net;
use crate::sys::net::NetRef;
use crate::sys::net::Pernet;
use crate::sys::net::PernetState;
use crate::sys::nf::HookPoint;
use crate::sys::nf::HookRegistration;
use crate::sys::proc::Counters;
use crate::sys::proc::ProcFile;
use crate::sys::proc::COUNTERS;
use crate::sys::users::UserRef;
use kernel::prelude::*;
use kernel::sync::Arc;

/// What tcpmig keeps in every network namespace; fields drop in
/// declaration order.
pub(crate) struct NetState {
    /// `/proc/net/tcpmig`; removed first, after the reads in progress (it
    /// holds a reference to the cluster state).
    _proc: ProcFile<ProcCounters>,
    /// The services, stopped (their work items waited for) before the
    /// node and the tables they use.
    dispatch: Pin<KBox<Dispatcher>>,
    /// The cluster state; its node stops (its migrator's workers waited
    /// for) before the hooks go.
    cluster: Arc<Cluster>,
    /// The frozen and the forwarded flows, registered as the LOCAL_IN
    /// hook that holds or forwards their packets; dropping it unregisters
    /// the hook before the tables go.
    _forward: HookRegistration<ForwardHook>,
    /// The flows migrated here, as the PRE_ROUTING hook that decapsulates
    /// their packets.
    _decap: HookRegistration<DecapHook>,
    /// The front-end's tables, held until every hook and table above is
    /// gone: a table drops (and sleeps, waiting for its RCU callbacks)
    /// here, in process context, never in the callback that frees an
    /// entry holding the last reference.
    _tables: (Arc<ForwardTable>, Arc<HoldTable>),
    /// The namespace's hold on its owner's share, if a user owns it.
    _user: Option<UserRef>,
}

pub(crate) static PERNET: Pernet<NetState> = Pernet::new();

impl PernetState for NetState {
    fn new(net_ref: NetRef) -> Result<Self> {
        let net = net_ref.get();
        let user = UserRef::of(net)?;
        let share = user.as_ref().map(|u| u.share().clone());
        let hold = Arc::pin_init(HoldTable::new(net_ref, share.clone()), GFP_KERNEL)?;
        let forward = Arc::new(ForwardTable::new(net_ref, hold.clone())?, GFP_KERNEL)?;
        let decap = Arc::new(DecapTable::new(net_ref, forward.clone())?, GFP_KERNEL)?;
        let tables = (forward.clone(), hold.clone());
        let cluster = Arc::pin_init(
            Cluster::new(net_ref, hold, forward.clone(), decap.clone())?,
            GFP_KERNEL,
        )?;
        let forward = HookRegistration::new(
            net,
            HookPoint::LocalIn,
            Ok::<_, Error>(ForwardHook(forward)),
        )?;
        let decap = HookRegistration::new(
            net,
            HookPoint::PreRouting,
            Ok::<_, Error>(DecapHook(decap, cluster.peers.clone())),
        )?;
        Ok(Self {
            _proc: ProcFile::new(net_ref, ProcCounters(cluster.clone()))?,
            dispatch: KBox::pin_init(Dispatcher::new(cluster.clone(), share)?, GFP_KERNEL)?,
            cluster,
            _forward: forward,
            _decap: decap,
            _tables: tables,
            _user: user,
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

    /// The initial namespace's state, for the KUnit suites.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn initial() -> Option<&'static Self> {
        Self::of(Net::init_net())
    }

    pub(crate) fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    pub(crate) fn dispatch(&self) -> &Dispatcher {
        &self.dispatch
    }
}

/// What `/proc/net/tcpmig` shows of a namespace: its cluster state's
/// counters, gathered at each read.
struct ProcCounters(Arc<Cluster>);

impl Counters for ProcCounters {
    /// Every counter in the file's order (the names in `proc.c`).
    fn counters(&self) -> Option<[u64; COUNTERS]> {
        let cluster = &self.0;
        let stats = cluster.stats.snapshot();
        let (hold, forward, decap) = (&cluster.hold, &cluster.forward, &cluster.decap);
        Some([
            stats.migrated,
            stats.failed,
            stats.ambiguous,
            forward.flows().into(),
            forward.forwarded_packets() + hold.released_packets(),
            forward.forward_errors() + hold.release_errors(),
            hold.frozen_flows().into(),
            hold.held_packets(),
            hold.dropped_packets(),
            stats.taken,
            stats.refused,
            decap.flows().into(),
            decap.decapsulated(),
            decap.dropped(),
            cluster.node().map_or(0, |node| node.bad_frames()),
            forward.icmp_forwarded(),
            forward.too_big(),
        ])
    }
}
