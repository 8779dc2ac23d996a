//! `tcpmig pool add|set|del|list`: named sets of peers that service
//! rules hand connections to, each with a policy that picks one peer.

use crate::peer::{check_name, PeerName};
use crate::words::{choice, value, Words};
use crate::Globals;
use clap::Subcommand;
use std::fmt;
use std::str::FromStr;
use tcpmig_client::genl::{find, Attrs, Client};
use tcpmig_client::uapi::{Cmd, Policy, PoolAttr, POOL_MEMBERS_MAX, POOL_NAME_MAX};
use tcpmig_client::Error;

const POOL_HELP: &str = "\
Keywords:
  policy POLICY          how the pool picks a peer: round-robin (the default
                         of pool add), least-flows or consistent-hash
  members PEER,PEER...   the pool's peers, in order (1 to 32)

Example:
  tcpmig pool add web policy least-flows members be1,be2";

#[derive(Subcommand)]
pub enum Verb {
    /// Add a pool of peers (needs CAP_NET_ADMIN)
    ///
    /// Add pool NAME of the peers PEER... (1 to 32, see tcpmig peer list).
    /// A service rule that matches a connection names a pool; the pool's
    /// policy picks one of its peers, skipping peers whose migrator is
    /// down, and the connection is migrated there (a failed hand-off is
    /// retried on the next peer).
    #[command(
        override_usage = "tcpmig pool add <NAME> [policy <POLICY>] members <PEER,PEER...>",
        after_help = POOL_HELP
    )]
    Add(PoolArgs),
    /// Change a pool's policy or its peers (needs CAP_NET_ADMIN)
    ///
    /// Only what is given changes: the policy, and the peers (they
    /// replace the pool's members). Connections already decided are not
    /// affected.
    #[command(
        override_usage = "tcpmig pool set <NAME> [policy <POLICY>] [members <PEER,PEER...>]  (one at least)",
        after_help = POOL_HELP
    )]
    Set(PoolArgs),
    /// Remove pool NAME, which no rule may name (needs CAP_NET_ADMIN)
    Del { name: PoolName },
    /// List the pools: NAME POLICY MEMBERS PICKS (-j: an array of
    /// {name, policy, members: [...], picks})
    List,
}

/// `pool add` and `pool set` as clap reads them: the keywords, and the
/// forms of earlier releases (`--policy POLICY`, the peers as words).
#[derive(clap::Args)]
pub struct PoolArgs {
    /// A name for the pool, unique here: 1-15 characters of
    /// A-Z a-z 0-9 _ . -
    name: PoolName,
    /// policy POLICY, members PEER,PEER... (below)
    #[arg(value_name = "KEYWORD VALUE")]
    words: Vec<String>,
    #[arg(long, hide = true, value_enum)]
    policy: Option<Policy>,
}

/// A pool as `pool add` or `pool set` gives it: what is not given is
/// `None` or empty.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    name: PoolName,
    policy: Option<Policy>,
    peers: Vec<PeerName>,
}

impl PoolArgs {
    pub fn resolve(self) -> Result<Change, String> {
        const KEYS: [&str; 2] = ["policy", "members"];
        let (policy, peers) = if self
            .words
            .first()
            .is_none_or(|w| KEYS.contains(&w.as_str()))
        {
            let words = Words::parse(&self.words, &KEYS)?;
            let members = |s: &str| s.split(',').map(value).collect::<Result<Vec<_>, _>>();
            (
                words.get("policy", self.policy, choice)?,
                words.get("members", None, members)?.unwrap_or_default(),
            )
        } else {
            // The peers as words, as earlier releases took them.
            let peers = self
                .words
                .iter()
                .map(|w| w.parse().map_err(|e| format!("peer {w:?}: {e}")));
            (self.policy, peers.collect::<Result<_, _>>()?)
        };
        Ok(Change {
            name: self.name,
            policy,
            peers,
        })
    }
}

/// A pool's name: 1 to 15 bytes of `A-Z a-z 0-9 _ . -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolName(String);

