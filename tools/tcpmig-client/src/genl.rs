//! A generic netlink client for the `tcpmig` family, on a plain netlink
//! socket: a request and its reply and acknowledgement (`request`), or a
//! dump request and its multi-part replies up to NLMSG_DONE (`dump`).
//! `request` and `dump` are the raw layer the `tcpmig` CLI builds on;
//! applications want [`Client::migrate_fd`](crate::Client::migrate_fd).

use crate::error::Error;
use crate::uapi::{Cmd, FAMILY_NAME, FAMILY_VERSION, MCGRP_EVENTS};
use neli::{
    consts::{
        genl::{CtrlAttr, CtrlCmd},
        nl::{GenlId, NlmF, Nlmsg, NlmsgerrAttr},
        socket::NlFamily,
    },
    err::SocketError,
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader},
    nl::{NlPayload, NlmsghdrBuilder},
    socket::synchronous::NlSocketHandle,
    types::{Buffer, GenlBuffer},
    utils::Groups,
    ToBytes,
};
use std::cell::Cell;
use std::fmt::Debug;

/// The attributes of a reply, by type, in order.
pub type Attrs = Vec<(u16, Vec<u8>)>;

/// The extack attribute carrying the kernel's message.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// How the kernel answers a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At most one reply, then an acknowledgement (NLM_F_ACK).
    Do,
    /// Any number of multi-part replies, then NLMSG_DONE (NLM_F_DUMP).
    Dump,
}

/// A netlink socket bound to the `tcpmig` family of the calling thread's
/// network namespace. One request at a time (it is `!Sync`).
pub struct Client {
    socket: NlSocketHandle,
    family: u16,
    /// The `events` multicast group's id, as the family's lookup said.
    events: Option<u32>,
    seq: Cell<u32>,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl Client {
    /// Connects to the `tcpmig` family in the current network namespace.
    pub fn connect() -> Result<Self, Error> {
        let mut client = Self::open()?;
        (client.family, client.events) = client.resolve_family()?;
        Ok(client)
    }

    /// Opens a generic netlink socket, its family not yet resolved.
    fn open() -> Result<Self, Error> {
        let socket = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::Other(format!("cannot open a netlink socket: {e}")))?;
        socket.enable_ext_ack(true).ok();
        Ok(Self {
            socket,
            family: 0,
            events: None,
            seq: Cell::new(0),
        })
    }

    /// The family's id and its `events` group's.
    fn resolve_family(&self) -> Result<(u16, Option<u32>), Error> {
        let name = attr(CtrlAttr::FamilyName, FAMILY_NAME)?;
        let replies = match self.transact(
            u16::from(GenlId::Ctrl),
            CtrlCmd::Getfamily,
            2,
            vec![name],
            Mode::Do,
        ) {
            Err(Error::Kernel {
                errno: libc::ENOENT,
                ..
            }) => return Err(Error::NotLoaded),
            other => other?,
        };
        let attrs = || replies.iter().flat_map(|p| p.attrs().iter());
        let family = attrs()
            .find(|a| *a.nla_type().nla_type() == CtrlAttr::FamilyId)
            .and_then(|a| a.nla_payload().as_ref().try_into().ok())
            .map(u16::from_ne_bytes)
            .ok_or(Error::BadReply("no family id"))?;
        let events = attrs()
            .find(|a| *a.nla_type().nla_type() == CtrlAttr::McastGroups)
            .and_then(|a| mcast_group(a.nla_payload().as_ref(), MCGRP_EVENTS));
        Ok((family, events))
    }

