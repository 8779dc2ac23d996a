//! `tcpmig status`: this namespace's status and configuration.

use crate::error::Error;
use crate::genl::{find, Attrs, Client};
use crate::uapi::{Cmd, StatusAttr};

pub struct Status {
    pub netns_cookie: u64,
    pub migrator_port: u16,
    pub frozen_flows: u32,
    pub held_packets: u64,
    pub dropped_packets: u64,
    pub held_bytes: u64,
}

/// A fixed-size attribute the kernel always sends.
fn field<const N: usize>(
    attrs: &Attrs,
    attr: StatusAttr,
    what: &'static str,
) -> Result<[u8; N], Error> {
    find(attrs, attr)
        .and_then(|v| v.try_into().ok())
        .ok_or(Error::BadReply(what))
}

pub fn get(client: &Client) -> Result<Status, Error> {
    let attrs = client.request::<StatusAttr>(Cmd::StatusGet, &[])?;
    Ok(Status {
        netns_cookie: u64::from_ne_bytes(field(
            &attrs,
            StatusAttr::NetnsCookie,
            "no netns cookie",
        )?),
        migrator_port: u16::from_ne_bytes(field(
            &attrs,
            StatusAttr::MigratorPort,
            "no migrator port",
        )?),
        frozen_flows: u32::from_ne_bytes(field(
            &attrs,
            StatusAttr::FrozenFlows,
            "no frozen flows",
        )?),
        held_packets: u64::from_ne_bytes(field(
            &attrs,
            StatusAttr::HeldPackets,
            "no held packets",
        )?),
        dropped_packets: u64::from_ne_bytes(field(
            &attrs,
            StatusAttr::DroppedPackets,
            "no dropped packets",
        )?),
        held_bytes: u64::from_ne_bytes(field(&attrs, StatusAttr::HeldBytes, "no held bytes")?),
    })
}

pub fn show(client: &Client, json: bool) -> Result<(), Error> {
    let status = get(client)?;
    if json {
        let value = serde_json::json!({
            "netns_cookie": status.netns_cookie,
            "migrator_port": status.migrator_port,
            "frozen_flows": status.frozen_flows,
            "held_packets": status.held_packets,
            "dropped_packets": status.dropped_packets,
            "held_bytes": status.held_bytes,
        });
        println!("{value}");
    } else {
        println!("netns cookie {}", status.netns_cookie);
        println!("migrator port {}", status.migrator_port);
        println!(
            "frozen flows {} held packets {} (now {} bytes) dropped {}",
            status.frozen_flows, status.held_packets, status.held_bytes, status.dropped_packets
        );
    }
    Ok(())
}