impl FromStr for PoolName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        check_name(s, "a pool name", POOL_NAME_MAX)?;
        Ok(Self(s.to_string()))
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string as a netlink string attribute: NUL-terminated.
pub fn nla_string(s: &str) -> Vec<u8> {
    let mut bytes = s.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

impl PoolName {
    pub fn nla(&self) -> Vec<u8> {
        nla_string(&self.0)
    }
}

/// The `members` attribute: the peers' names joined by commas, checked
/// (1 to 32 of them, none twice).
fn members(peers: &[PeerName]) -> Result<Vec<u8>, String> {
    if peers.is_empty() {
        return Err("a pool needs at least one peer".into());
    }
    if peers.len() > POOL_MEMBERS_MAX {
        return Err(format!(
            "{} peers; a pool holds at most {POOL_MEMBERS_MAX}",
            peers.len()
        ));
    }
    for (i, peer) in peers.iter().enumerate() {
        if peers[..i].contains(peer) {
            return Err(format!("peer {peer} is given twice"));
        }
    }
    let names: Vec<String> = peers.iter().map(ToString::to_string).collect();
    Ok(nla_string(&names.join(",")))
}

/// The request attributes of `pool add` or `pool set`: the name, and
/// the policy and members if given.
fn attrs(
    name: &PoolName,
    policy: Option<Policy>,
    peers: &[PeerName],
) -> Result<Vec<(PoolAttr, Vec<u8>)>, String> {
    let mut attrs = vec![(PoolAttr::Name, name.nla())];
    if let Some(policy) = policy {
        attrs.push((PoolAttr::Policy, vec![policy as u8]));
    }
    if !peers.is_empty() {
        attrs.push((PoolAttr::Members, members(peers)?));
    }
    Ok(attrs)
}

/// A pool as the kernel lists it.
#[derive(Debug, PartialEq, Eq)]
struct Pool {
    name: String,
    policy: Option<Policy>,
    policy_value: u8,
    members: Vec<String>,
    picks: u64,
}

fn string(attrs: &Attrs, attr: PoolAttr) -> Option<String> {
    find(attrs, attr)
        .and_then(|b| b.strip_suffix(&[0]))
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

fn parse(attrs: &Attrs) -> Result<Pool, Error> {
    let name = string(attrs, PoolAttr::Name).ok_or(Error::BadReply("a pool without a name"))?;
    let [policy_value] = find(attrs, PoolAttr::Policy)
        .and_then(|b| <[u8; 1]>::try_from(b).ok())
        .ok_or(Error::BadReply("a pool without a policy"))?;
    let members = string(attrs, PoolAttr::Members)
        .ok_or(Error::BadReply("a pool without members"))?
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let picks = find(attrs, PoolAttr::Picks)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
        .ok_or(Error::BadReply("a pool without picks"))?;
    Ok(Pool {
        name,
        policy: Policy::from_u8(policy_value),
        policy_value,
        members,
        picks,
    })
}

impl Pool {
    fn policy_name(&self) -> String {
        self.policy.map_or_else(
            || format!("policy-{}", self.policy_value),
            |p| p.name().to_string(),
        )
    }
}

fn table(pools: &[Pool]) -> String {
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.policy_name(),
                if p.members.is_empty() {
                    "-".to_string()
                } else {
                    p.members.join(",")
                },
                p.picks.to_string(),
            ]
        })
        .collect();
    crate::table::columns(&["NAME", "POLICY", "MEMBERS", "PICKS"], &rows)
}

fn json(pools: &[Pool]) -> serde_json::Value {
    pools
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "policy": p.policy_name(),
                "members": p.members,
                "picks": p.picks,
            })
        })
        .collect()
}

