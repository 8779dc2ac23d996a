//! The wire between `repair-mig front` and `repair-mig target`: one
//! record per moved connection (front to target), one ack per record
//! (target to front), on one TCP connection. Decoding trusts nothing:
//! any input is refused or accepted, never a panic.
//!
//! Every message is a frame: a big-endian `u32` length, then that many
//! bytes of body (at most `MAX_FRAME`). Bodies, integers big-endian:
//!
//! ```text
//! record                           ack
//!   u8   kind = 1                    u8   kind = 2
//!   u8   version = 1                 u8   version = 1
//!   u64  id                          u64  id (of the record)
//!   u8   family: 4 or 6              i32  status: 0 or an errno (> 0)
//!   4|16 local address, u16 port
//!   4|16 client address, u16 port
//!   u32  send_seq      (snd_una)
//!   u32  recv_seq      (copied_seq)
//!   u32  unsent        (tail of the send queue never sent)
//!   u16  mss           (the clamp)
//!   u8   options: 1 SACK, 2 timestamps, 4 window scaling
//!   u8   snd_wscale, u8 rcv_wscale (0 without scaling)
//!   u32  timestamp     (TCP_TIMESTAMP)
//!   u32  snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
//!   u32  receive queue length, its bytes
//!   u32  send queue length, its bytes
//! ```

use crate::repair::{Conn, MAX_WSCALE};
use crate::sys::TcpRepairWindow;
use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The largest body accepted: the queues of one connection, with
/// socket buffers raised to tens of megabytes, fit.
pub const MAX_FRAME: usize = 256 << 20;

const KIND_RECORD: u8 = 1;
const KIND_ACK: u8 = 2;
const VERSION: u8 = 1;

const OPT_SACK: u8 = 1;
const OPT_TIMESTAMPS: u8 = 2;
const OPT_WSCALE: u8 = 4;

/// One connection to rebuild, tagged so that its ack finds its sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    pub conn: Conn,
}

/// The target's answer to a record: 0 (rebuilt and handed over) or the
/// errno of the step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    pub id: u64,
    pub status: i32,
}

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed message: {}", self.0)
    }
}

impl From<Malformed> for io::Error {
    fn from(m: Malformed) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, m.to_string())
    }
}

/// Reads one frame's body; `None` on a clean end of stream between
/// frames. The body is read as it comes, so a hostile length costs no
/// more memory than the bytes actually sent.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(Malformed("frame too long").into());
    }
    let mut body = Vec::new();
    r.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body))
}

/// A frame around `body`.
fn frame(body: Vec<u8>) -> io::Result<Vec<u8>> {
    if body.len() > MAX_FRAME {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    Ok(out)
}

fn put_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend(a.octets()),
        IpAddr::V6(a) => out.extend(a.octets()),
    }
}

fn put_queue(out: &mut Vec<u8>, queue: &[u8]) -> io::Result<()> {
    let len =
        u32::try_from(queue.len()).map_err(|_| io::Error::from_raw_os_error(libc::EMSGSIZE))?;
    out.extend(len.to_be_bytes());
    out.extend(queue);
    Ok(())
}

impl Record {
    /// The whole frame of a record of `c` tagged `id` (no `Record` needs
    /// to own a copy of the queues). Fails (EMSGSIZE, EAFNOSUPPORT) for
    /// a connection this format cannot carry.
    pub fn frame(id: u64, c: &Conn) -> io::Result<Vec<u8>> {
        let family = match (c.local, c.peer) {
            (SocketAddr::V4(_), SocketAddr::V4(_)) => 4,
            (SocketAddr::V6(_), SocketAddr::V6(_)) => 6,
            _ => return Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
        };
        let mut b = vec![KIND_RECORD, VERSION];
        b.extend(id.to_be_bytes());
        b.push(family);
        for addr in [c.local, c.peer] {
            put_ip(&mut b, addr.ip());
            b.extend(addr.port().to_be_bytes());
        }
        for v in [c.send_seq, c.recv_seq, c.unsent] {
            b.extend(v.to_be_bytes());
        }
        b.extend(c.mss.to_be_bytes());
        let mut opts = 0;
        opts |= if c.sack { OPT_SACK } else { 0 };
        opts |= if c.timestamps { OPT_TIMESTAMPS } else { 0 };
        opts |= if c.wscale.is_some() { OPT_WSCALE } else { 0 };
        let (snd, rcv) = c.wscale.unwrap_or((0, 0));
        b.extend([opts, snd, rcv]);
        b.extend(c.timestamp.to_be_bytes());
        let w = &c.window;
        for v in [w.snd_wl1, w.snd_wnd, w.max_window, w.rcv_wnd, w.rcv_wup] {
            b.extend(v.to_be_bytes());
        }
        put_queue(&mut b, &c.recv_queue)?;
        put_queue(&mut b, &c.send_queue)?;
        frame(b)
    }

