//! `tcpmig rule add|del|list`: a service's rules, which pool a
//! connection goes to by its first bytes. The first rule that matches
//! wins.

use crate::pool::{nla_string, PoolName};
use crate::words::parse_vip;
use crate::Globals;
use clap::Subcommand;
use std::net::SocketAddr;
use tcpmig_client::genl::{find, int, u64_of, Attrs, Client};
use tcpmig_client::uapi::{
    addr_bytes, bytes_addr, Cmd, RuleAttr, RuleKind, RULE_METHOD_MAX, RULE_PATTERN_MAX,
};
use tcpmig_client::Error;

const MATCH_HELP: &str = "\
MATCH is one of:
  prefix STRING        the first bytes begin with STRING
  prefix-hex HEX       the same, for binary: the bytes as hex digits
  http [METHOD] PATH   an HTTP/1.x request line whose target begins with PATH
                       (which begins with '/'), and whose method is METHOD
                       (uppercase letters; any method if absent)
  host NAME            the HTTP Host header is NAME; a leading '.' makes NAME a
                       suffix (.example.com: any host that ends in it)
  client-hash N/M      a sticky share of clients: hash(client address) mod M is
                       below N (0 <= N <= M, M >= 1)
  default              any connection, also one that sent nothing
Patterns are at most 255 bytes. `at INDEX` goes before MATCH.

Examples:
  tcpmig rule add 192.0.2.100:80 http GET /api pool api
  tcpmig rule add 192.0.2.100:80 at 0 host .static.example.com pool static
  tcpmig rule add 192.0.2.100:80 default pool web";

#[derive(Subcommand)]
pub enum Verb {
    /// Add a rule to service VIP:PORT (needs CAP_NET_ADMIN)
    ///
    /// A connection that matches MATCH goes to pool NAME (see tcpmig pool),
    /// unless a rule before it matched first. The rule is appended, or
    /// inserted at INDEX (from 0) if `at INDEX` comes first.
    #[command(
        override_usage = "tcpmig rule add <VIP:PORT> [at INDEX] MATCH pool NAME",
        after_help = MATCH_HELP
    )]
    Add {
        /// The service: VIP:PORT or [VIP6]:PORT
        #[arg(value_name = "VIP:PORT", value_parser = parse_vip)]
        vip: SocketAddr,
        #[arg(long, hide = true)]
        at: Option<u32>,
        /// Optionally `at INDEX`, then MATCH (below), then `pool NAME`
        #[arg(
            value_name = "[at INDEX] MATCH pool NAME",
            required = true,
            num_args = 1..,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        words: Vec<String>,
    },
    /// Remove the rule at INDEX (from 0) of service VIP:PORT (needs
    /// CAP_NET_ADMIN)
    Del {
        #[arg(value_name = "VIP:PORT", value_parser = parse_vip)]
        vip: SocketAddr,
        index: u32,
    },
    /// List the rules, of service VIP:PORT or of every service: [SERVICE]
    /// INDEX MATCH POOL HITS BYTES FAILURES (MATCH as rule add takes it;
    /// FAILURES: connections whose pool could not take them)
    List {
        #[arg(value_name = "VIP:PORT", value_parser = parse_vip)]
        vip: Option<SocketAddr>,
    },
}

/// What a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    Prefix(Vec<u8>),
    Http {
        method: Option<String>,
        path: String,
    },
    Host(String),
    ClientHash {
        n: u32,
        m: u32,
    },
    Default,
}

/// A rule as `rule add` takes it: MATCH and the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    pub matches: Match,
    pub pool: PoolName,
}

const KINDS: &str = "prefix, prefix-hex, http, host, client-hash or default";

/// A pattern's length, checked against the kernel's limit.
fn pattern_len(kind: &str, what: &str, len: usize) -> Result<(), String> {
    if len == 0 {
        return Err(format!("{kind}: {what} is empty"));
    }
    if len > RULE_PATTERN_MAX {
        return Err(format!(
            "{kind}: {what} is {len} bytes long; at most {RULE_PATTERN_MAX}"
        ));
    }
    Ok(())
}

/// A word of a request line or header: no spaces or control characters.
fn check_token(kind: &str, what: &str, s: &str) -> Result<(), String> {
    pattern_len(kind, what, s.len())?;
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{kind}: {what} holds {c:?}"));
    }
    Ok(())
}

fn hex(kind: &str, s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{kind}: expected an even number of hex digits, got {s:?}"
        ));
    }
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_default())
        .collect();
    pattern_len(kind, "the pattern", bytes.len())?;
    Ok(bytes)
}

