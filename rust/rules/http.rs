// SPDX-License-Identifier: GPL-2.0

//! HTTP/1.x scanning over partial data: the head (request line and header
//! lines) of the first request, read the way RFC 9110/9112 servers (nginx,
//! busybox httpd) read it, so that the rule that routes a request and the
//! server that serves it read the same request.
//!
//! The scan walks the data once, front to back, up to the blank line that
//! ends the head, and stops early only on data that is not HTTP or on a
//! request a server must reject (400). Pipelined requests after the first
//! one are never looked at.

use core::slice::Iter;

use super::verdict::Verdict;

/// The longest method accepted.
const MAX_METHOD: usize = 16;

/// The bytes of a normalised path kept: enough to compare a rule's path
/// (at most 255 bytes); a longer rule path never matches.
pub(crate) const MAX_PATH: usize = 256;

/// Why a scan stopped before the head ended.
enum Stop {
    /// The target begins with none of the forms read here: not HTTP.
    NotHttp,
    /// A server must reject the request (400).
    Malformed,
    /// The data ended first.
    End,
}

/// A scan step: what it found, or why it stopped.
type Step<T> = Result<T, Stop>;

fn next(it: &mut Iter<'_, u8>) -> Step<u8> {
    it.next().copied().ok_or(Stop::End)
}

fn method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// A byte that may appear in a request target (SP ends it).
fn target_byte(b: u8) -> bool {
    b.is_ascii_graphic() || b >= 0x80
}

fn blank(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn hex(b: u8) -> Step<u8> {
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err(Stop::Malformed),
    }
}

/// How far the head got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not an HTTP request: no method and SP at the start, or a target
    /// that begins with none of `/`, `*`, `http://` and `https://`.
    NotHttp,
    /// A request a server must reject (400).
    Malformed,
    /// The data ended inside the method.
    Method,
    /// A request, well-formed so far, whose head has not ended.
    Open,
    /// A well-formed head, ended by its blank line.
    Ended,
}

/// The head of the first request, as far as the data goes.
pub(crate) struct Head<'a> {
    pub(crate) state: State,
    /// The method (in [`State::Method`], its bytes so far).
    method: &'a [u8],
    /// The normalised path of an origin- or absolute-form target (empty
    /// for `*`).
    path: Path,
    /// The authority's host of an absolute-form target once it ended,
    /// else the first Host header's once its line ended.
    host: Option<&'a [u8]>,
}

/// Scans the head of the first request in `data`.
pub(crate) fn scan(data: &[u8]) -> Head<'_> {
    let mut head = Head {
        state: State::Method,
        method: data,
        path: Path::new(),
        host: None,
    };
    let mut it = data.iter();
    let mut len = 0;
    loop {
        match it.next() {
            None => return head,
            Some(b' ') if len > 0 => break,
            Some(&b) if method_byte(b) && len < MAX_METHOD => len += 1,
            Some(_) => {
                head.state = State::NotHttp;
                return head;
            }
        }
    }
    head.method = data.get(..len).unwrap_or_default();
    head.state = match head.read(it) {
        Ok(()) => State::Ended,
        Err(Stop::End) => State::Open,
        Err(Stop::Malformed) => State::Malformed,
        Err(Stop::NotHttp) => State::NotHttp,
    };
    head
}

impl<'a> Head<'a> {
    /// Whether the head is still open: neither ended nor known to be bad.
    pub(crate) fn open(&self) -> bool {
        matches!(self.state, State::Method | State::Open)
    }

    /// Everything after the method's SP.
    fn read(&mut self, mut it: Iter<'a, u8>) -> Step<()> {
        let absolute = self.target(&mut it)?;
        version_line(&mut it)?;
        self.headers(it.as_slice(), absolute)
    }

    /// The request target and its SP; true for absolute-form.
    fn target(&mut self, it: &mut Iter<'a, u8>) -> Step<bool> {
        match it.as_slice().first() {
            None => Err(Stop::End),
            Some(b'/') => {
                it.next();
                let end = self.path(it)?;
                rest_of_target(it, end)?;
                Ok(false)
            }
            Some(b'*') => {
                if self.method != b"OPTIONS" {
                    return Err(Stop::Malformed);
                }
                it.next();
                if next(it)? != b' ' {
                    return Err(Stop::Malformed);
                }
                self.path.done = true;
                Ok(false)
            }
            Some(_) => {
                self.absolute(it)?;
                Ok(true)
            }
        }
    }