/// Does `verb`; a request the kernel could not take is a usage error,
/// reported before the kernel is asked.
pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    fn usage(verb: &str, e: String) -> ! {
        crate::usage_error(&["pool", verb], e)
    }
    match verb {
        Verb::Add(args) => {
            let pool = args.resolve().unwrap_or_else(|e| usage("add", e));
            if pool.peers.is_empty() {
                usage("add", "expected `members PEER,PEER...`".into());
            }
            let policy = pool.policy.unwrap_or(Policy::RoundRobin);
            let attrs =
                attrs(&pool.name, Some(policy), &pool.peers).unwrap_or_else(|e| usage("add", e));
            Client::connect()?.request(Cmd::PoolAdd, &attrs).map(|_| ())
        }
        Verb::Set(args) => {
            let pool = args.resolve().unwrap_or_else(|e| usage("set", e));
            if pool.policy.is_none() && pool.peers.is_empty() {
                usage(
                    "set",
                    "expected `policy POLICY`, `members PEER,PEER...` or both".into(),
                );
            }
            let attrs =
                attrs(&pool.name, pool.policy, &pool.peers).unwrap_or_else(|e| usage("set", e));
            Client::connect()?.request(Cmd::PoolSet, &attrs).map(|_| ())
        }
        Verb::Del { name } => Client::connect()?
            .request(Cmd::PoolDel, &[(PoolAttr::Name, name.nla())])
            .map(|_| ()),
        Verb::List => {
            let pools = Client::connect()?
                .dump::<PoolAttr>(Cmd::PoolGet, &[])?
                .iter()
                .map(parse)
                .collect::<Result<Vec<_>, _>>()?;
            if globals.json {
                println!("{}", json(&pools));
            } else {
                print!("{}", table(&pools));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(names: &[&str]) -> Vec<PeerName> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn pool_names() {
        assert!("web".parse::<PoolName>().is_ok());
        let e = "ABCDEFGHIJKLMNOP".parse::<PoolName>().unwrap_err();
        assert_eq!(
            e,
            "16 characters long; a pool name is 1 to 15 characters of A-Z a-z 0-9 _ . -"
        );
        assert!("a,b".parse::<PoolName>().is_err());
        assert!("".parse::<PoolName>().is_err());
    }

    #[test]
    fn request_attributes() {
        let name: PoolName = "web".parse().unwrap();
        let add = attrs(&name, Some(Policy::LeastFlows), &peers(&["be1", "be2"])).unwrap();
        assert_eq!(
            add,
            vec![
                (PoolAttr::Name, b"web\0".to_vec()),
                (PoolAttr::Policy, vec![2]),
                (PoolAttr::Members, b"be1,be2\0".to_vec()),
            ]
        );
        // set: only what is given.
        let policy_only = attrs(&name, Some(Policy::ConsistentHash), &[]).unwrap();
        assert_eq!(policy_only.len(), 2);
        assert_eq!(policy_only[1], (PoolAttr::Policy, vec![3]));
        let members_only = attrs(&name, None, &peers(&["be3"])).unwrap();
        assert_eq!(members_only[1], (PoolAttr::Members, b"be3\0".to_vec()));
    }

    #[test]
    fn bad_members() {
        assert_eq!(
            members(&peers(&["be1", "be2", "be1"])).unwrap_err(),
            "peer be1 is given twice"
        );
        let many: Vec<String> = (0..33).map(|i| format!("be{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            members(&peers(&many)).unwrap_err(),
            "33 peers; a pool holds at most 32"
        );
        assert!(members(&peers(&many[..32])).is_ok());
        // 32 names of 15 bytes fit the kernel's 511.
        let long: Vec<String> = (0..32).map(|i| format!("node-{i:010}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        assert_eq!(members(&peers(&long)).unwrap().len(), 511 + 1);
    }

    #[test]
    fn listed_pools() {
        let a = |attr: PoolAttr, v: &[u8]| (u16::from(attr), v.to_vec());
        let web = vec![
            a(PoolAttr::Name, b"web\0"),
            a(PoolAttr::Policy, &[1]),
            a(PoolAttr::Members, b"be1,be2\0"),
            a(PoolAttr::Picks, &42u64.to_ne_bytes()),
        ];
        let api = vec![
            a(PoolAttr::Name, b"api-v2\0"),
            a(PoolAttr::Policy, &[3]),
            a(PoolAttr::Members, b"\0"),
            a(PoolAttr::Picks, &0u64.to_ne_bytes()),
        ];
        let pools = [parse(&web).unwrap(), parse(&api).unwrap()];
        assert_eq!(
            table(&pools),
            "NAME   POLICY          MEMBERS PICKS\n\
             web    round-robin     be1,be2 42\n\
             api-v2 consistent-hash -       0\n"
        );
        assert_eq!(
            json(&pools).to_string(),
            r#"[{"members":["be1","be2"],"name":"web","picks":42,"policy":"round-robin"},{"members":[],"name":"api-v2","picks":0,"policy":"consistent-hash"}]"#
        );
        let mut no_picks = web.clone();
        no_picks.pop();
        assert_eq!(
            parse(&no_picks).unwrap_err().to_string(),
            "malformed reply from the kernel: a pool without picks"
        );
    }
}
