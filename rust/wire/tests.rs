// SPDX-License-Identifier: GPL-2.0

//! Host tests of the blob format: round trips, golden vectors, one test
//! per rejection, and a bounded seeded fuzz loop.

use super::*;
use std::vec;
use std::vec::Vec;

fn v4(a: [u8; 4]) -> Addr {
    let mut addr = [0; 16];
    addr[..4].copy_from_slice(&a);
    addr
}

fn v6(last: u8) -> Addr {
    let mut addr = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    addr[15] = last;
    addr
}

/// An idle IPv4 connection: nothing queued either way.
fn idle_v4() -> Connection<'static> {
    Connection {
        tcp: TcpState {
            state: TCP_ESTABLISHED,
            options: opt::SACK | opt::TIMESTAMPS | opt::WSCALE,
            snd_wscale: 7,
            rcv_wscale: 7,
            mss_clamp: 1460,
            snd_una: 0x1000_0001,
            snd_nxt: 0x1000_0001,
            write_seq: 0x1000_0001,
            rcv_nxt: 0xffff_fff0,
            copied_seq: 0xffff_fff0,
            snd_wl1: 0xffff_ffe0,
            snd_wnd: 64240,
            max_window: 64240,
            rcv_wnd: 65160,
            rcv_wup: 0xffff_fff0,
            window_clamp: 65535 << 7,
            ts_recent: 123_456,
            ts_val: 654_321,
            snd_cwnd: 10,
            snd_ssthresh: 0x7fff_ffff,
            srtt_us: 8 * 250,
            mdev_us: 4 * 100,
            rto_us: 200_000,
        },
        ip: IpState {
            family: 4,
            tos: 0,
            ttl: 64,
            flow_label: 0,
            local_port: 80,
            remote_port: 40000,
            local_addr: v4([192, 0, 2, 100]),
            remote_addr: v4([192, 0, 2, 1]),
        },
        flow: None,
        recv_data: &[],
        send_data: &[],
    }
}

const RECV: &[u8] = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
const SEND: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// A busy IPv6 connection: sequence numbers wrapping, unread received
/// bytes, unacked and unsent bytes, a flow mapping.
fn busy_v6() -> Connection<'static> {
    let mut c = idle_v4();
    c.tcp.rcv_nxt = c.tcp.copied_seq.wrapping_add(RECV.len() as u32);
    c.tcp.snd_una = 0xffff_fff8;
    c.tcp.snd_nxt = c.tcp.snd_una.wrapping_add(20);
    c.tcp.write_seq = c.tcp.snd_una.wrapping_add(SEND.len() as u32);
    c.tcp.options |= opt::ECN;
    c.ip = IpState {
        family: 6,
        tos: 0x10,
        ttl: 63,
        flow_label: 0xabcde,
        local_port: 443,
        remote_port: 50123,
        local_addr: v6(0x00),
        remote_addr: v6(0x01),
    };
    c.flow = Some(FlowMapping {
        family: 6,
        flow_id: 0xdead_beef,
        client_port: 50123,
        vip_port: 443,
        client_addr: v6(0x01),
        vip_addr: v6(0x00),
    });
    c.recv_data = RECV;
    c.send_data = SEND;
    c
}

fn encode_vec(c: &Connection<'_>) -> Vec<u8> {
    let mut out = vec![0; c.encoded_len()];
    c.encode(&mut out).expect("encodes");
    out
}

/// Recomputes the checksum after a test edited the blob.
fn reseal(blob: &mut [u8]) {
    if blob.len() >= HEADER_LEN {
        let sum = checksum(blob);
        blob[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4].copy_from_slice(&sum.to_le_bytes());
    }
}

#[test]
fn round_trip_samples() {
    for c in [idle_v4(), busy_v6()] {
        let blob = encode_vec(&c);
        assert_eq!(blob.len(), c.encoded_len());
        assert_eq!(decode(&blob), Ok(c));
    }
}

#[test]
fn idle_blob_size() {
    // Header, TCP, IP and two empty data sections.
    assert_eq!(idle_v4().encoded_len(), 24 + 8 + 80 + 8 + 44 + 8 + 8);
}

