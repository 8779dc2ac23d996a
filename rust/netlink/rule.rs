// SPDX-License-Identifier: GPL-2.0

//! `rule-add`, `rule-del` and `rule-get`: a service's rules, which look at
//! a connection's first bytes and name the pool it goes to.

use super::service::vip;
use super::{dump_state, name, put_addr, run};
use crate::dispatch::rule::{Rule, RuleKind, MAX_RULES};
use crate::dispatch::Dispatcher;
use crate::error::Failure;
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Attrs, Builder, Dump, Request};
use crate::sys::sock::Endpoint;
use kernel::prelude::*;
use kernel::sync::Arc;

genl_doit!(tcpmig_nl_rule_add_doit => rule_add);
genl_doit!(tcpmig_nl_rule_del_doit => rule_del);
genl_dumpit!(tcpmig_nl_rule_get_dumpit => rule_get);

/// `enum tcpmig_rule_kind`.
fn kind_from_raw(raw: u8) -> Option<RuleKind> {
    match u32::from(raw) {
        uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_PREFIX => Some(RuleKind::Prefix),
        uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HTTP => Some(RuleKind::Http),
        uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HOST => Some(RuleKind::Host),
        uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_CLIENT_HASH => Some(RuleKind::ClientHash),
        uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_DEFAULT => Some(RuleKind::Default),
        _ => None,
    }
}

fn kind_raw(kind: RuleKind) -> u8 {
    (match kind {
        RuleKind::Prefix => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_PREFIX,
        RuleKind::Http => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HTTP,
        RuleKind::Host => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HOST,
        RuleKind::ClientHash => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_CLIENT_HASH,
        RuleKind::Default => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_DEFAULT,
    }) as u8
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
            .and_then(kind_from_raw)
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
        let rule = Arc::new(rule, GFP_KERNEL).map_err(|_| Failure::oom())?;
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
    dispatch: &Dispatcher,
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
            rules.push(rule, GFP_KERNEL).map_err(|_| Failure::oom())?;
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
    let dispatch = dump_state(dump)?.dispatch();
    let mut seen = 0;
    let mut service = 0;
    while let Some((vip, rules)) = dispatch.with_nth(service, |s| (s.vip, s.rules())) {
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
    put_addr(msg, uapi::TCPMIG_A_RULE_SERVICE_ADDR, vip.family, &vip.addr)?;
    msg.put_u16(uapi::TCPMIG_A_RULE_SERVICE_PORT, vip.port)?;
    msg.put_u32(uapi::TCPMIG_A_RULE_INDEX, index)?;
    msg.put_u8(uapi::TCPMIG_A_RULE_KIND, kind_raw(rule.kind))?;
    if !rule.pattern.is_empty() {
        msg.put_bytes(uapi::TCPMIG_A_RULE_PATTERN, &rule.pattern)?;
    }
    if !rule.method.is_empty() {
        msg.put_string(uapi::TCPMIG_A_RULE_METHOD, &rule.method)?;
    }
    if rule.kind == RuleKind::ClientHash {
        msg.put_u32(uapi::TCPMIG_A_RULE_HASH_N, rule.share.0)?;
        msg.put_u32(uapi::TCPMIG_A_RULE_HASH_M, rule.share.1.get())?;
    }
    msg.put_string(uapi::TCPMIG_A_RULE_POOL, rule.pool.as_bytes())?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_HITS, rule.hits.get(), pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_BYTES, rule.bytes.get(), pad)?;
    msg.put_u64_padded(uapi::TCPMIG_A_RULE_FAILURES, rule.failures.get(), pad)
}
