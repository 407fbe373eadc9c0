//! Signals: `at_signal` fires once, every event of a signal together; a delivery between a
//! firing and the next registration is held for it; `add_signal` both ways; cancelled
//! registrations free the loop; and once nothing waits for a signal it is handled as before
//! (checked in a child process: the default action ends it).
//!
//! Signals are process-wide and the test harness runs tests on several threads, so the tests
//! here take one lock, and each is bounded by a watchdog that ends the process if it hangs.
//! A test named `child_*` does its work only in the child process a parent test starts.
#![cfg(not(miri))] // Miri has no signals

mod util;

use std::cell::{Cell, RefCell};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use tame_rt::__private::{Cx, Step, spawn};
use tame_rt::signal::{
    SIGINT, SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2, Signalled, add_signal, at_signal, raise,
};
use tame_rt::{Event, Rendezvous, run, timer};
use util::Log;

/// Held by every test: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ends the process, with a message, unless dropped within `limit`.
struct Watchdog(Arc<AtomicBool>);

fn watchdog(what: &'static str, limit: Duration) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        while !d.load(Ordering::SeqCst) {
            if t0.elapsed() > limit {
                eprintln!("{what}: still running after {limit:?}: the loop did not end");
                std::process::exit(101);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    Watchdog(done)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The lock and a 10 s watchdog.
fn guard(what: &'static str) -> (MutexGuard<'static, ()>, Watchdog) {
    let lock = serial();
    (lock, watchdog(what, Duration::from_secs(10)))
}

/// Runs the test `name` of this binary alone in a child process (where it does its work),
/// bounded in time; returns how it ended and its stdout.
fn child(name: &str) -> (ExitStatus, String) {
    let exe = std::env::current_exe().unwrap();
    let mut c = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("TAME_SIGNAL_CHILD", name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = c.kill();
            let _ = c.wait();
            panic!("{name}: the child still ran after 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut c.stdout.take().unwrap(), &mut out).unwrap();
    (status, out)
}

/// Whether this process is the child that runs `name`.
fn in_child(name: &str) -> bool {
    std::env::var("TAME_SIGNAL_CHILD").as_deref() == Ok(name)
}

fn counter() -> (Rc<Cell<u32>>, impl Fn() -> Event<()>) {
    let n = Rc::new(Cell::new(0));
    let m = n.clone();
    (n, move || {
        let m = m.clone();
        Event::from_fn(move |()| m.set(m.get() + 1))
    })
}

#[test]
fn fires_once_and_the_loop_ends() {
    let _g = guard("fires_once_and_the_loop_ends");
    let (n, count) = counter();
    run(|| {
        at_signal(SIGUSR1, count());
        // Two deliveries before the loop reads them are one, as the kernel merges them.
        raise(SIGUSR1).unwrap();
        raise(SIGUSR1).unwrap();
    });
    assert_eq!(n.get(), 1);
}

#[test]
fn the_loop_waits_for_a_signal_as_for_a_timer() {
    let _g = guard("the_loop_waits_for_a_signal_as_for_a_timer");
    let (n, count) = counter();
    let t0 = Instant::now();
    run(|| {
        at_signal(SIGUSR1, count());
        // Nothing else to do for 50 ms: the loop stays alive for the signal.
        timer(
            Duration::from_millis(50),
            Event::from_fn(|()| raise(SIGUSR1).unwrap()),
        );
    });
    assert_eq!(n.get(), 1);
    assert!(t0.elapsed() >= Duration::from_millis(50));
}

#[test]
fn every_event_of_a_signal_fires_together_and_no_other() {
    let _g = guard("every_event_of_a_signal_fires_together_and_no_other");
    let a: Rendezvous<u32, ()> = Rendezvous::new();
    let other: Rendezvous<(), ()> = Rendezvous::new();
    let seen = Rc::new(Cell::new(None));
    run(|| {
        at_signal(SIGUSR1, a.event(1));
        at_signal(SIGUSR2, other.event(()));
        at_signal(SIGUSR1, a.event(2));
        // The third one, a callback, sees the first two already fired: one delivery, one go.
        let (a2, other2, s) = (a.clone(), other.clone(), seen.clone());
        at_signal(
            SIGUSR1,
            Event::from_fn(move |()| {
                s.set(Some(a2.ready()));
                other2.cancel(); // nothing else waits: the loop may end
            }),
        );
        raise(SIGUSR1).unwrap();
    });
    assert_eq!(seen.get(), Some(2));
    assert_eq!(a.try_join(), Some((1, ())));
    assert_eq!(a.try_join(), Some((2, ())));
    assert_eq!(other.ready(), 0, "SIGUSR2 never came");
}

/// A call that waits for SIGUSR1 three times, registering again after each wake-up; after the
/// first, it raises the signal itself before registering again: that delivery comes between a
/// firing and the next registration, and must fire the next one at once.
fn reregistering(log: Log) {
    let r: Rendezvous<u32, ()> = Rendezvous::new();
    at_signal(SIGUSR1, r.event(1));
    spawn("reregistering", file!(), move |cx: &Cx| {
        loop {
            match cx.poll_rv(&r, line!()) {
                None => return Step::Blocked,
                Some(None) => return Step::Done,
                Some(Some((i, ()))) => {
                    log.push(format!("woke {i}"));
                    match i {
                        1 => {
                            raise(SIGUSR1).unwrap(); // not registered right now
                            at_signal(SIGUSR1, r.event(2)); // fires at once
                            log.push(format!("ready at once: {}", r.ready()));
                        }
                        2 => {
                            at_signal(SIGUSR1, r.event(3));
                            // This one is read by the loop, as usual.
                            timer(
                                Duration::from_millis(5),
                                Event::from_fn(|()| raise(SIGUSR1).unwrap()),
                            );
                        }
                        _ => return Step::Done,
                    }
                }
            }
        }
    });
}

#[test]
fn a_delivery_between_a_firing_and_the_next_registration_is_not_lost() {
    let _g = guard("a_delivery_between_a_firing_and_the_next_registration_is_not_lost");
    let log = Log::default();
    run(|| {
        reregistering(log.clone());
        raise(SIGUSR1).unwrap();
    });
    assert_eq!(
        log.take(),
        ["woke 1", "ready at once: 1", "woke 2", "woke 3"]
    );
}

type R = Rendezvous<&'static str, Result<u32, Signalled>>;

#[test]
fn add_signal_operation_first_gives_ok_and_frees_the_loop() {
    let _g = guard("add_signal_operation_first_gives_ok_and_frees_the_loop");
    let r: R = Rendezvous::new();
    run(|| {
        let op = add_signal(SIGUSR2, r.event("op"));
        timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| op.trigger(7)),
        );
    });
    // The loop ended: the registration went with the race.
    assert_eq!(r.try_join(), Some(("op", Ok(7))));
    assert_eq!(r.try_join(), None);
}

#[test]
fn add_signal_signal_first_gives_signalled_and_cancels_the_operation() {
    let _g = guard("add_signal_signal_first_gives_signalled_and_cancels_the_operation");
    let r: R = Rendezvous::new();
    let hook_ran = Rc::new(Cell::new(false));
    let kept: Rc<RefCell<Option<Event<u32>>>> = Default::default();
    let (h, k) = (hook_ran.clone(), kept.clone());
    run(|| {
        let mut op = add_signal(SIGTERM, r.event("op"));
        op.on_cancel(move || h.set(true));
        *k.borrow_mut() = Some(op); // an operation that never answers
        raise(SIGTERM).unwrap();
    });
    assert_eq!(r.try_join(), Some(("op", Err(Signalled(SIGTERM)))));
    assert!(hook_ran.get(), "the operation was told");
    let op = kept.borrow_mut().take().unwrap();
    assert!(!op.is_live());
    op.trigger(8); // too late: dropped
    assert_eq!(r.try_join(), None);
    assert_eq!(
        Signalled(SIGTERM).to_string(),
        "operation interrupted by SIGTERM"
    );
}

#[test]
fn add_signal_whose_operation_drops_its_event_abandons_the_wrapped_one() {
    let _g = guard("add_signal_whose_operation_drops_its_event_abandons_the_wrapped_one");
    let r: R = Rendezvous::new();
    run(|| add_signal(SIGUSR2, r.event("op")).abandon());
    assert_eq!((r.pending(), r.ready()), (0, 0));
}

#[test]
fn cancelled_or_dropped_registrations_free_the_loop() {
    let _g = guard("cancelled_or_dropped_registrations_free_the_loop");
    // Cancelled.
    let r: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        at_signal(SIGUSR1, r.event(()));
        at_signal(SIGUSR2, r.event(()));
        timer(Duration::from_millis(5), {
            let r = r.clone();
            Event::from_fn(move |()| r.cancel())
        });
    });
    assert_eq!(r.ready(), 0);
    // Dropped with the receiver's last handle.
    run(|| {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        at_signal(SIGINT, r.event(()));
    });
    // An event that was not live is not registered at all.
    run(|| {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        let e = r.event(());
        r.cancel();
        at_signal(SIGUSR1, e);
    });
}

