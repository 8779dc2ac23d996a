// SPDX-License-Identifier: GPL-2.0

//! A service's rules as configured: what each tests the first bytes for
//! (the decision itself is `rules`, pure code), the pool it names and
//! its counters.

use super::Name;
use crate::rules::Match;
use crate::sys::genl::uapi;
use core::num::NonZeroU32;
use core::sync::atomic::AtomicU64;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Rules per service.
pub(crate) const MAX_RULES: usize = 64;

/// What a rule tests (`enum tcpmig_rule_kind`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Prefix,
    Http,
    Host,
    ClientHash,
    Default,
}

impl Kind {
    pub(crate) fn from_raw(raw: u8) -> Option<Self> {
        match u32::from(raw) {
            uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_PREFIX => Some(Self::Prefix),
            uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HTTP => Some(Self::Http),
            uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HOST => Some(Self::Host),
            uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_CLIENT_HASH => Some(Self::ClientHash),
            uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_DEFAULT => Some(Self::Default),
            _ => None,
        }
    }

    pub(crate) fn raw(self) -> u8 {
        (match self {
            Self::Prefix => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_PREFIX,
            Self::Http => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HTTP,
            Self::Host => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_HOST,
            Self::ClientHash => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_CLIENT_HASH,
            Self::Default => uapi::tcpmig_rule_kind_TCPMIG_RULE_KIND_DEFAULT,
        }) as u8
    }
}

/// One rule.
pub(crate) struct Rule {
    pub(crate) kind: Kind,
    /// The prefix bytes, the path prefix or the host name (lower case).
    pub(crate) pattern: KVec<u8>,
    /// The HTTP method; empty: any.
    pub(crate) method: KVec<u8>,
    pub(crate) share: (u32, NonZeroU32),
    pub(crate) pool: Name,
    pub(crate) hits: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) failures: AtomicU64,
}

impl Rule {
    /// A rule from its parts, checked; the message says what is wrong.
    pub(crate) fn new(
        kind: Kind,
        pattern: &[u8],
        method: &[u8],
        share: (u32, u32),
        pool: Name,
    ) -> Result<Self, (Error, &'static CStr)> {
        let needs_pattern = matches!(kind, Kind::Http | Kind::Host);
        if needs_pattern && pattern.is_empty() {
            return Err((EINVAL, c"an http or host rule needs a pattern"));
        }
        if kind == Kind::Http && pattern.first() != Some(&b'/') {
            return Err((EINVAL, c"an http rule's path begins with '/'"));
        }
        if !method.is_empty() && (kind != Kind::Http || !method.iter().all(u8::is_ascii_uppercase))
        {
            return Err((EINVAL, c"a method is upper-case letters, on an http rule"));
        }
        let share = match kind {
            Kind::ClientHash => match NonZeroU32::new(share.1) {
                Some(m) if share.0 <= m.get() => (share.0, m),
                _ => return Err((EINVAL, c"a client-hash share is N/M with N <= M and M > 0")),
            },
            _ => (1, NonZeroU32::MIN),
        };
        let mut owned = KVec::with_capacity(pattern.len(), GFP_KERNEL)
            .map_err(|_| (ENOMEM, c"out of memory"))?;
        for &b in pattern {
            let b = if kind == Kind::Host {
                b.to_ascii_lowercase()
            } else {
                b
            };
            owned
                .push(b, GFP_KERNEL)
                .map_err(|_| (ENOMEM, c"out of memory"))?;
        }
        let mut method_owned = KVec::new();
        method_owned
            .extend_from_slice(method, GFP_KERNEL)
            .map_err(|_| (ENOMEM, c"out of memory"))?;
        Ok(Self {
            kind,
            pattern: owned,
            method: method_owned,
            share,
            pool,
            hits: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// What the rule tests, for the pure decision code.
    pub(crate) fn as_match(&self) -> Match<'_> {
        match self.kind {
            Kind::Prefix => Match::Prefix(&self.pattern),
            Kind::Http => Match::Http {
                method: (!self.method.is_empty()).then_some(&self.method[..]),
                path: &self.pattern,
            },
            Kind::Host => Match::Host(&self.pattern),
            Kind::ClientHash => Match::ClientHash {
                n: self.share.0,
                m: self.share.1,
            },
            Kind::Default => Match::Default,
        }
    }
}

/// A service's rules in order: replaced whole on every change, so a
/// decision in progress keeps the list it started with.
pub(crate) type RuleList = KVec<Arc<Rule>>;
