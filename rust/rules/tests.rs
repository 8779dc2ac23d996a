// SPDX-License-Identifier: GPL-2.0

//! Host tests of the rules: every kind's Yes/No/NeedMore, requests split
//! at every byte (verdicts are monotonic), first-match ordering, HTTP read
//! as servers read it (absolute-form, normalised paths, malformed requests
//! get the fallback), stable hashes, rendezvous spread and stability, and
//! seeded no-panic loops.

use super::*;
use core::num::NonZeroU32;
use std::vec::Vec;

use Verdict::{NeedMore, No, Yes};

const GET: &[u8] =
    b"GET /static/app.js HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: t\r\n\r\n";

fn nz(m: u32) -> NonZeroU32 {
    NonZeroU32::new(m).unwrap()
}

fn http<'a>(method: Option<&'a [u8]>, path: &'a [u8]) -> Match<'a> {
    Match::Http { method, path }
}

fn t(rule: &Match<'_>, data: &[u8]) -> Verdict {
    rule.test(data, false, 0)
}

#[test]
fn prefix() {
    let r = Match::Prefix(b"\x16\x03");
    assert_eq!(t(&r, b"\x16\x03\x01\x02"), Yes);
    assert_eq!(t(&r, b"\x16\x03"), Yes);
    assert_eq!(t(&r, b"\x16"), NeedMore);
    assert_eq!(t(&r, b""), NeedMore);
    assert_eq!(r.test(b"\x16", true, 0), No);
    assert_eq!(t(&r, b"\x17"), No);
    assert_eq!(t(&r, b"\x16\x04\x01"), No);
    assert_eq!(t(&Match::Prefix(b""), b""), Yes);
    assert_eq!(Match::Prefix(b"").test(b"", true, 0), Yes);
    split_every_byte(&r, b"\x16\x03\x01\x00\xff", Yes);
    split_every_byte(&r, b"\x16\x02\x01", No);
}

#[test]
fn http_request_line() {
    let r = http(Some(b"GET"), b"/static");
    assert_eq!(t(&r, GET), Yes);
    assert_eq!(t(&r, b"GET /staticky HTTP/1.1\r\n\r\n"), Yes);
    // Yes only once the head ended (a second Host header could still
    // come), or on complete data once the path did; a later "/../" can
    // still move a path that has not ended.
    assert_eq!(t(&r, b"GET /staticky HTTP/1.1\r\n"), NeedMore);
    assert_eq!(r.test(b"GET /staticky HTTP/1.1\r\n", true, 0), Yes);
    assert_eq!(t(&r, b"GET /static"), NeedMore);
    assert_eq!(r.test(b"GET /static", true, 0), No);
    assert_eq!(t(&r, b"GET /stat"), NeedMore);
    assert_eq!(r.test(b"GET /stat", true, 0), No);
    assert_eq!(t(&r, b"GET /stat HTTP/1.1\r\n"), No);
    assert_eq!(t(&r, b"GET /other "), No);
    assert_eq!(t(&r, b"GET /other"), NeedMore);
    assert_eq!(t(&r, b"GET /s"), NeedMore);
    assert_eq!(t(&r, b"POST /static HTTP/1.1\r\n"), No);
    // A method that can no longer become GET is No before its SP.
    assert_eq!(t(&r, b"P"), No);
    assert_eq!(t(&r, b"GE"), NeedMore);
    assert_eq!(t(&r, b"GETX /static"), No);
    assert_eq!(t(&r, b""), NeedMore);
    assert_eq!(r.test(b"", true, 0), No);

    let any = http(None, b"/api/");
    assert_eq!(t(&any, b"DELETE /api/v1 HTTP/1.0\r\n\r\n"), Yes);
    assert_eq!(t(&any, b"M-SEARCH_X /api/ HTTP/1.1\n\n"), Yes);
    assert_eq!(t(&any, b"PROPFIND /ap"), NeedMore);
    assert_eq!(t(&any, b"PROPFIND /apx "), No);
    // Method rules: 1..=16 of A-Z, '-', '_'.
    assert_eq!(t(&any, b"ABCDEFGHIJKLMNOP /api/ HTTP/1.1\n\n"), Yes);
    assert_eq!(t(&any, b"ABCDEFGHIJKLMNOPQ /api/"), No);
    assert_eq!(t(&any, b"ABCDEFGHIJKLMNOP"), NeedMore);
    assert_eq!(t(&any, b"get /api/"), No);
    assert_eq!(t(&any, b" GET /api/"), No);
    assert_eq!(t(&any, b"GET  /api/"), No);
    assert_eq!(t(&any, b"G3T /api/"), No);
    assert_eq!(t(&any, b"GET /a\x01i/"), No);

    let all = http(None, b"");
    assert_eq!(t(&all, b"GET / HTTP/1.1\r\n\r\n"), Yes);
    assert_eq!(t(&all, b"GET "), NeedMore);
    assert_eq!(t(&all, b"GET"), NeedMore);
    assert_eq!(t(&all, b"\x00GET "), No);

    for (rule, want) in [
        (http(Some(b"GET"), b"/static"), Yes),
        (http(Some(b"GET"), b"/static/app.js?v=1"), No),
        (http(Some(b"POST"), b"/static"), No),
        (http(None, b"/static/app.js"), Yes),
        (http(None, b"/"), Yes),
        (http(None, b"/static/"), Yes),
        (http(None, b"/images"), No),
    ] {
        split_every_byte(&rule, GET, want);
    }
}

