// SPDX-License-Identifier: GPL-2.0

//! The fixed-layout sections (TCP, IP, flow mapping) and the little-endian
//! reader and writer under them.

use super::{kind, Error, SECTION_HEADER_LEN};

/// Linux's TCP_ESTABLISHED.
pub const TCP_ESTABLISHED: u8 = 1;
/// Linux's TCP_CLOSE_WAIT.
pub const TCP_CLOSE_WAIT: u8 = 8;

/// `TcpState::options` bits.
pub mod opt {
    pub const SACK: u8 = 1 << 0;
    pub const TIMESTAMPS: u8 = 1 << 1;
    pub const WSCALE: u8 = 1 << 2;
    pub const ECN: u8 = 1 << 3;
    /// Timestamps count microseconds (`tcp_usec_ts`), not milliseconds.
    pub const TS_USEC: u8 = 1 << 4;
    /// Every bit defined above.
    pub const ALL: u8 = SACK | TIMESTAMPS | WSCALE | ECN | TS_USEC;
}

/// TCP state: what TCP_REPAIR carries, and beyond it the congestion and
/// RTT state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpState {
    /// TCP_ESTABLISHED or TCP_CLOSE_WAIT.
    pub state: u8,
    /// `opt::*` bits negotiated on the connection.
    pub options: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub mss_clamp: u16,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub write_seq: u32,
    pub rcv_nxt: u32,
    pub copied_seq: u32,
    pub snd_wl1: u32,
    pub snd_wnd: u32,
    pub max_window: u32,
    pub rcv_wnd: u32,
    pub rcv_wup: u32,
    pub window_clamp: u32,
    /// The peer's last timestamp (TSecr to echo).
    pub ts_recent: u32,
    /// This side's TSval at capture; the new socket continues from it so
    /// the peer sees timestamps stay monotonic.
    pub ts_val: u32,
    pub snd_cwnd: u32,
    pub snd_ssthresh: u32,
    pub srtt_us: u32,
    pub mdev_us: u32,
    pub rto_us: u32,
}

/// Addresses are 16 bytes; IPv4 uses the first 4, the rest are zero.
pub type Addr = [u8; 16];

/// IP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpState {
    /// 4 or 6.
    pub family: u8,
    /// TOS (IPv4) or traffic class (IPv6).
    pub tos: u8,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IPv6 flow label (20 bits); 0 for IPv4.
    pub flow_label: u32,
    pub local_port: u16,
    pub remote_port: u16,
    pub local_addr: Addr,
    pub remote_addr: Addr,
}

/// Flow-id mapping: flow id -> client and VIP endpoints (cluster migration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowMapping {
    pub family: u8,
    pub flow_id: u32,
    pub client_port: u16,
    pub vip_port: u16,
    pub client_addr: Addr,
    pub vip_addr: Addr,
}

/// The smallest MSS the kernel uses (`TCP_MIN_MSS`).
pub const MSS_MIN: u16 = 88;
/// The largest MSS of an IPv4 packet without options (65535 - 40).
pub const MSS_MAX: u16 = 65495;
/// The largest window scale (`TCP_MAX_WSCALE`).
pub const MAX_WSCALE: u8 = 14;
/// The largest queue in either direction a blob may describe.
pub const MAX_QUEUE: u32 = 16 << 20;
/// `TCP_INFINITE_SSTHRESH`.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// The smallest RTO a host can be configured with (1 ms, the lowest
/// `rto_min` a route takes) and the largest (`TCP_RTO_MAX`, 120 s).
pub const RTO_MIN_US: u32 = 1_000;
pub const RTO_MAX_US: u32 = 120_000_000;

/// The largest window a 16-bit field scaled by `wscale` can carry.
fn max_window(wscale: u8) -> u32 {
    0xffff << wscale
}

/// Whether sequence number `a` comes after `b`.
fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

