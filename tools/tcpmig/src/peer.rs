//! `tcpmig peer add|del|list`: the nodes this one migrates connections
//! to and accepts them from.

use crate::words::Words;
use crate::Globals;
use clap::Subcommand;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use tcpmig_client::genl::{find, Attrs, Client};
use tcpmig_client::uapi::{addr_bytes, bytes_addr};
use tcpmig_client::uapi::{Cmd, PeerAttr, PEER_NAME_MAX};
use tcpmig_client::Error;

#[derive(Subcommand)]
pub enum Verb {
    /// Add a peer (needs CAP_NET_ADMIN)
    ///
    /// Add peer NAME at ADDR, whose migrator listens on port P (by default
    /// on the port this namespace's migrator listens on). The migrator
    /// takes connections from peers only, and migrates connections to
    /// them only; a peer hands this node connections only at the
    /// addresses (and ports) it is served.
    #[command(
        override_usage = "tcpmig peer add <NAME> <ADDR> [port <P>] [serve <VIP[:PORT],...>]",
        after_help = ADD_HELP
    )]
    Add {
        /// A name for the peer, unique here: 1-15 characters of
        /// A-Z a-z 0-9 _ . -
        name: PeerName,
        /// The peer's address, IPv4 or IPv6
        addr: IpAddr,
        /// port P, serve LIST (below)
        #[arg(value_name = "KEYWORD VALUE")]
        words: Vec<String>,
    },
    /// Remove peer NAME (needs CAP_NET_ADMIN)
    Del { name: PeerName },
    /// List the peers: NAME ADDR PORT, and where the kernel reports them
    /// STATE (up, or down while the last connect to its migrator failed:
    /// pools skip it) FLOWS DISPATCHED DISPATCHED-BYTES DISPATCH-FAILURES;
    /// then SERVE, what each may hand this node (needs CAP_NET_ADMIN)
    List,
}

const ADD_HELP: &str = "\
Keywords:
  port P              the peer's migrator port (1-65534: its flow port,
                      P + 1, is a port too)
  serve LIST          what the peer may hand this node: local addresses of
                      the peer's family, each with a port or for every
                      port (VIP:PORT, [VIP6]:PORT; VIP: every port, any
                      service listening there), separated by commas, at
                      most 32. Without it the peer hands this node
                      nothing (it still takes this node's connections).

Example:
  tcpmig peer add fe 192.0.2.2 serve 192.0.2.100:80,192.0.2.100:443";

/// A local address a peer may hand connections at, with its port (0:
/// every port).
pub type Served = (IpAddr, u16);

/// Reads `serve`'s list: `VIP`, `VIP:PORT`, `[VIP6]:PORT`, by commas.
pub fn parse_served(list: &str) -> Result<Vec<Served>, String> {
    let entries: Vec<Served> = list
        .split(',')
        .map(|entry| {
            // ::ffff:a.b.c.d is the IPv4 address it maps.
            if let Ok(ip) = entry.parse::<IpAddr>() {
                return Ok((ip.to_canonical(), 0));
            }
            match entry.parse::<SocketAddr>() {
                Ok(sa) if sa.port() != 0 => Ok((sa.ip().to_canonical(), sa.port())),
                Ok(_) => Err(format!(
                    "{entry:?}: leave the port out for every port, not 0"
                )),
                Err(_) => Err(format!("{entry:?}: expected VIP, VIP:PORT or [VIP6]:PORT")),
            }
        })
        .collect::<Result<_, _>>()?;
    if entries.len() > SERVED_MAX {
        return Err(format!("{} entries; at most {SERVED_MAX}", entries.len()));
    }
    Ok(entries)
}

/// The most entries `serve` takes (the kernel's bound).
const SERVED_MAX: usize = 32;

/// The kernel's `serve` attribute for `entries`: 20 bytes each.
fn served_bytes(entries: &[Served]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 20);
    for (ip, port) in entries {
        let family = if ip.is_ipv4() { 4 } else { 6 };
        out.extend_from_slice(&[family, 0]);
        out.extend_from_slice(&port.to_be_bytes());
        let mut addr = addr_bytes(*ip);
        addr.resize(16, 0);
        out.extend_from_slice(&addr);
    }
    out
}

