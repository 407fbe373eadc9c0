//! tame against tokio (current_thread runtime + `LocalSet`), side by side: each criterion
//! group holds both sides of one comparison, so they run in the same invocation.
//!
//! Run: `cargo bench -p tame-benches --bench vs_tokio`. Each figure is per operation.
//! For instruction counts under callgrind, see `main`.
//!
//! | group | tame | tokio |
//! |---|---|---|
//! | `trigger_resume` | two `#[tamed]` calls wake each other through the loop, waiting in `twait!{}` on a fresh `mkevent!()` or in `twait!(r)` on a `Rendezvous` | two `spawn_local` tasks wake each other through a fresh `oneshot` per step, or a pair of `Notify` |
//! | `ready_wait` | `twait!{}` on an event triggered before the wait (fast path) | `.await` on a `oneshot` already sent to (or a `Notify` permit already stored) |
//! | `make_trigger_join` | `r.event(id)`, `trigger`, `r.try_join()` on a warm `Rendezvous` | `oneshot` create + send + `try_recv`; or a standing unbounded `mpsc`: clone the sender, send, drop it, `try_recv` |
//! | `timer_insert/*`, `timer_insert_cancel/*` | `tame::at` (and, for insert + cancel, `tame::Timer::arm` + `disarm`, `tame_timer`) with 1 K / 1 M timers pending | a `Sleep` registered by its first poll, with 1 K / 1 M `Sleep`s registered |
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use tame::{Event, Rendezvous, tamed};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::LocalSet;

fn tokio_rt() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// (a) trigger -> resume: two calls wake each other, one wake-up per step.

use tame_benches::Slot;

/// The tame ping-pong waiting in `twait!(r)` on its own rendezvous (as `tamed.rs` runs it).
fn tame_ping_pong(steps: u64) -> Duration {
    tame_benches::ping_pong(tame_benches::tamed_player, steps)
}

/// The same ping-pong with Tame's implicit rendezvous: each step hands the peer a fresh
/// `mkevent!()` and triggers the one the peer handed over, then waits in `twait!{}`.
#[tamed]
fn tame_block_player(to_peer: Slot, from_peer: Slot, left: Rc<Cell<u64>>) {
    loop {
        twait! {
            *to_peer.borrow_mut() = Some(mkevent!());
            if let Some(e) = from_peer.borrow_mut().take() {
                e.trigger(());
            }
        }
        let n = left.get();
        if n == 0 {
            from_peer.borrow_mut().take(); // dropping it wakes the peer, which sees 0 too
            return;
        }
        left.set(n - 1);
    }
}

fn tame_block_ping_pong(steps: u64) -> Duration {
    let left = Rc::new(Cell::new(steps));
    let t0 = Instant::now();
    tame::run(|| {
        let (a_to_b, b_to_a): (Slot, Slot) = Default::default();
        tame_block_player(a_to_b.clone(), b_to_a.clone(), left.clone());
        tame_block_player(b_to_a, a_to_b, left.clone());
    });
    t0.elapsed()
}

type TxSlot = Rc<RefCell<Option<oneshot::Sender<()>>>>;

/// The same player as a tokio task: a fresh oneshot per step, its sender handed to the peer
/// (what a tame event on `mine` is).
async fn oneshot_player(
    first: oneshot::Receiver<()>,
    to_peer: TxSlot,
    from_peer: TxSlot,
    left: Rc<Cell<u64>>,
) {
    let mut rx = first;
    while rx.await.is_ok() {
        let n = left.get();
        if n == 0 {
            from_peer.borrow_mut().take(); // the peer's `await` ends with Err
            return;
        }
        left.set(n - 1);
        let (tx, next) = oneshot::channel();
        *to_peer.borrow_mut() = Some(tx);
        rx = next;
        if let Some(tx) = from_peer.borrow_mut().take() {
            let _ = tx.send(());
        }
    }
}

fn tokio_oneshot_ping_pong(rt: &Runtime, steps: u64) -> Duration {
    let left = Rc::new(Cell::new(steps));
    let t0 = Instant::now();
    LocalSet::new().block_on(rt, async {
        let (to_a, to_b): (TxSlot, TxSlot) = Default::default();
        let (tx_a, rx_a) = oneshot::channel();
        let (kick, rx_b) = oneshot::channel();
        *to_b.borrow_mut() = Some(tx_a);
        let a = tokio::task::spawn_local(oneshot_player(
            rx_a,
            to_b.clone(),
            to_a.clone(),
            left.clone(),
        ));
        let b = tokio::task::spawn_local(oneshot_player(rx_b, to_a, to_b, left.clone()));
        let _ = kick.send(());
        let _ = a.await;
        let _ = b.await;
    });
    t0.elapsed()
}

