// SPDX-License-Identifier: GPL-2.0

//! Generic netlink: the `tcpmig` family, requests and messages.
//!
//! The family, its policies and its split ops are C, generated from
//! `Documentation/netlink/specs/tcpmig.yaml` by the kernel's YNL generator
//! into `rust/generated/tcpmig_nl_gen.c` (`scripts/ynl-gen`). The ops call
//! `tcpmig_nl_<op>_doit`, which `genl_doit!` defines as a trampoline into a
//! safe Rust handler taking a [`Request`].

use super::bindings;
use super::net::Net;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::ffi::c_void;
use kernel::prelude::*;

/// Whether anyone in `net` listens to multicast group `group`.
pub(crate) fn has_listeners(net: &Net, group: u32) -> bool {
    // SAFETY: `net` is live; the family is registered while the module is.
    unsafe { bindings::tcpmig_genl_has_listeners(net.as_ptr(), group) }
}

/// Attribute and command numbers of the family (its uapi header).
pub(crate) mod uapi {
    pub(crate) use super::bindings::*;
    #[cfg(any())]
    pub(crate) use super::bindings::{
        TCPMIG_A_CONFIG_MIGRATOR_PORT, TCPMIG_A_CONN_BLOB, TCPMIG_A_CONN_BLOB_FD,
        TCPMIG_A_CONN_BLOB_LEN, TCPMIG_A_CONN_LOCAL_ADDR, TCPMIG_A_CONN_LOCAL_PORT,
        TCPMIG_A_CONN_REMOTE_ADDR, TCPMIG_A_CONN_REMOTE_PORT, TCPMIG_A_STATUS_DROPPED_PACKETS,
        TCPMIG_A_STATUS_FROZEN_FLOWS, TCPMIG_A_STATUS_HELD_BYTES, TCPMIG_A_STATUS_HELD_PACKETS,
        TCPMIG_A_STATUS_MAX, TCPMIG_A_STATUS_MIGRATOR_PORT, TCPMIG_A_STATUS_NETNS_COOKIE,
        TCPMIG_A_STATUS_PAD, TCPMIG_CMD_CONN_CAPTURE, TCPMIG_CMD_STATUS_GET,
    };
}

#[doc(hidden)]
pub(crate) type RawSkb = bindings::sk_buff;
#[doc(hidden)]
pub(crate) type RawInfo = bindings::genl_info;

/// Defines the C entry point `$name` of a doit op as a call of the safe
/// handler `$handler: fn(&Request<'_>) -> Result`.
macro_rules! genl_doit {
    ($name:ident => $handler:path) => {
        /// The op's entry point for the genetlink core.
        ///
        /// # Safety
        ///
        /// `info` is a valid `genl_info` for the duration of the call.
        #[no_mangle]
        unsafe extern "C" fn $name(
            _skb: *mut $crate::sys::genl::RawSkb,
            info: *mut $crate::sys::genl::RawInfo,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The genetlink core calls doit ops with a valid
            // `genl_info` that outlives the call.
            let request = unsafe { $crate::sys::genl::Request::from_raw(info) };
            match $handler(&request) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }
    };
}
pub(crate) use genl_doit;

#[doc(hidden)]
pub(crate) type RawCallback = bindings::netlink_callback;

/// Defines the C entry point `$name` of a dumpit op as a call of the safe
/// handler `$handler: fn(&mut Dump<'_>) -> Result`.
macro_rules! genl_dumpit {
    ($name:ident => $handler:path) => {
        /// The op's entry point for the genetlink core.
        ///
        /// # Safety
        ///
        /// `skb` and `cb` are valid for the duration of the call.
        #[no_mangle]
        unsafe extern "C" fn $name(
            skb: *mut $crate::sys::genl::RawSkb,
            cb: *mut $crate::sys::genl::RawCallback,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The netlink core calls dumpit ops with a valid skb and callback.
            let mut dump = unsafe { $crate::sys::genl::Dump::from_raw(skb, cb) };
            match $handler(&mut dump) {
                Ok(()) => dump.finish(),
                Err(e) => e.to_errno(),
            }
        }
    };
}
pub(crate) use genl_dumpit;

/// One call of a dump: fills one skb with entries from a cursor on; the
/// core calls again until a call adds nothing.
pub(crate) struct Dump<'a> {
    skb: NonNull<bindings::sk_buff>,
    cb: NonNull<bindings::netlink_callback>,
    added: bool,
    _p: PhantomData<&'a ()>,
}