/// The entries of a `serve` attribute; `None` if it is malformed.
fn served_of(bytes: &[u8]) -> Option<Vec<Served>> {
    if bytes.len() % 20 != 0 {
        return None;
    }
    bytes
        .chunks_exact(20)
        .map(|e| {
            let len = match e[0] {
                4 => 4,
                6 => 16,
                _ => return None,
            };
            let ip = bytes_addr(&e[4..4 + len])?;
            Some((ip, u16::from_be_bytes([e[2], e[3]])))
        })
        .collect()
}

/// `VIP`, `VIP:PORT` or `[VIP6]:PORT`.
fn served_text((ip, port): &Served) -> String {
    match port {
        0 => ip.to_string(),
        port => SocketAddr::new(*ip, *port).to_string(),
    }
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    let client = Client::connect()?;
    match verb {
        Verb::Add { name, addr, words } => {
            let words = Words::parse(&words, &["port", "serve"])
                .unwrap_or_else(|e| crate::usage_error(&["peer", "add"], e));
            let port = words
                .get(
                    "port",
                    None,
                    crate::words::number(1..=u64::from(u16::MAX - 1)),
                )
                .unwrap_or_else(|e| crate::usage_error(&["peer", "add"], e));
            let serve = words
                .get("serve", None, parse_served)
                .unwrap_or_else(|e| crate::usage_error(&["peer", "add"], e));
            add(&client, &name, addr, port, &serve.unwrap_or_default())
        }
        Verb::Del { name } => del(&client, &name),
        Verb::List => list(&client, globals.json),
    }
}

/// A peer's name: 1 to 15 bytes of `A-Z a-z 0-9 _ . -`, checked here so
/// that a typo is refused before the kernel is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerName(String);

impl FromStr for PeerName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        check_name(s, "a peer name", PEER_NAME_MAX)?;
        Ok(Self(s.to_string()))
    }
}

