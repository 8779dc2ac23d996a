// SPDX-License-Identifier: GPL-2.0

//! A service's rules as configured: what each tests the first bytes for
//! (the decision itself is `rules`, pure code), the pool it names and
//! its counters.

use super::Name;
use crate::rules::Match;
use crate::stats::Counter;
use core::num::NonZeroU32;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Rules per service.
pub(crate) const MAX_RULES: usize = 64;

/// What a rule tests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleKind {
    Prefix,
    Http,
    Host,
    ClientHash,
    Default,
}

/// One rule.
pub(crate) struct Rule {
    pub(crate) kind: RuleKind,
    /// The prefix bytes, the path prefix or the host name (lower case).
    pub(crate) pattern: KVec<u8>,
    /// The HTTP method; empty: any.
    pub(crate) method: KVec<u8>,
    pub(crate) share: (u32, NonZeroU32),
    pub(crate) pool: Name,
    pub(crate) hits: Counter,
    pub(crate) bytes: Counter,
    pub(crate) failures: Counter,
}

impl Rule {
    /// A rule from its parts, checked; the message says what is wrong.
    pub(crate) fn new(
        kind: RuleKind,
        pattern: &[u8],
        method: &[u8],
        share: (u32, u32),
        pool: Name,
    ) -> Result<Self, (Error, &'static CStr)> {
        let needs_pattern = matches!(kind, RuleKind::Http | RuleKind::Host);
        if needs_pattern && pattern.is_empty() {
            return Err((EINVAL, c"an http or host rule needs a pattern"));
        }
        if kind == RuleKind::Http && pattern.first() != Some(&b'/') {
            return Err((EINVAL, c"an http rule's path begins with '/'"));
        }
        if !method.is_empty()
            && (kind != RuleKind::Http || !method.iter().all(u8::is_ascii_uppercase))
        {
            return Err((EINVAL, c"a method is upper-case letters, on an http rule"));
        }
        let share = match kind {
            RuleKind::ClientHash => match NonZeroU32::new(share.1) {
                Some(m) if share.0 <= m.get() => (share.0, m),
                _ => return Err((EINVAL, c"a client-hash share is N/M with N <= M and M > 0")),
            },
            _ => (1, NonZeroU32::MIN),
        };
        let mut owned = KVec::with_capacity(pattern.len(), GFP_KERNEL)
            .map_err(|_| (ENOMEM, c"out of memory"))?;
        for &b in pattern {
            let b = if kind == RuleKind::Host {
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
            hits: Counter::new(),
            bytes: Counter::new(),
            failures: Counter::new(),
        })
    }

    /// What the rule tests, for the pure decision code.
    pub(crate) fn as_match(&self) -> Match<'_> {
        match self.kind {
            RuleKind::Prefix => Match::Prefix(&self.pattern),
            RuleKind::Http => Match::Http {
                method: (!self.method.is_empty()).then_some(&self.method[..]),
                path: &self.pattern,
            },
            RuleKind::Host => Match::Host(&self.pattern),
            RuleKind::ClientHash => Match::ClientHash {
                n: self.share.0,
                m: self.share.1,
            },
            RuleKind::Default => Match::Default,
        }
    }
}

/// A service's rules in order: replaced whole on every change, so a
/// decision in progress keeps the list it started with.
pub(crate) type RuleList = KVec<Arc<Rule>>;
