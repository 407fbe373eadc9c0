//! A run that unwinds (its closure or a tamed call's code panicked) leaves the thread clean:
//! everything it left behind is dropped while it unwinds, and the next `run` on the thread
//! starts with no call, timer, fd interest or queued wake-up of the old one.
use std::cell::Cell;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::{Event, Rendezvous, tamed};

mod util;
use util::Log;

/// Sets its flag when dropped.
struct Dropped(Rc<Cell<bool>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn flag() -> (Rc<Cell<bool>>, Dropped) {
    let f = Rc::new(Cell::new(false));
    (f.clone(), Dropped(f))
}

/// Runs `f` under `tame::run`, expecting the run to unwind with a panic.
fn run_that_panics(f: impl FnOnce()) {
    let r = catch_unwind(AssertUnwindSafe(|| tame::run(f)));
    assert!(r.is_err(), "the run was expected to panic");
}

/// Waits for a timer, then logs `what`.
#[tamed]
fn after_timer(ms: u64, what: &'static str, log: Log) {
    let guard = log.clone();
    twait! { tame::timer(Duration::from_millis(ms), mkevent!()); }
    drop(guard);
    log.push(what);
}

/// Keeps `local` across a wait on `r`, then logs "resumed".
#[tamed]
fn waits_on(r: Rendezvous<u8, ()>, local: Dropped, log: Log) {
    let got = twait!(r);
    log.push(format!("resumed with {got:?}"));
    drop(local);
}

#[test]
fn a_timer_of_a_run_that_panicked_does_not_fire_in_the_next_run() {
    let fired = Rc::new(Cell::new(false));
    let (dropped, d) = flag();
    let f = fired.clone();
    run_that_panics(|| {
        tame::timer(
            Duration::from_millis(20),
            Event::from_fn(move |()| {
                let _d = &d;
                f.set(true);
            }),
        );
        panic!("the run's closure panics");
    });
    assert!(
        dropped.get(),
        "the timer's event is dropped while the run unwinds"
    );
    let t0 = Instant::now();
    tame::run(|| {});
    assert!(!fired.get(), "the old timer fired in the next run");
    assert!(
        t0.elapsed() < Duration::from_millis(20),
        "the next run waited for the old timer"
    );
}

#[test]
fn calls_blocked_when_a_run_panics_are_not_resumed_by_the_next_run() {
    let log = Log::default();
    // ANCHOR: abandoned
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        tame::run(|| {
            after_timer(1, "old call resumed", log.clone()); // blocks on a 1 ms timer
            panic!("the run's closure panics");
        })
    }));
    assert!(panicked.is_err()); // the old call and its timer are gone already
    tame::run(|| after_timer(1, "new call resumed", log.clone()));
    assert_eq!(log.take(), ["new call resumed"]);
    // ANCHOR_END: abandoned
}

#[test]
fn locals_of_calls_abandoned_by_a_panic_are_dropped_while_it_unwinds() {
    let log = Log::default();
    let (dropped, d) = flag();
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let e = r.event(1);
    let rr = r.clone();
    run_that_panics(move || {
        waits_on(rr, d, log.clone());
        tame::timer(Duration::from_millis(1), e);
        panic!("the run's closure panics");
    });
    // The timer held the event the call waited for; dropping it woke the call, and dropping
    // the woken call dropped its locals.
    assert!(dropped.get(), "the blocked call's local was not dropped");
    assert_eq!(r.pending(), 0);
}

#[test]
fn a_wake_up_queued_when_a_run_panics_is_dropped() {
    let log = Log::default();
    let (dropped, d) = flag();
    run_that_panics(|| {
        let r: Rendezvous<u8, ()> = Rendezvous::new();
        let e = r.event(7);
        waits_on(r.clone(), d, log.clone());
        // The call is now queued, to be resumed with `Some((7, ()))` on the next turn.
        e.trigger(());
        panic!("the run's closure panics");
    });
    assert!(dropped.get(), "the queued call's local was not dropped");
    tame::run(|| {});
    assert_eq!(
        log.take(),
        Vec::<String>::new(),
        "the queued call was resumed"
    );
}

#[test]
fn an_asap_event_of_a_run_that_panicked_does_not_fire_in_the_next_run() {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    run_that_panics(|| {
        tame::asap(Event::from_fn(move |()| f.set(true)));
        panic!("the run's closure panics");
    });
    tame::run(|| {});
    assert!(!fired.get());
}

#[test]
fn an_fd_interest_of_a_run_that_panicked_is_dropped() {
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fired = Rc::new(Cell::new(false));
    let (dropped, d) = flag();
    let f = fired.clone();
    run_that_panics(|| {
        tame::readable(
            &b,
            Event::from_fn(move |()| {
                let _d = &d;
                f.set(true);
            }),
        );
        panic!("the run's closure panics");
    });
    assert!(dropped.get(), "the waiting event was not dropped");
    a.write_all(b"x").unwrap();
    // Without the fix, this run would wait on the old interest (and fire it).
    tame::run(|| {});
    assert!(!fired.get());
    // The fd still works in a later run: its edge was remembered or is polled now.
    let again = Rc::new(Cell::new(false));
    let g = again.clone();
    tame::run(|| tame::readable(&b, Event::from_fn(move |()| g.set(true))));
    assert!(again.get());
    tame::deregister(&b);
}

