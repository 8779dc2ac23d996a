// SPDX-License-Identifier: GPL-2.0

//! A service: the module listens on a virtual address and port, looks at
//! each new connection's first bytes without consuming them (they reach
//! the back-end's application in the blob), lets the first rule that
//! matches name a pool and the pool's policy a peer, and migrates the
//! connection there. A hand-off that fails and leaves the connection
//! here is tried on the pool's next peer; when none is left (or no rule
//! matched) the service's fallback takes the connection.
//!
//! Each connection is decided by a work item of its own, in process
//! context: at most the service's `max_pending` at a time, beyond which
//! new connections are reset (and counted).

use super::pool::Pools;
use super::rule::{Rule, RuleList};
use crate::acceptor::{Acceptor, Admitted};
use crate::capture;
use crate::error::Failure;
use crate::events::{self, Event, EventKind};
use crate::inject;
use crate::migrate::{self, OnFailure};
use crate::node::Cluster;
use crate::rules::{self, Decision};
use crate::stats::Counter;
use crate::sys::net::Net;
use crate::sys::params;
use crate::sys::sock::{addr_is_local, Endpoint, Lookup, Sock};
use crate::sys::socket::KernelSocket;
use crate::sys::users::UserShare;
use crate::sys::wq::{Chain, OwnedQueue};
use crate::wire::{self, FlowMapping};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex, UniqueArc};
use kernel::time::{Instant, Monotonic};

/// The listener's accept queue, at least (as long as `max_pending`
/// beyond; the kernel caps it at `net.core.somaxconn`). Past the SYN
/// queue the listener answers with SYN cookies, as a process's does
/// (`net.ipv4.tcp_syncookies`).
const BACKLOG: u32 = 128;
/// The most times the first bytes are looked at (once per new segment).
const MAX_ROUNDS: u32 = 64;
/// How long one hand-off may take (the peer's answer included).
const HANDOFF_TIMEOUT_MS: u32 = 5_000;

/// What a service does with a connection no peer took.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    Reset,
    /// Hand it to the local listener on this port.
    Local(u16),
}

/// A service's settings.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    pub(crate) timeout_ms: u32,
    pub(crate) max_bytes: u32,
    /// Connections being decided at once.
    pub(crate) max_pending: u32,
    pub(crate) fallback: Fallback,
    /// Reset a client that sent nothing before the timeout (else decide
    /// on no bytes).
    pub(crate) reset_silent: bool,
}

/// A service's counters.
#[derive(Default)]
pub(crate) struct ServiceCounters {
    /// Client connections its listener took.
    pub(crate) connections: Counter,
    pub(crate) migrated: Counter,
    pub(crate) fallbacks: Counter,
    pub(crate) timeouts: Counter,
    pub(crate) overflows: Counter,
    pub(crate) failures: Counter,
}

/// A running service's state, shared with its work items.
#[pin_data]
pub(crate) struct ServiceState {
    pub(crate) vip: Endpoint,
    pub(crate) config: Config,
    /// The listener and the connections being decided.
    #[pin]
    acceptor: Acceptor,
    #[pin]
    rules: Mutex<Arc<RuleList>>,
    pools: Arc<Pools>,
    /// The namespace's cluster state: its node, peers and tables.
    cluster: Arc<Cluster>,
    /// The share of the namespace's owner, if a user owns it: its pending
    /// connections count there too.
    user: Option<Arc<UserShare>>,
    pub(crate) counters: ServiceCounters,
}

impl ServiceState {
    /// The rules now; a decision in progress keeps the list it took.
    pub(crate) fn rules(&self) -> Arc<RuleList> {
        self.rules.lock().clone()
    }

    /// Replaces the rules with what `change` makes of a copy of them.
    pub(crate) fn change_rules(
        &self,
        change: impl FnOnce(&mut RuleList) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let mut rules = self.rules.lock();
        let mut copy =
            KVec::with_capacity(rules.len() + 1, GFP_KERNEL).map_err(|_| Failure::oom())?;
        for rule in rules.iter() {
            copy.push(rule.clone(), GFP_KERNEL)
                .map_err(|_| Failure::oom())?;
        }
        change(&mut copy)?;
        *rules = Arc::new(copy, GFP_KERNEL).map_err(|_| Failure::oom())?;
        Ok(())
    }

    /// Connections being decided now.
    pub(crate) fn pending(&self) -> u32 {
        self.acceptor.len() as u32
    }

    fn stopping(&self) -> bool {
        self.acceptor.stopping()
    }

    /// Resets every connection still being decided and wakes the
    /// acceptor; connections being handed off finish first.
    fn stop(&self) {
        self.acceptor.stop(|sock| sock.sock().abort());
    }