fn range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// Checks an address and port a connection's end can have: not
/// unspecified, in 0.0.0.0/8, multicast or broadcast; IPv6 not v4-mapped
/// (an IPv4 connection is family 4); port not 0.
fn check_endpoint(family: u8, addr: &Addr, port: u16, which: &'static str) -> Result<(), Error> {
    let bad = |why| Err(Error::BadEndpoint { which, why });
    if port == 0 {
        return bad("port is 0");
    }
    if addr.iter().all(|&b| b == 0) {
        return bad("address is unspecified");
    }
    if family == 4 {
        if addr[0] == 0 {
            return bad("address is in 0.0.0.0/8");
        }
        if addr[0] >= 224 {
            return bad("address is multicast, broadcast or reserved");
        }
    } else {
        if addr[0] == 0xff {
            return bad("address is multicast");
        }
        if addr[..10].iter().all(|&b| b == 0) && addr[10] == 0xff && addr[11] == 0xff {
            return bad("address is v4-mapped (an IPv4 connection is family 4)");
        }
    }
    Ok(())
}

/// Checks an address a back-end may let a peer hand it connections at
/// (`tcpmig peer add ... serve`): one a blob from a peer may name as its
/// local end.
pub fn check_served(family: u8, addr: &Addr) -> Result<(), Error> {
    check_family(family, &[addr])?;
    check_endpoint(family, addr, 1, "served")?;
    match host_scoped(family, addr) {
        Some(why) => Err(Error::BadEndpoint {
            which: "served",
            why,
        }),
        None => Ok(()),
    }
}

/// Why `addr` is reached only from its own host or link, if it is:
/// 127.0.0.0/8 and ::1 (loopback), 169.254.0.0/16 and fe80::/10
/// (link-local).
fn host_scoped(family: u8, addr: &Addr) -> Option<&'static str> {
    let loopback6 = addr[..15].iter().all(|&b| b == 0) && addr[15] == 1;
    match family {
        4 if addr[0] == 127 => Some("address is loopback"),
        4 if addr[0] == 169 && addr[1] == 254 => Some("address is link-local"),
        6 if loopback6 => Some("address is loopback"),
        6 if addr[0] == 0xfe && addr[1] & 0xc0 == 0x80 => Some("address is link-local"),
        _ => None,
    }
}

fn check_family(family: u8, addrs: &[&Addr]) -> Result<(), Error> {
    match family {
        6 => Ok(()),
        4 if addrs.iter().all(|a| a[4..].iter().all(|&b| b == 0)) => Ok(()),
        4 => Err(Error::BadAddress),
        f => Err(Error::BadFamily(f)),
    }
}

impl TcpState {
    /// Encoded length of version 1's fields.
    pub const LEN: usize = 8 + 4 * 18;

    /// How many received bytes await the application: `rcv_nxt -
    /// copied_seq`, less the FIN's sequence number in CLOSE_WAIT.
    pub fn unread_len(&self) -> u32 {
        let fin = u32::from(self.state == TCP_CLOSE_WAIT);
        self.rcv_nxt.wrapping_sub(self.copied_seq).wrapping_sub(fin)
    }

