// SPDX-License-Identifier: GPL-2.0

//! `pool-add`, `pool-set`, `pool-del` and `pool-get`: named groups of
//! peers, each with the policy that picks one for a connection.

use super::{dump_state, name, run};
use crate::dispatch::pool::{parse_members, Policy, PoolConfig};
use crate::dispatch::Name;
use crate::error::Failure;
use crate::sys::genl::{genl_doit, genl_dumpit, uapi, Attrs, Dump, Request};
use kernel::prelude::*;

genl_doit!(tcpmig_nl_pool_add_doit => pool_add);
genl_doit!(tcpmig_nl_pool_set_doit => pool_set);
genl_doit!(tcpmig_nl_pool_del_doit => pool_del);
genl_dumpit!(tcpmig_nl_pool_get_dumpit => pool_get);

/// `enum tcpmig_policy`.
fn policy_from_raw(raw: u8) -> Option<Policy> {
    match u32::from(raw) {
        uapi::tcpmig_policy_TCPMIG_POLICY_ROUND_ROBIN => Some(Policy::RoundRobin),
        uapi::tcpmig_policy_TCPMIG_POLICY_LEAST_FLOWS => Some(Policy::LeastFlows),
        uapi::tcpmig_policy_TCPMIG_POLICY_CONSISTENT_HASH => Some(Policy::ConsistentHash),
        _ => None,
    }
}

fn policy_raw(policy: Policy) -> u8 {
    (match policy {
        Policy::RoundRobin => uapi::tcpmig_policy_TCPMIG_POLICY_ROUND_ROBIN,
        Policy::LeastFlows => uapi::tcpmig_policy_TCPMIG_POLICY_LEAST_FLOWS,
        Policy::ConsistentHash => uapi::tcpmig_policy_TCPMIG_POLICY_CONSISTENT_HASH,
    }) as u8
}

fn policy(attrs: &Attrs<'_>) -> Result<Option<Policy>, Failure> {
    match attrs.u8(uapi::TCPMIG_A_POOL_POLICY) {
        None => Ok(None),
        Some(raw) => policy_from_raw(raw)
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
    let pools = dump_state(dump)?.dispatch().pools();
    while let Some(pool) = pools.nth(dump.cursor()) {
        let added = dump.entry(uapi::TCPMIG_CMD_POOL_GET, |msg| {
            msg.put_string(uapi::TCPMIG_A_POOL_NAME, pool.name.as_bytes())?;
            pool.with_config(|c| -> Result {
                msg.put_u8(uapi::TCPMIG_A_POOL_POLICY, policy_raw(c.policy))?;
                let mut list = KVec::new();
                for (i, m) in c.members.iter().enumerate() {
                    if i > 0 {
                        list.push(b',', GFP_KERNEL)?;
                    }
                    list.extend_from_slice(m.as_bytes(), GFP_KERNEL)?;
                }
                msg.put_string(uapi::TCPMIG_A_POOL_MEMBERS, &list)
            })?;
            let picks = pool.picks.get();
            msg.put_u64_padded(uapi::TCPMIG_A_POOL_PICKS, picks, uapi::TCPMIG_A_POOL_PAD)
        })?;
        if !added {
            break;
        }
    }
    Ok(())
}
