//! Event adapters: each rule of their rustdoc, and the order of their effects against tame's
//! deferred wake-ups (an adapter acts inside `trigger`; the waiters it wakes resume later, in
//! the order they were woken).
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use tame::{Event, Rendezvous, tamed};

#[path = "util/log.rs"]
mod log;
use log::Log;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Joins everything `r` holds, in order.
fn joined<I: 'static, T: 'static>(r: &Rendezvous<I, T>) -> Vec<(I, T)> {
    std::iter::from_fn(|| r.try_join()).collect()
}

// ---- alias ----

#[test]
fn an_alias_first_consumed_decides_and_the_others_go_not_live() {
    let r = Rendezvous::<(), u32>::new();
    let a = r.event(());
    let b = a.alias();
    let c = b.alias();
    assert!(a.is_live() && b.is_live() && c.is_live());
    c.trigger(3);
    assert!(!a.is_live() && !b.is_live());
    a.trigger(1);
    b.trigger(2);
    assert_eq!(joined(&r), [((), 3)]);
    assert_eq!(r.pending(), 0);
}

#[test]
fn an_alias_abandons_the_occurrence_only_when_the_last_handle_is_dropped() {
    let r = Rendezvous::<(), u32>::new();
    tame::run(|| {
        let a = r.event(());
        let b = a.alias();
        drop(a);
        assert_eq!(r.pending(), 1);
        assert!(b.is_live());
        drop(b);
        assert_eq!(r.pending(), 0);
    });
    assert_eq!(r.try_join(), None);
    if cfg!(debug_assertions) {
        assert_eq!(tame::leak_reports().len(), 1, "one occurrence, one report");
    }
}

// ANCHOR: alias
#[tamed]
fn race_two_answers(log: Log) {
    let mut x = 0;
    twait! {
        let e = mkevent!(x);
        tame::timer(ms(30), e.alias().bind(2));
        tame::timer(ms(1), e.bind(1));
    }
    log.push(format!("resumed with {x}"));
    twait! { tame::timer(ms(50), mkevent!()); }
    log.push(format!("later still {x}"));
}
// ANCHOR_END: alias

#[test]
fn an_alias_of_a_mkevent_counts_once_in_its_twait() {
    let log = Log::default();
    let t = std::time::Instant::now();
    tame::run(|| race_two_answers(log.clone()));
    assert_eq!(log.take(), ["resumed with 1", "later still 1"]);
    assert!(t.elapsed() >= ms(50));
}

// ---- unblocker ----

// ANCHOR: unblocker
#[tamed]
fn unblocked_wait(log: Log) {
    let mut x = 7;
    twait! {
        let e = mkevent!(x);
        tame::timer(ms(1), e.unblocker());
        tame::timer(ms(20), e.bind(9));
    }
    log.push(format!("resumed with {x}"));
    twait! { tame::timer(ms(40), mkevent!()); }
    log.push(format!("later still {x}"));
}
// ANCHOR_END: unblocker

#[test]
fn an_unblocker_completes_the_wait_and_leaves_the_place_unchanged() {
    let log = Log::default();
    tame::run(|| unblocked_wait(log.clone()));
    assert_eq!(log.take(), ["resumed with 7", "later still 7"]);
    assert!(tame::leak_reports().is_empty());
}

#[test]
fn an_unblocked_rendezvous_slot_is_freed_and_not_joined() {
    let r = Rendezvous::<(), u32>::new();
    let e = r.event(());
    let u = e.unblocker();
    assert!(u.is_live());
    u.trigger(());
    assert!(!e.is_live());
    assert_eq!((r.pending(), r.ready()), (0, 0));
    e.trigger(5);
    assert_eq!(r.try_join(), None);
}

#[test]
fn an_unblocker_of_a_consumed_occurrence_is_not_live() {
    let r = Rendezvous::<(), u32>::new();
    let e = r.event(());
    let a = e.alias();
    e.trigger(1);
    let u = a.unblocker();
    assert!(!u.is_live());
    u.trigger(());
    assert_eq!(joined(&r), [((), 1)]);
}

// ---- at_trigger ----

#[test]
fn at_trigger_events_fire_right_after_the_value_in_the_order_added() {
    let r = Rendezvous::<&str, ()>::new();
    let mut e = r.event("e");
    e.at_trigger(r.event("n1"));
    e.at_trigger(r.event("n2"));
    assert_eq!(r.ready(), 0);
    e.trigger(());
    assert_eq!(joined(&r), [("e", ()), ("n1", ()), ("n2", ())]);
}

