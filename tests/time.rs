//! The loop and time: the virtual clock (`set_clock`, `now`, `wall_now`), `run_once`,
//! `timer_background` and `at_preblock`, each rule of their docs as a test named for it.
//!
//! Every test runs on its own thread (the test harness's), so each starts on the real clock.
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tame::{Clock, Event, Rendezvous, TimedOut, tamed};

#[path = "util/log.rs"]
mod log;
use log::Log;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An event that logs `what`, with the virtual milliseconds since `t0`, when it triggers.
fn logs(log: &Log, t0: Instant, what: &'static str) -> Event<()> {
    let log = log.clone();
    Event::from_fn(move |()| log.push(format!("{what} at {}", (tame::now() - t0).as_millis())))
}

// ---- the virtual clock ----

#[test]
fn a_one_hour_timeout_fires_in_microseconds_of_real_time() {
    tame::set_clock(Clock::Virtual);
    let real = Instant::now();
    let t0 = tame::now();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let mut never = None;
    tame::run(|| never = Some(tame::add_timeout(Duration::from_secs(3600), r.event(()))));
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    assert_eq!(
        tame::now() - t0,
        Duration::from_secs(3600),
        "exactly an hour"
    );
    let took = real.elapsed();
    eprintln!("an hour of virtual time took {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(!never.unwrap().is_live());
}

#[test]
fn the_virtual_clock_starts_at_unix_one_billion_seconds() {
    tame::set_clock(Clock::Virtual);
    assert_eq!(tame::clock(), Clock::Virtual);
    let start = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    assert_eq!(tame::wall_now(), start);
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    tame::run(|| {
        assert_eq!(tame::wall_now(), start);
        tame::timer(
            ms(1500),
            Event::from_fn(move |()| s.set(Some(tame::wall_now()))),
        );
    });
    assert_eq!(seen.get(), Some(start + ms(1500)));
    assert_eq!(tame::wall_now(), start + ms(1500), "outside a run too");
}

#[test]
fn timers_fire_in_the_same_order_on_the_virtual_clock() {
    // The order of the real clock's test (tame-rt/tests/ordering.rs), each at its deadline.
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        tame::at(t0 + ms(4), logs(&log, t0, "4"));
        tame::at(t0 + ms(1), logs(&log, t0, "1"));
        tame::at(t0 + ms(2), logs(&log, t0, "2"));
        tame::at(t0 + ms(2), logs(&log, t0, "3"));
        tame::timer(ms(10), logs(&log, t0, "5"));
        tame::timer(
            Duration::from_secs(86_400 * 400),
            logs(&log, t0, "a year on"),
        );
        tame::timer(Duration::from_micros(2500), logs(&log, t0, "2.5 ms"));
    });
    assert_eq!(
        log.take(),
        [
            "1 at 1",
            "2 at 2",
            "3 at 2",
            "2.5 ms at 2",
            "4 at 4",
            "5 at 10",
            "a year on at 34560000000"
        ]
    );
}

#[test]
fn now_follows_the_virtual_clock_inside_and_outside_a_run() {
    tame::set_clock(Clock::Virtual);
    let t0 = tame::now();
    std::thread::sleep(ms(5));
    assert_eq!(tame::now(), t0, "real time does not move it");
    tame::run(|| {
        std::thread::sleep(ms(5)); // nor does code that takes long
        assert_eq!(tame::now(), t0);
        tame::timer(
            ms(7),
            Event::from_fn(move |()| assert_eq!(tame::now(), t0 + ms(7))),
        );
    });
    assert_eq!(tame::now(), t0 + ms(7));
}

#[test]
fn timer_arm_after_and_add_timeout_follow_the_virtual_clock() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    let idle = tame::Timer::new();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let mut op = None;
    tame::run(|| {
        tame::timer(ms(100), logs(&log, t0, "timer"));
        idle.arm_after(ms(200), logs(&log, t0, "arm_after"));
        op = Some(tame::add_timeout(ms(300), r.event(())));
        let l = log.clone();
        tame::at(
            t0 + ms(301),
            Event::from_fn(move |()| l.push(format!("{:?}", r.try_join()))),
        );
    });
    assert_eq!(
        log.take(),
        [
            "timer at 100",
            "arm_after at 200",
            "Some(((), Err(TimedOut)))"
        ]
    );
    drop(op);
}

