//! `tcpmig`: configure and inspect tcpmig, the TCP connection migrator.
//!
//! In the style of `ip` and `wg`: `tcpmig [-n NETNS] [-j] OBJECT VERB`.
//! Exit status: 0 on success, 1 on an error (one line on stderr), 2 on
//! a usage error.

mod blob;
mod config;
mod conn;
mod flows;
mod monitor;
mod netns;
mod peer;
mod pool;
mod service;
mod status;
mod table;

use clap::{CommandFactory, Parser, Subcommand};
use peer::PeerName;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use tcpmig_client::genl;
use tcpmig_client::uapi::{OnFailure, TIMEOUT_MS_MAX};

#[derive(Parser)]
#[command(
    name = "tcpmig",
    version,
    about = "Configure and inspect tcpmig, the TCP connection migrator"
)]
struct Cli {
    /// Run in network namespace NETNS (a name under /run/netns, or a path)
    #[arg(short = 'n', long = "netns", value_name = "NETNS", global = true)]
    netns: Option<String>,
    /// Print JSON
    #[arg(short = 'j', long = "json", global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show this namespace's tcpmig status, configuration and counters
    #[command(visible_alias = "stats")]
    Status,
    /// List the live flows: migrated from here and forwarded to a peer,
    /// or migrated to here and decapsulated (KIND CLIENT VIP PEER FLOW-ID
    /// AGE IDLE PACKETS)
    Flows,
    /// Print this namespace's migration events as they happen (migrated,
    /// rolled-back, ambiguous, accepted, refused, flow-ended; and from
    /// services: dispatched, with the rule and the peer, and fallback),
    /// until interrupted; says "monitoring events" on stderr once
    /// subscribed
    Monitor,
    /// Change this namespace's configuration (needs CAP_NET_ADMIN)
    Config {
        #[command(subcommand)]
        verb: ConfigVerb,
    },
    /// Move live connections: capture one into a blob, inject a blob
    #[command(
        after_help = "`dump` and `restore`, the former names of capture and inject, \
                            still work as aliases for existing scripts."
    )]
    Conn {
        #[command(subcommand)]
        verb: ConnVerb,
    },
    /// Inspect connection blobs
    Blob {
        #[command(subcommand)]
        verb: BlobVerb,
    },
    /// Add, remove and list peers: the nodes this one exchanges
    /// connections with
    Peer {
        #[command(subcommand)]
        verb: PeerVerb,
    },
    /// Add, remove and list services (the kernel listens on VIP:PORT and
    /// migrates each new connection by its first bytes) and their rules
    Service {
        #[command(subcommand)]
        verb: service::ServiceVerb,
    },
    /// Add, change, remove and list pools: named sets of peers that
    /// service rules hand connections to
    Pool {
        #[command(subcommand)]
        verb: pool::PoolVerb,
    },
    /// Migrate a connection of this namespace to a peer (needs
    /// CAP_NET_ADMIN)
    ///
    /// Migrate the connection LOCAL <-> REMOTE of this namespace to peer
    /// PEER: the kernel captures it, sends it to PEER's migrator and waits
    /// for the answer. Then the connection lives on PEER and its client
    /// packets are forwarded there from here. On failure it goes on here,
    /// or is reset if --on-failure reset says so, and the exit status is 1.
    Migrate {
        /// The connection's local end: ADDR:PORT or [ADDR6]:PORT
        #[arg(value_parser = conn::parse_endpoint)]
        local: SocketAddr,
        /// The connection's remote end (the client): ADDR:PORT or
        /// [ADDR6]:PORT
        #[arg(value_parser = conn::parse_endpoint)]
        remote: SocketAddr,
        /// The peer to migrate it to (see tcpmig peer list)
        #[arg(long = "to", value_name = "PEER")]
        to: PeerName,
        /// How long to wait for the peer's answer, in ms (1-60000;
        /// default 2000)
        #[arg(
            long,
            value_name = "MS",
            value_parser = clap::value_parser!(u32).range(1..=i64::from(TIMEOUT_MS_MAX))
        )]
        timeout: Option<u32>,
        /// What becomes of the connection if the migration fails
        /// (default local)
        #[arg(long, value_enum, value_name = "POLICY")]
        on_failure: Option<OnFailure>,
    },
}