#[tamed]
fn waiter(name: &'static str, log: Log, events: Rc<RefCell<BTreeMap<&'static str, Event<()>>>>) {
    twait! {
        events.borrow_mut().insert(name, mkevent!());
    }
    log.push(name);
}

#[test]
fn at_trigger_wakes_its_waiters_after_the_events_waiter() {
    let log = Log::default();
    let events = Rc::new(RefCell::new(BTreeMap::new()));
    tame::run(|| {
        waiter("main", log.clone(), events.clone());
        waiter("after-1", log.clone(), events.clone());
        waiter("after-2", log.clone(), events.clone());
        let mut ev = events.borrow_mut();
        let mut main = ev.remove("main").unwrap();
        main.at_trigger(ev.remove("after-2").unwrap());
        main.at_trigger(ev.remove("after-1").unwrap());
        drop(ev);
        main.trigger(()); // wakes "main"; its at_trigger events wake the others, in order
    });
    assert_eq!(log.take(), ["main", "after-2", "after-1"]);
}

/// One occurrence with one `at_trigger` event, completed by `finish`: returns what the
/// rendezvous of the occurrence and of the `at_trigger` event saw, in order.
fn complete_with(finish: impl FnOnce(Event<u8>, &Rendezvous<&'static str, u8>)) -> Vec<String> {
    let r = Rendezvous::<&'static str, u8>::new();
    let log = Log::default();
    let mut e = r.event("e");
    let l = log.clone();
    e.at_trigger(Event::from_fn(move |()| l.push("at_trigger")));
    finish(e, &r);
    for (id, v) in joined(&r) {
        log.push(format!("{id}={v}"));
    }
    log.push(format!("pending {}", r.pending()));
    log.take()
}

#[test]
fn at_trigger_fires_whichever_way_the_event_completes() {
    assert_eq!(
        complete_with(|e, _| e.trigger(4)),
        ["at_trigger", "e=4", "pending 0"]
    );
    assert_eq!(
        complete_with(|e, _| e.unblocker().trigger(())),
        ["at_trigger", "pending 0"]
    );
    assert_eq!(
        complete_with(|e, _| e.abandon()),
        ["at_trigger", "pending 0"]
    );
    assert_eq!(
        complete_with(|e, r| {
            r.cancel();
            assert!(!e.is_live());
            e.trigger(5); // dropped, and at_trigger does not fire twice
        }),
        ["at_trigger", "pending 0"]
    );
}

#[test]
fn at_trigger_on_an_event_that_is_over_fires_at_once() {
    let r = Rendezvous::<&str, ()>::new();
    let mut e = r.event("e");
    r.cancel();
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    e.at_trigger(Event::from_fn(move |()| f.set(true)));
    assert!(fired.get());
    drop(e);
}

// ---- bind, map, rebind ----

#[test]
fn bind_triggers_with_the_bound_value_on_trigger_and_on_unblock() {
    let r = Rendezvous::<u8, &str>::new();
    r.event(1).bind("one").trigger(());
    let bound = r.event(2).bind("two");
    bound.unblocker().trigger(());
    assert_eq!(joined(&r), [(1, "one"), (2, "two")]);
}

#[test]
fn dropping_a_bound_event_abandons_the_event_and_reports_one_leak() {
    let r = Rendezvous::<u8, &str>::new();
    tame::run(|| {
        let bound = r.event(1).bind("one");
        assert!(bound.is_live());
        drop(bound);
        assert_eq!(r.pending(), 0);
        r.event(2).bind("two").abandon();
        assert_eq!(r.pending(), 0);
    });
    assert_eq!(r.try_join(), None);
    if cfg!(debug_assertions) {
        let reports = tame::leak_reports();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("tests/adapters.rs"), "{reports:?}");
    }
}

#[test]
fn an_adapted_event_is_cancelled_with_its_receiver() {
    let r = Rendezvous::<u8, usize>::new();
    let mut mapped = r.event(1).map(|s: &str| s.len());
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    mapped.on_cancel(move || flag.set(true));
    assert!(mapped.is_live());
    r.cancel();
    assert!(ran.get());
    assert!(!mapped.is_live());
    mapped.trigger("late");
    assert_eq!(r.try_join(), None);
}

