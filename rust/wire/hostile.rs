// SPDX-License-Identifier: GPL-2.0

//! The hostile corpus: one blob per field and bound that a sealed blob
//! could carry but TCP cannot, each with a valid checksum, and the reason
//! it must be refused.
//!
//! The host test checks every refusal here; with `TCPMIG_HOSTILE_DIR` set
//! it also writes the corpus (`NAME.blob` and `NAME.expect`, the message
//! the refusal must carry) for the VM test `40-hostile.sh`, which injects
//! each into a real listener and requires that exact refusal, no kernel
//! warning, and nothing left behind.

use super::*;
use std::string::String;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

/// The addresses of the VM test: a listener on 192.0.2.50:8000 (or
/// [2001:db8::50]:8000) and a client that does not exist.
fn base(family: u8) -> Connection<'static> {
    let (local_addr, remote_addr) = if family == 4 {
        (v4([192, 0, 2, 50]), v4([192, 0, 2, 77]))
    } else {
        (v6(0x50), v6(0x77))
    };
    Connection {
        tcp: TcpState {
            state: TCP_ESTABLISHED,
            options: opt::SACK | opt::TIMESTAMPS | opt::WSCALE,
            snd_wscale: 7,
            rcv_wscale: 7,
            mss_clamp: 1448,
            snd_una: 1_000_001,
            snd_nxt: 1_000_001,
            write_seq: 1_000_001,
            rcv_nxt: 2_000_001,
            copied_seq: 2_000_001,
            snd_wl1: 2_000_001,
            snd_wnd: 64_256,
            max_window: 64_256,
            rcv_wnd: 65_152,
            rcv_wup: 2_000_001,
            window_clamp: 65_535 << 7,
            ts_recent: 1000,
            ts_val: 2000,
            snd_cwnd: 10,
            snd_ssthresh: section::INFINITE_SSTHRESH,
            srtt_us: 8 * 1000,
            mdev_us: 4 * 500,
            rto_us: 201_000,
        },
        ip: IpState {
            family,
            tos: 0,
            ttl: 0,
            flow_label: 0,
            local_port: 8000,
            remote_port: 40_000,
            local_addr,
            remote_addr,
        },
        flow: None,
        recv_data: &[],
        send_data: &[],
    }
}

fn v4(a: [u8; 4]) -> Addr {
    let mut addr = [0; 16];
    addr[..4].copy_from_slice(&a);
    addr
}

fn v6(last: u8) -> Addr {
    let mut addr = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last,
    ];
    addr[15] = last;
    addr
}

/// Encodes `c` without validating it: the sections as a valid blob would
/// carry them, sealed with a correct checksum.
fn seal_unchecked(c: &Connection<'_>) -> Vec<u8> {
    // Family 5 is hostile too: lay it out as IPv4.
    let valid = base(if c.ip.family == 6 { 6 } else { 4 });
    let mut blob = vec![0; valid.encoded_len()];
    valid.encode(&mut blob).expect("the base is valid");
    let mut body = vec![0; TcpState::LEN];
    c.tcp.write(&mut Writer::new(&mut body));
    overwrite(&mut blob, kind::TCP, &body);
    let mut body = vec![0; IpState::LEN];
    c.ip.write(&mut Writer::new(&mut body));
    overwrite(&mut blob, kind::IP, &body);
    let sum = checksum(&blob);
    blob[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4].copy_from_slice(&sum.to_le_bytes());
    blob
}

fn overwrite(blob: &mut [u8], kind: u16, body: &[u8]) {
    let mut off = HEADER_LEN;
    loop {
        let ty = u16::from_le_bytes([blob[off], blob[off + 1]]);
        let len = u32::from_le_bytes(blob[off + 4..off + 8].try_into().unwrap()) as usize;
        if ty == kind {
            assert_eq!(len, body.len());
            blob[off + SECTION_HEADER_LEN..][..len].copy_from_slice(body);
            return;
        }
        off += SECTION_HEADER_LEN + len;
    }
}

