//! `tcpmig status`: this namespace's status and configuration.

use tcpmig_client::genl::{find, Attrs, Client};
use tcpmig_client::uapi::{Cmd, StatusAttr};
use tcpmig_client::Error;

pub struct Status {
    pub netns_cookie: u64,
    pub migrator_port: u16,
    pub frozen_flows: u32,
    pub held_packets: u64,
    pub dropped_packets: u64,
    pub held_bytes: u64,
    pub flow_port: u16,
    pub peers: u32,
    pub key_set: u8,
    pub migrations_ok: u64,
    pub migrations_failed: u64,
    pub migrations_ambiguous: u64,
    pub forward_flows: u32,
    pub forwarded_packets: u64,
    pub forward_errors: u64,
    pub accepted_migrations: u64,
    pub refused_migrations: u64,
    pub decap_flows: u32,
    pub decapsulated_packets: u64,
    pub decap_dropped: u64,
    pub bad_frames: u64,
    pub icmp_forwarded: u64,
    pub too_big: u64,
}

/// An integer attribute, in native byte order.
trait Native: Sized {
    fn from_ne(bytes: &[u8]) -> Option<Self>;
}

macro_rules! native {
    ($($t:ty),*) => {
        $(impl Native for $t {
            fn from_ne(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(<$t>::from_ne_bytes)
            }
        })*
    };
}
native!(u8, u16, u32, u64);

/// An integer attribute the kernel always sends; `what` names it in the
/// error if it is missing or of the wrong size.
fn field<T: Native>(attrs: &Attrs, attr: StatusAttr, what: &'static str) -> Result<T, Error> {
    find(attrs, attr)
        .and_then(T::from_ne)
        .ok_or(Error::BadReply(what))
}

fn parse(attrs: &Attrs) -> Result<Status, Error> {
    use StatusAttr as A;
    Ok(Status {
        netns_cookie: field(attrs, A::NetnsCookie, "no netns cookie")?,
        migrator_port: field(attrs, A::MigratorPort, "no migrator port")?,
        frozen_flows: field(attrs, A::FrozenFlows, "no frozen flows")?,
        held_packets: field(attrs, A::HeldPackets, "no held packets")?,
        dropped_packets: field(attrs, A::DroppedPackets, "no dropped packets")?,
        held_bytes: field(attrs, A::HeldBytes, "no held bytes")?,
        flow_port: field(attrs, A::FlowPort, "no flow port")?,
        peers: field(attrs, A::Peers, "no peer count")?,
        key_set: field(attrs, A::KeySet, "no key-set flag")?,
        migrations_ok: field(attrs, A::MigrationsOk, "no migrations ok")?,
        migrations_failed: field(attrs, A::MigrationsFailed, "no migrations failed")?,
        migrations_ambiguous: field(attrs, A::MigrationsAmbiguous, "no migrations ambiguous")?,
        forward_flows: field(attrs, A::ForwardFlows, "no forward flows")?,
        forwarded_packets: field(attrs, A::ForwardedPackets, "no forwarded packets")?,
        forward_errors: field(attrs, A::ForwardErrors, "no forward errors")?,
        accepted_migrations: field(attrs, A::AcceptedMigrations, "no accepted migrations")?,
        refused_migrations: field(attrs, A::RefusedMigrations, "no refused migrations")?,
        decap_flows: field(attrs, A::DecapFlows, "no decap flows")?,
        decapsulated_packets: field(attrs, A::DecapsulatedPackets, "no decapsulated packets")?,
        decap_dropped: field(attrs, A::DecapDropped, "no decap dropped")?,
        bad_frames: field(attrs, A::BadFrames, "no bad frames")?,
        icmp_forwarded: field(attrs, A::IcmpForwarded, "no icmp forwarded")?,
        too_big: field(attrs, A::TooBig, "no too big")?,
    })
}

pub fn get(client: &Client) -> Result<Status, Error> {
    parse(&client.request::<StatusAttr>(Cmd::StatusGet, &[])?)
}