fn http(args: &[String]) -> Result<Match, String> {
    let (method, path) = match args {
        [path] => (None, path),
        [method, path] => (Some(method), path),
        [] => return Err("http: expected [METHOD] PATH".into()),
        _ => {
            return Err(format!(
                "http: expected [METHOD] PATH, got {}",
                args.join(" ")
            ))
        }
    };
    if let Some(method) = method {
        if method.is_empty()
            || method.len() > RULE_METHOD_MAX
            || !method.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(format!(
                "http: METHOD {method:?} is not 1 to {RULE_METHOD_MAX} uppercase letters (GET, POST...)"
            ));
        }
    }
    if !path.starts_with('/') {
        return Err(
            if method.is_none() && path.bytes().all(|b| b.is_ascii_uppercase()) {
                format!("http: expected a PATH after METHOD {path}")
            } else {
                format!("http: PATH {path:?} does not begin with '/'")
            },
        );
    }
    check_token("http", "PATH", path)?;
    Ok(Match::Http {
        method: method.cloned(),
        path: path.clone(),
    })
}

fn client_hash(args: &[String]) -> Result<Match, String> {
    const USAGE: &str = "client-hash: expected N/M, a share N of M (0 <= N <= M, M >= 1)";
    let [share] = args else {
        return Err(USAGE.into());
    };
    let (n, m) = share
        .split_once('/')
        .and_then(|(n, m)| Some((n.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .ok_or_else(|| format!("{USAGE}, got {share:?}"))?;
    if m == 0 {
        return Err(format!("client-hash: M is 0 in {share}; M >= 1"));
    }
    if n > m {
        return Err(format!("client-hash: N is above M in {share}; N <= M"));
    }
    Ok(Match::ClientHash { n, m })
}

/// Parses `[at INDEX] MATCH pool NAME`, the trailing words of `rule
/// add`; `flag` is `--at INDEX`, the form of earlier releases.
pub fn parse_add(flag: Option<u32>, words: &[String]) -> Result<(Option<u32>, RuleSpec), String> {
    match words {
        [at, index, rest @ ..] if at == "at" => {
            if flag.is_some() {
                return Err("at is given twice (once as --at)".into());
            }
            let index = index
                .parse()
                .map_err(|_| format!("at {index:?}: expected an index from 0"))?;
            Ok((Some(index), parse_rule(rest)?))
        }
        _ => Ok((flag, parse_rule(words)?)),
    }
}

/// Parses `MATCH pool NAME`.
pub fn parse_rule(words: &[String]) -> Result<RuleSpec, String> {
    if let Some(at) = words.iter().position(|w| w == "--at") {
        if at > 0 {
            return Err("at INDEX goes before MATCH".into());
        }
    }
    let (matches, pool) = match words {
        [matches @ .., keyword, name] if keyword == "pool" && !matches.is_empty() => {
            (matches, name)
        }
        [] => return Err(format!("expected MATCH pool NAME; MATCH is {KINDS}")),
        _ => return Err("expected `pool NAME` at the end".into()),
    };
    let pool: PoolName = pool.parse().map_err(|e| format!("pool {pool:?}: {e}"))?;
    let (kind, args) = (matches[0].as_str(), &matches[1..]);
    let one = |what: &str| match args {
        [arg] => Ok(arg),
        [] => Err(format!("{kind}: expected {what}")),
        _ => Err(format!(
            "{kind}: expected one {what}, got {:?} (quote a {what} with spaces)",
            args.join(" ")
        )),
    };
    let matches = match kind {
        "prefix" => {
            let s = one("STRING")?;
            pattern_len(kind, "STRING", s.len())?;
            Match::Prefix(s.as_bytes().to_vec())
        }
        "prefix-hex" => Match::Prefix(hex(kind, one("HEX")?)?),
        "http" => http(args)?,
        "host" => {
            let name = one("NAME")?;
            check_token(kind, "NAME", name)?;
            if name == "." {
                return Err("host: NAME is only a dot; give the suffix after it".into());
            }
            Match::Host(name.clone())
        }
        "client-hash" => client_hash(args)?,
        "default" => match args {
            [] => Match::Default,
            _ => return Err(format!("default: takes no words, got {}", args.join(" "))),
        },
        _ => return Err(format!("unknown MATCH {kind:?}; expected {KINDS}")),
    };
    Ok(RuleSpec { matches, pool })
}

impl Match {
    pub fn kind(&self) -> RuleKind {
        match self {
            Match::Prefix(_) => RuleKind::Prefix,
            Match::Http { .. } => RuleKind::Http,
            Match::Host(_) => RuleKind::Host,
            Match::ClientHash { .. } => RuleKind::ClientHash,
            Match::Default => RuleKind::Default,
        }
    }

    /// The rule's attributes but the service, index and pool.
    fn attrs(&self) -> Vec<(RuleAttr, Vec<u8>)> {
        let mut attrs = vec![(RuleAttr::Kind, vec![self.kind() as u8])];
        match self {
            Match::Prefix(bytes) => attrs.push((RuleAttr::Pattern, bytes.clone())),
            Match::Http { method, path } => {
                attrs.push((RuleAttr::Pattern, path.as_bytes().to_vec()));
                if let Some(method) = method {
                    attrs.push((RuleAttr::Method, nla_string(method)));
                }
            }
            Match::Host(name) => attrs.push((RuleAttr::Pattern, name.as_bytes().to_vec())),
            Match::ClientHash { n, m } => {
                attrs.push((RuleAttr::HashN, n.to_ne_bytes().to_vec()));
                attrs.push((RuleAttr::HashM, m.to_ne_bytes().to_vec()));
            }
            Match::Default => {}
        }
        attrs
    }
}

/// A word as a shell takes it back: bare if plain, else single-quoted.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{s}'")
    }
}

/// MATCH as `rule add` takes it.
impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Match::Prefix(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\'') => {
                    write!(f, "prefix {}", shell_word(s))
                }
                _ => {
                    f.write_str("prefix-hex ")?;
                    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
                }
            },
            Match::Http {
                method: Some(method),
                path,
            } => write!(f, "http {method} {}", shell_word(path)),
            Match::Http { method: None, path } => write!(f, "http {}", shell_word(path)),
            Match::Host(name) => write!(f, "host {}", shell_word(name)),
            Match::ClientHash { n, m } => write!(f, "client-hash {n}/{m}"),
            Match::Default => f.write_str("default"),
        }
    }
}

