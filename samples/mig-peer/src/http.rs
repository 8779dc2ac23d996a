//! Request heads for `mig-peer http` and `mig-peer request`: where a
//! head ends, what it says, how the client builds one, and the escapes of
//! `request -r`.
//!
//! A head is its first line and, when that line is `METHOD PATH HTTP/x`,
//! the header lines up to a blank line. Lines end in CRLF or a bare LF.
//! Any other first line (a raw prefix, `GET PATH` of HTTP/0.9) is the
//! whole head, so a client that sends one line still gets an answer.

/// What the server needs of a request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// The first word of the first line, `-` if none.
    pub method: String,
    /// The second word of the first line, `-` if none.
    pub path: String,
    /// The `Host` header's value.
    pub host: Option<String>,
    /// How many bytes of body follow the head.
    pub content_length: Option<u64>,
    /// How many bytes of the server stream the client asks for.
    pub x_body: Option<u64>,
}

/// The lines of `buf` that are complete: (start, end without the line
/// end, start of the next line).
fn lines(buf: &[u8]) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        let nl = start + buf.get(start..)?.iter().position(|&b| b == b'\n')?;
        let end = if nl > start && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let line = (start, end, nl + 1);
        start = nl + 1;
        Some(line)
    })
}

/// Whether a request line is `METHOD PATH HTTP/x` (headers follow).
fn is_http(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let words: Vec<&str> = text.split_whitespace().collect();
    words.len() == 3 && words[2].starts_with("HTTP/")
}

/// The length of the head at the start of `buf`, its blank line
/// included, once all of it is there.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    let mut it = lines(buf);
    let (start, end, next) = it.next()?;
    if !is_http(&buf[start..end]) {
        return Some(next);
    }
    it.find(|&(s, e, _)| s == e).map(|(_, _, n)| n)
}

/// Parses a whole head (as `head_len` delimits it).
pub fn parse(head: &[u8]) -> Result<Head, String> {
    let mut it = lines(head);
    let (start, end, _) = it.next().ok_or("no request line")?;
    let first = String::from_utf8_lossy(&head[start..end]);
    let mut words = first.split_whitespace();
    let word = |w: Option<&str>| w.unwrap_or("-").to_string();
    let mut parsed = Head {
        method: word(words.next()),
        path: word(words.next()),
        host: None,
        content_length: None,
        x_body: None,
    };
    if !is_http(&head[start..end]) {
        return Ok(parsed);
    }
    for (s, e, _) in it.take_while(|&(s, e, _)| s != e) {
        let line = String::from_utf8_lossy(&head[s..e]);
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("header without ':': {line:?}"));
        };
        let (name, value) = (name.trim(), value.trim());
        let number = || -> Result<u64, String> {
            value.parse().map_err(|e| format!("{name}: {value:?}: {e}"))
        };
        if name.eq_ignore_ascii_case("host") {
            parsed.host = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            parsed.content_length = Some(number()?);
        } else if name.eq_ignore_ascii_case("x-body") {
            parsed.x_body = Some(number()?);
        }
    }
    Ok(parsed)
}

/// The head `mig-peer request` sends: HTTP/1.1 when it names a host,
/// HTTP/1.0 without one.
pub fn request_head(
    method: &str,
    path: &str,
    host: Option<&str>,
    content_length: Option<u64>,
    x_body: Option<u64>,
) -> Vec<u8> {
    let version = if host.is_some() { "1.1" } else { "1.0" };
    let mut head = format!("{method} {path} HTTP/{version}\r\n");
    if let Some(host) = host {
        head += &format!("Host: {host}\r\n");
    }
    if let Some(len) = content_length {
        head += &format!("Content-Length: {len}\r\n");
    }
    if let Some(len) = x_body {
        head += &format!("X-Body: {len}\r\n");
    }
    head += "\r\n";
    head.into_bytes()
}

