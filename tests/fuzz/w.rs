//! `src/w.rs` of every crate the fuzzer generates (`tests/fuzz.rs` copies it there): the log,
//! the helpers both versions call, and the `main` that runs each program both ways.
//! A test file that keeps reduced repros as tests includes it with `#[path = "fuzz/w.rs"]`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use tame::Event;

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Appends one effect to this thread's log.
pub fn log(s: impl Into<String>) {
    let full = LOG.with(|l| {
        let mut l = l.borrow_mut();
        l.push(s.into());
        l.len() > 20_000
    });
    if full {
        panic!("log overflow");
    }
}

/// A value whose drop is logged.
#[derive(Debug)]
pub struct D(pub u32);

impl Drop for D {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

#[derive(Debug)]
pub struct S {
    pub f: u32,
    pub d: D,
}

#[derive(Debug)]
pub struct P {
    pub f: u32,
}

pub fn f(x: u32) -> u32 {
    log(format!("f {x}"));
    x
}

pub fn g(a: u32, b: u32) -> u32 {
    log(format!("g {a} {b}"));
    (a + b) % 1000
}

pub fn opt(x: u32) -> Option<(u32, u32)> {
    if x.is_multiple_of(3) {
        None
    } else {
        Some((x % 3, x))
    }
}

// ---- the tamed side: events triggered now or on the loop's next turn ---------------------

pub fn ready(e: Event<()>) {
    e.trigger(());
}

pub fn later<T: 'static>(v: T, e: Event<T>) {
    tame::asap(Event::from_fn(move |()| e.trigger(v)));
}

pub fn now<T>(v: T, e: Event<T>) {
    e.trigger(v);
}

pub fn abandon<T>(v: T, e: Event<T>) {
    drop(e);
    drop(v);
}

pub fn send(e: Event<u32>, v: u32) {
    later(v, e);
}

pub fn sendv(e: Event<u32>, v: u32) -> u32 {
    later(v, e);
    v
}

// ---- the plain side: the rendezvous is a queue filled in the same order -----------------

#[derive(Default)]
pub struct Q(RefCell<VecDeque<(u32, u32)>>);

impl Q {
    pub fn pop(&self) -> Option<(u32, u32)> {
        self.0.borrow_mut().pop_front()
    }
}

pub fn qsend(q: &Q, id: u32, v: u32) {
    q.0.borrow_mut().push_back((id, v));
}

pub fn qsendv(q: &Q, id: u32, v: u32) -> u32 {
    qsend(q, id, v);
    v
}

// ---- running ------------------------------------------------------------------------------

/// Runs a tamed function on this thread's loop and returns what it logged: how a regression
/// test checks a reduced repro.
pub fn run_tamed(f: fn()) -> Vec<String> {
    LOG.with(|l| l.borrow_mut().clear());
    tame::run(f);
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Runs `f` on a fresh thread and returns its log (with `PANIC …` last if it panicked), or
/// `None` if it did not finish within the time limit.
fn capture(f: fn(), tamed: bool) -> Option<Vec<String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let res = std::panic::catch_unwind(|| if tamed { tame::run(f) } else { f() });
        let mut log = LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
        if let Err(p) = res {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            log.push(format!("PANIC {msg}"));
        }
        let _ = tx.send(log);
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

/// A program: its index, its plain version and its tamed version.
pub type Program = (usize, fn(), fn());

/// Runs the programs named on the command line (all without arguments): for each, prints
/// `@@ <i> plain`, its log lines as `| …`, `@@ <i> tamed`, its log, `@@ <i> end`. A run that
/// does not finish prints `@@ <i> timeout <plain|tamed>` and exits with status 3.
pub fn main(programs: &[Program]) {
    use std::io::Write;
    std::panic::set_hook(Box::new(|_| {}));
    let only: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a program index"))
        .collect();
    let mut out = std::io::stdout().lock();
    for &(i, plain, tamed) in programs {
        if !only.is_empty() && !only.contains(&i) {
            continue;
        }
        for (name, f, is_tamed) in [("plain", plain, false), ("tamed", tamed, true)] {
            writeln!(out, "@@ {i} {name}").unwrap();
            match capture(f, is_tamed) {
                Some(log) => {
                    for l in log {
                        writeln!(out, "| {}", escape(&l)).unwrap();
                    }
                }
                None => {
                    writeln!(out, "@@ {i} timeout {name}").unwrap();
                    out.flush().unwrap();
                    std::process::exit(3);
                }
            }
        }
        writeln!(out, "@@ {i} end").unwrap();
    }
    out.flush().unwrap();
}