/// The attributes that name a service in the `rule` set.
fn rule_service(vip: SocketAddr) -> Vec<(RuleAttr, Vec<u8>)> {
    vec![
        (RuleAttr::ServiceAddr, addr_bytes(vip.ip())),
        (RuleAttr::ServicePort, vip.port().to_ne_bytes().to_vec()),
    ]
}

/// The request attributes of `rule add`.
fn rule_add_attrs(vip: SocketAddr, at: Option<u32>, rule: &RuleSpec) -> Vec<(RuleAttr, Vec<u8>)> {
    let mut attrs = rule_service(vip);
    if let Some(at) = at {
        attrs.push((RuleAttr::Index, at.to_ne_bytes().to_vec()));
    }
    attrs.extend(rule.matches.attrs());
    attrs.push((RuleAttr::Pool, rule.pool.nla()));
    attrs
}

/// A rule as the kernel lists it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub service: SocketAddr,
    pub index: u32,
    pub matches: Match,
    pub pool: String,
    pub hits: u64,
    pub bytes: u64,
    pub failures: u64,
}

pub fn parse_rule_reply(attrs: &Attrs) -> Result<Rule, Error> {
    use RuleAttr as A;
    let addr = find(attrs, A::ServiceAddr)
        .and_then(bytes_addr)
        .ok_or(Error::BadReply("a rule without a service"))?;
    let port = u16::from_ne_bytes(int(attrs, A::ServicePort, "a rule without a service port")?);
    let [kind] = int(attrs, A::Kind, "a rule without a kind")?;
    let pattern = || {
        find(attrs, A::Pattern)
            .map(<[u8]>::to_vec)
            .ok_or(Error::BadReply("a rule without its pattern"))
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let matches = match RuleKind::from_u8(kind) {
        Some(RuleKind::Prefix) => Match::Prefix(pattern()?),
        Some(RuleKind::Http) => Match::Http {
            method: find(attrs, A::Method)
                .map(|b| text(b.strip_suffix(&[0]).unwrap_or(b).to_vec())),
            path: text(pattern()?),
        },
        Some(RuleKind::Host) => Match::Host(text(pattern()?)),
        Some(RuleKind::ClientHash) => Match::ClientHash {
            n: u32::from_ne_bytes(int(attrs, A::HashN, "a client-hash rule without hash-n")?),
            m: u32::from_ne_bytes(int(attrs, A::HashM, "a client-hash rule without hash-m")?),
        },
        Some(RuleKind::Default) => Match::Default,
        None => return Err(Error::BadReply("a rule of an unknown kind")),
    };
    let pool = find(attrs, A::Pool)
        .and_then(|b| b.strip_suffix(&[0]))
        .ok_or(Error::BadReply("a rule without a pool"))?;
    Ok(Rule {
        service: SocketAddr::new(addr, port),
        index: u32::from_ne_bytes(int(attrs, A::Index, "a rule without an index")?),
        matches,
        pool: String::from_utf8_lossy(pool).into_owned(),
        hits: u64_of(attrs, A::Hits, "a rule without hits")?,
        bytes: u64_of(attrs, A::Bytes, "a rule without bytes")?,
        failures: u64_of(attrs, A::Failures, "a rule without failures")?,
    })
}

impl Rule {
    /// `index`, `kind`, `match` (as rule add takes it), `pool` and the
    /// counters; `service` too if `with_service`.
    pub fn json(&self, with_service: bool) -> serde_json::Value {
        let mut o = serde_json::json!({
            "index": self.index,
            "kind": self.matches.kind().name(),
            "match": self.matches.to_string(),
            "pool": self.pool,
            "hits": self.hits,
            "bytes": self.bytes,
            "failures": self.failures,
        });
        if with_service {
            o["service"] = self.service.to_string().into();
        }
        o
    }
}

/// The rules, with a SERVICE column unless they are of one service.
pub fn rules_table(rules: &[Rule], with_service: bool) -> String {
    let mut head = vec!["INDEX", "MATCH", "POOL", "HITS", "BYTES", "FAILURES"];
    if with_service {
        head.insert(0, "SERVICE");
    }
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            let mut row = vec![
                r.index.to_string(),
                r.matches.to_string(),
                r.pool.clone(),
                r.hits.to_string(),
                r.bytes.to_string(),
                r.failures.to_string(),
            ];
            if with_service {
                row.insert(0, r.service.to_string());
            }
            row
        })
        .collect();
    crate::table::columns(&head, &rows)
}