    /// `http://` or `https://` (any case), the authority, the path. A
    /// target that begins otherwise (another scheme, authority-form, a
    /// stray word after something method-like, an empty target) is not
    /// HTTP as far as the rules go: no http or host rule matches it, and
    /// the rules after them still decide.
    fn absolute(&mut self, it: &mut Iter<'a, u8>) -> Step<()> {
        const SCHEME: &[u8] = b"https://";
        let mut i = 0;
        while i < SCHEME.len() {
            let b = next(it)?.to_ascii_lowercase();
            if i == 4 && b == b':' {
                i = 6;
            } else if SCHEME.get(i) == Some(&b) {
                i += 1;
            } else {
                return Err(Stop::NotHttp);
            }
        }
        let authority = it.as_slice();
        let mut len = 0;
        let end = loop {
            match next(it)? {
                b @ (b'/' | b'?' | b'#' | b' ') => break b,
                b'@' => return Err(Stop::Malformed),
                b if !target_byte(b) => return Err(Stop::Malformed),
                _ => len += 1,
            }
        };
        let host = host_of(authority.get(..len).unwrap_or_default());
        if host.is_empty() {
            return Err(Stop::Malformed);
        }
        self.host = Some(host);
        let end = if end == b'/' {
            self.path(it)?
        } else {
            self.path.finish()?;
            end
        };
        rest_of_target(it, end)
    }

    /// The path after its first '/', normalised into `self.path`, up to
    /// the '?', '#' or SP that ends it (returned).
    fn path(&mut self, it: &mut Iter<'_, u8>) -> Step<u8> {
        loop {
            match next(it)? {
                b @ (b'?' | b'#' | b' ') => {
                    self.path.finish()?;
                    return Ok(b);
                }
                b'%' => {
                    let high = hex(next(it)?)?;
                    let low = hex(next(it)?)?;
                    let b = (high << 4) | low;
                    if b == 0 {
                        return Err(Stop::Malformed);
                    }
                    self.path.push(b)?;
                }
                b if target_byte(b) => self.path.push(b)?,
                _ => return Err(Stop::Malformed),
            }
        }
    }

    /// Header lines up to the blank line: two Host headers, a folded line
    /// or whitespace before a colon is malformed.
    fn headers(&mut self, mut rest: &'a [u8], absolute: bool) -> Step<()> {
        let mut seen = false;
        loop {
            let (header, after) = line(rest)?;
            if header.is_empty() {
                return Ok(());
            }
            if header.first().is_some_and(blank) {
                return Err(Stop::Malformed);
            }
            let mut parts = header.splitn(2, |&b| b == b':');
            let field = parts.next().unwrap_or_default();
            if let Some(value) = parts.next() {
                if field.last().is_some_and(blank) {
                    return Err(Stop::Malformed);
                }
                if field.eq_ignore_ascii_case(b"host") {
                    if seen {
                        return Err(Stop::Malformed);
                    }
                    seen = true;
                    if !absolute {
                        self.host = Some(host_of(value));
                    }
                }
            }
            rest = after;
        }
    }
}

/// What follows the path in the target (a query or fragment) up to SP,
/// unless `end` already was the SP.
fn rest_of_target(it: &mut Iter<'_, u8>, end: u8) -> Step<()> {
    if end == b' ' {
        return Ok(());
    }
    loop {
        match next(it)? {
            b' ' => return Ok(()),
            b if target_byte(b) => {}
            _ => return Err(Stop::Malformed),
        }
    }
}

/// Checks `HTTP/x.y` and the line end (LF, optionally after CR).
fn version_line(it: &mut Iter<'_, u8>) -> Step<()> {
    for &want in b"HTTP/0.0" {
        let b = next(it)?;
        let ok = if want == b'0' {
            b.is_ascii_digit()
        } else {
            b == want
        };
        if !ok {
            return Err(Stop::Malformed);
        }
    }
    let mut b = next(it)?;
    if b == b'\r' {
        b = next(it)?;
    }
    if b == b'\n' {
        Ok(())
    } else {
        Err(Stop::Malformed)
    }
}

/// A normalised path, built as the target goes by: percent-decoded, runs
/// of slashes merged, `.` and `..` segments removed (RFC 3986 5.2.4), as
/// nginx does before matching locations. A decoded byte counts as the
/// byte itself (`%2F` separates, `%2e%2e` is `..`), except that a decoded
/// '?', '#' or '%' is part of the path. Only the first [`MAX_PATH`] bytes
/// are kept; `deep` counts the segments that begin beyond them, so that a
/// `..` still removes the right one.
struct Path {
    buf: [u8; MAX_PATH],
    len: usize,
    deep: usize,
    /// `Some(n)`: the current segment is `n` dots so far (1 or 2: maybe
    /// a dot segment; nothing written yet). `None`: it is written.
    dots: Option<u8>,
    /// The path ended: `buf` holds its first bytes.
    done: bool,
}

