//! The `tcpmig` generic netlink family, as in `rust/generated/tcpmig_uapi.h`
//! (generated from `Documentation/netlink/specs/tcpmig.yaml`).

use neli::neli_enum;
use std::net::IpAddr;

pub const FAMILY_NAME: &str = "tcpmig";
pub const FAMILY_VERSION: u8 = 1;

#[neli_enum(serialized_type = "u8")]
pub enum Cmd {
    StatusGet = 1,
    ConfigSet = 2,
    ConnCapture = 3,
    ConnInject = 4,
    PeerAdd = 5,
    PeerDel = 6,
    PeerGet = 7,
    ConnMigrate = 8,
    FlowGet = 9,
    ServiceAdd = 10,
    ServiceDel = 11,
    ServiceGet = 12,
    RuleAdd = 13,
    RuleDel = 14,
    RuleGet = 15,
    PoolAdd = 16,
    PoolSet = 17,
    PoolDel = 18,
    PoolGet = 19,
    EventNtf = 20,
}
impl neli::consts::genl::Cmd for Cmd {}

/// Attributes of the `status` set.
#[neli_enum(serialized_type = "u16")]
pub enum StatusAttr {
    NetnsCookie = 1,
    MigratorPort = 2,
    Pad = 3,
    FrozenFlows = 4,
    HeldPackets = 5,
    DroppedPackets = 6,
    HeldBytes = 7,
    FlowPort = 8,
    Peers = 9,
    KeySet = 10,
    MigrationsOk = 11,
    MigrationsFailed = 12,
    MigrationsAmbiguous = 13,
    ForwardFlows = 14,
    ForwardedPackets = 15,
    ForwardErrors = 16,
    AcceptedMigrations = 17,
    RefusedMigrations = 18,
    DecapFlows = 19,
    DecapsulatedPackets = 20,
    DecapDropped = 21,
    BadFrames = 22,
    IcmpForwarded = 23,
    TooBig = 24,
}
impl neli::consts::genl::NlAttrType for StatusAttr {}

/// Attributes of the `config` set.
#[neli_enum(serialized_type = "u16")]
pub enum ConfigAttr {
    MigratorPort = 1,
    ClusterKey = 2,
}
impl neli::consts::genl::NlAttrType for ConfigAttr {}

/// The cluster key's length (`config` `cluster-key` is exactly this long).
pub const CLUSTER_KEY_LEN: usize = 32;

/// Attributes of the `peer` set.
#[neli_enum(serialized_type = "u16")]
pub enum PeerAttr {
    Name = 1,
    Addr = 2,
    Port = 3,
    Up = 4,
    Flows = 5,
    Dispatched = 6,
    DispatchedBytes = 7,
    DispatchFailures = 8,
    Pad = 9,
    Serve = 10,
}
impl neli::consts::genl::NlAttrType for PeerAttr {}

/// Attributes of the `flow` set.
#[neli_enum(serialized_type = "u16")]
pub enum FlowAttr {
    Kind = 1,
    ClientAddr = 2,
    ClientPort = 3,
    VipAddr = 4,
    VipPort = 5,
    PeerAddr = 6,
    FlowId = 7,
    AgeMs = 8,
    IdleMs = 9,
    Packets = 10,
    Pad = 11,
    FirstForwarded = 12,
}
impl neli::consts::genl::NlAttrType for FlowAttr {}

/// The multicast group of migration events.
pub const MCGRP_EVENTS: &str = "events";

/// Attributes of the `event` set.
#[neli_enum(serialized_type = "u16")]
pub enum EventAttr {
    Kind = 1,
    ClientAddr = 2,
    ClientPort = 3,
    VipAddr = 4,
    VipPort = 5,
    PeerAddr = 6,
    FlowId = 7,
    Errno = 8,
    Rule = 9,
    Pad = 10,
    TimeStart = 11,
    TimeFrozen = 12,
    TimeChannel = 13,
    TimeSent = 14,
    TimeAcked = 15,
    TimeForwarding = 16,
    TimeDone = 17,
    TimeReceived = 18,
    TimeInjected = 19,
}

/// The stages of a hand-off an event can carry, in order, with the names
/// `tcpmig monitor` prints.
pub const EVENT_STAGES: [(EventAttr, &str); 9] = [
    (EventAttr::TimeStart, "start"),
    (EventAttr::TimeFrozen, "frozen"),
    (EventAttr::TimeChannel, "channel"),
    (EventAttr::TimeSent, "sent"),
    (EventAttr::TimeAcked, "acked"),
    (EventAttr::TimeForwarding, "forwarding"),
    (EventAttr::TimeDone, "done"),
    (EventAttr::TimeReceived, "received"),
    (EventAttr::TimeInjected, "injected"),
];
impl neli::consts::genl::NlAttrType for EventAttr {}

