//! `tame::fd::Fd` and `tame::hangup`: the ordering rules of their docs, each as a test named
//! for it. Not run under Miri, which has no pipes.
#![cfg(not(miri))]
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use tame::fd::Fd;
use tame::{Clock, Event, Rendezvous, TimedOut, tamed};

#[path = "util/log.rs"]
mod log;
use log::Log;

type Buf = Rc<RefCell<Vec<u8>>>;

fn buf() -> Buf {
    Rc::new(RefCell::new(Vec::new()))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An event that logs `what` and the outcome, as `what: ok` or `what: <errno>`.
fn logs<T: 'static>(log: &Log, what: &'static str) -> Event<io::Result<T>> {
    let log = log.clone();
    Event::from_fn(move |res: io::Result<T>| match res {
        Ok(_) => log.push(format!("{what}: ok")),
        Err(e) => log.push(format!("{what}: {}", e.raw_os_error().unwrap_or(-1))),
    })
}

const ECANCELED: i32 = 125;
const EBADF: i32 = 9;

/// Writes `chunks` to `w`, one every 5 ms (virtual), so that reads wait between them.
fn drip(w: &Fd, chunks: &[&'static str]) {
    for (i, c) in chunks.iter().enumerate() {
        let w = w.clone();
        let c = *c;
        tame::timer(
            ms(5 * (i as u64 + 1)),
            Event::from_fn(move |()| w.write(c, Event::from_fn(|_| {}))),
        );
    }
}

#[test]
fn reads_are_served_one_at_a_time_in_issue_order() {
    tame::set_clock(Clock::Virtual);
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    let (a, b, c) = (buf(), buf(), buf());
    tame::run(|| {
        r.read(a.clone(), 3, logs(&log, "read 3"));
        r.read(b.clone(), 4, logs(&log, "read 4"));
        r.read_once(c.clone(), 100, logs(&log, "read_once"));
        drip(&w, &["ab", "cdef", "gh", "ijk"]);
    });
    assert_eq!(log.take(), ["read 3: ok", "read 4: ok", "read_once: ok"]);
    assert_eq!(*a.borrow(), b"abc");
    assert_eq!(*b.borrow(), b"defg");
    assert_eq!(
        *c.borrow(),
        b"h",
        "read_once: the bytes there when it was served"
    );
}

#[test]
fn a_read_completes_at_end_of_file_with_fewer_bytes() {
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    let (a, b) = (buf(), buf());
    tame::run(|| {
        r.read(a.clone(), 100, logs(&log, "short"));
        r.read_once(b.clone(), 100, logs(&log, "at eof"));
        let w2 = w.clone();
        w.write("xyz", Event::from_fn(move |_| w2.close()));
    });
    assert_eq!(log.take(), ["short: ok", "at eof: ok"]);
    assert_eq!(*a.borrow(), b"xyz");
    assert!(b.borrow().is_empty());
}

#[test]
fn writes_are_served_one_at_a_time_in_issue_order() {
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    // Bigger than a pipe's buffer (64 KiB): the first write waits for the reader, and the
    // second must not overtake it.
    let big = vec![b'a'; 1 << 20];
    let got = buf();
    tame::run(|| {
        w.write(big.clone(), logs(&log, "big"));
        w.write("zz", logs(&log, "small"));
        let w2 = w.clone();
        w.write("", Event::from_fn(move |_: io::Result<usize>| w2.close()));
        r.read(got.clone(), usize::MAX, logs(&log, "read to eof"));
    });
    assert_eq!(log.take(), ["big: ok", "small: ok", "read to eof: ok"]);
    let got = got.borrow();
    assert_eq!(got.len(), (1 << 20) + 2);
    assert_eq!(&got[..1 << 20], &big[..]);
    assert_eq!(&got[1 << 20..], b"zz");
}

#[test]
fn close_completes_every_pending_op_with_ecanceled_and_later_ones_with_ebadf() {
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    let (w2, r2) = (w.clone(), r.clone());
    tame::run(|| {
        r.read(buf(), 10, logs(&log, "read 1"));
        r.read_once(buf(), 10, logs(&log, "read 2"));
        // A write that fills the pipe, and one queued behind it.
        w.write(vec![0u8; 1 << 20], logs(&log, "write 1"));
        w.write("x", logs(&log, "write 2"));
        let l = log.clone();
        tame::asap(Event::from_fn(move |()| {
            l.push("close");
            r2.close();
            w2.close();
            r2.read(buf(), 1, logs(&l, "read after"));
            w2.write("y", logs(&l, "write after"));
        }));
    });
    let c = ECANCELED;
    let b = EBADF;
    assert_eq!(
        log.take(),
        [
            "close".to_string(),
            format!("read 1: {c}"),
            format!("read 2: {c}"),
            format!("write 1: {c}"),
            format!("write 2: {c}"),
            format!("read after: {b}"),
            format!("write after: {b}"),
        ]
    );
    assert!(!r.is_open() && !w.is_open());
}

#[test]
fn at_close_fires_after_the_pending_ops_and_at_once_when_closed() {
    let (r, _w) = Fd::pipe().unwrap();
    let log = Log::default();
    tame::run(|| {
        r.read(buf(), 1, logs(&log, "read"));
        let l = log.clone();
        r.at_close(Event::from_fn(move |()| l.push("at_close 1")));
        let l = log.clone();
        r.at_close(Event::from_fn(move |()| l.push("at_close 2")));
        r.close();
        let l = log.clone();
        r.at_close(Event::from_fn(move |()| l.push("at_close after")));
    });
    assert_eq!(
        log.take(),
        [
            format!("read: {ECANCELED}"),
            "at_close 1".into(),
            "at_close 2".into(),
            "at_close after".into()
        ]
    );
}

#[test]
fn dropping_the_last_handle_closes_once_no_op_is_left() {
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    let got = buf();
    tame::run(|| {
        let l = log.clone();
        w.at_close(Event::from_fn(move |()| l.push("writer closed")));
        r.read(got.clone(), 5, logs(&log, "read"));
        drop(r); // the read in progress keeps the fd open
        let l = log.clone();
        w.write(
            "hello",
            Event::from_fn(move |_: io::Result<usize>| l.push("written")),
        );
    });
    drop(w);
    assert_eq!(log.take(), ["written", "read: ok", "writer closed"]);
    assert_eq!(*got.borrow(), b"hello");
}

#[tamed]
fn read_with_timeout(fd: Fd, b: Buf, size: usize, done: Event<Result<io::Result<()>, TimedOut>>) {
    let mut res = Ok(Ok(()));
    twait! { fd.read(b.clone(), size, tame::add_timeout(ms(10), mkevent!(res))); }
    done.trigger(res);
}

#[test]
fn a_read_whose_done_is_cancelled_leaves_the_queue_and_the_next_is_served() {
    tame::set_clock(Clock::Virtual);
    let (r, w) = Fd::pipe().unwrap();
    let outcome: Rendezvous<&str, Result<io::Result<()>, TimedOut>> = Rendezvous::new();
    let (first, second) = (buf(), buf());
    tame::run(|| {
        // The first wants 4 bytes, gets 2, and times out at 10 ms; the second is served next.
        read_with_timeout(r.clone(), first.clone(), 4, outcome.event("first"));
        r.read(second.clone(), 3, Event::from_fn(|_| {}));
        drip(&w, &["ab"]);
        let w2 = w.clone();
        tame::timer(
            ms(20),
            Event::from_fn(move |()| w2.write("cde", Event::from_fn(|_| {}))),
        );
    });
    assert!(matches!(outcome.try_join(), Some(("first", Err(TimedOut)))));
    assert_eq!(
        *first.borrow(),
        b"ab",
        "what it had read stays in its buffer"
    );
    assert_eq!(*second.borrow(), b"cde");
}

#[test]
fn a_cancelled_read_does_not_keep_the_loop_alive() {
    let (r, _w) = Fd::pipe().unwrap();
    let t0 = std::time::Instant::now();
    let rv: Rendezvous<(), io::Result<()>> = Rendezvous::new();
    tame::run(|| {
        r.read(buf(), 1, rv.event(()));
        rv.cancel(); // nothing will ever come: the read leaves, the loop ends
    });
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(r.is_open());
    // And the fd still serves the next read.
    let got = buf();
    let (r2, w2) = (r.clone(), _w.clone());
    tame::run(|| {
        r2.read(got.clone(), 2, Event::from_fn(|_| {}));
        w2.write("ok", Event::from_fn(|_| {}));
    });
    assert_eq!(*got.borrow(), b"ok");
}

#[test]
fn a_borrowed_buffer_fails_its_read_without_a_panic() {
    let (r, w) = Fd::pipe().unwrap();
    let log = Log::default();
    let b = buf();
    let held = b.borrow_mut();
    tame::run(|| {
        w.write("x", Event::from_fn(|_| {}));
        r.read(b.clone(), 1, logs(&log, "read"));
    });
    drop(held);
    assert_eq!(log.take(), ["read: -1"]);
}

#[test]
fn shutdown_ends_a_sockets_stream_and_fails_on_a_pipe() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = Fd::new(OwnedFd::from(a)).unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
    assert!(a.is_open());
    let (_r, w) = Fd::pipe().unwrap();
    assert!(w.shutdown(Shutdown::Write).is_err());
    w.close();
    assert_eq!(
        w.shutdown(Shutdown::Both).unwrap_err().raw_os_error(),
        Some(EBADF)
    );
}

