//! When the loop ends: nothing queued, no timers, no fd interests; stuck calls reported.
mod util;

use std::time::{Duration, Instant};
use tame_rt::__private::{Step, spawn, stuck_reports};
use tame_rt::{Event, Rendezvous, run, timer};

#[test]
fn run_with_nothing_to_do_returns_at_once() {
    let t0 = Instant::now();
    run(|| {});
    assert!(t0.elapsed() < Duration::from_secs(1));
}

#[test]
fn run_waits_for_pending_timers() {
    let t0 = Instant::now();
    run(|| timer(Duration::from_millis(30), Event::from_fn(|()| {})));
    assert!(t0.elapsed() >= Duration::from_millis(30));
}

#[test]
fn run_can_be_called_again_on_the_same_thread() {
    for _ in 0..3 {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        run(|| timer(Duration::from_millis(1), r.event(())));
        assert_eq!(r.ready(), 1);
    }
}

#[test]
#[should_panic(expected = "already running")]
fn nested_run_is_refused() {
    run(|| run(|| {}));
}

#[test]
fn blocked_call_that_nothing_can_wake_is_reported_as_stuck() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let e = r.event(());
    run(|| {
        spawn(
            "waits_forever",
            "tests/loop_termination.rs",
            move |cx| match cx.poll_rv(&r, 42) {
                None => Step::Blocked,
                Some(_) => Step::Done,
            },
        );
    });
    let reports = stuck_reports();
    if cfg!(debug_assertions) {
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("`waits_forever`"), "{}", reports[0]);
        assert!(
            reports[0].contains("tests/loop_termination.rs:42"),
            "{}",
            reports[0]
        );
    } else {
        assert!(reports.is_empty());
    }
    drop(e); // wakes nobody: the loop is over; the call stays blocked until dropped with its rendezvous
}

#[test]
fn finished_calls_are_not_reported() {
    run(|| {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        timer(Duration::from_millis(1), r.event(()));
        spawn("finishes", file!(), move |cx| {
            match cx.poll_rv(&r, line!()) {
                None => Step::Blocked,
                Some(_) => Step::Done,
            }
        });
    });
    assert!(stuck_reports().is_empty());
}

#[test]
fn listing_blocked_calls_never_runs_a_hand_written_closure() {
    use std::cell::Cell;
    use std::rc::Rc;
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let e = r.event(());
    let runs = Rc::new(Cell::new(0));
    let seen = Rc::new(Cell::new(usize::MAX));
    run(|| {
        let n = runs.clone();
        let r = r.clone();
        spawn("hand_written", file!(), move |cx| {
            n.set(n.get() + 1);
            match cx.poll_rv(&r, line!()) {
                None => Step::Blocked,
                Some(_) => Step::Done,
            }
        });
        // It cannot say where it waits: it is not listed, and not run to find out.
        seen.set(tame_rt::blocked_locations().len());
        drop(e);
    });
    assert_eq!(seen.get(), 0);
    assert_eq!(
        runs.get(),
        2,
        "once to block, once when its event was dropped"
    );
}