pub fn dump(client: &Client) -> Result<Vec<Rule>, Error> {
    client
        .dump::<RuleAttr>(Cmd::RuleGet, &[])?
        .iter()
        .map(parse_rule_reply)
        .collect()
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    match verb {
        Verb::Add { vip, at, words } => {
            let (at, rule) =
                parse_add(at, &words).unwrap_or_else(|e| crate::usage_error(&["rule", "add"], e));
            Client::connect()?
                .request(Cmd::RuleAdd, &rule_add_attrs(vip, at, &rule))
                .map(|_| ())
        }
        Verb::Del { vip, index } => {
            let mut attrs = rule_service(vip);
            attrs.push((RuleAttr::Index, index.to_ne_bytes().to_vec()));
            Client::connect()?.request(Cmd::RuleDel, &attrs).map(|_| ())
        }
        Verb::List { vip } => {
            let mut rules = dump(&Client::connect()?)?;
            if let Some(vip) = vip {
                rules.retain(|r| r.service == vip);
            }
            if globals.json {
                let rules: serde_json::Value = rules.iter().map(|r| r.json(true)).collect();
                println!("{rules}");
            } else {
                print!("{}", rules_table(&rules, vip.is_none()));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn rule(s: &str) -> RuleSpec {
        parse_rule(&words(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) -> String {
        parse_rule(&words(s)).expect_err(s)
    }

    #[test]
    fn every_kind_parses() {
        let r = rule("prefix SSH- pool ssh");
        assert_eq!(r.matches, Match::Prefix(b"SSH-".to_vec()));
        assert_eq!(r.pool.to_string(), "ssh");
        assert_eq!(
            rule("prefix-hex 16030100ff pool tls").matches,
            Match::Prefix(vec![0x16, 0x03, 0x01, 0x00, 0xff])
        );
        assert_eq!(
            rule("prefix-hex DEADbeef pool x").matches,
            Match::Prefix(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert_eq!(
            rule("http /api pool api").matches,
            Match::Http {
                method: None,
                path: "/api".into()
            }
        );
        assert_eq!(
            rule("http POST /upload pool up").matches,
            Match::Http {
                method: Some("POST".into()),
                path: "/upload".into()
            }
        );
        assert_eq!(
            rule("host www.example.com pool web").matches,
            Match::Host("www.example.com".into())
        );
        assert_eq!(
            rule("host .example.com pool web").matches,
            Match::Host(".example.com".into())
        );
        assert_eq!(
            rule("client-hash 1/10 pool canary").matches,
            Match::ClientHash { n: 1, m: 10 }
        );
        assert_eq!(
            rule("client-hash 0/1 pool none").matches,
            Match::ClientHash { n: 0, m: 1 }
        );
        assert_eq!(
            rule("client-hash 4/4 pool all").matches,
            Match::ClientHash { n: 4, m: 4 }
        );
        assert_eq!(rule("default pool web").matches, Match::Default);
        // A pattern may be the word `pool`, or begin with a dash.
        assert_eq!(
            rule("prefix pool pool p").matches,
            Match::Prefix(b"pool".to_vec())
        );
        assert_eq!(
            rule("prefix -x pool p").matches,
            Match::Prefix(b"-x".to_vec())
        );
        // A word with spaces, as a shell passes a quoted one.
        let spaced = parse_rule(&["prefix".into(), "GET ".into(), "pool".into(), "web".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spaced.matches, Match::Prefix(b"GET ".to_vec()));
    }

    #[test]
    fn bad_rules() {
        assert_eq!(bad("default"), "expected `pool NAME` at the end");
        assert_eq!(bad("http /api"), "expected `pool NAME` at the end");
        assert_eq!(bad("http /api pool"), "expected `pool NAME` at the end");
        assert_eq!(bad("pool web"), "expected `pool NAME` at the end");
        assert!(parse_rule(&[])
            .unwrap_err()
            .starts_with("expected MATCH pool NAME"));
        assert!(bad("default pool a,b").starts_with("pool \"a,b\": ',' is not allowed"));
        assert!(bad("default pool ABCDEFGHIJKLMNOP").contains("16 characters long"));
        assert_eq!(
            bad("regex .* pool web"),
            "unknown MATCH \"regex\"; expected prefix, prefix-hex, http, host, client-hash or default"
        );
        assert_eq!(
            bad("client-hash 11/10 pool x"),
            "client-hash: N is above M in 11/10; N <= M"
        );
        assert_eq!(
            bad("client-hash 0/0 pool x"),
            "client-hash: M is 0 in 0/0; M >= 1"
        );
        for share in ["1", "1/", "/2", "-1/2", "a/b", "1/2/3"] {
            assert!(
                bad(&format!("client-hash {share} pool x"))
                    .starts_with("client-hash: expected N/M"),
                "{share}"
            );
        }
        assert!(bad("client-hash pool x").starts_with("client-hash: expected N/M"));
        assert!(bad("http get /api pool x").starts_with("http: METHOD \"get\" is not 1 to 16"));
        assert!(bad("http Get /api pool x").contains("uppercase letters"));
        assert!(bad("http ABCDEFGHIJKLMNOPQ /api pool x").contains("uppercase letters"));
        assert_eq!(
            bad("http GET pool x"),
            "http: expected a PATH after METHOD GET"
        );
        assert_eq!(
            bad("http api pool x"),
            "http: PATH \"api\" does not begin with '/'"
        );
        assert_eq!(bad("http pool x"), "http: expected [METHOD] PATH");
        assert_eq!(
            bad("http GET /a /b pool x"),
            "http: expected [METHOD] PATH, got GET /a /b"
        );
        assert_eq!(bad("prefix pool x"), "prefix: expected STRING");
        assert_eq!(
            parse_rule(&["prefix".into(), "".into(), "pool".into(), "x".into()]).unwrap_err(),
            "prefix: STRING is empty"
        );
        assert!(bad("prefix a b pool x").starts_with("prefix: expected one STRING"));
        assert_eq!(
            bad("prefix-hex abc pool x"),
            "prefix-hex: expected an even number of hex digits, got \"abc\""
        );
        assert!(bad("prefix-hex zz pool x").starts_with("prefix-hex: expected an even number"));
        assert_eq!(bad("host pool x"), "host: expected NAME");
        assert_eq!(
            bad("host . pool x"),
            "host: NAME is only a dot; give the suffix after it"
        );
        assert_eq!(
            bad("default now pool x"),
            "default: takes no words, got now"
        );
        assert_eq!(bad("default pool x --at 2"), "at INDEX goes before MATCH");
    }

    #[test]
    fn patterns_over_255_bytes_are_refused() {
        let long = "a".repeat(256);
        assert_eq!(
            bad(&format!("prefix {long} pool x")),
            "prefix: STRING is 256 bytes long; at most 255"
        );
        assert!(parse_rule(&words(&format!("prefix {} pool x", &long[..255]))).is_ok());
        assert_eq!(
            bad(&format!("prefix-hex {} pool x", "ab".repeat(256))),
            "prefix-hex: the pattern is 256 bytes long; at most 255"
        );
        assert_eq!(
            bad(&format!("http /{} pool x", &long[..255])),
            "http: PATH is 256 bytes long; at most 255"
        );
        assert_eq!(
            bad(&format!("host {long} pool x")),
            "host: NAME is 256 bytes long; at most 255"
        );
    }

    #[test]
    fn matches_print_as_rule_add_takes_them() {
        for s in [
            "prefix SSH-",
            "prefix-hex 16030100ff",
            "http /api",
            "http GET /api/v1",
            "host .example.com",
            "client-hash 3/7",
            "default",
        ] {
            let spec = rule(&format!("{s} pool x"));
            assert_eq!(spec.matches.to_string(), s);
        }
        assert_eq!(Match::Prefix(b"GET ".to_vec()).to_string(), "prefix 'GET '");
        assert_eq!(
            Match::Prefix(b"it's".to_vec()).to_string(),
            "prefix-hex 69742773"
        );
        assert_eq!(
            Match::Prefix(b"a\nb".to_vec()).to_string(),
            "prefix-hex 610a62"
        );
    }

    #[test]
    fn rule_attributes() {
        let vip = parse_vip("192.0.2.100:80").unwrap();
        let attrs = rule_add_attrs(vip, Some(2), &rule("http GET /api pool api"));
        assert_eq!(
            attrs,
            vec![
                (RuleAttr::ServiceAddr, vec![192, 0, 2, 100]),
                (RuleAttr::ServicePort, 80u16.to_ne_bytes().to_vec()),
                (RuleAttr::Index, 2u32.to_ne_bytes().to_vec()),
                (RuleAttr::Kind, vec![RuleKind::Http as u8]),
                (RuleAttr::Pattern, b"/api".to_vec()),
                (RuleAttr::Method, b"GET\0".to_vec()),
                (RuleAttr::Pool, b"api\0".to_vec()),
            ]
        );
        let attrs = rule_add_attrs(vip, None, &rule("client-hash 1/4 pool c"));
        assert_eq!(
            attrs[2..],
            [
                (RuleAttr::Kind, vec![4]),
                (RuleAttr::HashN, 1u32.to_ne_bytes().to_vec()),
                (RuleAttr::HashM, 4u32.to_ne_bytes().to_vec()),
                (RuleAttr::Pool, b"c\0".to_vec()),
            ]
        );
        let attrs = rule_add_attrs(vip, None, &rule("default pool web"));
        assert_eq!(
            attrs[2..],
            [
                (RuleAttr::Kind, vec![5]),
                (RuleAttr::Pool, b"web\0".to_vec())
            ]
        );
        let v6 = parse_vip("[2001:db8::1]:443").unwrap();
        let attrs = rule_add_attrs(v6, None, &rule("host .example.com pool web"));
        assert_eq!(attrs[0].1.len(), 16);
        assert_eq!(attrs[3], (RuleAttr::Pattern, b".example.com".to_vec()));
    }

    pub fn rule_reply(index: u32, kind: RuleKind, extra: Vec<(RuleAttr, Vec<u8>)>) -> Attrs {
        use RuleAttr as A;
        let mut attrs = vec![
            (A::ServiceAddr, vec![192, 0, 2, 100]),
            (A::ServicePort, 80u16.to_ne_bytes().to_vec()),
            (A::Index, index.to_ne_bytes().to_vec()),
            (A::Kind, vec![kind as u8]),
        ];
        attrs.extend(extra);
        attrs.extend([
            (A::Pool, b"api\0".to_vec()),
            (A::Hits, 5u64.to_ne_bytes().to_vec()),
            (A::Bytes, 400u64.to_ne_bytes().to_vec()),
            (A::Failures, 0u64.to_ne_bytes().to_vec()),
        ]);
        attrs.into_iter().map(|(a, v)| (u16::from(a), v)).collect()
    }

    #[test]
    fn malformed_replies() {
        let no_pattern = rule_reply(0, RuleKind::Prefix, vec![]);
        assert_eq!(
            parse_rule_reply(&no_pattern).unwrap_err().to_string(),
            "malformed reply from the kernel: a rule without its pattern"
        );
        let mut unknown = rule_reply(0, RuleKind::Default, vec![]);
        unknown[3].1 = vec![6];
        assert!(parse_rule_reply(&unknown).is_err());
    }
}