/// Checks a name of peer or pool: 1 to `max` characters of
/// `A-Z a-z 0-9 _ . -`; `what` names it in the error.
pub fn check_name(s: &str, what: &str, max: usize) -> Result<(), String> {
    let rule = format!("{what} is 1 to {max} characters of A-Z a-z 0-9 _ . -");
    if s.is_empty() {
        return Err(format!("empty; {rule}"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!("{c:?} is not allowed; {rule}"));
    }
    if s.len() > max {
        return Err(format!("{} characters long; {rule}", s.len()));
    }
    Ok(())
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PeerName {
    /// The name as a netlink string attribute: NUL-terminated.
    pub fn nla(&self) -> Vec<u8> {
        let mut bytes = self.0.as_bytes().to_vec();
        bytes.push(0);
        bytes
    }
}

/// Adds peer `name` at `addr`; its migrator port is `port`, or this
/// namespace's own when `None` (the kernel's default).
fn add(
    client: &Client,
    name: &PeerName,
    addr: IpAddr,
    port: Option<u16>,
    serve: &[Served],
) -> Result<(), Error> {
    let mut attrs = vec![
        (PeerAttr::Name, name.nla()),
        (PeerAttr::Addr, addr_bytes(addr)),
    ];
    if let Some(port) = port {
        attrs.push((PeerAttr::Port, port.to_ne_bytes().to_vec()));
    }
    if !serve.is_empty() {
        attrs.push((PeerAttr::Serve, served_bytes(serve)));
    }
    client.request(Cmd::PeerAdd, &attrs).map(|_| ())
}

fn del(client: &Client, name: &PeerName) -> Result<(), Error> {
    client
        .request(Cmd::PeerDel, &[(PeerAttr::Name, name.nla())])
        .map(|_| ())
}

/// A peer as the kernel lists it. A kernel without the dispatcher sends
/// none of the health and dispatch fields.
#[derive(Debug, PartialEq, Eq)]
pub struct Peer {
    name: String,
    addr: IpAddr,
    port: u16,
    /// Whether the last connect to its migrator succeeded.
    up: Option<bool>,
    /// Flows forwarded from here to it now.
    flows: Option<u32>,
    /// Connections services handed to it, their first bytes, and the
    /// hand-offs that failed.
    dispatched: Option<u64>,
    dispatched_bytes: Option<u64>,
    dispatch_failures: Option<u64>,
    /// What it may hand this node.
    serve: Vec<Served>,
}

impl Peer {
    fn has_stats(&self) -> bool {
        self.up.is_some()
            || self.flows.is_some()
            || self.dispatched.is_some()
            || self.dispatched_bytes.is_some()
            || self.dispatch_failures.is_some()
    }
}

/// An integer attribute of `N` bytes, if the kernel sent it.
fn int<const N: usize>(attrs: &Attrs, attr: PeerAttr) -> Option<[u8; N]> {
    find(attrs, attr).and_then(|b| b.try_into().ok())
}

fn parse(attrs: &Attrs) -> Result<Peer, Error> {
    let name = find(attrs, PeerAttr::Name)
        .and_then(|b| b.strip_suffix(&[0]))
        .ok_or(Error::BadReply("a peer without a name"))?;
    let addr = find(attrs, PeerAttr::Addr)
        .and_then(bytes_addr)
        .ok_or(Error::BadReply("a peer without an address"))?;
    let port = find(attrs, PeerAttr::Port)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_ne_bytes)
        .ok_or(Error::BadReply("a peer without a port"))?;
    Ok(Peer {
        name: String::from_utf8_lossy(name).into_owned(),
        addr,
        port,
        up: int::<1>(attrs, PeerAttr::Up).map(|[b]| b != 0),
        flows: int(attrs, PeerAttr::Flows).map(u32::from_ne_bytes),
        dispatched: int(attrs, PeerAttr::Dispatched).map(u64::from_ne_bytes),
        dispatched_bytes: int(attrs, PeerAttr::DispatchedBytes).map(u64::from_ne_bytes),
        dispatch_failures: int(attrs, PeerAttr::DispatchFailures).map(u64::from_ne_bytes),
        serve: match find(attrs, PeerAttr::Serve) {
            Some(bytes) => served_of(bytes).ok_or(Error::BadReply("a malformed serve list"))?,
            None => Vec::new(),
        },
    })
}

/// `NAME ADDR PORT`, `STATE FLOWS DISPATCHED DISPATCHED-BYTES
/// DISPATCH-FAILURES` if the kernel sent them, and `SERVE`: a header and a
/// line per peer, in columns (`-` for a field a peer lacks).
pub fn table(peers: &[Peer]) -> String {
    let stats = peers.iter().any(Peer::has_stats);
    let mut head = vec!["NAME", "ADDR", "PORT"];
    if stats {
        head.extend([
            "STATE",
            "FLOWS",
            "DISPATCHED",
            "DISPATCHED-BYTES",
            "DISPATCH-FAILURES",
        ]);
    }
    head.push("SERVE");
    let cell = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            let mut row = vec![p.name.clone(), p.addr.to_string(), p.port.to_string()];
            if stats {
                row.extend([
                    p.up.map_or("-", |up| if up { "up" } else { "down" })
                        .to_string(),
                    cell(p.flows.map(u64::from)),
                    cell(p.dispatched),
                    cell(p.dispatched_bytes),
                    cell(p.dispatch_failures),
                ]);
            }
            row.push(match p.serve.len() {
                0 => "-".to_string(),
                _ => p
                    .serve
                    .iter()
                    .map(served_text)
                    .collect::<Vec<_>>()
                    .join(","),
            });
            row
        })
        .collect();
    crate::table::columns(&head, &rows)
}

