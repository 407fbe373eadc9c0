//! Helpers for the knot tests: start the server as a child process, run outside programs
//! (curl, ab, wrk, chromium) with a time bound, speak raw HTTP, make temporary directories.
#![allow(dead_code)]

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The default site shipped with knot.
pub fn site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/knot/site")
}

pub use crate::process::TempDir;

/// The knot binary, built first (see [`crate::process::example_binary`]).
pub fn binary() -> PathBuf {
    crate::process::example_binary("knot")
}

/// A running knot, killed (and reaped) on drop.
pub struct Knot {
    child: Child,
    pub addr: SocketAddr,
    /// Where the server's stderr goes.
    log: PathBuf,
    _dir: TempDir,
}

impl Knot {
    /// Starts knot on a free loopback port with these extra arguments, in a directory of its
    /// own (so a relative path, or a default, cannot lean on the repository's). It runs one
    /// loop (`--workers 1`, which a `--workers` in `args` overrides): most tests are about what
    /// one loop does, its limits and its lines on stderr.
    pub fn start(args: &[&str]) -> Knot {
        Self::start_with(args, None)
    }

    /// Like [`start`](Knot::start) (one loop unless `args` say otherwise), with the open-files
    /// limit (`ulimit -n`) set to `nofile`.
    pub fn start_with(args: &[&str], nofile: Option<u32>) -> Knot {
        Self::launch(nofile, |port| {
            let mut all = vec!["--workers".to_string(), "1".to_string()];
            all.extend(["--addr".to_string(), format!("127.0.0.1:{port}")]);
            all.extend(args.iter().map(|a| a.to_string()));
            all
        })
    }

    /// Starts knot with the whole command line `args(port)` for a free port, which must make
    /// it listen there on 127.0.0.1 (`-p PORT`, say); `addr` is 127.0.0.1:PORT. Nothing is
    /// added: it runs the default number of workers unless `args` say.
    pub fn start_on_port(args: impl Fn(u16) -> Vec<String>) -> Knot {
        Self::launch(None, args)
    }

    fn launch(nofile: Option<u32>, args: impl Fn(u16) -> Vec<String>) -> Knot {
        let bin = binary();
        let mut last = String::new();
        for _attempt in 0..5 {
            // Port 0 cannot be passed on the command line: ask the kernel for a free port,
            // release it, and hand it over. Another process may grab it in between: retry.
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let dir = TempDir::new("server");
            let log = dir.path().join("stderr.log");
            let mut cmd = match nofile {
                Some(n) => {
                    let mut c = Command::new("sh");
                    c.arg("-c")
                        .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                        .arg(&bin);
                    c
                }
                None => Command::new(&bin),
            };
            cmd.args(args(port))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).expect("log file"));
            let child = cmd.spawn().expect("spawn knot");
            let mut k = Knot {
                child,
                addr,
                log,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = k.child.try_wait() {
                    last = format!("knot exited with {status}: {}", k.stderr());
                    break;
                }
                // Listening comes before the first line on stderr (it names the bound
                // address): wait for both, so that a test may read that line at once.
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                    && k.stderr().contains(" at http://")
                {
                    return k;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("knot did not start: {last}");
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's resident memory (`VmRSS` from /proc), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends the server a signal by name (`TERM`, `INT`, `STOP`, `CONT`) with kill(1).
    pub fn signal(&self, sig: &str) {
        let out = run(
            Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string()),
            Duration::from_secs(10),
        );
        assert!(out.status.success(), "kill -{sig}: {out:?}");
    }

    /// Waits for the server to exit, for at most `limit`; `None` if it still runs then (it
    /// is killed when dropped).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::process::have;

/// Runs a command to completion with its output captured; kills it after `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    crate::process::run_bounded(cmd, None, limit)
}

/// One HTTP response read off a raw connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Connects with read/write timeouts, so a test never hangs on a silent server.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one response (no body after a HEAD request).
pub fn read_response(r: &mut impl BufRead, head_request: bool) -> io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("bad header {l:?}")))?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    // A 304 has no body, whatever its headers say (RFC 9110 §15.4.5).
    if !head_request && status != 304 {
        let len: usize = resp
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other("no Content-Length"))?;
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body)?;
    }
    Ok(resp)
}

/// Sends `request` on a new connection and reads one response.
pub fn exchange(addr: SocketAddr, request: &[u8], head_request: bool) -> Response {
    let mut s = connect(addr);
    s.write_all(request).expect("send request");
    read_response(&mut BufReader::new(s), head_request).expect("read response")
}

/// Whether the server closed `s` (EOF or reset) within `limit`; anything it sends first
/// is discarded.
pub fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}