/// `event-kind`, by value: the names `tcpmig monitor` prints.
pub const EVENT_KINDS: [(u8, &str); 8] = [
    (1, "migrated"),
    (2, "rolled-back"),
    (3, "ambiguous"),
    (4, "accepted"),
    (5, "refused"),
    (6, "flow-ended"),
    (7, "dispatched"),
    (8, "fallback"),
];

/// `flow-kind`: which table a live flow is in.
pub const FLOW_KIND_FORWARD: u8 = 1;
pub const FLOW_KIND_DECAP: u8 = 2;

/// The longest peer name, in bytes before the NUL (`max-len` in the spec).
pub const PEER_NAME_MAX: usize = 15;

/// Attributes of the `service` set.
#[neli_enum(serialized_type = "u16")]
pub enum ServiceAttr {
    Addr = 1,
    Port = 2,
    TimeoutMs = 3,
    MaxBytes = 4,
    Fallback = 5,
    Silent = 6,
    LocalPort = 7,
    Pending = 8,
    Accepted = 9,
    Migrated = 10,
    Fallbacks = 11,
    Timeouts = 12,
    Overflows = 13,
    Failures = 14,
    Pad = 15,
    MaxPending = 16,
}
impl neli::consts::genl::NlAttrType for ServiceAttr {}

/// The longest a service waits for the first bytes (`service`
/// `timeout-ms`'s `max`).
pub const SERVICE_TIMEOUT_MS_MAX: u32 = 600000;
/// The most first bytes a service looks at (`service` `max-bytes`'s `max`).
pub const SERVICE_MAX_BYTES_MAX: u32 = 16384;
/// The most connections a service decides at once (`service`
/// `max-pending`'s `max`).
pub const SERVICE_MAX_PENDING_MAX: u32 = 16384;

/// Attributes of the `rule` set.
#[neli_enum(serialized_type = "u16")]
pub enum RuleAttr {
    ServiceAddr = 1,
    ServicePort = 2,
    Index = 3,
    Kind = 4,
    Pattern = 5,
    Method = 6,
    HashN = 7,
    HashM = 8,
    Pool = 9,
    Hits = 10,
    Bytes = 11,
    Failures = 12,
    Pad = 13,
}
impl neli::consts::genl::NlAttrType for RuleAttr {}

/// The longest rule pattern, in bytes (`rule` `pattern`'s `max-len`).
pub const RULE_PATTERN_MAX: usize = 255;
/// The longest HTTP method of a rule, in bytes before the NUL (`rule`
/// `method`'s `max-len`).
pub const RULE_METHOD_MAX: usize = 16;

/// Attributes of the `pool` set.
#[neli_enum(serialized_type = "u16")]
pub enum PoolAttr {
    Name = 1,
    Policy = 2,
    Members = 3,
    Picks = 4,
    Pad = 5,
}
impl neli::consts::genl::NlAttrType for PoolAttr {}

/// The longest pool name, in bytes before the NUL (`max-len` in the spec).
pub const POOL_NAME_MAX: usize = 15;
/// The longest `members` string, in bytes before the NUL.
pub const POOL_MEMBERS_LEN_MAX: usize = 511;
/// The most peers a pool holds (the `members` doc).
pub const POOL_MEMBERS_MAX: usize = 32;

/// The `fallback` enum: what a service does with a connection no
/// back-end can take (the `service` `fallback` attribute, a u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[repr(u8)]
pub enum Fallback {
    /// Reset it (the client sees a RST)
    Reset = 1,
    /// Hand it to the local listener on the service's address and
    /// local-port
    Local = 2,
}

/// The `silent` enum: what a service does with a client that sent
/// nothing before the timeout (the `service` `silent` attribute, a u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[repr(u8)]
pub enum Silent {
    /// Decide on no bytes (a client-hash or default rule can still match)
    Default = 1,
    /// Reset the connection
    Reset = 2,
}

/// The `rule-kind` enum: what a rule tests the first bytes of a
/// connection for (the `rule` `kind` attribute, a u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RuleKind {
    Prefix = 1,
    Http = 2,
    Host = 3,
    ClientHash = 4,
    Default = 5,
}

