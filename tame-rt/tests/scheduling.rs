//! The loop's turn: queued calls run before the poller is asked (with a zero timeout while work
//! is queued), at most 256 of them per turn, and hooks run in the order they were added.
mod util;

use std::time::{Duration, Instant};

use tame_rt::{Event, Rendezvous, run, timer};
use util::{Log, drain};

/// A blocked call that, when woken, logs `name` (through `drain`).
fn blocked(name: u8, log: &Log) -> Event<()> {
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let e = r.event(name);
    drain(r, log.clone());
    e
}

#[test]
#[cfg(not(miri))] // Miri has no sockets
fn the_run_queue_is_drained_before_polling() {
    use std::io::Write;
    let log = Log::default();
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    a.write_all(b"x").unwrap(); // `b` is readable before the loop starts
    run(|| {
        let l = log.clone();
        tame_rt::readable(&b, Event::from_fn(move |()| l.push("io")));
        blocked(1, &log).trigger(());
    });
    assert_eq!(log.take(), ["1=()", "end", "io"]);
    tame_rt::deregister(&b);
}

#[test]
fn queued_work_never_waits_for_a_pending_timer() {
    // A chain of calls, each waking the next through the loop, while a 10 s timer is pending:
    // if the loop ever blocked in its poll for the timer's deadline, this would take 10 s.
    let n: u32 = if cfg!(miri) { 50 } else { 2000 };
    let log = Log::default();
    let start = Instant::now();
    let guard: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        timer(Duration::from_secs(10), guard.event(()));
        let mut next = blocked(0, &log);
        for i in 1..=n {
            let prev = next;
            let r: Rendezvous<u8, ()> = Rendezvous::new();
            let e = r.event(1);
            let l = log.clone();
            let g = guard.clone();
            // Each link triggers the previous one when it is woken itself.
            tame_rt::__private::spawn("link", file!(), {
                let mut prev = Some(prev);
                move |cx| match cx.poll_rv(&r, line!()) {
                    None => tame_rt::__private::Step::Blocked,
                    Some(_) => {
                        if let Some(p) = prev.take() {
                            p.trigger(());
                        }
                        if i == n {
                            l.push("last link");
                        }
                        if i == 1 {
                            g.cancel(); // the chain is done: remove the timer
                        }
                        tame_rt::__private::Step::Done
                    }
                }
            });
            next = e;
        }
        next.trigger(());
    });
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(log.take(), ["last link", "0=()", "end"]);
}

#[test]
#[cfg(not(miri))] // Miri has no sockets
fn io_is_polled_after_at_most_256_queued_calls() {
    use std::io::Write;
    let log = Log::default();
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    a.write_all(b"x").unwrap();
    run(|| {
        let l = log.clone();
        tame_rt::readable(&b, Event::from_fn(move |()| l.push("io")));
        // 600 calls queued at once: the loop runs 256, polls, runs 256, polls, runs 88.
        let events: Vec<Event<()>> = (0..600).map(|_| blocked(7, &log)).collect();
        for e in events {
            e.trigger(());
        }
    });
    let got = log.take();
    // Each woken call logs two lines ("7=()", "end").
    let io_at = got.iter().position(|s| s == "io").expect("io fired");
    assert_eq!(io_at, 2 * 256, "{:?}", &got[..4]);
    assert_eq!(got.len(), 2 * 600 + 1);
    tame_rt::deregister(&b);
}

#[test]
fn on_cancel_hooks_run_in_the_order_they_were_added() {
    let log = Log::default();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let mut e = r.event(());
    for i in 0..5 {
        let l = log.clone();
        e.on_cancel(move || l.push(format!("hook {i}")));
    }
    r.cancel();
    assert_eq!(
        log.take(),
        ["hook 0", "hook 1", "hook 2", "hook 3", "hook 4"]
    );
}
