//! Timers: deadlines, order, cancellation, and the loop's cached clock.
use std::time::{Duration, Instant};
use tame_rt::{Event, Rendezvous, add_timeout, at, now, run, timer};

#[test]
fn timer_never_fires_before_its_deadline() {
    let fired = std::rc::Rc::new(std::cell::Cell::new(None));
    let f = fired.clone();
    let t0 = Instant::now();
    run(|| {
        timer(
            Duration::from_millis(20),
            Event::from_fn(move |()| f.set(Some(Instant::now()))),
        )
    });
    let t = fired.get().expect("fired");
    assert!(t >= t0 + Duration::from_millis(20));
}

#[test]
fn at_in_the_past_fires_on_the_next_turn() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        at(Instant::now() - Duration::from_secs(1), r.event(()));
        assert_eq!(r.ready(), 0, "not inline");
    });
    assert_eq!(r.ready(), 1);
}

#[test]
fn cancelled_timer_is_removed_and_does_not_hold_the_loop() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let t0 = Instant::now();
    run(|| {
        timer(Duration::from_secs(3600), r.event(()));
        r.cancel();
    });
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "the loop did not wait for the hour"
    );
}

#[test]
fn timer_on_a_dropped_rendezvous_is_removed() {
    let t0 = Instant::now();
    run(|| {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        timer(Duration::from_secs(3600), r.event(()));
        drop(r); // last handle: the event is cancelled, so is the timer
    });
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
#[cfg_attr(miri, ignore = "too slow under Miri")]
fn many_cancelled_timers_leave_nothing_behind() {
    let t0 = Instant::now();
    run(|| {
        for _ in 0..100_000 {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            timer(Duration::from_secs(3600), r.event(()));
        }
    });
    assert!(t0.elapsed() < Duration::from_secs(30));
}

#[test]
fn now_is_cached_within_a_turn_and_advances_between_turns() {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let s = seen.clone();
    run(|| {
        let a = now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(now(), a, "same turn");
        timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| s.borrow_mut().push(now())),
        );
        seen.borrow_mut().push(a);
    });
    let v = seen.borrow();
    assert!(v[1] > v[0]);
}

#[test]
fn timeout_that_loses_is_removed_at_once() {
    let t0 = Instant::now();
    let r: Rendezvous<(), Result<u8, tame_rt::TimedOut>> = Rendezvous::new();
    run(|| {
        let op = add_timeout(Duration::from_secs(3600), r.event(()));
        timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| op.trigger(5)),
        );
    });
    assert_eq!(r.try_join(), Some(((), Ok(5))));
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_timer_rearmed_drops_its_old_event_and_fires_once() {
    let r: tame_rt::Rendezvous<u32> = tame_rt::Rendezvous::new();
    let t = tame_rt::Timer::new();
    let start = std::time::Instant::now();
    tame_rt::run(|| {
        for i in 0..100 {
            t.arm_after(std::time::Duration::from_millis(2), r.event(i));
        }
        // The 99 earlier events were dropped untriggered: only the last one is pending.
        assert_eq!(r.pending(), 1);
    });
    assert_eq!(r.try_join(), Some((99, ())));
    assert_eq!(r.try_join(), None);
    assert!(start.elapsed() >= std::time::Duration::from_millis(2));
    assert!(!t.is_armed());
}

#[test]
fn dropping_a_timer_disarms_it_and_the_loop_ends() {
    let r: tame_rt::Rendezvous<()> = tame_rt::Rendezvous::new();
    let start = std::time::Instant::now();
    tame_rt::run(|| {
        let t = tame_rt::Timer::new();
        t.arm_after(std::time::Duration::from_secs(60), r.event(()));
        assert_eq!(r.pending(), 1);
        drop(t);
        assert_eq!(r.pending(), 0, "its event was dropped with it");
    });
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(r.try_join(), None);
}