#[test]
#[cfg(not(miri))] // sockets
fn fds_are_still_served_on_the_virtual_clock() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    tame::set_clock(Clock::Virtual);
    let t0 = tame::now();
    let log = Log::default();
    // Data already there: served before the clock jumps to the pending timer.
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    a.write_all(b"x").unwrap();
    tame::run(|| {
        tame::readable(&b, logs(&log, t0, "readable"));
        tame::timer(Duration::from_secs(60), logs(&log, t0, "timer"));
    });
    assert_eq!(log.take(), ["readable at 0", "timer at 60000"]);
    tame::deregister(&b);
    // No timer pending: the loop waits in its poll for the fd, in real time.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(ms(20));
        a.write_all(b"late").unwrap();
        a
    });
    let t1 = tame::now();
    tame::run(|| tame::readable(&b, logs(&log, t1, "readable after the wait")));
    assert_eq!(log.take(), ["readable after the wait at 0"]);
    let mut got = [0; 4];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"late");
    tame::deregister(&b);
    drop(writer.join().unwrap());
}

#[test]
#[cfg(not(miri))] // sockets
fn a_timeout_on_a_silent_peer_fires_without_waiting_for_it_on_the_virtual_clock() {
    use std::os::unix::net::UnixStream;
    tame::set_clock(Clock::Virtual);
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let real = Instant::now();
    let t0 = tame::now();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    tame::run(|| tame::readable(&b, tame::add_timeout(Duration::from_secs(10), r.event(()))));
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    assert_eq!(tame::now() - t0, Duration::from_secs(10));
    assert!(real.elapsed() < Duration::from_secs(5));
    tame::deregister(&b);
}

#[test]
#[should_panic(expected = "tame::set_clock called while a tame loop is running on this thread")]
fn set_clock_inside_a_run_panics() {
    tame::run(|| tame::set_clock(Clock::Virtual));
}

#[test]
#[should_panic(expected = "tame::set_clock called while 1 timer(s) are pending on this thread")]
fn set_clock_with_timers_pending_panics() {
    tame::set_clock(Clock::Virtual);
    // One turn jumps to the first timer: the second stays pending.
    tame::run_once(|| {
        tame::timer(Duration::from_secs(1), Event::from_fn(|()| {}));
        tame::timer(Duration::from_secs(60), Event::from_fn(|()| {}));
    });
    tame::set_clock(Clock::Real);
}

#[test]
fn set_clock_virtual_again_restarts_the_wall_clock_and_never_goes_back() {
    tame::set_clock(Clock::Virtual);
    tame::run(|| tame::timer(Duration::from_secs(3600), Event::from_fn(|()| {})));
    let later = tame::now();
    tame::set_clock(Clock::Virtual);
    assert_eq!(
        tame::wall_now(),
        UNIX_EPOCH + Duration::from_secs(1_000_000_000)
    );
    assert!(tame::now() >= later, "the instant does not go back");
    // Back to the real clock: now() and wall_now() are the system's again.
    tame::set_clock(Clock::Real);
    assert_eq!(tame::clock(), Clock::Real);
    let wall = tame::wall_now();
    let sys = SystemTime::now();
    assert!(sys.duration_since(wall).unwrap_or_default() < Duration::from_secs(5));
    assert!(wall.duration_since(sys).unwrap_or_default() < Duration::from_millis(1));
}

#[test]
fn wall_now_on_the_real_clock_is_the_time_of_the_turn() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| {
        let before = tame::wall_now();
        std::thread::sleep(ms(20));
        // The same turn: the cached clock, and its wall time, have not moved (within the
        // rounding of two clock reads).
        let after = tame::wall_now();
        let moved = after.duration_since(before).unwrap_or_default();
        assert!(moved < ms(10), "{moved:?}");
        assert!(SystemTime::now().duration_since(after).unwrap() >= ms(19));
        tame::timer(ms(1), r.event(()));
    });
    assert_eq!(r.try_join(), Some(((), ())));
}

// ---- run_once ----

#[tamed]
fn waits_for_a_timer(after: Duration, log: Log, done: Event<()>) {
    log.push("started");
    twait! { tame::timer(after, mkevent!()); }
    log.push("resumed");
    done.trigger(());
}

#[test]
fn run_once_fires_the_asap_events_queued_before_its_turn_but_not_those_they_queue() {
    let log = Log::default();
    let l = log.clone();
    tame::run_once(|| {
        tame::asap(Event::from_fn(move |()| {
            l.push("first asap");
            let l2 = l.clone();
            tame::asap(Event::from_fn(move |()| l2.push("second asap")));
        }));
    });
    assert_eq!(log.take(), ["first asap"]);
    tame::run_once(|| {});
    assert_eq!(log.take(), ["second asap"]);
}