#[test]
fn host_kinds() {
    let exact = Match::Host(b"www.example.com");
    let suffix = Match::Host(b".example.com");
    let other = Match::Host(b"example.org");
    assert_eq!(t(&exact, GET), Yes);
    assert_eq!(t(&suffix, GET), Yes);
    assert_eq!(t(&other, GET), No);
    for (rule, want) in [(exact, Yes), (suffix, Yes), (other, No)] {
        split_every_byte(&rule, GET, want);
    }

    let req = |host: &str| std::format!("GET / HTTP/1.1\r\nHost:{host}\r\n\r\n").into_bytes();
    // Suffix: subdomains at any depth and the bare domain, not look-alikes.
    for (host, want) in [
        ("a.example.com", Yes),
        ("x.y.example.com", Yes),
        ("example.com", Yes),
        ("EXAMPLE.com:443", Yes),
        ("badexample.com", No),
        ("example.com.evil", No),
        ("com", No),
        ("", No),
    ] {
        assert_eq!(t(&suffix, &req(host)), want, "{host}");
    }
    // Exact: case, port, spaces and tabs.
    for (host, want) in [
        ("www.example.com", Yes),
        (" \tWWW.EXAMPLE.COM \t", Yes),
        ("www.example.com:8080", Yes),
        ("  www.example.com:80  ", Yes),
        ("a.www.example.com", No),
        ("www.example.co", No),
        ("www.example.com.", No),
    ] {
        assert_eq!(t(&exact, &req(host)), want, "{host:?}");
    }
    // IPv6 literal: the port goes, the colons inside the brackets stay.
    let v6 = Match::Host(b"[2001:db8::1]");
    assert_eq!(t(&v6, &req("[2001:db8::1]:8080")), Yes);
    assert_eq!(t(&v6, &req("[2001:DB8::1]")), Yes);
    assert_eq!(t(&v6, &req("[2001:db8::2]:8080")), No);
    assert_eq!(t(&Match::Host(b"[2001"), &req("[2001:db8::1]")), No);
    split_every_byte(&v6, &req(" [2001:db8::1]:8080"), Yes);
    // IPv4 with a port.
    let v4 = Match::Host(b"192.0.2.7");
    assert_eq!(t(&v4, &req("192.0.2.7:8080")), Yes);
    // Bare LF line ends and a lower-case header name.
    assert_eq!(t(&exact, b"GET / HTTP/1.0\nhOsT: www.example.com\n\n"), Yes);
}

#[test]
fn host_headers() {
    let r = Match::Host(b"a.example");
    // Missing Host: No once the headers end, NeedMore before.
    let missing = b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
    assert_eq!(t(&r, missing), No);
    split_every_byte(&r, missing, No);
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nAccept: */*\r\n"), NeedMore);
    assert_eq!(r.test(b"GET / HTTP/1.1\r\nAccept: */*\r\n", true, 0), No);
    // The Host line must end before it counts (the value may go on).
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nHost: a.example"), NeedMore);
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nHost: a.example\r"), NeedMore);
    // ... and then the head must end: a second Host header could come.
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nHost: a.example\r\n"), NeedMore);
    assert_eq!(
        r.test(b"GET / HTTP/1.1\r\nHost: a.example\r\n", true, 0),
        Yes
    );
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), Yes);
    assert_eq!(t(&r, b"GET / HTTP/1.1\r\nHost: a.example.org\r\n"), No);
    // Two Host headers: a server answers 400, no host rule matches.
    let two = b"GET / HTTP/1.1\r\nHost: b.example\r\nHost: a.example\r\n\r\n";
    assert_eq!(t(&r, two), No);
    split_every_byte(&r, two, No);
    let two = b"GET / HTTP/1.1\r\nX: 1\r\nHost: a.example\r\nHost: b.example\r\n\r\n";
    split_every_byte(&r, two, No);
    // Not a Host header: other names, names containing "host".
    let near = b"GET / HTTP/1.1\r\nX-Host: a.example\r\nHostname: a.example\r\n\r\n";
    assert_eq!(t(&r, near), No);
    // A bad request line: malformed, no match.
    assert_eq!(t(&r, b"GET / HTTP/x.1\r\nHost: a.example\r\n\r\n"), No);
    assert_eq!(t(&r, b"GET / FTP/1.1\r\nHost: a.example\r\n\r\n"), No);
    assert_eq!(t(&r, b"GET / HTTP/1.1 \r\nHost: a.example\r\n\r\n"), No);
    assert_eq!(t(&r, b"GET / HTTP/1.1\rHost: a.example\r\n\r\n"), No);
    assert_eq!(t(&r, b"GET HTTP/1.1\r\nHost: a.example\r\n\r\n"), No);
    assert_eq!(t(&r, b"GET / HTTP/1."), NeedMore);
}