/// Waits for a timer, then panics.
#[tamed]
fn panics_after_a_wait(local: Dropped) {
    twait! { tame::timer(Duration::from_millis(1), mkevent!()); }
    let _keep = local;
    panic!("a tamed call panics");
}

#[test]
fn a_panic_in_a_tamed_call_abandons_every_other_call_of_the_run() {
    let log = Log::default();
    let (dropped, d) = flag();
    let (other_dropped, od) = flag();
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let _e = r.event(1); // held outside: `waits_on` would wait forever
    let rr = r.clone();
    run_that_panics(|| {
        panics_after_a_wait(d);
        waits_on(rr, od, log.clone());
        after_timer(50, "old timer call resumed", log.clone());
    });
    assert!(dropped.get());
    tame::run(|| {});
    assert_eq!(log.take(), Vec::<String>::new());
    // Abandoned, not stuck: `waits_on`, still blocked, is not reported.
    assert_eq!(tame::__private::stuck_reports(), Vec::<String>::new());
    drop(r);
    // `waits_on` was blocked on `r` when the run unwound. Its handle was carried out of the
    // run (in `_e` and `r`), so its locals live until nothing refers to it any more…
    drop(_e);
    // …and dropping the last event of `r` wakes it, but it is never resumed: a call of a run
    // that unwound is dropped when the loop would resume it.
    tame::run(|| {});
    assert!(other_dropped.get());
    assert_eq!(log.take(), Vec::<String>::new());
}

#[test]
fn a_call_of_a_run_that_panicked_is_never_resumed_through_a_handle_carried_out_of_it() {
    let log = Log::default();
    let (dropped, d) = flag();
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let e = r.event(1);
    let rr = r.clone();
    run_that_panics(|| {
        waits_on(rr, d, log.clone());
        panic!("the run's closure panics");
    });
    // The old call still waits on `r`, which the test holds: nothing has dropped it yet.
    assert!(!dropped.get());
    tame::run(|| e.trigger(()));
    assert_eq!(log.take(), Vec::<String>::new(), "the old call was resumed");
    assert!(dropped.get(), "the old call's locals were not dropped");
    // The value it would have taken is still there for someone else.
    assert_eq!(r.try_join(), Some((1, ())));
}

/// A local whose destructor uses the runtime: sets a timer, an `asap` event, triggers an event,
/// reads the clock, deregisters an fd and starts a tamed call.
struct UsesTheRuntime {
    r: Rendezvous<u8, ()>,
    fd: UnixStream,
    log: Log,
}

impl Drop for UsesTheRuntime {
    fn drop(&mut self) {
        let _ = tame::now();
        let l = self.log.clone();
        tame::timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| l.push("timer set in a destructor fired")),
        );
        let l = self.log.clone();
        tame::asap(Event::from_fn(move |()| {
            l.push("asap set in a destructor fired")
        }));
        self.r.event(9).trigger(());
        tame::readable(&self.fd, Event::from_fn(|()| {}));
        tame::deregister(&self.fd);
        tame::readable(&self.fd, Event::from_fn(|()| {}));
        after_timer(1, "call started in a destructor resumed", self.log.clone());
        self.log.push("destructor ran");
    }
}

#[tamed]
fn keeps(local: UsesTheRuntime) {
    twait! { tame::timer(Duration::from_millis(1), mkevent!()); }
    drop(local);
}

#[test]
fn destructors_that_use_the_runtime_during_the_cleanup_neither_panic_nor_leak_into_the_next_run() {
    let log = Log::default();
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let local = UsesTheRuntime {
        r: r.clone(),
        fd: b,
        log: log.clone(),
    };
    run_that_panics(|| {
        keeps(local);
        panic!("the run's closure panics");
    });
    assert_eq!(log.take(), ["destructor ran"]);
    assert_eq!(r.try_join(), Some((9, ())));
    let t0 = Instant::now();
    tame::run(|| {});
    assert!(t0.elapsed() < Duration::from_millis(500));
    assert_eq!(log.take(), Vec::<String>::new());
}

#[test]
fn the_next_run_works_as_usual_after_a_panic() {
    let log = Log::default();
    for _ in 0..3 {
        run_that_panics(|| {
            after_timer(1, "old", log.clone());
            tame::asap(Event::from_fn(|()| {}));
            panic!("the run's closure panics");
        });
        let l = log.clone();
        tame::run(|| {
            after_timer(2, "second", l.clone());
            after_timer(1, "first", l);
        });
        assert_eq!(log.take(), ["first", "second"]);
        assert!(tame::__private::stuck_reports().is_empty());
    }
}

#[test]
fn a_nested_run_that_is_refused_leaves_the_thread_clean_too() {
    let log = Log::default();
    run_that_panics(|| {
        after_timer(1, "old", log.clone());
        tame::run(|| {});
    });
    tame::run(|| {});
    assert_eq!(log.take(), Vec::<String>::new());
}
