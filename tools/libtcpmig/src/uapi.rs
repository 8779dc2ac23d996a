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
    EventNtf = 10,
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
}
impl neli::consts::genl::NlAttrType for EventAttr {}

/// `event-kind`, by value: the names `tcpmig monitor` prints.
pub const EVENT_KINDS: [(u8, &str); 6] = [
    (1, "migrated"),
    (2, "rolled-back"),
    (3, "ambiguous"),
    (4, "accepted"),
    (5, "refused"),
    (6, "flow-ended"),
];

/// `flow-kind`: which table a live flow is in.
pub const FLOW_KIND_FORWARD: u8 = 1;
pub const FLOW_KIND_DECAP: u8 = 2;

/// The longest peer name, in bytes before the NUL (`max-len` in the spec).
pub const PEER_NAME_MAX: usize = 15;

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
    InfuseNs = 15,
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
            (ConnAttr::InfuseNs, "TCPMIG_A_CONN_INFUSE_NS"),
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
        let timeout = "name: timeout-ms\n        type: u32";
        assert_eq!(spec_check(timeout, "max:"), TIMEOUT_MS_MAX as usize);
    }
}
