//! `tcpmig`: configure and inspect tcpmig, the TCP connection migrator.
//!
//! In the style of `ip` and `wg`: `tcpmig [-n NETNS] [-j] OBJECT VERB`.
//! Exit status: 0 on success, 1 on an error (one line on stderr), 2 on
//! a usage error.

mod blob;
mod config;
mod conn;
mod error;
mod genl;
mod netns;
mod status;
mod uapi;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Show this namespace's tcpmig status and configuration
    Status,
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
}

#[derive(Subcommand)]
enum ConnVerb {
    /// Capture the connection LOCAL <-> REMOTE (ADDR:PORT, [ADDR6]:PORT)
    /// of this namespace into a blob on stdout; the connection is then
    /// frozen here (needs CAP_NET_ADMIN)
    #[command(visible_alias = "dump")]
    Capture {
        local: std::net::SocketAddr,
        remote: std::net::SocketAddr,
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
    },
}

fn run(cli: Cli) -> Result<(), error::Error> {
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
            verb: ConfigVerb::Set { migrator_port },
        } => config::set(&genl::Client::connect()?, migrator_port),
    }
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
