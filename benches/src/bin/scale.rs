//! Memory and scale of blocked calls: N tamed calls, N tokio tasks or N OS threads, each
//! blocked on a one-shot wake-up, then woken and completed.
//!
//! Run one variant per process (so its RSS is its own), e.g.
//! `cargo run --release -p tame-benches --bin scale -- --which tame --n 1000000`;
//! `benches/scale.sh` runs them all and prints a table. `--help` for the options.
//!
//! Every variant does the same thing per call: keep `id` in a local, wait for a one-shot
//! wake-up held by the driver, then report the local through a `done` handle to one shared
//! receiver, which the driver sums.
//!
//! | variant | the call | wake-up held by the driver | `done` |
//! |---|---|---|---|
//! | tame | `#[tamed] fn waiter` | the `Event<()>` of its `mkevent!()` | `Event<u32>` of a shared `Rendezvous` |
//! | tokio | `spawn_local(waiter(..))` on current_thread + `LocalSet` | `oneshot::Sender<()>` | `mpsc::UnboundedSender<u32>` clone |
//! | thread | `std::thread::spawn` | `std::sync::mpsc::Sender<()>` | `std::sync::mpsc::Sender<u32>` clone |
//!
//! Output: human-readable lines, then one line `RESULT key=value …` for scripts.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tame::{Event, Rendezvous, tamed};