impl<'a> Dump<'a> {
    /// # Safety
    ///
    /// `skb` and `cb` are a dumpit call's arguments, valid for `'a`.
    pub(crate) unsafe fn from_raw(
        skb: *mut bindings::sk_buff,
        cb: *mut bindings::netlink_callback,
    ) -> Self {
        Self {
            // SAFETY: The core passes non-null pointers.
            skb: unsafe { NonNull::new_unchecked(skb) },
            // SAFETY: As above.
            cb: unsafe { NonNull::new_unchecked(cb) },
            added: false,
            _p: PhantomData,
        }
    }

    /// The namespace of the requesting socket, alive for the call.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: The callback's skb belongs to a socket in a live namespace.
        unsafe { Net::from_raw(bindings::tcpmig_genl_dump_net(self.cb.as_ptr())) }
    }

    /// Where the previous call of this dump stopped (0 at first).
    pub(crate) fn cursor(&self) -> usize {
        // SAFETY: `cb` is valid; `args` is scratch space owned by the dump.
        unsafe { *bindings::tcpmig_genl_dump_args(self.cb.as_ptr()) as usize }
    }

    /// Adds one entry of command `cmd`, filled by `fill`; `Ok(false)` if it
    /// does not fit (the cursor stays, the next call resumes there).
    pub(crate) fn entry(
        &mut self,
        cmd: u32,
        fill: impl FnOnce(&mut Builder) -> Result,
    ) -> Result<bool> {
        let cmd = u8::try_from(cmd).map_err(|_| EINVAL)?;
        // SAFETY: `skb` is the dump's message buffer; the family is registered.
        let hdr =
            unsafe { bindings::tcpmig_genl_dump_put(self.skb.as_ptr(), self.cb.as_ptr(), cmd) };
        let Some(hdr) = NonNull::new(hdr) else {
            return self.full();
        };
        let mut builder = Builder { skb: self.skb, hdr };
        match fill(&mut builder) {
            Ok(()) => {
                builder.end();
                self.added = true;
                // SAFETY: `cb` is valid; the cursor is ours.
                unsafe { *bindings::tcpmig_genl_dump_args(self.cb.as_ptr()) += 1 };
                Ok(true)
            }
            Err(e) => {
                // SAFETY: `hdr` was just put into `skb`.
                unsafe { bindings::tcpmig_genlmsg_cancel(self.skb.as_ptr(), hdr.as_ptr()) };
                if e == EMSGSIZE {
                    self.full()
                } else {
                    Err(e)
                }
            }
        }
    }

    fn full(&self) -> Result<bool> {
        // An entry that fits in no message would stall the dump.
        if self.added {
            Ok(false)
        } else {
            Err(EMSGSIZE)
        }
    }

    /// What the dumpit op returns: the bytes added (0 ends the dump).
    pub(crate) fn finish(&self) -> kernel::ffi::c_int {
        // SAFETY: `skb` is valid.
        unsafe { bindings::tcpmig_skb_len(self.skb.as_ptr()) as kernel::ffi::c_int }
    }
}

/// The registered `tcpmig` family; dropping it unregisters the family,
/// after waiting for the requests in flight.
pub(crate) struct FamilyRegistration(());

/// Registers the `tcpmig` family.
pub(crate) fn register_family() -> Result<FamilyRegistration> {
    // SAFETY: The generated family is a valid static; only the genetlink
    // core writes it, while registered.
    to_result(unsafe { bindings::genl_register_family(&raw mut bindings::tcpmig_nl_family) })?;
    Ok(FamilyRegistration(()))
}

impl Drop for FamilyRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered by `register_family`, which made this value.
        unsafe { bindings::genl_unregister_family(&raw const bindings::tcpmig_nl_family) };
    }
}

/// The attributes of a parsed message, indexed by attribute type.
pub(crate) struct Attrs<'a> {
    table: &'a [*mut bindings::nlattr],
}

