//! The bench protocol: what `serve` answers and `clients`, `bulk` and
//! `rr` speak. The client speaks first; each command is one text line
//! ending in `\n` (a `\r` before it is allowed), its data binary:
//!
//!   PAD N           N bytes follow; read and dropped, no answer (a
//!                   preamble, to have a receive queue at a hand-off)
//!   HELLO PATH      answered `200 PATH from NAME`
//!   SINK N          N bytes follow; answered `OK N` once all are read
//!   ECHO SIZE COUNT then COUNT rounds: the client sends SIZE bytes, the
//!                   server sends them back (1 <= SIZE <= 16 MiB)
//!   SOURCE N        answered with N bytes of the pattern, nothing else
//!
//! Any number of commands per connection, until the client closes (EOF
//! between commands). Anything else (an unknown or malformed line, a
//! line over 1024 bytes) is answered `ERR why` and the connection
//! closed. The connection is a byte stream read through a buffer, so a
//! head that arrived with earlier bytes (a migrated socket's receive
//! queue holds whatever the client sent before the hand-off) is read as
//! if it had come alone.

use crate::pattern;
use std::io::{self, BufRead, BufReader, Read, Write};

/// The longest command line, `\n` included.
pub const MAX_LINE: usize = 1024;
/// The largest ECHO round (the server holds one round in memory).
pub const MAX_ECHO: u64 = 16 << 20;
/// The size of the chunks data is read and written in.
const CHUNK: usize = 64 << 10;

/// One command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Pad(u64),
    Hello(String),
    Sink(u64),
    Echo { size: u64, count: u64 },
    Source(u64),
}

fn number(word: &str) -> Result<u64, String> {
    // `parse` would take a leading `+`.
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("not a number: {word:?}"));
    }
    word.parse().map_err(|_| format!("too large: {word}"))
}

impl Command {
    /// Parses a line, its `\n` (and `\r`) already cut.
    pub fn parse(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["PAD", n] => Ok(Self::Pad(number(n)?)),
            ["HELLO", path] if !path.is_empty() && path.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(Self::Hello((*path).to_string()))
            }
            ["SINK", n] => Ok(Self::Sink(number(n)?)),
            ["ECHO", size, count] => {
                let size = number(size)?;
                if !(1..=MAX_ECHO).contains(&size) {
                    return Err(format!("ECHO size {size}: 1-{MAX_ECHO}"));
                }
                Ok(Self::Echo {
                    size,
                    count: number(count)?,
                })
            }
            ["SOURCE", n] => Ok(Self::Source(number(n)?)),
            _ => Err(format!("bad command {line:?}")),
        }
    }

    /// The command as the client sends it.
    pub fn line(&self) -> String {
        match self {
            Self::Pad(n) => format!("PAD {n}\n"),
            Self::Hello(path) => format!("HELLO {path}\n"),
            Self::Sink(n) => format!("SINK {n}\n"),
            Self::Echo { size, count } => format!("ECHO {size} {count}\n"),
            Self::Source(n) => format!("SOURCE {n}\n"),
        }
    }
}

/// Why a line could not be read.
#[derive(Debug)]
pub enum LineError {
    Io(io::Error),
    /// EOF in the middle of a line, after this many bytes of it.
    Eof(usize),
    TooLong,
    NotText,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Eof(n) => write!(f, "EOF after {n} bytes of a line"),
            Self::TooLong => write!(f, "line over {MAX_LINE} bytes"),
            Self::NotText => write!(f, "line is not UTF-8"),
        }
    }
}

/// Reads one line, without its `\n` or `\r\n`; `Ok(None)` at EOF
/// before any byte of it.
pub fn read_line(r: &mut impl BufRead) -> Result<Option<String>, LineError> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .map_err(LineError::Io)?;
    match line.pop() {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) if line.len() + 1 == MAX_LINE => return Err(LineError::TooLong),
        Some(_) => return Err(LineError::Eof(line.len() + 1)),
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| LineError::NotText)
}

/// Reads and drops exactly `n` bytes, a reader's buffer at a time (no
/// copy: the receiving side of a bulk transfer costs reads only).
pub fn discard(r: &mut impl BufRead, n: u64) -> io::Result<()> {
    let mut left = n;
    while left > 0 {
        let k = r.fill_buf()?.len();
        if k == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("EOF after {} of {n} bytes", n - left),
            ));
        }
        let k = k.min(usize::try_from(left).unwrap_or(usize::MAX));
        r.consume(k);
        left -= k as u64;
    }
    Ok(())
}

/// Writes `n` bytes of the pattern, from offset 0. The pattern repeats:
/// the chunks are slices of one buffer made first, so the sending side
/// of a bulk transfer costs writes only.
pub fn write_pattern(w: &mut impl Write, n: u64) -> io::Result<()> {
    let chunk = CHUNK.min(usize::try_from(n).unwrap_or(CHUNK));
    let buf = pattern::bytes(0, chunk + pattern::PERIOD as usize);
    let mut off = 0;
    while off < n {
        let k = chunk.min(usize::try_from(n - off).unwrap_or(usize::MAX));
        // Below PERIOD: fits.
        let at = (off % pattern::PERIOD) as usize;
        w.write_all(&buf[at..at + k])?;
        off += k as u64;
    }
    Ok(())
}

/// Serves one connection until the client closes it: `Err` for a bad
/// line (answered `ERR`) or a broken connection.
pub fn serve<S: Read + Write>(conn: S, name: &str) -> Result<(), String> {
    let mut r = BufReader::with_capacity(CHUNK, conn);
    loop {
        let line = match read_line(&mut r) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(()),
            Err(LineError::Io(e)) => return Err(e.to_string()),
            Err(LineError::Eof(n)) => return Err(format!("EOF after {n} bytes of a line")),
            Err(e) => return Err(refuse(r.get_mut(), &e.to_string())),
        };
        let cmd = match Command::parse(&line) {
            Ok(cmd) => cmd,
            Err(e) => return Err(refuse(r.get_mut(), &e)),
        };
        run(&mut r, &cmd, name).map_err(|e| format!("{}: {e}", line))?;
    }
}

