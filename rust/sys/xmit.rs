// SPDX-License-Identifier: GPL-2.0

//! Rewriting a TCP packet's addresses and ports, and sending it on.
//!
//! Cluster forwarding adds no bytes to a packet: the front end gives a
//! migrated flow's packet the back end as destination, itself as source
//! and the flow id as ports, and [`send`]s it; the back end [`rewrite`]s
//! it back to the client and the VIP at PRE_ROUTING and lets it go up to
//! TCP. On a rollback the front end [`send`]s its held packets to itself,
//! unchanged. Checksums are updated incrementally, whatever the packet's
//! checksum state (`xmit.c`; Documentation/tcpmig/sys.rst).

use super::{
    bindings,
    net::Net,
    nf::Skb,
    sock::Family, //
};
use crate::wire::Addr;
use kernel::{
    error::to_result,
    prelude::*, //
};

/// Where a packet goes: its new addresses and ports.
#[derive(Clone, Copy)]
pub(crate) struct Rewrite {
    pub(crate) family: Family,
    /// The new source address (the first 4 bytes for IPv4).
    pub(crate) src: Addr,
    /// The new destination address (the first 4 bytes for IPv4).
    pub(crate) dst: Addr,
    /// The new source port, in host order.
    pub(crate) sport: u16,
    /// The new destination port, in host order.
    pub(crate) dport: u16,
}

impl Rewrite {
    fn raw(&self) -> bindings::tcpmig_rewrite {
        bindings::tcpmig_rewrite {
            family: self.family.blob(),
            sport: self.sport.to_be(),
            dport: self.dport.to_be(),
            src: self.src,
            dst: self.dst,
        }
    }
}

/// Rewrites the TCP packet `skb` (network header set) to `to`, in place.
///
/// Fails with `EAFNOSUPPORT` for a packet of another family,
/// `EPROTONOSUPPORT` for one that is not TCP or is a fragment, `EINVAL`
/// for a malformed header and `ENOMEM` if the headers cannot be made
/// writable; the packet's contents are then unchanged.
pub(crate) fn rewrite(skb: &mut Skb, to: &Rewrite) -> Result {
    let to = to.raw();
    // SAFETY: The packet is ours and lent to us; `to` is valid for the call.
    to_result(unsafe { bindings::tcpmig_xmit_rewrite(skb.as_ptr(), &to) })
}

/// Rewrites `skb` to `to`, routes it to its new destination in `net` and
/// sends it through the local output path (a local destination comes back
/// in through loopback); from softirq or process context.
///
/// `skb` is a received packet with its network header at its data, as a
/// hook at PRE_ROUTING or LOCAL_IN sees it (held or not). It is consumed
/// in every case: on an error it is freed and the error returned. A drop
/// past the output path's start (a netfilter rule, a full queue) is not
/// reported, as for any sent packet.
///
/// The packet keeps its length: one too big for the new route that may
/// not be fragmented fails with `EMSGSIZE`, and its sender is told the
/// route's MTU from the address it sent to, as a router would.
pub(crate) fn send(net: &Net, skb: Skb, to: &Rewrite) -> Result {
    let to = to.raw();
    // SAFETY: `net` is live; the packet is ours and the shim consumes it
    // on every path; `to` is valid for the call.
    to_result(unsafe { bindings::tcpmig_xmit_send(net.as_ptr(), skb.into_raw(), &to) })
}

/// Gives the ICMP error `skb` about a flow (a hook's packet whose
/// [`Flags::icmp`](super::nf::Flags) is set, of `to`'s family, its
/// network header at its data) the addresses of `to`, in place; the
/// packet it quotes stays as it is. Fails with the packet unchanged.
pub(crate) fn readdress(skb: &mut Skb, to: &Rewrite) -> Result {
    let to = to.raw();
    // SAFETY: The packet is ours and lent to us; `to` is valid for the call.
    to_result(unsafe { bindings::tcpmig_xmit_readdress(skb.as_ptr(), &to) })
}

/// Sends the ICMP error `skb` about a flow (a hook's packet whose
/// [`Flags::icmp`](super::nf::Flags) is set) from `to`'s source to its
/// destination, as [`send`] sends the flow's packets; the error and the
/// packet it quotes stay as they are (`to`'s ports are not used). The
/// receiver's stack finds the socket the error is about by the quoted
/// packet. Consumes `skb` in every case.
pub(crate) fn send_error(net: &Net, skb: Skb, to: &Rewrite) -> Result {
    let to = to.raw();
    // SAFETY: `net` is live; the packet is ours and the shim consumes it
    // on every path; `to` is valid for the call.
    to_result(unsafe { bindings::tcpmig_xmit_send_error(net.as_ptr(), skb.into_raw(), &to) })
}