impl Attrs<'_> {
    fn get(&self, attr: u32) -> Option<*const bindings::nlattr> {
        let nla = *self.table.get(usize::try_from(attr).ok()?)?;
        (!nla.is_null()).then_some(nla.cast_const())
    }

    /// A `u16` attribute's value, if present with exactly 2 bytes. The
    /// length is checked here, not trusted to the op's policy.
    pub(crate) fn u16(&self, attr: u32) -> Option<u16> {
        Some(u16::from_ne_bytes(self.bytes(attr)?.try_into().ok()?))
    }

    /// A `u8` attribute's value.
    pub(crate) fn u8(&self, attr: u32) -> Option<u8> {
        match self.bytes(attr)? {
            [v] => Some(*v),
            _ => None,
        }
    }

    /// A string attribute's bytes, up to its NUL (which the policy of
    /// an `NLA_NUL_STRING` requires).
    pub(crate) fn string(&self, attr: u32) -> Option<&[u8]> {
        let bytes = self.bytes(attr)?;
        let end = bytes.iter().position(|&c| c == 0)?;
        Some(&bytes[..end])
    }

    /// A big-endian `u16` attribute's value, in host order.
    pub(crate) fn be16(&self, attr: u32) -> Option<u16> {
        self.u16(attr).map(u16::from_be)
    }

    /// A binary attribute's payload.
    pub(crate) fn bytes(&self, attr: u32) -> Option<&[u8]> {
        self.get(attr).map(|nla| {
            // SAFETY: A parsed attribute's payload is `nla_len` valid
            // bytes inside the request, which outlives `self`.
            unsafe {
                let len = bindings::tcpmig_nla_len(nla).max(0) as usize;
                core::slice::from_raw_parts(bindings::tcpmig_nla_data(nla).cast::<u8>(), len)
            }
        })
    }

    /// A `u32` attribute's value, if present with exactly 4 bytes.
    pub(crate) fn u32(&self, attr: u32) -> Option<u32> {
        Some(u32::from_ne_bytes(self.bytes(attr)?.try_into().ok()?))
    }

    /// A `u64` attribute's value, if present with exactly 8 bytes.
    #[cfg_attr(not(CONFIG_KUNIT), expect(dead_code))]
    pub(crate) fn u64(&self, attr: u32) -> Option<u64> {
        Some(u64::from_ne_bytes(self.bytes(attr)?.try_into().ok()?))
    }
}

/// A request being handled by a doit op.
///
/// # Invariants
///
/// `info` is the core's valid `genl_info` for the lifetime `'a`.
pub(crate) struct Request<'a> {
    info: NonNull<bindings::genl_info>,
    _info: PhantomData<&'a bindings::genl_info>,
}

impl<'a> Request<'a> {
    /// # Safety
    ///
    /// `info` is valid for `'a`.
    #[doc(hidden)]
    pub(crate) unsafe fn from_raw(info: *mut bindings::genl_info) -> Self {
        // INVARIANT: By the caller's guarantee; the core never passes NULL.
        Self {
            // SAFETY: The core passes a non-null `info`.
            info: unsafe { NonNull::new_unchecked(info) },
            _info: PhantomData,
        }
    }

    fn info(&self) -> &'a bindings::genl_info {
        // SAFETY: By the type invariant.
        unsafe { self.info.as_ref() }
    }

    /// The namespace of the requesting socket.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: A request's namespace outlives its handling.
        unsafe { Net::from_raw(bindings::tcpmig_genl_info_net(self.info())) }
    }

    /// The request's attributes, checked against the op's policy.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        let info = self.info();
        // SAFETY: `info` is valid; the shim reads its family's op table.
        let len = unsafe { bindings::tcpmig_genl_info_attrs_len(info) } as usize;
        let table = if len == 0 {
            &[][..]
        } else {
            // SAFETY: The core parsed the request into `attrs`, an array
            // of the op's `maxattr + 1` entries, which outlives the request.
            unsafe { core::slice::from_raw_parts(info.attrs, len) }
        };
        Attrs { table }
    }

    /// Tells the requester why the request failed, in words made now:
    /// "`msg`: `detail`", cut to what extack holds (80 bytes).
    pub(crate) fn set_error_detail(&self, msg: &CStr, detail: &impl kernel::fmt::Display) {
        let mut text = MessageText::new();
        // A message cut short is still a message: ignore the overflow.
        let _ = kernel::fmt::Write::write_fmt(
            &mut text,
            fmt!("{}: {}", msg.to_str().unwrap_or("?"), detail),
        );
        let buf = text.finish();
        // SAFETY: `buf` is a NUL-terminated string; the shim copies it
        // into the extack's own buffer.
        unsafe { bindings::tcpmig_genl_set_err_msg_copy(self.info.as_ptr(), buf.as_ptr()) };
    }

    /// Tells the requester why the request failed (netlink extack).
    pub(crate) fn set_error_message(&self, msg: &'static CStr) {
        // SAFETY: `msg` is static, as extack requires.
        unsafe { bindings::tcpmig_genl_set_err_msg(self.info.as_ptr(), msg.as_char_ptr()) };
    }
}