    /// Adds `sock` to the pending list, within the service's bound and
    /// its owner's ([`params::user_pending`]).
    fn admit(&self, sock: &Arc<KernelSocket>) -> Admitted {
        let user = self.user.as_deref();
        if let Some(user) = user {
            if !user.pending.take(1, params::user_pending() as usize) {
                return Admitted::Full;
            }
        }
        let admitted = self.acceptor.admit(sock, self.config.max_pending as usize);
        if !matches!(admitted, Admitted::Yes) {
            if let Some(user) = user {
                user.pending.give(1);
            }
        }
        admitted
    }

    /// Takes `sock` off the pending list: from now on only its work item
    /// acts on it. False if the service stopped (and reset it).
    fn leave(&self, sock: &Arc<KernelSocket>) -> bool {
        let left = self.acceptor.leave(sock);
        if let (true, Some(user)) = (left.was_in, self.user.as_deref()) {
            user.pending.give(1);
        }
        !left.stopping
    }
}

/// A running service.
pub(crate) struct Service {
    /// Dropped first: waits for every work item, which hold `shared`.
    _queue: OwnedQueue,
    shared: Arc<ServiceState>,
}

impl Service {
    /// Starts listening on `vip` in `net`. The service must be dropped
    /// before `net` is dismantled: its sockets hold no reference to it.
    pub(crate) fn start(
        net: &Net,
        vip: Endpoint,
        config: Config,
        pools: Arc<Pools>,
        cluster: Arc<Cluster>,
        user: Option<Arc<UserShare>>,
    ) -> Result<Self, Failure> {
        if !addr_is_local(net, vip.family, &vip.addr) {
            return Err((
                EADDRNOTAVAIL,
                c"the service's address is not an address of this namespace",
            )
                .into());
        }
        let listener = KernelSocket::new_plain(net, vip.family)
            .map_err(|e| (e, c"cannot create the service's socket"))?;
        listener.reuse_addr();
        // Its connections are the clients', on their way to a back-end
        // application: they must be movable, and take a process's socket
        // lock class (they are locked under the migrator's kernel
        // sockets' class, never the other way round).
        listener.make_movable();
        listener
            .bind(&vip)
            .map_err(|e| (e, c"cannot bind the service's address and port (in use?)"))?;
        listener
            .listen(BACKLOG.max(config.max_pending) as i32)
            .map_err(|e| (e, c"cannot listen on the service's port"))?;
        let queue = OwnedQueue::new().map_err(|e| (e, c"cannot start the service"))?;
        let rules = Arc::new(KVec::new(), GFP_KERNEL).map_err(|_| Failure::oom())?;
        let shared = Arc::pin_init(
            try_pin_init!(ServiceState {
                vip,
                config,
                acceptor <- Acceptor::new(listener),
                rules <- new_mutex!(rules),
                pools,
                cluster,
                user,
                counters: ServiceCounters::default(),
            }),
            GFP_KERNEL,
        )
        .map_err(|_| Failure::oom())?;
        let acceptor = shared.clone();
        queue
            .spawn(move |chain| accept_loop(acceptor, chain))
            .map_err(|e| (e, c"cannot start the service"))?;
        Ok(Self {
            _queue: queue,
            shared,
        })
    }

    pub(crate) fn state(&self) -> &ServiceState {
        &self.shared
    }
}

