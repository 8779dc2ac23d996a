//! `forge`: one TCP segment with any 4-tuple, flags and sequence number,
//! sent through a raw IPv4 socket, as an off-path sender would (it knows
//! the addresses and ports, not the sequence numbers). Needs CAP_NET_RAW.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

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

/// The IPv4 packet: a 20-byte header and a 20-byte TCP header, no data.
pub fn segment(from: SocketAddrV4, to: SocketAddrV4, flags: u8, seq: u32, ack: u32) -> [u8; 40] {
    let mut p = [0u8; 40];
    let (ip, tcp) = p.split_at_mut(20);
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64; // TTL
    ip[9] = libc::IPPROTO_TCP as u8;
    ip[12..16].copy_from_slice(&from.ip().octets());
    ip[16..20].copy_from_slice(&to.ip().octets());
    let check = !sum(0, ip) as u16;
    ip[10..12].copy_from_slice(&check.to_be_bytes());

    tcp[0..2].copy_from_slice(&from.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&to.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&from.ip().octets());
    pseudo[4..8].copy_from_slice(&to.ip().octets());
    pseudo[9] = libc::IPPROTO_TCP as u8;
    pseudo[10..12].copy_from_slice(&20u16.to_be_bytes());
    let check = !sum(sum(0, &pseudo), tcp) as u16;
    tcp[16..18].copy_from_slice(&check.to_be_bytes());
    p
}

/// Sends `packet` (a whole IPv4 packet) to its destination.
pub fn send(packet: &[u8], to: Ipv4Addr) -> io::Result<()> {
    // SAFETY: Plain socket creation; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: An all-zero sockaddr_in is valid; its fields are set next.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from_ne_bytes(to.octets());
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `packet` is valid for its length, `sa` for `len` bytes.
    let sent = unsafe {
        libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&raw const sa).cast(),
            len,
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

    #[test]
    fn checksums_verify() -> Result<(), std::net::AddrParseError> {
        let p = segment(
            "192.0.2.1:40000".parse()?,
            "192.0.2.100:80".parse()?,
            SYN,
            7,
            0,
        );
        // A header whose checksum is right sums to 0xffff.
        assert_eq!(sum(0, &p[..20]), 0xffff);
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&p[12..16]);
        pseudo[4..8].copy_from_slice(&p[16..20]);
        pseudo[9] = 6;
        pseudo[11] = 20;
        assert_eq!(sum(sum(0, &pseudo), &p[20..]), 0xffff);
        Ok(())
    }
}