/// Text for an extack message: at most 79 bytes and a NUL.
struct MessageText {
    buf: [u8; 80],
    len: usize,
}

impl MessageText {
    fn new() -> Self {
        Self {
            buf: [0; 80],
            len: 0,
        }
    }

    /// The text, NUL-terminated.
    fn finish(&mut self) -> &[u8] {
        self.buf[self.len] = 0;
        &self.buf[..=self.len]
    }
}

impl kernel::fmt::Write for MessageText {
    fn write_str(&mut self, s: &str) -> kernel::fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(kernel::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Room for a few small attributes (the kernel's NLMSG_GOODSIZE is about
/// a page; this is plenty for status replies).
const DEFAULT_PAYLOAD: usize = 1024;

/// A `tcpmig` message being built; freed on drop unless sent.
pub(crate) struct Message {
    builder: Builder,
}

impl core::ops::Deref for Message {
    type Target = Builder;

    fn deref(&self) -> &Builder {
        &self.builder
    }
}

impl core::ops::DerefMut for Message {
    fn deref_mut(&mut self) -> &mut Builder {
        &mut self.builder
    }
}

/// The attributes of a message being built, in a buffer someone else owns.
pub(crate) struct Builder {
    skb: NonNull<bindings::sk_buff>,
    hdr: NonNull<c_void>,
}

impl Message {
    fn with_header(cmd: u32, portid: u32, seq: u32, payload: usize) -> Result<Self> {
        let cmd = u8::try_from(cmd).map_err(|_| EINVAL)?;
        // SAFETY: Allocates a fresh skb or returns NULL.
        let skb = NonNull::new(unsafe { bindings::tcpmig_genlmsg_new(payload) }).ok_or(ENOMEM)?;
        // SAFETY: `skb` is a fresh message with room for a header; the
        // family is registered while its ops run.
        let hdr = unsafe {
            bindings::genlmsg_put(
                skb.as_ptr(),
                portid,
                seq,
                &raw const bindings::tcpmig_nl_family,
                0,
                cmd,
            )
        };
        match NonNull::new(hdr) {
            Some(hdr) => Ok(Self {
                builder: Builder { skb, hdr },
            }),
            None => {
                // SAFETY: Not shared yet; this is its last use.
                unsafe { bindings::tcpmig_nlmsg_free(skb.as_ptr()) };
                Err(EMSGSIZE)
            }
        }
    }

    /// Starts the reply to `request`, with room for a few attributes.
    pub(crate) fn reply(request: &Request<'_>, cmd: u32) -> Result<Self> {
        Self::reply_sized(request, cmd, DEFAULT_PAYLOAD)
    }

    /// Starts the reply to `request`, with room for `payload` bytes of
    /// attributes.
    pub(crate) fn reply_sized(request: &Request<'_>, cmd: u32, payload: usize) -> Result<Self> {
        let info = request.info();
        Self::with_header(cmd, info.snd_portid, info.snd_seq, payload)
    }

    /// Starts a message addressed to nobody: a notification, or a test's.
    pub(crate) fn new(cmd: u32) -> Result<Self> {
        Self::with_header(cmd, 0, 0, DEFAULT_PAYLOAD)
    }

    /// Sends the message as the reply to `request`.
    pub(crate) fn send_reply(mut self, request: &Request<'_>) -> Result {
        self.end();
        let skb = self.skb.as_ptr();
        core::mem::forget(self);
        // SAFETY: `genlmsg_reply` takes over `skb`, sent or not.
        to_result(unsafe { bindings::tcpmig_genlmsg_reply(skb, request.info.as_ptr()) })
    }

    /// Sends the message to the listeners of multicast group `group` in
    /// `net`.
    pub(crate) fn multicast(mut self, net: &Net, group: u32) -> Result {
        self.end();
        let skb = self.skb.as_ptr();
        core::mem::forget(self);
        // SAFETY: `net` is live; the multicast takes over `skb`, sent or not.
        let err = unsafe { bindings::tcpmig_genl_multicast(net.as_ptr(), skb, group) };
        // Nobody listening is not an error.
        if err == ESRCH.to_errno() {
            return Ok(());
        }
        to_result(err)
    }

    /// Finishes the message and parses it back, as a receiver would (tests).
    #[cfg_attr(not(CONFIG_KUNIT), expect(dead_code))]
    pub(crate) fn parse<R>(mut self, f: impl FnOnce(&Attrs<'_>) -> R) -> Result<R> {
        self.end();
        let mut table = [core::ptr::null_mut(); uapi::TCPMIG_A_STATUS_MAX as usize + 1];
        // SAFETY: `skb` holds one finished message; `table` has room for
        // `MAX + 1` entries.
        to_result(unsafe {
            bindings::tcpmig_nla_parse_reply(
                table.as_mut_ptr(),
                uapi::TCPMIG_A_STATUS_MAX as i32,
                self.skb.as_ptr(),
            )
        })?;
        Ok(f(&Attrs { table: &table }))
    }
}

impl Builder {
    fn put(&mut self, attr: u32, value: &[u8]) -> Result {
        let attr = i32::try_from(attr).map_err(|_| EINVAL)?;
        // SAFETY: `skb` is ours; `value` is valid for its length (<= 8).
        let err = unsafe {
            bindings::nla_put(
                self.skb.as_ptr(),
                attr,
                value.len() as i32,
                value.as_ptr().cast(),
            )
        };
        to_result(err)
    }

    /// Adds a binary attribute.
    pub(crate) fn put_bytes(&mut self, attr: u32, value: &[u8]) -> Result {
        let attr = i32::try_from(attr).map_err(|_| EINVAL)?;
        let len = i32::try_from(value.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` is ours; `value` is valid for `len` bytes.
        to_result(unsafe { bindings::nla_put(self.skb.as_ptr(), attr, len, value.as_ptr().cast()) })
    }

    /// Adds a `u8` attribute.
    pub(crate) fn put_u8(&mut self, attr: u32, value: u8) -> Result {
        self.put(attr, &[value])
    }

    /// Adds a string attribute: `value` and a NUL.
    pub(crate) fn put_string(&mut self, attr: u32, value: &[u8]) -> Result {
        let mut buf = [0u8; 64];
        if value.len() >= buf.len() {
            return Err(EMSGSIZE);
        }
        buf[..value.len()].copy_from_slice(value);
        self.put_bytes(attr, &buf[..value.len() + 1])
    }

    /// Adds a `u32` attribute.
    pub(crate) fn put_u32(&mut self, attr: u32, value: u32) -> Result {
        self.put(attr, &value.to_ne_bytes())
    }

    /// Adds a `u16` attribute.
    pub(crate) fn put_u16(&mut self, attr: u32, value: u16) -> Result {
        self.put(attr, &value.to_ne_bytes())
    }

    /// Adds a `u64` attribute of the `status` set, 8-byte aligned with
    /// its pad attribute.
    pub(crate) fn put_u64(&mut self, attr: u32, value: u64) -> Result {
        self.put_u64_padded(attr, value, uapi::TCPMIG_A_STATUS_PAD)
    }

    /// Adds a `u64` attribute, 8-byte aligned with the pad attribute `pad`
    /// of its set.
    pub(crate) fn put_u64_padded(&mut self, attr: u32, value: u64, pad: u32) -> Result {
        let attr = i32::try_from(attr).map_err(|_| EINVAL)?;
        let bytes = value.to_ne_bytes();
        // SAFETY: `skb` is ours; `bytes` is valid for 8 bytes.
        let err = unsafe {
            bindings::nla_put_64bit(
                self.skb.as_ptr(),
                attr,
                8,
                bytes.as_ptr().cast(),
                pad as i32,
            )
        };
        to_result(err)
    }

    fn end(&mut self) {
        // SAFETY: `hdr` was put into `skb` by `with_header`.
        unsafe { bindings::tcpmig_genlmsg_end(self.skb.as_ptr(), self.hdr.as_ptr()) };
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        // SAFETY: The skb is still ours (`send_reply` forgets `self`).
        unsafe { bindings::tcpmig_nlmsg_free(self.skb.as_ptr()) };
    }
}