#[test]
fn sigint_and_sigterm() {
    let _g = guard("sigint_and_sigterm");
    let r: Rendezvous<i32, ()> = Rendezvous::new();
    for signo in [SIGINT, SIGTERM] {
        run(|| {
            at_signal(signo, r.event(signo));
            raise(signo).unwrap();
        });
    }
    assert_eq!(r.try_join(), Some((SIGINT, ())));
    assert_eq!(r.try_join(), Some((SIGTERM, ())));
    // Both at once, one of them delivered: the other registration is cancelled by hand.
    let r: Rendezvous<i32, ()> = Rendezvous::new();
    let r2 = r.clone();
    run(|| {
        at_signal(SIGINT, r.event(SIGINT));
        at_signal(SIGTERM, r.event(SIGTERM));
        at_signal(SIGTERM, Event::from_fn(move |()| r2.cancel()));
        raise(SIGTERM).unwrap();
    });
    assert_eq!(r.try_join(), Some((SIGTERM, ())));
    assert_eq!(r.try_join(), None);
}

#[test]
fn every_thread_that_waits_for_a_signal_gets_it() {
    let _g = guard("every_thread_that_waits_for_a_signal_gets_it");
    let (ready_tx, ready_rx) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let got = Rc::new(Cell::new(false));
        let g = got.clone();
        run(|| {
            at_signal(SIGUSR2, Event::from_fn(move |()| g.set(true)));
            ready_tx.send(()).unwrap();
        });
        got.get()
    });
    ready_rx.recv().unwrap();
    let (n, count) = counter();
    run(|| {
        at_signal(SIGUSR2, count());
        raise(SIGUSR2).unwrap();
    });
    assert_eq!(n.get(), 1);
    assert!(other.join().unwrap(), "the other thread's loop got it too");
}

