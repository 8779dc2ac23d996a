// SPDX-License-Identifier: GPL-2.0

//! The dispatcher's generic netlink commands: services, rules, pools.

use super::pool::{parse_members, Policy, PoolConfig};
use super::rule::{Kind, Rule, MAX_RULES};
use super::service::{Config, Fallback};
use super::Name;
use crate::error::Failure;
use crate::netlink::fail;
use crate::netns::NetState;
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Attrs, Builder, Dump, Request};
use crate::sys::sock::{Endpoint, Family};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

genl_doit!(tcpmig_nl_service_add_doit => service_add);
genl_doit!(tcpmig_nl_service_del_doit => service_del);
genl_dumpit!(tcpmig_nl_service_get_dumpit => service_get);
genl_doit!(tcpmig_nl_rule_add_doit => rule_add);
genl_doit!(tcpmig_nl_rule_del_doit => rule_del);
genl_dumpit!(tcpmig_nl_rule_get_dumpit => rule_get);
genl_doit!(tcpmig_nl_pool_add_doit => pool_add);
genl_doit!(tcpmig_nl_pool_set_doit => pool_set);
genl_doit!(tcpmig_nl_pool_del_doit => pool_del);
genl_dumpit!(tcpmig_nl_pool_get_dumpit => pool_get);

/// Defaults of a new service.
const DEFAULT_TIMEOUT_MS: u32 = 2_000;
const DEFAULT_MAX_BYTES: u32 = 4_096;

fn load(v: &AtomicU64) -> u64 {
    v.load(Ordering::Relaxed)
}

/// Runs a command body; its failure becomes the reply's error message.
fn run(request: &Request<'_>, body: impl FnOnce(&NetState) -> Result<(), Failure>) -> Result {
    let state = NetState::of(request.net()).ok_or(ENODEV)?;
    body(state).map_err(|f| fail(request, f))
}

/// The service address named by `addr` and `port` attributes.
fn vip(attrs: &Attrs<'_>, addr: u32, port: u32) -> Result<Endpoint, Failure> {
    let bytes = attrs
        .bytes(addr)
        .ok_or((EINVAL, c"missing service address"))?;
    let family =
        Family::from_addr_len(bytes.len()).ok_or((EINVAL, c"an address is 4 or 16 bytes"))?;
    let mut vip = Endpoint {
        family,
        addr: [0; 16],
        port: attrs.u16(port).ok_or((EINVAL, c"missing service port"))?,
    };
    vip.addr
        .get_mut(..bytes.len())
        .ok_or((EINVAL, c"bad address"))?
        .copy_from_slice(bytes);
    Ok(vip)
}

fn name(attrs: &Attrs<'_>, attr: u32, what: &'static CStr) -> Result<Name, Failure> {
    attrs
        .string(attr)
        .and_then(Name::new)
        .ok_or((EINVAL, what).into())
}

fn service_add(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = vip(
            &attrs,
            uapi::TCPMIG_A_SERVICE_ADDR,
            uapi::TCPMIG_A_SERVICE_PORT,
        )?;
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
        // The policy bounds both.
        let config = Config {
            timeout_ms: attrs
                .u32(uapi::TCPMIG_A_SERVICE_TIMEOUT_MS)
                .unwrap_or(DEFAULT_TIMEOUT_MS),
            max_bytes: attrs
                .u32(uapi::TCPMIG_A_SERVICE_MAX_BYTES)
                .unwrap_or(DEFAULT_MAX_BYTES),
            fallback,
            reset_silent,
        };
        state.dispatch().add(request.net(), vip, config)
    })
}

fn service_del(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = vip(
            &attrs,
            uapi::TCPMIG_A_SERVICE_ADDR,
            uapi::TCPMIG_A_SERVICE_PORT,
        )?;
        state.dispatch().remove(&vip)
    })
}

fn put_addr(msg: &mut Builder, attr: u32, at: &Endpoint) -> Result {
    let len = if at.family == Family::V4 { 4 } else { 16 };
    msg.put_bytes(attr, at.addr.get(..len).unwrap_or(&[]))
}

