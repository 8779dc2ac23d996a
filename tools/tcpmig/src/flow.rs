//! `tcpmig flow list`: the live flows of this namespace, forwarded to a peer
//! (front-end) or decapsulated here (back-end).

use crate::Globals;
use clap::Subcommand;
use std::net::{IpAddr, SocketAddr};
use tcpmig_client::genl::{find, int, Attrs, Client};
use tcpmig_client::uapi::{bytes_addr, Cmd, FlowAttr, FLOW_KIND_DECAP, FLOW_KIND_FORWARD};
use tcpmig_client::Error;

#[derive(Subcommand)]
pub enum Verb {
    /// List the live flows: migrated from here and forwarded to a peer,
    /// or migrated to here and decapsulated (KIND CLIENT VIP PEER FLOW-ID
    /// AGE IDLE PACKETS; needs CAP_NET_ADMIN)
    List,
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    match verb {
        Verb::List => list(&Client::connect()?, globals.json),
    }
}

/// A flow as the kernel lists it.
#[derive(Debug, PartialEq, Eq)]
struct Flow {
    forward: bool,
    client: SocketAddr,
    vip: SocketAddr,
    peer: IpAddr,
    flow_id: u32,
    age_ms: u32,
    idle_ms: u32,
    packets: u64,
    /// When the first packet was forwarded, CLOCK_MONOTONIC ns.
    first_forwarded: Option<u64>,
}

fn ip(attrs: &Attrs, attr: FlowAttr, what: &'static str) -> Result<IpAddr, Error> {
    find(attrs, attr)
        .and_then(bytes_addr)
        .ok_or(Error::BadReply(what))
}

fn parse(attrs: &Attrs) -> Result<Flow, Error> {
    let [kind] = int::<1>(attrs, FlowAttr::Kind, "a flow without a kind")?;
    let forward = match kind {
        FLOW_KIND_FORWARD => true,
        FLOW_KIND_DECAP => false,
        _ => return Err(Error::BadReply("a flow of an unknown kind")),
    };
    let port = |attr, what| int::<2>(attrs, attr, what).map(u16::from_ne_bytes);
    Ok(Flow {
        forward,
        client: SocketAddr::new(
            ip(attrs, FlowAttr::ClientAddr, "a flow without a client")?,
            port(FlowAttr::ClientPort, "a flow without a client port")?,
        ),
        vip: SocketAddr::new(
            ip(attrs, FlowAttr::VipAddr, "a flow without a VIP")?,
            port(FlowAttr::VipPort, "a flow without a VIP port")?,
        ),
        peer: ip(attrs, FlowAttr::PeerAddr, "a flow without a peer")?,
        flow_id: u32::from_ne_bytes(int(attrs, FlowAttr::FlowId, "a flow without an id")?),
        age_ms: u32::from_ne_bytes(int(attrs, FlowAttr::AgeMs, "a flow without an age")?),
        idle_ms: u32::from_ne_bytes(int(attrs, FlowAttr::IdleMs, "a flow without an idle time")?),
        packets: u64::from_ne_bytes(int(attrs, FlowAttr::Packets, "a flow without packets")?),
        first_forwarded: int(attrs, FlowAttr::FirstForwarded, "")
            .ok()
            .map(u64::from_ne_bytes),
    })
}

fn seconds(ms: u32) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// A header and a line per flow, in columns.
fn table(flows: &[Flow]) -> String {
    let rows: Vec<[String; 8]> = flows
        .iter()
        .map(|f| {
            [
                if f.forward { "forward" } else { "decap" }.to_string(),
                f.client.to_string(),
                f.vip.to_string(),
                f.peer.to_string(),
                format!("{:#010x}", f.flow_id),
                seconds(f.age_ms),
                seconds(f.idle_ms),
                f.packets.to_string(),
            ]
        })
        .collect();
    let head = [
        "KIND", "CLIENT", "VIP", "PEER", "FLOW-ID", "AGE", "IDLE", "PACKETS",
    ];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out += cell;
            } else {
                out += &format!("{cell:w$} ");
            }
        }
        out + "\n"
    };
    let mut out = line(&head);
    for row in &rows {
        out += &line(&row.each_ref().map(String::as_str));
    }
    out
}

fn json(flows: &[Flow]) -> serde_json::Value {
    flows
        .iter()
        .map(|f| {
            serde_json::json!({
                "kind": if f.forward { "forward" } else { "decap" },
                "client": f.client.to_string(),
                "vip": f.vip.to_string(),
                "peer": f.peer.to_string(),
                "flow_id": f.flow_id,
                "age_ms": f.age_ms,
                "idle_ms": f.idle_ms,
                "packets": f.packets,
                "first_forwarded_ns": f.first_forwarded,
            })
        })
        .collect()
}

fn list(client: &Client, as_json: bool) -> Result<(), Error> {
    let flows = client
        .dump::<FlowAttr>(Cmd::FlowGet, &[])?
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?;
    if as_json {
        println!("{}", json(&flows));
    } else {
        print!("{}", table(&flows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Attrs {
        let a = |attr: FlowAttr, v: Vec<u8>| (u16::from(attr), v);
        vec![
            a(FlowAttr::Kind, vec![FLOW_KIND_FORWARD]),
            a(FlowAttr::ClientAddr, vec![192, 0, 2, 1]),
            a(FlowAttr::ClientPort, 40000u16.to_ne_bytes().to_vec()),
            a(FlowAttr::VipAddr, vec![192, 0, 2, 100]),
            a(FlowAttr::VipPort, 7000u16.to_ne_bytes().to_vec()),
            a(FlowAttr::PeerAddr, vec![192, 0, 2, 3]),
            a(FlowAttr::FlowId, 0x0001_1282u32.to_ne_bytes().to_vec()),
            a(FlowAttr::AgeMs, 1500u32.to_ne_bytes().to_vec()),
            a(FlowAttr::IdleMs, 20u32.to_ne_bytes().to_vec()),
            a(FlowAttr::Packets, 7u64.to_ne_bytes().to_vec()),
        ]
    }

    #[test]
    fn a_flow_parses_and_prints() {
        let flow = parse(&attrs()).unwrap_or_else(|e| panic!("{e}"));
        assert!(flow.forward);
        assert_eq!(flow.client.to_string(), "192.0.2.1:40000");
        assert_eq!(
            table(&[flow]),
            "KIND    CLIENT          VIP              PEER      FLOW-ID    AGE    IDLE   PACKETS\n\
             forward 192.0.2.1:40000 192.0.2.100:7000 192.0.2.3 0x00011282 1.500s 0.020s 7\n"
        );
    }

    #[test]
    fn a_flow_without_a_field_is_refused() {
        let mut a = attrs();
        a.retain(|(t, _)| *t != u16::from(FlowAttr::Packets));
        assert!(parse(&a).is_err());
        let mut a = attrs();
        a[0].1 = vec![9];
        assert!(parse(&a).is_err());
    }
}