/// xorshift64*: a small deterministic generator for property and fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn round_trip_property() {
    let mut rng = Rng(0x07c9_1a2b_3c4d_5e6f);
    let mut buf = [0u8; 4096];
    for _ in 0..20_000 {
        for b in buf.iter_mut() {
            *b = rng.next() as u8;
        }
        let recv_len = rng.below(2048) as usize;
        let send_len = rng.below(2048) as usize;
        let in_flight = rng.below(send_len as u64 + 1) as u32;
        let mut c = busy_v6();
        c.tcp.state = if rng.below(2) == 0 {
            TCP_ESTABLISHED
        } else {
            TCP_CLOSE_WAIT
        };
        c.tcp.options = rng.below(32) as u8;
        if c.tcp.options & opt::TIMESTAMPS == 0 {
            c.tcp.options &= !opt::TS_USEC;
        }
        if c.tcp.options & opt::WSCALE != 0 {
            c.tcp.snd_wscale = rng.below(15) as u8;
            c.tcp.rcv_wscale = rng.below(15) as u8;
        } else {
            (c.tcp.snd_wscale, c.tcp.rcv_wscale) = (0, 0);
            c.tcp.snd_wnd = c.tcp.snd_wnd.min(0xffff);
            c.tcp.max_window = c.tcp.max_window.min(0xffff);
            c.tcp.rcv_wnd = c.tcp.rcv_wnd.min(0xffff);
        }
        c.tcp.mss_clamp = MSS_MIN + rng.below(9000) as u16;
        c.tcp.copied_seq = rng.u32();
        let fin = u32::from(c.tcp.state == TCP_CLOSE_WAIT);
        c.tcp.rcv_nxt = c.tcp.copied_seq.wrapping_add(recv_len as u32 + fin);
        c.tcp.rcv_wup = c.tcp.copied_seq;
        c.tcp.snd_wl1 = c.tcp.rcv_nxt;
        c.tcp.snd_una = rng.u32();
        c.tcp.snd_nxt = c.tcp.snd_una.wrapping_add(in_flight);
        c.tcp.write_seq = c.tcp.snd_una.wrapping_add(send_len as u32);
        c.tcp.ts_val = rng.u32();
        c.tcp.snd_cwnd = 1 + rng.below(i32::MAX as u64) as u32;
        c.ip.family = if rng.below(2) == 0 { 4 } else { 6 };
        c.ip.local_port = 1 + rng.below(0xffff) as u16;
        if c.ip.family == 4 {
            // Unicast: a first byte of 1..=223.
            let unicast = |rng: &mut Rng| {
                let mut a = rng.u32().to_be_bytes();
                a[0] = 1 + rng.below(223) as u8;
                v4(a)
            };
            c.ip.local_addr = unicast(&mut rng);
            c.ip.remote_addr = unicast(&mut rng);
            c.ip.flow_label = 0;
            c.flow = None;
        }
        c.recv_data = &buf[..recv_len];
        c.send_data = &buf[2048..2048 + send_len];
        let blob = encode_vec(&c);
        assert_eq!(decode(&blob), Ok(c.clone()));
    }
}

/// Golden vectors: the format must not drift. `TCPMIG_BLESS=1 cargo test`
/// rewrites them after a deliberate format change (with a version bump).
#[test]
fn golden_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden");
    for (name, c) in [("idle-v4", idle_v4()), ("busy-v6", busy_v6())] {
        let path = std::format!("{dir}/{name}.blob");
        let blob = encode_vec(&c);
        if std::env::var_os("TCPMIG_BLESS").is_some() {
            std::fs::write(&path, &blob).expect("write golden vector");
        }
        let golden = std::fs::read(&path).expect("golden vector present");
        assert_eq!(blob, golden, "{name}: encoding changed");
        assert_eq!(decode(&golden), Ok(c), "{name}: decoding changed");
    }
}

