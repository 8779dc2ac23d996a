//! A generic netlink client for the `tcpmig` family: one request, its
//! replies, and its acknowledgement, on a plain netlink socket.

use crate::error::Error;
use crate::uapi::{Cmd, FAMILY_NAME, FAMILY_VERSION};
use neli::{
    consts::{
        genl::{CtrlAttr, CtrlCmd},
        nl::{GenlId, NlmF},
        socket::NlFamily,
    },
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

pub struct Client {
    socket: NlSocketHandle,
    family: u16,
    seq: Cell<u32>,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl Client {
    /// Connects to the `tcpmig` family in the current network namespace.
    pub fn connect() -> Result<Self, Error> {
        let socket = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::Other(format!("cannot open a netlink socket: {e}")))?;
        socket.enable_ext_ack(true).ok();
        let mut client = Self {
            socket,
            family: 0,
            seq: Cell::new(0),
        };
        client.family = client.resolve_family()?;
        Ok(client)
    }

    fn resolve_family(&self) -> Result<u16, Error> {
        let name = attr(CtrlAttr::FamilyName, FAMILY_NAME)?;
        let replies =
            match self.transact(u16::from(GenlId::Ctrl), CtrlCmd::Getfamily, 2, vec![name]) {
                Err(Error::Kernel {
                    errno: libc::ENOENT,
                    ..
                }) => return Err(Error::NotLoaded),
                other => other?,
            };
        replies
            .iter()
            .flat_map(|p| p.attrs().iter())
            .find(|a| *a.nla_type().nla_type() == CtrlAttr::FamilyId)
            .and_then(|a| a.nla_payload().as_ref().try_into().ok())
            .map(u16::from_ne_bytes)
            .ok_or(Error::BadReply("no family id"))
    }

    /// Sends `cmd` with `attrs` and returns the reply's attributes (none
    /// for a command that only acknowledges).
    pub fn request<A>(&self, cmd: Cmd, attrs: &[(A, Vec<u8>)]) -> Result<Attrs, Error>
    where
        A: neli::consts::genl::NlAttrType + Debug,
        u16: From<A>,
    {
        let attrs = attrs
            .iter()
            .map(|(a, payload)| attr(*a, payload.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let replies = self.transact::<Cmd, A>(self.family, cmd, FAMILY_VERSION, attrs)?;
        Ok(replies
            .iter()
            .flat_map(|p| p.attrs().iter())
            .map(|a| {
                (
                    u16::from(*a.nla_type().nla_type()),
                    a.nla_payload().as_ref().to_vec(),
                )
            })
            .collect())
    }

    /// Sends one request with NLM_F_ACK; collects replies until the ack.
    fn transact<C, A>(
        &self,
        nl_type: u16,
        cmd: C,
        version: u8,
        attrs: Vec<neli::genl::Nlattr<A, Buffer>>,
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
        let msg = NlmsghdrBuilder::default()
            .nl_type(nl_type)
            .nl_flags(NlmF::REQUEST | NlmF::ACK)
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
                match msg.nl_payload() {
                    NlPayload::Payload(p) => replies.push(p.clone()),
                    NlPayload::Ack(_) => return Ok(replies),
                    NlPayload::Err(e) => {
                        let message = e
                            .ext_ack()
                            .iter()
                            .find(|a| u16::from(*a.nla_type().nla_type()) == NLMSGERR_ATTR_MSG)
                            .map(|a| {
                                String::from_utf8_lossy(a.nla_payload().as_ref())
                                    .trim_end_matches('\0')
                                    .to_string()
                            });
                        return Err(Error::Kernel {
                            errno: -*e.error(),
                            message,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
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

/// Looks up attribute `attr` in a reply.
pub fn find(attrs: &Attrs, attr: impl Into<u16>) -> Option<&[u8]> {
    let attr = attr.into();
    attrs
        .iter()
        .find(|(t, _)| *t == attr)
        .map(|(_, v)| v.as_slice())
}
