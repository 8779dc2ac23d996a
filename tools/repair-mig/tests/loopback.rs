//! The baseline end to end on one host: `server`, `target` and `front`
//! run as processes, a client asks the front and must get the server's
//! whole answer through the moved socket.
//!
//! ```text
//!   client ──> front 127.0.0.1:P ══record══> target ──SCM_RIGHTS──> server
//!      ^            (freeze, dump,            (restore)               |
//!      |             close silently)                                  |
//!      └──────────── the same 4-tuple, now the server's socket ───────┘
//! ```
//!
//! Each test runs in a network namespace of its own (loopback only), so
//! it may change TCP sysctls. Needs root: TCP_REPAIR wants
//! CAP_NET_ADMIN, and a test that cannot have it fails, loudly.

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// The server stream of `mig-peer`, byte `i`.
fn stream_byte(i: u64) -> u8 {
    let mut x = 0x005e_7ee7 ^ (i / 8).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> ((i % 8) * 8)) as u8
}

/// Moves this test's thread, and the processes it starts, into a new
/// network namespace with loopback up; checks TCP_REPAIR is allowed.
fn private_netns() {
    // SAFETY: unshare() moves this thread only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        panic!(
            "unshare(CLONE_NEWNET): {}: these tests need root",
            io::Error::last_os_error()
        );
    }
    // SAFETY: Plain socket creation; the fd goes into a TcpStream to close it.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: `fd` is fresh and ours.
    let sock = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: `one` outlives the call.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_REPAIR,
            (&raw const one).cast(),
            4,
        )
    };
    if r != 0 {
        panic!(
            "TCP_REPAIR: {}: the baseline needs CAP_NET_ADMIN (run the tests as root)",
            io::Error::last_os_error()
        );
    }
    // SAFETY: All-zero is a valid ifreq; "lo" fits its name.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo") {
        *d = *s as libc::c_char;
    }
    // SAFETY: `ifr` is a valid ifreq for these requests on `sock`.
    unsafe {
        assert_eq!(
            libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut ifr),
            0
        );
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert_eq!(
            libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut ifr),
            0
        );
    }
}