#[kunit_tests(tcpmig_xmit)]
mod tests {
    use super::*;
    use crate::sys::{
        sock::Endpoint,
        socket::KernelSocket, //
    };
    use core::ptr::NonNull;
    use kernel::time::{
        delay::fsleep,
        Delta, //
    };

    /// Fails the calling helper (an `assert!` outside a test function
    /// would panic the kernel rather than fail the test).
    macro_rules! ensure {
        ($cond:expr) => {
            if !$cond {
                pr_err!("{}:{}: {} is false\n", file!(), line!(), stringify!($cond));
                return Err(EBADMSG);
            }
        };
    }

    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const HOP_BY_HOP: u8 = 0;
    const DEST_OPTS: u8 = 60;
    const FRAGMENT: u8 = 44;
    const SYN: u8 = 0x02;
    /// Odd, so the checksums cover a padded last byte.
    const PAYLOAD: &[u8] = b"bytes a client sent to the virtual IP.";

    fn addr(bytes: &[u8]) -> Addr {
        let mut a = [0; 16];
        a[..bytes.len()].copy_from_slice(bytes);
        a
    }

    fn v6(last: u8) -> Addr {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        a[15] = last;
        a
    }

    /// The client → VIP packet as it arrives, and where it goes.
    fn client(family: Family) -> Rewrite {
        match family {
            Family::V4 => Rewrite {
                family,
                src: addr(&[192, 0, 2, 7]),
                dst: addr(&[198, 51, 100, 80]),
                sport: 51_234,
                dport: 443,
            },
            Family::V6 => Rewrite {
                family,
                src: v6(7),
                dst: v6(0x80),
                sport: 51_234,
                dport: 443,
            },
        }
    }

    /// The same packet forwarded front end → back end, ports = flow id.
    fn forwarded(family: Family) -> Rewrite {
        match family {
            Family::V4 => Rewrite {
                family,
                src: addr(&[10, 1, 0, 1]),
                dst: addr(&[10, 1, 0, 254]),
                sport: 0xbeef,
                dport: 0x0421,
            },
            Family::V6 => Rewrite {
                family,
                src: addr(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                dst: addr(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]),
                sport: 0xbeef,
                dport: 0x0421,
            },
        }
    }

    // The test's own checksum arithmetic, independent of the kernel's.

    /// The one's complement sum of `bytes` as big-endian 16-bit words.
    fn sum(bytes: &[u8]) -> u64 {
        bytes
            .chunks(2)
            .map(|w| u64::from(w[0]) << 8 | u64::from(w.get(1).copied().unwrap_or(0)))
            .sum()
    }