/// The same with a `Notify` per player (no allocation per step).
async fn notify_player(mine: Rc<Notify>, peer: Rc<Notify>, left: Rc<Cell<u64>>) {
    loop {
        mine.notified().await;
        let n = left.get();
        if n == 0 {
            left.set(u64::MAX); // tells the peer to stop
            peer.notify_one();
            return;
        }
        if n == u64::MAX {
            return;
        }
        left.set(n - 1);
        peer.notify_one();
    }
}

fn tokio_notify_ping_pong(rt: &Runtime, steps: u64) -> Duration {
    let left = Rc::new(Cell::new(steps));
    let t0 = Instant::now();
    LocalSet::new().block_on(rt, async {
        let (na, nb) = (Rc::new(Notify::new()), Rc::new(Notify::new()));
        let a = tokio::task::spawn_local(notify_player(na.clone(), nb.clone(), left.clone()));
        let b = tokio::task::spawn_local(notify_player(nb.clone(), na, left.clone()));
        nb.notify_one();
        let _ = a.await;
        let _ = b.await;
    });
    t0.elapsed()
}

// ---------------------------------------------------------------------------------------------
// (b) a wait on an event that already fired.

/// `n` waits, each on an event triggered before the wait (the fast path).
#[tamed]
fn tame_ready_waits(n: u64, out: Rc<Cell<u64>>) {
    let mut sum = 0u64;
    for i in 0..n {
        twait! { mkevent!().trigger(()); }
        sum = sum.wrapping_add(i);
    }
    out.set(sum);
}

fn tame_ready(n: u64) -> Duration {
    let out = Rc::new(Cell::new(0));
    let t0 = Instant::now();
    tame::run(|| tame_ready_waits(n, out.clone()));
    let t = t0.elapsed();
    black_box(out.get());
    t
}

fn tokio_oneshot_ready(rt: &Runtime, n: u64) -> Duration {
    let t0 = Instant::now();
    let sum = LocalSet::new().block_on(rt, async move {
        tokio::task::spawn_local(async move {
            let mut sum = 0u64;
            for i in 0..n {
                let (tx, rx) = oneshot::channel::<()>();
                let _ = tx.send(());
                let _ = rx.await;
                sum = sum.wrapping_add(i);
            }
            sum
        })
        .await
    });
    let t = t0.elapsed();
    black_box(sum.ok());
    t
}

fn tokio_notify_ready(rt: &Runtime, n: u64) -> Duration {
    let t0 = Instant::now();
    let sum = LocalSet::new().block_on(rt, async move {
        tokio::task::spawn_local(async move {
            let notify = Notify::new();
            let mut sum = 0u64;
            for i in 0..n {
                notify.notify_one(); // stores a permit
                notify.notified().await; // takes it
                sum = sum.wrapping_add(i);
            }
            sum
        })
        .await
    });
    let t = t0.elapsed();
    black_box(sum.ok());
    t
}

// ---------------------------------------------------------------------------------------------
// (c) make + trigger + join, no loop involved.

fn tame_rendezvous_mtj(r: &Rendezvous<u32, u64>, n: u64) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        let e = r.event(black_box(i as u32));
        e.trigger(black_box(2));
        black_box(r.try_join());
    }
    t0.elapsed()
}

fn tokio_oneshot_mtj(n: u64) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        let (tx, mut rx) = oneshot::channel::<(u32, u64)>();
        let _ = tx.send((black_box(i as u32), black_box(2)));
        black_box(rx.try_recv().ok());
    }
    t0.elapsed()
}

type Chan = (
    mpsc::UnboundedSender<(u32, u64)>,
    mpsc::UnboundedReceiver<(u32, u64)>,
);

fn tokio_mpsc_mtj((tx, rx): &mut Chan, n: u64) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        let e = tx.clone(); // one sender per event, as each tame event is its own handle
        let _ = e.send((black_box(i as u32), black_box(2)));
        drop(e);
        black_box(rx.try_recv().ok());
    }
    t0.elapsed()
}

// ---------------------------------------------------------------------------------------------
// (a)–(c) by name, for criterion and for the instruction-count driver.