    /// Parses a body `read_frame` returned.
    pub fn decode(body: &[u8]) -> Result<Self, Malformed> {
        let mut r = Cursor(body);
        r.header(KIND_RECORD)?;
        let id = r.u64()?;
        let v6 = match r.u8()? {
            4 => false,
            6 => true,
            _ => return Err(Malformed("family is neither 4 nor 6")),
        };
        let local = r.addr(v6)?;
        let peer = r.addr(v6)?;
        let (send_seq, recv_seq, unsent) = (r.u32()?, r.u32()?, r.u32()?);
        let mss = r.u16()?;
        let opts = r.u8()?;
        let (snd, rcv) = (r.u8()?, r.u8()?);
        if opts & !(OPT_SACK | OPT_TIMESTAMPS | OPT_WSCALE) != 0 {
            return Err(Malformed("unknown option bits"));
        }
        let wscale = if opts & OPT_WSCALE != 0 {
            if snd > MAX_WSCALE || rcv > MAX_WSCALE {
                return Err(Malformed("window scale above 14"));
            }
            Some((snd, rcv))
        } else if (snd, rcv) != (0, 0) {
            return Err(Malformed("window scales without window scaling"));
        } else {
            None
        };
        let timestamp = r.u32()?;
        let window = TcpRepairWindow {
            snd_wl1: r.u32()?,
            snd_wnd: r.u32()?,
            max_window: r.u32()?,
            rcv_wnd: r.u32()?,
            rcv_wup: r.u32()?,
        };
        let recv_queue = r.queue()?;
        let send_queue = r.queue()?;
        if unsent as usize > send_queue.len() {
            return Err(Malformed("more unsent bytes than the send queue holds"));
        }
        r.end()?;
        let conn = Conn {
            local,
            peer,
            send_seq,
            recv_seq,
            unsent,
            mss,
            sack: opts & OPT_SACK != 0,
            timestamps: opts & OPT_TIMESTAMPS != 0,
            wscale,
            timestamp,
            window,
            recv_queue,
            send_queue,
        };
        Ok(Self { id, conn })
    }

    /// The id of a record body too broken to decode, if that much of it
    /// is there: the target still answers it.
    pub fn id_of(body: &[u8]) -> Option<u64> {
        let mut r = Cursor(body);
        r.header(KIND_RECORD).ok()?;
        r.u64().ok()
    }
}

impl Ack {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![KIND_ACK, VERSION];
        b.extend(self.id.to_be_bytes());
        b.extend(self.status.to_be_bytes());
        let mut out = (b.len() as u32).to_be_bytes().to_vec();
        out.extend(b);
        out
    }

    pub fn decode(body: &[u8]) -> Result<Self, Malformed> {
        let mut r = Cursor(body);
        r.header(KIND_ACK)?;
        let id = r.u64()?;
        let status = r.u32()? as i32;
        if status < 0 {
            return Err(Malformed("negative status"));
        }
        r.end()?;
        Ok(Self { id, status })
    }
}

