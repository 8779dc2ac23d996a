// SPDX-License-Identifier: GPL-2.0

//! tcpmig: load-balances TCP by migrating live connections between nodes.
//!
//! The crate root only registers and unregisters, in mirrored order.
//! `Documentation/tcpmig/` describes the design and the data path.

use kernel::prelude::*;

mod blob;
mod capture;
mod decap;
mod dispatch;
mod error;
mod events;
mod hold;
mod inject;
mod migrate;
mod migrator;
mod netlink;
mod netns;
mod node;
mod peers;
// The dispatcher's decisions, pure code shared with the host tests.
#[allow(unreachable_pub, dead_code, unused_imports)]
mod rules;
#[cfg(tcpmig_bench)]
mod scale;
mod stages;
mod stats;
mod sys;
// The blob format is a library shared with user space, where its API is
// public; the module uses part of it.
#[allow(unreachable_pub, dead_code, unused_imports)]
mod wire;

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
}

impl kernel::Module for Tcpmig {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let pernet = netns::PERNET.register()?;
        // On error `pernet` drops here and unregisters.
        let family = sys::genl::register_family()?;
        pr_info!("loaded\n");
        Ok(Self {
            _family: family,
            _pernet: pernet,
        })
    }
}
