//! The forwarding of a moved flow on the front-end: one FIB rule per
//! flow, `from CLIENT/32 ipproto tcp sport CLIENT_PORT dport VIP_PORT
//! lookup TABLE pref PREF`, added and deleted over rtnetlink
//! (`RTM_NEWRULE`, `RTM_DELRULE`; the port and protocol selectors are
//! in `include/uapi/linux/fib_rules.h` since Linux 4.17). TABLE routes
//! the VIP into a tunnel to the back-end; the bench script makes it.

use crate::sys;
use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};

/// One flow's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The client's address and port: the flow's source.
    pub client: SocketAddr,
    /// The service's port: the flow's destination port.
    pub vip_port: u16,
    pub table: u32,
    /// The preference: below the `local` table's rule, or packets for
    /// the VIP are delivered here before the rule is consulted.
    pub pref: u32,
}

/// What to do with a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Delete,
}

// include/uapi/linux/rtnetlink.h, fib_rules.h, netlink.h.
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;
const FRA_SRC: u16 = 2;
const FRA_PRIORITY: u16 = 6;
const FRA_TABLE: u16 = 15;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;
const FR_ACT_TO_TBL: u8 = 1;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
/// `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;

/// Appends one attribute, padded to 4 bytes as netlink wants.
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend(((4 + payload.len()) as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(payload);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// The whole netlink message for `op` on `rule`.
pub fn message(op: Op, seq: u32, rule: &Rule) -> Vec<u8> {
    let (kind, flags) = match op {
        Op::Add => (
            RTM_NEWRULE,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ),
        Op::Delete => (RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK),
    };
    let (family, src_len, src) = match rule.client.ip() {
        IpAddr::V4(a) => (libc::AF_INET as u8, 32, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, 128, a.octets().to_vec()),
    };
    // The header's table is 8 bits; larger tables ride in FRA_TABLE only.
    let table8 = u8::try_from(rule.table).unwrap_or(0);
    let mut m = vec![0; NLMSG_HDRLEN];
    // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1,
    // res2, action, flags.
    m.extend([family, 0, src_len, 0, table8, 0, 0, FR_ACT_TO_TBL]);
    m.extend(0u32.to_ne_bytes());
    attr(&mut m, FRA_SRC, &src);
    attr(&mut m, FRA_PRIORITY, &rule.pref.to_ne_bytes());
    attr(&mut m, FRA_TABLE, &rule.table.to_ne_bytes());
    attr(&mut m, FRA_IP_PROTO, &[libc::IPPROTO_TCP as u8]);
    // struct fib_rule_port_range: start, end, in host order.
    let range = |p: u16| [p.to_ne_bytes(), p.to_ne_bytes()].concat();
    attr(&mut m, FRA_SPORT_RANGE, &range(rule.client.port()));
    attr(&mut m, FRA_DPORT_RANGE, &range(rule.vip_port));
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&kind.to_ne_bytes());
    m[6..8].copy_from_slice(&flags.to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// A NETLINK_ROUTE socket that adds and deletes rules, one request at a
/// time, each answered by the kernel's ack.
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> io::Result<Self> {
        // SAFETY: Plain socket creation.
        let fd = sys::cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd, seq: 0 })
    }

    /// Does `op` on `rule`; the kernel's refusal comes back as its errno
    /// (EEXIST for a rule already there, ENOENT for one that is not).
    pub fn apply(&mut self, op: Op, rule: &Rule) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let msg = message(op, self.seq, rule);
        // SAFETY: All-zero is a valid sockaddr_nl: the kernel, pid 0.
        let mut to: libc::sockaddr_nl = unsafe { mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: `msg` and `to` are valid for the lengths given.
        sys::cvt_len(unsafe {
            libc::sendto(
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&raw const to).cast(),
                mem::size_of_val(&to) as u32,
            )
        })?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = sys::recv(&self.fd, &mut buf, 0)?;
            if let Some(status) = ack_status(&buf[..n], self.seq) {
                return match status {
                    0 => Ok(()),
                    e => Err(io::Error::from_raw_os_error(e.saturating_neg())),
                };
            }
        }
    }
}

