//! `tame::sync`: the orders Tamer's own tests fix for its mutex and channel (t11, t13, t21),
//! written as tamed programs, and cancel-safety.
//!
//! The tests run on the virtual clock (`tame::set_clock`): their timers cost no real time, and
//! each test can check when, to the nanosecond, its run ended.
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tame::sync::{Channel, Mutex, MutexGuard};
use tame::{Event, TimedOut, tamed};

#[path = "util/log.rs"]
mod log;
use log::Log;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---- t11: a mutex with timeouts: A BX A' B E F ----

#[tamed]
fn f1(m: Mutex, log: Log, x: Rc<Cell<u32>>) {
    twait! { m.acquire(mkevent!()); }
    log.push("A");
    x.set(x.get() + 1);
    assert_eq!(x.get(), 1);
    twait! { tame::timer(ms(100), mkevent!()); }
    log.push("A'");
    x.set(x.get() + 1);
    assert_eq!(x.get(), 3);
    m.release();
}

#[tamed]
fn f2(m: Mutex, log: Log, x: Rc<Cell<u32>>) {
    twait! { tame::timer(ms(50), mkevent!()); }
    twait! { m.acquire_shared(mkevent!()); }
    log.push("B");
    x.set(x.get() + 1);
    assert_eq!(x.get(), 4);
    twait! { tame::timer(ms(250), mkevent!()); }
    m.release_shared();
    log.push("E");
    x.set(x.get() + 1);
    assert_eq!(x.get(), 5);
}

// ANCHOR: mutex_timeout
#[tamed]
fn f3(m: Mutex, log: Log, x: Rc<Cell<u32>>) {
    let mut outcome: Result<(), TimedOut> = Ok(());
    twait! { tame::timer(ms(50), mkevent!()); }
    twait! { m.acquire_shared(tame::add_timeout(ms(10), mkevent!(outcome))); }
    if outcome.is_err() {
        log.push("BX");
        x.set(x.get() + 1);
        assert_eq!(x.get(), 2);
    } else {
        log.push("B' (granted after its timeout)");
        m.release_shared();
    }
}
// ANCHOR_END: mutex_timeout

#[tamed]
fn f4(m: Mutex, log: Log, x: Rc<Cell<u32>>) {
    let mut outcome: Result<(), TimedOut> = Ok(());
    twait! { tame::timer(ms(100), mkevent!()); }
    twait! { m.acquire(tame::add_timeout(ms(1000), mkevent!(outcome))); }
    if outcome.is_err() {
        log.push("FX (timed out)");
    } else {
        log.push("F");
        x.set(x.get() + 1);
        assert_eq!(x.get(), 6);
        m.release();
    }
}

#[test]
fn a_mutex_with_timeouts_grants_in_tamers_order() {
    tame::set_clock(tame::Clock::Virtual);
    let t0 = tame::now();
    let m = Mutex::new();
    let log = Log::default();
    let x = Rc::new(Cell::new(0));
    tame::run(|| {
        f1(m.clone(), log.clone(), x.clone());
        f2(m.clone(), log.clone(), x.clone());
        f3(m.clone(), log.clone(), x.clone());
        f4(m.clone(), log.clone(), x.clone());
    });
    assert_eq!(log.take(), ["A", "BX", "A'", "B", "E", "F"]);
    // F is granted when E releases, at 50 + 250 ms; its own timeout would have been at 1100.
    assert_eq!(tame::now() - t0, ms(350));
    assert!(!m.is_locked());
    assert_eq!(m.waiting(), 0);
}

// ---- t13: shared and exclusive, strictly in arrival order ----

#[tamed]
fn exclusive(m: Mutex, log: Log, which: u32) {
    twait! { m.acquire(mkevent!()); }
    log.push(format!("{which}: acquired"));
    twait! { tame::timer(ms(20), mkevent!()); }
    m.release();
    log.push(format!("{which}: released"));
}

#[tamed]
fn shared(m: Mutex, log: Log, which: u32) {
    twait! { m.acquire_shared(mkevent!()); }
    log.push(format!("{which}: acquired shared"));
    twait! { tame::timer(ms(20), mkevent!()); }
    m.release_shared();
    log.push(format!("{which}: released shared"));
}

#[test]
fn shared_holders_pass_the_turn_on_but_never_overtake_an_exclusive_waiter() {
    tame::set_clock(tame::Clock::Virtual);
    let t0 = tame::now();
    let m = Mutex::new();
    let log = Log::default();
    tame::run(|| {
        exclusive(m.clone(), log.clone(), 1);
        shared(m.clone(), log.clone(), 2);
        shared(m.clone(), log.clone(), 3);
        exclusive(m.clone(), log.clone(), 4);
        shared(m.clone(), log.clone(), 5);
    });
    assert_eq!(
        log.take(),
        [
            "1: acquired",
            "1: released",
            "2: acquired shared",
            "3: acquired shared",
            "2: released shared",
            "3: released shared",
            "4: acquired",
            "4: released",
            "5: acquired shared",
            "5: released shared",
        ]
    );
    // Three 20 ms holds one after another: 1, then 2 and 3 together, then 4, then 5.
    assert_eq!(tame::now() - t0, ms(80));
}

