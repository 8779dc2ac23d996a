// SPDX-License-Identifier: GPL-2.0

//! The `tcpmig` generic netlink family
//! (`Documentation/netlink/specs/tcpmig.yaml`): one file per object.
//!
//! Every command acts on the namespace of the requesting socket. This
//! room is the only one that speaks attribute numbers: the handlers turn
//! attributes into domain values, call the domain, and turn its answer
//! (or its [`Failure`], into extack) back into attributes.

mod conn;
mod flow;
mod peer;
mod pool;
mod rule;
mod service;
mod status;

use crate::blob::Reason;
use crate::dispatch::Name;
use crate::error::Failure;
use crate::netns::NetState;
use crate::sys::genl::{Attrs, Builder, Dump, Request};
use crate::sys::sock::Family;
use kernel::prelude::*;

/// Runs the body of a command on the requester's namespace; its failure
/// becomes the reply's errno and extack message.
fn run(request: &Request<'_>, body: impl FnOnce(&NetState) -> Result<(), Failure>) -> Result {
    let state = NetState::of(request.net()).ok_or_else(|| fail(request, Failure::unloading()))?;
    body(state).map_err(|f| fail(request, f))
}

/// The namespace a dump lists. A dump has no extack to explain with: the
/// namespace only lacks state while the module loads or unloads.
fn dump_state<'a>(dump: &Dump<'a>) -> Result<&'a NetState> {
    NetState::of(dump.net()).ok_or(ENODEV)
}

/// Reports a failure to the requester: its message in extack (with the
/// decoder's reason for a refused blob, or the peer's), its errno.
fn fail(request: &Request<'_>, failure: Failure) -> Error {
    match (failure.blob, failure.peer) {
        (Some(reason), _) => request.set_error_detail(failure.msg, &Reason(reason)),
        (None, Some(reason)) => request.set_error_detail(failure.msg, &*reason),
        (None, None) => request.set_error_message(failure.msg),
    }
    failure.errno
}

/// An address attribute, 4 or 16 bytes; `missing` says which one lacks.
fn addr(
    attrs: &Attrs<'_>,
    attr: u32,
    missing: &'static CStr,
) -> Result<(Family, [u8; 16]), Failure> {
    let bytes = attrs.bytes(attr).ok_or((EINVAL, missing))?;
    let family =
        Family::from_addr_len(bytes.len()).ok_or((EINVAL, c"an address is 4 or 16 bytes"))?;
    let mut addr = [0; 16];
    addr[..bytes.len()].copy_from_slice(bytes);
    Ok((family, addr))
}

/// Puts an address of `family` as an attribute of its own length.
fn put_addr(msg: &mut Builder, attr: u32, family: Family, addr: &[u8; 16]) -> Result {
    msg.put_bytes(attr, &addr[..family.addr_len()])
}

/// A peer's or a pool's name attribute; `missing` says which one lacks.
fn name(attrs: &Attrs<'_>, attr: u32, missing: &'static CStr) -> Result<Name, Failure> {
    attrs
        .string(attr)
        .and_then(Name::new)
        .ok_or((EINVAL, missing).into())
}
