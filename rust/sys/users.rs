// SPDX-License-Identifier: GPL-2.0

//! Per-user shares: what all the network namespaces one user owns
//! (through user namespaces of theirs, `unshare -Urn`, nested ones
//! included) take together, so that making namespaces multiplies no
//! bound. A namespace the initial user namespace owns (an admin's) has no
//! share; a user namespace root made (a container's) is a share of its
//! own (`users.c`).
//!
//! The shares live in one module-wide list under a mutex, each counted by
//! the namespaces holding it ([`UserRef`]) and gone with the last; their
//! charges ([`Charge`]) are lock-free atomics, taken from any context.

use super::{bindings, net::Net};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// A count bounded by a limit the caller reads at each charge.
pub(crate) struct Charge(AtomicUsize);

impl Charge {
    pub(crate) const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Takes `n` if the count stays within `limit`.
    pub(crate) fn take(&self, n: usize, limit: usize) -> bool {
        let mut used = self.0.load(Ordering::Relaxed);
        loop {
            match used.checked_add(n) {
                Some(new) if new <= limit => {}
                _ => return false,
            }
            match self
                .0
                .compare_exchange_weak(used, used + n, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Gives back `n` taken before.
    pub(crate) fn give(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// What one user's namespaces take together.
pub(crate) struct UserShare {
    /// The user's uid, or (above 32 bits) a root-made user namespace.
    key: u64,
    /// Connections their services have not decided yet.
    pub(crate) pending: Charge,
    /// Memory of the packets held for their frozen flows.
    pub(crate) held: Charge,
}

impl UserShare {
    fn new(key: u64) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                key,
                pending: Charge::new(),
                held: Charge::new(),
            },
            GFP_KERNEL,
        )?)
    }

    /// A share of `uid` no namespace holds, for the KUnit suites.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn unlisted(uid: u32) -> Result<Arc<Self>> {
        Self::new(uid.into())
    }
}

/// A share and the namespaces holding it.
struct Listed {
    share: Arc<UserShare>,
    holders: usize,
}

kernel::sync::global_lock! {
    // SAFETY: `init` initializes it once, at module load, before any
    // namespace's state asks for a share.
    unsafe(uninit) static USERS: Mutex<KVec<Listed>> = KVec::new();
}

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Makes the list of shares; the module's init calls it first.
pub(crate) fn init() {
    if !INITIALIZED.swap(true, Ordering::AcqRel) {
        // SAFETY: Once, as the flag ensures, and before any use: the
        // module's init calls this before it registers anything.
        unsafe { USERS.init() };
    }
}

/// A namespace's hold on its owner's share.
pub(crate) struct UserRef(Arc<UserShare>);

impl UserRef {
    /// The share of `net`'s owner, `None` for an admin's namespace.
    pub(crate) fn of(net: &Net) -> Result<Option<Self>> {
        let mut key = 0u64;
        // SAFETY: `net` is live; `key` is a valid out-pointer.
        if !unsafe { bindings::tcpmig_net_owner(net.as_ptr(), &mut key) } {
            return Ok(None);
        }
        let mut users = USERS.lock();
        if let Some(listed) = users.iter_mut().find(|l| l.share.key == key) {
            listed.holders += 1;
            return Ok(Some(Self(listed.share.clone())));
        }
        let share = UserShare::new(key)?;
        users.push(
            Listed {
                share: share.clone(),
                holders: 1,
            },
            GFP_KERNEL,
        )?;
        Ok(Some(Self(share)))
    }

    pub(crate) fn share(&self) -> &Arc<UserShare> {
        &self.0
    }
}

impl Drop for UserRef {
    fn drop(&mut self) {
        let mut users = USERS.lock();
        if let Some(i) = users.iter().position(|l| Arc::ptr_eq(&l.share, &self.0)) {
            let last = users.get_mut(i).is_some_and(|l| {
                l.holders -= 1;
                l.holders == 0
            });
            if last {
                let _ = users.remove(i);
            }
        }
        // No buffer outlives the last share: the list is a static, never
        // dropped at unload.
        if users.is_empty() {
            *users = KVec::new();
        }
    }
}