fn service_get(dump: &mut Dump<'_>) -> Result {
    loop {
        let state = NetState::of(dump.net()).ok_or(ENODEV)?;
        let cursor = dump.cursor();
        let added = state.dispatch().with_nth(cursor, |s| {
            dump.entry(uapi::TCPMIG_CMD_SERVICE_GET, |msg| {
                let c = &s.config;
                let pad = uapi::TCPMIG_A_SERVICE_PAD;
                put_addr(msg, uapi::TCPMIG_A_SERVICE_ADDR, &s.vip)?;
                msg.put_u16(uapi::TCPMIG_A_SERVICE_PORT, s.vip.port)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_TIMEOUT_MS, c.timeout_ms)?;
                msg.put_u32(uapi::TCPMIG_A_SERVICE_MAX_BYTES, c.max_bytes)?;
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
                for (attr, v) in [
                    (uapi::TCPMIG_A_SERVICE_ACCEPTED, &n.accepted),
                    (uapi::TCPMIG_A_SERVICE_MIGRATED, &n.migrated),
                    (uapi::TCPMIG_A_SERVICE_FALLBACKS, &n.fallbacks),
                    (uapi::TCPMIG_A_SERVICE_TIMEOUTS, &n.timeouts),
                    (uapi::TCPMIG_A_SERVICE_OVERFLOWS, &n.overflows),
                    (uapi::TCPMIG_A_SERVICE_FAILURES, &n.failures),
                ] {
                    msg.put_u64_padded(attr, load(v), pad)?;
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

/// The service a rule command names.
fn rule_service(attrs: &Attrs<'_>) -> Result<Endpoint, Failure> {
    vip(
        attrs,
        uapi::TCPMIG_A_RULE_SERVICE_ADDR,
        uapi::TCPMIG_A_RULE_SERVICE_PORT,
    )
}

fn rule_add(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = rule_service(&attrs)?;
        let kind = attrs
            .u8(uapi::TCPMIG_A_RULE_KIND)
            .and_then(Kind::from_raw)
            .ok_or((EINVAL, c"missing or unknown rule kind"))?;
        let pool = name(&attrs, uapi::TCPMIG_A_RULE_POOL, c"missing pool name")?;
        let rule = Rule::new(
            kind,
            attrs.bytes(uapi::TCPMIG_A_RULE_PATTERN).unwrap_or(&[]),
            attrs.string(uapi::TCPMIG_A_RULE_METHOD).unwrap_or(&[]),
            (
                attrs.u32(uapi::TCPMIG_A_RULE_HASH_N).unwrap_or(0),
                attrs.u32(uapi::TCPMIG_A_RULE_HASH_M).unwrap_or(0),
            ),
            pool,
        )
        .map_err(Failure::from)?;
        let rule = Arc::new(rule, GFP_KERNEL).map_err(|_| (ENOMEM, c"out of memory"))?;
        let index = attrs.u32(uapi::TCPMIG_A_RULE_INDEX);
        let dispatch = state.dispatch();
        let mut outcome = Ok(());
        let exists = dispatch.pools().while_exists(&pool, || {
            outcome = add_rule(dispatch, &vip, index, rule);
            Ok(())
        });
        exists.map_err(|_| Failure::from((ENOENT, c"no pool of that name")))?;
        outcome
    })
}

/// Puts `rule` at `index` (the end when absent) of the service on `vip`.
fn add_rule(
    dispatch: &super::Dispatcher,
    vip: &Endpoint,
    index: Option<u32>,
    rule: Arc<Rule>,
) -> Result<(), Failure> {
    dispatch.with_service(vip, |service| {
        service.change_rules(|rules| {
            if rules.len() >= MAX_RULES {
                return Err((ENOSPC, c"a service has at most 64 rules").into());
            }
            let at = index.map_or(rules.len(), |i| i as usize);
            if at > rules.len() {
                return Err((ERANGE, c"index beyond the end of the rules").into());
            }
            rules
                .push(rule, GFP_KERNEL)
                .map_err(|_| (ENOMEM, c"out of memory"))?;
            if let Some(tail) = rules.get_mut(at..) {
                tail.rotate_right(1);
            }
            Ok(())
        })
    })
}

fn rule_del(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let vip = rule_service(&attrs)?;
        let index = attrs
            .u32(uapi::TCPMIG_A_RULE_INDEX)
            .ok_or((EINVAL, c"missing rule index"))? as usize;
        state.dispatch().with_service(&vip, |service| {
            service.change_rules(|rules| {
                if index >= rules.len() {
                    return Err((ENOENT, c"no rule at that index").into());
                }
                rules
                    .remove(index)
                    .map(drop)
                    .map_err(|_| (ENOENT, c"no rule at that index").into())
            })
        })
    })
}

/// Lists every service's rules; the cursor counts rules over all
/// services in order.
fn rule_get(dump: &mut Dump<'_>) -> Result {
    let state = NetState::of(dump.net()).ok_or(ENODEV)?;
    let mut seen = 0;
    let mut service = 0;
    while let Some((vip, rules)) = state.dispatch().with_nth(service, |s| (s.vip, s.rules())) {
        for (index, rule) in rules.iter().enumerate() {
            if seen < dump.cursor() {
                seen += 1;
                continue;
            }
            let added = dump.entry(uapi::TCPMIG_CMD_RULE_GET, |msg| {
                fill_rule(msg, &vip, index as u32, rule)
            })?;
            if !added {
                return Ok(());
            }
            seen += 1;
        }
        service += 1;
    }
    Ok(())
}

fn fill_rule(msg: &mut Builder, vip: &Endpoint, index: u32, rule: &Rule) -> Result {
    let pad = uapi::TCPMIG_A_RULE_PAD;
    put_addr(msg, uapi::TCPMIG_A_RULE_SERVICE_ADDR, vip)?;
    msg.put_u16(uapi::TCPMIG_A_RULE_SERVICE_PORT, vip.port)?;
    msg.put_u32(uapi::TCPMIG_A_RULE_INDEX, index)?;
    msg.put_u8(uapi::TCPMIG_A_RULE_KIND, rule.kind.raw())?;
    if !rule.pattern.is_empty() {
        msg.put_bytes(uapi::TCPMIG_A_RULE_PATTERN, &rule.pattern)?;
    }
    if !rule.method.is_empty() {
        msg.put_string(uapi::TCPMIG_A_RULE_METHOD, &rule.method)?;
    }
    if rule.kind == Kind::ClientHash {
        msg.put_u32(uapi::TCPMIG_A_RULE_HASH_N, rule.share.0)?;
        msg.put_u32(uapi::TCPMIG_A_RULE_HASH_M, rule.share.1.get())?;
    }
    msg.put_string(uapi::TCPMIG_A_RULE_POOL, rule.pool.as_bytes())?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_HITS, load(&rule.hits), pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_BYTES, load(&rule.bytes), pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_FAILURES, load(&rule.failures), pad)
}

fn policy(attrs: &Attrs<'_>) -> Result<Option<Policy>, Failure> {
    match attrs.u8(uapi::TCPMIG_A_POOL_POLICY) {
        None => Ok(None),
        Some(raw) => Policy::from_raw(raw)
            .map(Some)
            .ok_or((EINVAL, c"unknown policy").into()),
    }
}

fn members(attrs: &Attrs<'_>) -> Result<Option<KVec<Name>>, Failure> {
    match attrs.string(uapi::TCPMIG_A_POOL_MEMBERS) {
        None => Ok(None),
        Some(list) => parse_members(list)
            .map(Some)
            .map_err(|msg| (EINVAL, msg).into()),
    }
}

fn pool_add(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let name = name(&attrs, uapi::TCPMIG_A_POOL_NAME, c"missing pool name")?;
        let config = PoolConfig {
            policy: policy(&attrs)?.unwrap_or(Policy::RoundRobin),
            members: members(&attrs)?.ok_or((EINVAL, c"a pool needs members"))?,
        };
        state
            .dispatch()
            .pools()
            .add(name, config)
            .map_err(|e| match e {
                e if e == EEXIST => (e, c"a pool of that name exists").into(),
                e if e == ENOSPC => (e, c"too many pools (64)").into(),
                e => Failure::from((e, c"cannot add the pool")),
            })
    })
}

