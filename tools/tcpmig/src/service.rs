//! `tcpmig service add|del|list`: the content dispatcher. The kernel
//! listens on a service's VIP:PORT, peeks at each new connection's first
//! bytes, and the first of the service's rules (`tcpmig rule`,
//! in `rule.rs`) that matches names the pool whose policy picks the peer
//! the connection is migrated to.

use crate::words::{choice, number, parse_vip, Words};
use crate::{peer, rule, Globals};
use clap::Subcommand;
use std::net::SocketAddr;
use tcpmig_client::genl::{find, int, u64_of, Attrs, Client};
use tcpmig_client::uapi::{
    addr_bytes, bytes_addr, Cmd, Fallback, ServiceAttr, Silent, SERVICE_MAX_BYTES_MAX,
    SERVICE_MAX_PENDING_MAX, SERVICE_TIMEOUT_MS_MAX,
};
use tcpmig_client::Error;

const ADD_HELP: &str = "\
Keywords:
  timeout MS          how long to wait for the first bytes before deciding on
                      what came, in ms (1-600000; default 2000)
  max-bytes N         the most first bytes looked at before deciding (1-16384;
                      default 4096)
  fallback FALLBACK   what becomes of a connection no rule matches or no peer
                      takes: reset (the default) or local
  local-port P        the local listener's port for fallback local (on the
                      VIP), which requires it
  silent SILENT       what becomes of a client that sent nothing before the
                      timeout: default (decide on no bytes, the default) or
                      reset
  max-pending N       the most connections being decided at once (1-16384;
                      default 128); beyond them new ones are reset and
                      counted as overflows

Example:
  tcpmig service add 192.0.2.100:80 timeout 500 fallback local local-port 8080";

#[derive(Subcommand)]
pub enum Verb {
    /// Add a service (needs CAP_NET_ADMIN)
    ///
    /// The kernel listens on VIP:PORT. For each new connection it peeks at
    /// up to max-bytes first bytes, for up to timeout ms, without
    /// consuming them; the first of the service's rules that matches (see
    /// tcpmig rule) picks a pool, and the pool's policy picks a peer
    /// (skipping peers whose migrator is down) the connection is migrated
    /// to; a failed hand-off is retried on the next peer. A connection no
    /// rule matches, or no peer takes, gets the fallback. Keywords not
    /// given take the kernel's defaults.
    #[command(
        override_usage = "tcpmig service add <VIP:PORT> [timeout <MS>] [max-bytes <N>] \
                          [fallback <FALLBACK>] [local-port <P>] [silent <SILENT>] \
                          [max-pending <N>]",
        after_help = ADD_HELP
    )]
    Add(AddArgs),
    /// Remove service VIP:PORT; its undecided connections are reset
    /// (needs CAP_NET_ADMIN)
    Del {
        #[arg(value_name = "VIP:PORT", value_parser = parse_vip)]
        vip: SocketAddr,
    },
    /// List the services, one line each: SERVICE TIMEOUT MAX-BYTES FALLBACK
    /// SILENT, the counters PENDING ACCEPTED MIGRATED FALLBACKS TIMEOUTS
    /// OVERFLOWS FAILURES, and MAX-PENDING (needs CAP_NET_ADMIN)
    ///
    /// With -s, each service's rules follow it (index, MATCH, pool, hits,
    /// bytes, failures), then the peers with their health and dispatch
    /// counters (see tcpmig peer list).
    ///
    /// With -j: an array of services, each with its "rules" array; with -j
    /// -s, an object {"services": [...], "peers": [...]}.
    List,
    /// `tcpmig rule`, by its name of earlier releases (deprecated)
    #[command(hide = true)]
    Rule {
        #[command(subcommand)]
        verb: rule::Verb,
    },
}

/// `service add` as clap reads it: the keywords, and their flag forms of
/// earlier releases.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The service's address and port: VIP:PORT or [VIP6]:PORT
    #[arg(value_name = "VIP:PORT", value_parser = parse_vip)]
    vip: SocketAddr,
    /// timeout MS, max-bytes N, fallback FALLBACK, local-port P, silent
    /// SILENT, max-pending N (below)
    #[arg(value_name = "KEYWORD VALUE")]
    words: Vec<String>,
    #[arg(
        long,
        hide = true,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(SERVICE_TIMEOUT_MS_MAX))
    )]
    timeout: Option<u32>,
    #[arg(
        long,
        hide = true,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(SERVICE_MAX_BYTES_MAX))
    )]
    max_bytes: Option<u32>,
    #[arg(long, hide = true, value_enum)]
    fallback: Option<Fallback>,
    #[arg(long, hide = true, value_parser = clap::value_parser!(u16).range(1..))]
    local_port: Option<u16>,
    #[arg(long, hide = true, value_enum)]
    silent: Option<Silent>,
}

