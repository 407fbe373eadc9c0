//! Helpers shared by the tests that run an example or an outside program as a child process:
//! build the example binary once per test process, find outside programs (skip with a reason,
//! or fail when `CI=true`), wait for a child with a time bound, temporary directories.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary of example `name` next to this test binary (`<target>/<profile>/examples/name`).
///
/// `cargo build --example name` runs once per test process first: `cargo test --test x` does
/// not build examples, and a stale binary would test old code. (Cargo does not hold its build
/// lock while tests run, so this does not deadlock.)
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile>/deps/test-xxxx
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>");
    let bin = profile_dir.join("examples").join(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        built.push(name.to_string());
        let target = profile_dir.parent().expect("<target>");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "--example", name, "--target-dir"])
            .arg(target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name() == Some(OsStr::new("release")) {
            cmd.arg("--release");
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            r if bin.exists() => {
                eprintln!(
                    "cargo build --example {name}: {r:?}; using {}",
                    bin.display()
                )
            }
            r => panic!("cargo build --example {name}: {r:?}"),
        }
    }
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "tame-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether `prog` is on the PATH (or in /usr/sbin, where unbound lives).
pub fn installed(prog: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join(prog))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
}

/// The path of `prog` if it can be used. If not: in CI (`CI=true`) the test fails, otherwise
/// it prints `skipped: <prog> not installed` and the caller returns.
pub fn have(prog: &str) -> Option<PathBuf> {
    if let Some(p) = installed(prog) {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{prog} not installed, and CI=true: install it (see .ci/run)");
    }
    // Straight to stderr, past the test harness's capture, so the skip shows in the output.
    let _ = writeln!(io::stderr(), "skipped: {prog} not installed");
    None
}

/// Waits for `child` for at most `limit`; on timeout kills and reaps it and returns `None`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` to completion with `stdin` as its input (none: `/dev/null`) and its output
/// captured; kills it after `limit` (and panics, naming the command).
pub fn run_bounded(cmd: &mut Command, stdin: Option<&[u8]>, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let in_t = stdin.map(|data| {
        let mut input = child.stdin.take().expect("piped");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = input.write_all(&data);
        })
    });
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out_t = read_all(Box::new(child.stdout.take().expect("piped")));
    let err_t = read_all(Box::new(child.stderr.take().expect("piped")));
    let status = wait_bounded(&mut child, limit)
        .unwrap_or_else(|| panic!("{cmd:?} still running after {limit:?}: killed"));
    if let Some(t) = in_t {
        let _ = t.join();
    }
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}
