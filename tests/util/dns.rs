//! Helpers for the multidns tests: build and run the example binary, start unbound on a free
//! loopback port with a generated zone; the scriptable responders are in `responder.rs`.
#![allow(dead_code)]

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use simple_dns::{CLASS, Name, Packet, QCLASS, QTYPE, Question, TYPE};

pub use crate::process::TempDir;

#[path = "responder.rs"]
mod responder;
pub use responder::*;

/// The multidns binary, built first (see [`crate::process::example_binary`]).
pub fn binary() -> PathBuf {
    crate::process::example_binary("multidns")
}

pub use crate::process::{have, installed, wait_bounded};

/// What a run of multidns produced.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs multidns with `args`, `stdin` as its input; kills it after `limit`.
pub fn multidns(args: &[&str], stdin: &str, limit: Duration) -> Run {
    let out = crate::process::run_bounded(
        Command::new(binary()).args(args),
        Some(stdin.as_bytes()),
        limit,
    );
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What the generated zone says about name `i`.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    /// `h{i}.bench.test` has this A record (and maybe an AAAA record).
    Host(Ipv4Addr, Option<Ipv6Addr>),
    /// Every tenth name is left out: NXDOMAIN.
    Missing,
}

/// The zone: `h00000.bench.test` … with `n` names; name `i` has `10.X.Y.Z` from `i`, every
/// seventh also `fd00::i` (AAAA), and every tenth (`i % 10 == 9`) is missing.
pub fn zone(i: usize) -> Zone {
    if i % 10 == 9 {
        return Zone::Missing;
    }
    let a = Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8);
    let aaaa = i
        .is_multiple_of(7)
        .then(|| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i as u16));
    Zone::Host(a, aaaa)
}

pub fn host(i: usize) -> String {
    format!("h{i:05}.bench.test")
}

/// A running unbound serving the generated zone, killed (and reaped) on drop.
pub struct Unbound {
    child: Child,
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Unbound {
    /// Starts unbound (`prog`) on a free port of 127.0.0.1 with a zone of `n` names. No
    /// forwarding: the zone is static, a name in it that is not listed is NXDOMAIN.
    pub fn start(prog: &Path, n: usize) -> Unbound {
        let mut last = String::new();
        for _attempt in 0..5 {
            let dir = TempDir::new("unbound");
            let mut zone_conf = String::new();
            for i in 0..n {
                if let Zone::Host(a, aaaa) = zone(i) {
                    let h = host(i);
                    zone_conf += &format!("local-data: \"{h}. 300 IN A {a}\"\n");
                    if let Some(v6) = aaaa {
                        zone_conf += &format!("local-data: \"{h}. 300 IN AAAA {v6}\"\n");
                    }
                }
            }
            fs::write(dir.path().join("zone.conf"), zone_conf).expect("write zone");
            let port = free_port();
            let conf = format!(
                "server:\n\
                 \x20   interface: 127.0.0.1@{port}\n\
                 \x20   port: {port}\n\
                 \x20   do-daemonize: no\n\
                 \x20   username: \"\"\n\
                 \x20   chroot: \"\"\n\
                 \x20   directory: \"{dir}\"\n\
                 \x20   pidfile: \"\"\n\
                 \x20   use-syslog: no\n\
                 \x20   logfile: \"\"\n\
                 \x20   verbosity: 0\n\
                 \x20   do-ip6: no\n\
                 \x20   access-control: 127.0.0.0/8 allow\n\
                 \x20   num-threads: 1\n\
                 \x20   module-config: \"iterator\"\n\
                 \x20   ratelimit: 0\n\
                 \x20   so-rcvbuf: 4m\n\
                 \x20   ip-ratelimit: 0\n\
                 \x20   do-not-query-localhost: yes\n\
                 \x20   local-zone: \"bench.test.\" static\n\
                 \x20   include: \"{dir}/zone.conf\"\n\
                 remote-control:\n\
                 \x20   control-enable: no\n",
                dir = dir.path().display()
            );
            let conf_path = dir.path().join("unbound.conf");
            fs::write(&conf_path, conf).expect("write unbound.conf");
            let log = fs::File::create(dir.path().join("stderr.log")).expect("log file");
            let child = Command::new(prog)
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn unbound");
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut u = Unbound {
                child,
                addr,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = u.child.try_wait() {
                    last = format!(
                        "unbound exited with {status}: {}",
                        fs::read_to_string(u._dir.path().join("stderr.log")).unwrap_or_default()
                    );
                    break;
                }
                if answers(addr, &host(0)) {
                    return u;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("unbound did not start: {last}");
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (unbound listens on both), released for
/// the caller to use. Another process may take it in between: callers retry.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("local_addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether the server at `addr` answers an A query for `name` within 200 ms.
fn answers(addr: SocketAddr, name: &str) -> bool {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
    let mut q = Packet::new_query(4242);
    q.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(TYPE::A),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let bytes = q.build_bytes_vec().expect("build query");
    if sock.send_to(&bytes, addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 1500];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if Packet::parse(&buf[..n]).is_ok_and(|p| p.id() == 4242))
}
