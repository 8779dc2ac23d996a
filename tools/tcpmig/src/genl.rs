//! A generic netlink client for the `tcpmig` family.

use crate::error::Error;
use crate::uapi::{Attr, Cmd, FAMILY_NAME, FAMILY_VERSION};
use neli::{
    consts::{
        nl::{GenlId, NlmF},
        socket::NlFamily,
    },
    err::RouterError,
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader},
    nl::NlPayload,
    router::synchronous::NlRouter,
    types::{Buffer, GenlBuffer},
    utils::Groups,
};

/// The attributes of a reply, by type, in order.
pub type Attrs = Vec<(u16, Vec<u8>)>;

pub struct Client {
    router: NlRouter,
    family: u16,
}

impl Client {
    /// Connects to the `tcpmig` family in the current network namespace.
    pub fn connect() -> Result<Self, Error> {
        let (router, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::Other(format!("cannot open a netlink socket: {e}")))?;
        router.enable_ext_ack(true).ok();
        let family = router
            .resolve_genl_family(FAMILY_NAME)
            .map_err(|_| Error::NotLoaded)?;
        Ok(Self { router, family })
    }

    /// Sends `cmd` with `attrs` and returns the reply's attributes (none
    /// for a command that only acknowledges).
    pub fn request(&self, cmd: Cmd, attrs: &[(Attr, Vec<u8>)]) -> Result<Attrs, Error> {
        let mut buffer = GenlBuffer::<Attr, Buffer>::new();
        for (attr, payload) in attrs {
            let nla_type = AttrTypeBuilder::default()
                .nla_type(*attr)
                .build()
                .map_err(|e| Error::Other(e.to_string()))?;
            let nla = NlattrBuilder::default()
                .nla_type(nla_type)
                .nla_payload(payload.clone())
                .build()
                .map_err(|e| Error::Other(e.to_string()))?;
            buffer.push(nla);
        }
        let msg = GenlmsghdrBuilder::<Cmd, Attr, NoUserHeader>::default()
            .cmd(cmd)
            .version(FAMILY_VERSION)
            .attrs(buffer)
            .build()
            .map_err(|e| Error::Other(e.to_string()))?;
        let replies = self
            .router
            .send::<_, _, GenlId, Genlmsghdr<Cmd, Attr>>(
                self.family,
                NlmF::ACK,
                NlPayload::Payload(msg),
            )
            .map_err(kernel_error)?;

        let mut out = Attrs::new();
        for reply in replies {
            let reply = reply.map_err(kernel_error)?;
            if let Some(payload) = reply.get_payload() {
                for attr in payload.attrs().iter() {
                    out.push((
                        u16::from(*attr.nla_type().nla_type()),
                        attr.nla_payload().as_ref().to_vec(),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Turns a netlink error into the kernel's errno and extack message.
fn kernel_error<T, P>(e: RouterError<T, P>) -> Error
where
    RouterError<T, P>: std::fmt::Display,
{
    match e {
        RouterError::Nlmsgerr(err) => {
            let message = err
                .ext_ack()
                .iter()
                .find(|a| u16::from(*a.nla_type().nla_type()) == 1)
                .map(|a| {
                    String::from_utf8_lossy(a.nla_payload().as_ref())
                        .trim_end_matches('\0')
                        .to_string()
                });
            Error::Kernel {
                errno: -*err.error(),
                message,
            }
        }
        other => Error::Other(other.to_string()),
    }
}

/// Looks up attribute `attr` in a reply.
pub fn find(attrs: &Attrs, attr: Attr) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(t, _)| *t == u16::from(attr))
        .map(|(_, v)| v.as_slice())
}