impl Status {
    /// Every attribute, under its name in the spec in snake_case.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "netns_cookie": self.netns_cookie,
            "migrator_port": self.migrator_port,
            "frozen_flows": self.frozen_flows,
            "held_packets": self.held_packets,
            "dropped_packets": self.dropped_packets,
            "held_bytes": self.held_bytes,
            "flow_port": self.flow_port,
            "peers": self.peers,
            "key_set": self.key_set,
            "migrations_ok": self.migrations_ok,
            "migrations_failed": self.migrations_failed,
            "migrations_ambiguous": self.migrations_ambiguous,
            "forward_flows": self.forward_flows,
            "forwarded_packets": self.forwarded_packets,
            "forward_errors": self.forward_errors,
            "accepted_migrations": self.accepted_migrations,
            "refused_migrations": self.refused_migrations,
            "decap_flows": self.decap_flows,
            "decapsulated_packets": self.decapsulated_packets,
            "decap_dropped": self.decap_dropped,
            "bad_frames": self.bad_frames,
            "icmp_forwarded": self.icmp_forwarded,
            "too_big": self.too_big,
        })
    }

    /// The human form: one line per part of the node's work.
    fn text(&self) -> String {
        let key = if self.key_set != 0 {
            "key set"
        } else {
            "key not set"
        };
        [
            format!("netns cookie {}", self.netns_cookie),
            format!("migrator port {}", self.migrator_port),
            format!(
                "frozen flows {} held packets {} (now {} bytes) dropped {}",
                self.frozen_flows, self.held_packets, self.held_bytes, self.dropped_packets
            ),
            format!(
                "cluster: {key}, flow port {}, peers {}",
                self.flow_port, self.peers
            ),
            format!(
                "migrations: ok {} failed {} ambiguous {}",
                self.migrations_ok, self.migrations_failed, self.migrations_ambiguous
            ),
            format!(
                "forwarding: flows {} packets {} errors {} too big {} icmp errors {}",
                self.forward_flows,
                self.forwarded_packets,
                self.forward_errors,
                self.too_big,
                self.icmp_forwarded
            ),
            format!(
                "back-end: accepted {} refused {} decap flows {} packets {} dropped {} bad frames {}",
                self.accepted_migrations,
                self.refused_migrations,
                self.decap_flows,
                self.decapsulated_packets,
                self.decap_dropped,
                self.bad_frames
            ),
        ]
        .join("\n")
    }
}

pub fn show(client: &Client, json: bool) -> Result<(), Error> {
    let status = get(client)?;
    if json {
        println!("{}", status.json());
    } else {
        println!("{}", status.text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply with every status attribute, each valued at its number
    /// (the key-set flag at 1), in the sizes the spec gives them.
    fn reply() -> Attrs {
        let sizes: [(StatusAttr, usize); 23] = [
            (StatusAttr::NetnsCookie, 8),
            (StatusAttr::MigratorPort, 2),
            (StatusAttr::FrozenFlows, 4),
            (StatusAttr::HeldPackets, 8),
            (StatusAttr::DroppedPackets, 8),
            (StatusAttr::HeldBytes, 8),
            (StatusAttr::FlowPort, 2),
            (StatusAttr::Peers, 4),
            (StatusAttr::KeySet, 1),
            (StatusAttr::MigrationsOk, 8),
            (StatusAttr::MigrationsFailed, 8),
            (StatusAttr::MigrationsAmbiguous, 8),
            (StatusAttr::ForwardFlows, 4),
            (StatusAttr::ForwardedPackets, 8),
            (StatusAttr::ForwardErrors, 8),
            (StatusAttr::AcceptedMigrations, 8),
            (StatusAttr::RefusedMigrations, 8),
            (StatusAttr::DecapFlows, 4),
            (StatusAttr::DecapsulatedPackets, 8),
            (StatusAttr::DecapDropped, 8),
            (StatusAttr::BadFrames, 8),
            (StatusAttr::IcmpForwarded, 8),
            (StatusAttr::TooBig, 8),
        ];
        let mut attrs = Attrs::new();
        for (attr, size) in sizes {
            let n = u16::from(attr);
            let value = if attr == StatusAttr::KeySet { 1 } else { n };
            let bytes = match size {
                1 => vec![value as u8],
                2 => value.to_ne_bytes().to_vec(),
                4 => u32::from(value).to_ne_bytes().to_vec(),
                _ => u64::from(value).to_ne_bytes().to_vec(),
            };
            // The kernel aligns u64s with pad attributes; they are skipped.
            if size == 8 {
                attrs.push((u16::from(StatusAttr::Pad), Vec::new()));
            }
            attrs.push((n, bytes));
        }
        attrs
    }

    #[test]
    fn every_attribute_is_shown() {
        let status = parse(&reply()).unwrap_or_else(|e| panic!("{e}"));
        let json = status.json();
        let object = json.as_object().expect("an object");
        assert_eq!(object.len(), 23);
        assert_eq!(object["flow_port"], 8);
        assert_eq!(object["key_set"], 1);
        assert_eq!(object["bad_frames"], 22);
        assert_eq!(object["too_big"], 24);
        assert_eq!(
            status.text(),
            "netns cookie 1\n\
             migrator port 2\n\
             frozen flows 4 held packets 5 (now 7 bytes) dropped 6\n\
             cluster: key set, flow port 8, peers 9\n\
             migrations: ok 11 failed 12 ambiguous 13\n\
             forwarding: flows 14 packets 15 errors 16 too big 24 icmp errors 23\n\
             back-end: accepted 17 refused 18 decap flows 19 packets 20 dropped 21 bad frames 22"
        );
    }

    #[test]
    fn a_missing_attribute_is_named() {
        let mut attrs = reply();
        attrs.retain(|(t, _)| *t != u16::from(StatusAttr::DecapFlows));
        match parse(&attrs) {
            Err(e) => assert_eq!(
                e.to_string(),
                "malformed reply from the kernel: no decap flows"
            ),
            Ok(_) => panic!("parsed without decap-flows"),
        }
    }
}