#[test]
fn new_restores_the_fds_blocking_mode_at_close() {
    // A blocking socket, shared with a second descriptor of the same open file.
    let (a, _b) = UnixStream::pair().unwrap();
    let other = a.try_clone().unwrap();
    let fd = Fd::new(OwnedFd::from(a)).unwrap();
    // Now non-blocking: a read on the other descriptor does not wait.
    let mut other_ref = &other;
    let e = other_ref.read(&mut [0; 1]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    fd.close();
    // Blocking again: the read waits (here, until its timeout).
    other
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let e = other_ref.read(&mut [0; 1]).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{e:?}"
    );
    let t0 = std::time::Instant::now();
    let _ = other_ref.read(&mut [0; 1]);
    assert!(t0.elapsed() >= Duration::from_millis(15), "it waited");
}

/// Run by `stdin_is_read_without_blocking_the_loop` in a child process whose stdin is a pipe.
#[test]
fn stdin_child() {
    if std::env::var_os("TAME_FD_STDIN_CHILD").is_none() {
        return; // only as the child of the test below
    }
    let stdin = Fd::stdin().unwrap();
    let got = buf();
    let ticks = Rc::new(RefCell::new(0));
    let ticks_before_line = Rc::new(std::cell::Cell::new(0));
    let t = ticks.clone();
    tame::run(|| {
        // The loop keeps ticking while the read waits for the parent's line.
        fn tick(t: Rc<RefCell<u32>>) {
            let t2 = t.clone();
            tame::timer(
                ms(5),
                Event::from_fn(move |()| {
                    *t2.borrow_mut() += 1;
                    if *t2.borrow() < 1000 {
                        tick(t2.clone());
                    }
                }),
            );
        }
        tick(t);
        let (s, tk, seen) = (stdin.clone(), ticks.clone(), ticks_before_line.clone());
        stdin.read(
            got.clone(),
            6,
            Event::from_fn(move |_: io::Result<()>| {
                s.close();
                seen.set(*tk.borrow());
                *tk.borrow_mut() = 1000; // stop ticking
            }),
        );
    });
    let out = String::from_utf8_lossy(&got.borrow()).into_owned();
    println!("CHILD GOT {out}");
    println!("CHILD TICKED {}", ticks_before_line.get());
}