/// The status of the ack for `seq` among the messages in `buf`, if it
/// is there: 0 or a negative errno (`struct nlmsgerr`).
fn ack_status(mut buf: &[u8], seq: u32) -> Option<i32> {
    let ne32 = |b: &[u8]| Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?));
    while buf.len() >= NLMSG_HDRLEN {
        let len = ne32(buf)? as usize;
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        if kind == NLMSG_ERROR && ne32(&buf[8..])? == seq {
            return ne32(&buf[NLMSG_HDRLEN..len]).map(|e| e as i32);
        }
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(client: &str) -> Rule {
        Rule {
            client: client.parse().unwrap(),
            vip_port: 80,
            table: 100,
            pref: 500,
        }
    }

    #[test]
    fn add_message_bytes() {
        let m = message(Op::Add, 7, &rule("198.51.100.7:40000"));
        let ne16 = |v: u16| v.to_ne_bytes();
        let ne32 = |v: u32| v.to_ne_bytes();
        let mut want = Vec::new();
        want.extend(ne32(76));
        want.extend(ne16(RTM_NEWRULE));
        want.extend(ne16(0x605));
        want.extend(ne32(7));
        want.extend(ne32(0));
        want.extend([2, 0, 32, 0, 100, 0, 0, 1, 0, 0, 0, 0]);
        want.extend([ne16(8), ne16(2)].concat());
        want.extend([198, 51, 100, 7]);
        want.extend([ne16(8), ne16(6)].concat());
        want.extend(ne32(500));
        want.extend([ne16(8), ne16(15)].concat());
        want.extend(ne32(100));
        want.extend([ne16(5), ne16(22)].concat());
        want.extend([6, 0, 0, 0]);
        want.extend([ne16(8), ne16(23), ne16(40000), ne16(40000)].concat());
        want.extend([ne16(8), ne16(24), ne16(80), ne16(80)].concat());
        assert_eq!(m, want);
    }

    #[test]
    fn delete_and_ipv6_and_large_tables() {
        let mut r = rule("[2001:db8::7]:1");
        r.table = 1000;
        let m = message(Op::Delete, 1, &r);
        assert_eq!(m.len(), 88);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_DELRULE);
        assert_eq!(u16::from_ne_bytes([m[6], m[7]]), 0x5);
        // family, src_len, and table 0 in the header: FRA_TABLE has it.
        assert_eq!((m[16], m[18], m[20]), (10, 128, 0));
    }

    #[test]
    fn acks_are_found_by_seq() {
        let ack = |seq: u32, err: i32| {
            let mut m = 36u32.to_ne_bytes().to_vec();
            m.extend(NLMSG_ERROR.to_ne_bytes());
            m.extend([0, 0]);
            m.extend(seq.to_ne_bytes());
            m.extend([0; 4]);
            m.extend(err.to_ne_bytes());
            m.extend([0; 16]);
            m
        };
        let mut two = ack(1, -17);
        two.extend(ack(2, 0));
        assert_eq!(ack_status(&two, 1), Some(-17));
        assert_eq!(ack_status(&two, 2), Some(0));
        assert_eq!(ack_status(&two, 3), None);
        assert_eq!(ack_status(&two[..20], 1), None);
        assert_eq!(ack_status(&[0xff; 40], 1), None);
    }

    /// The kernel takes the rule and gives it back: in a private network
    /// namespace, so the host's rules are not touched.
    #[test]
    fn the_kernel_takes_and_drops_rules() {
        crate::sys::private_netns();
        let mut nl = Rtnl::open().unwrap();
        for r in [rule("127.0.0.1:40000"), rule("[::1]:40000")] {
            nl.apply(Op::Add, &r).unwrap();
            let again = nl.apply(Op::Add, &r).unwrap_err();
            assert_eq!(again.raw_os_error(), Some(libc::EEXIST));
            nl.apply(Op::Delete, &r).unwrap();
            let gone = nl.apply(Op::Delete, &r).unwrap_err();
            assert_eq!(gone.raw_os_error(), Some(libc::ENOENT));
        }
    }
}
