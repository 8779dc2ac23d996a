// SPDX-License-Identifier: GPL-2.0

//! Rules and their evaluation: what one rule tests the first bytes of a
//! connection for, and first-match-wins over an ordered list.

use core::num::NonZeroU32;

use super::http;
use super::verdict::Verdict;

/// What a rule tests the first bytes of a connection for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match<'a> {
    /// The data begins with these bytes.
    Prefix(&'a [u8]),
    /// An HTTP/1.x request line: method (`None`: any method) and a byte
    /// prefix of the request target (origin-form path, e.g. `b"/static"`).
    Http {
        /// The method, compared exactly (`None`: any method).
        method: Option<&'a [u8]>,
        /// A byte prefix of the request target.
        path: &'a [u8],
    },
    /// The request's Host header, compared ASCII-case-insensitively after
    /// removing a `:port` suffix and surrounding spaces/tabs.
    ///
    /// `name` starting with '.' is a suffix: ".example.com" matches
    /// "a.example.com", "x.y.example.com" and "example.com" itself;
    /// otherwise exact.
    Host(&'a [u8]),
    /// Sticky share: matches when `client_hash % m < n` (n <= m, m > 0;
    /// n == m matches all).
    ClientHash {
        /// How many of the `m` shares match.
        n: u32,
        /// The number of shares.
        m: NonZeroU32,
    },
    /// Always matches.
    Default,
}

impl Match<'_> {
    /// Tests `data` (the first bytes received so far; `complete` is true
    /// when no more will be looked at: max bytes reached, end of stream or
    /// timeout). With `complete == true` it never returns
    /// [`Verdict::NeedMore`].
    ///
    /// Monotonic: once it says Yes or No for some data, it says the same
    /// for every extension of that data.
    pub fn test(&self, data: &[u8], complete: bool, client_hash: u32) -> Verdict {
        let verdict = match *self {
            Match::Prefix(prefix) => prefix_test(prefix, data),
            Match::Http { method, path } => http::request_line(data, method, path),
            Match::Host(name) => http::host(data, name),
            Match::ClientHash { n, m } => yes_if(client_hash % m < n),
            Match::Default => Verdict::Yes,
        };
        match verdict {
            Verdict::NeedMore if complete => Verdict::No,
            other => other,
        }
    }
}

fn yes_if(cond: bool) -> Verdict {
    if cond {
        Verdict::Yes
    } else {
        Verdict::No
    }
}

fn prefix_test(prefix: &[u8], data: &[u8]) -> Verdict {
    if data.len() >= prefix.len() {
        yes_if(data.starts_with(prefix))
    } else if prefix.starts_with(data) {
        Verdict::NeedMore
    } else {
        Verdict::No
    }
}

/// The outcome of evaluating an ordered list of rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The rule at this index (from 0, in the list's order) matched.
    Rule(usize),
    /// A rule that might still match needs more data first.
    NeedMore,
    /// No rule matches.
    NoRule,
}

/// Evaluates rules in order, first match wins: the first rule that says
/// Yes decides, unless an earlier rule still says NeedMore (then NeedMore:
/// a later rule must never win over an earlier one that might still
/// match). NoRule when all say No.
pub fn first_match<'a, 'b>(
    rules: impl IntoIterator<Item = &'b Match<'a>>,
    data: &[u8],
    complete: bool,
    client_hash: u32,
) -> Decision
where
    'a: 'b,
{
    for (i, rule) in rules.into_iter().enumerate() {
        match rule.test(data, complete, client_hash) {
            Verdict::Yes => return Decision::Rule(i),
            Verdict::NeedMore => return Decision::NeedMore,
            Verdict::No => {}
        }
    }
    Decision::NoRule
}
