//! `tcpmig blob decode`: print a blob read from stdin.

use crate::Globals;
use clap::Subcommand;
use serde_json::json;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use tcpmig_client::Error;
use tcpmig_wire::{opt, Addr, Connection, TCP_CLOSE_WAIT, TCP_ESTABLISHED};

#[derive(Subcommand)]
pub enum Verb {
    /// Decode and check a blob read from stdin
    Decode,
}

pub fn run(verb: Verb, globals: Globals) -> Result<(), Error> {
    match verb {
        Verb::Decode => decode(globals.json),
    }
}

fn addr(family: u8, a: &Addr) -> String {
    if family == 4 {
        Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
    } else {
        Ipv6Addr::from(*a).to_string()
    }
}

fn endpoint(family: u8, a: &Addr, port: u16) -> String {
    if family == 4 {
        format!("{}:{port}", addr(family, a))
    } else {
        format!("[{}]:{port}", addr(family, a))
    }
}

fn state_name(state: u8) -> &'static str {
    match state {
        TCP_ESTABLISHED => "ESTABLISHED",
        TCP_CLOSE_WAIT => "CLOSE_WAIT",
        _ => "?",
    }
}

fn options(bits: u8) -> Vec<&'static str> {
    [
        (opt::SACK, "sack"),
        (opt::TIMESTAMPS, "timestamps"),
        (opt::WSCALE, "wscale"),
        (opt::ECN, "ecn"),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

fn to_json(len: usize, c: &Connection<'_>) -> serde_json::Value {
    let t = &c.tcp;
    json!({
        "length": len,
        "tcp": {
            "state": state_name(t.state), "options": options(t.options),
            "snd_wscale": t.snd_wscale, "rcv_wscale": t.rcv_wscale, "mss_clamp": t.mss_clamp,
            "snd_una": t.snd_una, "snd_nxt": t.snd_nxt, "write_seq": t.write_seq,
            "rcv_nxt": t.rcv_nxt, "copied_seq": t.copied_seq, "snd_wl1": t.snd_wl1,
            "snd_wnd": t.snd_wnd, "max_window": t.max_window, "rcv_wnd": t.rcv_wnd,
            "rcv_wup": t.rcv_wup, "window_clamp": t.window_clamp,
            "ts_recent": t.ts_recent, "ts_val": t.ts_val,
            "snd_cwnd": t.snd_cwnd, "snd_ssthresh": t.snd_ssthresh,
            "srtt_us": t.srtt_us, "mdev_us": t.mdev_us, "rto_us": t.rto_us,
        },
        "ip": {
            "family": c.ip.family, "tos": c.ip.tos, "ttl": c.ip.ttl, "flow_label": c.ip.flow_label,
            "local": endpoint(c.ip.family, &c.ip.local_addr, c.ip.local_port),
            "remote": endpoint(c.ip.family, &c.ip.remote_addr, c.ip.remote_port),
        },
        "flow": c.flow.map(|f| json!({
            "flow_id": f.flow_id,
            "client": endpoint(f.family, &f.client_addr, f.client_port),
            "vip": endpoint(f.family, &f.vip_addr, f.vip_port),
        })),
        "recv_bytes": c.recv_data.len(),
        "send_bytes": c.send_data.len(),
        "unacked_bytes": t.snd_nxt.wrapping_sub(t.snd_una),
    })
}

fn print_text(len: usize, c: &Connection<'_>) {
    let t = &c.tcp;
    println!("blob v{} {} bytes", tcpmig_wire::VERSION, len);
    println!(
        "tcp {} {} -> {} options {}",
        state_name(t.state),
        endpoint(c.ip.family, &c.ip.local_addr, c.ip.local_port),
        endpoint(c.ip.family, &c.ip.remote_addr, c.ip.remote_port),
        options(t.options).join(",")
    );
    println!(
        "  snd_una {} snd_nxt {} write_seq {} snd_wl1 {}",
        t.snd_una, t.snd_nxt, t.write_seq, t.snd_wl1
    );
    println!(
        "  rcv_nxt {} copied_seq {} rcv_wup {}",
        t.rcv_nxt, t.copied_seq, t.rcv_wup
    );
    println!(
        "  snd_wnd {} max_window {} rcv_wnd {} window_clamp {} wscale {}/{} mss_clamp {}",
        t.snd_wnd, t.max_window, t.rcv_wnd, t.window_clamp, t.snd_wscale, t.rcv_wscale, t.mss_clamp
    );
    println!("  ts_recent {} ts_val {}", t.ts_recent, t.ts_val);
    println!(
        "  cwnd {} ssthresh {} srtt {}us mdev {}us rto {}us",
        t.snd_cwnd,
        t.snd_ssthresh,
        t.srtt_us >> 3,
        t.mdev_us >> 2,
        t.rto_us
    );
    println!(
        "ip v{} tos {:#04x} ttl {} flow_label {:#x}",
        c.ip.family, c.ip.tos, c.ip.ttl, c.ip.flow_label
    );
    if let Some(f) = &c.flow {
        println!(
            "flow {:#010x} client {} vip {}",
            f.flow_id,
            endpoint(f.family, &f.client_addr, f.client_port),
            endpoint(f.family, &f.vip_addr, f.vip_port)
        );
    }
    println!(
        "data received-unread {} bytes, send queue {} bytes ({} unacked, {} unsent)",
        c.recv_data.len(),
        c.send_data.len(),
        t.snd_nxt.wrapping_sub(t.snd_una),
        t.write_seq.wrapping_sub(t.snd_nxt)
    );
}

fn decode(json: bool) -> Result<(), Error> {
    let mut blob = Vec::new();
    std::io::stdin()
        .read_to_end(&mut blob)
        .map_err(|e| Error::Other(format!("cannot read the blob from stdin: {e}")))?;
    let conn =
        tcpmig_wire::decode(&blob).map_err(|e| Error::Other(format!("invalid blob: {e}")))?;
    if json {
        println!("{}", to_json(blob.len(), &conn));
    } else {
        print_text(blob.len(), &conn);
    }
    Ok(())
}