/// Byte offset of the first section of type `kind` in an encoded blob.
fn section_offset(blob: &[u8], kind: u16) -> usize {
    let mut off = HEADER_LEN;
    loop {
        let ty = u16::from_le_bytes([blob[off], blob[off + 1]]);
        let len = u32::from_le_bytes(blob[off + 4..off + 8].try_into().unwrap()) as usize;
        if ty == kind {
            return off;
        }
        off += SECTION_HEADER_LEN + len;
    }
}

/// Appends a section (header and body) and fixes length and checksum.
fn append_section(blob: &mut Vec<u8>, kind: u16, flags: u16, body: &[u8]) {
    blob.extend_from_slice(&kind.to_le_bytes());
    blob.extend_from_slice(&flags.to_le_bytes());
    blob.extend_from_slice(&(body.len() as u32).to_le_bytes());
    blob.extend_from_slice(body);
    let len = blob.len() as u32;
    blob[8..12].copy_from_slice(&len.to_le_bytes());
    reseal(blob);
}

/// Removes the section of type `kind` and fixes length and checksum.
fn remove_section(blob: &mut Vec<u8>, kind: u16) {
    let off = section_offset(blob, kind);
    let len = u32::from_le_bytes(blob[off + 4..off + 8].try_into().unwrap()) as usize;
    blob.drain(off..off + SECTION_HEADER_LEN + len);
    let total = blob.len() as u32;
    blob[8..12].copy_from_slice(&total.to_le_bytes());
    reseal(blob);
}

/// Applies `edit` to the encoding of `c`, reseals it, and decodes.
fn decode_edited(c: &Connection<'_>, edit: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
    let mut blob = encode_vec(c);
    edit(&mut blob);
    reseal(&mut blob);
    decode(&blob).map(|_| ())
}

fn tcp_field(blob: &mut [u8], index: usize) -> &mut [u8] {
    let off = section_offset(blob, kind::TCP) + SECTION_HEADER_LEN + 8 + 4 * index;
    &mut blob[off..off + 4]
}

#[test]
fn rejects_truncated_header() {
    assert_eq!(decode(&encode_vec(&idle_v4())[..10]), Err(Error::Truncated));
    assert_eq!(decode(&[]), Err(Error::Truncated));
}

#[test]
fn rejects_bad_magic() {
    let r = decode_edited(&idle_v4(), |b| b[0] = b'X');
    assert_eq!(r, Err(Error::BadMagic(*b"XMIG")));
}

#[test]
fn rejects_unknown_version() {
    let r = decode_edited(&idle_v4(), |b| b[4] = 2);
    assert_eq!(r, Err(Error::UnsupportedVersion(2)));
}

#[test]
fn rejects_short_header_length() {
    let r = decode_edited(&idle_v4(), |b| b[6] = 8);
    assert_eq!(r, Err(Error::BadHeaderLength(8)));
}

#[test]
fn rejects_truncated_blob() {
    let blob = encode_vec(&busy_v6());
    let r = decode(&blob[..blob.len() - 1]);
    assert_eq!(
        r,
        Err(Error::LengthMismatch {
            header: blob.len(),
            actual: blob.len() - 1
        })
    );
}

#[test]
fn rejects_trailing_bytes() {
    let mut blob = encode_vec(&idle_v4());
    let len = blob.len();
    blob.push(0);
    assert_eq!(
        decode(&blob),
        Err(Error::LengthMismatch {
            header: len,
            actual: len + 1
        })
    );
}

#[test]
fn rejects_oversized() {
    let r = decode_edited(&idle_v4(), |b| {
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes())
    });
    assert_eq!(r, Err(Error::TooLarge(u32::MAX as usize)));
}

#[test]
fn rejects_bad_checksum() {
    let mut blob = encode_vec(&busy_v6());
    let last = blob.len() - 1;
    blob[last] ^= 1;
    assert!(matches!(decode(&blob), Err(Error::BadChecksum { .. })));
}

#[test]
fn rejects_section_past_end() {
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::SEND_DATA);
        b[off + 4..off + 8].copy_from_slice(&1000u32.to_le_bytes());
    });
    assert_eq!(r, Err(Error::SectionTruncated));
}

