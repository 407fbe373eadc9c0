//! Cancellation: `Rendezvous::cancel`, dropping the last handle, and `on_cancel` hooks.
mod util;

use std::cell::Cell;
use std::rc::Rc;
use tame_rt::{Event, Rendezvous, run};
use util::{Log, drain};

type Hook = Box<dyn FnOnce()>;

/// A counter, and a maker of hooks that bump it.
fn flag() -> (Rc<Cell<u32>>, impl Fn() -> Hook) {
    let f = Rc::new(Cell::new(0));
    let g = f.clone();
    (f, move || {
        let g = g.clone();
        Box::new(move || g.set(g.get() + 1))
    })
}

#[test]
fn cancel_runs_hooks_before_it_returns() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let (n, hook) = flag();
    let mut a = r.event(());
    let mut b = r.event(());
    a.on_cancel(hook());
    a.on_cancel(hook());
    b.on_cancel(hook());
    r.cancel();
    assert_eq!(n.get(), 3);
    assert!(!a.is_live() && !b.is_live());
    assert_eq!(r.pending(), 0);
}

#[test]
fn trigger_after_cancel_drops_the_value() {
    let r: Rendezvous<(), Rc<()>> = Rendezvous::new();
    let v = Rc::new(());
    let e = r.event(());
    r.cancel();
    e.trigger(v.clone());
    assert_eq!(Rc::strong_count(&v), 1, "the value was dropped, not kept");
    assert_eq!((r.ready(), r.pending()), (0, 0));
}

#[test]
fn on_cancel_after_cancel_runs_at_once() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let (n, hook) = flag();
    let mut e = r.event(());
    r.cancel();
    e.on_cancel(hook());
    assert_eq!(n.get(), 1);
}

#[test]
fn hooks_of_a_triggered_or_dropped_event_never_run() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let (n, hook) = flag();
    let mut a = r.event(());
    let mut b = r.event(());
    a.on_cancel(hook());
    b.on_cancel(hook());
    a.trigger(());
    drop(b);
    r.cancel();
    drop(r);
    assert_eq!(n.get(), 0);
}

#[test]
fn dropping_the_last_handle_cancels_pending_events() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let r2 = r.clone();
    let (n, hook) = flag();
    let mut e = r.event(());
    e.on_cancel(hook());
    drop(r);
    assert!(e.is_live(), "a clone is still alive");
    drop(r2);
    assert!(!e.is_live());
    assert_eq!(n.get(), 1);
    e.trigger(()); // defined: dropped
}

#[test]
fn cancel_keeps_ready_values_and_wakes_the_waiter() {
    let log = Log::default();
    run(|| {
        let r: Rendezvous<u8, u8> = Rendezvous::new();
        let a = r.event(1);
        let b = r.event(2);
        a.trigger(10);
        let _ = r.try_join();
        drain(r.clone(), log.clone());
        let c = r.event(3);
        c.trigger(30);
        // The waiter was queued by c; cancel b before it runs: it sees 3=30, then the end.
        r.cancel();
        assert!(!b.is_live());
        drop(b);
    });
    assert_eq!(log.take(), ["3=30", "end"]);
}

#[test]
fn events_made_after_cancel_are_pending_as_usual() {
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let old = r.event(0);
    r.cancel();
    let new = r.event(1);
    assert!(new.is_live() && !old.is_live());
    new.trigger(());
    old.trigger(());
    assert_eq!(r.try_join(), Some((1, ())));
    assert_eq!(r.try_join(), None);
}

#[test]
fn hooks_may_use_the_rendezvous_being_cancelled() {
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let mut e = r.event(0);
    let r2 = r.clone();
    e.on_cancel(move || {
        // Re-entrant use from a hook is allowed: the rendezvous is not borrowed while hooks run.
        assert_eq!(r2.pending(), 0);
        r2.event(9).trigger(());
    });
    r.cancel();
    assert_eq!(r.try_join(), Some((9, ())));
    drop(e);
}

#[test]
fn from_fn_events_ignore_on_cancel() {
    let (n, hook) = flag();
    let mut e = Event::from_fn(|()| {});
    e.on_cancel(hook());
    assert!(e.is_live());
    e.trigger(());
    assert_eq!(n.get(), 0);
}

#[test]
fn cancel_drops_ids_that_own_events_of_the_same_rendezvous() {
    // An id may own an event of the rendezvous being cancelled: dropping it reaches the
    // rendezvous again, which must not be borrowed at that moment.
    let r: Rendezvous<Option<Event<()>>, ()> = Rendezvous::new();
    let inner = r.event(None);
    let outer = r.event(Some(inner));
    assert_eq!(r.pending(), 2);
    r.cancel();
    assert_eq!((r.pending(), r.ready()), (0, 0));
    assert!(!outer.is_live());
    outer.trigger(()); // dropped: cancelled
    assert!(r.try_join().is_none());
}

#[test]
fn dropping_the_last_handle_drops_ids_that_own_events_of_it() {
    let r: Rendezvous<Option<Event<()>>, ()> = Rendezvous::new();
    let inner = r.event(None);
    let outer = r.event(Some(inner));
    drop(r);
    assert!(!outer.is_live());
}

#[test]
fn hooks_of_a_triggered_event_do_not_follow_its_slot_to_the_next_event() {
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    let (n, hook) = flag();
    let mut a = r.event(1);
    for _ in 0..3 {
        a.on_cancel(hook());
    }
    a.trigger(()); // its three hooks are dropped, never run
    let mut b = r.event(2); // reuses a's slot
    b.on_cancel(hook());
    b.on_cancel(hook());
    r.cancel();
    assert_eq!(n.get(), 2);
    assert_eq!(r.try_join(), Some((1, ())));
}
