// SPDX-License-Identifier: GPL-2.0

//! A rule's answer so far, the word every scan speaks.

/// One rule's answer for the data received so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The rule matches, whatever follows.
    Yes,
    /// The rule does not match, whatever follows.
    No,
    /// More data is needed to decide.
    NeedMore,
}