#[test]
fn run_once_leaves_the_calls_its_timers_wake_queued_for_the_next() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    // One turn: the call starts (in f) and blocks; the clock jumps to its timer, which fires;
    // the call is queued, not resumed.
    tame::run_once(|| waits_for_a_timer(ms(5), log.clone(), Event::from_fn(move |()| d.set(true))));
    assert_eq!(log.take(), ["started"]);
    assert!(!done.get());
    // The next turn resumes it.
    tame::run_once(|| {});
    assert_eq!(log.take(), ["resumed"]);
    assert!(done.get());
}

#[test]
fn run_once_with_nothing_pending_returns_at_once() {
    let real = Instant::now();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    tame::run_once(move || r.set(true));
    assert!(ran.get());
    assert!(real.elapsed() < Duration::from_secs(1));
}

#[test]
fn run_once_on_the_virtual_clock_jumps_to_the_next_deadline_only() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run_once(|| {
        tame::timer(ms(10), logs(&log, t0, "a"));
        tame::timer(ms(10), logs(&log, t0, "b"));
        tame::timer(ms(20), logs(&log, t0, "c"));
    });
    assert_eq!(log.take(), ["a at 10", "b at 10"]);
    tame::run_once(|| {});
    assert_eq!(log.take(), ["c at 20"]);
    tame::run_once(|| {});
    assert_eq!(tame::now() - t0, ms(20), "nothing left: no jump");
}

#[test]
fn run_once_in_a_loop_does_what_run_does() {
    fn program(log: &Log) {
        for (i, after) in [30u64, 10, 20].into_iter().enumerate() {
            let l = log.clone();
            waits_for_a_timer(
                ms(after),
                log.clone(),
                Event::from_fn(move |()| l.push(format!("{i} done"))),
            );
        }
        let l = log.clone();
        tame::asap(Event::from_fn(move |()| l.push("asap")));
    }
    tame::set_clock(Clock::Virtual);
    let by_run = Log::default();
    tame::run(|| program(&by_run));
    let by_turns = Log::default();
    let done = Rendezvous::<(), ()>::new();
    let mut f: Option<Box<dyn FnOnce()>> = Some(Box::new(|| {
        program(&by_turns);
        tame::timer(ms(30), done.event(()));
    }));
    let mut turns = 0;
    while done.try_join().is_none() || turns < 3 {
        tame::run_once(f.take().unwrap_or(Box::new(|| {})));
        turns += 1;
        assert!(turns < 100, "run_once makes progress");
    }
    tame::run_once(|| {}); // resumes what the last timer woke
    assert_eq!(by_turns.take(), by_run.take());
}

#[test]
#[should_panic(expected = "tame::run_once called while a tame loop is already running")]
fn run_once_inside_run_panics() {
    tame::run(|| tame::run_once(|| {}));
}

#[test]
fn a_run_once_that_panics_drops_what_is_pending() {
    tame::set_clock(Clock::Virtual);
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run_once(|| {
        tame::timer(Duration::from_secs(1), Event::from_fn(|()| {}));
        tame::timer(Duration::from_secs(60), r.event(()));
    });
    assert_eq!(r.pending(), 1);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tame::run_once(|| panic!("boom"))
    }));
    assert!(panicked.is_err());
    assert_eq!(
        r.pending(),
        0,
        "the timer left by the first run_once was dropped"
    );
    tame::set_clock(Clock::Real); // nothing pending any more
}

// ---- timer_background ----

#[test]
fn a_background_timer_does_not_keep_run_alive() {
    for clock in [Clock::Real, Clock::Virtual] {
        tame::set_clock(clock);
        let real = Instant::now();
        let t0 = tame::now();
        let r: Rendezvous<(), ()> = Rendezvous::new();
        tame::run(|| tame::timer_background(Duration::from_secs(3600), r.event(())));
        assert!(real.elapsed() < Duration::from_secs(5));
        if clock == Clock::Virtual {
            assert_eq!(tame::now(), t0, "no jump to it");
        }
        assert_eq!(r.ready(), 0);
        assert_eq!(r.pending(), 1, "it stays pending on the thread");
        r.cancel();
    }
}

#[test]
fn a_background_timer_fires_if_the_loop_is_alive_anyway() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        tame::timer_background(ms(10), logs(&log, t0, "background"));
        tame::timer(ms(20), logs(&log, t0, "foreground"));
        tame::timer_background(ms(30), logs(&log, t0, "background after the last"));
    });
    assert_eq!(log.take(), ["background at 10", "foreground at 20"]);
    assert_eq!(tame::now() - t0, ms(20));
    // It stays for the next run, and fires there if that run lives long enough.
    tame::run(|| tame::timer(ms(15), logs(&log, t0, "next run")));
    assert_eq!(
        log.take(),
        ["background after the last at 30", "next run at 35"]
    );
}