#[derive(Subcommand)]
enum PeerVerb {
    /// Add a peer (needs CAP_NET_ADMIN)
    ///
    /// Add peer NAME at ADDR, whose migrator listens on port P (by default
    /// on the port this namespace's migrator listens on). The migrator
    /// takes connections from peers only, and migrates connections to
    /// them only.
    #[command(override_usage = "tcpmig peer add <NAME> <ADDR> [port <P>]")]
    Add {
        /// A name for the peer, unique here: 1-15 characters of
        /// A-Z a-z 0-9 _ . -
        name: PeerName,
        /// The peer's address, IPv4 or IPv6
        addr: IpAddr,
        /// The word `port`, followed by P
        #[arg(value_name = "port", value_parser = ["port"], requires = "port")]
        port_keyword: Option<String>,
        /// The peer's migrator port (1-65534: its flow port, P + 1, is a
        /// port too)
        #[arg(value_name = "P", value_parser = clap::value_parser!(u16).range(1..=i64::from(u16::MAX - 1)))]
        port: Option<u16>,
    },
    /// Remove peer NAME (needs CAP_NET_ADMIN)
    Del { name: PeerName },
    /// List the peers: NAME ADDR PORT, and where the kernel reports them
    /// STATE (up, or down while the last connect to its migrator failed:
    /// pools skip it) FLOWS DISPATCHED DISPATCHED-BYTES DISPATCH-FAILURES
    List,
}

#[derive(Subcommand)]
enum ConnVerb {
    /// Capture the connection LOCAL <-> REMOTE (ADDR:PORT, [ADDR6]:PORT)
    /// of this namespace into a blob on stdout; the connection is then
    /// frozen here (needs CAP_NET_ADMIN)
    #[command(visible_alias = "dump")]
    Capture {
        #[arg(value_parser = conn::parse_endpoint)]
        local: SocketAddr,
        #[arg(value_parser = conn::parse_endpoint)]
        remote: SocketAddr,
    },
    /// Inject a blob from stdin: the connection waits in the accept queue
    /// of this namespace's listener on its local address (needs CAP_NET_ADMIN)
    #[command(visible_alias = "restore")]
    Inject {
        /// Send the blob without checking it here first, so the kernel's
        /// own checks answer (for testing them)
        #[arg(long)]
        no_check: bool,
    },
}

#[derive(Subcommand)]
enum BlobVerb {
    /// Decode and check a blob read from stdin
    Decode,
}

#[derive(Subcommand)]
enum ConfigVerb {
    /// Set configuration values; the others stay as they are
    Set {
        /// TCP port of this namespace's connection migrator (1-65535)
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        migrator_port: Option<u16>,
        /// File holding the cluster's 32-byte key (the same on every node
        /// of the cluster), raw or as 64 hex digits and an optional
        /// newline; `-` reads it from stdin. Make one with
        /// `head -c 32 /dev/urandom > FILE`
        #[arg(long, value_name = "FILE")]
        cluster_key_file: Option<String>,
    },
}

fn run(cli: Cli) -> Result<(), tcpmig_client::Error> {
    if let Some(name) = &cli.netns {
        netns::enter(name)?;
    }
    match cli.command {
        Command::Blob {
            verb: BlobVerb::Decode,
        } => blob::decode(cli.json),
        Command::Conn {
            verb: ConnVerb::Capture { local, remote },
        } => conn::capture(&genl::Client::connect()?, local, remote),
        Command::Conn {
            verb: ConnVerb::Inject { no_check },
        } => conn::inject(&genl::Client::connect()?, !no_check),
        Command::Status => status::show(&genl::Client::connect()?, cli.json),
        Command::Config {
            verb:
                ConfigVerb::Set {
                    migrator_port,
                    cluster_key_file,
                },
        } => {
            // A bad key file is reported even where the module is not loaded.
            let key = cluster_key_file
                .as_deref()
                .map(config::read_key)
                .transpose()?;
            config::set(&genl::Client::connect()?, migrator_port, key)
        }
        Command::Peer {
            verb: PeerVerb::Add {
                name, addr, port, ..
            },
        } => peer::add(&genl::Client::connect()?, &name, addr, port),
        Command::Peer {
            verb: PeerVerb::Del { name },
        } => peer::del(&genl::Client::connect()?, &name),
        Command::Peer {
            verb: PeerVerb::List,
        } => peer::list(&genl::Client::connect()?, cli.json),
        Command::Service { verb } => service::run(verb, cli.json),
        Command::Pool { verb } => pool::run(verb, cli.json),
        Command::Flows => flows::list(&genl::Client::connect()?, cli.json),
        Command::Monitor => monitor::run(&genl::Client::connect()?, cli.json),
        Command::Migrate {
            local,
            remote,
            to,
            timeout,
            on_failure,
        } => conn::migrate(
            &genl::Client::connect()?,
            local,
            remote,
            &to,
            &tcpmig_client::MigrateOptions {
                timeout_ms: timeout,
                on_failure,
            },
            cli.json,
        ),
    }
}

/// Exits with a usage error (status 2) of the subcommand at `path`
/// (`["pool", "add"]`), for what clap's parsing alone cannot check.
pub fn usage_error(path: &[&str], message: impl std::fmt::Display) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = &mut cli;
    for name in path {
        cmd = cmd
            .find_subcommand_mut(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"));
    }
    cmd.error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcpmig: {e}");
            ExitCode::FAILURE
        }
    }
}
