//! `tcpmig`: configure and inspect tcpmig, the TCP connection migrator.
//!
//! In the style of `ip` and `wg`: `tcpmig [-n NETNS] [-j] [-s] OBJECT
//! VERB [ARGS] [KEYWORD VALUE]...`, the objects and verbs named after the
//! netlink family's ops (`conn-migrate`: `tcpmig conn migrate`). Each
//! object is a file of its own, with its verbs and their `run`. Exit
//! status: 0 on success, 1 on an error (one line on stderr), 2 on a
//! usage error.

mod blob;
mod config;
mod conn;
mod flow;
mod monitor;
mod netns;
mod peer;
mod pool;
mod rule;
mod service;
mod status;
mod table;
mod words;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;
use tcpmig_client::genl::Client;

#[derive(Parser)]
#[command(
    name = "tcpmig",
    version,
    about = "Configure and inspect tcpmig, the TCP connection migrator",
    after_help = "Verbs take keywords, as `ip` does: \
                  `tcpmig conn migrate L R to be1 timeout 2000 on-failure reset`."
)]
struct Cli {
    /// Run in network namespace NETNS (a name under /run/netns, or a path)
    #[arg(short = 'n', long = "netns", value_name = "NETNS", global = true)]
    netns: Option<String>,
    /// Print JSON
    #[arg(short = 'j', long = "json", global = true)]
    json: bool,
    /// Show more counters (service list: the rules and the peers too)
    #[arg(short = 's', long = "stats", global = true)]
    stats: bool,
    #[command(subcommand)]
    object: Object,
}

/// What every verb may look at: the global options but the namespace.
#[derive(Clone, Copy)]
pub struct Globals {
    pub json: bool,
    pub stats: bool,
}

#[derive(Subcommand)]
enum Object {
    /// Show this namespace's tcpmig status, configuration and counters
    #[command(visible_alias = "stats")]
    Status,
    /// Change this namespace's configuration (needs CAP_NET_ADMIN)
    Config {
        #[command(subcommand)]
        verb: config::Verb,
    },
    /// Add, remove and list peers: the nodes this one exchanges
    /// connections with
    Peer {
        #[command(subcommand)]
        verb: peer::Verb,
    },
    /// Move live connections: migrate one to a peer, capture one into a
    /// blob, inject a blob
    #[command(
        after_help = "`dump` and `restore`, the former names of capture and inject, \
                      still work as aliases for existing scripts."
    )]
    Conn {
        #[command(subcommand)]
        verb: conn::Verb,
    },
    /// List the live flows: forwarded to a peer, or decapsulated here
    Flow {
        #[command(subcommand)]
        verb: flow::Verb,
    },
    /// Add, remove and list services: the kernel listens on VIP:PORT and
    /// migrates each new connection by its first bytes (see rule)
    Service {
        #[command(subcommand)]
        verb: service::Verb,
    },
    /// Add, remove and list services' rules: which pool a connection
    /// goes to, by its first bytes
    Rule {
        #[command(subcommand)]
        verb: rule::Verb,
    },
    /// Add, change, remove and list pools: named sets of peers that
    /// service rules hand connections to
    Pool {
        #[command(subcommand)]
        verb: pool::Verb,
    },
    /// Inspect connection blobs
    Blob {
        #[command(subcommand)]
        verb: blob::Verb,
    },
    /// Print this namespace's migration events as they happen (migrated,
    /// rolled-back, ambiguous, accepted, refused, flow-ended; and from
    /// services: dispatched, with the rule and the peer, and fallback),
    /// until interrupted; says "monitoring events" on stderr once
    /// subscribed (needs CAP_NET_ADMIN)
    Monitor,
    /// `conn migrate`, by its name of earlier releases (deprecated)
    #[command(hide = true)]
    Migrate(conn::MigrateArgs),
    /// `flow list`, by its name of earlier releases (deprecated)
    #[command(hide = true)]
    Flows,
}