impl AddArgs {
    /// The service and its options, from the words and the flags.
    pub fn resolve(self) -> Result<(SocketAddr, ServiceOptions), String> {
        let keys = [
            "timeout",
            "max-bytes",
            "fallback",
            "local-port",
            "silent",
            "max-pending",
        ];
        let words = Words::parse(&self.words, &keys)?;
        let opts = ServiceOptions {
            timeout_ms: words.get(
                "timeout",
                self.timeout,
                number(1..=u64::from(SERVICE_TIMEOUT_MS_MAX)),
            )?,
            max_bytes: words.get(
                "max-bytes",
                self.max_bytes,
                number(1..=u64::from(SERVICE_MAX_BYTES_MAX)),
            )?,
            fallback: words.get("fallback", self.fallback, choice)?,
            local_port: words.get("local-port", self.local_port, number(1..=65535))?,
            silent: words.get("silent", self.silent, choice)?,
            max_pending: words.get(
                "max-pending",
                None,
                number(1..=u64::from(SERVICE_MAX_PENDING_MAX)),
            )?,
        };
        Ok((self.vip, opts))
    }
}

/// What `service add` was given: each option absent takes the kernel's
/// default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceOptions {
    pub timeout_ms: Option<u32>,
    pub max_bytes: Option<u32>,
    pub fallback: Option<Fallback>,
    pub local_port: Option<u16>,
    pub silent: Option<Silent>,
    pub max_pending: Option<u32>,
}

/// The request attributes of `service add`: those given only.
fn service_add_attrs(
    vip: SocketAddr,
    opts: &ServiceOptions,
) -> Result<Vec<(ServiceAttr, Vec<u8>)>, String> {
    match (opts.fallback, opts.local_port) {
        (Some(Fallback::Local), None) => return Err("fallback local needs local-port".into()),
        (Some(Fallback::Reset) | None, Some(_)) => {
            return Err("local-port is for fallback local".into())
        }
        _ => {}
    }
    let mut attrs = service_attrs(vip);
    let mut push = |attr, bytes: Option<Vec<u8>>| {
        if let Some(bytes) = bytes {
            attrs.push((attr, bytes));
        }
    };
    push(
        ServiceAttr::TimeoutMs,
        opts.timeout_ms.map(|v| v.to_ne_bytes().to_vec()),
    );
    push(
        ServiceAttr::MaxBytes,
        opts.max_bytes.map(|v| v.to_ne_bytes().to_vec()),
    );
    push(ServiceAttr::Fallback, opts.fallback.map(|v| vec![v as u8]));
    push(ServiceAttr::Silent, opts.silent.map(|v| vec![v as u8]));
    push(
        ServiceAttr::LocalPort,
        opts.local_port.map(|v| v.to_ne_bytes().to_vec()),
    );
    push(
        ServiceAttr::MaxPending,
        opts.max_pending.map(|v| v.to_ne_bytes().to_vec()),
    );
    Ok(attrs)
}

fn service_attrs(vip: SocketAddr) -> Vec<(ServiceAttr, Vec<u8>)> {
    vec![
        (ServiceAttr::Addr, addr_bytes(vip.ip())),
        (ServiceAttr::Port, vip.port().to_ne_bytes().to_vec()),
    ]
}

/// A service as the kernel lists it.
#[derive(Debug, PartialEq, Eq)]
struct Service {
    vip: SocketAddr,
    timeout_ms: u32,
    max_bytes: u32,
    fallback: Fallback,
    local_port: Option<u16>,
    silent: Silent,
    pending: u32,
    accepted: u64,
    migrated: u64,
    fallbacks: u64,
    timeouts: u64,
    overflows: u64,
    failures: u64,
    max_pending: u32,
}