impl Drop for Service {
    /// Wakes the acceptor and resets the undecided connections; `_queue`
    /// then drops and waits for the work items.
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// The acceptor: runs until the service stops (its listener's shutdown
/// wakes the accept).
fn accept_loop(shared: Arc<ServiceState>, chain: &Chain) {
    while let Some(sock) = shared.acceptor.accept() {
        // The timeout counts from here, however long the worker waits.
        let accepted = Instant::<Monotonic>::now();
        shared.counters.connections.inc();
        // A kernel socket's connection holds no reference on its
        // namespace, and its close is not retried: never close one
        // gracefully here, reset it.
        let Ok(slot) = UniqueArc::new_uninit(GFP_KERNEL) else {
            shared.counters.overflows.inc();
            sock.sock().abort();
            continue;
        };
        let sock: Arc<KernelSocket> = slot.write(sock).into();
        match shared.admit(&sock) {
            Admitted::Yes => {}
            Admitted::Full => {
                shared.counters.overflows.inc();
                sock.sock().abort();
                continue;
            }
            Admitted::Stopping => {
                sock.sock().abort();
                return;
            }
        }
        let (server, conn) = (shared.clone(), sock.clone());
        let spawned = chain.spawn(move |_| serve(&server, &conn, accepted));
        if spawned.is_err() && shared.leave(&sock) {
            shared.counters.overflows.inc();
            sock.sock().abort();
        }
    }
}

/// What the first bytes decided.
enum Decided {
    Rule(Arc<Rule>),
    /// No rule matched.
    NoRule,
    /// A silent client, reset by the service's settings.
    Reset,
}

/// Decides one connection and hands it off.
fn serve(shared: &ServiceState, sock: &Arc<KernelSocket>, accepted: Instant<Monotonic>) {
    let endpoints = sock.local().and_then(|l| Ok((l, sock.peer()?)));
    let hash = match &endpoints {
        Ok((_, remote)) => rules::client_hash(remote.family.blob(), &remote.addr),
        Err(_) => 0,
    };
    let decided = endpoints
        .as_ref()
        .map_err(|e| *e)
        .and_then(|_| decide(shared, sock, hash, accepted));
    if !shared.leave(sock) {
        return; // The service stopped and reset the connection.
    }
    let (Ok((local, remote)), Ok((decided, bytes))) = (endpoints, decided) else {
        // Gone, or broken, before it was decided.
        sock.sock().abort();
        return;
    };
    let net = sock.net();
    let conn = Conn {
        net,
        local,
        remote,
        hash,
        bytes,
    };
    let rule = match decided {
        Decided::Reset => {
            sock.sock().abort();
            return;
        }
        Decided::NoRule => None,
        Decided::Rule(rule) => {
            let index = rule_index(shared, &rule);
            rule.hits.inc();
            rule.bytes.add(bytes as u64);
            match hand_off(shared, &conn, &rule, index) {
                HandOff::Migrated => {
                    shared.counters.migrated.inc();
                    return;
                }
                HandOff::Gone => return,
                HandOff::NoPeer => {}
            }
            rule.failures.inc();
            Some(index)
        }
    };
    fall_back(shared, &conn, sock, rule);
}

/// The connection being dispatched.
struct Conn<'a> {
    net: &'a Net,
    local: Endpoint,
    remote: Endpoint,
    hash: u32,
    /// The first bytes the rules looked at.
    bytes: usize,
}

impl Conn<'_> {
    fn mapping(&self, flow_id: u32) -> FlowMapping {
        FlowMapping {
            family: self.local.family.blob(),
            flow_id,
            client_port: self.remote.port,
            vip_port: self.local.port,
            client_addr: self.remote.addr,
            vip_addr: self.local.addr,
        }
    }

    fn still_here(&self) -> bool {
        Sock::lookup(self.net, Lookup::Established, &self.local, &self.remote).is_some()
    }
}

/// Where `rule` is in the service's list now, for events (`u32::MAX`
/// once it is gone).
fn rule_index(shared: &ServiceState, rule: &Arc<Rule>) -> u32 {
    let rules = shared.rules();
    rules
        .iter()
        .position(|r| Arc::ptr_eq(r, rule))
        .map_or(u32::MAX, |i| i as u32)
}

/// Reads the first bytes (without consuming them) until a rule decides,
/// `max_bytes` are there, the stream ends or the timeout, counted from
/// `accepted`, runs out. Returns the decision and how many bytes it
/// looked at.
fn decide(
    shared: &ServiceState,
    sock: &KernelSocket,
    hash: u32,
    accepted: Instant<Monotonic>,
) -> Result<(Decided, usize)> {
    let config = &shared.config;
    let max = config.max_bytes as usize;
    let mut buf = KVVec::from_elem(0u8, max, GFP_KERNEL)?;
    let mut have = 0;
    for round in 1.. {
        let elapsed = accepted.elapsed().as_millis().max(0) as u64;
        let left = u64::from(config.timeout_ms).saturating_sub(elapsed) as u32;
        let mut ran_out = false;
        // Each round looks at every byte again: a client that trickles
        // its request a byte at a time gets MAX_ROUNDS looks, no more.
        let mut complete = have >= max || round >= MAX_ROUNDS;
        if !complete {
            // Past the timeout (a worker that came late), one last look
            // at what came meanwhile, hardly waiting.
            let (n, eof) = sock.peek(&mut buf, have, left.max(1))?;
            // No new byte and no end: the wait ran out. (Its jiffies may
            // end a tick before the clock says the timeout passed, so the
            // wait, not the clock, says so.)
            ran_out = left == 0 || (!eof && n <= have);
            complete = ran_out || eof || n >= max;
            have = n.max(have).min(max);
        }
        let timed_out = ran_out && have < max;
        if complete && have == 0 && config.reset_silent {
            if timed_out {
                shared.counters.timeouts.inc();
            }
            return Ok((Decided::Reset, 0));
        }
        let list = shared.rules();
        let mut matches = KVec::with_capacity(list.len(), GFP_KERNEL)?;
        for rule in list.iter() {
            matches.push(rule.as_match(), GFP_KERNEL)?;
        }
        let data = buf.get(..have).unwrap_or(&[]);
        let decided = match rules::first_match(matches.iter(), data, complete, hash) {
            Decision::Rule(i) => list
                .get(i)
                .map_or(Decided::NoRule, |r| Decided::Rule(r.clone())),
            Decision::NoRule => Decided::NoRule,
            Decision::NeedMore if !complete => continue,
            Decision::NeedMore => Decided::NoRule,
        };
        if timed_out {
            shared.counters.timeouts.inc();
        }
        return Ok((decided, have));
    }
    Err(EINVAL)
}

