//! Runtime micro benchmarks: the cost of the primitives every tamed call is made of.
//!
//! Run: `cargo bench -p tame-benches --bench runtime`. Each figure is per operation.
use std::cell::Cell;
use std::hint::black_box;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tame::net::{BufReader, TcpListener, TcpStream, read_some};
use tame::{Rendezvous, tamed};

/// Make an event on an existing rendezvous, trigger it, join it (no loop involved).
fn make_trigger_join(c: &mut Criterion) {
    let r: Rendezvous<u32, u64> = Rendezvous::new();
    c.bench_function("make_trigger_join", |b| {
        b.iter(|| {
            let e = r.event(black_box(1));
            e.trigger(black_box(2));
            black_box(r.try_join())
        })
    });
}

/// Two calls wake each other through the loop: one trigger -> run queue -> resume per step.
fn ping_pong(steps: u64) -> Duration {
    tame_benches::ping_pong(tame_benches::hand_player, steps)
}

fn trigger_resume(c: &mut Criterion) {
    c.bench_function("trigger_resume", |b| b.iter_custom(ping_pong));
}

/// Insert one timer while `pending` others are pending (inserted far in the future).
fn timer_insert(c: &mut Criterion) {
    for pending in [1_000usize, 1_000_000] {
        let base: Rendezvous<(), ()> = Rendezvous::new();
        let far = Duration::from_secs(3600);
        for i in 0..pending {
            tame::timer(
                far + Duration::from_micros(i as u64 * 7919 % 1_000_000),
                base.event(()),
            );
        }
        c.bench_function(&format!("timer_insert/{pending}_pending"), |b| {
            b.iter_custom(|iters| {
                let batch: Rendezvous<(), ()> = Rendezvous::new();
                let t0 = Instant::now();
                for i in 0..iters {
                    tame::timer(
                        far + Duration::from_micros(i * 104_729 % 1_000_000),
                        batch.event(()),
                    );
                }
                let t = t0.elapsed();
                batch.cancel(); // untimed: back to `pending` timers
                t
            })
        });
        c.bench_function(&format!("timer_insert_cancel/{pending}_pending"), |b| {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            b.iter(|| {
                tame::timer(far, r.event(()));
                r.cancel();
            })
        });
        base.cancel();
    }
}

/// `n` rounds of: the peer writes `len` bytes, `read_some(.., max, ..)` reads them.
#[tamed]
fn read_rounds(
    stream: Rc<TcpStream>,
    peer: Rc<std::net::TcpStream>,
    n: u64,
    (len, max): (usize, usize),
    got: Rc<Cell<usize>>,
) {
    let msg = vec![b'x'; len];
    let mut buf = Vec::with_capacity(max);
    for _ in 0..n {
        (&*peer).write_all(&msg).unwrap();
        let mut res = (Vec::new(), Ok(0));
        twait! { read_some(stream.clone(), buf, max, mkevent!(res)); }
        let (b, n) = res;
        got.set(got.get() + n.unwrap());
        buf = b;
        buf.clear();
    }
}

/// The time this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`), so the time other
/// processes hold the cores is not counted; `None` where the clock cannot be read.
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// One `read_some` of a `len`-byte message on a loopback TCP connection, with room for `max`
/// (the write on the other end included). Measured in the thread's CPU time where it can be
/// read: the system calls dominate, and on a shared machine the wall time is mostly noise.
fn read_some_msgs(c: &mut Criterion) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = Rc::new(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap());
    peer.set_nodelay(true).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let stream = Rc::new(l.try_accept().unwrap().0);
    for (len, max) in [(100, 8 << 10), (100, 64 << 10), (8 << 10, 8 << 10)] {
        c.bench_function(&format!("read_some/{len}B_of_{}KiB", max >> 10), |b| {
            b.iter_custom(|iters| {
                let got = Rc::new(Cell::new(0));
                let (t0, cpu0) = (Instant::now(), thread_cpu_time());
                tame::run(|| {
                    read_rounds(stream.clone(), peer.clone(), iters, (len, max), got.clone())
                });
                let t = match (cpu0, thread_cpu_time()) {
                    (Some(a), Some(b)) => b - a,
                    _ => t0.elapsed(),
                };
                // Reads may merge writes, but nothing is lost.
                assert!(got.get() <= len * iters as usize);
                t
            })
        });
    }
}

/// `n` rounds of: the peer writes a line of `len` bytes, `BufReader::read_line` reads it.
#[tamed]
fn line_rounds(
    reader: BufReader,
    peer: Rc<std::net::TcpStream>,
    n: u64,
    len: usize,
    got: Rc<Cell<usize>>,
) {
    let mut msg = vec![b'x'; len - 1];
    msg.push(b'\n');
    for _ in 0..n {
        (&*peer).write_all(&msg).unwrap();
        let mut line = Ok(String::new());
        twait! { reader.read_line(mkevent!(line)); }
        got.set(got.get() + line.unwrap().len());
    }
}

/// One `BufReader::read_line` of a 100-byte line on a loopback TCP connection (the write on
/// the other end included), in the thread's CPU time as `read_some` above.
fn read_line_msgs(c: &mut Criterion) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = Rc::new(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap());
    peer.set_nodelay(true).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let reader = BufReader::new(Rc::new(l.try_accept().unwrap().0));
    c.bench_function("buf_reader/read_line_100B", |b| {
        b.iter_custom(|iters| {
            let got = Rc::new(Cell::new(0));
            let (t0, cpu0) = (Instant::now(), thread_cpu_time());
            tame::run(|| line_rounds(reader.clone(), peer.clone(), iters, 100, got.clone()));
            let t = match (cpu0, thread_cpu_time()) {
                (Some(a), Some(b)) => b - a,
                _ => t0.elapsed(),
            };
            assert_eq!(got.get(), 100 * iters as usize);
            t
        })
    });
}

criterion_group!(
    benches,
    make_trigger_join,
    trigger_resume,
    timer_insert,
    read_some_msgs,
    read_line_msgs
);
criterion_main!(benches);
