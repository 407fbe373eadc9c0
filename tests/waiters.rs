//! Several tamed calls waiting on one rendezvous (through clones of its handle): each value
//! goes to exactly one of them, oldest waiter first, and all of them see `None` when nothing
//! more can arrive.
mod util;

use std::time::Duration;

use tame::{Event, Rendezvous, tamed};
use util::Log;

/// Joins everything `r` yields, logging `who:value`, then logs `who:end`.
#[tamed]
fn drain(who: &'static str, r: Rendezvous<u32, u32>, log: Log) {
    while let Some((_, v)) = twait!(r) {
        log.push(format!("{who}:{v}"));
    }
    log.push(format!("{who}:end"));
}

#[test]
fn two_waiters_each_value_goes_to_exactly_one_oldest_first() {
    let log = Log::default();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    tame::run(|| {
        let (e1, e2, e3) = (r.event(1), r.event(2), r.event(3));
        drain("a", r.clone(), log.clone());
        drain("b", r.clone(), log.clone());
        tame::timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| e1.trigger(10)),
        );
        tame::timer(
            Duration::from_millis(2),
            Event::from_fn(move |()| e2.trigger(20)),
        );
        tame::timer(
            Duration::from_millis(3),
            Event::from_fn(move |()| e3.trigger(30)),
        );
    });
    let got = log.take();
    // Every value exactly once; `a` waited first so it gets the first value; both end.
    assert_eq!(got.first().map(String::as_str), Some("a:10"));
    for v in ["10", "20", "30"] {
        let n = got.iter().filter(|s| s.ends_with(&format!(":{v}"))).count();
        assert_eq!(n, 1, "value {v} delivered {n} times: {got:?}");
    }
    assert!(got.contains(&"a:end".to_string()), "{got:?}");
    assert!(got.contains(&"b:end".to_string()), "{got:?}");
    assert_eq!(got.len(), 5, "{got:?}");
}

#[test]
fn values_arriving_together_are_each_delivered_once() {
    let log = Log::default();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    tame::run(|| {
        let (e1, e2, keep) = (r.event(1), r.event(2), r.event(3));
        drain("a", r.clone(), log.clone());
        drain("b", r.clone(), log.clone());
        // Both trigger in the same turn: each wakes one waiter. `a` runs first and, finding the
        // second value ready too, takes it on the fast path; `b` finds nothing and waits again.
        tame::timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| {
                e1.trigger(1);
                e2.trigger(2);
            }),
        );
        tame::timer(
            Duration::from_millis(5),
            Event::from_fn(move |()| drop(keep)),
        );
    });
    assert_eq!(log.take(), ["a:1", "a:2", "a:end", "b:end"]);
}

#[test]
fn every_waiter_gets_none_when_nothing_more_can_arrive() {
    let log = Log::default();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    tame::run(|| {
        let e = r.event(1);
        for who in ["a", "b", "c"] {
            drain(who, r.clone(), log.clone());
        }
        tame::timer(Duration::from_millis(1), Event::from_fn(move |()| drop(e)));
    });
    assert_eq!(log.take(), ["a:end", "b:end", "c:end"]);
}

#[test]
fn cancel_wakes_every_waiter() {
    let log = Log::default();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    let held = std::cell::RefCell::new(None);
    tame::run(|| {
        *held.borrow_mut() = Some(r.event(1));
        drain("a", r.clone(), log.clone());
        drain("b", r.clone(), log.clone());
        let r2 = r.clone();
        tame::timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| r2.cancel()),
        );
    });
    assert_eq!(log.take(), ["a:end", "b:end"]);
    let e = held.take().expect("kept");
    assert!(!e.is_live());
}

#[test]
fn a_value_taken_before_the_woken_waiter_runs_is_not_lost() {
    let log = Log::default();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    tame::run(|| {
        let (e1, e2) = (r.event(1), r.event(2));
        drain("a", r.clone(), log.clone());
        let (r2, l2) = (r.clone(), log.clone());
        tame::timer(
            Duration::from_millis(1),
            Event::from_fn(move |()| {
                // `a` is woken for this value, but it is joined here first.
                e1.trigger(1);
                l2.push(format!("try_join:{:?}", r2.try_join().map(|(_, v)| v)));
            }),
        );
        tame::timer(
            Duration::from_millis(2),
            Event::from_fn(move |()| e2.trigger(2)),
        );
    });
    assert_eq!(log.take(), ["try_join:Some(1)", "a:2", "a:end"]);
}