/// An array of peers: `name`, `addr`, `port`, those of `up` (a
/// boolean), `flows`, `dispatched`, `dispatched_bytes` and
/// `dispatch_failures` the kernel sent, and `serve` (an array of
/// `VIP`/`VIP:PORT` strings).
pub fn json(peers: &[Peer]) -> serde_json::Value {
    peers
        .iter()
        .map(|p| {
            let mut o =
                serde_json::json!({ "name": p.name, "addr": p.addr.to_string(), "port": p.port });
            let fields = [
                ("up", p.up.map(serde_json::Value::from)),
                ("flows", p.flows.map(serde_json::Value::from)),
                ("dispatched", p.dispatched.map(serde_json::Value::from)),
                (
                    "dispatched_bytes",
                    p.dispatched_bytes.map(serde_json::Value::from),
                ),
                (
                    "dispatch_failures",
                    p.dispatch_failures.map(serde_json::Value::from),
                ),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    o[key] = value;
                }
            }
            o["serve"] = p.serve.iter().map(served_text).collect();
            o
        })
        .collect()
}

/// The peers, as the kernel lists them.
pub fn dump(client: &Client) -> Result<Vec<Peer>, Error> {
    client
        .dump::<PeerAttr>(Cmd::PeerGet, &[])?
        .iter()
        .map(parse)
        .collect()
}

