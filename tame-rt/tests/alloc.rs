//! No allocation on the hot path, proven with a counting global allocator.
use std::cell::Cell;

use tame_rt::__private::{Step, spawn};
use tame_rt::{Rendezvous, run};

#[path = "../../tests/util/alloc.rs"]
mod alloc;
use alloc::allocs;

#[test]
fn make_trigger_join_allocates_nothing_in_steady_state() {
    let r: Rendezvous<u32, u64> = Rendezvous::new();
    for i in 0..100 {
        r.event(i).trigger(u64::from(i));
        r.try_join().unwrap();
    }
    let before = allocs();
    for i in 0..10_000 {
        let e = r.event(i);
        e.trigger(u64::from(i));
        assert_eq!(r.try_join(), Some((i, u64::from(i))));
    }
    assert_eq!(allocs() - before, 0);
}

type Slot = std::rc::Rc<std::cell::RefCell<Option<tame_rt::Event<()>>>>;

/// A call that, each time it is woken on `mine`, triggers the event it was handed for its
/// peer and hands the peer a fresh event on `mine`: one trigger -> queue -> resume per step.
fn player(
    mine: Rendezvous<(), ()>,
    to_peer: Slot,
    from_peer: Slot,
    steps: Rc<Cell<u64>>,
    marks: Rc<Cell<(u64, u64)>>,
) {
    spawn("player", file!(), move |cx| {
        loop {
            match cx.poll_rv(&mine, line!()) {
                None => return Step::Blocked,
                Some(None) => return Step::Done,
                Some(Some(((), ()))) => {
                    let n = steps.get() + 1;
                    steps.set(n);
                    if n == 1_000 {
                        marks.set((allocs(), 0));
                    }
                    if n == 21_000 {
                        marks.set((marks.get().0, allocs()));
                        from_peer.borrow_mut().take();
                        return Step::Done;
                    }
                    *to_peer.borrow_mut() = Some(mine.event(()));
                    if let Some(e) = from_peer.borrow_mut().take() {
                        e.trigger(());
                    }
                }
            }
        }
    });
}

use std::rc::Rc;

#[test]
#[cfg_attr(miri, ignore = "too slow under Miri")]
fn trigger_resume_cycles_through_the_loop_allocate_nothing() {
    let steps = Rc::new(Cell::new(0));
    let marks = Rc::new(Cell::new((0, 0)));
    run(|| {
        let (ra, rb): (Rendezvous<(), ()>, Rendezvous<(), ()>) =
            (Rendezvous::new(), Rendezvous::new());
        let (to_a, to_b): (Slot, Slot) = Default::default();
        // b triggers what is in to_b: the first event on a; and the kick wakes b.
        *to_b.borrow_mut() = Some(ra.event(()));
        let kick = rb.event(());
        player(ra, to_b.clone(), to_a.clone(), steps.clone(), marks.clone());
        player(rb, to_a, to_b, steps.clone(), marks.clone());
        kick.trigger(());
    });
    assert!(steps.get() >= 21_000, "ran {} steps", steps.get());
    let (a, b) = marks.get();
    assert_eq!(b - a, 0, "allocations over 20,000 trigger->resume cycles");
}

#[test]
fn add_timeout_allocates_once() {
    use std::time::Duration;
    use tame_rt::{TimedOut, add_timeout};
    let r: Rendezvous<u32, Result<u32, TimedOut>> = Rendezvous::new();
    let step = |i: u32| {
        let op = add_timeout(Duration::from_secs(60), r.event(i));
        op.trigger(i);
        assert_eq!(r.try_join(), Some((i, Ok(i))));
    };
    // Warm: the rendezvous' tables, the timer store's slab.
    run(|| (0..10).for_each(step));
    let mut n = 0;
    run(|| {
        let before = allocs();
        (0..1_000).for_each(step);
        n = allocs() - before;
    });
    assert_eq!(n, 1_000, "one allocation per add_timeout (its race)");
}
