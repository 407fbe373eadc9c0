//! `add_timeout`: whichever of the operation and the timer comes first wins; the loser is
//! cancelled.
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tame_rt::{Event, Rendezvous, TimedOut, add_timeout, run, timer};

type R = Rendezvous<&'static str, Result<u32, TimedOut>>;

#[test]
fn operation_first_gives_ok() {
    let r: R = Rendezvous::new();
    run(|| {
        let op = add_timeout(Duration::from_millis(200), r.event("op"));
        timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| op.trigger(7)),
        );
    });
    assert_eq!(r.try_join(), Some(("op", Ok(7))));
    assert_eq!(r.try_join(), None);
}

#[test]
fn timer_first_gives_timed_out_and_cancels_the_operation() {
    let r: R = Rendezvous::new();
    let hook_ran = Rc::new(Cell::new(false));
    let h = hook_ran.clone();
    let kept: Rc<std::cell::RefCell<Option<Event<u32>>>> = Default::default();
    let k = kept.clone();
    run(|| {
        let mut op = add_timeout(Duration::from_millis(5), r.event("op"));
        op.on_cancel(move || h.set(true));
        assert!(op.is_live());
        *k.borrow_mut() = Some(op); // an operation that holds its event and never answers
    });
    assert_eq!(r.try_join(), Some(("op", Err(TimedOut))));
    assert!(hook_ran.get(), "the operation's on_cancel hook ran");
    let op = kept.borrow_mut().take().unwrap();
    assert!(!op.is_live());
    op.trigger(1); // late answer: dropped
    assert_eq!(r.try_join(), None);
}

#[test]
fn abandoned_operation_abandons_the_outer_event_and_removes_the_timer() {
    let r: R = Rendezvous::new();
    let t0 = Instant::now();
    run(|| {
        let op = add_timeout(Duration::from_secs(3600), r.event("op"));
        drop(op);
        assert_eq!(
            r.pending(),
            1,
            "noticed when the waiting call resumes, not inline"
        );
    });
    assert_eq!((r.pending(), r.try_join()), (0, None));
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn cancelling_the_outer_receiver_cancels_the_operation() {
    let r: R = Rendezvous::new();
    let t0 = Instant::now();
    let kept: Rc<std::cell::RefCell<Option<Event<u32>>>> = Default::default();
    let k = kept.clone();
    run(|| {
        let op = add_timeout(Duration::from_secs(3600), r.event("op"));
        *k.borrow_mut() = Some(op);
        r.cancel();
    });
    assert!(!kept.borrow().as_ref().unwrap().is_live());
    assert!(t0.elapsed() < Duration::from_secs(5), "timer removed");
}

#[test]
fn timed_out_is_an_error() {
    fn takes(_: &dyn std::error::Error) {}
    takes(&TimedOut);
    assert_eq!(TimedOut.to_string(), "operation timed out");
}
