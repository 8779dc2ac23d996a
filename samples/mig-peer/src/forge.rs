//! `forge`: one TCP segment with any 4-tuple, flags and sequence number,
//! sent through a raw socket, as an off-path sender would (it knows the
//! addresses and ports, not the sequence numbers). IPv4 or IPv6; whole,
//! or with data in two IP fragments. Needs CAP_NET_RAW.

use std::io;
use std::net::{IpAddr, SocketAddr};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const TCP: u8 = 6;
const FRAGMENT: u8 = 44;
/// How much data a fragmented segment carries: more than a 1280-byte
/// link takes, in fragments that each fit one.
const DATA_LEN: usize = 1500;
/// Where the first fragment ends: a multiple of 8, inside the data.
const FIRST: usize = 1000;

/// The data of a fragmented segment.
fn data() -> Vec<u8> {
    b"forged data, in two IP fragments. "
        .iter()
        .copied()
        .cycle()
        .take(DATA_LEN)
        .collect()
}

/// The flags a word names: any of `fin`, `syn`, `rst`, `ack`, joined by
/// `+` (e.g. `fin+ack`).
pub fn flags(word: &str) -> Result<u8, String> {
    word.split('+').try_fold(0, |all, name| {
        let one = match name {
            "fin" => FIN,
            "syn" => SYN,
            "rst" => RST,
            "ack" => ACK,
            _ => return Err(format!("unknown TCP flag {name:?} (fin, syn, rst, ack)")),
        };
        Ok(all | one)
    })
}