fn pool_set(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let name = name(&attrs, uapi::TCPMIG_A_POOL_NAME, c"missing pool name")?;
        let (policy, members) = (policy(&attrs)?, members(&attrs)?);
        if policy.is_none() && members.is_none() {
            return Err((EINVAL, c"nothing to set").into());
        }
        state
            .dispatch()
            .pools()
            .set(&name, policy, members)
            .map_err(|e| (e, c"no pool of that name").into())
    })
}

fn pool_del(request: &Request<'_>) -> Result {
    run(request, |state| {
        let attrs = request.attrs();
        let name = name(&attrs, uapi::TCPMIG_A_POOL_NAME, c"missing pool name")?;
        let dispatch = state.dispatch();
        dispatch
            .pools()
            .remove(&name, |n| dispatch.pool_in_use(n))
            .map_err(|e| match e {
                e if e == EBUSY => (e, c"a rule names the pool: delete the rule first").into(),
                e => Failure::from((e, c"no pool of that name")),
            })
    })
}

fn pool_get(dump: &mut Dump<'_>) -> Result {
    loop {
        let state = NetState::of(dump.net()).ok_or(ENODEV)?;
        let Some(pool) = state.dispatch().pools().nth(dump.cursor()) else {
            break;
        };
        let added = dump.entry(uapi::TCPMIG_CMD_POOL_GET, |msg| {
            msg.put_string(uapi::TCPMIG_A_POOL_NAME, pool.name.as_bytes())?;
            pool.with_config(|c| -> Result {
                msg.put_u8(uapi::TCPMIG_A_POOL_POLICY, c.policy.raw())?;
                let mut list = KVec::new();
                for (i, m) in c.members.iter().enumerate() {
                    if i > 0 {
                        list.push(b',', GFP_KERNEL)?;
                    }
                    list.extend_from_slice(m.as_bytes(), GFP_KERNEL)?;
                }
                msg.put_string(uapi::TCPMIG_A_POOL_MEMBERS, &list)
            })?;
            msg.put_u64_padded(
                uapi::TCPMIG_A_POOL_PICKS,
                load(&pool.picks),
                uapi::TCPMIG_A_POOL_PAD,
            )
        })?;
        if !added {
            break;
        }
    }
    Ok(())
}
