//! What a tamed call costs, counted: allocations per call, the fast path, the size of a call's
//! state, and stack depth on long wake-up chains.
use std::cell::Cell;
use std::rc::Rc;

use tame::{Event, Rendezvous, tamed};

#[path = "util/alloc.rs"]
mod alloc;
use alloc::{allocs, size_of_first_allocation};

#[tamed]
fn next_turn() {
    twait! { tame::asap(mkevent!()); }
}

fn calls_blocking(n: usize) -> u64 {
    let mut during = 0;
    tame::run(|| {
        let before = allocs();
        for _ in 0..n {
            next_turn();
        }
        during = allocs() - before;
    });
    during
}

#[test]
fn a_call_that_blocks_allocates_once() {
    calls_blocking(1000); // warm the run queue and the asap list
    let mut total = 0;
    tame::run(|| {
        let before = allocs();
        for _ in 0..1000 {
            next_turn();
        }
        total = allocs() - before;
    });
    // 1000 calls, one task each, and nothing else once the runtime's tables are warm.
    assert_eq!(total, 1000);
}

#[tamed]
fn ready_waits(n: u32, r: Rendezvous<u32, u32>, out: Rc<Cell<u64>>) {
    // Warm: the first pass grows the rendezvous' tables.
    for i in 0..4 {
        r.event(i).trigger(i);
        let _ = twait!(r);
        twait! { mkevent!().trigger(()); }
    }
    let before = allocs();
    for i in 0..n {
        // A twait!{} whose events are all done, and a twait!(r) with a value ready.
        twait! { mkevent!().trigger(()); }
        r.event(i).trigger(i);
        let got = twait!(r);
        assert_eq!(got, Some((i, i)));
    }
    out.set(allocs() - before);
}

#[test]
fn a_wait_already_complete_allocates_nothing() {
    let out = Rc::new(Cell::new(u64::MAX));
    tame::run(|| ready_waits(10_000, Rendezvous::new(), out.clone()));
    assert_eq!(out.get(), 0);
}

#[tamed]
fn never_blocks(x: u32, done: Event<u32>) {
    twait! { mkevent!().trigger(()); }
    done.trigger(x + 1);
}

#[test]
fn a_call_that_never_blocks_allocates_only_its_task() {
    let r: Rendezvous<(), u32> = Rendezvous::new();
    // Warm: the rendezvous' tables, and (debug builds) the table of backtrace links.
    never_blocks(0, r.event(()));
    r.try_join();
    let before = allocs();
    never_blocks(1, r.event(()));
    // One allocation: the task. (Calls that finish without blocking could skip it; they do
    // not yet.)
    assert_eq!(allocs() - before, 1);
    assert_eq!(r.try_join(), Some(((), 2)));
}

/// The paper's windowed resolver, as the book's chapter shows it (with a fake lookup).
#[tamed]
fn multidns_win(names: Vec<String>, window: usize, done: Event<Vec<String>>) {
    let mut answers = vec![String::new(); names.len()];
    let r: Rendezvous<usize, String> = Rendezvous::new();
    let (mut sent, mut received) = (0, 0);
    while received < names.len() {
        if sent < names.len() && sent - received < window {
            fake_lookup(names[sent].clone(), mkevent!(r, sent));
            sent += 1;
        } else if let Some((i, addr)) = twait!(r) {
            answers[i] = addr;
            received += 1;
        } else {
            break;
        }
    }
    done.trigger(answers);
}

fn fake_lookup(name: String, e: Event<String>) {
    tame::asap(Event::from_fn(move |()| {
        e.trigger(format!("{name}=10.0.0.1"))
    }));
}

/// The heap bytes of one blocked `multidns_win` call: the task (header + closure state).
#[test]
fn state_of_a_windowed_resolver_call_is_small() {
    let names: Vec<String> = (0..10).map(|i| format!("h{i}.test")).collect();
    let out = Rc::new(std::cell::RefCell::new(None));
    let o = out.clone();
    let bytes = Cell::new(0);
    tame::run(|| {
        let done = Event::from_fn(move |v| *o.borrow_mut() = Some(v));
        // The call's first allocation is its task.
        bytes.set(size_of_first_allocation(|| multidns_win(names, 4, done)));
    });
    let bytes = bytes.get();
    println!("one multidns_win call: {bytes} bytes of task state");
    assert!(bytes > 0 && bytes <= 512, "{bytes} bytes");
    assert_eq!(out.borrow().as_ref().map(Vec::len), Some(10));
}

#[tamed]
fn link(r: Rendezvous<(), ()>, next: Option<Event<()>>, count: Rc<Cell<u32>>) {
    let _ = twait!(r);
    count.set(count.get() + 1);
    if let Some(e) = next {
        e.trigger(());
    }
}

/// 200,000 tamed calls, each woken by the previous one, on a 256 KiB thread stack.
#[test]
fn a_chain_of_200_000_wake_ups_runs_on_a_256_kib_stack() {
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let count = Rc::new(Cell::new(0));
            tame::run(|| {
                let n = 200_000;
                let rs: Vec<Rendezvous<(), ()>> = (0..n).map(|_| Rendezvous::new()).collect();
                let mut evs: Vec<Option<Event<()>>> =
                    rs.iter().map(|r| Some(r.event(()))).collect();
                let first = evs[0].take();
                for (k, r) in rs.into_iter().enumerate() {
                    let next = evs.get_mut(k + 1).and_then(Option::take);
                    link(r, next, count.clone());
                }
                first.expect("first event").trigger(());
            });
            count.get()
        })
        .expect("spawn");
    assert_eq!(h.join().expect("no stack overflow"), 200_000);
}