// ---------------------------------------------------------------------------------------------
// A counting allocator: bytes and blocks live, and the sizes of the next few allocations.

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);
/// While set, the sizes of allocations are recorded in `SIZES` (one thread only).
static RECORD: AtomicBool = AtomicBool::new(false);
static SIZES: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];
static NSIZES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(l.size(), Relaxed);
        LIVE_BLOCKS.fetch_add(1, Relaxed);
        if RECORD.load(Relaxed) {
            let k = NSIZES.fetch_add(1, Relaxed);
            if k < SIZES.len() {
                SIZES[k].store(l.size(), Relaxed);
            }
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE_BYTES.fetch_sub(l.size(), Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(n, Relaxed);
        LIVE_BYTES.fetch_sub(l.size(), Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn heap() -> (usize, usize) {
    (LIVE_BYTES.load(Relaxed), LIVE_BLOCKS.load(Relaxed))
}

/// Records the sizes of the allocations `f` makes (at most 8).
fn alloc_sizes(f: impl FnOnce()) -> Vec<usize> {
    NSIZES.store(0, Relaxed);
    RECORD.store(true, Relaxed);
    f();
    RECORD.store(false, Relaxed);
    let n = NSIZES.load(Relaxed).min(SIZES.len());
    SIZES[..n].iter().map(|s| s.load(Relaxed)).collect()
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn rss() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// What one run measured.
#[derive(Default)]
struct Report {
    /// Heap bytes allocated and not freed while all N calls are blocked, per call.
    heap_per_call: f64,
    /// Heap blocks live per call, same moment.
    blocks_per_call: f64,
    /// VmRSS growth from the baseline to "all N blocked", per call.
    rss_per_call: f64,
    /// VmRSS with all N blocked.
    rss_blocked: usize,
    /// Sizes of the allocations made by one call, measured apart (warm).
    one_call_allocs: Vec<usize>,
    /// Bytes of the locals live across the wait.
    live_locals: usize,
    /// Bytes of the wake-up handle the driver keeps per call (in its pre-sized vector).
    handle: usize,
    create: Duration,
    complete: Duration,
    sum: u64,
}

struct Baseline {
    heap: (usize, usize),
    rss: usize,
}

fn baseline() -> Baseline {
    Baseline {
        heap: heap(),
        rss: rss().0,
    }
}

fn blocked(b: &Baseline, n: usize, r: &mut Report) {
    let (bytes, blocks) = heap();
    let rss_now = rss().0;
    r.heap_per_call = (bytes - b.heap.0) as f64 / n as f64;
    r.blocks_per_call = (blocks - b.heap.1) as f64 / n as f64;
    r.rss_per_call = rss_now.saturating_sub(b.rss) as f64 / n as f64;
    r.rss_blocked = rss_now;
}

// ---------------------------------------------------------------------------------------------
// tame

type Wakes = Rc<RefCell<Vec<Event<()>>>>;

/// A realistic blocked call: a local kept across the wait, an event handed out, a result out.
#[tamed]
fn waiter(id: u32, wakes: Wakes, done: Event<u32>) {
    let x = id;
    twait! { wakes.borrow_mut().push(mkevent!()); }
    done.trigger(x);
}

fn run_tame(n: usize) -> Report {
    let mut r = Report {
        // Live across the wait: `x` and `done`.
        live_locals: size_of::<u32>() + size_of::<Event<u32>>(),
        handle: size_of::<Event<u32>>(),
        ..Report::default()
    };
    // Warm the runtime's tables (two rounds), and measure one call's allocations apart.
    {
        let wakes: Wakes = Rc::new(RefCell::new(Vec::with_capacity(16)));
        let done: Rendezvous<(), u32> = Rendezvous::new();
        for round in 0..2 {
            tame::run(|| {
                for i in 0..if round == 0 { 16 } else { 8 } {
                    waiter(i, wakes.clone(), done.event(()));
                }
                if round == 1 {
                    r.one_call_allocs = alloc_sizes(|| waiter(8, wakes.clone(), done.event(())));
                }
                let all = std::mem::take(&mut *wakes.borrow_mut());
                for e in all {
                    e.trigger(());
                }
            });
            while done.try_join().is_some() {}
        }
    }

    let wakes: Wakes = Rc::new(RefCell::new(Vec::with_capacity(n)));
    let done: Rendezvous<(), u32> = Rendezvous::new();
    let mut t1 = Instant::now();
    tame::run(|| {
        let base = baseline();
        let t0 = Instant::now();
        for i in 0..n {
            waiter(i as u32, wakes.clone(), done.event(()));
        }
        r.create = t0.elapsed();
        blocked(&base, n, &mut r);
        t1 = Instant::now();
        // Wake them all; the loop resumes them once this closure returns.
        let all = std::mem::take(&mut *wakes.borrow_mut());
        for e in all {
            e.trigger(());
        }
    });
    let mut sum = 0u64;
    while let Some(((), x)) = done.try_join() {
        sum += u64::from(x);
    }
    r.complete = t1.elapsed();
    r.sum = sum;
    r
}

// ---------------------------------------------------------------------------------------------
// tokio

thread_local! {
    static STARTED: Cell<usize> = const { Cell::new(0) };
}

async fn tokio_waiter(
    id: u32,
    wake: tokio::sync::oneshot::Receiver<()>,
    done: tokio::sync::mpsc::UnboundedSender<u32>,
) {
    let x = id;
    STARTED.with(|s| s.set(s.get() + 1));
    let _ = wake.await;
    let _ = done.send(x);
}

fn run_tokio(n: usize) -> Report {
    use tokio::sync::{mpsc, oneshot};
    let mut r = Report {
        // Live across the wait: `x`, `done`, and the receiver being awaited.
        live_locals: size_of::<u32>()
            + size_of::<mpsc::UnboundedSender<u32>>()
            + size_of::<oneshot::Receiver<()>>(),
        handle: size_of::<oneshot::Sender<()>>(),
        ..Report::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<u32>();
    // Warm, and one call's allocations apart.
    local.block_on(&rt, async {
        let mut wakes = Vec::with_capacity(16);
        for round in 0..2 {
            for i in 0..if round == 0 { 16 } else { 8 } {
                let (tx, rx) = oneshot::channel();
                wakes.push(tx);
                drop(tokio::task::spawn_local(tokio_waiter(
                    i,
                    rx,
                    done_tx.clone(),
                )));
            }
            if round == 1 {
                let d = done_tx.clone();
                r.one_call_allocs = alloc_sizes(|| {
                    let (tx, rx) = oneshot::channel();
                    wakes.push(tx);
                    drop(tokio::task::spawn_local(tokio_waiter(8, rx, d)));
                });
            }
            let k = wakes.len();
            while STARTED.with(Cell::get) < k {
                tokio::task::yield_now().await;
            }
            for tx in wakes.drain(..) {
                let _ = tx.send(());
            }
            for _ in 0..k {
                done_rx.recv().await;
            }
            STARTED.with(|s| s.set(0));
        }
    });
    STARTED.with(|s| s.set(0));

    let mut wakes: Vec<oneshot::Sender<()>> = Vec::with_capacity(n);
    local.block_on(&rt, async {
        let base = baseline();
        let t0 = Instant::now();
        for i in 0..n {
            let (tx, rx) = oneshot::channel();
            wakes.push(tx);
            drop(tokio::task::spawn_local(tokio_waiter(
                i as u32,
                rx,
                done_tx.clone(),
            )));
        }
        // spawn_local only queues: let every task run to its wait.
        while STARTED.with(Cell::get) < n {
            tokio::task::yield_now().await;
        }
        r.create = t0.elapsed();
        blocked(&base, n, &mut r);
        let t1 = Instant::now();
        for tx in wakes.drain(..) {
            let _ = tx.send(());
        }
        let mut sum = 0u64;
        for _ in 0..n {
            sum += u64::from(done_rx.recv().await.expect("a value"));
        }
        r.complete = t1.elapsed();
        r.sum = sum;
    });
    r
}

// ---------------------------------------------------------------------------------------------
// OS threads

fn run_threads(n: usize, stack: Option<usize>) -> Report {
    use std::sync::Arc;
    use std::sync::mpsc;
    let mut r = Report {
        live_locals: size_of::<u32>()
            + size_of::<mpsc::Sender<u32>>()
            + size_of::<mpsc::Receiver<()>>(),
        handle: size_of::<mpsc::Sender<()>>(),
        ..Report::default()
    };
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let started = Arc::new(AtomicUsize::new(0));
    let spawn = |id: u32, done: mpsc::Sender<u32>, started: Arc<AtomicUsize>| {
        let (tx, rx) = mpsc::channel::<()>();
        let mut b = std::thread::Builder::new();
        if let Some(s) = stack {
            b = b.stack_size(s);
        }
        let h = b
            .spawn(move || {
                let x = id;
                started.fetch_add(1, Relaxed);
                let _ = rx.recv();
                let _ = done.send(x);
            })
            .expect("spawn a thread");
        drop(h); // detached, as the other variants' calls are
        tx
    };
    // Warm (one thread), and one thread's allocations apart.
    {
        let tx = spawn(0, done_tx.clone(), started.clone());
        let _ = tx.send(());
        done_rx.recv().expect("warm-up");
        let d = done_tx.clone();
        let s = started.clone();
        let mut tx = None;
        r.one_call_allocs = alloc_sizes(|| tx = Some(spawn(0, d, s)));
        let _ = tx.expect("spawned").send(());
        done_rx.recv().expect("warm-up");
        while started.load(Relaxed) < 2 {
            std::thread::yield_now();
        }
        started.store(0, Relaxed);
        std::thread::sleep(Duration::from_millis(50)); // let them exit
    }

    let mut wakes = Vec::with_capacity(n);
    let base = baseline();
    let t0 = Instant::now();
    for i in 0..n {
        wakes.push(spawn(i as u32, done_tx.clone(), started.clone()));
    }
    while started.load(Relaxed) < n {
        std::thread::yield_now();
    }
    r.create = t0.elapsed();
    blocked(&base, n, &mut r);
    let t1 = Instant::now();
    for tx in wakes.drain(..) {
        let _ = tx.send(());
    }
    let mut sum = 0u64;
    for _ in 0..n {
        sum += u64::from(done_rx.recv().expect("a value"));
    }
    r.complete = t1.elapsed();
    r.sum = sum;
    r
}

// ---------------------------------------------------------------------------------------------

const HELP: &str = "\
scale: memory and time of N concurrently blocked calls (tame, tokio, or OS threads)

USAGE: scale [--which tame|tokio|thread] [--n N] [--stack-kib K]

  --which V      tame (default): #[tamed] calls blocked in twait!{}
                 tokio: spawn_local tasks on current_thread + LocalSet, blocked on a oneshot
                 thread: std threads blocked on std::sync::mpsc
  --n N          number of concurrently blocked calls (default 1000000)
  --stack-kib K  thread variant: stack size of each thread (default: std's 2 MiB)
  -h, --help     this text

Run one variant per process so the RSS figures are its own.
The last line is `RESULT key=value ...` for scripts (bytes, seconds).";

fn main() {
    let mut which = "tame".to_string();
    let mut n = 1_000_000usize;
    let mut stack: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    let usage = |msg: &str| -> ! {
        eprintln!("scale: {msg}\n\n{HELP}");
        std::process::exit(2)
    };
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "-h" | "--help" => {
                println!("{HELP}");
                return;
            }
            "--which" => which = value(),
            "--n" => {
                n = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--n: not a number"))
            }
            "--stack-kib" => {
                let k: usize = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--stack-kib: not a number"));
                stack = Some(k * 1024);
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if n == 0 || n > u32::MAX as usize {
        usage("--n must be in 1..=4294967295");
    }
    let r = match which.as_str() {
        "tame" => run_tame(n),
        "tokio" => run_tokio(n),
        "thread" => run_threads(n, stack),
        other => usage(&format!("--which {other}: expected tame, tokio or thread")),
    };
    let expect = (n as u64 - 1) * n as u64 / 2;
    assert_eq!(r.sum, expect, "every call reported its id");
    let (_, hwm) = rss();
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let one: usize = r.one_call_allocs.iter().sum();
    println!("variant            {which}, n = {n}");
    if which == "thread" {
        let s = stack.map_or("2048 KiB (std default)".to_string(), |s| {
            format!("{} KiB", s / 1024)
        });
        println!("stack reserve      {s} per thread (virtual)");
    }
    println!(
        "one call allocates {:?} = {one} B (requested sizes)",
        r.one_call_allocs
    );
    println!(
        "live locals        {} B; driver's wake-up handle {} B (pre-sized vector, not counted below)",
        r.live_locals, r.handle
    );
    println!(
        "heap while blocked {:.1} B/call in {:.2} blocks/call (allocator, requested sizes)",
        r.heap_per_call, r.blocks_per_call
    );
    println!(
        "RSS while blocked  {:.1} MiB ({:.1} B/call over the baseline); peak (VmHWM) {:.1} MiB",
        mib(r.rss_blocked),
        r.rss_per_call,
        mib(hwm)
    );
    println!(
        "create all         {:.3} s ({:.0} ns/call)",
        r.create.as_secs_f64(),
        r.create.as_nanos() as f64 / n as f64
    );
    println!(
        "complete all       {:.3} s ({:.0} ns/call)",
        r.complete.as_secs_f64(),
        r.complete.as_nanos() as f64 / n as f64
    );
    println!(
        "RESULT which={which} n={n} task_bytes={} allocs={} one_call_bytes={one} live_locals={} handle={} \
         heap_per_call={:.1} blocks_per_call={:.2} rss_per_call={:.1} rss_blocked={} hwm={hwm} \
         create_s={:.6} complete_s={:.6} stack={}",
        r.one_call_allocs.first().copied().unwrap_or(0),
        r.one_call_allocs
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("+"),
        r.live_locals,
        r.handle,
        r.heap_per_call,
        r.blocks_per_call,
        r.rss_per_call,
        r.rss_blocked,
        r.create.as_secs_f64(),
        r.complete.as_secs_f64(),
        stack.unwrap_or(2048 * 1024),
    );
}