/// The `policy` enum: how a pool picks one of its peers (the `pool`
/// `policy` attribute, a u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[repr(u8)]
pub enum Policy {
    /// Each peer in turn
    RoundRobin = 1,
    /// The peer with the fewest live flows from this node
    LeastFlows = 2,
    /// Rendezvous hash of the client address: a peer leaving moves only
    /// its own clients
    ConsistentHash = 3,
}

impl Fallback {
    pub const ALL: [Self; 2] = [Self::Reset, Self::Local];
    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Local => "local",
        }
    }
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|x| *x as u8 == v)
    }
}

impl Silent {
    pub const ALL: [Self; 2] = [Self::Default, Self::Reset];
    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Reset => "reset",
        }
    }
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|x| *x as u8 == v)
    }
}

impl RuleKind {
    pub const ALL: [Self; 5] = [
        Self::Prefix,
        Self::Http,
        Self::Host,
        Self::ClientHash,
        Self::Default,
    ];
    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prefix => "prefix",
            Self::Http => "http",
            Self::Host => "host",
            Self::ClientHash => "client-hash",
            Self::Default => "default",
        }
    }
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|x| *x as u8 == v)
    }
}

impl Policy {
    pub const ALL: [Self; 3] = [Self::RoundRobin, Self::LeastFlows, Self::ConsistentHash];
    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RoundRobin => "round-robin",
            Self::LeastFlows => "least-flows",
            Self::ConsistentHash => "consistent-hash",
        }
    }
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|x| *x as u8 == v)
    }
}

/// Attributes of the `conn` set.
#[neli_enum(serialized_type = "u16")]
pub enum ConnAttr {
    LocalAddr = 1,
    LocalPort = 2,
    RemoteAddr = 3,
    RemotePort = 4,
    Blob = 5,
    BlobFd = 6,
    BlobLen = 7,
    Peer = 8,
    TimeoutMs = 9,
    OnFailure = 10,
    FlowId = 11,
    CaptureNs = 12,
    TransferNs = 13,
    Fd = 14,
    InjectNs = 15,
    Pad = 16,
}
impl neli::consts::genl::NlAttrType for ConnAttr {}

/// An address as the `conn` and `peer` sets carry it: 4 or 16 bytes,
/// network order.
pub fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The address of an attribute as `addr_bytes` writes it: 4 bytes are
/// IPv4, 16 IPv6, any other length none.
pub fn bytes_addr(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(bytes) {
        Some(a.into())
    } else {
        <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
    }
}

/// The longest wait for a peer's answer (`conn` `timeout-ms`'s `max`).
pub const TIMEOUT_MS_MAX: u32 = 60000;