/// Reads a body front to back; every read checks the length first.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        self.array().map(u64::from_be_bytes)
    }

    fn header(&mut self, kind: u8) -> Result<(), Malformed> {
        if self.u8()? != kind {
            return Err(Malformed("wrong kind"));
        }
        if self.u8()? != VERSION {
            return Err(Malformed("unknown version"));
        }
        Ok(())
    }

    fn addr(&mut self, v6: bool) -> Result<SocketAddr, Malformed> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))
        };
        Ok(SocketAddr::new(ip, self.u16()?))
    }

    fn queue(&mut self) -> Result<Vec<u8>, Malformed> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(local: &str, peer: &str) -> Conn {
        Conn {
            local: local.parse().unwrap(),
            peer: peer.parse().unwrap(),
            send_seq: 0xdead_beef,
            recv_seq: 0xffff_fff0,
            unsent: 3,
            mss: 1460,
            sack: true,
            timestamps: true,
            wscale: Some((7, 14)),
            timestamp: 0x1234_5679,
            window: TcpRepairWindow {
                snd_wl1: 1,
                snd_wnd: 2,
                max_window: 3,
                rcv_wnd: 4,
                rcv_wup: 5,
            },
            recv_queue: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
            send_queue: b"hello".to_vec(),
        }
    }

    fn record() -> Record {
        Record {
            id: 42,
            conn: conn("192.0.2.100:80", "198.51.100.7:40000"),
        }
    }

    fn body(r: &Record) -> Vec<u8> {
        Record::frame(r.id, &r.conn).unwrap()[4..].to_vec()
    }

    #[test]
    fn record_round_trips() {
        let r = record();
        let frame = Record::frame(r.id, &r.conn).unwrap();
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
        assert_eq!(Record::decode(&frame[4..]).unwrap(), r);
        let mut v6 = record();
        v6.conn = conn("[2001:db8::100]:443", "[2001:db8::7]:1");
        v6.conn.wscale = None;
        v6.conn.sack = false;
        v6.conn.recv_queue.clear();
        assert_eq!(Record::decode(&body(&v6)).unwrap(), v6);
    }

    #[test]
    fn record_bytes_are_as_documented() {
        let mut r = record();
        r.conn.recv_queue = b"ab".to_vec();
        r.conn.send_queue = b"xyz".to_vec();
        let b = body(&r);
        assert_eq!(&b[..10], &[1, 1, 0, 0, 0, 0, 0, 0, 0, 42]);
        assert_eq!(b[10], 4);
        assert_eq!(&b[11..17], &[192, 0, 2, 100, 0, 80]);
        assert_eq!(&b[17..23], &[198, 51, 100, 7, 0x9c, 0x40]);
        assert_eq!(&b[23..27], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&b[35..37], &1460u16.to_be_bytes());
        assert_eq!(&b[37..40], &[7, 7, 14]);
        assert_eq!(&b[64..70], &[0, 0, 0, 2, b'a', b'b']);
        assert_eq!(&b[70..], &[0, 0, 0, 3, b'x', b'y', b'z']);
    }

    #[test]
    fn every_truncation_is_refused() {
        let b = body(&record());
        for cut in 0..b.len() {
            assert!(Record::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let a = Ack { id: 7, status: 0 }.encode();
        for cut in 0..a.len() - 4 {
            assert!(Ack::decode(&a[4..4 + cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn hostile_fields_are_refused() {
        let good = body(&record());
        let with = |at: usize, v: &[u8]| {
            let mut b = good.clone();
            b[at..at + v.len()].copy_from_slice(v);
            Record::decode(&b)
        };
        assert_eq!(with(0, &[2]), Err(Malformed("wrong kind")));
        assert_eq!(with(1, &[9]), Err(Malformed("unknown version")));
        assert!(with(10, &[5]).is_err());
        assert!(with(10, &[6]).is_err());
        assert_eq!(with(37, &[8]), Err(Malformed("unknown option bits")));
        assert_eq!(with(38, &[15]), Err(Malformed("window scale above 14")));
        assert_eq!(
            with(37, &[3]),
            Err(Malformed("window scales without window scaling"))
        );
        // unsent: more than the 5 bytes of send queue.
        assert_eq!(
            with(31, &[0, 0, 0, 6]),
            Err(Malformed("more unsent bytes than the send queue holds"))
        );
        // A queue length past the end, and the largest one.
        assert_eq!(with(64, &[0, 0, 1, 0]), Err(Malformed("truncated")));
        assert_eq!(with(64, &[0xff; 4]), Err(Malformed("truncated")));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(Record::decode(&long), Err(Malformed("trailing bytes")));
        assert_eq!(Record::id_of(&good[..10]), Some(42));
        assert_eq!(Record::id_of(&good[..9]), None);
    }

    #[test]
    fn garbage_never_panics() {
        // A fixed-seed xorshift: every length, many contents.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..400 {
            for _ in 0..20 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let _ = Record::decode(&b);
                let _ = Ack::decode(&b);
                let _ = read_frame(&mut b.as_slice());
            }
        }
    }

    #[test]
    fn ack_round_trips_and_refuses_a_negative_status() {
        let a = Ack { id: 9, status: 111 };
        let f = a.encode();
        assert_eq!(f[..4], [0, 0, 0, 14]);
        assert_eq!(Ack::decode(&f[4..]), Ok(a));
        let mut bad = f[4..].to_vec();
        bad[10] = 0x80;
        assert_eq!(Ack::decode(&bad), Err(Malformed("negative status")));
        assert_eq!(Ack::decode(&body(&record())), Err(Malformed("wrong kind")));
    }

    #[test]
    fn frames() {
        let a = Ack { id: 1, status: 0 }.encode();
        let mut two = a.clone();
        two.extend(&a);
        let mut r = two.as_slice();
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), a[4..]);
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), a[4..]);
        assert!(read_frame(&mut r).unwrap().is_none());
        // Cut inside the length, inside the body; a length too large.
        assert!(read_frame(&mut &a[..2]).is_err());
        assert!(read_frame(&mut &a[..7]).is_err());
        assert!(read_frame(&mut &[0x7f, 0xff, 0xff, 0xff, 0][..]).is_err());
    }
}