#[test]
fn pipelined_second_request_is_ignored() {
    let data = b"GET /a HTTP/1.1\r\nHost: one.example\r\n\r\n\
                 GET /static/x HTTP/1.1\r\nHost: two.example\r\n\r\n";
    let rules = [
        http(None, b"/static"),
        Match::Host(b"two.example"),
        Match::Host(b"one.example"),
        Match::Default,
    ];
    assert_eq!(first_match(&rules, data, false, 0), Decision::Rule(2));
    for (rule, want) in [(rules[0], No), (rules[1], No), (rules[2], Yes)] {
        split_every_byte(&rule, data, want);
    }
    // Without a Host in the first request, the second one's is not used.
    let data = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: two.example\r\n\r\n";
    assert_eq!(t(&rules[1], data), No);
}

#[test]
fn binary_is_not_http() {
    let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    for rule in [
        http(None, b""),
        http(Some(b"GET"), b"/"),
        Match::Host(b".example.com"),
    ] {
        assert_eq!(t(&rule, tls), No);
        split_every_byte(&rule, tls, No);
    }
    assert_eq!(t(&Match::Prefix(b"\x16\x03"), tls), Yes);
    assert_eq!(t(&Match::Default, tls), Yes);
}

#[test]
fn client_hash_share() {
    let half = Match::ClientHash { n: 1, m: nz(2) };
    assert_eq!(half.test(b"", false, 4), Yes);
    assert_eq!(half.test(b"", false, 5), No);
    assert_eq!(half.test(b"anything", true, 7), No);
    let all = Match::ClientHash { n: 3, m: nz(3) };
    let none = Match::ClientHash { n: 0, m: nz(3) };
    let one = Match::ClientHash { n: 1, m: nz(1) };
    for h in [0, 1, 2, 3, 1000, u32::MAX] {
        assert_eq!(all.test(b"", false, h), Yes);
        assert_eq!(none.test(b"", false, h), No);
        assert_eq!(one.test(b"", false, h), Yes);
    }
    // A share never waits for data.
    assert_eq!(half.test(b"", false, 2), Yes);
    assert_eq!(Match::Default.test(b"", false, 0), Yes);
    assert_eq!(Match::Default.test(b"", true, 0), Yes);
}

#[test]
fn first_match_order() {
    let get = b"GET /static/x HTTP/1.1\r\nHost: a.example\r\n\r\n";
    let rules = [
        Match::Host(b"b.example"),
        http(Some(b"GET"), b"/static"),
        Match::Default,
    ];
    // Earlier No lets a later Yes win.
    assert_eq!(first_match(&rules, get, false, 0), Decision::Rule(1));
    // An earlier NeedMore blocks a later Yes.
    let part = b"GET /static/x HTTP/1.1\r\nHo";
    assert_eq!(first_match(&rules, part, false, 0), Decision::NeedMore);
    // ... until complete: then it is No and the later Yes wins.
    assert_eq!(first_match(&rules, part, true, 0), Decision::Rule(1));
    // All No.
    let no = [Match::Prefix(b"SSH-"), Match::Host(b"b.example")];
    assert_eq!(first_match(&no, get, false, 0), Decision::NoRule);
    assert_eq!(first_match(&[], get, false, 0), Decision::NoRule);
    // Share before default.
    let share = [Match::ClientHash { n: 1, m: nz(4) }, Match::Default];
    assert_eq!(first_match(&share, b"", false, 8), Decision::Rule(0));
    assert_eq!(first_match(&share, b"", false, 9), Decision::Rule(1));
    // Works over any iterator of references.
    let v: Vec<Match<'_>> = rules.to_vec();
    assert_eq!(
        first_match(v.iter().skip(2), get, false, 0),
        Decision::Rule(0)
    );
}