/// The routine of one benchmark of (a)–(c), by id, timing `iters` operations (and two timer
/// routines for the instruction-count driver).
fn routine<'a>(id: &str, rt: &'a Runtime) -> Option<Box<dyn FnMut(u64) -> Duration + 'a>> {
    Some(match id {
        "trigger_resume/tame_rendezvous" => Box::new(tame_ping_pong),
        "trigger_resume/tame_twait_block" => Box::new(tame_block_ping_pong),
        "trigger_resume/tokio_oneshot" => Box::new(|n| tokio_oneshot_ping_pong(rt, n)),
        "trigger_resume/tokio_notify" => Box::new(|n| tokio_notify_ping_pong(rt, n)),
        "ready_wait/tame" => Box::new(tame_ready),
        "ready_wait/tokio_oneshot" => Box::new(|n| tokio_oneshot_ready(rt, n)),
        "ready_wait/tokio_notify_permit" => Box::new(|n| tokio_notify_ready(rt, n)),
        "make_trigger_join/tame_rendezvous" => {
            let r = Rendezvous::new();
            Box::new(move |n| tame_rendezvous_mtj(&r, n))
        }
        "make_trigger_join/tokio_oneshot" => Box::new(tokio_oneshot_mtj),
        "make_trigger_join/tokio_mpsc_unbounded" => {
            let mut chan = mpsc::unbounded_channel();
            Box::new(move |n| tokio_mpsc_mtj(&mut chan, n))
        }
        // Instruction-count driver only (criterion runs these in `timers`).
        "timer_insert_cancel/tame_1000_pending" => {
            let start = Instant::now();
            let far = far_deadline(start, 0, 0); // no later than every pending timer
            let base: Rendezvous<(), ()> = Rendezvous::new();
            for i in 0..1000 {
                tame::at(far_deadline(start, i, 7919), base.event(()));
            }
            let r: Rendezvous<(), ()> = Rendezvous::new();
            Box::new(move |n| {
                let t0 = Instant::now();
                for _ in 0..n {
                    tame::at(black_box(far), r.event(()));
                    r.cancel();
                }
                black_box(&base);
                t0.elapsed()
            })
        }
        "timer_insert_cancel/tame_timer_1000_pending" => {
            let start = Instant::now();
            let far = far_deadline(start, 0, 0);
            let base: Rendezvous<(), ()> = Rendezvous::new();
            for i in 0..1000 {
                tame::at(far_deadline(start, i, 7919), base.event(()));
            }
            let r: Rendezvous<(), ()> = Rendezvous::new();
            let t = tame::Timer::new();
            Box::new(move |n| {
                let t0 = Instant::now();
                for _ in 0..n {
                    t.arm(black_box(far), r.event(()));
                    t.disarm();
                }
                black_box(&base);
                t0.elapsed()
            })
        }
        "timer_insert_cancel/tokio_1000_pending" => {
            let _ctx = rt.enter();
            let start = Instant::now();
            let far = far_deadline(start, 0, 0); // no later than every pending timer
            let mut base: Vec<Pin<Box<tokio::time::Sleep>>> = (0..1000)
                .map(|i| {
                    Box::pin(tokio::time::sleep_until(
                        far_deadline(start, i, 7919).into(),
                    ))
                })
                .collect();
            for s in &mut base {
                poll_once(s.as_mut());
            }
            rt.block_on(tokio::task::yield_now());
            let tfar = tokio::time::Instant::from_std(far);
            Box::new(move |n| {
                let _ctx = rt.enter();
                let t0 = Instant::now();
                for _ in 0..n {
                    let s = pin!(tokio::time::sleep_until(black_box(tfar)));
                    poll_once(s);
                }
                black_box(&base);
                t0.elapsed()
            })
        }
        _ => return None,
    })
}

const GROUPS: [(&str, &[&str]); 3] = [
    (
        "trigger_resume",
        &[
            "tame_rendezvous",
            "tame_twait_block",
            "tokio_oneshot",
            "tokio_notify",
        ],
    ),
    (
        "ready_wait",
        &["tame", "tokio_oneshot", "tokio_notify_permit"],
    ),
    (
        "make_trigger_join",
        &["tame_rendezvous", "tokio_oneshot", "tokio_mpsc_unbounded"],
    ),
];