type Edit = fn(&mut Connection<'static>);

/// Every hostile case: name, what the refusal says, address family, the
/// edit of the base.
const CASES: &[(&str, &str, u8, Edit)] = &[
    ("state-listen", "TCP state 10", 4, |c| c.tcp.state = 10),
    ("options-unknown", "unknown option bits", 4, |c| {
        c.tcp.options |= 0x80
    }),
    (
        "options-usec-without-ts",
        "microsecond timestamps",
        4,
        |c| c.tcp.options = opt::SACK | opt::WSCALE | opt::TS_USEC,
    ),
    ("wscale-15", "window scale 15", 4, |c| c.tcp.snd_wscale = 15),
    ("rcv-wscale-15", "window scale 15", 4, |c| {
        c.tcp.rcv_wscale = 15
    }),
    ("wscale-without-option", "window scales without", 4, |c| {
        c.tcp.options &= !opt::WSCALE
    }),
    ("mss-0", "MSS 0", 4, |c| c.tcp.mss_clamp = 0),
    ("mss-87", "MSS 87", 4, |c| c.tcp.mss_clamp = 87),
    ("mss-65535", "MSS 65535", 4, |c| c.tcp.mss_clamp = 65_535),
    (
        "snd-nxt-past-write-seq",
        "sequence numbers out of order",
        4,
        |c| c.tcp.snd_nxt += 1,
    ),
    ("send-queue-4g", "sequence numbers out of order", 4, |c| {
        c.tcp.write_seq = c.tcp.snd_una.wrapping_sub(1)
    }),
    ("copied-past-rcv-nxt", "copied_seq", 4, |c| {
        c.tcp.copied_seq += 1
    }),
    ("close-wait-without-fin", "copied_seq", 4, |c| {
        c.tcp.state = TCP_CLOSE_WAIT
    }),
    ("snd-wnd-4g", "snd_wnd = 4294967295", 4, |c| {
        c.tcp.snd_wnd = u32::MAX
    }),
    ("max-window-below-snd-wnd", "max_window = 64255", 4, |c| {
        c.tcp.max_window = c.tcp.snd_wnd - 1
    }),
    ("rcv-wnd-4g", "rcv_wnd = 4294967295", 4, |c| {
        c.tcp.rcv_wnd = u32::MAX
    }),
    (
        "snd-wnd-unscaled-64k",
        "snd_wnd = 65536 is outside 0..=65535",
        4,
        |c| {
            c.tcp.options &= !opt::WSCALE;
            (c.tcp.snd_wscale, c.tcp.rcv_wscale) = (0, 0);
            (c.tcp.rcv_wnd, c.tcp.window_clamp) = (1000, 1000);
            (c.tcp.snd_wnd, c.tcp.max_window) = (65_536, 65_536);
        },
    ),
    ("window-clamp-4g", "window_clamp = 4294967295", 4, |c| {
        c.tcp.window_clamp = u32::MAX
    }),
    ("window-clamp-0", "window_clamp = 0", 4, |c| {
        c.tcp.window_clamp = 0
    }),
    (
        "rcv-wup-after-rcv-nxt",
        "rcv_wup is after rcv_nxt",
        4,
        |c| c.tcp.rcv_wup = c.tcp.rcv_nxt + 1,
    ),
    ("snd-wl1-beyond-window", "snd_wl1", 4, |c| {
        c.tcp.snd_wl1 = c.tcp.rcv_nxt + c.tcp.rcv_wnd + 1
    }),
    ("cwnd-0", "snd_cwnd = 0", 4, |c| c.tcp.snd_cwnd = 0),
    ("cwnd-2g", "snd_cwnd = 2147483648", 4, |c| {
        c.tcp.snd_cwnd = 1 << 31
    }),
    ("cwnd-4g", "snd_cwnd = 4294967295", 4, |c| {
        c.tcp.snd_cwnd = u32::MAX
    }),
    ("ssthresh-0", "snd_ssthresh = 0", 4, |c| {
        c.tcp.snd_ssthresh = 0
    }),
    ("ssthresh-4g", "snd_ssthresh = 4294967295", 4, |c| {
        c.tcp.snd_ssthresh = u32::MAX
    }),
    ("srtt-4g", "srtt_us = 4294967295", 4, |c| {
        c.tcp.srtt_us = u32::MAX
    }),
    ("mdev-4g", "mdev_us = 4294967295", 4, |c| {
        c.tcp.mdev_us = u32::MAX
    }),
    ("rto-0", "rto_us = 0", 4, |c| c.tcp.rto_us = 0),
    ("rto-1us", "rto_us = 1 ", 4, |c| c.tcp.rto_us = 1),
    ("rto-4g", "rto_us = 4294967295", 4, |c| {
        c.tcp.rto_us = u32::MAX
    }),
    (
        "v4-flow-label",
        "IPv4 connection with a flow label",
        4,
        |c| c.ip.flow_label = 1,
    ),
    ("v6-flow-label-21-bits", "flow_label = 1048576", 6, |c| {
        c.ip.flow_label = 1 << 20
    }),
    ("remote-port-0", "remote port is 0", 4, |c| {
        c.ip.remote_port = 0
    }),
    ("local-port-0", "local port is 0", 4, |c| {
        c.ip.local_port = 0
    }),
    (
        "remote-v4-unspecified",
        "remote address is unspecified",
        4,
        |c| c.ip.remote_addr = [0; 16],
    ),
    (
        "remote-v4-broadcast",
        "remote address is multicast, broadcast",
        4,
        |c| c.ip.remote_addr = v4([255; 4]),
    ),
    (
        "remote-v4-multicast",
        "remote address is multicast",
        4,
        |c| c.ip.remote_addr = v4([224, 0, 0, 1]),
    ),
    (
        "remote-v4-this-network",
        "remote address is in 0.0.0.0/8",
        4,
        |c| c.ip.remote_addr = v4([0, 1, 2, 3]),
    ),
    (
        "local-v4-unspecified",
        "local address is unspecified",
        4,
        |c| c.ip.local_addr = [0; 16],
    ),
    (
        "remote-v6-unspecified",
        "remote address is unspecified",
        6,
        |c| c.ip.remote_addr = [0; 16],
    ),
    (
        "remote-v6-multicast",
        "remote address is multicast",
        6,
        |c| c.ip.remote_addr[0] = 0xff,
    ),
    ("remote-v6-v4-mapped", "v4-mapped", 6, |c| {
        c.ip.remote_addr = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 77];
    }),
    (
        "v4-address-stray-bytes",
        "IPv4 address with stray bytes",
        4,
        |c| c.ip.remote_addr[4] = 1,
    ),
    ("family-5", "bad address family 5", 4, |c| c.ip.family = 5),
];