impl Path {
    fn new() -> Self {
        Self {
            buf: [0; MAX_PATH],
            len: 0,
            deep: 0,
            dots: Some(0),
            done: false,
        }
    }

    fn write(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        } else if b == b'/' {
            self.deep = self.deep.saturating_add(1);
        }
    }

    /// One decoded byte after the path's first '/'.
    fn push(&mut self, b: u8) -> Step<()> {
        if b == b'/' {
            self.end_segment()?;
            return Ok(());
        }
        match self.dots {
            Some(n) if b == b'.' && n < 2 => self.dots = Some(n + 1),
            Some(n) => {
                self.write(b'/');
                for _ in 0..n {
                    self.write(b'.');
                }
                self.write(b);
                self.dots = None;
            }
            None => self.write(b),
        }
        Ok(())
    }

    /// Ends a segment; true when the path would end with a '/' here
    /// (after an empty, `.` or `..` segment).
    fn end_segment(&mut self) -> Step<bool> {
        let dots = self.dots.replace(0);
        if dots == Some(2) {
            self.pop()?;
        }
        Ok(dots.is_some())
    }

    /// Removes the last segment; above the root is malformed.
    fn pop(&mut self) -> Step<()> {
        if self.deep > 0 {
            self.deep -= 1;
            return Ok(());
        }
        let kept = self.buf.get(..self.len).unwrap_or_default();
        let start = kept.iter().rposition(|&b| b == b'/');
        self.len = start.ok_or(Stop::Malformed)?;
        Ok(())
    }

    fn finish(&mut self) -> Step<()> {
        if self.end_segment()? || self.len == 0 {
            self.write(b'/');
        }
        self.done = true;
        Ok(())
    }

    /// The path's first bytes, once it ended.
    fn get(&self) -> Option<&[u8]> {
        self.buf.get(..self.len).filter(|_| self.done)
    }
}

/// An http rule: `want` the method (`None`: any), `path` a byte prefix
/// of the normalised path. Yes only once the head ended (or the data is
/// complete): until then a second Host header could still come.
pub(crate) fn request_line(
    head: &Head<'_>,
    want: Option<&[u8]>,
    path: &[u8],
    complete: bool,
) -> Verdict {
    match head.state {
        State::NotHttp | State::Malformed => return Verdict::No,
        // Still inside the method: already no if it is not a prefix of
        // the wanted one (whatever follows cannot make it equal).
        State::Method => {
            return match want {
                Some(want) if !want.starts_with(head.method) => Verdict::No,
                _ => Verdict::NeedMore,
            }
        }
        State::Open | State::Ended => {}
    }
    if want.is_some_and(|want| want != head.method) {
        return Verdict::No;
    }
    match head.path.get() {
        None => Verdict::NeedMore,
        Some(found) if !found.starts_with(path) => Verdict::No,
        Some(_) => decided(head, complete),
    }
}

/// Yes once nothing can change it, else NeedMore.
fn decided(head: &Head<'_>, complete: bool) -> Verdict {
    if head.state == State::Ended || complete {
        Verdict::Yes
    } else {
        Verdict::NeedMore
    }
}

/// One header line (without its LF and a CR before it) and what follows,
/// or End when the line has not ended yet.
fn line(rest: &[u8]) -> Step<(&[u8], &[u8])> {
    let mut parts = rest.splitn(2, |&b| b == b'\n');
    let line = parts.next().unwrap_or_default();
    let after = parts.next().ok_or(Stop::End)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok((line, after))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or_default();
    let end = s
        .iter()
        .rposition(|b| !blank(b))
        .map_or(0, |i| i.saturating_add(1));
    s.get(..end).unwrap_or_default()
}

/// The host of a Host header value or an authority: trimmed, without a
/// `:port` suffix (an IPv6 literal keeps its brackets and colons).
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

/// A host rule: the absolute-form target's host, else the first Host
/// header's, against `name`. Yes only once the head ended (or the data is
/// complete).
pub(crate) fn host(head: &Head<'_>, name: &[u8], complete: bool) -> Verdict {
    match head.state {
        State::NotHttp | State::Malformed => Verdict::No,
        State::Method | State::Open | State::Ended => match head.host {
            Some(host) if !host_matches(host, name) => Verdict::No,
            Some(_) => decided(head, complete),
            None if head.state == State::Ended => Verdict::No,
            None => Verdict::NeedMore,
        },
    }
}
