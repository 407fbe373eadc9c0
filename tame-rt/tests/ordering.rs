//! Trigger order, and "triggering never resumes a waiter inline".
mod util;

use std::time::Duration;
use tame_rt::{Event, Rendezvous, asap, run, timer};
use util::{Log, drain};

#[test]
fn try_join_yields_values_in_trigger_order() {
    let r: Rendezvous<u32, &str> = Rendezvous::new();
    let (a, b, c) = (r.event(1), r.event(2), r.event(3));
    c.trigger("c");
    a.trigger("a");
    b.trigger("b");
    let got: Vec<_> = std::iter::from_fn(|| r.try_join()).collect();
    assert_eq!(got, [(3, "c"), (1, "a"), (2, "b")]);
}

#[test]
fn trigger_never_resumes_the_waiter_inline() {
    let log = Log::default();
    run(|| {
        let r: Rendezvous<u8, u8> = Rendezvous::new();
        let e = r.event(7);
        drain(r, log.clone());
        e.trigger(1);
        log.push("trigger returned");
    });
    assert_eq!(log.take(), ["trigger returned", "7=1", "end"]);
}

#[test]
fn waiters_resume_in_wake_up_order() {
    let log = Log::default();
    run(|| {
        let r1: Rendezvous<&str, ()> = Rendezvous::new();
        let r2: Rendezvous<&str, ()> = Rendezvous::new();
        let (e1, e2) = (r1.event("one"), r2.event("two"));
        drain(r1, log.clone());
        drain(r2, log.clone());
        e2.trigger(());
        e1.trigger(());
    });
    assert_eq!(log.take(), ["\"two\"=()", "end", "\"one\"=()", "end"]);
}

#[test]
fn timers_fire_in_deadline_order_then_set_order() {
    let r: Rendezvous<u32, ()> = Rendezvous::new();
    run(|| {
        // One base instant, so slow execution (Miri) cannot reorder the deadlines.
        let t0 = std::time::Instant::now();
        tame_rt::at(t0 + Duration::from_millis(4), r.event(4));
        tame_rt::at(t0 + Duration::from_millis(1), r.event(1));
        tame_rt::at(t0 + Duration::from_millis(2), r.event(2));
        tame_rt::at(t0 + Duration::from_millis(2), r.event(3));
        timer(Duration::from_millis(10), r.event(5));
    });
    let got: Vec<u32> = std::iter::from_fn(|| r.try_join()).map(|x| x.0).collect();
    assert_eq!(got, [1, 2, 3, 4, 5]);
}

#[test]
fn asap_triggers_at_the_start_of_the_next_turn() {
    // From `run`'s closure: before the calls queued so far are resumed.
    let log = Log::default();
    run(|| {
        let l = log.clone();
        asap(Event::from_fn(move |()| l.push("asap")));
        let r: Rendezvous<u8, ()> = Rendezvous::new();
        let e = r.event(0);
        drain(r, log.clone());
        e.trigger(());
    });
    assert_eq!(log.take(), ["asap", "0=()", "end"]);
}

/// 200,000 calls, each woken by the previous one, on a 256 KiB stack: resuming never nests.
#[test]
#[cfg_attr(miri, ignore = "too slow under Miri")]
fn long_trigger_chain_runs_on_a_small_stack() {
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let count = std::rc::Rc::new(std::cell::Cell::new(0u32));
            run(|| {
                // Call k waits on r_k and, when woken, triggers r_{k+1}.
                let rs: Vec<Rendezvous<(), ()>> = (0..200_000).map(|_| Rendezvous::new()).collect();
                let mut evs: Vec<Option<Event<()>>> =
                    rs.iter().map(|r| Some(r.event(()))).collect();
                for (k, r) in rs.into_iter().enumerate() {
                    let mut next = evs.get_mut(k + 1).and_then(Option::take);
                    let c = count.clone();
                    tame_rt::__private::spawn("link", file!(), move |cx| {
                        match cx.poll_rv(&r, line!()) {
                            None => tame_rt::__private::Step::Blocked,
                            Some(_) => {
                                c.set(c.get() + 1);
                                if let Some(e) = next.take() {
                                    e.trigger(());
                                }
                                tame_rt::__private::Step::Done
                            }
                        }
                    });
                }
                evs[0].take().unwrap().trigger(());
            });
            count.get()
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), 200_000);
}
