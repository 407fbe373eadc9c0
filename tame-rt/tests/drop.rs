//! Dropped (abandoned) events: counted as done, no value.
mod util;

use std::cell::Cell;
use std::rc::Rc;
use tame_rt::__private::{Step, spawn};
use tame_rt::{Event, Rendezvous, run};
use util::{Log, drain};

#[test]
fn dropped_event_counts_as_done_with_no_value() {
    let r: Rendezvous<u8, u8> = Rendezvous::new();
    let e = r.event(1);
    assert_eq!(r.pending(), 1);
    drop(e);
    assert_eq!((r.pending(), r.ready()), (0, 0));
    assert_eq!(r.try_join(), None);
}

#[test]
fn dropping_the_last_pending_event_ends_a_rendezvous_wait() {
    let log = Log::default();
    run(|| {
        let r: Rendezvous<u8, u8> = Rendezvous::new();
        let (a, b) = (r.event(1), r.event(2));
        drain(r, log.clone());
        a.trigger(5);
        drop(b);
    });
    assert_eq!(log.take(), ["1=5", "end"]);
}

#[test]
fn dropped_join_events_complete_the_block() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let mut held = Vec::new();
    run(|| {
        let mut state = 0;
        let mut stash: Vec<Event<()>> = Vec::new();
        let out = Rc::new(std::cell::RefCell::new(Vec::new()));
        let o = out.clone();
        spawn("block", file!(), move |cx| {
            loop {
                match state {
                    0 => {
                        // twait! { stash.push(mkevent!()); stash.push(mkevent!()); }
                        stash.push(cx.join_event());
                        stash.push(cx.join_event());
                        o.borrow_mut().append(&mut stash);
                        state = 1;
                        if !cx.join_ready(line!()) {
                            return Step::Blocked;
                        }
                    }
                    _ => {
                        d.set(true);
                        return Step::Done;
                    }
                }
            }
        });
        assert!(!done.get(), "blocked on two events");
        let mut evs = out.borrow_mut();
        let first = evs.pop().unwrap();
        first.trigger(());
        held.push(evs.pop().unwrap());
        drop(evs);
        drop(held.pop()); // abandoned: the block completes
    });
    assert!(done.get());
}

#[test]
fn from_fn_callback_is_not_called_when_dropped() {
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let e = Event::from_fn(move |()| c.set(true));
    drop(e);
    assert!(!called.get());
}

/// A value that holds another event of the same rendezvous.
struct Nested(#[allow(dead_code)] Option<Event<Nested>>);

#[test]
fn dropping_a_value_may_drop_events_of_the_same_rendezvous() {
    let r: Rendezvous<u8, Nested> = Rendezvous::new();
    let inner = r.event(1);
    let outer = r.event(2);
    r.cancel();
    outer.trigger(Nested(Some(inner))); // dropped at once, and with it `inner`
    assert_eq!(r.pending(), 0);
    let live = r.event(3);
    let inner2 = r.event(4);
    live.trigger(Nested(Some(inner2)));
    assert_eq!(r.pending(), 1, "inner2 lives inside the ready value");
    drop(r.try_join());
    assert_eq!(r.pending(), 0);
}