fn parse_service(attrs: &Attrs) -> Result<Service, Error> {
    use ServiceAttr as A;
    let addr = find(attrs, A::Addr)
        .and_then(bytes_addr)
        .ok_or(Error::BadReply("a service without an address"))?;
    let port = u16::from_ne_bytes(int(attrs, A::Port, "a service without a port")?);
    let [fallback] = int(attrs, A::Fallback, "a service without a fallback")?;
    let [silent] = int(attrs, A::Silent, "a service without a silent policy")?;
    Ok(Service {
        vip: SocketAddr::new(addr, port),
        timeout_ms: u32::from_ne_bytes(int(attrs, A::TimeoutMs, "a service without a timeout")?),
        max_bytes: u32::from_ne_bytes(int(attrs, A::MaxBytes, "a service without max-bytes")?),
        fallback: Fallback::from_u8(fallback)
            .ok_or(Error::BadReply("a service of an unknown fallback"))?,
        local_port: find(attrs, A::LocalPort)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes),
        silent: Silent::from_u8(silent)
            .ok_or(Error::BadReply("a service of an unknown silent policy"))?,
        pending: u32::from_ne_bytes(int(attrs, A::Pending, "a service without pending")?),
        accepted: u64_of(attrs, A::Accepted, "a service without accepted")?,
        migrated: u64_of(attrs, A::Migrated, "a service without migrated")?,
        fallbacks: u64_of(attrs, A::Fallbacks, "a service without fallbacks")?,
        timeouts: u64_of(attrs, A::Timeouts, "a service without timeouts")?,
        overflows: u64_of(attrs, A::Overflows, "a service without overflows")?,
        failures: u64_of(attrs, A::Failures, "a service without failures")?,
        max_pending: u32::from_ne_bytes(int(
            attrs,
            A::MaxPending,
            "a service without max-pending",
        )?),
    })
}

impl Service {
    fn fallback_text(&self) -> String {
        match (self.fallback, self.local_port) {
            (Fallback::Local, Some(port)) => format!("local:{port}"),
            (fallback, _) => fallback.name().to_string(),
        }
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.vip.to_string(),
            format!("{}ms", self.timeout_ms),
            self.max_bytes.to_string(),
            self.fallback_text(),
            self.silent.name().to_string(),
            self.pending.to_string(),
            self.accepted.to_string(),
            self.migrated.to_string(),
            self.fallbacks.to_string(),
            self.timeouts.to_string(),
            self.overflows.to_string(),
            self.failures.to_string(),
            self.max_pending.to_string(),
        ]
    }

    fn json(&self, rules: &[rule::Rule]) -> serde_json::Value {
        serde_json::json!({
            "service": self.vip.to_string(),
            "timeout_ms": self.timeout_ms,
            "max_bytes": self.max_bytes,
            "fallback": self.fallback.name(),
            "local_port": self.local_port,
            "silent": self.silent.name(),
            "pending": self.pending,
            "accepted": self.accepted,
            "migrated": self.migrated,
            "fallbacks": self.fallbacks,
            "timeouts": self.timeouts,
            "overflows": self.overflows,
            "failures": self.failures,
            "max_pending": self.max_pending,
            "rules": rules
                .iter()
                .filter(|r| r.service == self.vip)
                .map(|r| r.json(false))
                .collect::<Vec<_>>(),
        })
    }
}

const SERVICE_HEAD: [&str; 13] = [
    "SERVICE",
    "TIMEOUT",
    "MAX-BYTES",
    "FALLBACK",
    "SILENT",
    "PENDING",
    "ACCEPTED",
    "MIGRATED",
    "FALLBACKS",
    "TIMEOUTS",
    "OVERFLOWS",
    "FAILURES",
    "MAX-PENDING",
];

/// A line per service; with `rules`, each service's rules under it.
fn services_table(services: &[Service], rules: Option<&[rule::Rule]>) -> String {
    let rows: Vec<Vec<String>> = services.iter().map(Service::row).collect();
    let table = crate::table::columns(&SERVICE_HEAD, &rows);
    let Some(rules) = rules else {
        return table;
    };
    let mut lines = table.lines();
    let mut out = format!("{}\n", lines.next().unwrap_or_default());
    for (service, line) in services.iter().zip(lines) {
        out += line;
        out += "\n";
        let mut any = false;
        for rule in rules.iter().filter(|r| r.service == service.vip) {
            any = true;
            out += &format!(
                "  rule {}: {} pool {}  hits {} bytes {} failures {}\n",
                rule.index, rule.matches, rule.pool, rule.hits, rule.bytes, rule.failures
            );
        }
        if !any {
            out += "  no rules\n";
        }
    }
    out
}

fn dump_services(client: &Client) -> Result<Vec<Service>, Error> {
    client
        .dump::<ServiceAttr>(Cmd::ServiceGet, &[])?
        .iter()
        .map(parse_service)
        .collect()
}