fn list(client: &Client, as_json: bool) -> Result<(), Error> {
    let peers = dump(client)?;
    if as_json {
        println!("{}", json(&peers));
    } else {
        print!("{}", table(&peers));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_names() {
        for good in ["be1", "a", "node-2.rack_3", "ABCDEFGHIJKLMNO"] {
            let name: PeerName = good.parse().unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(name.to_string(), good);
            assert_eq!(name.nla(), [good.as_bytes(), b"\0"].concat());
        }
        let bad = |s: &str| s.parse::<PeerName>().expect_err(s);
        assert!(bad("").starts_with("empty;"));
        assert!(bad("ABCDEFGHIJKLMNOP").starts_with("16 characters long;"));
        assert!(bad("be 1").starts_with("' ' is not allowed;"));
        assert!(bad("be/1").starts_with("'/' is not allowed;"));
        assert!(bad("bé").starts_with("'é' is not allowed;"));
        assert!(bad("a\0b").starts_with("'\\0' is not allowed;"));
    }

    fn reply(name: &[u8], addr: &[u8], port: u16) -> Attrs {
        vec![
            (PeerAttr::Name.into(), name.to_vec()),
            (PeerAttr::Addr.into(), addr.to_vec()),
            (PeerAttr::Port.into(), port.to_ne_bytes().to_vec()),
        ]
    }

    #[test]
    fn listed_peers() {
        let mut attrs = reply(b"be1\0", &[192, 0, 2, 11], 4737);
        let served = parse_served("192.0.2.100:80,2001:db8::100").unwrap();
        attrs.push((PeerAttr::Serve.into(), served_bytes(&served)));
        let v4 = parse(&attrs).unwrap_or_else(|e| panic!("{e}"));
        let v6 = parse(&reply(
            b"backend-two\0",
            &"2001:db8::12"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
            5000,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v4.addr, "192.0.2.11".parse::<IpAddr>().unwrap());
        let peers = [v4, v6];
        assert_eq!(
            table(&peers),
            "NAME        ADDR         PORT SERVE\n\
             be1         192.0.2.11   4737 192.0.2.100:80,2001:db8::100\n\
             backend-two 2001:db8::12 5000 -\n"
        );
        assert_eq!(
            json(&peers).to_string(),
            r#"[{"addr":"192.0.2.11","name":"be1","port":4737,"serve":["192.0.2.100:80","2001:db8::100"]},{"addr":"2001:db8::12","name":"backend-two","port":5000,"serve":[]}]"#
        );
        assert_eq!(table(&[]), "NAME ADDR PORT SERVE\n");
        assert_eq!(json(&[]).to_string(), "[]");
    }

    #[test]
    fn peers_with_health_and_dispatch_counters() {
        let mut attrs = reply(b"be1\0", &[192, 0, 2, 11], 4737);
        let a = |attr: PeerAttr, v: Vec<u8>| (u16::from(attr), v);
        attrs.extend([
            a(PeerAttr::Up, vec![1]),
            a(PeerAttr::Flows, 3u32.to_ne_bytes().to_vec()),
            a(PeerAttr::Pad, Vec::new()),
            a(PeerAttr::Dispatched, 12u64.to_ne_bytes().to_vec()),
            a(PeerAttr::Pad, Vec::new()),
            a(PeerAttr::DispatchedBytes, 4800u64.to_ne_bytes().to_vec()),
            a(PeerAttr::Pad, Vec::new()),
            a(PeerAttr::DispatchFailures, 1u64.to_ne_bytes().to_vec()),
        ]);
        let be1 = parse(&attrs).unwrap_or_else(|e| panic!("{e}"));
        let mut attrs = reply(b"be2\0", &[192, 0, 2, 12], 4737);
        attrs.push(a(PeerAttr::Up, vec![0]));
        let be2 = parse(&attrs).unwrap_or_else(|e| panic!("{e}"));
        let peers = [be1, be2];
        assert_eq!(
            table(&peers),
            "NAME ADDR       PORT STATE FLOWS DISPATCHED DISPATCHED-BYTES DISPATCH-FAILURES SERVE\n\
             be1  192.0.2.11 4737 up    3     12         4800             1                 -\n\
             be2  192.0.2.12 4737 down  -     -          -                -                 -\n"
        );
        assert_eq!(
            json(&peers).to_string(),
            r#"[{"addr":"192.0.2.11","dispatch_failures":1,"dispatched":12,"dispatched_bytes":4800,"flows":3,"name":"be1","port":4737,"serve":[],"up":true},{"addr":"192.0.2.12","name":"be2","port":4737,"serve":[],"up":false}]"#
        );
    }

    #[test]
    fn served_lists() {
        let v6: IpAddr = "2001:db8::100".parse().unwrap();
        assert_eq!(
            parse_served("192.0.2.100,[2001:db8::100]:443,198.51.100.7:80"),
            Ok(vec![
                ("192.0.2.100".parse().unwrap(), 0),
                (v6, 443),
                ("198.51.100.7".parse().unwrap(), 80),
            ])
        );
        assert_eq!(parse_served("2001:db8::100"), Ok(vec![(v6, 0)]));
        assert_eq!(
            parse_served("[::ffff:192.0.2.100]:80"),
            Ok(vec![("192.0.2.100".parse().unwrap(), 80)])
        );
        for bad in [
            "",
            "vip",
            "192.0.2.1:",
            "192.0.2.1:0",
            "2001:db8::1:80x",
            "192.0.2.1,,",
        ] {
            assert!(parse_served(bad).is_err(), "{bad}");
        }
        let many = vec!["192.0.2.1"; 33].join(",");
        assert_eq!(parse_served(&many), Err("33 entries; at most 32".into()));
        let entries = parse_served("192.0.2.100:80,[2001:db8::100]:443").unwrap();
        let bytes = served_bytes(&entries);
        assert_eq!(bytes.len(), 40);
        assert_eq!(&bytes[..8], &[4, 0, 0, 80, 192, 0, 2, 100]);
        assert_eq!(&bytes[20..24], &[6, 0, 1, 187]);
        assert_eq!(served_of(&bytes), Some(entries));
        assert_eq!(served_of(&bytes[..19]), None);
    }

    #[test]
    fn malformed_peers() {
        let e = |attrs: Attrs| parse(&attrs).err().map(|e| e.to_string());
        let no_nul = e(reply(b"be1", &[192, 0, 2, 11], 1));
        assert_eq!(
            no_nul.as_deref(),
            Some("malformed reply from the kernel: a peer without a name")
        );
        let short = e(reply(b"be1\0", &[192, 0, 2], 1));
        assert_eq!(
            short.as_deref(),
            Some("malformed reply from the kernel: a peer without an address")
        );
        let mut attrs = reply(b"be1\0", &[192, 0, 2, 11], 1);
        attrs.pop();
        assert_eq!(
            e(attrs).as_deref(),
            Some("malformed reply from the kernel: a peer without a port")
        );
    }
}