    /// Checks every field against the range TCP gives it, and the fields
    /// against each other: a blob that passes cannot make the kernel
    /// warn, wrap a computation, or hold a connection TCP could not have.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.state != TCP_ESTABLISHED && self.state != TCP_CLOSE_WAIT {
            return Err(Error::BadState(self.state));
        }
        if self.options & !opt::ALL != 0 {
            return Err(Error::UnknownOptions(self.options & !opt::ALL));
        }
        let has = |bit| self.options & bit != 0;
        if has(opt::TS_USEC) && !has(opt::TIMESTAMPS) {
            return Err(Error::Inconsistent(
                "microsecond timestamps without the timestamp option",
            ));
        }
        for scale in [self.snd_wscale, self.rcv_wscale] {
            if scale > MAX_WSCALE {
                return Err(Error::BadWindowScale(scale));
            }
        }
        if !has(opt::WSCALE) && (self.snd_wscale != 0 || self.rcv_wscale != 0) {
            return Err(Error::Inconsistent(
                "window scales without the window scale option",
            ));
        }
        if !(MSS_MIN..=MSS_MAX).contains(&self.mss_clamp) {
            return Err(Error::BadMss(self.mss_clamp));
        }
        let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
        let queued = self.write_seq.wrapping_sub(self.snd_una);
        if in_flight > queued || queued > MAX_QUEUE {
            return Err(Error::SequenceOrder);
        }
        // In CLOSE_WAIT the peer's FIN took a sequence number the
        // application has not read (capture counts it back in when the
        // owner already read end-of-file).
        let fin = u32::from(self.state == TCP_CLOSE_WAIT);
        let received = self.rcv_nxt.wrapping_sub(self.copied_seq);
        if received < fin || received > MAX_QUEUE + fin {
            return Err(Error::Inconsistent(
                "copied_seq is not within the received bytes",
            ));
        }
        range("snd_wnd", self.snd_wnd, 0, max_window(self.snd_wscale))?;
        range(
            "max_window",
            self.max_window,
            self.snd_wnd,
            max_window(self.snd_wscale),
        )?;
        // The kernel stores the window it computed before capping what it
        // advertises (tcp_select_window()), so rcv_wnd may exceed 65535 <<
        // rcv_wscale; never the largest window TCP has.
        range("rcv_wnd", self.rcv_wnd, 0, max_window(MAX_WSCALE))?;
        range(
            "window_clamp",
            self.window_clamp,
            MSS_MIN.into(),
            max_window(MAX_WSCALE),
        )?;
        if after(self.rcv_wup, self.rcv_nxt) {
            return Err(Error::Inconsistent("rcv_wup is after rcv_nxt"));
        }
        if after(self.snd_wl1, self.rcv_nxt.wrapping_add(self.rcv_wnd)) {
            return Err(Error::Inconsistent("snd_wl1 is after rcv_nxt + rcv_wnd"));
        }
        // tcp_snd_cwnd_set() warns on a window that is not a positive int.
        range("snd_cwnd", self.snd_cwnd, 1, i32::MAX as u32)?;
        // Reno never goes below 2, Vegas may reach 1; 0 is no state.
        range("snd_ssthresh", self.snd_ssthresh, 1, INFINITE_SSTHRESH)?;
        // The kernel keeps srtt and mdev scaled (8x and 4x) in u32s; an
        // RTT beyond the largest RTO would wrap its RTO computations.
        range("srtt_us", self.srtt_us, 0, RTO_MAX_US << 3)?;
        range("mdev_us", self.mdev_us, 0, RTO_MAX_US << 2)?;
        range("rto_us", self.rto_us, RTO_MIN_US, RTO_MAX_US)?;
        Ok(())
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.bytes(&[self.state, self.options, self.snd_wscale, self.rcv_wscale]);
        w.u16(self.mss_clamp);
        w.u16(0);
        for v in [
            self.snd_una,
            self.snd_nxt,
            self.write_seq,
            self.rcv_nxt,
            self.copied_seq,
            self.snd_wl1,
            self.snd_wnd,
            self.max_window,
            self.rcv_wnd,
            self.rcv_wup,
            self.window_clamp,
            self.ts_recent,
            self.ts_val,
            self.snd_cwnd,
            self.snd_ssthresh,
            self.srtt_us,
            self.mdev_us,
            self.rto_us,
        ] {
            w.u32(v);
        }
    }

    /// Reads version 1's fields; a longer section (a later version's
    /// additions) is accepted.
    pub(crate) fn read(body: &[u8]) -> Result<Self, Error> {
        let short = Error::SectionTooShort {
            kind: kind::TCP,
            len: body.len(),
            need: Self::LEN,
        };
        let mut r = Reader::new(body);
        let [state, options, snd_wscale, rcv_wscale] = r.array::<4>().ok_or(short)?;
        let mss_clamp = r.u16().ok_or(short)?;
        let _reserved = r.u16().ok_or(short)?;
        let mut next = || r.u32().ok_or(short);
        Ok(Self {
            state,
            options,
            snd_wscale,
            rcv_wscale,
            mss_clamp,
            snd_una: next()?,
            snd_nxt: next()?,
            write_seq: next()?,
            rcv_nxt: next()?,
            copied_seq: next()?,
            snd_wl1: next()?,
            snd_wnd: next()?,
            max_window: next()?,
            rcv_wnd: next()?,
            rcv_wup: next()?,
            window_clamp: next()?,
            ts_recent: next()?,
            ts_val: next()?,
            snd_cwnd: next()?,
            snd_ssthresh: next()?,
            srtt_us: next()?,
            mdev_us: next()?,
            rto_us: next()?,
        })
    }
}