#[test]
fn background_and_foreground_timers_with_one_deadline_fire_in_the_order_set() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        tame::timer(ms(5), logs(&log, t0, "fg 1"));
        tame::timer_background(ms(5), logs(&log, t0, "bg 2"));
        tame::timer(ms(5), logs(&log, t0, "fg 3"));
    });
    assert_eq!(log.take(), ["fg 1 at 5", "bg 2 at 5", "fg 3 at 5"]);
}

#[test]
fn a_background_timer_on_a_cancelled_rendezvous_is_removed() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| tame::timer_background(Duration::from_secs(3600), r.event(())));
    assert_eq!(r.pending(), 1);
    r.cancel();
    assert_eq!(r.pending(), 0);
    tame::set_clock(Clock::Virtual); // no timer is pending any more: allowed
}

#[tamed]
fn waits_in_the_background(log: Log) {
    twait! { tame::timer_background(ms(10), mkevent!()); }
    log.push("woken by the background timer");
}

#[test]
fn a_call_waiting_only_on_a_background_timer_resumes_in_a_later_run() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    tame::run(|| waits_in_the_background(log.clone()));
    assert_eq!(log.take(), Vec::<String>::new());
    tame::run(|| tame::timer(ms(50), Event::from_fn(|()| {})));
    assert_eq!(log.take(), ["woken by the background timer"]);
}

// ---- at_preblock ----

#[tamed]
fn runs_three_turns(log: Log) {
    for i in 0..3 {
        log.push(format!("call {i}"));
        twait! { tame::asap(mkevent!()); }
    }
}

#[test]
fn preblock_events_fire_when_the_loop_is_about_to_block() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        tame::timer(ms(10), logs(&log, t0, "timer"));
        tame::at_preblock(logs(&log, t0, "preblock"));
        runs_three_turns(log.clone());
    });
    // Not while the call still has turns to run; before the clock moves to the timer.
    assert_eq!(
        log.take(),
        ["call 0", "call 1", "call 2", "preblock at 0", "timer at 10"]
    );
}

#[test]
fn preblock_events_fire_together_in_order_and_new_ones_wait_for_the_next_block() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        tame::timer(ms(10), logs(&log, t0, "timer 10"));
        tame::timer(ms(20), logs(&log, t0, "timer 20"));
        for i in 0..3 {
            let l = log.clone();
            tame::at_preblock(Event::from_fn(move |()| {
                l.push(format!(
                    "preblock {i} at {}",
                    (tame::now() - t0).as_millis()
                ));
                let l2 = l.clone();
                tame::at_preblock(Event::from_fn(move |()| {
                    l2.push(format!("again {i} at {}", (tame::now() - t0).as_millis()))
                }));
            }));
        }
    });
    assert_eq!(
        log.take(),
        [
            "preblock 0 at 0",
            "preblock 1 at 0",
            "preblock 2 at 0",
            "timer 10 at 10",
            "again 0 at 10",
            "again 1 at 10",
            "again 2 at 10",
            "timer 20 at 20"
        ]
    );
}

#[test]
fn a_pending_preblock_event_does_not_keep_the_loop_alive() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| tame::at_preblock(r.event(())));
    assert_eq!(r.ready(), 0, "the loop ended: it never was about to block");
    assert_eq!(r.pending(), 1, "it stays registered for the next run");
    tame::run(|| tame::timer(ms(1), Event::from_fn(|()| {})));
    assert_eq!(r.try_join(), Some(((), ())));
}

#[tamed]
fn flushes_after_preblock(log: Log) {
    twait! { tame::at_preblock(mkevent!()); }
    log.push("woken by preblock");
    twait! { tame::asap(mkevent!()); }
    log.push("and one more turn");
}

#[test]
fn the_calls_a_preblock_event_wakes_run_before_the_loop_blocks() {
    tame::set_clock(Clock::Virtual);
    let log = Log::default();
    let t0 = tame::now();
    tame::run(|| {
        flushes_after_preblock(log.clone());
        tame::timer(ms(10), logs(&log, t0, "timer"));
    });
    assert_eq!(
        log.take(),
        ["woken by preblock", "and one more turn", "timer at 10"]
    );
}

#[test]
fn a_preblock_event_that_removes_the_last_timer_ends_the_loop() {
    // Real clock: were the loop to block on after its preblock events removed the only
    // timer, it would block forever.
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let r2 = r.clone();
    let real = Instant::now();
    tame::run(|| {
        tame::timer(Duration::from_secs(3600), r.event(()));
        tame::at_preblock(Event::from_fn(move |()| r2.cancel()));
    });
    assert!(real.elapsed() < Duration::from_secs(5));
    assert_eq!(r.pending(), 0);
}
