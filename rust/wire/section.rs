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

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.state != TCP_ESTABLISHED && self.state != TCP_CLOSE_WAIT {
            return Err(Error::BadState(self.state));
        }
        for scale in [self.snd_wscale, self.rcv_wscale] {
            if scale > 14 {
                return Err(Error::BadWindowScale(scale));
            }
        }
        if self.mss_clamp < 64 {
            return Err(Error::BadMss(self.mss_clamp));
        }
        let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
        let queued = self.write_seq.wrapping_sub(self.snd_una);
        if in_flight > queued {
            return Err(Error::SequenceOrder);
        }
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
        check_family(self.family, &[&self.local_addr, &self.remote_addr])
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

    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_family(self.family, &[&self.client_addr, &self.vip_addr])
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
