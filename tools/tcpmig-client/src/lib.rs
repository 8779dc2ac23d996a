//! `tcpmig_client`: the `tcpmig` kernel module's generic netlink family,
//! for applications and for the `tcpmig` CLI.
//!
//! An application that owns a connected TCP socket hands it to a peer
//! node with [`Client::migrate_fd`]: the kernel captures the connection,
//! sends it to the peer's migrator and waits for the answer. On success
//! the connection lives on the peer (its client packets are forwarded
//! there from this node) and the local socket is frozen: close it, that
//! sends nothing. On failure the kernel rolled the connection back and
//! the socket goes on here (or was reset, with [`OnFailure::Reset`]).
//!
//! ```no_run
//! use std::net::TcpListener;
//! use std::os::fd::AsFd;
//! use tcpmig_client::{Client, MigrateOptions};
//!
//! let client = Client::connect()?;
//! let (conn, _) = TcpListener::bind("0.0.0.0:8080")?.accept()?;
//! let migrated = client.migrate_fd(conn.as_fd(), "be1", &MigrateOptions::default())?;
//! println!("flow {:#010x}", migrated.flow_id);
//! drop(conn); // frozen: closing it sends nothing
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Migrating needs CAP_NET_ADMIN in the initial user namespace (or in
//! the network namespace's own with the module's `userns_admin` on), and
//! the node set up as a cluster node with the peer configured
//! (`Documentation/tcpmig/cluster.rst`).

mod error;
pub mod genl;
pub mod migrate;
pub mod uapi;

pub use error::Error;
pub use genl::Client;
pub use migrate::{MigrateOptions, Migrated};
pub use uapi::OnFailure;