fn loop_and_channels(c: &mut Criterion) {
    let rt = tokio_rt();
    for (group, names) in GROUPS {
        let mut g = c.benchmark_group(group);
        for name in names {
            let mut f = routine(&format!("{group}/{name}"), &rt).expect("known routine");
            g.bench_function(*name, |b| b.iter_custom(&mut f));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// (d) timers: insert, and insert + cancel, with `pending` others registered far in the future.

fn far_deadline(base: Instant, i: u64, stride: u64) -> Instant {
    base + Duration::from_secs(3600) + Duration::from_micros(i * stride % 1_000_000)
}

/// Registers a tokio `Sleep` by polling it once (inside the runtime's context).
fn poll_once(s: Pin<&mut tokio::time::Sleep>) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(s.poll(&mut cx).is_pending());
}

fn timers(c: &mut Criterion) {
    let rt = tokio_rt();
    let _ctx = rt.enter(); // `Sleep` registers with this runtime's timer
    for pending in [1_000u64, 1_000_000] {
        let start = Instant::now();
        let mut g = c.benchmark_group(format!("timer_insert/{pending}_pending"));

        // tame
        let base: Rendezvous<(), ()> = Rendezvous::new();
        for i in 0..pending {
            tame::at(far_deadline(start, i, 7919), base.event(()));
        }
        g.bench_function("tame", |b| {
            b.iter_custom(|iters| {
                // Untimed: the events and deadlines (tokio's side makes its `Sleep`s untimed).
                let batch: Rendezvous<(), ()> = Rendezvous::new();
                let todo: Vec<(Instant, Event<()>)> = (0..iters)
                    .map(|i| (far_deadline(start, i, 104_729), batch.event(())))
                    .collect();
                let t0 = Instant::now();
                for (deadline, e) in todo {
                    tame::at(deadline, e);
                }
                let t = t0.elapsed();
                batch.cancel(); // untimed: back to `pending` timers
                t
            })
        });
        // tokio
        let mut tbase: Vec<Pin<Box<tokio::time::Sleep>>> = (0..pending)
            .map(|i| {
                Box::pin(tokio::time::sleep_until(
                    far_deadline(start, i, 7919).into(),
                ))
            })
            .collect();
        for s in &mut tbase {
            poll_once(s.as_mut());
        }
        // Let the driver park once, as a running runtime does whenever it is idle: it then
        // knows its next wake-up, and a later insert does not wake it (an eventfd write) unless
        // it is earlier. Without this every insert below would pay that system call.
        rt.block_on(tokio::task::yield_now());
        g.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                let mut todo: Vec<Pin<Box<tokio::time::Sleep>>> = (0..iters)
                    .map(|i| {
                        Box::pin(tokio::time::sleep_until(
                            far_deadline(start, i, 104_729).into(),
                        ))
                    })
                    .collect();
                let t0 = Instant::now();
                for s in &mut todo {
                    poll_once(s.as_mut());
                }
                let t = t0.elapsed();
                drop(todo); // untimed: back to `pending` sleeps
                t
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("timer_insert_cancel/{pending}_pending"));
        let far = far_deadline(start, 0, 0);
        g.bench_function("tame", |b| {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            b.iter(|| {
                tame::at(black_box(far), r.event(()));
                r.cancel();
            })
        });
        g.bench_function("tame_timer", |b| {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            let t = tame::Timer::new();
            b.iter(|| {
                t.arm(black_box(far), r.event(()));
                t.disarm();
            })
        });
        let tfar = tokio::time::Instant::from_std(far);
        g.bench_function("tokio", |b| {
            b.iter(|| {
                let s = pin!(tokio::time::sleep_until(black_box(tfar)));
                poll_once(s); // registered; dropped at the end of the block: cancelled
            })
        });
        g.finish();
        base.cancel();
        drop(tbase);
    }
}

criterion_group!(benches, loop_and_channels, timers);

/// `VS_TOKIO_RUN=<group/name> VS_TOKIO_ITERS=<n>` runs one routine of (a)–(c) `n` times
/// outside criterion, for instruction counts under callgrind (run with two `n`s and subtract
/// to cancel the set-up). Otherwise: criterion, as `criterion_main!` would.
fn main() {
    if let Ok(id) = std::env::var("VS_TOKIO_RUN") {
        let iters = std::env::var("VS_TOKIO_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let rt = tokio_rt();
        let Some(mut f) = routine(&id, &rt) else {
            eprintln!("vs_tokio: unknown routine {id}");
            std::process::exit(2);
        };
        let t = f(iters);
        println!("{id}: {iters} iterations in {t:?}");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