fn addr(bytes: &[u8]) -> [u8; 16] {
    let mut a = [0; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    a
}

#[test]
fn client_hash_stable() {
    let v4 = addr(&[192, 0, 2, 1]);
    // Family matters, and family 4 ignores bytes 4..16.
    assert_ne!(client_hash(4, &v4), client_hash(6, &v4));
    let mut junk = v4;
    junk[15] = 0xff;
    assert_eq!(client_hash(4, &v4), client_hash(4, &junk));
    assert_ne!(client_hash(6, &v4), client_hash(6, &junk));
    assert_ne!(client_hash(4, &v4), client_hash(4, &addr(&[192, 0, 2, 2])));
    // Golden values: changing them breaks stickiness across an upgrade.
    assert_eq!(client_hash(4, &v4), GOLDEN_V4);
    let v6 = addr(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(client_hash(6, &v6), GOLDEN_V6);
    assert_eq!(client_hash(4, &[0; 16]), GOLDEN_ZERO);
}

// Computed once (and cross-checked with an independent implementation of
// FNV-1a 64 + splitmix64 + fold) when the hash was introduced.
const GOLDEN_V4: u32 = 0x6983_717a;
const GOLDEN_V6: u32 = 0xbe61_db3d;
const GOLDEN_ZERO: u32 = 0x698a_8518;

const NAMES: [&[u8]; 3] = [b"node-a", b"node-b", b"node-c"];

#[test]
fn rendezvous_spread_and_removal() {
    let keys = 0..3000u32;
    let owner: Vec<usize> = keys
        .clone()
        .map(|k| rendezvous(NAMES, k, |_| true).unwrap())
        .collect();
    for i in 0..3 {
        let n = owner.iter().filter(|&&o| o == i).count();
        assert!((750..=1260).contains(&n), "node {i} owns {n} of 3000");
    }
    // Keys are spread by the hash, not by the key's low bits.
    assert_ne!(owner[..8], owner[8..16]);
    for gone in 0..3 {
        // Remove by skipping it, and by dropping it from the list.
        let rest: Vec<&[u8]> = (0..3).filter(|&i| i != gone).map(|i| NAMES[i]).collect();
        for k in keys.clone() {
            let before = owner[k as usize];
            let skipped = rendezvous(NAMES, k, |i| i != gone).unwrap();
            let dropped = rest[rendezvous(rest.iter().copied(), k, |_| true).unwrap()];
            assert_eq!(NAMES[skipped], dropped);
            assert_ne!(skipped, gone);
            if before != gone {
                assert_eq!(skipped, before, "key {k} moved off a node that stayed");
            }
        }
    }
}

#[test]
fn rendezvous_edges() {
    assert_eq!(rendezvous(NAMES, 7, |_| false), None);
    assert_eq!(rendezvous([], 7, |_| true), None);
    for k in 0..100 {
        assert_eq!(rendezvous(NAMES, k, |i| i == 1), Some(1));
        assert_eq!(rendezvous([&b"solo"[..]], k, |_| true), Some(0));
        // Equal names tie: the lower index wins.
        assert_eq!(rendezvous([&b"x"[..], b"x"], k, |_| true), Some(0));
        assert_eq!(rendezvous([&b"y"[..], b"x", b"x"], k, |i| i > 0), Some(1));
    }
    // Deterministic.
    assert_eq!(
        rendezvous(NAMES, 12345, |_| true),
        rendezvous(NAMES, 12345, |_| true)
    );
}

/// xorshift64: a seeded stream for the no-panic loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn no_panic_on_random_bytes() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // Bytes from an alphabet that often forms request-like data.
    const ALPHABET: &[u8] = b"GET POST/ HTTP/1.1\r\n\r\nHost: [::1]:80 .example.com\t:\x00\xff";
    let rules = [
        Match::Prefix(b"GET /"),
        http(None, b"/"),
        http(Some(b"GET"), b"/static"),
        Match::Host(b".example.com"),
        Match::Host(b"[::1]"),
        Match::Host(b""),
        Match::ClientHash { n: 2, m: nz(3) },
        Match::Default,
    ];
    let mut buf = Vec::new();
    for round in 0..20_000 {
        buf.clear();
        let len = (rng.next() % 96) as usize;
        for _ in 0..len {
            let r = rng.next();
            let b = if round % 2 == 0 {
                ALPHABET[(r % ALPHABET.len() as u64) as usize]
            } else {
                r as u8
            };
            buf.push(b);
        }
        let h = rng.next() as u32;
        for rule in &rules {
            let full = rule.test(&buf, false, h);
            assert_ne!(rule.test(&buf, true, h), NeedMore);
            // Monotonic on random data too: a decided prefix holds.
            let cut = (rng.next() % (len as u64 + 1)) as usize;
            let part = rule.test(&buf[..cut], false, h);
            if part != NeedMore {
                assert_eq!(part, full, "{rule:?} on {buf:?} cut at {cut}");
            }
        }
        let _ = first_match(&rules, &buf, round % 3 == 0, h);
        let _ = rendezvous(NAMES, h, |i| i != (h % 3) as usize);
        let mut a = [0; 16];
        a[..8].copy_from_slice(&rng.next().to_le_bytes());
        let _ = client_hash((h % 8) as u8, &a);
    }
}

// Issue 19, item 6: the rules read a request the way RFC 9110/9112
// servers (busybox httpd, nginx) do, so that the rule that routes a
// request and the server that serves it read the same request.

/// `GET <target> HTTP/1.1`, the given header lines, the blank line.
fn request(target: &str, headers: &[&str]) -> Vec<u8> {
    let mut s = std::format!("GET {target} HTTP/1.1\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// Feeds every prefix of `data` (complete == false) and checks that the
/// verdict never leaves Yes/No once reached and ends as `want`; also that
/// complete == true never gives NeedMore and agrees with a decided verdict
/// (where the partial verdict was NeedMore, an http or host rule may
/// decide on a head cut short either way).
fn split_every_byte(rule: &Match<'_>, data: &[u8], want: Verdict) {
    let mut decided: Option<Verdict> = None;
    for k in 0..=data.len() {
        let part = &data[..k];
        let v = rule.test(part, false, 0);
        if let Some(d) = decided {
            assert_eq!(v, d, "{rule:?} flipped at byte {k} of {data:?}");
        } else if v != NeedMore {
            decided = Some(v);
        }
        let c = rule.test(part, true, 0);
        assert_ne!(c, NeedMore);
        if v != NeedMore {
            assert_eq!(c, v, "{rule:?} complete at byte {k} of {data:?}");
        }
    }
    assert_eq!(rule.test(data, false, 0), want, "{rule:?} on {data:?}");
}

/// The walk over `rules` at every split of `data` (never complete):
/// NeedMore until it decides, then always `want`.
fn split_walk(rules: &[Match<'_>], data: &[u8], want: Decision) {
    let mut decided: Option<Decision> = None;
    for k in 0..=data.len() {
        let d = first_match(rules, &data[..k], false, 0);
        if let Some(before) = decided {
            assert_eq!(d, before, "{rules:?} flipped at byte {k} of {data:?}");
        } else if d != Decision::NeedMore {
            decided = Some(d);
        }
        assert_ne!(first_match(rules, &data[..k], true, 0), Decision::NeedMore);
    }
    assert_eq!(first_match(rules, data, false, 0), want, "{data:?}");
}

#[test]
fn absolute_form_sets_the_host() {
    let a = Match::Host(b"a.example");
    let b = Match::Host(b"b.example");
    // The authority decides; the Host header is ignored.
    let req = request("http://a.example/static/x", &["Host: b.example"]);
    split_every_byte(&a, &req, Yes);
    split_every_byte(&b, &req, No);
    split_every_byte(&http(None, b"/static/"), &req, Yes);
    split_every_byte(&http(Some(b"GET"), b"http:"), &req, No);
    // Scheme case, https, a port, no Host header at all.
    let req = request("HTTPS://A.Example:8443/static/x?q=1", &[]);
    split_every_byte(&a, &req, Yes);
    split_every_byte(&http(None, b"/static/x"), &req, Yes);
    split_every_byte(&http(None, b"/static/x?"), &req, No);
    assert_eq!(t(&Match::Host(b".example"), &req), Yes);
    // No path: "/".
    for target in [
        "http://a.example",
        "http://a.example?x=/static",
        "http://a.example#f",
    ] {
        let req = request(target, &["Host: b.example"]);
        assert_eq!(t(&http(None, b"/"), &req), Yes, "{target}");
        assert_eq!(t(&http(None, b"/static"), &req), No, "{target}");
        assert_eq!(t(&a, &req), Yes, "{target}");
        assert_eq!(t(&b, &req), No, "{target}");
    }
    // An IPv6 literal keeps its brackets, loses its port.
    let req = request("http://[2001:db8::1]:8080/", &["Host: a.example"]);
    split_every_byte(&Match::Host(b"[2001:db8::1]"), &req, Yes);
    split_every_byte(&a, &req, No);
    // The path of an absolute-form target is normalised too.
    let req = request("http://a.example/x/..//%73tatic/./y", &[]);
    split_every_byte(&http(None, b"/static/y"), &req, Yes);
    // A rule walk routes by the authority.
    let rules = [b, a, Match::Default];
    let req = request("http://a.example/", &["Host: b.example"]);
    split_walk(&rules, &req, Decision::Rule(1));
}

#[test]
fn paths_are_normalised() {
    for (target, path, want) in [
        // Percent-decoding, hex digits either case.
        ("/%73tatic/x", "/static", Yes),
        ("/%73TATIC/x", "/static", No),
        ("/stat%69c", "/static", Yes),
        ("/st%61%74ic/x", "/static/x", Yes),
        ("/%2Fstatic", "/static", Yes),
        ("/static%2fx", "/static/x", Yes),
        // A decoded '?', '#' or '%' is part of the path.
        ("/st%3fatic", "/st?atic", Yes),
        ("/st%3fatic", "/static", No),
        ("/a%2523", "/a%23", Yes),
        // Merged slashes.
        ("//static", "/static", Yes),
        ("/static//x", "/static/x", Yes),
        ("///static///x", "/static/x", Yes),
        // Dot segments.
        ("/a/../static/x", "/static", Yes),
        ("/a/b/../../static/x", "/static/x", Yes),
        ("/static/./x", "/static/x", Yes),
        ("/./static", "/static", Yes),
        ("/static/..", "/static", No),
        ("/static/..", "/", Yes),
        ("/static/x/..", "/static/", Yes),
        ("/static/x/.", "/static/x/", Yes),
        ("/static/%2e%2e/private", "/static", No),
        ("/static/%2e%2e/private", "/private", Yes),
        ("/static/.%2E/private", "/private", Yes),
        ("/static/%2e/x", "/static/x", Yes),
        ("/static/..%2fprivate", "/private", Yes),
        ("/a//../static", "/static", Yes),
        // Not dot segments.
        ("/.../x", "/.../x", Yes),
        ("/a/..b", "/a/..b", Yes),
        ("/a/.b", "/a/.b", Yes),
        ("/a/b..", "/a/b..", Yes),
        // The path ends at '?' or '#'; the query is not normalised.
        ("/static?x=/../..", "/static", Yes),
        ("/static?x", "/static?", No),
        ("/x/..?/static", "/static", No),
        ("/static#/../x", "/static", Yes),
        ("/stat?ic", "/static", No),
    ] {
        let rule = http(None, path.as_bytes());
        let req = request(target, &["Host: a.example"]);
        split_every_byte(&rule, &req, want);
        let rules = [rule, Match::Default];
        let walk = if want == Yes { 0 } else { 1 };
        split_walk(&rules, &req, Decision::Rule(walk));
    }
    // Long segments: a '..' still undoes them.
    let long = "a".repeat(300);
    for (target, path) in [
        (std::format!("/{long}/../static"), "/static"),
        (std::format!("/{long}/b/../../static"), "/static"),
        (
            std::format!("/x/{long}/{long}/{long}/../../../static"),
            "/x/static",
        ),
        (std::format!("/x{long}/../static"), "/static"),
        (std::format!("/static/{long}"), "/static/aaaa"),
    ] {
        let req = request(&target, &[]);
        split_every_byte(&http(None, path.as_bytes()), &req, Yes);
    }
    let req = request(&std::format!("/static/{long}/../.."), &[]);
    assert_eq!(t(&http(None, b"/static"), &req), No);
    assert_eq!(t(&http(None, b"/"), &req), Yes);
}

/// Requests a server must answer 400 (among what the rules read).
const MALFORMED: &[&[u8]] = &[
    // Percent escapes: not two hex digits, or a NUL.
    b"GET /%zz HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static/%4 HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static/%4g HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static/% HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static/x%00 HTTP/1.1\r\nHost: a.example\r\n\r\n",
    // Climbing above the root.
    b"GET /.. HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static/../../x HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /%2e%2e/static HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET http://a.example/../static HTTP/1.1\r\n\r\n",
    // Target forms.
    b"GET * HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"OPTIONS *x HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET http:///static HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET http://u@a.example/static HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET http://a.example:80@b.example/ HTTP/1.1\r\n\r\n",
    b"GET /sta\x01tic HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static\tx HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static?x\x7f HTTP/1.1\r\nHost: a.example\r\n\r\n",
    // Version and line end.
    b"GET /static HTTP/1.x\r\nHost: a.example\r\n\r\n",
    b"GET /static HTTP/11\r\nHost: a.example\r\n\r\n",
    b"GET /static http/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /static HTTP/1.1 \r\nHost: a.example\r\n\r\n",
    b"GET /static HTTP/1.1\rHost: a.example\r\n\r\n",
    b"GET /static\r\nHost: a.example\r\n\r\n",
    // Host headers: two of them (any case, also with absolute-form),
    // whitespace before the colon, a folded line.
    b"GET /static HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n",
    b"GET /static HTTP/1.1\r\nHost: a.example\r\nX: 1\r\nhOST: b.example\r\n\r\n",
    b"GET /static HTTP/1.0\nHost: a.example\nHost: b.example\n\n",
    b"GET http://a.example/static HTTP/1.1\r\nHost: a.example\r\nHost: b\r\n\r\n",
    b"GET /static HTTP/1.1\r\nHost : a.example\r\n\r\n",
    b"GET /static HTTP/1.1\r\nHost: a.example\r\n b.example\r\n\r\n",
    b"GET /static HTTP/1.1\r\n Host: a.example\r\n\r\n",
];

#[test]
fn malformed_requests_get_the_fallback() {
    let rules = [
        http(None, b"/"),
        http(Some(b"GET"), b"/static"),
        Match::Host(b"a.example"),
        Match::Host(b".example"),
        Match::Default,
    ];
    for &data in MALFORMED {
        // No http or host rule matches ...
        for rule in &rules[..4] {
            split_every_byte(rule, data, No);
        }
        // ... and the walk ends at the first of them: the fallback,
        // even with a default rule after it.
        split_walk(&rules, data, Decision::NoRule);
        split_walk(&rules[2..], data, Decision::NoRule);
        split_walk(
            &[http(Some(b"POST"), b"/x"), Match::Default],
            data,
            Decision::NoRule,
        );
        // Rules before it still decide as before.
        let before = [
            Match::Prefix(b"GET "),
            Match::ClientHash { n: 1, m: nz(1) },
            http(None, b"/"),
            Match::Default,
        ];
        let prefix = [Match::Prefix(b"OPTIONS"), http(None, b"/"), Match::Default];
        let want = if data.starts_with(b"OPTIONS") {
            Decision::Rule(0)
        } else {
            Decision::NoRule
        };
        split_walk(&prefix, data, want);
        let want = if data.starts_with(b"GET ") {
            Decision::Rule(0)
        } else {
            Decision::Rule(1)
        };
        split_walk(&before, data, want);
        let share = [Match::ClientHash { n: 1, m: nz(1) }, http(None, b"/")];
        split_walk(&share, data, Decision::Rule(0));
    }
    // Not HTTP at all is not malformed HTTP: later rules still match.
    // Neither is a target of another form (a server rejects it too, but
    // no http or host rule can match it): "HELO there" is for a later
    // `prefix HELO` rule.
    for data in [
        &b"\x16\x03\x01\x02\x00"[..],
        b"get / HTTP/1.1\r\n\r\n",
        b"SSH-2.0-x\r\n",
        b"HELO there\r\n",
        b"HELO hermes.example\r\n",
        b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n",
        b"GET static HTTP/1.1\r\nHost: a.example\r\n\r\n",
        b"GET ftp://a.example/static HTTP/1.1\r\n\r\n",
        b"GET http:/a.example/static HTTP/1.1\r\n\r\n",
        b"GET  /static HTTP/1.1\r\nHost: a.example\r\n\r\n",
    ] {
        split_walk(&rules, data, Decision::Rule(4));
        for rule in &rules[..4] {
            split_every_byte(rule, data, No);
        }
    }
    let helo = [
        http(None, b"/static"),
        Match::Host(b"a.example"),
        Match::Prefix(b"HELO"),
        Match::Default,
    ];
    split_walk(&helo, b"HELO there\r\n", Decision::Rule(2));
    // Well-formed: asterisk-form for OPTIONS, HTTP/1.0 without a Host.
    let options = b"OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n";
    split_walk(&rules, options, Decision::Rule(2));
    split_every_byte(&http(None, b"/"), options, No);
    let old = b"GET /static HTTP/1.0\r\n\r\n";
    split_walk(&rules, old, Decision::Rule(0));
    split_walk(&rules[2..], old, Decision::Rule(2));
}

#[test]
fn missing_host_is_no_match_not_malformed() {
    let rules = [Match::Host(b"a.example"), Match::Default];
    let data = request("/static", &["Accept: */*"]);
    split_walk(&rules, &data, Decision::Rule(1));
    split_every_byte(&rules[0], &data, No);
}

#[test]
fn split_requests_wait_for_the_head() {
    let rule = http(None, b"/static");
    let host = Match::Host(b"a.example");
    let rules = [rule, host, Match::Default];
    // A later "/../" can still move the path: undecided until the SP.
    for part in [
        &b"GET /static"[..],
        b"GET /static/",
        b"GET /static/x/..",
        b"GET /static/..",
    ] {
        assert_eq!(t(&rule, part), NeedMore, "{part:?}");
        assert_eq!(first_match(&rules, part, false, 0), Decision::NeedMore);
        // Complete: the path never ended, no match.
        assert_eq!(rule.test(part, true, 0), No, "{part:?}");
    }
    assert_eq!(t(&rule, b"GET /static/.. HTTP/1.1\r\n\r\n"), No);
    assert_eq!(t(&rule, b"GET /static/%2"), NeedMore);
    assert_eq!(t(&rule, b"GET /static/%2z"), No);
    // The path known, the head not ended: a second Host header may come.
    let head = b"GET /static/x HTTP/1.1\r\nHost: a.example\r\n";
    assert_eq!(t(&rule, head), NeedMore);
    assert_eq!(t(&host, head), NeedMore);
    assert_eq!(first_match(&rules, head, false, 0), Decision::NeedMore);
    // At the end of the data (max-bytes, end of stream, timeout) a head
    // cut short is decided on what came.
    assert_eq!(rule.test(head, true, 0), Yes);
    assert_eq!(host.test(head, true, 0), Yes);
    assert_eq!(first_match(&rules, head, true, 0), Decision::Rule(0));
    let query = b"GET /static/x?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert_eq!(t(&rule, query), NeedMore);
    assert_eq!(rule.test(query, true, 0), Yes);
    // A Host line not ended yet does not count.
    let cut = b"GET /x HTTP/1.1\r\nHost: a.example";
    assert_eq!(host.test(cut, true, 0), No);
    assert_eq!(first_match(&rules, cut, true, 0), Decision::Rule(2));
    // Two Host headers already there: malformed, complete or not.
    let two = b"GET /static HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n";
    assert_eq!(first_match(&rules, two, false, 0), Decision::NoRule);
    assert_eq!(first_match(&rules, two, true, 0), Decision::NoRule);
    // The blank line decides.
    let full = b"GET /static/x HTTP/1.1\r\nHost: a.example\r\n\r\n";
    split_walk(&rules, full, Decision::Rule(0));
    split_walk(&rules[1..], full, Decision::Rule(0));
    split_every_byte(&rule, full, Yes);
    split_every_byte(&host, full, Yes);
    // A method that can no longer be the rule's is No at once, but the
    // walk waits for the head.
    let get = http(Some(b"GET"), b"/");
    assert_eq!(t(&get, b"P"), No);
    assert_eq!(t(&get, b"POST /"), No);
    assert_eq!(
        first_match(&[get, Match::Default], b"POST /", false, 0),
        Decision::NeedMore
    );
    split_walk(
        &[get, Match::Default],
        &request("/x", &[]),
        Decision::Rule(0),
    );
}

#[test]
fn no_panic_on_hostile_requests() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Pieces that often form request-like, odd targets and heads.
    const PIECES: &[&[u8]] = &[
        b"GET ",
        b"OPTIONS ",
        b"/",
        b"//",
        b"/.",
        b"/..",
        b".",
        b"..",
        b"%",
        b"%2e",
        b"%2E",
        b"%2f",
        b"%00",
        b"%zz",
        b"%4",
        b"?",
        b"#",
        b"*",
        b"@",
        b"http://",
        b"HTTPS://",
        b"ftp:",
        b"a.example",
        b"[::1]",
        b":80",
        b" ",
        b"  ",
        b"HTTP/1.1",
        b"HTTP/1.",
        b"\r\n",
        b"\n",
        b"\r",
        b"Host: ",
        b"host:",
        b"Host : ",
        b" x",
        b"\t",
        b"\x00",
        b"\xff",
        b"static",
    ];
    let rules = [
        Match::Prefix(b"GET /"),
        http(None, b"/"),
        http(Some(b"GET"), b"/static"),
        http(None, b"/static/../x"),
        http(None, b""),
        Match::Host(b".example"),
        Match::Host(b"[::1]"),
        Match::Host(b""),
        Match::ClientHash { n: 1, m: nz(2) },
        Match::Default,
    ];
    let mut buf = Vec::new();
    for round in 0..20_000 {
        buf.clear();
        let n = rng.next() % 24;
        for _ in 0..n {
            let r = rng.next();
            if round % 5 == 0 {
                buf.push(r as u8);
            } else {
                buf.extend_from_slice(PIECES[(r % PIECES.len() as u64) as usize]);
            }
        }
        let h = rng.next() as u32;
        let full = first_match(&rules, &buf, false, h);
        assert_ne!(first_match(&rules, &buf, true, h), Decision::NeedMore);
        let cut = (rng.next() % (buf.len() as u64 + 1)) as usize;
        let part = first_match(&rules, &buf[..cut], false, h);
        if part != Decision::NeedMore {
            assert_eq!(part, full, "{buf:?} cut at {cut}");
        }
        for rule in &rules {
            let v = rule.test(&buf, false, h);
            assert_ne!(rule.test(&buf, true, h), NeedMore);
            let p = rule.test(&buf[..cut], false, h);
            if p != NeedMore {
                assert_eq!(p, v, "{rule:?} on {buf:?} cut at {cut}");
            }
        }
    }
}

/// The normalised path the simple way (None: above the root), for
/// targets without '?', '#' or bad escapes.
fn reference_path(target: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < target.len() {
        if target[i] == b'%' {
            let hex = std::str::from_utf8(&target[i + 1..i + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            decoded.push(target[i]);
            i += 1;
        }
    }
    let segments: Vec<&[u8]> = decoded[1..].split(|&b| b == b'/').collect();
    let mut stack: Vec<&[u8]> = Vec::new();
    let mut trailing = false;
    for seg in segments {
        trailing = true;
        match seg {
            b"" | b"." => {}
            b".." => {
                stack.pop()?;
            }
            _ => {
                stack.push(seg);
                trailing = false;
            }
        }
    }
    let mut out = Vec::new();
    for seg in &stack {
        out.push(b'/');
        out.extend_from_slice(seg);
    }
    if trailing || out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

#[test]
fn paths_like_a_reference() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let long = "L".repeat(120);
    let pieces: &[&[u8]] = &[
        b"/",
        b"/",
        b"a",
        b"bc",
        b".",
        b"..",
        b"%2e",
        b"%2E",
        b"%2f",
        b"%41",
        b"%3f",
        b"%25",
        long.as_bytes(),
    ];
    let mut target = Vec::new();
    for _ in 0..20_000 {
        target.clear();
        target.push(b'/');
        for _ in 0..rng.next() % 16 {
            target.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
        }
        let mut data = b"GET ".to_vec();
        data.extend_from_slice(&target);
        data.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        let rules = [http(None, b"/"), Match::Default];
        match reference_path(&target) {
            None => {
                assert_eq!(t(&rules[0], &data), No, "{target:?}");
                assert_eq!(first_match(&rules, &data, false, 0), Decision::NoRule);
            }
            Some(want) => {
                assert_eq!(first_match(&rules, &data, false, 0), Decision::Rule(0));
                let cut = (rng.next() % 257) as usize;
                let prefix = &want[..cut.min(want.len())];
                assert_eq!(t(&http(None, prefix), &data), Yes, "{target:?}: {want:?}");
                if want.len() < 256 {
                    let mut longer = want.clone();
                    longer.push(b'/');
                    assert_eq!(t(&http(None, &longer), &data), No, "{target:?}");
                }
                if cut < want.len() && cut < 256 {
                    let mut other = want[..=cut].to_vec();
                    other[cut] ^= 1;
                    assert_eq!(t(&http(None, &other), &data), No, "{target:?}");
                }
            }
        }
    }
}
