//! Cancellation reaches tamed calls (rule 1): a blocked call whose every `Event` parameter
//! lost its receiver before being triggered ends at its wait, its locals dropped newest first,
//! and the events of its wait cancelled, so the calls nested in it end in turn.
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::{Event, Rendezvous, TimedOut, tamed};

mod util;
use util::Log;

/// A value that logs its drop.
struct D(Log, &'static str);

impl Drop for D {
    fn drop(&mut self) {
        self.0.push(format!("drop {}", self.1));
    }
}

const LONG: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(20);

#[tamed]
fn sleeper(log: Log, done: Event<()>) {
    let _a = D(log.clone(), "a");
    let _b = D(log.clone(), "b");
    twait! { tame::timer(LONG, mkevent!()); }
    log.push("after the wait");
    done.trigger(());
}

#[test]
fn a_call_whose_done_lost_its_receiver_ends_at_its_wait() {
    let log = Log::default();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let t0 = Instant::now();
    let l = log.clone();
    tame::run(|| sleeper(l, tame::add_timeout(SHORT, r.event(()))));
    // The loop ended long before the 30 s timer: it was removed with the call.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    assert_eq!(log.take(), ["drop b", "drop a"]);
}

#[tamed]
fn sleeper_with_a_param(first: D, log: Log, done: Event<()>) {
    let _b = D(log.clone(), "b");
    twait! { tame::timer(LONG, mkevent!()); }
    log.push(format!("{} after the wait", first.1));
    done.trigger(());
}

#[test]
fn a_call_that_ends_drops_its_parameters_used_in_place_after_its_locals() {
    // `first` and `log` are never moved out of: the call uses them in place, in its
    // closure's captures; they are dropped with the closure, after the locals of its wait.
    let log = Log::default();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| {
        sleeper_with_a_param(
            D(l.clone(), "first"),
            l,
            tame::add_timeout(SHORT, r.event(())),
        )
    });
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    assert_eq!(log.take(), ["drop b", "drop first"]);
}

#[tamed]
fn inner(log: Log, done: Event<()>) {
    let _i = D(log.clone(), "inner");
    twait! { tame::timer(LONG, mkevent!()); }
    log.push("inner after its wait");
    done.trigger(());
}

#[tamed]
fn middle(log: Log, done: Event<()>) {
    let _m = D(log.clone(), "middle");
    twait! { inner(log.clone(), mkevent!()); }
    log.push("middle after its wait");
    done.trigger(());
}

#[tamed]
fn outer(log: Log, done: Event<()>) {
    let _o1 = D(log.clone(), "outer 1");
    let _o2 = D(log.clone(), "outer 2");
    let mut got = ();
    twait! { middle(log.clone(), mkevent!(got)); }
    log.push(format!("outer after its wait: {got:?}"));
    done.trigger(());
}

#[test]
fn nested_calls_three_deep_end_depth_first_with_their_drops_in_order() {
    let log = Log::default();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let t0 = Instant::now();
    let l = log.clone();
    tame::run(|| outer(l, tame::add_timeout(SHORT, r.event(()))));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    // The outer call ends first (its locals newest first); dropping the storage of its
    // `mkevent!(got)` cancels the event `middle` holds, so `middle` ends, and its `mkevent!()`
    // event, cancelled, ends `inner`.
    assert_eq!(
        log.take(),
        ["drop outer 2", "drop outer 1", "drop middle", "drop inner"]
    );
    assert!(tame::blocked_locations().is_empty());
}

#[tamed]
fn reports_early(log: Log, done: Event<()>) {
    done.trigger(());
    twait! { tame::timer(SHORT, mkevent!()); }
    log.push("finished");
}

#[test]
fn a_call_whose_done_was_already_triggered_is_not_ended() {
    let log = Log::default();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| {
        reports_early(l, r.event(()));
        r.cancel(); // too late: `done` was triggered
    });
    assert_eq!(log.take(), ["finished"]);
}

#[tamed(cancel = false)]
fn stubborn(log: Log, done: Event<()>) {
    twait! { tame::timer(SHORT, mkevent!()); }
    log.push(format!("finished, done live: {}", done.is_live()));
    done.trigger(());
}

#[test]
fn a_call_with_cancel_false_runs_to_its_end() {
    let log = Log::default();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| {
        stubborn(l, r.event(()));
        r.cancel();
    });
    assert_eq!(log.take(), ["finished, done live: false"]);
}

#[tamed]
fn no_event_parameter(log: Log, r: Rendezvous<(), ()>) {
    twait! { tame::timer(SHORT, mkevent!()); }
    log.push(format!("finished, {} pending", r.pending()));
}