fn run(cli: Cli) -> Result<(), tcpmig_client::Error> {
    if let Some(name) = &cli.netns {
        netns::enter(name)?;
    }
    let globals = Globals {
        json: cli.json,
        stats: cli.stats,
    };
    match cli.object {
        Object::Status => status::show(&Client::connect()?, globals.json),
        Object::Config { verb } => config::run(verb),
        Object::Peer { verb } => peer::run(verb, globals),
        Object::Conn { verb } => conn::run(verb, globals),
        Object::Flow { verb } => flow::run(verb, globals),
        Object::Service { verb } => service::run(verb, globals),
        Object::Rule { verb } => rule::run(verb, globals),
        Object::Pool { verb } => pool::run(verb, globals),
        Object::Blob { verb } => blob::run(verb, globals),
        Object::Monitor => monitor::run(&Client::connect()?, globals.json),
        Object::Migrate(args) => conn::run(conn::Verb::Migrate(args), globals),
        Object::Flows => flow::run(flow::Verb::List, globals),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Cli {
        Cli::try_parse_from(line.split_whitespace()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn migrate(line: &str) -> conn::Migrate {
        match parse(line).object {
            Object::Conn {
                verb: conn::Verb::Migrate(args),
            }
            | Object::Migrate(args) => args.resolve().unwrap_or_else(|e| panic!("{line}: {e}")),
            _ => panic!("{line}: not a migration"),
        }
    }

    fn pool(line: &str) -> pool::Change {
        match parse(line).object {
            Object::Pool {
                verb: pool::Verb::Add(args) | pool::Verb::Set(args),
            } => args.resolve().unwrap_or_else(|e| panic!("{line}: {e}")),
            _ => panic!("{line}: not a pool change"),
        }
    }

    fn service(line: &str) -> (std::net::SocketAddr, service::ServiceOptions) {
        match parse(line).object {
            Object::Service {
                verb: service::Verb::Add(args),
            } => args.resolve().unwrap_or_else(|e| panic!("{line}: {e}")),
            _ => panic!("{line}: not a service add"),
        }
    }

    fn config(line: &str) -> config::Set {
        match parse(line).object {
            Object::Config {
                verb: config::Verb::Set(args),
            } => args.resolve().unwrap_or_else(|e| panic!("{line}: {e}")),
            _ => panic!("{line}: not a config set"),
        }
    }

    /// The keywords, and the flags and names of earlier releases, say
    /// the same.
    #[test]
    fn old_forms_parse_as_the_new() {
        let new = migrate(
            "tcpmig conn migrate 192.0.2.50:7000 192.0.2.1:40000 to be1 timeout 2000 on-failure reset",
        );
        for old in [
            "tcpmig migrate 192.0.2.50:7000 192.0.2.1:40000 --to be1 --timeout 2000 --on-failure reset",
            "tcpmig migrate --to=be1 192.0.2.50:7000 192.0.2.1:40000 --on-failure=reset --timeout 2000",
            "tcpmig -j conn migrate 192.0.2.50:7000 192.0.2.1:40000 --to be1 timeout 2000 --on-failure reset",
        ] {
            assert_eq!(migrate(old), new, "{old}");
        }
        assert!(matches!(parse("tcpmig flows").object, Object::Flows));
        assert!(matches!(
            parse("tcpmig flow list").object,
            Object::Flow {
                verb: flow::Verb::List
            }
        ));

        let new = pool("tcpmig pool add web policy least-flows members be1,be2");
        for old in [
            "tcpmig pool add web --policy least-flows be1 be2",
            "tcpmig pool add web be1 be2 --policy=least-flows",
            "tcpmig pool add web --policy least-flows members be1,be2",
        ] {
            assert_eq!(pool(old), new, "{old}");
        }
        assert_eq!(
            pool("tcpmig pool set web members be3"),
            pool("tcpmig pool set web be3")
        );
        assert_eq!(
            pool("tcpmig pool set web policy round-robin"),
            pool("tcpmig pool set web --policy round-robin")
        );

        let new = service(
            "tcpmig service add 192.0.2.100:80 timeout 500 max-bytes 1024 fallback local local-port 8080 silent reset",
        );
        assert_eq!(
            service(
                "tcpmig service add 192.0.2.100:80 --timeout 500 --max-bytes 1024 --fallback local --local-port 8080 --silent reset"
            ),
            new
        );
        assert_eq!(
            service("tcpmig service add --fallback=local 192.0.2.100:80 local-port 8080 timeout 500 --max-bytes 1024 silent reset"),
            new
        );

        assert_eq!(
            config("tcpmig config set migrator-port 4800 cluster-key-file -"),
            config("tcpmig config set --migrator-port 4800 --cluster-key-file -")
        );

        let rule = |line: &str| match parse(line).object {
            Object::Rule {
                verb: rule::Verb::Add { at, words, .. },
            }
            | Object::Service {
                verb:
                    service::Verb::Rule {
                        verb: rule::Verb::Add { at, words, .. },
                    },
            } => rule::parse_add(at, &words).unwrap_or_else(|e| panic!("{line}: {e}")),
            _ => panic!("{line}: not a rule add"),
        };
        let added = rule("tcpmig rule add 192.0.2.100:80 at 0 host .example.com pool web");
        for old in [
            "tcpmig rule add 192.0.2.100:80 --at 0 host .example.com pool web",
            "tcpmig service rule add 192.0.2.100:80 at 0 host .example.com pool web",
        ] {
            assert_eq!(added, rule(old), "{old}");
        }

        // -s is global, as in `ip`; `service list -s` still says it.
        for line in ["tcpmig -s service list", "tcpmig service list -s"] {
            assert!(parse(line).stats, "{line}");
        }
    }

    #[test]
    fn a_keyword_given_twice_is_refused() {
        let args = |line: &str| match parse(line).object {
            Object::Conn {
                verb: conn::Verb::Migrate(args),
            } => args.resolve(),
            _ => panic!("{line}: not a migration"),
        };
        assert_eq!(
            args("tcpmig conn migrate 192.0.2.50:7000 192.0.2.1:40000 to be1 --to be2").err(),
            Some("to is given twice (once as --to)".into())
        );
        assert_eq!(
            args("tcpmig conn migrate 192.0.2.50:7000 192.0.2.1:40000 timeout 5").err(),
            Some("expected `to PEER`".into())
        );
        assert!(Cli::try_parse_from(["tcpmig", "conn", "migrate", "192.0.2.50:7000"]).is_err());
    }

    #[test]
    fn the_table_is_sound() {
        Cli::command().debug_assert();
    }
}