/// `RAW` of `request -r` as bytes: `\r`, `\n`, `\t`, `\0`, `\\` and
/// `\xHH` are escapes, anything else stands for itself.
pub fn unescape(raw: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let hex = std::str::from_utf8(&hex).unwrap_or_default();
                let v = u8::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("bad \\x escape in {raw:?}"))?;
                out.push(v);
            }
            Some(c) => return Err(format!("unknown escape \\{} in {raw:?}", c as char)),
            None => return Err(format!("trailing \\ in {raw:?}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, path: &str) -> Head {
        Head {
            method: method.into(),
            path: path.into(),
            host: None,
            content_length: None,
            x_body: None,
        }
    }

    #[test]
    fn plain_request() {
        let req = b"GET /a HTTP/1.0\r\n\r\n";
        assert_eq!(head_len(req), Some(req.len()));
        assert_eq!(parse(req).unwrap(), head("GET", "/a"));
    }

    #[test]
    fn split_head_is_complete_only_at_its_blank_line() {
        let req = b"POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc";
        let len = req.len() - 3;
        for cut in 0..len {
            assert_eq!(head_len(&req[..cut]), None, "cut at {cut}");
        }
        for cut in len..=req.len() {
            assert_eq!(head_len(&req[..cut]), Some(len), "cut at {cut}");
        }
    }

    #[test]
    fn content_length_and_x_body() {
        let req = b"PUT /x HTTP/1.1\r\nContent-Length: 10485760\r\nX-Body: 42\r\n\r\n";
        let h = parse(req).unwrap();
        assert_eq!(h.method, "PUT");
        assert_eq!(h.path, "/x");
        assert_eq!(h.content_length, Some(10_485_760));
        assert_eq!(h.x_body, Some(42));
        assert_eq!(h.host, None);
    }

    #[test]
    fn names_are_case_insensitive_and_values_trimmed() {
        let req = b"GET / HTTP/1.1\r\nhOsT:  b.example \r\ncontent-LENGTH:7\r\nx-BODY: 9\r\n\r\n";
        let h = parse(req).unwrap();
        assert_eq!(h.host.as_deref(), Some("b.example"));
        assert_eq!(h.content_length, Some(7));
        assert_eq!(h.x_body, Some(9));
    }

    #[test]
    fn lf_only_and_mixed_line_ends() {
        let req = b"GET /lf HTTP/1.1\nHost: c.example\n\nrest";
        assert_eq!(head_len(req), Some(req.len() - 4));
        let h = parse(&req[..req.len() - 4]).unwrap();
        assert_eq!(h.path, "/lf");
        assert_eq!(h.host.as_deref(), Some("c.example"));
        let mixed = b"GET /m HTTP/1.1\r\nHost: d\n\r\n";
        assert_eq!(head_len(mixed), Some(mixed.len()));
        // A lone CR is no line end.
        assert_eq!(head_len(b"GET / HTTP/1.1\r\r\r\r"), None);
    }

    #[test]
    fn missing_host() {
        let req = b"GET /nohost HTTP/1.1\r\nAccept: */*\r\n\r\n";
        assert_eq!(parse(req).unwrap(), head("GET", "/nohost"));
    }

    #[test]
    fn pipelined_second_request_is_not_part_of_the_head() {
        let req = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /pipelined HTTP/1.1\r\nHost: other.example\r\n\r\n";
        let len = head_len(req).unwrap();
        assert_eq!(&req[len..len + 14], b"GET /pipelined");
        assert_eq!(parse(&req[..len]).unwrap().host.as_deref(), Some("a"));
    }

    #[test]
    fn a_non_http_first_line_is_the_whole_head() {
        assert_eq!(head_len(b"HELO"), None);
        assert_eq!(head_len(b"HELO\r\nmore"), Some(6));
        assert_eq!(parse(b"HELO\r\n").unwrap(), head("HELO", "-"));
        assert_eq!(head_len(b"GET /old\n"), Some(9));
        assert_eq!(parse(b"GET /old\n").unwrap(), head("GET", "/old"));
        assert_eq!(parse(b"\r\n").unwrap(), head("-", "-"));
    }

    #[test]
    fn bad_headers() {
        assert!(parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse(b"GET / HTTP/1.1\r\nX-Body: -1\r\n\r\n").is_err());
        assert!(parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n").is_err());
    }

    #[test]
    fn request_head_round_trips() {
        let req = request_head("POST", "/p", Some("e.example"), Some(5), Some(6));
        assert!(req.starts_with(b"POST /p HTTP/1.1\r\n"));
        assert_eq!(head_len(&req), Some(req.len()));
        let h = parse(&req).unwrap();
        assert_eq!(h.host.as_deref(), Some("e.example"));
        assert_eq!((h.content_length, h.x_body), (Some(5), Some(6)));
        assert_eq!(
            request_head("GET", "/a", None, None, None),
            b"GET /a HTTP/1.0\r\n\r\n"
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"HELO\r\n").unwrap(), b"HELO\r\n");
        assert_eq!(unescape(r"\x00\xff\t\\\0").unwrap(), b"\x00\xff\t\\\0");
        assert!(unescape(r"\x0").is_err());
        assert!(unescape(r"\q").is_err());
        assert!(unescape("a\\").is_err());
    }
}
