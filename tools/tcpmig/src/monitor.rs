//! `tcpmig monitor`: the migration events of this namespace as they
//! happen, one line (or JSON object) each, until interrupted.

use std::io::Write;
use std::net::SocketAddr;
use tcpmig_client::genl::{find, Attrs, Client};
use tcpmig_client::uapi::{bytes_addr, EventAttr, EVENT_KINDS, EVENT_STAGES};
use tcpmig_client::Error;

fn endpoint(attrs: &Attrs, addr: EventAttr, port: EventAttr) -> Option<SocketAddr> {
    let port = find(attrs, port)?.try_into().ok().map(u16::from_ne_bytes)?;
    Some(SocketAddr::new(bytes_addr(find(attrs, addr)?)?, port))
}

/// The stages of a hand-off the event carries: name and CLOCK_MONOTONIC
/// ns, in order.
fn stages(attrs: &Attrs) -> Vec<(&'static str, u64)> {
    EVENT_STAGES
        .iter()
        .filter_map(|&(attr, name)| {
            let ns = find(attrs, attr)?.try_into().ok().map(u64::from_ne_bytes)?;
            Some((name, ns))
        })
        .collect()
}

/// One event as a line and as JSON.
fn describe(attrs: &Attrs) -> (String, serde_json::Value) {
    let kind = find(attrs, EventAttr::Kind)
        .and_then(|b| b.first().copied())
        .and_then(|k| EVENT_KINDS.iter().find(|(v, _)| *v == k))
        .map_or("unknown", |(_, name)| name);
    let client = endpoint(attrs, EventAttr::ClientAddr, EventAttr::ClientPort);
    let vip = endpoint(attrs, EventAttr::VipAddr, EventAttr::VipPort);
    let peer = find(attrs, EventAttr::PeerAddr).and_then(bytes_addr);
    let flow_id = find(attrs, EventAttr::FlowId)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes);
    let rule = find(attrs, EventAttr::Rule)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes);
    let errno = find(attrs, EventAttr::Errno)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes);
    let stages = stages(attrs);
    let mut line = kind.to_string();
    if let (Some(client), Some(vip)) = (client, vip) {
        line += &format!(" {client} -> {vip}");
    }
    if let Some(rule) = rule {
        line += &format!(" rule {rule}");
    }
    if let Some(peer) = peer {
        line += &format!(" peer {peer}");
    }
    if let Some(id) = flow_id {
        line += &format!(" flow {id:#010x}");
    }
    if let Some(e) = errno {
        line += &format!(
            " error {e} ({})",
            std::io::Error::from_raw_os_error(e as i32)
        );
    }
    // Each stage after the first as microseconds since the first.
    if let Some(&(first, t0)) = stages.first() {
        line += &format!(" {first}");
        for &(name, ns) in &stages[1..] {
            line += &format!(" {name} +{}us", ns.saturating_sub(t0) / 1000);
        }
    }
    let json = serde_json::json!({
        "event": kind,
        "client": client.map(|c| c.to_string()),
        "vip": vip.map(|v| v.to_string()),
        "peer": peer.map(|p| p.to_string()),
        "flow_id": flow_id,
        "rule": rule,
        "errno": errno,
        "times": stages.iter().map(|&(name, ns)| (name.to_string(), ns.into()))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
    });
    (line, json)
}

pub fn run(client: &Client, as_json: bool) -> Result<(), Error> {
    client.subscribe_events()?;
    // On stderr, so scripts know no event from here on is missed.
    eprintln!("tcpmig: monitoring events");
    let mut out = std::io::stdout().lock();
    loop {
        let (line, json) = describe(&client.next_event()?);
        let text = if as_json { json.to_string() } else { line };
        // Each event as it comes, also into a pipe or a file.
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::Other(format!("cannot write: {e}")))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_event_reads_well() {
        let a = |attr: EventAttr, v: Vec<u8>| (u16::from(attr), v);
        let attrs = vec![
            a(EventAttr::Kind, vec![1]),
            a(EventAttr::ClientAddr, vec![192, 0, 2, 1]),
            a(EventAttr::ClientPort, 40000u16.to_ne_bytes().to_vec()),
            a(EventAttr::VipAddr, vec![192, 0, 2, 100]),
            a(EventAttr::VipPort, 7000u16.to_ne_bytes().to_vec()),
            a(EventAttr::PeerAddr, vec![192, 0, 2, 3]),
            a(EventAttr::FlowId, 0x0001_1282u32.to_ne_bytes().to_vec()),
        ];
        let (line, json) = describe(&attrs);
        assert_eq!(
            line,
            "migrated 192.0.2.1:40000 -> 192.0.2.100:7000 peer 192.0.2.3 flow 0x00011282"
        );
        assert_eq!(json["event"], "migrated");
        let refused = vec![
            a(EventAttr::Kind, vec![5]),
            a(EventAttr::Errno, 111u32.to_ne_bytes().to_vec()),
        ];
        assert!(describe(&refused).0.starts_with("refused error 111 ("));
    }

    #[test]
    fn stages_read_as_times_since_the_first() {
        let a = |attr: EventAttr, v: u64| (u16::from(attr), v.to_ne_bytes().to_vec());
        let attrs = vec![
            (u16::from(EventAttr::Kind), vec![1]),
            a(EventAttr::TimeStart, 5_000_000),
            a(EventAttr::TimeFrozen, 5_120_000),
            a(EventAttr::TimeAcked, 6_000_000),
            a(EventAttr::TimeDone, 6_050_999),
        ];
        let (line, json) = describe(&attrs);
        assert_eq!(
            line,
            "migrated start frozen +120us acked +1000us done +1050us"
        );
        assert_eq!(json["times"]["start"], 5_000_000);
        assert_eq!(json["times"]["done"], 6_050_999);
        assert!(json["times"]["channel"].is_null());
        let (_, json) = describe(&[(u16::from(EventAttr::Kind), vec![6])].to_vec());
        assert_eq!(json["times"], serde_json::json!({}));
    }

    #[test]
    fn dispatcher_events_read_well() {
        let a = |attr: EventAttr, v: Vec<u8>| (u16::from(attr), v);
        let ends = || {
            vec![
                a(EventAttr::ClientAddr, vec![192, 0, 2, 1]),
                a(EventAttr::ClientPort, 40000u16.to_ne_bytes().to_vec()),
                a(EventAttr::VipAddr, vec![192, 0, 2, 100]),
                a(EventAttr::VipPort, 80u16.to_ne_bytes().to_vec()),
            ]
        };
        let mut dispatched = vec![a(EventAttr::Kind, vec![7])];
        dispatched.extend(ends());
        dispatched.push(a(EventAttr::PeerAddr, vec![192, 0, 2, 11]));
        dispatched.push(a(EventAttr::Rule, 2u32.to_ne_bytes().to_vec()));
        let (line, json) = describe(&dispatched);
        assert_eq!(
            line,
            "dispatched 192.0.2.1:40000 -> 192.0.2.100:80 rule 2 peer 192.0.2.11"
        );
        assert_eq!(json["event"], "dispatched");
        assert_eq!(json["rule"], 2);
        assert_eq!(json["peer"], "192.0.2.11");
        let mut fallback = vec![a(EventAttr::Kind, vec![8])];
        fallback.extend(ends());
        let (line, json) = describe(&fallback);
        assert_eq!(line, "fallback 192.0.2.1:40000 -> 192.0.2.100:80");
        assert_eq!(json["event"], "fallback");
        assert!(json["rule"].is_null());
    }
}