/// Answers `ERR why`; returns `why` for the caller's error.
fn refuse(w: &mut impl Write, why: &str) -> String {
    // Best effort: the connection is closed next anyway.
    let _ = w.write_all(format!("ERR {why}\n").as_bytes());
    why.to_string()
}

/// Does one command.
fn run<S: Read + Write>(r: &mut BufReader<S>, cmd: &Command, name: &str) -> io::Result<()> {
    match *cmd {
        Command::Pad(n) => discard(r, n),
        Command::Hello(ref path) => r
            .get_mut()
            .write_all(format!("200 {path} from {name}\n").as_bytes()),
        Command::Sink(n) => {
            discard(r, n)?;
            r.get_mut().write_all(format!("OK {n}\n").as_bytes())
        }
        Command::Echo { size, count } => {
            // At most MAX_ECHO: fits.
            let mut buf = vec![0; size as usize];
            for _ in 0..count {
                r.read_exact(&mut buf)?;
                r.get_mut().write_all(&buf)?;
            }
            Ok(())
        }
        Command::Source(n) => write_pattern(r.get_mut(), n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn commands() {
        let ok = [
            ("PAD 65536", Command::Pad(65536)),
            ("HELLO /bench", Command::Hello("/bench".into())),
            ("SINK 0", Command::Sink(0)),
            (
                "ECHO 64 1000",
                Command::Echo {
                    size: 64,
                    count: 1000,
                },
            ),
            ("SOURCE 18446744073709551615", Command::Source(u64::MAX)),
        ];
        for (line, cmd) in ok {
            assert_eq!(Command::parse(line).as_ref(), Ok(&cmd), "{line}");
            assert_eq!(cmd.line(), format!("{line}\n"));
        }
        for bad in [
            "",
            "HELLO",
            "HELLO ",
            "HELLO a b",
            "hello /x",
            "PAD",
            "PAD -1",
            "PAD +1",
            "PAD 1 2",
            "SINK 18446744073709551616",
            "ECHO 0 5",
            "ECHO 16777217 1",
            "ECHO 64",
            "SOURCE x",
            "GET / HTTP/1.0",
            "PAD  1",
        ] {
            assert!(Command::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lines() {
        let mut r = Cursor::new(b"one\ntwo\r\n\nthree".to_vec());
        assert_eq!(read_line(&mut r).unwrap().as_deref(), Some("one"));
        assert_eq!(read_line(&mut r).unwrap().as_deref(), Some("two"));
        assert_eq!(read_line(&mut r).unwrap().as_deref(), Some(""));
        assert!(matches!(read_line(&mut r), Err(LineError::Eof(5))));
        assert!(read_line(&mut r).unwrap().is_none());
        let long = vec![b'x'; MAX_LINE + 10];
        assert!(matches!(
            read_line(&mut Cursor::new(long)),
            Err(LineError::TooLong)
        ));
        let mut exact = vec![b'x'; MAX_LINE - 1];
        exact.push(b'\n');
        assert_eq!(
            read_line(&mut Cursor::new(exact)).unwrap().map(|l| l.len()),
            Some(MAX_LINE - 1)
        );
        assert!(matches!(
            read_line(&mut Cursor::new(b"\xff\n".to_vec())),
            Err(LineError::NotText)
        ));
    }

    /// A connection in memory: what the client sent, what the server
    /// answered.
    struct Conn {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Conn {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Conn {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn exchange(input: Vec<u8>) -> (Result<(), String>, Vec<u8>) {
        let mut conn = Conn {
            input: Cursor::new(input),
            output: Vec::new(),
        };
        let r = serve(&mut conn, "be1");
        (r, conn.output)
    }

    #[test]
    fn a_whole_session() {
        // The preamble, the head and every command in one read, as a
        // migrated socket's receive queue would hold them.
        let mut input = Command::Pad(70_000).line().into_bytes();
        input.extend(pattern::bytes(0, 70_000));
        input.extend(b"HELLO /bench\nSINK 5\n12345ECHO 3 2\nabcdefSOURCE 300\nHELLO /again\r\n");
        let (r, out) = exchange(input);
        r.unwrap();
        let mut want = b"200 /bench from be1\nOK 5\nabcdef".to_vec();
        want.extend(pattern::bytes(0, 300));
        want.extend(b"200 /again from be1\n");
        assert_eq!(out, want);
        // A large SOURCE is the pattern throughout (its chunks start at
        // different phases of the period).
        let (r, out) = exchange(b"SOURCE 200000\n".to_vec());
        r.unwrap();
        assert_eq!(out.len(), 200_000);
        assert_eq!(pattern::mismatch(&out, 0), None);
    }

    #[test]
    fn refusals() {
        let (r, out) = exchange(b"HELLO /x\nGET / HTTP/1.0\nHELLO /y\n".to_vec());
        assert!(r.is_err());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "200 /x from be1\nERR bad command \"GET / HTTP/1.0\"\n"
        );
        // Data cut short is an error, not answered.
        let (r, out) = exchange(b"SINK 10\n12345".to_vec());
        assert!(r.unwrap_err().contains("EOF after 5 of 10"));
        assert!(out.is_empty());
        let (r, _) = exchange(b"HELLO /x".to_vec());
        assert!(r.is_err());
        let (r, out) = exchange(Vec::new());
        assert!(r.is_ok() && out.is_empty());
    }
}
