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
    /// An HTTP/1.x request: method (`None`: any method) and a byte prefix
    /// of the normalised path of its target (e.g. `b"/static"`): the path
    /// of an origin- or absolute-form target, percent-decoded, slashes
    /// merged, dot segments removed. Decided once the head has ended.
    Http {
        /// The method, compared exactly (`None`: any method).
        method: Option<&'a [u8]>,
        /// A byte prefix of the normalised path (at most 256 bytes).
        path: &'a [u8],
    },
    /// The request's host: an absolute-form target's, else its Host
    /// header's, compared ASCII-case-insensitively after removing a
    /// `:port` suffix and surrounding spaces/tabs.
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
    /// for every extension of that data. An http or host rule on a head
    /// cut short says Yes or No on what came when `complete`; on a request
    /// a server must reject it says No.
    pub fn test(&self, data: &[u8], complete: bool, client_hash: u32) -> Verdict {
        let verdict = match *self {
            Match::Prefix(prefix) => prefix_test(prefix, data),
            Match::Http { .. } | Match::Host(_) => self.read(&http::scan(data), complete),
            Match::ClientHash { n, m } => yes_if(client_hash % m < n),
            Match::Default => Verdict::Yes,
        };
        match verdict {
            Verdict::NeedMore if complete => Verdict::No,
            other => other,
        }
    }

    /// Whether the rule reads the HTTP head.
    fn reads_http(&self) -> bool {
        matches!(self, Match::Http { .. } | Match::Host(_))
    }

    /// An http or host rule against a scanned head.
    fn read(&self, head: &http::Head<'_>, complete: bool) -> Verdict {
        let verdict = match *self {
            Match::Http { method, path } => http::request_line(head, method, path, complete),
            Match::Host(name) => http::host(head, name, complete),
            _ => Verdict::No,
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
///
/// At the first http or host rule the walk needs the request's whole head
/// (up to its blank line; with `complete`, what came): until then it says
/// NeedMore, even if that rule can no longer match. A request a server
/// must reject (400: a malformed request line, a bad percent escape, a
/// path above the root, userinfo in the authority, two Host headers, ...)
/// ends the walk there with NoRule, the service's fallback: the rules
/// after it never see it. Data that is not HTTP at all passes on.
pub fn first_match<'a, 'b>(
    rules: impl IntoIterator<Item = &'b Match<'a>>,
    data: &[u8],
    complete: bool,
    client_hash: u32,
) -> Decision
where
    'a: 'b,
{
    // The head, scanned once, at the first http or host rule.
    let mut head = None;
    for (i, rule) in rules.into_iter().enumerate() {
        let verdict = if rule.reads_http() {
            let head = head.get_or_insert_with(|| http::scan(data));
            if head.state == http::State::Malformed {
                return Decision::NoRule;
            }
            if head.open() && !complete {
                return Decision::NeedMore;
            }
            rule.read(head, complete)
        } else {
            rule.test(data, complete, client_hash)
        };
        match verdict {
            Verdict::Yes => return Decision::Rule(i),
            Verdict::NeedMore => return Decision::NeedMore,
            Verdict::No => {}
        }
    }
    Decision::NoRule
}