enum HandOff {
    Migrated,
    /// The connection is gone: reset after an outcome nobody knows, or
    /// by its client.
    Gone,
    /// No peer of the pool took it; it is still here.
    NoPeer,
}

/// Migrates the connection to a peer of `rule`'s pool, trying the next
/// one after each failure that left the connection here.
fn hand_off(shared: &ServiceState, conn: &Conn<'_>, rule: &Rule, index: u32) -> HandOff {
    let cluster = &shared.cluster;
    let (Some(node), Some(pool)) = (cluster.node(), shared.pools.get(&rule.pool)) else {
        return HandOff::NoPeer;
    };
    let mut tried = KVec::new();
    while let Some(peer) = pool.pick(&cluster.peers, &node, conn.hash, &tried) {
        // A stopping service waits for this work item: one hand-off at
        // most, not one per peer of the pool.
        if shared.stopping() && !tried.is_empty() {
            return HandOff::NoPeer;
        }
        let result = migrate::migrate(
            conn.net,
            cluster,
            &conn.local,
            &conn.remote,
            peer.name(),
            HANDOFF_TIMEOUT_MS,
            OnFailure::Local,
        );
        match result {
            Ok(outcome) => {
                let d = &peer.dispatch;
                d.connections.inc();
                d.bytes.add(conn.bytes as u64);
                let mapping = conn.mapping(outcome.flow_id);
                events::notify(
                    conn.net,
                    &Event {
                        kind: EventKind::Dispatched,
                        flow: Some(&mapping),
                        peer: Some((peer.addr.family, &peer.addr.addr)),
                        errno: None,
                        rule: Some(index),
                        stages: None,
                    },
                );
                return HandOff::Migrated;
            }
            Err(failure) => {
                shared.counters.failures.inc();
                if !conn.still_here() {
                    return HandOff::Gone;
                }
                // The connection itself cannot move (unmovable, too
                // large, not established), or this node could not
                // forward it (its forwarding table is full): no peer
                // would take it.
                if [EOPNOTSUPP, EINVAL, EMSGSIZE, ENOENT, ENOSPC].contains(&failure.errno) {
                    return HandOff::NoPeer;
                }
                peer.dispatch.failures.inc();
                if tried.push(peer, GFP_KERNEL).is_err() {
                    return HandOff::NoPeer;
                }
            }
        }
    }
    HandOff::NoPeer
}

/// Applies the service's fallback to a connection no peer took.
fn fall_back(shared: &ServiceState, conn: &Conn<'_>, sock: &KernelSocket, rule: Option<u32>) {
    shared.counters.fallbacks.inc();
    let mapping = conn.mapping(0);
    let mut event = Event {
        kind: EventKind::Fallback,
        flow: Some(&mapping),
        peer: None,
        errno: None,
        rule,
        stages: None,
    };
    if let Fallback::Local(port) = shared.config.fallback {
        match hand_local(shared, conn, port) {
            Ok(()) => {
                events::notify(conn.net, &event);
                return;
            }
            Err(failure) => event.errno = Some(failure.errno),
        }
    }
    events::notify(conn.net, &event);
    sock.sock().abort();
}

/// Hands the connection to the local listener on `port` (same address):
/// captured, then injected there. The listener is checked first; if it
/// fills up in between, the connection is reset.
fn hand_local(shared: &ServiceState, conn: &Conn<'_>, port: u16) -> Result<(), Failure> {
    let cluster = &shared.cluster;
    let target = Endpoint { port, ..conn.local };
    Sock::lookup(conn.net, Lookup::Listener, &target, &conn.remote)
        .ok_or((ECONNREFUSED, c"no local listener on the fallback port"))?
        .can_accept()
        .map_err(|e| (e, c"the local listener cannot take the connection"))?;
    let mut blob = KVVec::new();
    capture::capture(
        conn.net,
        &cluster.hold,
        &conn.local,
        &conn.remote,
        None,
        |b| {
            blob.extend_from_slice(b, GFP_KERNEL)
                .map_err(|_| Failure::oom())
        },
    )?;
    // Just encoded here: it decodes.
    let captured = wire::decode(&blob).map_err(|e| Failure::blob(EINVAL, e))?;
    let injected = inject::inject(conn.net, &captured, &cluster.forward, Some(port));
    if injected.is_err() {
        // Frozen here and not taken there: the client must hear of it.
        inject::reset_client(conn.net, &captured, &cluster.hold);
    }
    injected
}
