// SPDX-License-Identifier: GPL-2.0

//! `service-add`, `service-del` and `service-get`: the dispatcher's
//! services, each a virtual address and port the module listens on.

use super::{addr, dump_state, put_addr, run};
use crate::dispatch::service::{Config, Fallback};
use crate::error::Failure;
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Attrs, Dump, Request};
use crate::sys::sock::Endpoint;
use kernel::prelude::*;

genl_doit!(tcpmig_nl_service_add_doit => service_add);
genl_doit!(tcpmig_nl_service_del_doit => service_del);
genl_dumpit!(tcpmig_nl_service_get_dumpit => service_get);

/// Defaults of a new service.
const DEFAULT_FIRST_BYTES_MS: u32 = 2_000;
const DEFAULT_MAX_BYTES: u32 = 4_096;
const DEFAULT_MAX_PENDING: u32 = 128;

/// The service address named by `addr` and `port` attributes (the port
/// in host order).
pub(super) fn vip(attrs: &Attrs<'_>, addr_attr: u32, port: u32) -> Result<Endpoint, Failure> {
    let (family, addr) = addr(attrs, addr_attr, c"missing service address")?;
    let port = attrs.u16(port).ok_or((EINVAL, c"missing service port"))?;
    Ok(Endpoint { family, addr, port })
}

/// The service a service command names.
fn service_vip(attrs: &Attrs<'_>) -> Result<Endpoint, Failure> {
    vip(
        attrs,
        uapi::TCPMIG_A_SERVICE_ADDR,
        uapi::TCPMIG_A_SERVICE_PORT,
    )
}

fn service_add(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = service_vip(&attrs)?;
        let local_port = attrs.u16(uapi::TCPMIG_A_SERVICE_LOCAL_PORT);
        let fallback = match attrs.u8(uapi::TCPMIG_A_SERVICE_FALLBACK).map(u32::from) {
            None | Some(uapi::tcpmig_fallback_TCPMIG_FALLBACK_RESET) => Fallback::Reset,
            Some(uapi::tcpmig_fallback_TCPMIG_FALLBACK_LOCAL) => match local_port {
                Some(port) if port != 0 && port != vip.port => Fallback::Local(port),
                _ => {
                    return Err((
                        EINVAL,
                        c"the local fallback needs a local-port other than the service's",
                    )
                        .into())
                }
            },
            Some(_) => return Err((EINVAL, c"unknown fallback").into()),
        };
        let reset_silent = match attrs.u8(uapi::TCPMIG_A_SERVICE_SILENT).map(u32::from) {
            None | Some(uapi::tcpmig_silent_TCPMIG_SILENT_DEFAULT) => false,
            Some(uapi::tcpmig_silent_TCPMIG_SILENT_RESET) => true,
            Some(_) => return Err((EINVAL, c"unknown silent-client setting").into()),
        };
        // The policy bounds the three.
        let config = Config {
            timeout_ms: attrs
                .u32(uapi::TCPMIG_A_SERVICE_TIMEOUT_MS)
                .unwrap_or(DEFAULT_FIRST_BYTES_MS),
            max_bytes: attrs
                .u32(uapi::TCPMIG_A_SERVICE_MAX_BYTES)
                .unwrap_or(DEFAULT_MAX_BYTES),
            max_pending: attrs
                .u32(uapi::TCPMIG_A_SERVICE_MAX_PENDING)
                .unwrap_or(DEFAULT_MAX_PENDING),
            fallback,
            reset_silent,
        };
        state.dispatch().add(request.net(), vip, config)
    })
}

fn service_del(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = service_vip(&attrs)?;
        state.dispatch().remove(&vip)
    })
}

fn service_get(dump: &mut Dump<'_>) -> Result {
    let dispatch = dump_state(dump)?.dispatch();
    loop {
        let cursor = dump.cursor();
        let added = dispatch.with_nth(cursor, |s| {
            dump.entry(uapi::TCPMIG_CMD_SERVICE_GET, |msg| {
                let c = &s.config;
                let pad = uapi::TCPMIG_A_SERVICE_PAD;
                put_addr(msg, uapi::TCPMIG_A_SERVICE_ADDR, s.vip.family, &s.vip.addr)?;
                msg.put_u16(uapi::TCPMIG_A_SERVICE_PORT, s.vip.port)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_TIMEOUT_MS, c.timeout_ms)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_MAX_BYTES, c.max_bytes)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_MAX_PENDING, c.max_pending)?;
                let (fallback, port) = match c.fallback {
                    Fallback::Reset => (uapi::tcpmig_fallback_TCPMIG_FALLBACK_RESET, 0),
                    Fallback::Local(port) => (uapi::tcpmig_fallback_TCPMIG_FALLBACK_LOCAL, port),
                };
                msg.put_u8(uapi::TCPMIG_A_SERVICE_FALLBACK, fallback as u8)?;
                if port != 0 {
                    msg.put_u16(uapi::TCPMIG_A_SERVICE_LOCAL_PORT, port)?;
                }
                let silent = if c.reset_silent {
                    uapi::tcpmig_silent_TCPMIG_SILENT_RESET
                } else {
                    uapi::tcpmig_silent_TCPMIG_SILENT_DEFAULT
                };
                msg.put_u8(uapi::TCPMIG_A_SERVICE_SILENT, silent as u8)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_PENDING, s.pending())?;
                let n = &s.counters;
                for (attr, counter) in [
                    (uapi::TCPMIG_A_SERVICE_ACCEPTED, &n.connections),
                    (uapi::TCPMIG_A_SERVICE_MIGRATED, &n.migrated),
                    (uapi::TCPMIG_A_SERVICE_FALLBACKS, &n.fallbacks),
                    (uapi::TCPMIG_A_SERVICE_TIMEOUTS, &n.timeouts),
                    (uapi::TCPMIG_A_SERVICE_OVERFLOWS, &n.overflows),
                    (uapi::TCPMIG_A_SERVICE_FAILURES, &n.failures),
                ] {
                    msg.put_u64_padded(attr, counter.get(), pad)?;
                }
                Ok(())
            })
        });
        match added {
            None | Some(Ok(false)) => break,
            Some(Ok(true)) => {}
            Some(Err(e)) => return Err(e),
        }
    }
    Ok(())
}
