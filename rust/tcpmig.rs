// SPDX-License-Identifier: GPL-2.0

//! tcpmig: load-balances TCP by migrating live connections between nodes.
//!
//! The crate root only registers and unregisters, in mirrored order.
//! `Documentation/tcpmig/` describes the design and the data path.

use kernel::prelude::*;

// The bindings wall: the one room that calls C (`scripts/check-layers`).
mod sys;
// Pure code shared with the host tests: the blob and frame formats, and
// the dispatcher's decisions. Their API is public there; the module uses
// part of it.
#[allow(unreachable_pub, dead_code, unused_imports)]
mod rules;
#[allow(unreachable_pub, dead_code, unused_imports)]
mod wire;

// What every room uses: errors, counters, events, the blob in the
// kernel, the kernel listeners' accept loop.
mod acceptor;
mod blob;
mod error;
mod events;
mod peers;
mod stages;
mod stats;

// The data path, in the order a hand-off takes it: the dispatcher's
// decision, the front-end's migration (capture, hold, the request to the
// peer), the back-end's receive (decap entry, inject), and forwarding.
mod capture;
mod decap;
mod dispatch;
mod forward;
mod hold;
mod inject;
mod migrate;
mod migrator;
mod node;
mod receive;

// The namespace that owns it all, and the commands that reach it.
mod netlink;
mod netns;

#[cfg(CONFIG_KUNIT)]
mod kunit;
#[cfg(CONFIG_KUNIT)]
mod roundtrip;
#[cfg(tcpmig_bench)]
mod scale;

module! {
    type: Tcpmig,
    name: "tcpmig",
    authors: ["The tcpmig developers"],
    description: "Live TCP connection migration between cluster nodes",
    license: "GPL",
}

/// The module's registrations; fields drop in declaration order, the
/// reverse of their registration.
struct Tcpmig {
    _family: sys::genl::FamilyRegistration,
    _pernet: sys::net::PernetRegistration<netns::NetState>,
    _charge: sys::charge::Watch,
}

impl kernel::Module for Tcpmig {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Before any namespace's state, which may take a user's share.
        sys::users::init();
        let charge = sys::charge::Watch::start();
        let pernet = netns::PERNET.register()?;
        // On error `pernet` drops here and unregisters.
        let family = sys::genl::register_family()?;
        pr_info!("loaded\n");
        Ok(Self {
            _family: family,
            _pernet: pernet,
            _charge: charge,
        })
    }
}