#[test]
fn a_run_that_unwinds_drops_its_registrations() {
    let _g = guard("a_run_that_unwinds_drops_its_registrations");
    let panicked = std::panic::catch_unwind(|| {
        run(|| {
            at_signal(SIGUSR1, Event::from_fn(|()| unreachable!()));
            panic!("boom");
        })
    });
    assert!(panicked.is_err());
    let t0 = Instant::now();
    run(|| {}); // nothing of the old run keeps this one alive
    assert!(t0.elapsed() < Duration::from_secs(1));
    // And the signal works as before for the next run.
    let (n, count) = counter();
    run(|| {
        at_signal(SIGUSR1, count());
        raise(SIGUSR1).unwrap();
    });
    assert_eq!(n.get(), 1);
}

#[test]
#[should_panic(expected = "signal 9 cannot be caught")]
fn sigkill_cannot_be_caught() {
    at_signal(9, Event::from_fn(|()| {}));
}

#[test]
fn once_nothing_waits_the_signal_is_handled_as_before() {
    let _g = serial();
    // The default action of SIGUSR1 and SIGTERM ends the process again.
    for name in [
        "child_after_a_firing_the_default_action_is_back",
        "child_after_a_cancel_the_default_action_is_back",
        "child_sigterm_ends_the_process_again",
        "child_a_thread_that_ends_stops_catching",
    ] {
        let (status, out) = child(name);
        let (want, said) = match name {
            "child_sigterm_ends_the_process_again" => (SIGTERM, "caught first"),
            "child_after_a_cancel_the_default_action_is_back" => (SIGUSR1, "registered, cancelled"),
            "child_a_thread_that_ends_stops_catching" => (SIGUSR1, "the thread ended"),
            _ => (SIGUSR1, "caught first"),
        };
        assert_eq!(
            status.signal(),
            Some(want),
            "{name}: {status:?}, stdout {out}"
        );
        assert!(
            out.contains(said) && !out.contains("still alive"),
            "{name}: {out}"
        );
    }
    // SIGPIPE, which Rust programs ignore, is ignored again.
    let (status, out) = child("child_an_ignored_signal_is_ignored_again");
    assert!(status.success(), "{status:?}, stdout {out}");
    assert!(out.contains("still alive"), "{out}");
}