#[test]
fn a_call_without_an_event_parameter_is_never_ended() {
    let log = Log::default();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| {
        let e = r.event(());
        no_event_parameter(l, r.clone());
        r.cancel();
        drop(e);
    });
    assert_eq!(log.take(), ["finished, 0 pending"]);
}

#[test]
fn a_call_is_ended_from_inside_an_on_cancel_hook() {
    let log = Log::default();
    let first: Rendezvous<(), ()> = Rendezvous::new();
    let second: Rendezvous<(), ()> = Rendezvous::new();
    let t0 = Instant::now();
    let l = log.clone();
    tame::run(|| {
        let mut e = first.event(());
        let s = second.clone();
        e.on_cancel(move || s.cancel());
        sleeper(l, second.event(()));
        tame::timer(
            SHORT,
            Event::from_fn({
                let first = first.clone();
                move |()| first.cancel()
            }),
        );
        // `e` stays pending until `first` is cancelled by the timer.
        std::mem::forget(e);
    });
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(log.take(), ["drop b", "drop a"]);
}

#[tamed]
fn cancels_its_own_receiver(log: Log, r: Rendezvous<(), ()>, done: Event<()>) {
    log.push("before");
    r.cancel(); // `done`'s receiver: the call is ended, but it is running
    log.push("rest of the step");
    twait! { tame::asap(mkevent!()); }
    log.push("after the wait");
    done.trigger(());
}

#[test]
fn a_call_cancelled_while_it_runs_finishes_its_step_first() {
    let log = Log::default();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| cancels_its_own_receiver(l, r.clone(), r.event(())));
    assert_eq!(log.take(), ["before", "rest of the step"]);
}

#[tamed]
fn callback_parameter(log: Log, done: Event<()>) {
    twait! { tame::timer(SHORT, mkevent!()); }
    log.push("finished");
    done.trigger(());
}

#[test]
fn a_call_given_a_callback_event_is_never_ended() {
    // A callback (`Event::from_fn`) has no receiver to lose.
    let log = Log::default();
    let l = log.clone();
    tame::run(|| callback_parameter(l, Event::from_fn(|()| {})));
    assert_eq!(log.take(), ["finished"]);
}

// ---- the fetcher: 20 gets, a window of 5, against a server that never answers ----

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The line of the `twait!` in `get`.
const GET_WAIT_LINE: u32 = line!() + 6;

#[tamed]
fn get(addr: SocketAddr, done: Event<usize>) {
    let sock = Rc::new(tame::net::TcpStream::connect(addr).expect("connect"));
    let mut reply = (Vec::new(), Ok(0));
    twait! {
        #![describe("reading the reply")]
        tame::net::read_some(sock.clone(), Vec::new(), 4096, mkevent!(reply));
    }
    done.trigger(reply.0.len());
}

#[tamed]
fn fetch_all(addr: SocketAddr, n: usize, window: usize, done: Event<Vec<Option<bool>>>) {
    let r: Rendezvous<usize, Result<usize, TimedOut>> = Rendezvous::new();
    let mut results = vec![None; n];
    let (mut sent, mut outstanding) = (0, 0);
    while sent < n || outstanding > 0 {
        if sent < n && outstanding < window {
            get(
                addr,
                tame::add_timeout(Duration::from_millis(200), mkevent!(r, sent)),
            );
            sent += 1;
            outstanding += 1;
            continue;
        }
        match twait!(r) {
            Some((i, res)) => {
                results[i] = Some(res.is_ok());
                outstanding -= 1;
            }
            None => break,
        }
    }
    done.trigger(results);
}