#[test]
fn rejects_short_tcp_section() {
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::TCP);
        // Shrink the section to 4 bytes, turning the rest into an
        // unknown optional section that would be skipped.
        b[off + 4..off + 8].copy_from_slice(&4u32.to_le_bytes());
        let rest = (TcpState::LEN - 4 - SECTION_HEADER_LEN) as u32;
        let next = off + SECTION_HEADER_LEN + 4;
        b[next..next + 2].copy_from_slice(&0x7777u16.to_le_bytes());
        b[next + 2..next + 4].copy_from_slice(&0u16.to_le_bytes());
        b[next + 4..next + 8].copy_from_slice(&rest.to_le_bytes());
    });
    assert_eq!(
        r,
        Err(Error::SectionTooShort {
            kind: kind::TCP,
            len: 4,
            need: TcpState::LEN
        })
    );
}

#[test]
fn rejects_duplicate_section() {
    let mut blob = encode_vec(&idle_v4());
    append_section(&mut blob, kind::RECV_DATA, SECTION_REQUIRED, &[]);
    assert_eq!(decode(&blob), Err(Error::DuplicateSection(kind::RECV_DATA)));
}

#[test]
fn rejects_unknown_required_section() {
    let mut blob = encode_vec(&idle_v4());
    append_section(&mut blob, 0x4242, SECTION_REQUIRED, b"future");
    assert_eq!(decode(&blob), Err(Error::UnknownRequiredSection(0x4242)));
}

#[test]
fn skips_unknown_optional_section() {
    let mut blob = encode_vec(&busy_v6());
    append_section(&mut blob, 0x4242, 0, b"future");
    assert_eq!(decode(&blob), Ok(busy_v6()));
}

#[test]
fn rejects_missing_tcp_and_ip() {
    for k in [kind::TCP, kind::IP] {
        let mut blob = encode_vec(&idle_v4());
        remove_section(&mut blob, k);
        assert_eq!(decode(&blob), Err(Error::MissingSection(k)));
    }
}

#[test]
fn rejects_missing_data_that_sequence_numbers_promise() {
    let mut blob = encode_vec(&busy_v6());
    remove_section(&mut blob, kind::RECV_DATA);
    let expected = RECV.len();
    assert_eq!(
        decode(&blob),
        Err(Error::RecvDataMismatch {
            expected,
            actual: 0
        })
    );
}

#[test]
fn rejects_bad_state() {
    let mut c = idle_v4();
    c.tcp.state = 10; // TCP_LISTEN
    assert_eq!(c.validate(), Err(Error::BadState(10)));
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::TCP) + SECTION_HEADER_LEN;
        b[off] = 7;
    });
    assert_eq!(r, Err(Error::BadState(7)));
}

#[test]
fn rejects_bad_family_and_address() {
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::IP) + SECTION_HEADER_LEN;
        b[off] = 5;
    });
    assert_eq!(r, Err(Error::BadFamily(5)));
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::IP) + SECTION_HEADER_LEN + 12;
        b[off + 4] = 1; // a fifth byte in an IPv4 address
    });
    assert_eq!(r, Err(Error::BadAddress));
}

#[test]
fn rejects_bad_window_scale_and_mss() {
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::TCP) + SECTION_HEADER_LEN;
        b[off + 2] = 15;
    });
    assert_eq!(r, Err(Error::BadWindowScale(15)));
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::TCP) + SECTION_HEADER_LEN;
        b[off + 4..off + 6].copy_from_slice(&10u16.to_le_bytes());
    });
    assert_eq!(r, Err(Error::BadMss(10)));
}

#[test]
fn rejects_sequence_disorder() {
    // snd_nxt (field 1) beyond write_seq.
    let r = decode_edited(&busy_v6(), |b| {
        let una = u32::from_le_bytes(tcp_field(b, 0).try_into().unwrap());
        let beyond = una.wrapping_add(SEND.len() as u32 + 1);
        tcp_field(b, 1).copy_from_slice(&beyond.to_le_bytes());
    });
    assert_eq!(r, Err(Error::SequenceOrder));
}