/// Every case decodes to a refusal, and to the one its edit provokes:
/// the base without the edit decodes.
#[test]
fn hostile_corpus_is_refused() {
    let dir = std::env::var_os("TCPMIG_HOSTILE_DIR");
    if let Some(dir) = &dir {
        std::fs::create_dir_all(dir).expect("corpus directory");
    }
    for family in [4, 6] {
        let valid = seal_unchecked(&base(family));
        assert_eq!(
            decode(&valid),
            Ok(base(family)),
            "the v{family} base decodes"
        );
        if let Some(dir) = &dir {
            let path = std::path::Path::new(dir).join(std::format!("base-v{family}.blob"));
            std::fs::write(path, &valid).expect("write base");
        }
    }
    // A valid blob with 100 KB queued each way (beyond the default socket
    // buffers, which an unprivileged inject must still size): the base
    // with another remote port.
    let recv = vec![0x5a; 100_000];
    let send = vec![0xa5; 100_000];
    let mut big = base(4);
    big.ip.remote_port += 1;
    big.tcp.copied_seq = big.tcp.rcv_nxt.wrapping_sub(recv.len() as u32);
    big.tcp.write_seq = big.tcp.snd_una.wrapping_add(send.len() as u32);
    big.recv_data = &recv;
    big.send_data = &send;
    let mut blob = vec![0; big.encoded_len()];
    big.encode(&mut blob).expect("the big base is valid");
    assert_eq!(decode(&blob), Ok(big.clone()));
    if let Some(dir) = &dir {
        std::fs::write(std::path::Path::new(dir).join("base-big-v4.blob"), &blob)
            .expect("write big base");
    }
    for &(name, expect, family, edit) in CASES {
        let mut c = base(family);
        edit(&mut c);
        let blob = seal_unchecked(&c);
        let err = match decode(&blob) {
            Err(e) => e,
            Ok(_) => panic!("{name}: accepted"),
        };
        let message: String = err.to_string();
        assert!(message.contains(expect), "{name}: refused with '{message}'");
        // The kernel's extack holds 79 bytes, "invalid blob: " included.
        assert!(
            message.len() <= 65,
            "{name}: '{message}' is too long for extack"
        );
        if let Some(dir) = &dir {
            let dir = std::path::Path::new(dir);
            std::fs::write(dir.join(std::format!("{name}.blob")), &blob).expect("write");
            std::fs::write(dir.join(std::format!("{name}.expect")), &message).expect("write");
        }
    }
    assert!(CASES.len() > 40);
}