/// Sets a sysctl of this thread's namespace.
fn sysctl(name: &str, value: &str) {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    fs::write(&path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// The three daemons of one test, killed when it ends.
struct Daemons {
    dir: PathBuf,
    children: Vec<(&'static str, Child)>,
    front: SocketAddr,
}

/// Starts a daemon and waits for its `listening ADDR` line.
fn spawn(dir: &Path, name: &'static str, args: &[&str]) -> (Child, String) {
    let err = fs::File::create(dir.join(format!("{name}.err"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_repair-mig"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .unwrap();
    let mut line = String::new();
    let out = child.stdout.take().unwrap();
    BufReader::new(out).read_line(&mut line).unwrap();
    let Some(addr) = line.trim().strip_prefix("listening ") else {
        let _ = child.kill();
        let err = fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
        panic!("{name} did not start: {err}");
    };
    (child, addr.to_string())
}

impl Daemons {
    /// server, target and front on `ip` (a loopback address); without
    /// a server, every hand-over fails.
    fn start(ip: &str, with_server: bool) -> Self {
        Self::start_with(ip, with_server, &[])
    }

    /// `start`, with more options for the front.
    fn start_with(ip: &str, with_server: bool, front_opts: &[&str]) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "repair-mig-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        let mut d = Self {
            dir,
            children: Vec::new(),
            front: "0.0.0.0:0".parse().unwrap(),
        };
        let unix = d.path("server.sock");
        if with_server {
            let log = d.path("server.log");
            let (c, _) = spawn(
                &d.dir,
                "server",
                &["server", &unix, "back", "1000", "--log", &log],
            );
            d.children.push(("server", c));
        }
        let listen = SocketAddr::new(ip.parse().unwrap(), 0).to_string();
        let (c, target) = spawn(&d.dir, "target", &["target", &listen, &unix]);
        d.children.push(("target", c));
        let log = d.path("front.log");
        let mut args = vec!["front", &listen, &target, "--log", &log];
        args.extend(front_opts);
        let (c, front) = spawn(&d.dir, "front", &args);
        d.children.push(("front", c));
        d.front = front.parse().unwrap();
        d
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The lines of a log file, split in fields.
    fn log(&self, name: &str) -> Vec<Vec<u64>> {
        let text = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        text.lines()
            .map(|l| l.split(' ').map(|f| f.parse().unwrap()).collect())
            .collect()
    }

    /// Waits until the front logged the move of client port `port`.
    fn wait_moved(&self, port: u16) -> Vec<u64> {
        let start = Instant::now();
        loop {
            if let Some(l) = self
                .log("front.log")
                .into_iter()
                .find(|l| l[0] == port.into())
            {
                return l;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{port} never moved"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for (name, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
            if thread::panicking() {
                let err = fs::read_to_string(self.dir.join(format!("{name}.err")));
                eprintln!("--- {name} stderr:\n{}", err.unwrap_or_default());
            }
        }
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A request of `mig-peer request`'s kind: the head, then `upload`
/// bytes of body, in one write; `split`: in several, back to back;
/// `hold_body`: the body once the front moved the connection.
struct Request {
    path: &'static str,
    upload: usize,
    x_body: Option<u64>,
    hold_body: bool,
    split: bool,
}

impl Request {
    fn get(path: &'static str) -> Self {
        Self {
            path,
            upload: 0,
            x_body: None,
            hold_body: false,
            split: false,
        }
    }
}

/// Connects, sends `req`, reads the answer to EOF; returns the client
/// port and the answer. `moved` waits for the front's log line.
fn ask(d: &Daemons, req: &Request) -> io::Result<(u16, Vec<u8>)> {
    let mut conn = TcpStream::connect(d.front)?;
    conn.set_read_timeout(Some(Duration::from_secs(20)))?;
    let port = conn.local_addr()?.port();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nContent-Length: {}\r\n",
        req.path, req.upload
    );
    if let Some(b) = req.x_body {
        head += &format!("X-Body: {b}\r\n");
    }
    head += "\r\n";
    let body: Vec<u8> = (0..req.upload).map(|i| (i % 251) as u8).collect();
    if req.hold_body {
        conn.write_all(head.as_bytes())?;
        d.wait_moved(port);
        conn.write_all(&body)?;
    } else if req.split {
        // As `mig-peer request -d` does: the body right behind the head.
        conn.write_all(head.as_bytes())?;
        for chunk in body.chunks(16384) {
            conn.write_all(chunk)?;
        }
    } else {
        conn.write_all(&[head.as_bytes(), &body].concat())?;
    }
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)?;
    Ok((port, answer))
}

/// Checks an answer is the server's, with `body` bytes of its stream.
fn check(answer: &[u8], path: &str, body: u64) {
    let first = format!("200 {path} from back\n");
    assert!(
        answer.starts_with(first.as_bytes()),
        "answer starts {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(60)])
    );
    let got = &answer[first.len()..];
    assert_eq!(got.len() as u64, body, "body length");
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, &b)| b == stream_byte(i as u64)),
        "the body is not the server stream"
    );
}

#[test]
fn a_request_is_answered_through_the_moved_socket() {
    private_netns();
    let d = Daemons::start("127.0.0.1", true);
    let (port, answer) = ask(&d, &Request::get("/a")).unwrap();
    check(&answer, "/a", 1000);
    // The moments, one clock for all processes: data, frozen, closed
    // (closed before sent: see front.rs), sent, acked, forwarded; the
    // server got the socket between closed and acked.
    let f = d.wait_moved(port);
    let (data, frozen, sent, acked, forwarded, closed) = (f[1], f[2], f[3], f[4], f[5], f[6]);
    assert!(
        data <= frozen && frozen <= closed && closed <= sent,
        "{f:?}"
    );
    assert!(sent <= acked && acked <= forwarded, "{f:?}");
    let s = d.log("server.log");
    let accepted = s.iter().find(|l| l[0] == port.into()).expect("server.log")[1];
    // Not `sent <= accepted`: `sent` is when the write returned, and the
    // target may be quicker. Nor `accepted <= acked`: the target acks
    // once the socket is queued on the unix socket, the server may run
    // later.
    assert!(closed <= accepted, "{f:?} {accepted}");
}

#[test]
fn a_64k_upload_in_the_receive_queue_moves_with_it() {
    private_netns();
    let d = Daemons::start("127.0.0.1", true);
    let req = Request {
        upload: 65536,
        x_body: Some(200_000),
        ..Request::get("/up")
    };
    let (_, answer) = ask(&d, &req).unwrap();
    check(&answer, "/up", 200_000);
}

#[test]
fn bytes_sent_after_the_move_reach_the_server() {
    private_netns();
    let d = Daemons::start("127.0.0.1", true);
    let req = Request {
        upload: 100_000,
        hold_body: true,
        ..Request::get("/late")
    };
    let (_, answer) = ask(&d, &req).unwrap();
    check(&answer, "/late", 1000);
}

/// The front freezes at the first byte while the client still writes:
/// the dump waits for the burst to end.
#[test]
fn a_body_written_right_behind_the_head_moves() {
    private_netns();
    let d = Daemons::start("127.0.0.1", true);
    for _ in 0..20 {
        let req = Request {
            upload: 65536,
            split: true,
            ..Request::get("/split")
        };
        let (_, answer) = ask(&d, &req).unwrap();
        check(&answer, "/split", 1000);
    }
}

#[test]
fn ipv6() {
    private_netns();
    let d = Daemons::start("::1", true);
    let req = Request {
        upload: 65536,
        ..Request::get("/v6")
    };
    let (_, answer) = ask(&d, &req).unwrap();
    check(&answer, "/v6", 1000);
}

#[test]
fn a_hundred_clients_at_once() {
    private_netns();
    let d = Arc::new(Daemons::start("127.0.0.1", true));
    let go = Arc::new(Barrier::new(100));
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let (d, go) = (Arc::clone(&d), Arc::clone(&go));
            thread::spawn(move || {
                go.wait();
                let req = Request {
                    upload: 1000,
                    ..Request::get("/many")
                };
                ask(&d, &req)
            })
        })
        .collect();
    for c in clients {
        let (_, answer) = c.join().unwrap().unwrap();
        check(&answer, "/many", 1000);
    }
    // The front logs a move after the client may already have its
    // answer: wait for the lines, not just the answers.
    let start = Instant::now();
    while d.log("front.log").len() < 100 && start.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(d.log("front.log").len(), 100);
}

/// The options the client's handshake negotiated: (timestamps, wscale).
fn client_options(d: &Daemons) -> (bool, bool) {
    let conn = TcpStream::connect(d.front).unwrap();
    // SAFETY: All-zero is a valid tcp_info.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info` is `len` writable bytes.
    let r = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &raw mut len,
        )
    };
    assert_eq!(r, 0);
    (info.tcpi_options & 1 != 0, info.tcpi_options & 4 != 0)
}