impl IpState {
    pub const LEN: usize = 12 + 32;

    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_family(self.family, &[&self.local_addr, &self.remote_addr])?;
        check_endpoint(self.family, &self.local_addr, self.local_port, "local")?;
        check_endpoint(self.family, &self.remote_addr, self.remote_port, "remote")?;
        if self.family == 4 && self.flow_label != 0 {
            return Err(Error::Inconsistent("an IPv4 connection with a flow label"));
        }
        range("flow_label", self.flow_label, 0, 0xf_ffff)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.bytes(&[self.family, self.tos, self.ttl, 0]);
        w.u32(self.flow_label);
        w.u16(self.local_port);
        w.u16(self.remote_port);
        w.bytes(&self.local_addr);
        w.bytes(&self.remote_addr);
    }

    pub(crate) fn read(body: &[u8]) -> Result<Self, Error> {
        let short = Error::SectionTooShort {
            kind: kind::IP,
            len: body.len(),
            need: Self::LEN,
        };
        let mut r = Reader::new(body);
        let [family, tos, ttl, _] = r.array::<4>().ok_or(short)?;
        Ok(Self {
            family,
            tos,
            ttl,
            flow_label: r.u32().ok_or(short)?,
            local_port: r.u16().ok_or(short)?,
            remote_port: r.u16().ok_or(short)?,
            local_addr: r.array::<16>().ok_or(short)?,
            remote_addr: r.array::<16>().ok_or(short)?,
        })
    }
}

impl FlowMapping {
    pub const LEN: usize = 12 + 32;

    /// The mapping's bytes, as in a blob's FLOW section (and in the
    /// migrator's FLOW_END request).
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        self.write(&mut Writer::new(&mut out));
        out
    }

    /// Parses and checks the bytes of a mapping.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != Self::LEN {
            return Err(Error::SectionTooShort {
                kind: kind::FLOW,
                len: bytes.len(),
                need: Self::LEN,
            });
        }
        let flow = Self::read(bytes)?;
        flow.validate()?;
        Ok(flow)
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_family(self.family, &[&self.client_addr, &self.vip_addr])
    }

    /// Checks that a peer may hand this flow over: neither end is a
    /// loopback or link-local address, which only a host itself (or its
    /// link) reaches. A blob from a peer naming one would reach a
    /// back-end's loopback-only service "from 127.0.0.1".
    pub fn check_routable(&self) -> Result<(), Error> {
        for (which, addr) in [("client", &self.client_addr), ("vip", &self.vip_addr)] {
            if let Some(why) = host_scoped(self.family, addr) {
                return Err(Error::BadEndpoint { which, why });
            }
        }
        Ok(())
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.bytes(&[self.family, 0, 0, 0]);
        w.u32(self.flow_id);
        w.u16(self.client_port);
        w.u16(self.vip_port);
        w.bytes(&self.client_addr);
        w.bytes(&self.vip_addr);
    }

    pub(crate) fn read(body: &[u8]) -> Result<Self, Error> {
        let short = Error::SectionTooShort {
            kind: kind::FLOW,
            len: body.len(),
            need: Self::LEN,
        };
        let mut r = Reader::new(body);
        let [family, _, _, _] = r.array::<4>().ok_or(short)?;
        Ok(Self {
            family,
            flow_id: r.u32().ok_or(short)?,
            client_port: r.u16().ok_or(short)?,
            vip_port: r.u16().ok_or(short)?,
            client_addr: r.array::<16>().ok_or(short)?,
            vip_addr: r.array::<16>().ok_or(short)?,
        })
    }
}

/// A bounds-checked little-endian reader; every read returns `None`
/// rather than run past the end.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

/// A little-endian writer into a buffer sized in advance. Writes past
/// the end are dropped and remembered, never a panic.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            pos: 0,
            overflow: false,
        }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.pos..self.pos + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Writes a section header and a body of exactly `len` bytes.
    pub(crate) fn section(
        &mut self,
        kind: u16,
        flags: u16,
        len: usize,
        body: impl FnOnce(&mut Self),
    ) {
        self.u16(kind);
        self.u16(flags);
        self.u32(len as u32);
        let end = self.pos + len;
        body(self);
        if self.pos != end {
            self.overflow = true;
        }
    }

    /// True if every byte landed where the layout said and the buffer is full.
    pub(crate) fn is_exact(&self) -> bool {
        !self.overflow && self.pos == self.out.len()
    }
}

// The section header is type, flags and length.
const _: () = assert!(SECTION_HEADER_LEN == 2 + 2 + 4);