#[test]
fn timeouts_around_tamed_gets_end_them_and_close_their_sockets() {
    if cfg!(miri) {
        return; // no sockets
    }
    // The loop's poller is made at the first wait on an fd, and stays: make it first.
    let warm = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tame::run(|| {
        let e = tame::add_timeout(Duration::from_millis(1), Event::from_fn(|_| {}));
        tame::readable(&warm, e);
    });
    drop(warm);
    let fds_before = open_fds();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    // The server accepts and never answers; it stops after 10 s at most.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let mut held = Vec::new();
            let t0 = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && t0.elapsed() < LONG / 3 {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            held.len()
        }
    });
    let sampled = Rc::new(RefCell::new(Vec::new()));
    let results = Rc::new(RefCell::new(None));
    let t0 = Instant::now();
    tame::run(|| {
        let s = sampled.clone();
        tame::timer(
            Duration::from_millis(100),
            Event::from_fn(move |()| *s.borrow_mut() = tame::blocked_locations()),
        );
        let out = results.clone();
        fetch_all(
            addr,
            20,
            5,
            Event::from_fn(move |v| *out.borrow_mut() = Some(v)),
        );
    });
    let took = t0.elapsed();
    // 20 × 200 ms / 5 = 800 ms, and slack for a shared machine.
    assert!(took < Duration::from_secs(4), "the run took {took:?}");
    let results = results.borrow_mut().take().expect("fetch_all finished");
    assert_eq!(results, vec![Some(false); 20], "every get timed out");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(server.join().unwrap(), 20);
    // Every socket of the gets is closed again (and the server's, now it stopped).
    assert_eq!(open_fds(), fds_before, "file descriptors left open");
    // Mid-run, the five gets of the window were blocked at their `twait!`.
    let at = format!("tests/cancel.rs:{GET_WAIT_LINE} reading the reply");
    let sampled = sampled.borrow();
    let gets = sampled.iter().filter(|s| **s == at).count();
    assert_eq!(gets, 5, "{sampled:#?}");
    assert!(tame::blocked_locations().is_empty());
    // Ending calls drops their events on purpose: nothing is reported as a leak.
    assert_eq!(tame::leak_reports(), Vec::<String>::new());
}

// ---- rule 2: tethers ----

#[tamed]
fn tethered_sleeper(log: Log, #[tether] t: tame::Tether) {
    let _a = D(log.clone(), "sleeper's local");
    twait! { tame::timer(LONG, mkevent!()); }
    log.push(format!("after the wait, tether alive: {}", t.is_alive()));
}

#[tamed]
fn tethered_reader(log: Log, sock: Rc<tame::net::TcpStream>, tether: tame::Tether) {
    let _a = D(log.clone(), "reader's local");
    exit_with!(tether);
    let mut got = (Vec::new(), Ok(0));
    twait! { tame::net::read_some(sock.clone(), Vec::new(), 64, mkevent!(got)); }
    log.push(format!("read {:?}", got.1));
}

#[test]
fn a_tether_ends_a_call_blocked_on_a_timer_and_a_call_blocked_on_a_socket() {
    if cfg!(miri) {
        return; // no sockets
    }
    let listener = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let server = loop {
        match listener.try_accept() {
            Ok((s, _)) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let sock = Rc::new(server);
    let log = Log::default();
    let t0 = Instant::now();
    let l = log.clone();
    tame::run(|| {
        let life = tame::Lifeline::new();
        tethered_sleeper(l.clone(), life.tether());
        tethered_reader(l.clone(), sock.clone(), life.tether());
        // The object goes away 20 ms later: both calls end.
        tame::timer(SHORT, Event::from_fn(move |()| drop(life)));
    });
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["drop reader's local", "drop sleeper's local"]);
    drop(client);
}

#[tamed]
fn tethered_after_its_lifeline_died(log: Log, #[tether] t: tame::Tether) {
    log.push("runs its first step");
    twait! { tame::asap(mkevent!()); }
    log.push(format!("after the wait: {}", t.is_alive()));
}

#[test]
fn a_call_tethered_to_a_dead_lifeline_ends_at_its_first_wait() {
    let log = Log::default();
    let l = log.clone();
    tame::run(|| {
        let life = tame::Lifeline::new();
        let t = life.tether();
        drop(life);
        tethered_after_its_lifeline_died(l, t);
    });
    assert_eq!(log.take(), ["runs its first step"]);
}

// ---- found in review: each was wrong once ----

#[tamed]
fn reports_then_works(log: Log, done: Event<()>) {
    done.trigger(());
    twait! { tame::timer(SHORT, mkevent!()); }
    log.push("the child finished its work");
}

#[tamed]
fn parent_of_a_fast_child(log: Log, done: Event<()>) {
    twait! {
        reports_then_works(log.clone(), mkevent!());
        tame::timer(LONG, mkevent!());
    }
    done.trigger(());
}

#[test]
fn a_child_that_triggered_its_done_is_not_ended_when_its_parent_ends_later() {
    let log = Log::default();
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    let l = log.clone();
    tame::run(|| {
        parent_of_a_fast_child(l, tame::add_timeout(Duration::from_millis(5), r.event(())))
    });
    assert_eq!(log.take(), ["the child finished its work"]);
}

#[tamed]
fn many_complete_blocks(hooks_run: Rc<std::cell::Cell<u32>>, done: Event<()>) {
    for _ in 0..100 {
        twait! {
            let mut e = mkevent!();
            let n = hooks_run.clone();
            e.on_cancel(move || n.set(n.get() + 1));
            e.trigger(());
        }
    }
    twait! { tame::timer(LONG, mkevent!()); }
    done.trigger(());
}

#[test]
fn hooks_of_events_already_done_never_run_when_the_call_ends() {
    let hooks_run = Rc::new(std::cell::Cell::new(0));
    let r: Rendezvous<(), ()> = Rendezvous::new();
    tame::run(|| {
        many_complete_blocks(hooks_run.clone(), r.event(()));
        r.cancel();
    });
    assert_eq!(hooks_run.get(), 0);
}

#[tamed]
fn waits_on_shared(log: Log, name: &'static str, r: Rendezvous<(), u32>, done: Event<()>) {
    if let Some(((), v)) = twait!(r) {
        log.push(format!("{name} got {v}"));
    }
    done.trigger(());
}

#[test]
fn a_value_goes_to_a_live_waiter_when_the_oldest_one_ended() {
    let log = Log::default();
    let shared: Rendezvous<(), u32> = Rendezvous::new();
    let (ra, rb): (Rendezvous<(), ()>, Rendezvous<(), ()>) = Default::default();
    let l = log.clone();
    tame::run(|| {
        let (e, more) = (shared.event(()), shared.event(()));
        waits_on_shared(l.clone(), "a", shared.clone(), ra.event(()));
        waits_on_shared(l.clone(), "b", shared.clone(), rb.event(()));
        ra.cancel(); // `a`, the oldest waiter, ends
        e.trigger(7); // one value, and more may come: only one waiter is woken
        let l = l.clone();
        tame::timer(
            SHORT,
            Event::from_fn(move |()| {
                l.push("the other event is dropped");
                drop(more);
            }),
        );
    });
    // `b` got the value at once, not only when nothing more could come.
    assert_eq!(log.take(), ["b got 7", "the other event is dropped"]);
}

#[tamed]
fn stuck_forever(r: Rendezvous<(), ()>) {
    let _ = twait!(r);
}

#[test]
fn a_stuck_call_is_not_listed_again_by_the_next_run() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let e = r.event(());
    tame::run(|| stuck_forever(r.clone()));
    if cfg!(debug_assertions) {
        assert_eq!(tame::__private::stuck_reports().len(), 1);
    }
    tame::run(|| {});
    assert_eq!(tame::__private::stuck_reports(), Vec::<String>::new());
    assert!(tame::blocked_locations().is_empty());
    drop(e);
}