// ---- t21: a channel: 0 -1, then block before each of 1 0, 2 1, 3 2 ----

// ANCHOR: channel
#[tamed]
fn take(c: Channel<i32>, log: Log) {
    for i in 0..4 {
        let mut x = 0;
        twait! { c.pop_front(mkevent!(x)); }
        log.push(format!("{i} {x}"));
    }
}

#[tamed]
fn put(c: Channel<i32>, log: Log) {
    for i in 0..3 {
        c.push_back(i);
        log.push("block");
        twait! { tame::timer(ms(10), mkevent!()); }
    }
}

#[test]
fn a_channel_hands_values_over_in_tamers_order() {
    tame::set_clock(tame::Clock::Virtual);
    let t0 = tame::now();
    let c = Channel::new();
    let log = Log::default();
    c.push_back(-1);
    tame::run(|| {
        take(c.clone(), log.clone());
        put(c.clone(), log.clone());
    });
    assert_eq!(
        log.take(),
        ["0 -1", "block", "1 0", "block", "2 1", "block", "3 2"]
    );
    assert!(c.is_empty());
    assert_eq!(c.waiters(), 0);
    assert_eq!(tame::now() - t0, ms(30));
}
// ANCHOR_END: channel

// ---- cancel-safety ----

#[tamed]
fn pop_with_timeout(c: Channel<u32>, after: Duration, done: Event<Result<u32, TimedOut>>) {
    let mut got = Err(TimedOut);
    twait! { c.pop_front(tame::add_timeout(after, mkevent!(got))); }
    done.trigger(got);
}

#[test]
fn a_value_is_never_handed_to_a_waiter_that_timed_out() {
    tame::set_clock(tame::Clock::Virtual);
    let t0 = tame::now();
    let c: Channel<u32> = Channel::new();
    let r: tame::Rendezvous<&str, Result<u32, TimedOut>> = tame::Rendezvous::new();
    tame::run(|| {
        pop_with_timeout(c.clone(), ms(5), r.event("impatient"));
        pop_with_timeout(c.clone(), ms(500), r.event("patient"));
        let c2 = c.clone();
        tame::timer(ms(30), Event::from_fn(move |()| c2.push_back(7)));
    });
    assert_eq!(r.try_join(), Some(("impatient", Err(TimedOut))));
    assert_eq!(r.try_join(), Some(("patient", Ok(7))));
    assert!(c.is_empty(), "the value went to the live waiter, not lost");
    assert_eq!(tame::now() - t0, ms(30));
}

#[test]
fn a_waiter_that_timed_out_never_gets_the_lock_nor_holds_up_the_line() {
    tame::set_clock(tame::Clock::Virtual);
    let t0 = tame::now();
    let m = Mutex::new();
    let got: Rc<RefCell<Vec<&str>>> = Rc::default();
    let held: Rc<RefCell<Option<MutexGuard>>> = Rc::default();
    let (g1, g2, h) = (got.clone(), got.clone(), held.clone());
    tame::run(|| {
        // Held for 30 ms by a guard.
        m.lock(Event::from_fn(move |guard| *h.borrow_mut() = Some(guard)));
        let h2 = held.clone();
        tame::timer(
            ms(30),
            Event::from_fn(move |()| drop(h2.borrow_mut().take())),
        );
        // Gives up after 5 ms.
        let r: tame::Rendezvous<(), Result<(), TimedOut>> = tame::Rendezvous::new();
        m.acquire(tame::add_timeout(ms(5), r.event(())));
        let m2 = m.clone();
        tame::timer(
            ms(10),
            Event::from_fn(move |()| {
                assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
                g1.borrow_mut().push("timed out");
            }),
        );
        // Waits: gets it when the guard goes.
        m2.acquire(Event::from_fn(move |()| g2.borrow_mut().push("granted")));
    });
    assert_eq!(*got.borrow(), ["timed out", "granted"]);
    assert_eq!(tame::now() - t0, ms(30));
    assert!(m.is_locked(), "the last waiter holds it");
    m.release();
    assert!(!m.is_locked());
}

#[test]
#[should_panic(expected = "the lock is not held alone")]
fn releasing_a_lock_not_held_is_a_panic() {
    Mutex::new().release();
}