/// The ones' complement sum of `bytes` (big-endian words), folded.
fn sum(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut words = bytes.chunks(2);
    for w in &mut words {
        let hi = u32::from(w[0]) << 8;
        acc += hi | w.get(1).map_or(0, |&b| u32::from(b));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The TCP segment (a 20-byte header and `data`), its checksum over the
/// pseudo-header of `from` and `to`'s family.
fn tcp(from: SocketAddr, to: SocketAddr, flags: u8, seq: u32, ack: u32, data: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&from.port().to_be_bytes());
    t[2..4].copy_from_slice(&to.port().to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(data);
    let mut pseudo = octets(from.ip());
    pseudo.extend(octets(to.ip()));
    let len = t.len() as u32;
    match from {
        SocketAddr::V4(_) => {
            pseudo.extend([0, TCP]);
            pseudo.extend((len as u16).to_be_bytes());
        }
        SocketAddr::V6(_) => {
            pseudo.extend(len.to_be_bytes());
            pseudo.extend([0, 0, 0, TCP]);
        }
    }
    let check = !sum(sum(0, &pseudo), &t) as u16;
    t[16..18].copy_from_slice(&check.to_be_bytes());
    t
}

/// An IPv4 packet around `payload`: `offset` (bytes) into the segment,
/// more fragments after it or not, `id` identifying them.
fn ipv4(from: IpAddr, to: IpAddr, payload: &[u8], offset: usize, more: bool, id: u16) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    p[4..6].copy_from_slice(&id.to_be_bytes());
    let frag = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    p[6..8].copy_from_slice(&frag.to_be_bytes());
    p[8] = 64; // TTL
    p[9] = TCP;
    p[12..16].copy_from_slice(&octets(from));
    p[16..20].copy_from_slice(&octets(to));
    let check = !sum(0, &p) as u16;
    p[10..12].copy_from_slice(&check.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet around `payload`; with `frag` = (offset, more, id) a
/// fragment header first.
fn ipv6(from: IpAddr, to: IpAddr, payload: &[u8], frag: Option<(usize, bool, u32)>) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    let extra = if frag.is_some() { 8 } else { 0 };
    p[4..6].copy_from_slice(&((payload.len() + extra) as u16).to_be_bytes());
    p[6] = if frag.is_some() { FRAGMENT } else { TCP };
    p[7] = 64; // hop limit
    p[8..24].copy_from_slice(&octets(from));
    p[24..40].copy_from_slice(&octets(to));
    if let Some((offset, more, id)) = frag {
        p.extend([TCP, 0]);
        p.extend(((offset as u16) | u16::from(more)).to_be_bytes());
        p.extend(id.to_be_bytes());
    }
    p.extend_from_slice(payload);
    p
}

/// The IP packets that carry the segment: one, or with `fragmented`
/// (and data) two fragments.
pub fn packets(
    from: SocketAddr,
    to: SocketAddr,
    flags: u8,
    seq: u32,
    fragmented: bool,
) -> Result<Vec<Vec<u8>>, String> {
    if from.is_ipv4() != to.is_ipv4() {
        return Err("FROM and TO of different families".into());
    }
    let data = if fragmented { data() } else { Vec::new() };
    let segment = tcp(from, to, flags, seq, 0, &data);
    let (src, dst) = (from.ip(), to.ip());
    let id = seq ^ 0x5a5a_5a5a;
    let pieces: Vec<(usize, &[u8], bool)> = if fragmented {
        vec![
            (0, &segment[..FIRST], true),
            (FIRST, &segment[FIRST..], false),
        ]
    } else {
        vec![(0, &segment[..], false)]
    };
    Ok(pieces
        .into_iter()
        .map(|(offset, piece, more)| match (src, fragmented) {
            (IpAddr::V4(_), _) => ipv4(src, dst, piece, offset, more, id as u16),
            (IpAddr::V6(_), false) => ipv6(src, dst, piece, None),
            (IpAddr::V6(_), true) => ipv6(src, dst, piece, Some((offset, more, id))),
        })
        .collect())
}

/// Sends `packet` (a whole IP packet, header included) to `to`.
pub fn send(packet: &[u8], to: IpAddr) -> io::Result<()> {
    // A raw IPPROTO_RAW socket sends the header given, of either family.
    let family = if to.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: Plain socket creation; closed below.
    let fd = unsafe { libc::socket(family, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: All-zero sockaddrs are valid; their fields are set next.
    let (mut sa4, mut sa6): (libc::sockaddr_in, libc::sockaddr_in6) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let (sa, len): (*const libc::sockaddr, usize) = match to {
        IpAddr::V4(a) => {
            sa4.sin_family = libc::AF_INET as libc::sa_family_t;
            sa4.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            ((&raw const sa4).cast(), std::mem::size_of_val(&sa4))
        }
        IpAddr::V6(a) => {
            sa6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa6.sin6_addr.s6_addr = a.octets();
            ((&raw const sa6).cast(), std::mem::size_of_val(&sa6))
        }
    };
    // SAFETY: `packet` is valid for its length, `sa` for `len` bytes.
    let sent = unsafe {
        libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            sa,
            len as libc::socklen_t,
        )
    };
    let result = if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_refuse() {
        assert_eq!(flags("fin+ack"), Ok(FIN | ACK));
        assert_eq!(flags("syn"), Ok(SYN));
        assert!(flags("urg").is_err());
    }

    fn addrs(from: &str, to: &str) -> (SocketAddr, SocketAddr) {
        (from.parse().unwrap(), to.parse().unwrap())
    }

    #[test]
    fn ipv4_checksums_verify() {
        let (from, to) = addrs("192.0.2.1:40000", "192.0.2.100:80");
        let p = &packets(from, to, SYN, 7, false).unwrap()[0];
        assert_eq!(p.len(), 40);
        // A header whose checksum is right sums to 0xffff.
        assert_eq!(sum(0, &p[..20]), 0xffff);
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&p[12..16]);
        pseudo[4..8].copy_from_slice(&p[16..20]);
        pseudo[9] = 6;
        pseudo[11] = 20;
        assert_eq!(sum(sum(0, &pseudo), &p[20..]), 0xffff);
    }

    #[test]
    fn ipv6_checksum_verifies() {
        let (from, to) = addrs("[2001:db8::1]:40000", "[2001:db8::100]:80");
        let p = &packets(from, to, ACK, 7, false).unwrap()[0];
        assert_eq!(p.len(), 60);
        assert_eq!(p[6], TCP);
        let mut pseudo = p[8..40].to_vec();
        pseudo.extend([0, 0, 0, 20, 0, 0, 0, 6]);
        assert_eq!(sum(sum(0, &pseudo), &p[40..]), 0xffff);
    }

    /// The fragments, put back together, are the whole segment.
    #[test]
    fn fragments_join_to_the_segment() {
        for (from, to, header) in [
            ("192.0.2.1:40000", "192.0.2.100:80", 20),
            ("[2001:db8::1]:40000", "[2001:db8::100]:80", 48),
        ] {
            let (from, to) = addrs(from, to);
            let whole = tcp(from, to, ACK, 9, 0, &data());
            let frags = packets(from, to, ACK, 9, true).unwrap();
            assert_eq!(frags.len(), 2);
            let joined: Vec<u8> = frags.iter().flat_map(|f| f[header..].to_vec()).collect();
            assert_eq!(joined, whole);
            if from.is_ipv4() {
                assert_eq!(&frags[0][6..8], &[0x20, 0]); // MF, offset 0
                assert_eq!(&frags[1][6..8], &((FIRST / 8) as u16).to_be_bytes());
                assert_eq!(sum(0, &frags[1][..20]), 0xffff);
            } else {
                assert_eq!(frags[0][6], FRAGMENT);
                assert_eq!(&frags[0][42..44], &[0, 1]); // offset 0, M
                assert_eq!(&frags[1][42..44], &(FIRST as u16).to_be_bytes());
                assert_eq!(frags[0][44..48], frags[1][44..48]); // one id
            }
        }
    }
}