#[test]
fn map_runs_f_only_on_a_trigger_with_a_value() {
    let r = Rendezvous::<u8, usize>::new();
    let calls = Rc::new(Cell::new(0));
    let f = |calls: &Rc<Cell<u32>>| {
        let calls = calls.clone();
        move |s: String| {
            calls.set(calls.get() + 1);
            s.len()
        }
    };
    r.event(1).map(f(&calls)).trigger("three".to_string());
    let unblocked = r.event(2).map(f(&calls));
    unblocked.unblocker().trigger(());
    r.event(3).map(f(&calls)).abandon();
    assert_eq!(calls.get(), 1);
    assert_eq!(joined(&r), [(1, 5)]);
    assert_eq!(r.pending(), 0);
}

#[test]
fn rebind_ignores_the_value() {
    let r = Rendezvous::<&str, ()>::new();
    let e: Event<Vec<u8>> = r.event("done").rebind();
    e.trigger(vec![1, 2, 3]);
    assert_eq!(joined(&r), [("done", ())]);
}

// ANCHOR: map
#[tamed]
fn produce(done: Event<String>) {
    twait! { tame::timer(ms(1), mkevent!()); }
    done.trigger("hello".to_string());
}

#[tamed]
fn consume(out: Rc<Cell<usize>>) {
    let mut len = 0;
    twait! { produce(mkevent!(len).map(|s: String| s.len())); }
    out.set(len);
}
// ANCHOR_END: map

#[test]
fn a_mapped_mkevent_is_a_tamed_calls_done() {
    let out = Rc::new(Cell::new(0));
    tame::run(|| consume(out.clone()));
    assert_eq!(out.get(), 5);
}

// ---- all ----

#[test]
fn all_triggers_each_event_in_order_with_a_clone() {
    let r = Rendezvous::<u8, Rc<str>>::new();
    let v: Rc<str> = Rc::from("shared");
    tame::all([r.event(3), r.event(1), r.event(2)]).trigger(v.clone());
    let got = joined(&r);
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [3, 1, 2]);
    assert!(got.iter().all(|(_, s)| Rc::ptr_eq(s, &v)));
}

#[test]
fn all_is_live_while_any_is_live_and_cancelled_once_all_are() {
    let (r1, r2) = (Rendezvous::<(), u8>::new(), Rendezvous::<(), u8>::new());
    let mut e = tame::all([r1.event(()), r2.event(())]);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    e.on_cancel(move || flag.set(true));
    r1.cancel();
    assert!(e.is_live() && !ran.get());
    r2.cancel();
    assert!(!e.is_live() && ran.get());
    e.trigger(1);
    assert_eq!((r1.try_join(), r2.try_join()), (None, None));
}

#[test]
fn unblocking_or_dropping_all_completes_each_without_a_value() {
    let r = Rendezvous::<u8, u8>::new();
    let e = tame::all([r.event(1), r.event(2)]);
    e.unblocker().trigger(());
    tame::all([r.event(3), r.event(4)]).abandon();
    assert_eq!((r.pending(), r.try_join()), (0, None));
}

#[test]
fn all_of_nothing_is_not_live() {
    let e: Event<u8> = tame::all([]);
    assert!(!e.is_live());
    e.trigger(1);
}

// ---- push_back_event, extend_event ----

