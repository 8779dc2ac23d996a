//! `mig-bench` end to end on loopback (127.0.0.1 and ::1 only): `serve`
//! in both modes, `clients`, `rtt`, `bulk`, `rr`, and the command lines
//! of `front` (which needs the tcpmig module, absent on a build host).

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_mig-bench");

/// A long-running subcommand, killed when the test ends.
struct Daemon {
    child: Child,
    /// What it printed after `listening `.
    at: String,
}

impl Daemon {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let at = line
            .trim_end()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{args:?}: {line:?}"))
            .to_string();
        Self { child, at }
    }

    fn addr(&self) -> SocketAddr {
        self.at.parse().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mig-bench-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs a client subcommand that must succeed; its JSON line.
fn json(args: &[&str]) -> Value {
    let out = run(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// A CSV log's rows as maps from its header's names.
fn csv(path: &PathBuf) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{l}");
            header
                .iter()
                .zip(fields)
                .map(|(h, f)| (h.to_string(), f.to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::BTreeMap<String, String>, name: &str) -> u64 {
    row[name].parse().unwrap()
}

#[test]
fn load_bulk_and_rr() {
    let dir = scratch("load");
    let (serve_log, clients_log) = (dir.join("serve.csv"), dir.join("clients.csv"));
    let be = Daemon::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "be1",
        "--log",
        serve_log.to_str().unwrap(),
    ]);
    let addr = be.at.clone();
    let s = json(&[
        "clients",
        &addr,
        "20",
        "5",
        "--pad",
        "65536",
        "--rcvbuf",
        "4096",
        "--source",
        "127.0.0.1",
        "--log",
        clients_log.to_str().unwrap(),
    ]);
    assert_eq!(
        (s["count"].as_u64(), s["ok"].as_u64()),
        (Some(20), Some(20))
    );
    assert_eq!(s["failed"].as_u64(), Some(0));
    for key in ["wall_s", "conn_per_s", "p50_us", "p90_us", "p99_us"] {
        assert!(s[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {s}");
    }
    assert!(s["p50_us"].as_f64() <= s["p99_us"].as_f64());

    let rows = csv(&clients_log);
    assert_eq!(rows.len(), 20);
    let accepted: std::collections::BTreeMap<u64, u64> = csv(&serve_log)
        .iter()
        .map(|r| (num(r, "port"), num(r, "t_accepted")))
        .collect();
    assert_eq!(accepted.len(), 20);
    for r in &rows {
        assert_eq!((r["ok"].as_str(), r["backend"].as_str()), ("1", "be1"));
        let (t_connect, t_answer) = (num(r, "t_connect"), num(r, "t_answer"));
        assert!(
            t_connect < t_answer && t_answer <= num(r, "t_done"),
            "{r:?}"
        );
        // One clock across processes: the server accepted in between.
        let t_accepted = accepted[&num(r, "port")];
        assert!(t_connect <= t_accepted && t_accepted <= t_answer, "{r:?}");
    }

    let b = json(&["bulk", &addr, "10000000", "--source", "127.0.0.1"]);
    assert_eq!(b["bytes"].as_u64(), Some(10_000_000));
    assert!(b["seconds"].as_f64().is_some_and(|x| x > 0.0));
    assert!(b["mbit_per_s"].as_f64().is_some_and(|x| x > 0.0));

    let r = json(&["rr", &addr, "3000", "200"]);
    assert_eq!(
        (r["count"].as_u64(), r["size"].as_u64()),
        (Some(200), Some(3000))
    );
    assert!(r["per_second"].as_f64().is_some_and(|x| x > 0.0));
    assert!(r["p50_us"].as_f64() <= r["p99_us"].as_f64());

    // A second run appends rows under the one header.
    json(&[
        "clients",
        &addr,
        "3",
        "3",
        "--log",
        clients_log.to_str().unwrap(),
    ]);
    assert_eq!(csv(&clients_log).len(), 23);
    assert_eq!(csv(&serve_log).len(), 25);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn ipv6() {
    let be = Daemon::start(&["serve", "--listen", "[::1]:0", "be6"]);
    assert!(be.addr().is_ipv6());
    let s = json(&["clients", &be.at, "6", "3", "--pad", "1000"]);
    assert_eq!(s["ok"].as_u64(), Some(6));
    json(&["bulk", &be.at, "100000", "--source", "::1"]);
}

#[test]
fn refusals_are_answered() {
    let be = Daemon::start(&["serve", "--listen", "127.0.0.1:0", "be1"]);
    let mut c = TcpStream::connect(be.addr()).unwrap();
    c.write_all(b"HELLO /x\nSOURCE 300\nBOGUS\nHELLO /y\n")
        .unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    let head = b"200 /x from be1\n".len();
    assert_eq!(&got[..head], b"200 /x from be1\n");
    let source: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(&got[head..head + 300], source.as_slice());
    assert_eq!(
        String::from_utf8_lossy(&got[head + 300..]),
        "ERR bad command \"BOGUS\"\n"
    );
    // What the client sends after a refusal is read and dropped: the
    // close is a FIN after the ERR line, not a reset that could beat it.
    let mut c = TcpStream::connect(be.addr()).unwrap();
    c.write_all(b"BOGUS\n").unwrap();
    thread::sleep(Duration::from_millis(50));
    c.write_all(&[b'x'; 100_000]).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "ERR bad command \"BOGUS\"\n");
}

#[test]
fn rtt_rounds() {
    let dir = scratch("rtt");
    let log = dir.join("rtt.csv");
    let srv = Daemon::start(&["rtt-server", "127.0.0.1:0", "--reply", "100"]);
    let r = json(&[
        "rtt",
        &srv.at,
        "50",
        "8192",
        "--reply",
        "100",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(
        (r["count"].as_u64(), r["size"].as_u64(), r["reply"].as_u64()),
        (Some(50), Some(8192), Some(100))
    );
    for key in ["p50_us", "p90_us", "p99_us", "mean_us"] {
        assert!(r[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {r}");
    }
    let rows = csv(&log);
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[49]["round"], "49");
    assert_eq!(
        num(&rows[0], "t_end") - num(&rows[0], "t_start"),
        num(&rows[0], "rtt_ns")
    );
    // Reply sizes that disagree fail at once, and say why.
    let out = run(&["rtt", &srv.at, "5", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answers 100 bytes, --reply says 64"), "{err}");
    let _ = fs::remove_dir_all(&dir);
}

/// Sends `fd` over `sock` with a 2-byte payload, as repair-mig target
/// does (the client's port, big-endian).
fn send_fd(sock: &UnixStream, port: u16, fd: BorrowedFd<'_>) {
    let head = port.to_be_bytes();
    let mut iov = libc::iovec {
        iov_base: head.as_ptr().cast_mut().cast(),
        iov_len: head.len(),
    };
    #[repr(C, align(8))]
    struct Cmsg([u8; 64]);
    let mut cbuf = Cmsg([0; 64]);
    // SAFETY: All-zero is a valid msghdr; the CMSG_ calls compute on
    // constants and write one header and one descriptor inside `cbuf`,
    // which CMSG_SPACE(sizeof(int)) (24 bytes) fits in.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        libc::CMSG_DATA(cmsg)
            .cast::<i32>()
            .write_unaligned(fd.as_raw_fd());
        libc::sendmsg(sock.as_raw_fd(), &raw const msg, 0)
    };
    assert_eq!(sent, 2, "{}", std::io::Error::last_os_error());
}

#[test]
fn sockets_passed_over_unix() {
    let dir = scratch("unix");
    let (path, log) = (dir.join("serve.sock"), dir.join("serve.csv"));
    let be = Daemon::start(&[
        "serve",
        "--unix",
        path.to_str().unwrap(),
        "be2",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(be.at, path.to_str().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sender = UnixStream::connect(&path).unwrap();
    let mut ports = BTreeSet::new();
    let mut clients = Vec::new();
    // Two sockets on one unix connection, as repair-mig target sends them.
    for i in 0..2 {
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (conn, peer) = listener.accept().unwrap();
        // Sent before the hand-over: waits in the receive queue, with
        // the start of the next command.
        client
            .write_all(format!("PAD 3\nabcHELLO /unix{i}\nSINK 4\nab").as_bytes())
            .unwrap();
        thread::sleep(Duration::from_millis(20));
        send_fd(&sender, peer.port(), std::os::fd::AsFd::as_fd(&conn));
        drop(conn);
        ports.insert(peer.port().to_string());
        clients.push((i, client));
    }
    for (i, mut client) in clients {
        client.write_all(b"cd").unwrap();
        let mut answers = BufReader::new(client.try_clone().unwrap());
        let mut line = String::new();
        answers.read_line(&mut line).unwrap();
        assert_eq!(line, format!("200 /unix{i} from be2\n"));
        line.clear();
        answers.read_line(&mut line).unwrap();
        assert_eq!(line, "OK 4\n");
    }
    let logged: BTreeSet<String> = csv(&log).iter().map(|r| r["port"].clone()).collect();
    assert_eq!(logged, ports);
    let _ = fs::remove_dir_all(&dir);
}

/// Stands in for `front --write N`: accepts `count` clients and answers
/// each with `n` bytes of the pattern (one wrong byte with `corrupt`),
/// then the back-end's line, once its HELLO came.
fn fake_front(listener: TcpListener, count: usize, n: usize, corrupt: bool) {
    for _ in 0..count {
        let (conn, _) = listener.accept().unwrap();
        thread::spawn(move || {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "HELLO /bench\n");
            let mut data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            if corrupt {
                data[n / 2] ^= 0x55;
            }
            data.extend(b"200 /bench from fake\n");
            // The client reads only once it has sent all: its small
            // window holds most of this back meanwhile.
            (&conn).write_all(&data).unwrap();
        });
    }
}

#[test]
fn clients_check_what_the_front_wrote() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let front = thread::spawn(move || fake_front(listener, 4, 100_000, false));
    let s = json(&[
        "clients",
        &addr,
        "4",
        "2",
        "--rcvbuf",
        "4096",
        "--expect-write",
        "100000",
    ]);
    assert_eq!(s["ok"].as_u64(), Some(4));
    front.join().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let front = thread::spawn(move || fake_front(listener, 2, 5000, true));
    let out = run(&["clients", &addr, "2", "2", "--expect-write", "5000"]);
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((s["ok"].as_u64(), s["failed"].as_u64()), (Some(0), Some(2)));
    assert_eq!(s["p50_us"], Value::Null);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("written byte 2500 is not the pattern's"),
        "{err}"
    );
    front.join().unwrap();
}

#[test]
fn unreachable_clients_fail() {
    // Bound, not listening: every connect is refused.
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    let out = run(&["clients", &addr, "3", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["failed"].as_u64(), Some(3));
}

#[test]
fn command_lines() {
    for bad in [
        &["front"][..],
        &["front", "192.0.2.100:80"],
        &["front", "192.0.2.100:80", "be1", "--timeout", "0"],
        &["front", "192.0.2.100:80", "be1", "--write", "many"],
        &["front", "192.0.2.100", "be1"],
        &["serve", "be1"],
        &["clients", "127.0.0.1:1", "1"],
        &["bogus"],
    ] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: mig-bench serve"), "{bad:?}: {err}");
        assert!(err.contains("mig-bench front LISTEN PEER"), "{err}");
    }
}