/// The `on-failure` enum: what becomes of a connection whose migration
/// failed (the `conn` `on-failure` attribute, a u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[repr(u8)]
pub enum OnFailure {
    /// Roll back; the connection goes on where it was
    Local = 0,
    /// Roll back, then reset the connection (the client sees a RST)
    Reset = 1,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for ip in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(bytes_addr(&addr_bytes(ip)), Some(ip));
        }
        assert_eq!(bytes_addr(&[192, 0, 2]), None);
        assert_eq!(bytes_addr(&[]), None);
    }

    /// The generated uapi header, the kernel side's source of numbers.
    const HEADER: &str = include_str!("../../../rust/generated/tcpmig_uapi.h");

    /// The value of an enumerator in the header: explicit, or one past
    /// the previous one.
    fn enum_value(name: &str) -> u16 {
        let mut next = 0u16;
        for line in HEADER.lines().map(str::trim) {
            if line.starts_with("enum") {
                next = 0;
                continue;
            }
            let Some(entry) = line.strip_suffix(',') else {
                continue;
            };
            let (ident, value) = match entry.split_once(" = ") {
                Some((ident, value)) => (ident, value.parse().unwrap_or(next)),
                None => (entry, next),
            };
            if ident == name {
                return value;
            }
            next = value + 1;
        }
        panic!("{name} not in tcpmig_uapi.h");
    }

    #[test]
    fn numbers_match_the_kernel_header() {
        let cmds = [
            (Cmd::StatusGet, "TCPMIG_CMD_STATUS_GET"),
            (Cmd::ConfigSet, "TCPMIG_CMD_CONFIG_SET"),
            (Cmd::ConnCapture, "TCPMIG_CMD_CONN_CAPTURE"),
            (Cmd::ConnInject, "TCPMIG_CMD_CONN_INJECT"),
            (Cmd::PeerAdd, "TCPMIG_CMD_PEER_ADD"),
            (Cmd::PeerDel, "TCPMIG_CMD_PEER_DEL"),
            (Cmd::PeerGet, "TCPMIG_CMD_PEER_GET"),
            (Cmd::ConnMigrate, "TCPMIG_CMD_CONN_MIGRATE"),
            (Cmd::FlowGet, "TCPMIG_CMD_FLOW_GET"),
            (Cmd::ServiceAdd, "TCPMIG_CMD_SERVICE_ADD"),
            (Cmd::ServiceDel, "TCPMIG_CMD_SERVICE_DEL"),
            (Cmd::ServiceGet, "TCPMIG_CMD_SERVICE_GET"),
            (Cmd::RuleAdd, "TCPMIG_CMD_RULE_ADD"),
            (Cmd::RuleDel, "TCPMIG_CMD_RULE_DEL"),
            (Cmd::RuleGet, "TCPMIG_CMD_RULE_GET"),
            (Cmd::PoolAdd, "TCPMIG_CMD_POOL_ADD"),
            (Cmd::PoolSet, "TCPMIG_CMD_POOL_SET"),
            (Cmd::PoolDel, "TCPMIG_CMD_POOL_DEL"),
            (Cmd::PoolGet, "TCPMIG_CMD_POOL_GET"),
            (Cmd::EventNtf, "TCPMIG_CMD_EVENT_NTF"),
        ];
        for (cmd, name) in cmds {
            assert_eq!(u16::from(u8::from(cmd)), enum_value(name), "{name}");
        }
        assert_eq!(
            cmds.len() as u16,
            enum_value("__TCPMIG_CMD_MAX") - 1,
            "__TCPMIG_CMD_MAX: the library lacks some"
        );
        let status = [
            (StatusAttr::NetnsCookie, "TCPMIG_A_STATUS_NETNS_COOKIE"),
            (StatusAttr::MigratorPort, "TCPMIG_A_STATUS_MIGRATOR_PORT"),
            (StatusAttr::Pad, "TCPMIG_A_STATUS_PAD"),
            (StatusAttr::FrozenFlows, "TCPMIG_A_STATUS_FROZEN_FLOWS"),
            (StatusAttr::HeldPackets, "TCPMIG_A_STATUS_HELD_PACKETS"),
            (
                StatusAttr::DroppedPackets,
                "TCPMIG_A_STATUS_DROPPED_PACKETS",
            ),
            (StatusAttr::HeldBytes, "TCPMIG_A_STATUS_HELD_BYTES"),
            (StatusAttr::FlowPort, "TCPMIG_A_STATUS_FLOW_PORT"),
            (StatusAttr::Peers, "TCPMIG_A_STATUS_PEERS"),
            (StatusAttr::KeySet, "TCPMIG_A_STATUS_KEY_SET"),
            (StatusAttr::MigrationsOk, "TCPMIG_A_STATUS_MIGRATIONS_OK"),
            (
                StatusAttr::MigrationsFailed,
                "TCPMIG_A_STATUS_MIGRATIONS_FAILED",
            ),
            (
                StatusAttr::MigrationsAmbiguous,
                "TCPMIG_A_STATUS_MIGRATIONS_AMBIGUOUS",
            ),
            (StatusAttr::ForwardFlows, "TCPMIG_A_STATUS_FORWARD_FLOWS"),
            (
                StatusAttr::ForwardedPackets,
                "TCPMIG_A_STATUS_FORWARDED_PACKETS",
            ),
            (StatusAttr::ForwardErrors, "TCPMIG_A_STATUS_FORWARD_ERRORS"),
            (
                StatusAttr::AcceptedMigrations,
                "TCPMIG_A_STATUS_ACCEPTED_MIGRATIONS",
            ),
            (
                StatusAttr::RefusedMigrations,
                "TCPMIG_A_STATUS_REFUSED_MIGRATIONS",
            ),
            (StatusAttr::DecapFlows, "TCPMIG_A_STATUS_DECAP_FLOWS"),
            (
                StatusAttr::DecapsulatedPackets,
                "TCPMIG_A_STATUS_DECAPSULATED_PACKETS",
            ),
            (StatusAttr::DecapDropped, "TCPMIG_A_STATUS_DECAP_DROPPED"),
            (StatusAttr::BadFrames, "TCPMIG_A_STATUS_BAD_FRAMES"),
            (StatusAttr::IcmpForwarded, "TCPMIG_A_STATUS_ICMP_FORWARDED"),
            (StatusAttr::TooBig, "TCPMIG_A_STATUS_TOO_BIG"),
        ];
        for (attr, name) in status {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            status.len() as u16,
            enum_value("__TCPMIG_A_STATUS_MAX") - 1,
            "__TCPMIG_A_STATUS_MAX: the library lacks some"
        );
        let config = [
            (ConfigAttr::MigratorPort, "TCPMIG_A_CONFIG_MIGRATOR_PORT"),
            (ConfigAttr::ClusterKey, "TCPMIG_A_CONFIG_CLUSTER_KEY"),
        ];
        for (attr, name) in config {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            config.len() as u16,
            enum_value("__TCPMIG_A_CONFIG_MAX") - 1,
            "__TCPMIG_A_CONFIG_MAX: the library lacks some"
        );
        let peer = [
            (PeerAttr::Name, "TCPMIG_A_PEER_NAME"),
            (PeerAttr::Addr, "TCPMIG_A_PEER_ADDR"),
            (PeerAttr::Port, "TCPMIG_A_PEER_PORT"),
            (PeerAttr::Up, "TCPMIG_A_PEER_UP"),
            (PeerAttr::Flows, "TCPMIG_A_PEER_FLOWS"),
            (PeerAttr::Dispatched, "TCPMIG_A_PEER_DISPATCHED"),
            (PeerAttr::DispatchedBytes, "TCPMIG_A_PEER_DISPATCHED_BYTES"),
            (
                PeerAttr::DispatchFailures,
                "TCPMIG_A_PEER_DISPATCH_FAILURES",
            ),
            (PeerAttr::Pad, "TCPMIG_A_PEER_PAD"),
            (PeerAttr::Serve, "TCPMIG_A_PEER_SERVE"),
        ];
        for (attr, name) in peer {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            peer.len() as u16,
            enum_value("__TCPMIG_A_PEER_MAX") - 1,
            "__TCPMIG_A_PEER_MAX: the library lacks some"
        );
        let event = [
            (EventAttr::Kind, "TCPMIG_A_EVENT_KIND"),
            (EventAttr::ClientAddr, "TCPMIG_A_EVENT_CLIENT_ADDR"),
            (EventAttr::ClientPort, "TCPMIG_A_EVENT_CLIENT_PORT"),
            (EventAttr::VipAddr, "TCPMIG_A_EVENT_VIP_ADDR"),
            (EventAttr::VipPort, "TCPMIG_A_EVENT_VIP_PORT"),
            (EventAttr::PeerAddr, "TCPMIG_A_EVENT_PEER_ADDR"),
            (EventAttr::FlowId, "TCPMIG_A_EVENT_FLOW_ID"),
            (EventAttr::Errno, "TCPMIG_A_EVENT_ERRNO"),
            (EventAttr::Rule, "TCPMIG_A_EVENT_RULE"),
            (EventAttr::Pad, "TCPMIG_A_EVENT_PAD"),
            (EventAttr::TimeStart, "TCPMIG_A_EVENT_TIME_START"),
            (EventAttr::TimeFrozen, "TCPMIG_A_EVENT_TIME_FROZEN"),
            (EventAttr::TimeChannel, "TCPMIG_A_EVENT_TIME_CHANNEL"),
            (EventAttr::TimeSent, "TCPMIG_A_EVENT_TIME_SENT"),
            (EventAttr::TimeAcked, "TCPMIG_A_EVENT_TIME_ACKED"),
            (EventAttr::TimeForwarding, "TCPMIG_A_EVENT_TIME_FORWARDING"),
            (EventAttr::TimeDone, "TCPMIG_A_EVENT_TIME_DONE"),
            (EventAttr::TimeReceived, "TCPMIG_A_EVENT_TIME_RECEIVED"),
            (EventAttr::TimeInjected, "TCPMIG_A_EVENT_TIME_INJECTED"),
        ];
        for (attr, name) in event {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            event.len() as u16,
            enum_value("__TCPMIG_A_EVENT_MAX") - 1,
            "__TCPMIG_A_EVENT_MAX: the library lacks some"
        );
        for (value, name) in EVENT_KINDS {
            let ident = format!(
                "TCPMIG_EVENT_KIND_{}",
                name.to_uppercase().replace('-', "_")
            );
            assert_eq!(u16::from(value), enum_value(&ident), "{ident}");
        }
        assert_eq!(
            EVENT_KINDS.len() as u16,
            enum_value("TCPMIG_EVENT_KIND_FALLBACK"),
            "event-kind: the library lacks some"
        );
        let service = [
            (ServiceAttr::Addr, "TCPMIG_A_SERVICE_ADDR"),
            (ServiceAttr::Port, "TCPMIG_A_SERVICE_PORT"),
            (ServiceAttr::TimeoutMs, "TCPMIG_A_SERVICE_TIMEOUT_MS"),
            (ServiceAttr::MaxBytes, "TCPMIG_A_SERVICE_MAX_BYTES"),
            (ServiceAttr::Fallback, "TCPMIG_A_SERVICE_FALLBACK"),
            (ServiceAttr::Silent, "TCPMIG_A_SERVICE_SILENT"),
            (ServiceAttr::LocalPort, "TCPMIG_A_SERVICE_LOCAL_PORT"),
            (ServiceAttr::Pending, "TCPMIG_A_SERVICE_PENDING"),
            (ServiceAttr::Accepted, "TCPMIG_A_SERVICE_ACCEPTED"),
            (ServiceAttr::Migrated, "TCPMIG_A_SERVICE_MIGRATED"),
            (ServiceAttr::Fallbacks, "TCPMIG_A_SERVICE_FALLBACKS"),
            (ServiceAttr::Timeouts, "TCPMIG_A_SERVICE_TIMEOUTS"),
            (ServiceAttr::Overflows, "TCPMIG_A_SERVICE_OVERFLOWS"),
            (ServiceAttr::Failures, "TCPMIG_A_SERVICE_FAILURES"),
            (ServiceAttr::Pad, "TCPMIG_A_SERVICE_PAD"),
            (ServiceAttr::MaxPending, "TCPMIG_A_SERVICE_MAX_PENDING"),
        ];
        for (attr, name) in service {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            service.len() as u16,
            enum_value("__TCPMIG_A_SERVICE_MAX") - 1,
            "__TCPMIG_A_SERVICE_MAX: the library lacks some"
        );
        let rule = [
            (RuleAttr::ServiceAddr, "TCPMIG_A_RULE_SERVICE_ADDR"),
            (RuleAttr::ServicePort, "TCPMIG_A_RULE_SERVICE_PORT"),
            (RuleAttr::Index, "TCPMIG_A_RULE_INDEX"),
            (RuleAttr::Kind, "TCPMIG_A_RULE_KIND"),
            (RuleAttr::Pattern, "TCPMIG_A_RULE_PATTERN"),
            (RuleAttr::Method, "TCPMIG_A_RULE_METHOD"),
            (RuleAttr::HashN, "TCPMIG_A_RULE_HASH_N"),
            (RuleAttr::HashM, "TCPMIG_A_RULE_HASH_M"),
            (RuleAttr::Pool, "TCPMIG_A_RULE_POOL"),
            (RuleAttr::Hits, "TCPMIG_A_RULE_HITS"),
            (RuleAttr::Bytes, "TCPMIG_A_RULE_BYTES"),
            (RuleAttr::Failures, "TCPMIG_A_RULE_FAILURES"),
            (RuleAttr::Pad, "TCPMIG_A_RULE_PAD"),
        ];
        for (attr, name) in rule {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            rule.len() as u16,
            enum_value("__TCPMIG_A_RULE_MAX") - 1,
            "__TCPMIG_A_RULE_MAX: the library lacks some"
        );
        let pool = [
            (PoolAttr::Name, "TCPMIG_A_POOL_NAME"),
            (PoolAttr::Policy, "TCPMIG_A_POOL_POLICY"),
            (PoolAttr::Members, "TCPMIG_A_POOL_MEMBERS"),
            (PoolAttr::Picks, "TCPMIG_A_POOL_PICKS"),
            (PoolAttr::Pad, "TCPMIG_A_POOL_PAD"),
        ];
        for (attr, name) in pool {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            pool.len() as u16,
            enum_value("__TCPMIG_A_POOL_MAX") - 1,
            "__TCPMIG_A_POOL_MAX: the library lacks some"
        );
        // The dispatcher's enums: every value, under its spec name.
        let named = |prefix: &str, name: &str| {
            format!("TCPMIG_{prefix}_{}", name.to_uppercase().replace('-', "_"))
        };
        for v in Fallback::ALL {
            let ident = named("FALLBACK", v.name());
            assert_eq!(u16::from(v as u8), enum_value(&ident), "{ident}");
            assert_eq!(Fallback::from_u8(v as u8), Some(v));
        }
        for v in Silent::ALL {
            let ident = named("SILENT", v.name());
            assert_eq!(u16::from(v as u8), enum_value(&ident), "{ident}");
            assert_eq!(Silent::from_u8(v as u8), Some(v));
        }
        for v in RuleKind::ALL {
            let ident = named("RULE_KIND", v.name());
            assert_eq!(u16::from(v as u8), enum_value(&ident), "{ident}");
            assert_eq!(RuleKind::from_u8(v as u8), Some(v));
        }
        for v in Policy::ALL {
            let ident = named("POLICY", v.name());
            assert_eq!(u16::from(v as u8), enum_value(&ident), "{ident}");
            assert_eq!(Policy::from_u8(v as u8), Some(v));
        }
        assert!(HEADER.contains(
            "enum tcpmig_fallback {\n\tTCPMIG_FALLBACK_RESET = 1,\n\tTCPMIG_FALLBACK_LOCAL,\n};"
        ));
        assert!(HEADER.contains(
            "enum tcpmig_silent {\n\tTCPMIG_SILENT_DEFAULT = 1,\n\tTCPMIG_SILENT_RESET,\n};"
        ));
        assert!(HEADER.contains("\tTCPMIG_RULE_KIND_DEFAULT,\n};"));
        assert!(HEADER.contains("\tTCPMIG_POLICY_CONSISTENT_HASH,\n};"));
        assert_eq!(Fallback::from_u8(0), None);
        assert_eq!(RuleKind::from_u8(6), None);
        assert!(HEADER.contains(&format!("#define TCPMIG_MCGRP_EVENTS\t\"{MCGRP_EVENTS}\"")));
        let flow = [
            (FlowAttr::Kind, "TCPMIG_A_FLOW_KIND"),
            (FlowAttr::ClientAddr, "TCPMIG_A_FLOW_CLIENT_ADDR"),
            (FlowAttr::ClientPort, "TCPMIG_A_FLOW_CLIENT_PORT"),
            (FlowAttr::VipAddr, "TCPMIG_A_FLOW_VIP_ADDR"),
            (FlowAttr::VipPort, "TCPMIG_A_FLOW_VIP_PORT"),
            (FlowAttr::PeerAddr, "TCPMIG_A_FLOW_PEER_ADDR"),
            (FlowAttr::FlowId, "TCPMIG_A_FLOW_FLOW_ID"),
            (FlowAttr::AgeMs, "TCPMIG_A_FLOW_AGE_MS"),
            (FlowAttr::IdleMs, "TCPMIG_A_FLOW_IDLE_MS"),
            (FlowAttr::Packets, "TCPMIG_A_FLOW_PACKETS"),
            (FlowAttr::Pad, "TCPMIG_A_FLOW_PAD"),
            (FlowAttr::FirstForwarded, "TCPMIG_A_FLOW_FIRST_FORWARDED"),
        ];
        for (attr, name) in flow {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            flow.len() as u16,
            enum_value("__TCPMIG_A_FLOW_MAX") - 1,
            "__TCPMIG_A_FLOW_MAX: the library lacks some"
        );
        assert_eq!(
            u16::from(FLOW_KIND_FORWARD),
            enum_value("TCPMIG_FLOW_KIND_FORWARD")
        );
        assert_eq!(
            u16::from(FLOW_KIND_DECAP),
            enum_value("TCPMIG_FLOW_KIND_DECAP")
        );
        let on_failure = [
            (OnFailure::Local, "TCPMIG_ON_FAILURE_LOCAL"),
            (OnFailure::Reset, "TCPMIG_ON_FAILURE_RESET"),
        ];
        for (value, name) in on_failure {
            assert_eq!(u16::from(value as u8), enum_value(name), "{name}");
        }
        let conn = [
            (ConnAttr::LocalAddr, "TCPMIG_A_CONN_LOCAL_ADDR"),
            (ConnAttr::LocalPort, "TCPMIG_A_CONN_LOCAL_PORT"),
            (ConnAttr::RemoteAddr, "TCPMIG_A_CONN_REMOTE_ADDR"),
            (ConnAttr::RemotePort, "TCPMIG_A_CONN_REMOTE_PORT"),
            (ConnAttr::Blob, "TCPMIG_A_CONN_BLOB"),
            (ConnAttr::BlobFd, "TCPMIG_A_CONN_BLOB_FD"),
            (ConnAttr::BlobLen, "TCPMIG_A_CONN_BLOB_LEN"),
            (ConnAttr::Peer, "TCPMIG_A_CONN_PEER"),
            (ConnAttr::TimeoutMs, "TCPMIG_A_CONN_TIMEOUT_MS"),
            (ConnAttr::OnFailure, "TCPMIG_A_CONN_ON_FAILURE"),
            (ConnAttr::FlowId, "TCPMIG_A_CONN_FLOW_ID"),
            (ConnAttr::CaptureNs, "TCPMIG_A_CONN_CAPTURE_NS"),
            (ConnAttr::TransferNs, "TCPMIG_A_CONN_TRANSFER_NS"),
            (ConnAttr::Fd, "TCPMIG_A_CONN_FD"),
            (ConnAttr::InjectNs, "TCPMIG_A_CONN_INJECT_NS"),
            (ConnAttr::Pad, "TCPMIG_A_CONN_PAD"),
        ];
        for (attr, name) in conn {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert_eq!(
            conn.len() as u16,
            enum_value("__TCPMIG_A_CONN_MAX") - 1,
            "__TCPMIG_A_CONN_MAX: the library lacks some"
        );
        assert!(HEADER.contains(
            "enum tcpmig_on_failure {\n\tTCPMIG_ON_FAILURE_LOCAL,\n\tTCPMIG_ON_FAILURE_RESET,\n};"
        ));
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_NAME\t\"{FAMILY_NAME}\"")));
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_VERSION\t{FAMILY_VERSION}")));
    }

    /// The spec, for the limits the header does not carry.
    const SPEC: &str = include_str!("../../../Documentation/netlink/specs/tcpmig.yaml");

    /// The value of `check` in the first attribute after `anchor` (a
    /// YAML fragment unique to that attribute) that has it.
    fn spec_check(anchor: &str, check: &str) -> usize {
        let at = SPEC
            .find(anchor)
            .unwrap_or_else(|| panic!("{anchor:?} not in the spec"));
        let rest = &SPEC[at..];
        let value = rest[rest.find(check).expect(check) + check.len()..]
            .lines()
            .next()
            .unwrap_or_default();
        value.trim().parse().expect(check)
    }

    #[test]
    fn limits_match_the_spec() {
        let key = "name: cluster-key\n        type: binary";
        assert_eq!(spec_check(key, "exact-len:"), CLUSTER_KEY_LEN);
        let name = "name: name\n        type: string";
        assert_eq!(spec_check(name, "max-len:"), PEER_NAME_MAX);
        let peer = "name: peer\n        type: string";
        assert_eq!(spec_check(peer, "max-len:"), PEER_NAME_MAX);
        // Two sets have a timeout-ms: the conn set's is the peer's answer.
        let timeout =
            "name: timeout-ms\n        type: u32\n        doc: How long to wait for the peer";
        assert_eq!(spec_check(timeout, "max:"), TIMEOUT_MS_MAX as usize);
        let service_timeout =
            "name: timeout-ms\n        type: u32\n        doc: How long to wait for the first bytes";
        assert_eq!(
            spec_check(service_timeout, "max:"),
            SERVICE_TIMEOUT_MS_MAX as usize
        );
        let max_bytes = "name: max-bytes\n        type: u32";
        assert_eq!(
            spec_check(max_bytes, "max:"),
            SERVICE_MAX_BYTES_MAX as usize
        );
        let max_pending = "name: max-pending\n        type: u32";
        assert_eq!(
            spec_check(max_pending, "max:"),
            SERVICE_MAX_PENDING_MAX as usize
        );
        let pattern = "name: pattern\n        type: binary";
        assert_eq!(spec_check(pattern, "max-len:"), RULE_PATTERN_MAX);
        let method = "name: method\n        type: string";
        assert_eq!(spec_check(method, "max-len:"), RULE_METHOD_MAX);
        let rule_pool = "name: pool\n        type: string";
        assert_eq!(spec_check(rule_pool, "max-len:"), POOL_NAME_MAX);
        let pool_set = SPEC
            .find("    name: pool\n    attributes:")
            .expect("pool set");
        let pool_name = &SPEC[pool_set..];
        assert!(pool_name.contains(&format!(
            "name: name\n        type: string\n        checks:\n          max-len: {POOL_NAME_MAX}\n"
        )));
        let members = "name: members\n        type: string";
        assert_eq!(spec_check(members, "max-len:"), POOL_MEMBERS_LEN_MAX);
        assert!(SPEC.contains(&format!("separated by commas (at most {POOL_MEMBERS_MAX})")));
        // 32 names of at most 15 bytes and the commas between them fit.
        const { assert!(POOL_MEMBERS_MAX * (PEER_NAME_MAX + 1) - 1 <= POOL_MEMBERS_LEN_MAX) };
    }
}