    /// Joins the family's `events` group: [`next_event`](Self::next_event)
    /// then returns what happens in this namespace.
    pub fn subscribe_events(&self) -> Result<(), Error> {
        let group = self
            .events
            .ok_or(Error::BadReply("the family has no events group"))?;
        match self
            .socket
            .add_mcast_membership(Groups::new_groups(&[group]))
        {
            Ok(()) => Ok(()),
            // The group is the namespace admin's (it shows connections).
            Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::EPERM) => {
                Err(Error::Kernel {
                    errno: libc::EPERM,
                    message: Some("to join this namespace's events".into()),
                })
            }
            Err(e) => Err(other(e)),
        }
    }

    /// Waits for the next event of the `events` group; its attributes.
    pub fn next_event(&self) -> Result<Attrs, Error> {
        loop {
            let (messages, _) = self
                .socket
                .recv::<u16, Genlmsghdr<Cmd, u16>>()
                .map_err(other)?;
            for msg in messages {
                let msg = msg.map_err(other)?;
                if let NlPayload::Payload(p) = msg.nl_payload() {
                    if *p.cmd() == Cmd::EventNtf {
                        return Ok(p
                            .attrs()
                            .iter()
                            .map(|a| (*a.nla_type().nla_type(), a.nla_payload().as_ref().to_vec()))
                            .collect());
                    }
                }
            }
        }
    }

    /// Sends `cmd` with `attrs` and returns the reply's attributes (none
    /// for a command that only acknowledges).
    pub fn request<A>(&self, cmd: Cmd, attrs: &[(A, Vec<u8>)]) -> Result<Attrs, Error>
    where
        A: neli::consts::genl::NlAttrType + Debug,
        u16: From<A>,
    {
        let replies = self.send(cmd, attrs, Mode::Do)?;
        Ok(replies.into_iter().flatten().collect())
    }

    /// Sends `cmd` with `attrs` as a dump request and returns each reply's
    /// attributes: one entry per object the kernel listed.
    pub fn dump<A>(&self, cmd: Cmd, attrs: &[(A, Vec<u8>)]) -> Result<Vec<Attrs>, Error>
    where
        A: neli::consts::genl::NlAttrType + Debug,
        u16: From<A>,
    {
        self.send(cmd, attrs, Mode::Dump)
    }

    fn send<A>(&self, cmd: Cmd, attrs: &[(A, Vec<u8>)], mode: Mode) -> Result<Vec<Attrs>, Error>
    where
        A: neli::consts::genl::NlAttrType + Debug,
        u16: From<A>,
    {
        let attrs = attrs
            .iter()
            .map(|(a, payload)| attr(*a, payload.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let replies = self.transact::<Cmd, A>(self.family, cmd, FAMILY_VERSION, attrs, mode)?;
        Ok(replies
            .iter()
            .map(|p| {
                p.attrs()
                    .iter()
                    .map(|a| {
                        (
                            u16::from(*a.nla_type().nla_type()),
                            a.nla_payload().as_ref().to_vec(),
                        )
                    })
                    .collect()
            })
            .collect())
    }

    /// Sends one request; collects replies until its ack (`Mode::Do`) or
    /// NLMSG_DONE (`Mode::Dump`).
    fn transact<C, A>(
        &self,
        nl_type: u16,
        cmd: C,
        version: u8,
        attrs: Vec<neli::genl::Nlattr<A, Buffer>>,
        mode: Mode,
    ) -> Result<Vec<Genlmsghdr<C, A>>, Error>
    where
        C: neli::consts::genl::Cmd + Debug,
        A: neli::consts::genl::NlAttrType + Debug,
    {
        let genl = GenlmsghdrBuilder::<C, A, NoUserHeader>::default()
            .cmd(cmd)
            .version(version)
            .attrs(attrs.into_iter().collect::<GenlBuffer<A, Buffer>>())
            .build()
            .map_err(other)?;
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        // A dump ends with NLMSG_DONE, which carries any error; the kernel
        // sends no ack after it.
        let flags = match mode {
            Mode::Do => NlmF::REQUEST | NlmF::ACK,
            Mode::Dump => NlmF::REQUEST | NlmF::DUMP,
        };
        let msg = NlmsghdrBuilder::default()
            .nl_type(nl_type)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(genl))
            .build()
            .map_err(other)?;
        self.socket.send(&msg).map_err(other)?;

        let mut replies = Vec::new();
        loop {
            let (messages, _) = self.socket.recv::<u16, Genlmsghdr<C, A>>().map_err(other)?;
            for msg in messages {
                let msg = msg.map_err(other)?;
                if *msg.nl_seq() != seq {
                    continue;
                }
                if msg.nl_flags().contains(NlmF::DUMP_INTR) {
                    return Err(Error::Other(
                        "the list changed while it was being read; try again".into(),
                    ));
                }
                match msg.nl_payload() {
                    NlPayload::Payload(p) => replies.push(p.clone()),
                    NlPayload::Ack(_) => return Ok(replies),
                    NlPayload::DumpExtAck(e) if *e.error() == 0 => return Ok(replies),
                    NlPayload::DumpExtAck(e) => return Err(kernel_error(*e.error(), e.ext_ack())),
                    NlPayload::Empty if *msg.nl_type() == u16::from(Nlmsg::Done) => {
                        return Ok(replies)
                    }
                    NlPayload::Err(e) => return Err(kernel_error(*e.error(), e.ext_ack())),
                    _ => {}
                }
            }
        }
    }
}

/// The kernel's refusal: its errno and the message its extack carries.
fn kernel_error(error: libc::c_int, ext_ack: &GenlBuffer<NlmsgerrAttr, Buffer>) -> Error {
    let message = ext_ack
        .iter()
        .find(|a| u16::from(*a.nla_type().nla_type()) == NLMSGERR_ATTR_MSG)
        .map(|a| {
            String::from_utf8_lossy(a.nla_payload().as_ref())
                .trim_end_matches('\0')
                .to_string()
        });
    Error::Kernel {
        errno: -error,
        message,
    }
}

/// The id of the multicast group `name` in a CTRL_ATTR_MCAST_GROUPS
/// payload: nested entries of (CTRL_ATTR_MCAST_GRP_NAME, _ID).
fn mcast_group(nested: &[u8], name: &str) -> Option<u32> {
    let mut want = name.as_bytes().to_vec();
    want.push(0);
    nlas(nested).find_map(|(_, group)| {
        let mut found = (false, None);
        for (ty, value) in nlas(group) {
            match ty {
                CTRL_ATTR_MCAST_GRP_NAME => found.0 = value == want.as_slice(),
                CTRL_ATTR_MCAST_GRP_ID => found.1 = value.try_into().ok().map(u32::from_ne_bytes),
                _ => {}
            }
        }
        match found {
            (true, id) => id,
            _ => None,
        }
    })
}