    fn fold(mut s: u64) -> u16 {
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    /// Equal in one's complement arithmetic (0 and 0xffff both zero).
    fn same(a: u16, b: u16) -> bool {
        a == b || (a | b == 0xffff && (a == 0 || b == 0))
    }

    fn be16(p: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([p[at], p[at + 1]])
    }

    fn put16(p: &mut [u8], at: usize, v: u16) {
        p[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// A synthetic TCP packet: its bytes and where its TCP header starts.
    struct Packet {
        bytes: KVec<u8>,
        family: Family,
        th: usize,
    }

    impl Packet {
        fn addr_range(&self) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
            match self.family {
                Family::V4 => (12..16, 16..20),
                Family::V6 => (8..24, 24..40),
            }
        }

        fn src(&self) -> &[u8] {
            &self.bytes[self.addr_range().0]
        }

        fn dst(&self) -> &[u8] {
            &self.bytes[self.addr_range().1]
        }

        /// The TCP pseudo-header sum.
        fn pseudo(&self) -> u64 {
            let len = (self.bytes.len() - self.th) as u64;
            sum(self.src()) + sum(self.dst()) + u64::from(TCP) + (len >> 16) + (len & 0xffff)
        }

        fn segment(&self) -> &[u8] {
            &self.bytes[self.th..]
        }

        fn tcp_check(&self) -> u16 {
            be16(&self.bytes, self.th + 16)
        }

        /// Fills in a full TCP checksum (and IPv4's header checksum).
        fn finish(&mut self) {
            put16(&mut self.bytes, self.th + 16, 0);
            let c = !fold(self.pseudo() + sum(self.segment()));
            put16(&mut self.bytes, self.th + 16, c);
            if self.family == Family::V4 {
                put16(&mut self.bytes, 10, 0);
                let c = !fold(sum(&self.bytes[..self.th]));
                put16(&mut self.bytes, 10, c);
            }
        }

        /// Whether the full TCP checksum verifies.
        fn tcp_ok(&self) -> bool {
            fold(self.pseudo() + sum(self.segment())) == 0xffff
        }

        /// Whether the IPv4 header checksum verifies (true for IPv6).
        fn ip_ok(&self) -> bool {
            self.family == Family::V6 || fold(sum(&self.bytes[..self.th])) == 0xffff
        }

        fn sport(&self) -> u16 {
            be16(&self.bytes, self.th)
        }

        fn dport(&self) -> u16 {
            be16(&self.bytes, self.th + 2)
        }

        /// Whether the addresses and ports are those of `to`.
        fn is_at(&self, to: &Rewrite) -> bool {
            let n = self.src().len();
            self.src() == &to.src[..n]
                && self.dst() == &to.dst[..n]
                && self.sport() == to.sport
                && self.dport() == to.dport
        }
    }

    /// A TCP packet at `at`: IPv4 with `ip_options` words of options,
    /// IPv6 with the extension headers `ext` before TCP.
    fn packet(
        at: &Rewrite,
        ip_options: usize,
        ext: &[u8],
        flags: u8,
        payload: &[u8],
    ) -> Result<Packet> {
        let mut b = KVec::new();
        match at.family {
            Family::V4 => {
                let ihl = 5 + ip_options;
                let len = ihl * 4 + 20 + payload.len();
                b.extend_from_slice(&[0x40 | ihl as u8, 0], GFP_KERNEL)?;
                b.extend_from_slice(&(len as u16).to_be_bytes(), GFP_KERNEL)?;
                // Id, DF, TTL 64, TCP, checksum 0.
                b.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, TCP, 0, 0], GFP_KERNEL)?;
                b.extend_from_slice(&at.src[..4], GFP_KERNEL)?;
                b.extend_from_slice(&at.dst[..4], GFP_KERNEL)?;
                for _ in 0..ip_options {
                    b.extend_from_slice(&[1, 1, 1, 1], GFP_KERNEL)?; // NOPs
                }
            }
            Family::V6 => {
                let len = ext.len() * 8 + 20 + payload.len();
                b.extend_from_slice(&[0x60, 0, 0, 0], GFP_KERNEL)?;
                b.extend_from_slice(&(len as u16).to_be_bytes(), GFP_KERNEL)?;
                let next = ext.first().copied().unwrap_or(TCP);
                b.extend_from_slice(&[next, 64], GFP_KERNEL)?;
                b.extend_from_slice(&at.src, GFP_KERNEL)?;
                b.extend_from_slice(&at.dst, GFP_KERNEL)?;
                // Each an 8-byte options header holding one PadN option.
                for (i, _) in ext.iter().enumerate() {
                    let next = ext.get(i + 1).copied().unwrap_or(TCP);
                    b.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0], GFP_KERNEL)?;
                }
            }
        }
        let th = b.len();
        b.extend_from_slice(&at.sport.to_be_bytes(), GFP_KERNEL)?;
        b.extend_from_slice(&at.dport.to_be_bytes(), GFP_KERNEL)?;
        // Seq, ack, data offset 5, flags, window, checksum 0, urgent 0.
        b.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0], GFP_KERNEL)?;
        b.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0], GFP_KERNEL)?;
        b.extend_from_slice(payload, GFP_KERNEL)?;
        let mut p = Packet {
            bytes: b,
            family: at.family,
            th,
        };
        p.finish();
        Ok(p)
    }

    /// A packet's checksum state as the stack keeps it.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Csum {
        /// Nothing known: the field holds the full checksum.
        None,
        /// Verified by the device; the field holds the full checksum.
        Unnecessary,
        /// `skb->csum` is the sum over the packet from the IP header.
        Complete,
        /// The field holds the pseudo-header sum; a device finishes it.
        Partial,
    }

    impl Csum {
        const ALL: [Csum; 4] = [Csum::None, Csum::Unnecessary, Csum::Complete, Csum::Partial];

        fn ip_summed(self) -> u8 {
            let v = match self {
                Csum::None => bindings::TCPMIG_CHECKSUM_NONE,
                Csum::Unnecessary => bindings::TCPMIG_CHECKSUM_UNNECESSARY,
                Csum::Complete => bindings::TCPMIG_CHECKSUM_COMPLETE,
                Csum::Partial => bindings::TCPMIG_CHECKSUM_PARTIAL,
            };
            v as u8
        }
    }

    /// The native-order `__wsum` whose bytes in memory are the big-endian
    /// sum `be`, and back.
    fn wsum_of(be: u16) -> u32 {
        u32::from(u16::from_ne_bytes(be.to_be_bytes()))
    }

    fn be_of(wsum: u32) -> u16 {
        u16::from_be_bytes(fold(u64::from(wsum)).to_ne_bytes())
    }

    /// `p` as a received packet in state `csum`.
    fn skb(p: &mut Packet, csum: Csum) -> Result<Skb> {
        let mut c = bindings::tcpmig_skb_csum {
            ip_summed: csum.ip_summed(),
            ..Default::default()
        };
        match csum {
            Csum::Complete => c.csum = wsum_of(fold(sum(&p.bytes))),
            Csum::Partial => {
                let pseudo = fold(p.pseudo());
                put16(&mut p.bytes, p.th + 16, pseudo);
                c.start = p.th as u16;
                c.offset = 16;
            }
            Csum::None | Csum::Unnecessary => {}
        }
        let len = u32::try_from(p.bytes.len())?;
        // SAFETY: `bytes` is valid for `len` bytes; `c` for the call.
        let raw = unsafe { bindings::tcpmig_test_skb_new(p.bytes.as_ptr().cast(), len, &c) };
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: The new packet is ours.
        Ok(unsafe { Skb::from_raw(raw) })
    }

    fn csum_of(skb: &Skb) -> bindings::tcpmig_skb_csum {
        let mut c = bindings::tcpmig_skb_csum::default();
        // SAFETY: The packet is ours; `c` is valid for the call.
        unsafe { bindings::tcpmig_test_skb_csum(skb.as_ptr(), &mut c) };
        c
    }

    /// The packet's bytes, in a [`Packet`] like `like`.
    fn read(skb: &Skb, like: &Packet) -> Result<Packet> {
        // SAFETY: The packet is ours.
        let len = unsafe { bindings::tcpmig_test_skb_len(skb.as_ptr()) } as usize;
        let mut bytes = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        // SAFETY: The packet is ours; `bytes` is valid for `len` bytes.
        to_result(unsafe {
            bindings::skb_copy_bits(skb.as_ptr(), 0, bytes.as_mut_ptr().cast(), len as i32)
        })?;
        Ok(Packet {
            bytes,
            family: like.family,
            th: like.th,
        })
    }

    /// Rewrites `before` in state `csum` to `to` and checks everything
    /// the state promises.
    fn check_rewrite(mut before: Packet, csum: Csum, to: &Rewrite) -> Result {
        let mut s = skb(&mut before, csum)?;
        rewrite(&mut s, to)?;
        let after = read(&s, &before)?;
        let c = csum_of(&s);

        ensure!(after.is_at(to));
        ensure!(after.ip_ok());
        ensure!(after.bytes.len() == before.bytes.len());
        // Everything past the ports and checksum is as it was.
        ensure!(after.bytes[after.th + 18..] == before.bytes[before.th + 18..]);
        ensure!(c.ip_summed == csum.ip_summed());
        match csum {
            Csum::None | Csum::Unnecessary => ensure!(after.tcp_ok()),
            Csum::Complete => {
                ensure!(after.tcp_ok());
                ensure!(same(be_of(c.csum), fold(sum(&after.bytes))));
            }
            Csum::Partial => {
                ensure!(same(after.tcp_check(), fold(after.pseudo())));
                ensure!(usize::from(c.start) == after.th);
                ensure!(c.offset == 16);
                // And a device that finishes it gets a verifying packet.
                let mut done = after;
                let c = !fold(sum(done.segment()));
                put16(&mut done.bytes, done.th + 16, c);
                ensure!(done.tcp_ok());
            }
        }
        Ok(())
    }

    /// Both ways of the cluster path, in every checksum state.
    fn check_family(family: Family, ip_options: usize, ext: &[u8]) -> Result {
        for csum in Csum::ALL {
            let failed = |e| {
                pr_err!("{:?} packet, {:?} checksum\n", family, csum);
                e
            };
            let p = packet(&client(family), ip_options, ext, 0x18, PAYLOAD)?;
            check_rewrite(p, csum, &forwarded(family)).map_err(failed)?;
            let p = packet(&forwarded(family), ip_options, ext, 0x18, PAYLOAD)?;
            check_rewrite(p, csum, &client(family)).map_err(failed)?;
        }
        Ok(())
    }

    #[test]
    fn ipv4_rewrites_keep_every_checksum_state_right() -> Result {
        check_family(Family::V4, 0, &[])
    }

    #[test]
    fn ipv4_with_options_is_rewritten_past_them() -> Result {
        check_family(Family::V4, 2, &[])
    }

    #[test]
    fn ipv6_rewrites_keep_every_checksum_state_right() -> Result {
        check_family(Family::V6, 0, &[])
    }

    #[test]
    fn ipv6_is_rewritten_past_extension_headers() -> Result {
        check_family(Family::V6, 0, &[HOP_BY_HOP, DEST_OPTS])
    }

    #[test]
    fn an_empty_segment_is_rewritten() -> Result {
        check_rewrite(
            packet(&client(Family::V4), 0, &[], SYN, b"")?,
            Csum::None,
            &forwarded(Family::V4),
        )?;
        check_rewrite(
            packet(&client(Family::V6), 0, &[], SYN, b"")?,
            Csum::Complete,
            &forwarded(Family::V6),
        )
    }

    #[test]
    fn a_shared_packet_is_copied_before_it_is_rewritten() -> Result {
        let mut p = packet(&client(Family::V4), 0, &[], 0x18, PAYLOAD)?;
        let original = skb(&mut p, Csum::None)?;
        // SAFETY: The packet is ours; the shim returns a new clone or NULL.
        let clone = unsafe { bindings::tcpmig_test_skb_clone(original.as_ptr()) };
        // SAFETY: The clone is ours.
        let mut clone = unsafe { Skb::from_raw(NonNull::new(clone).ok_or(ENOMEM)?) };
        let to = forwarded(Family::V4);
        rewrite(&mut clone, &to)?;
        // SAFETY: Both packets are ours.
        assert!(!unsafe {
            bindings::tcpmig_test_skb_shares_head(original.as_ptr(), clone.as_ptr())
        });
        let after = read(&clone, &p)?;
        assert!(after.is_at(&to) && after.ip_ok() && after.tcp_ok());
        assert!(read(&original, &p)?.bytes == p.bytes);
        Ok(())
    }

    /// `rewrite` refuses `p` with `err` and leaves it as it was.
    fn check_refused(mut p: Packet, to: &Rewrite, err: Error) -> Result {
        let mut s = skb(&mut p, Csum::None)?;
        ensure!(rewrite(&mut s, to) == Err(err));
        ensure!(read(&s, &p)?.bytes == p.bytes);
        Ok(())
    }

    #[test]
    fn fragments_are_refused() -> Result {
        let to = forwarded(Family::V4);
        // A first fragment (more fragments) and a later one.
        for frag_off in [0x2000u16, 0x0010] {
            let mut p = packet(&client(Family::V4), 0, &[], 0x18, PAYLOAD)?;
            put16(&mut p.bytes, 6, frag_off);
            p.finish();
            check_refused(p, &to, EPROTONOSUPPORT)?;
        }
        let to = forwarded(Family::V6);
        // IPv6 first fragment: offset 0, more fragments.
        let mut p = packet(&client(Family::V6), 0, &[FRAGMENT], 0x18, PAYLOAD)?;
        p.bytes[40 + 1] = 0; // reserved
        put16(&mut p.bytes, 40 + 2, 0x0001);
        p.finish();
        check_refused(p, &to, EPROTONOSUPPORT)?;
        Ok(())
    }

    #[test]
    fn other_protocols_and_families_are_refused() -> Result {
        let mut p = packet(&client(Family::V4), 0, &[], 0, PAYLOAD)?;
        p.bytes[9] = UDP;
        p.finish();
        check_refused(p, &forwarded(Family::V4), EPROTONOSUPPORT)?;
        let mut p = packet(&client(Family::V6), 0, &[DEST_OPTS], 0, PAYLOAD)?;
        p.bytes[40] = UDP;
        check_refused(p, &forwarded(Family::V6), EPROTONOSUPPORT)?;
        let p = packet(&client(Family::V4), 0, &[], 0x18, PAYLOAD)?;
        check_refused(p, &forwarded(Family::V6), EAFNOSUPPORT)?;
        let p = packet(&client(Family::V6), 0, &[], 0x18, PAYLOAD)?;
        check_refused(p, &forwarded(Family::V4), EAFNOSUPPORT)
    }

    fn tcp_mib(field: u32) -> u64 {
        // SAFETY: `init_net` lives as long as the kernel.
        unsafe { bindings::tcpmig_test_tcp_mib(Net::init_net().as_ptr(), field as i32) }
    }

    /// Sends a SYN from elsewhere, rewritten by `send` to come from
    /// `from` (loopback if `None`) and go to the loopback port of
    /// `closed` (bound, not listening); with `corrupt`, its checksum is
    /// wrong. Returns whether TCP answered it with a reset (it did not
    /// drop it for its checksum).
    fn answered_with_reset(family: Family, from: Option<Addr>, corrupt: bool) -> Result<bool> {
        let lo = match family {
            Family::V4 => addr(&[127, 0, 0, 1]),
            Family::V6 => v6_loopback(),
        };
        let closed = KernelSocket::new(Net::init_net(), family)?;
        closed.bind(&Endpoint {
            family,
            addr: lo,
            port: 0,
        })?;
        let to = Rewrite {
            family,
            src: from.unwrap_or(lo),
            dst: lo,
            sport: 40_000,
            dport: closed.local_port(),
        };
        let mut p = packet(&client(family), 0, &[], SYN, b"")?;
        if corrupt {
            let c = p.tcp_check() ^ 0x0101;
            put16(&mut p.bytes, p.th + 16, c);
        }
        // Software checksum only: loopback would not check CHECKSUM_PARTIAL.
        let s = skb(&mut p, Csum::None)?;
        let (resets, errors) = (
            tcp_mib(bindings::TCPMIG_TCP_MIB_OUTRSTS),
            tcp_mib(bindings::TCPMIG_TCP_MIB_CSUMERRORS),
        );
        send(Net::init_net(), s, &to)?;
        // Loopback delivers in softirq, usually before `send` returns.
        for _ in 0..200 {
            let reset = tcp_mib(bindings::TCPMIG_TCP_MIB_OUTRSTS) != resets;
            let error = tcp_mib(bindings::TCPMIG_TCP_MIB_CSUMERRORS) != errors;
            if reset || error {
                ensure!(reset != error);
                return Ok(reset);
            }
            fsleep(Delta::from_millis(10));
        }
        Err(ETIMEDOUT)
    }

    fn v6_loopback() -> Addr {
        addr(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }

    #[test]
    fn a_sent_syn_reaches_tcp_with_a_valid_checksum() -> Result {
        assert!(answered_with_reset(Family::V4, None, false)?);
        assert!(answered_with_reset(Family::V6, None, false)?);
        Ok(())
    }

    /// A rollback re-delivers a client's packet with the client, not an
    /// address of this host, as its source (`FLOWI_FLAG_ANYSRC`). Only
    /// IPv4 checks the source of an output route; and IPv6 would count
    /// the reset only if it found a route back to the client.
    #[test]
    fn a_syn_from_a_source_not_ours_is_sent() -> Result {
        let client = client(Family::V4).src;
        assert!(answered_with_reset(Family::V4, Some(client), false)?);
        Ok(())
    }

    /// The control of the test above: a wrong checksum is seen as one.
    #[test]
    fn a_sent_syn_with_a_bad_checksum_is_dropped_by_tcp() -> Result {
        assert!(!answered_with_reset(Family::V4, None, true)?);
        assert!(!answered_with_reset(Family::V6, None, true)?);
        Ok(())
    }

    #[test]
    fn send_refuses_and_frees_what_it_cannot_rewrite() -> Result {
        let mut p = packet(&client(Family::V4), 0, &[], SYN, b"")?;
        let s = skb(&mut p, Csum::None)?;
        assert_eq!(
            send(Net::init_net(), s, &forwarded(Family::V6)),
            Err(EAFNOSUPPORT)
        );
        Ok(())
    }
}