#[test]
fn rejects_data_length_mismatch() {
    // rcv_nxt (field 3) one past the data actually carried.
    let r = decode_edited(&busy_v6(), |b| {
        let nxt = u32::from_le_bytes(tcp_field(b, 3).try_into().unwrap());
        tcp_field(b, 3).copy_from_slice(&nxt.wrapping_add(1).to_le_bytes());
    });
    let n = RECV.len();
    assert_eq!(
        r,
        Err(Error::RecvDataMismatch {
            expected: n + 1,
            actual: n
        })
    );
    // write_seq (field 2) one short of the data carried.
    let r = decode_edited(&busy_v6(), |b| {
        let seq = u32::from_le_bytes(tcp_field(b, 2).try_into().unwrap());
        tcp_field(b, 2).copy_from_slice(&seq.wrapping_sub(1).to_le_bytes());
    });
    let n = SEND.len();
    assert_eq!(
        r,
        Err(Error::SendDataMismatch {
            expected: n - 1,
            actual: n
        })
    );
}

#[test]
fn close_wait_counts_the_fin() {
    let mut c = busy_v6();
    c.tcp.state = TCP_CLOSE_WAIT;
    let n = RECV.len();
    assert_eq!(
        c.validate(),
        Err(Error::RecvDataMismatch {
            expected: n - 1,
            actual: n
        })
    );
    c.tcp.rcv_nxt = c.tcp.rcv_nxt.wrapping_add(1);
    assert_eq!(decode(&encode_vec(&c)), Ok(c));
}

#[test]
fn encode_refuses_inconsistent_connections() {
    let mut c = busy_v6();
    c.recv_data = b"short";
    let mut out = vec![0; c.encoded_len()];
    assert!(matches!(
        c.encode(&mut out),
        Err(Error::RecvDataMismatch { .. })
    ));
    let c = idle_v4();
    let mut out = vec![0; c.encoded_len() + 1];
    assert!(matches!(
        c.encode(&mut out),
        Err(Error::LengthMismatch { .. })
    ));
}