const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

/// The netlink attributes in `bytes`: (type, payload), each 4-aligned.
fn nlas(mut bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?));
        let ty = u16::from_ne_bytes(bytes.get(2..4)?.try_into().ok()?) & 0x3fff;
        let payload = bytes.get(4..len)?;
        bytes = bytes.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some((ty, payload))
    })
}

/// Builds one attribute.
fn attr<A, P>(nla_type: A, payload: P) -> Result<neli::genl::Nlattr<A, Buffer>, Error>
where
    A: neli::consts::genl::NlAttrType,
    P: neli::Size + ToBytes,
{
    let nla_type = AttrTypeBuilder::default()
        .nla_type(nla_type)
        .build()
        .map_err(other)?;
    NlattrBuilder::default()
        .nla_type(nla_type)
        .nla_payload(payload)
        .build()
        .map_err(other)
}

/// An integer attribute of `N` bytes of a reply; `what` names it in the
/// error if it is missing or of the wrong size.
pub fn int<const N: usize>(
    attrs: &Attrs,
    attr: impl Into<u16>,
    what: &'static str,
) -> Result<[u8; N], Error> {
    find(attrs, attr)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::BadReply(what))
}

/// A `u64` attribute of a reply, as [`int`] reads it.
pub fn u64_of(attrs: &Attrs, attr: impl Into<u16>, what: &'static str) -> Result<u64, Error> {
    int(attrs, attr, what).map(u64::from_ne_bytes)
}

/// Looks up attribute `attr` in a reply.
pub fn find(attrs: &Attrs, attr: impl Into<u16>) -> Option<&[u8]> {
    let attr = attr.into();
    attrs
        .iter()
        .find(|(t, _)| *t == attr)
        .map(|(_, v)| v.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dump path against a family every kernel has: `nlctrl` lists
    /// the generic netlink families, itself among them, in multi-part
    /// replies ended by NLMSG_DONE. Needs no privilege.
    #[test]
    fn mcast_groups_parse() {
        // Two groups: "other" id 7, "events" id 9.
        let nla = |ty: u16, payload: &[u8]| {
            let mut out = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
            out.extend_from_slice(&ty.to_ne_bytes());
            out.extend_from_slice(payload);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out
        };
        let group = |name: &str, id: u32| {
            let mut inner = nla(1, format!("{name}\0").as_bytes());
            inner.extend(nla(2, &id.to_ne_bytes()));
            inner
        };
        let mut nested = nla(1, &group("other", 7));
        nested.extend(nla(2, &group("events", 9)));
        assert_eq!(mcast_group(&nested, "events"), Some(9));
        assert_eq!(mcast_group(&nested, "other"), Some(7));
        assert_eq!(mcast_group(&nested, "none"), None);
        assert_eq!(mcast_group(&nested[..5], "events"), None);
    }

    #[test]
    fn dump_reads_until_done() {
        let client = Client::open().unwrap_or_else(|e| panic!("{e}"));
        let ctrl = u16::from(GenlId::Ctrl);
        let families = client
            .transact::<CtrlCmd, CtrlAttr>(ctrl, CtrlCmd::Getfamily, 2, Vec::new(), Mode::Dump)
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = families
            .iter()
            .flat_map(|f| f.attrs().iter())
            .filter(|a| *a.nla_type().nla_type() == CtrlAttr::FamilyName)
            .map(|a| {
                String::from_utf8_lossy(a.nla_payload().as_ref())
                    .trim_end_matches('\0')
                    .to_string()
            })
            .collect();
        assert!(names.iter().any(|n| n == "nlctrl"), "{names:?}");
        // The socket is still in step: a do request after the dump works.
        let again = client
            .transact::<CtrlCmd, CtrlAttr>(
                ctrl,
                CtrlCmd::Getfamily,
                2,
                vec![attr(CtrlAttr::FamilyName, "nlctrl").unwrap_or_else(|e| panic!("{e}"))],
                Mode::Do,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.len(), 1);
    }

    /// A refusal carries the kernel's errno (and extack message, if any).
    #[test]
    fn refusals_carry_the_errno() {
        let client = Client::open().unwrap_or_else(|e| panic!("{e}"));
        let name = attr(CtrlAttr::FamilyName, "tcpmig-no-such").unwrap_or_else(|e| panic!("{e}"));
        let reply = client.transact::<CtrlCmd, CtrlAttr>(
            u16::from(GenlId::Ctrl),
            CtrlCmd::Getfamily,
            2,
            vec![name],
            Mode::Do,
        );
        match reply {
            Err(Error::Kernel { errno, .. }) => assert_eq!(errno, libc::ENOENT),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("found a family that does not exist"),
        }
    }
}