#[test]
fn a_delivery_held_in_the_window_and_never_claimed_gets_the_default_action() {
    let _g = serial();
    let (status, out) = child("child_a_held_delivery_never_claimed");
    assert_eq!(status.signal(), Some(SIGUSR1), "{status:?}, stdout {out}");
    assert!(out.contains("woke, raised again"), "{out}");
    assert!(!out.contains("survived"), "{out}");
}

/// Catches `signo` once in a loop, says so, then raises it again: the process should end.
fn catch_once_then_raise(signo: i32) {
    let (n, count) = counter();
    run(|| {
        at_signal(signo, count());
        raise(signo).unwrap();
    });
    assert_eq!(n.get(), 1);
    println!("caught first");
    raise(signo).unwrap();
    println!("still alive");
}

#[test]
fn child_after_a_firing_the_default_action_is_back() {
    if in_child("child_after_a_firing_the_default_action_is_back") {
        catch_once_then_raise(SIGUSR1);
    }
}

#[test]
fn child_sigterm_ends_the_process_again() {
    if in_child("child_sigterm_ends_the_process_again") {
        catch_once_then_raise(SIGTERM);
    }
}

#[test]
fn child_an_ignored_signal_is_ignored_again() {
    if in_child("child_an_ignored_signal_is_ignored_again") {
        catch_once_then_raise(SIGPIPE);
    }
}

#[test]
fn child_after_a_cancel_the_default_action_is_back() {
    if in_child("child_after_a_cancel_the_default_action_is_back") {
        run(|| {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            at_signal(SIGUSR1, r.event(()));
            r.cancel();
        });
        println!("registered, cancelled");
        raise(SIGUSR1).unwrap();
        println!("still alive");
    }
}

#[test]
fn child_a_thread_that_ends_stops_catching() {
    if in_child("child_a_thread_that_ends_stops_catching") {
        // Registered outside a loop, in a thread that ends: its registration goes with it.
        std::thread::spawn(|| at_signal(SIGUSR1, Event::from_fn(|()| unreachable!())))
            .join()
            .unwrap();
        println!("the thread ended");
        raise(SIGUSR1).unwrap();
        println!("still alive");
    }
}

#[test]
fn child_a_held_delivery_never_claimed() {
    if in_child("child_a_held_delivery_never_claimed") {
        run(|| {
            at_signal(
                SIGUSR1,
                Event::from_fn(|()| {
                    // After the firing, in the window: held, and nobody registers again.
                    raise(SIGUSR1).unwrap();
                    println!("woke, raised again");
                }),
            );
            raise(SIGUSR1).unwrap();
        });
        println!("survived");
    }
}