/// A bounded fuzz loop: random mutations of valid blobs, resealed half
/// the time so parsing goes past the checksum. Decoding must never
/// panic, and whatever it accepts must be a valid connection.
/// `TCPMIG_FUZZ_ITERS` raises the bound.
#[test]
fn fuzz_decode() {
    let iters = std::env::var("TCPMIG_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000u64);
    let seeds = [encode_vec(&idle_v4()), encode_vec(&busy_v6())];
    let mut rng = Rng(0x5eed_0f7c_9316_1000);
    let mut accepted = 0u64;
    for _ in 0..iters {
        let mut blob = seeds[rng.below(2) as usize].clone();
        for _ in 0..1 + rng.below(4) {
            let len = blob.len() as u64;
            match rng.below(5) {
                0 if len > 0 => {
                    let i = rng.below(len) as usize;
                    blob[i] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let i = rng.below(len) as usize;
                    blob[i] = rng.next() as u8;
                }
                2 => blob.truncate(rng.below(len + 1) as usize),
                3 => {
                    let i = rng.below(len + 1) as usize;
                    blob.insert(i, rng.next() as u8);
                }
                _ if len >= 12 => {
                    // Lie about a length field: total or a section's.
                    let i = if rng.below(2) == 0 {
                        8
                    } else {
                        (4 + rng.below(len - 4)) as usize & !3
                    };
                    if i + 4 <= blob.len() {
                        blob[i..i + 4].copy_from_slice(&rng.u32().to_le_bytes());
                    }
                }
                _ => {}
            }
        }
        if rng.below(2) == 0 {
            reseal(&mut blob);
        }
        if let Ok(c) = decode(&blob) {
            assert_eq!(c.validate(), Ok(()));
            accepted += 1;
        }
    }
    // Some mutations are harmless (a resealed flip in data bytes).
    assert!(accepted > 0);
}

#[test]
fn flow_mapping_bytes_round_trip_and_refuse_bad_lengths() {
    let c = busy_v6();
    let flow = c.flow.expect("the IPv6 connection has a flow mapping");
    let bytes = flow.to_bytes();
    assert_eq!(FlowMapping::from_bytes(&bytes), Ok(flow));
    assert!(FlowMapping::from_bytes(&bytes[..FlowMapping::LEN - 1]).is_err());
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(FlowMapping::from_bytes(&longer).is_err());
    let mut bad_family = bytes;
    bad_family[0] = 5;
    assert!(FlowMapping::from_bytes(&bad_family).is_err());
}

#[test]
fn routable_flows_only_from_a_peer() {
    let flow = |family, client_addr, vip_addr| FlowMapping {
        family,
        flow_id: 0x0001_1282,
        client_port: 40000,
        vip_port: 80,
        client_addr,
        vip_addr,
    };
    let refused = |which, why| Err(Error::BadEndpoint { which, why });
    let doc4 = v4([192, 0, 2, 1]);
    assert_eq!(flow(4, doc4, v4([192, 0, 2, 100])).check_routable(), Ok(()));
    assert_eq!(flow(6, v6(1), v6(0x64)).check_routable(), Ok(()));
    // Each end, at the edges of each range.
    for (family, addr, why) in [
        (4, v4([127, 0, 0, 1]), "address is loopback"),
        (4, v4([127, 255, 255, 254]), "address is loopback"),
        (4, v4([169, 254, 0, 1]), "address is link-local"),
        (4, v4([169, 254, 255, 255]), "address is link-local"),
        (
            6,
            {
                let mut a = [0; 16];
                a[15] = 1;
                a
            },
            "address is loopback",
        ),
        (
            6,
            {
                let mut a = [0; 16];
                a[0] = 0xfe;
                a[1] = 0x80;
                a
            },
            "address is link-local",
        ),
        (
            6,
            {
                let mut a = [0; 16];
                a[0] = 0xfe;
                a[1] = 0xbf;
                a[15] = 9;
                a
            },
            "address is link-local",
        ),
    ] {
        let other = if family == 4 { doc4 } else { v6(1) };
        assert_eq!(
            flow(family, addr, other).check_routable(),
            refused("client", why)
        );
        assert_eq!(
            flow(family, other, addr).check_routable(),
            refused("vip", why)
        );
    }
    // Just outside: 126/8, 128/8, 169.253/16, 169.255/16, ::2, fec0::/10.
    for addr in [
        v4([126, 255, 255, 255]),
        v4([128, 0, 0, 0]),
        v4([169, 253, 1, 1]),
        v4([169, 255, 0, 0]),
    ] {
        assert_eq!(flow(4, addr, doc4).check_routable(), Ok(()));
    }
    let mut two = [0; 16];
    two[15] = 2;
    let mut site = [0; 16];
    site[0] = 0xfe;
    site[1] = 0xc0;
    for addr in [two, site] {
        assert_eq!(flow(6, addr, v6(1)).check_routable(), Ok(()));
    }
}

#[test]
fn rejects_this_network() {
    let r = decode_edited(&idle_v4(), |b| {
        let off = section_offset(b, kind::IP) + SECTION_HEADER_LEN + 28;
        b[off] = 0; // the remote address into 0.0.0.0/8
    });
    assert_eq!(
        r,
        Err(Error::BadEndpoint {
            which: "remote",
            why: "address is in 0.0.0.0/8"
        })
    );
}

#[test]
fn served_addresses() {
    assert_eq!(check_served(4, &v4([192, 0, 2, 100])), Ok(()));
    assert_eq!(check_served(6, &v6(0x64)), Ok(()));
    let refused = |why| {
        Err(Error::BadEndpoint {
            which: "served",
            why,
        })
    };
    assert_eq!(
        check_served(4, &v4([127, 0, 0, 1])),
        refused("address is loopback")
    );
    assert_eq!(check_served(4, &[0; 16]), refused("address is unspecified"));
    assert_eq!(
        check_served(4, &v4([224, 0, 0, 1])),
        refused("address is multicast, broadcast or reserved")
    );
    assert_eq!(check_served(4, &v6(1)), Err(Error::BadAddress));
    assert_eq!(
        check_served(5, &v4([192, 0, 2, 1])),
        Err(Error::BadFamily(5))
    );
}
