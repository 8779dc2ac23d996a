//! The `tcpmig` generic netlink family, as in `rust/generated/tcpmig_uapi.h`
//! (generated from `Documentation/netlink/specs/tcpmig.yaml`).

use neli::neli_enum;

pub const FAMILY_NAME: &str = "tcpmig";
pub const FAMILY_VERSION: u8 = 1;

#[neli_enum(serialized_type = "u8")]
pub enum Cmd {
    StatusGet = 1,
    ConfigSet = 2,
    ConnCapture = 3,
    ConnInject = 4,
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
}
impl neli::consts::genl::NlAttrType for StatusAttr {}

/// Attributes of the `config` set.
#[neli_enum(serialized_type = "u16")]
pub enum ConfigAttr {
    MigratorPort = 1,
}
impl neli::consts::genl::NlAttrType for ConfigAttr {}

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
}
impl neli::consts::genl::NlAttrType for ConnAttr {}

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
        ];
        for (cmd, name) in cmds {
            assert_eq!(u16::from(u8::from(cmd)), enum_value(name), "{name}");
        }
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
        ];
        for (attr, name) in status {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        let config = [(ConfigAttr::MigratorPort, "TCPMIG_A_CONFIG_MIGRATOR_PORT")];
        for (attr, name) in config {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        let conn = [
            (ConnAttr::LocalAddr, "TCPMIG_A_CONN_LOCAL_ADDR"),
            (ConnAttr::LocalPort, "TCPMIG_A_CONN_LOCAL_PORT"),
            (ConnAttr::RemoteAddr, "TCPMIG_A_CONN_REMOTE_ADDR"),
            (ConnAttr::RemotePort, "TCPMIG_A_CONN_REMOTE_PORT"),
            (ConnAttr::Blob, "TCPMIG_A_CONN_BLOB"),
            (ConnAttr::BlobFd, "TCPMIG_A_CONN_BLOB_FD"),
            (ConnAttr::BlobLen, "TCPMIG_A_CONN_BLOB_LEN"),
        ];
        for (attr, name) in conn {
            assert_eq!(u16::from(attr), enum_value(name), "{name}");
        }
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_NAME\t\"{FAMILY_NAME}\"")));
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_VERSION\t{FAMILY_VERSION}")));
    }
}