#[test]
fn push_back_event_and_extend_event_collect_values_in_trigger_order() {
    let v = Rc::new(RefCell::new(Vec::new()));
    let set = Rc::new(RefCell::new(std::collections::BTreeSet::new()));
    tame::run(|| {
        for (n, after) in [(3, 3), (1, 1), (2, 2), (1, 4)] {
            let both = tame::all([
                tame::push_back_event(v.clone()),
                tame::extend_event(set.clone()),
            ]);
            tame::timer(ms(after), both.bind(n));
        }
    });
    assert_eq!(*v.borrow(), [1, 2, 3, 1]);
    assert_eq!(set.borrow().iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
}

// ---- with_timeout, timeout_value ----

#[test]
fn with_timeout_unblocks_the_event_then_cancels_the_operation() {
    let r = Rendezvous::<&str, u32>::new();
    let log = Log::default();
    tame::run(|| {
        let mut target = r.event("target");
        let l = log.clone();
        target.at_trigger(Event::from_fn(move |()| l.push("target completed")));
        let mut op = tame::with_timeout(ms(5), target);
        let l = log.clone();
        op.on_cancel(move || l.push("operation cancelled"));
        tame::timer(ms(40), op.bind(1));
    });
    assert_eq!(log.take(), ["target completed", "operation cancelled"]);
    assert_eq!((r.try_join(), r.pending()), (None, 0));
}

#[test]
fn with_timeout_delivers_an_answer_that_comes_in_time() {
    let r = Rendezvous::<&str, u32>::new();
    tame::run(|| {
        let op = tame::with_timeout(ms(200), r.event("in time"));
        tame::timer(ms(1), op.bind(7));
    });
    assert_eq!(joined(&r), [("in time", 7)]);
}

/// Drops a flag when it goes out of scope: shows that a call ended and dropped its locals.
struct Drops(Log, &'static str);
impl Drop for Drops {
    fn drop(&mut self) {
        self.0.push(format!("drop {}", self.1));
    }
}

// ANCHOR: with_timeout
#[tamed]
fn slow_answer(log: Log, done: Event<u32>) {
    let _guard = Drops(log.clone(), "slow_answer's local");
    twait! { tame::timer(Duration::from_secs(60), mkevent!()); }
    log.push("slow_answer finished (wrong)");
    done.trigger(1);
}

#[tamed]
fn ask_with_deadline(log: Log) {
    let mut answer = 0;
    twait! { slow_answer(log.clone(), tame::with_timeout(ms(5), mkevent!(answer))); }
    log.push(format!("answer {answer}"));
}
// ANCHOR_END: with_timeout

#[test]
fn with_timeout_stops_a_tamed_call_when_the_time_is_up() {
    let log = Log::default();
    let t = std::time::Instant::now();
    tame::run(|| ask_with_deadline(log.clone()));
    assert!(t.elapsed() < Duration::from_secs(30));
    let got = log.take();
    assert!(got.contains(&"answer 0".to_string()), "{got:?}");
    assert!(
        got.contains(&"drop slow_answer's local".to_string()),
        "{got:?}"
    );
    assert!(!got.iter().any(|l| l.contains("wrong")), "{got:?}");
}

#[test]
fn timeout_value_gives_its_value_on_timeout_and_the_answer_before() {
    let r = Rendezvous::<&str, &str>::new();
    tame::run(|| {
        let late = tame::timeout_value(ms(5), r.event("late"), "default");
        tame::timer(ms(40), late.bind("answer"));
        let early = tame::timeout_value(ms(200), r.event("early"), "default");
        tame::timer(ms(1), early.bind("answer"));
    });
    assert_eq!(joined(&r), [("early", "answer"), ("late", "default")]);
}

// ---- several handles: the losers, dropped handles, cycles ----

#[tamed]
fn slow_loser(log: Log, done: Event<u32>) {
    let _g = Drops(log.clone(), "loser's local");
    twait! { tame::timer(Duration::from_secs(2), mkevent!()); }
    log.push("loser finished (wrong)");
    done.trigger(2);
}

#[test]
fn a_tamed_call_holding_the_losing_alias_ends() {
    let r = Rendezvous::<(), u32>::new();
    let log = Log::default();
    let t = std::time::Instant::now();
    tame::run(|| {
        let e = r.event(());
        slow_loser(log.clone(), e.alias());
        tame::timer(ms(1), e.bind(1)); // wins: the alias is now not live
    });
    assert_eq!(r.try_join(), Some(((), 1)));
    assert_eq!(log.take(), ["drop loser's local"]);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

#[test]
fn the_on_cancel_hooks_of_a_losing_handle_run_when_another_decides() {
    let r = Rendezvous::<(), u32>::new();
    let log = Log::default();
    let mut a = r.event(());
    let mut b = a.alias();
    let mut u = a.unblocker();
    note_cancel(&mut a, &log, "a");
    note_cancel(&mut b, &log, "b");
    note_cancel(&mut u, &log, "u");
    let l = log.clone();
    a.at_trigger(Event::from_fn(move |()| l.push("at_trigger")));
    a.trigger(1);
    assert!(!b.is_live() && !u.is_live());
    assert_eq!(log.take(), ["at_trigger", "b cancelled", "u cancelled"]);
    drop((b, u));
    assert_eq!(joined(&r), [((), 1)]);
}

/// Logs "`name` cancelled" when `e`'s `on_cancel` hooks run.
fn note_cancel<T>(e: &mut Event<T>, log: &Log, name: &'static str) {
    let l = log.clone();
    e.on_cancel(move || l.push(format!("{name} cancelled")));
}

#[test]
fn a_timer_holding_the_losing_alias_does_not_keep_the_loop_alive() {
    let r = Rendezvous::<(), u32>::new();
    let t = std::time::Instant::now();
    tame::run(|| {
        let e = r.event(());
        tame::timer(Duration::from_secs(2), e.alias().bind(2));
        e.trigger(1);
    });
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(joined(&r), [((), 1)]);
}

#[test]
fn the_hooks_of_a_dropped_handle_never_run() {
    let r = Rendezvous::<(), u32>::new();
    let mut a = r.event(());
    let mut b = a.alias();
    let mut u = a.unblocker();
    let log = Log::default();
    note_cancel(&mut b, &log, "b");
    note_cancel(&mut u, &log, "u");
    drop(b); // not the last handle: the occurrence stays pending
    drop(u);
    note_cancel(&mut a, &log, "a");
    r.cancel();
    assert_eq!(log.take(), ["a cancelled"]);
    drop(a);
}

#[test]
fn handles_waiting_in_an_at_trigger_list_do_not_keep_an_occurrence_from_being_abandoned() {
    let r = Rendezvous::<u8, ()>::new();
    {
        let mut a = r.event(1);
        let mut b = r.event(2);
        let (ua, ub) = (a.unblocker(), b.unblocker());
        a.at_trigger(ub); // whichever completes first completes the other
        b.at_trigger(ua);
        a.abandon();
        assert_eq!(
            r.pending(),
            0,
            "a abandoned, and with it b (a's at_trigger)"
        );
        b.abandon();
    }
    assert_eq!(r.pending(), 0);
}

#[tamed]
fn self_unblocking(log: Log) {
    twait! {
        let mut a = mkevent!();
        let ua = a.unblocker();
        a.at_trigger(ua);
        a.abandon();
    }
    log.push("resumed");
}

#[test]
fn a_twait_with_a_self_referencing_at_trigger_resumes() {
    let log = Log::default();
    tame::run(|| self_unblocking(log.clone()));
    assert_eq!(log.take(), ["resumed"]);
}

#[test]
fn unblocking_a_with_timeout_result_unblocks_its_event() {
    let r = Rendezvous::<u8, &str>::new();
    tame::run(|| {
        let op = tame::with_timeout(ms(100), r.event(1).bind("bound"));
        op.unblocker().trigger(());
        let op = tame::timeout_value(ms(100), r.event(2), "default");
        op.unblocker().trigger(());
    });
    assert_eq!(joined(&r), [(1, "bound")]);
    assert_eq!(r.pending(), 0);
}

#[test]
fn at_trigger_on_an_unblocker_fires_when_another_handle_decides() {
    let r = Rendezvous::<(), u32>::new();
    let a = r.event(());
    let mut u = a.unblocker();
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    u.at_trigger(Event::from_fn(move |()| f.set(true)));
    a.trigger(1);
    assert!(!u.is_live());
    assert!(fired.get());
    drop(u);
}

#[tamed]
fn racer(log: Log, name: &'static str, done: Event<u32>) {
    let _g = Drops(log.clone(), name);
    twait! { tame::timer(Duration::from_secs(2), mkevent!()); }
    log.push(format!("{name} answered (wrong)"));
    done.trigger(1);
}

#[tamed]
fn three_racers(log: Log, done: Event<()>) {
    let mut x = 0;
    twait! {
        let e = mkevent!(x);
        racer(log.clone(), "a", e.alias());
        racer(log.clone(), "b", e.unblocker().rebind());
        racer(log.clone(), "c", e);
    }
    log.push(format!("x {x} (wrong)"));
    done.trigger(());
}

#[test]
fn every_handle_ends_its_call_when_the_receiver_goes() {
    let log = Log::default();
    let t = std::time::Instant::now();
    let r = Rendezvous::<(), ()>::new();
    tame::run(|| three_racers(log.clone(), tame::with_timeout(ms(5), r.event(()))));
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["drop a", "drop b", "drop c"]);
    assert!(
        tame::leak_reports().is_empty(),
        "{:?}",
        tame::leak_reports()
    );
}
