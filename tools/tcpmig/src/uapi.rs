//! The `tcpmig` generic netlink family, as in `rust/netlink/tcpmig_uapi.h`
//! (generated from `Documentation/netlink/specs/tcpmig.yaml`).

use neli::neli_enum;

pub const FAMILY_NAME: &str = "tcpmig";
pub const FAMILY_VERSION: u8 = 1;

#[neli_enum(serialized_type = "u8")]
pub enum Cmd {
    StatusGet = 1,
    ConfigSet = 2,
}
impl neli::consts::genl::Cmd for Cmd {}

/// Attributes of the `status` set.
#[neli_enum(serialized_type = "u16")]
pub enum Attr {
    NetnsCookie = 1,
    MigratorPort = 2,
    Pad = 3,
}
impl neli::consts::genl::NlAttrType for Attr {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated uapi header, the kernel side's source of numbers.
    const HEADER: &str = include_str!("../../../rust/netlink/tcpmig_uapi.h");

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
        assert_eq!(
            u8::from(Cmd::StatusGet) as u16,
            enum_value("TCPMIG_CMD_STATUS_GET")
        );
        assert_eq!(
            u8::from(Cmd::ConfigSet) as u16,
            enum_value("TCPMIG_CMD_CONFIG_SET")
        );
        assert_eq!(
            u16::from(Attr::NetnsCookie),
            enum_value("TCPMIG_A_STATUS_NETNS_COOKIE")
        );
        assert_eq!(
            u16::from(Attr::MigratorPort),
            enum_value("TCPMIG_A_STATUS_MIGRATOR_PORT")
        );
        assert_eq!(u16::from(Attr::Pad), enum_value("TCPMIG_A_STATUS_PAD"));
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_NAME\t\"{FAMILY_NAME}\"")));
        assert!(HEADER.contains(&format!("#define TCPMIG_FAMILY_VERSION\t{FAMILY_VERSION}")));
    }
}