fn list(client: &Client, stats: bool, as_json: bool) -> Result<(), Error> {
    let services = dump_services(client)?;
    let rules = if stats || as_json {
        rule::dump(client)?
    } else {
        Vec::new()
    };
    let peers = if stats {
        peer::dump(client)?
    } else {
        Vec::new()
    };
    if as_json {
        let services: serde_json::Value = services.iter().map(|s| s.json(&rules)).collect();
        if stats {
            println!(
                "{}",
                serde_json::json!({ "services": services, "peers": peer::json(&peers) })
            );
        } else {
            println!("{services}");
        }
    } else if stats {
        print!(
            "{}\n{}",
            services_table(&services, Some(&rules)),
            peer::table(&peers)
        );
    } else {
        print!("{}", services_table(&services, None));
    }
    Ok(())
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    match verb {
        Verb::Add(args) => {
            let attrs = args
                .resolve()
                .and_then(|(vip, opts)| service_add_attrs(vip, &opts))
                .unwrap_or_else(|e| crate::usage_error(&["service", "add"], e));
            Client::connect()?
                .request(Cmd::ServiceAdd, &attrs)
                .map(|_| ())
        }
        Verb::Del { vip } => Client::connect()?
            .request(Cmd::ServiceDel, &service_attrs(vip))
            .map(|_| ()),
        Verb::List => list(&Client::connect()?, globals.stats, globals.json),
        Verb::Rule { verb } => rule::run(verb, globals),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::tests::rule_reply;
    use crate::rule::{parse_rule_reply, rules_table};
    use tcpmig_client::uapi::{RuleAttr, RuleKind};

    #[test]
    fn vips() {
        let ok = |s: &str| parse_vip(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("192.0.2.100:80").to_string(), "192.0.2.100:80");
        assert_eq!(ok("[2001:db8::100]:443").to_string(), "[2001:db8::100]:443");
        for bad in [
            "192.0.2.100",
            "2001:db8::100:80",
            "[192.0.2.100]:80",
            "192.0.2.100:65536",
            "example.com:80",
            "",
        ] {
            assert_eq!(
                parse_vip(bad).unwrap_err(),
                "expected VIP:PORT or [VIP6]:PORT",
                "{bad}"
            );
        }
        assert_eq!(
            parse_vip("192.0.2.100:0").unwrap_err(),
            "port 0 is no service's port"
        );
    }

    #[test]
    fn service_attributes() {
        let vip = parse_vip("192.0.2.100:80").unwrap();
        // Only what is given: the kernel has the defaults.
        assert_eq!(
            service_add_attrs(vip, &ServiceOptions::default()).unwrap(),
            vec![
                (ServiceAttr::Addr, vec![192, 0, 2, 100]),
                (ServiceAttr::Port, 80u16.to_ne_bytes().to_vec()),
            ]
        );
        let all = ServiceOptions {
            timeout_ms: Some(500),
            max_bytes: Some(1024),
            fallback: Some(Fallback::Local),
            local_port: Some(8080),
            silent: Some(Silent::Reset),
            max_pending: Some(16),
        };
        assert_eq!(
            service_add_attrs(vip, &all).unwrap()[2..],
            [
                (ServiceAttr::TimeoutMs, 500u32.to_ne_bytes().to_vec()),
                (ServiceAttr::MaxBytes, 1024u32.to_ne_bytes().to_vec()),
                (ServiceAttr::Fallback, vec![2]),
                (ServiceAttr::Silent, vec![2]),
                (ServiceAttr::LocalPort, 8080u16.to_ne_bytes().to_vec()),
                (ServiceAttr::MaxPending, 16u32.to_ne_bytes().to_vec()),
            ]
        );
        let no_port = ServiceOptions {
            fallback: Some(Fallback::Local),
            ..Default::default()
        };
        assert_eq!(
            service_add_attrs(vip, &no_port).unwrap_err(),
            "fallback local needs local-port"
        );
        let stray_port = ServiceOptions {
            local_port: Some(8080),
            ..Default::default()
        };
        assert_eq!(
            service_add_attrs(vip, &stray_port).unwrap_err(),
            "local-port is for fallback local"
        );
    }

    fn service_reply() -> Attrs {
        use ServiceAttr as A;
        let a = |attr: ServiceAttr, v: Vec<u8>| (u16::from(attr), v);
        vec![
            a(A::Addr, vec![192, 0, 2, 100]),
            a(A::Port, 80u16.to_ne_bytes().to_vec()),
            a(A::TimeoutMs, 2000u32.to_ne_bytes().to_vec()),
            a(A::MaxBytes, 4096u32.to_ne_bytes().to_vec()),
            a(A::Fallback, vec![2]),
            a(A::Silent, vec![1]),
            a(A::LocalPort, 8080u16.to_ne_bytes().to_vec()),
            a(A::Pending, 1u32.to_ne_bytes().to_vec()),
            a(A::Pad, Vec::new()),
            a(A::Accepted, 10u64.to_ne_bytes().to_vec()),
            a(A::Migrated, 7u64.to_ne_bytes().to_vec()),
            a(A::Fallbacks, 2u64.to_ne_bytes().to_vec()),
            a(A::Timeouts, 3u64.to_ne_bytes().to_vec()),
            a(A::Overflows, 0u64.to_ne_bytes().to_vec()),
            a(A::Failures, 1u64.to_ne_bytes().to_vec()),
            a(A::MaxPending, 128u32.to_ne_bytes().to_vec()),
        ]
    }

    #[test]
    fn listed_services_and_rules() {
        let service = parse_service(&service_reply()).unwrap_or_else(|e| panic!("{e}"));
        let http = rule_reply(
            0,
            RuleKind::Http,
            vec![
                (RuleAttr::Pattern, b"/api".to_vec()),
                (RuleAttr::Method, b"GET\0".to_vec()),
            ],
        );
        let rules = vec![
            parse_rule_reply(&http).unwrap_or_else(|e| panic!("{e}")),
            parse_rule_reply(&rule_reply(1, RuleKind::Default, vec![]))
                .unwrap_or_else(|e| panic!("{e}")),
        ];
        let services = [service];
        assert_eq!(
            services_table(&services, None),
            "SERVICE        TIMEOUT MAX-BYTES FALLBACK   SILENT  PENDING ACCEPTED MIGRATED FALLBACKS TIMEOUTS OVERFLOWS FAILURES MAX-PENDING\n\
             192.0.2.100:80 2000ms  4096      local:8080 default 1       10       7        2         3        0         1        128\n"
        );
        assert_eq!(
            services_table(&services, Some(&rules)),
            "SERVICE        TIMEOUT MAX-BYTES FALLBACK   SILENT  PENDING ACCEPTED MIGRATED FALLBACKS TIMEOUTS OVERFLOWS FAILURES MAX-PENDING\n\
             192.0.2.100:80 2000ms  4096      local:8080 default 1       10       7        2         3        0         1        128\n\
             \x20 rule 0: http GET /api pool api  hits 5 bytes 400 failures 0\n\
             \x20 rule 1: default pool api  hits 5 bytes 400 failures 0\n"
        );
        assert_eq!(
            services_table(&services, Some(&[])).lines().last(),
            Some("  no rules")
        );
        assert_eq!(
            services[0].json(&rules).to_string(),
            r#"{"accepted":10,"failures":1,"fallback":"local","fallbacks":2,"local_port":8080,"max_bytes":4096,"max_pending":128,"migrated":7,"overflows":0,"pending":1,"rules":[{"bytes":400,"failures":0,"hits":5,"index":0,"kind":"http","match":"http GET /api","pool":"api"},{"bytes":400,"failures":0,"hits":5,"index":1,"kind":"default","match":"default","pool":"api"}],"service":"192.0.2.100:80","silent":"default","timeout_ms":2000,"timeouts":3}"#
        );
        assert_eq!(
            rules_table(&rules, false),
            "INDEX MATCH         POOL HITS BYTES FAILURES\n\
             0     http GET /api api  5    400   0\n\
             1     default       api  5    400   0\n"
        );
        assert!(rules_table(&rules, true).starts_with("SERVICE        INDEX MATCH"));
        assert_eq!(rules[1].json(true)["service"], "192.0.2.100:80");
    }

    #[test]
    fn malformed_replies() {
        let mut attrs = service_reply();
        attrs.retain(|(t, _)| *t != u16::from(ServiceAttr::Timeouts));
        assert_eq!(
            parse_service(&attrs).unwrap_err().to_string(),
            "malformed reply from the kernel: a service without timeouts"
        );
        let mut attrs = service_reply();
        attrs[4].1 = vec![9];
        assert!(parse_service(&attrs).is_err());
    }
}
