// SPDX-License-Identifier: GPL-2.0

//! HTTP/1.x scanning over partial data: the request line and the Host
//! header of the first request.
//!
//! Every scan walks the data once, front to back, and stops as soon as it
//! can decide; it says NeedMore when the data ends first. A step that
//! cannot go on returns `Err(verdict)`: `No` when the data is not (or not
//! the wanted) HTTP, `NeedMore` when it ended too early. Pipelined
//! requests after the first one are never looked at.

use core::slice::Iter;

use super::verdict::Verdict;

/// The longest method accepted.
const MAX_METHOD: usize = 16;

/// A scan step: what it found, or the verdict it stopped on.
type Step<T> = Result<T, Verdict>;

fn next(it: &mut Iter<'_, u8>) -> Step<u8> {
    it.next().copied().ok_or(Verdict::NeedMore)
}

fn method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// A byte that may appear in a request target (SP ends it).
fn target_byte(b: u8) -> bool {
    b.is_ascii_graphic() || b >= 0x80
}

/// The method and what follows its SP. A method is 1..=16 uppercase ASCII
/// letters, '-' or '_'; anything else means the data is not HTTP.
fn method(data: &[u8]) -> Step<(&[u8], &[u8])> {
    let mut it = data.iter();
    let mut len = 0;
    loop {
        let b = next(&mut it)?;
        if b == b' ' && len > 0 {
            let method = data.get(..len).ok_or(Verdict::No)?;
            return Ok((method, it.as_slice()));
        }
        if !method_byte(b) || len >= MAX_METHOD {
            return Err(Verdict::No);
        }
        len += 1;
    }
}

/// Skips the request target and its SP.
fn skip_target(rest: &[u8]) -> Step<&[u8]> {
    let mut it = rest.iter();
    let mut empty = true;
    loop {
        let b = next(&mut it)?;
        if b == b' ' && !empty {
            return Ok(it.as_slice());
        }
        if !target_byte(b) {
            return Err(Verdict::No);
        }
        empty = false;
    }
}

/// Checks `HTTP/x.y` and the line end (LF, optionally after CR); returns
/// what follows.
fn version_line(rest: &[u8]) -> Step<&[u8]> {
    let mut it = rest.iter();
    for &want in b"HTTP/0.0" {
        let b = next(&mut it)?;
        let ok = if want == b'0' {
            b.is_ascii_digit()
        } else {
            b == want
        };
        if !ok {
            return Err(Verdict::No);
        }
    }
    let mut b = next(&mut it)?;
    if b == b'\r' {
        b = next(&mut it)?;
    }
    if b == b'\n' {
        Ok(it.as_slice())
    } else {
        Err(Verdict::No)
    }
}

/// Tests the request line for `method` (`None`: any) and a target
/// beginning with `path`, deciding as soon as the bytes compared allow.
pub(crate) fn request_line(data: &[u8], want: Option<&[u8]>, path: &[u8]) -> Verdict {
    match target_test(data, want, path) {
        Ok(()) => Verdict::Yes,
        Err(v) => v,
    }
}

fn target_test(data: &[u8], want: Option<&[u8]>, path: &[u8]) -> Step<()> {
    let (method, rest) = match method(data) {
        Ok(found) => found,
        // Still inside the method: already no if it is not a prefix of
        // the wanted one (whatever follows cannot make it equal).
        Err(Verdict::NeedMore) => match want {
            Some(want) if !want.starts_with(data) => return Err(Verdict::No),
            _ => return Err(Verdict::NeedMore),
        },
        Err(v) => return Err(v),
    };
    if want.is_some_and(|want| want != method) {
        return Err(Verdict::No);
    }
    let mut it = rest.iter();
    for &p in path {
        let b = next(&mut it)?;
        // SP: the target ended (or was empty) before `path` did.
        if b != p || !target_byte(b) {
            return Err(Verdict::No);
        }
    }
    Ok(())
}

/// One header line (without its LF and a CR before it) and what follows,
/// or NeedMore when the line has not ended yet.
fn line(rest: &[u8]) -> Step<(&[u8], &[u8])> {
    let mut parts = rest.splitn(2, |&b| b == b'\n');
    let line = parts.next().unwrap_or_default();
    let after = parts.next().ok_or(Verdict::NeedMore)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok((line, after))
}

fn trim(s: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or_default();
    let end = s
        .iter()
        .rposition(|b| !blank(b))
        .map_or(0, |i| i.saturating_add(1));
    s.get(..end).unwrap_or_default()
}

/// The host of a Host header value: trimmed, without a `:port` suffix
/// (an IPv6 literal keeps its brackets and colons).
fn host_of(value: &[u8]) -> &[u8] {
    let value = trim(value);
    let end = if value.first() == Some(&b'[') {
        value
            .iter()
            .position(|&b| b == b']')
            .map_or(value.len(), |i| i.saturating_add(1))
    } else {
        value.iter().position(|&b| b == b':').unwrap_or(value.len())
    };
    trim(value.get(..end).unwrap_or_default())
}

/// `host` against a rule's name: exact, or a suffix when `name` starts
/// with '.', ASCII-case-insensitively.
fn host_matches(host: &[u8], name: &[u8]) -> bool {
    match name.strip_prefix(b".") {
        Some(bare) if !host.eq_ignore_ascii_case(bare) => host
            .len()
            .checked_sub(name.len())
            .and_then(|start| host.get(start..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(name)),
        Some(_) => true,
        None => host.eq_ignore_ascii_case(name),
    }
}

/// Tests the first Host header of the first request against `name`.
pub(crate) fn host(data: &[u8], name: &[u8]) -> Verdict {
    match host_test(data, name) {
        Ok(true) => Verdict::Yes,
        Ok(false) => Verdict::No,
        Err(v) => v,
    }
}

fn host_test(data: &[u8], name: &[u8]) -> Step<bool> {
    let (_, rest) = method(data)?;
    let mut rest = version_line(skip_target(rest)?)?;
    loop {
        let (header, after) = line(rest)?;
        if header.is_empty() {
            return Ok(false);
        }
        let mut parts = header.splitn(2, |&b| b == b':');
        let field = parts.next().unwrap_or_default();
        if let Some(value) = parts.next() {
            if field.eq_ignore_ascii_case(b"host") {
                return Ok(host_matches(host_of(value), name));
            }
        }
        rest = after;
    }
}