/// Without window scaling the 16-bit window caps the client at 64 KB in
/// flight; with and without timestamps. Per-namespace sysctls.
#[test]
fn without_window_scaling_with_and_without_timestamps() {
    private_netns();
    sysctl("net.ipv4.tcp_window_scaling", "0");
    for timestamps in ["1", "0"] {
        sysctl("net.ipv4.tcp_timestamps", timestamps);
        let d = Daemons::start("127.0.0.1", true);
        assert_eq!(client_options(&d), (timestamps == "1", false));
        let req = Request {
            upload: 65536,
            x_body: Some(100_000),
            ..Request::get("/nows")
        };
        let (_, answer) = ask(&d, &req).unwrap();
        check(&answer, "/nows", 100_000);
    }
}

#[test]
fn a_failed_move_resets_the_client() {
    private_netns();
    let d = Daemons::start("127.0.0.1", false);
    let err = ask(&d, &Request::get("/nobody")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    // The front logs after the reset: give it the time.
    let start = Instant::now();
    let said = || fs::read_to_string(d.dir.join("front.err")).unwrap_or_default();
    while !said().contains("; reset") && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(said().contains("; reset\n"), "front said: {}", said());
}

/// `ip rule show`, in this thread's namespace.
fn ip_rules() -> String {
    let out = Command::new("ip")
        .args(["rule", "show"])
        .output()
        .expect("ip (iproute2)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// With --tunnel-table, each moved flow gets its rule; SIGTERM deletes
/// them. (Here the rules forward nothing: the `local` rule comes first
/// at pref 0, and table 100 is empty.)
#[test]
fn rules_come_with_moves_and_go_at_exit() {
    private_netns();
    let mut d = Daemons::start_with(
        "127.0.0.1",
        true,
        &["--tunnel-table", "100", "--rule-pref", "700"],
    );
    let vip = d.front.port();
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            let (port, answer) = ask(&d, &Request::get("/r")).unwrap();
            check(&answer, "/r", 1000);
            // The server may answer before the front added the rule.
            d.wait_moved(port);
            port
        })
        .collect();
    let rules = ip_rules();
    for port in &ports {
        let want = format!("700:\tfrom 127.0.0.1 ipproto tcp sport {port} dport {vip} lookup 100");
        assert!(rules.contains(&want), "no {want:?} in\n{rules}");
    }
    let (_, front) = d.children.iter_mut().find(|(n, _)| *n == "front").unwrap();
    // SAFETY: A signal to our own child, by its pid.
    assert_eq!(unsafe { libc::kill(front.id() as i32, libc::SIGTERM) }, 0);
    assert!(front.wait().unwrap().success());
    let rules = ip_rules();
    assert!(!rules.contains("lookup 100"), "rules left:\n{rules}");
}

#[test]
fn usage() {
    let bin = env!("CARGO_BIN_EXE_repair-mig");
    let none = Command::new(bin).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("repair-mig front LISTEN TARGET"));
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("repair-mig server UNIX_PATH"));
    let bad = Command::new(bin)
        .args(["front", "127.0.0.1:0", "127.0.0.1:1", "--bogus", "1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