#[test]
fn stdin_is_read_without_blocking_the_loop() {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "stdin_child", "--nocapture", "--test-threads=1"])
        .env("TAME_FD_STDIN_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::thread::sleep(ms(100)); // the child's loop runs meanwhile
    input.write_all(b"hello\n").unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("CHILD GOT hello\n"), "{out}");
    // The parent waited 100 ms before writing: the child's 5 ms timer ticked meanwhile.
    let ticked: u32 = out
        .split("CHILD TICKED ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .and_then(|s| s.trim().parse().ok())
        .expect("the child reports its ticks");
    assert!(ticked >= 5, "the loop was blocked: {ticked} ticks");
    assert!(out.contains("test result: ok"), "{out}");
}

#[test]
fn hangup_fires_when_the_peer_closes_never_on_data() {
    tame::set_clock(Clock::Virtual);
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let log = Log::default();
    tame::run(|| {
        let l = log.clone();
        tame::hangup(&b, Event::from_fn(move |()| l.push("hangup")));
        a.write_all(b"data").unwrap();
        let l = log.clone();
        tame::timer(
            ms(10),
            Event::from_fn(move |()| l.push("data sent, no hangup")),
        );
        let l = log.clone();
        tame::timer(
            ms(20),
            Event::from_fn(move |()| {
                l.push("peer closes");
                drop(a);
            }),
        );
    });
    assert_eq!(
        log.take(),
        ["data sent, no hangup", "peer closes", "hangup"]
    );
    tame::deregister(&b);
}