#[tamed]
fn panics_after_its_end_was_asked(t: tame::Tether, boom: bool) {
    exit_with!(t); // the lifeline is gone: the call is to end at its next wait
    if boom {
        panic!("before that wait");
    }
    twait! { tame::asap(mkevent!()); }
}

#[test]
fn a_panic_in_a_call_whose_end_was_asked_unwinds_normally() {
    let life = tame::Lifeline::new();
    let t = life.tether();
    drop(life);
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tame::run(|| panics_after_its_end_was_asked(t, true))
    }));
    assert!(got.is_err(), "the panic reaches the caller of `run`");
}

mod other {
    /// Another crate's type that happens to be called `Event`.
    pub struct Event<T>(pub T);
}

#[tamed]
fn takes_another_event(log: Log, e: other::Event<u32>, done: Event<()>) {
    twait! { tame::asap(mkevent!()); }
    log.push(format!("got {}", e.0));
    done.trigger(());
}

#[test]
fn a_parameter_of_another_event_type_is_not_watched() {
    let log = Log::default();
    let l = log.clone();
    tame::run(|| takes_another_event(l, other::Event(3), Event::from_fn(|()| {})));
    assert_eq!(log.take(), ["got 3"]);
}

#[tamed]
fn two_receivers(log: Log, first: Event<()>, second: Event<()>) {
    let _a = D(log.clone(), "local of two_receivers");
    twait! { tame::timer(LONG, mkevent!()); }
    first.trigger(());
    second.trigger(());
}

#[test]
fn a_call_with_two_event_parameters_ends_when_both_receivers_are_gone() {
    let log = Log::default();
    let (r1, r2): (Rendezvous<(), ()>, Rendezvous<(), ()>) = Default::default();
    let l = log.clone();
    let t0 = Instant::now();
    tame::run(|| {
        two_receivers(l.clone(), r1.event(()), r2.event(()));
        r1.cancel();
        l.push("one receiver gone");
        let r2 = r2.clone();
        tame::timer(SHORT, Event::from_fn(move |()| r2.cancel()));
    });
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(
        log.take(),
        ["one receiver gone", "drop local of two_receivers"]
    );
}
