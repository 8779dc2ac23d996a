// SPDX-License-Identifier: GPL-2.0

//! The content dispatcher: a front-end's services, their rules and the
//! pools of peers the rules name (`Documentation/tcpmig/dispatch.rst`).
//!
//! The dispatcher terminates the client's handshake on a virtual address,
//! waits for its first bytes and migrates the connection to the back-end
//! they select, all in the kernel: no front-end application is involved.

pub(crate) mod pool;
pub(crate) mod rule;
pub(crate) mod service;

use crate::error::Failure;
use crate::node::Cluster;
use crate::peers::MAX_NAME;
use crate::sys::net::Net;
use crate::sys::sock::Endpoint;
use crate::sys::users::UserShare;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use pool::Pools;
use service::{Config, Service, ServiceState};

/// Services per namespace.
const MAX_SERVICES: usize = 64;

/// A peer's or a pool's name: 1 to 15 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    bytes: [u8; MAX_NAME],
    len: u8,
}

impl Name {
    pub(crate) fn new(name: &[u8]) -> Option<Self> {
        if name.is_empty() || name.len() > MAX_NAME {
            return None;
        }
        let mut bytes = [0; MAX_NAME];
        bytes.get_mut(..name.len())?.copy_from_slice(name);
        Some(Self {
            bytes,
            len: name.len() as u8,
        })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// A namespace's dispatcher.
#[pin_data]
pub(crate) struct Dispatcher {
    #[pin]
    services: Mutex<KVec<Service>>,
    pools: Arc<Pools>,
    /// What every service migrates with.
    cluster: Arc<Cluster>,
    /// The share of the namespace's owner, if a user owns it.
    user: Option<Arc<UserShare>>,
}

impl Dispatcher {
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        user: Option<Arc<UserShare>>,
    ) -> Result<impl PinInit<Self, Error>> {
        let pools = Arc::pin_init(Pools::new(), GFP_KERNEL)?;
        Ok(try_pin_init!(Self {
            services <- new_mutex!(KVec::new()),
            pools,
            cluster,
            user,
        }))
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Starts a service on `vip`.
    pub(crate) fn add(&self, net: &Net, vip: Endpoint, config: Config) -> Result<(), Failure> {
        let mut services = self.services.lock();
        if services.iter().any(|s| s.state().vip == vip) {
            return Err((EEXIST, c"a service runs on that address and port").into());
        }
        if services.len() >= MAX_SERVICES {
            return Err((ENOSPC, c"too many services (64)").into());
        }
        // Room first: a started service must not be dropped (and waited
        // for) under the lock.
        services
            .reserve(1, GFP_KERNEL)
            .map_err(|_| Failure::oom())?;
        let service = Service::start(
            net,
            vip,
            config,
            self.pools.clone(),
            self.cluster.clone(),
            self.user.clone(),
        )?;
        services
            .push_within_capacity(service)
            .map_err(|_| Failure::oom())?;
        Ok(())
    }

    /// Stops the service on `vip`, resetting its undecided connections.
    pub(crate) fn remove(&self, vip: &Endpoint) -> Result<(), Failure> {
        let removed = {
            let mut services = self.services.lock();
            let i = services
                .iter()
                .position(|s| s.state().vip == *vip)
                .ok_or((ENOENT, c"no service on that address and port"))?;
            services.remove(i).map_err(|_| (ENOENT, c"no service"))?
        };
        // Stops outside the lock: its work items may take a while.
        drop(removed);
        Ok(())
    }

    /// Calls `f` with the service on `vip`.
    pub(crate) fn with_service<R>(
        &self,
        vip: &Endpoint,
        f: impl FnOnce(&ServiceState) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let services = self.services.lock();
        let service = services
            .iter()
            .find(|s| s.state().vip == *vip)
            .ok_or((ENOENT, c"no service on that address and port"))?;
        f(service.state())
    }

    /// Calls `f` with the `i`th service, for listing.
    pub(crate) fn with_nth<R>(&self, i: usize, f: impl FnOnce(&ServiceState) -> R) -> Option<R> {
        let services = self.services.lock();
        services.get(i).map(|s| f(s.state()))
    }

    /// Whether a rule of any service names the pool `name`.
    pub(crate) fn pool_in_use(&self, name: &Name) -> bool {
        let services = self.services.lock();
        services
            .iter()
            .any(|s| s.state().rules().iter().any(|r| r.pool == *name))
    }
}