#[test]
fn hangup_fires_on_a_peer_shutdown_and_on_a_pipe_whose_reader_is_gone() {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let r: Rendezvous<&str> = Rendezvous::new();
    tame::run(|| {
        tame::hangup(&b, r.event("shutdown"));
        a.shutdown(Shutdown::Write).unwrap();
    });
    assert_eq!(r.try_join(), Some(("shutdown", ())));
    tame::deregister(&b);
    let (rd, wr) = std::io::pipe().unwrap();
    tame::run(|| {
        tame::hangup(&wr, r.event("reader gone"));
        drop(rd);
    });
    assert_eq!(r.try_join(), Some(("reader gone", ())));
    tame::deregister(&wr);
}

#[test]
fn a_cancelled_hangup_wait_does_not_keep_the_loop_alive() {
    let (_a, b) = UnixStream::pair().unwrap();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| {
        tame::hangup(&b, r.event(()));
        r.cancel();
    });
    assert_eq!(r.try_join(), None);
    tame::deregister(&b);
}

#[test]
fn a_regular_file_never_hangs_up_and_is_read_at_once() {
    let path = std::env::temp_dir().join(format!("tame-fd-test-{}", std::process::id()));
    std::fs::write(&path, b"file contents").unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| tame::hangup(&f, r.event(())));
    assert_eq!((r.try_join(), r.pending()), (None, 0), "abandoned at once");
    let fd = Fd::new(OwnedFd::from(f)).unwrap();
    let got = buf();
    let log = Log::default();
    tame::run(|| fd.read(got.clone(), 100, logs(&log, "read")));
    assert_eq!(log.take(), ["read: ok"]);
    assert_eq!(*got.borrow(), b"file contents");
    fd.close();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn hangup_on_an_fd_fires_when_its_peer_closes_and_is_dropped_when_it_closes() {
    let (r, w) = Fd::pipe().unwrap();
    let ev: Rendezvous<&str> = Rendezvous::new();
    tame::run(|| {
        tame::hangup(&r, ev.event("writer gone"));
        let w2 = w.clone();
        w.write(
            "last words",
            Event::from_fn(move |_: io::Result<usize>| w2.close()),
        );
    });
    assert_eq!(ev.try_join(), Some(("writer gone", ())));
    // A hang-up wait on an Fd that is closed first is dropped with it: nothing keeps the loop.
    let (r, _w) = Fd::pipe().unwrap();
    tame::run(|| {
        tame::hangup(&r, ev.event("never"));
        r.close();
    });
    assert_eq!((ev.try_join(), ev.pending()), (None, 0));
}
