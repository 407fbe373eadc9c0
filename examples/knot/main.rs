//! knot: a static web server on the tame loop, after the paper's Knot; one loop per worker
//! thread (`--workers`, default: one per core).
//!
//! Run: `cargo run --release --example knot`, then open <http://127.0.0.1:8080/>; or
//! `cargo run --release --example knot -- DIR -p 8000` to serve DIR on another port.
//! `--help` lists the options. The book chapter "knot" walks
//! through the connection handler (between the ANCHOR lines below).
//!
//! The shape: [`accept_loop`] accepts connections and starts one [`serve`] call per
//! connection; [`stop_on_signal`] waits for SIGINT or SIGTERM, then drains the connections.
//! [`connection`], which `serve` calls, reads like a thread's main loop (read a request, pin
//! the file in the cache, write the response, unpin, again), but each wait in it is a state of
//! the machine that `#[tamed]` writes, so ten thousand connections cost ten thousand small
//! closures, not ten thousand stacks.
//!
//! With `--workers N` (N > 1), each of N threads runs that loop on a listener of its own, all
//! bound to the same address with `SO_REUSEPORT`; the threads share no state (each has its
//! own cache and connections). The main thread runs a loop of its own that only waits for the
//! signals ([`tell_workers`]) and tells each worker through a socket pair; see [`Stop`].

mod cli;
mod files;
mod http;
#[cfg(test)]
mod props;

use std::cell::{Cell, RefCell};
use std::fs;
use std::io::{self, IoSlice, Read, Seek, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::net::{TcpListener, TcpStream};
use tame::signal::{SIGINT, SIGTERM, at_signal};
use tame::{Lifeline, Rendezvous, Tether, TimedOut, tamed};

use files::{Cache, Found};
use http::{Method, Parse, Request, Status};

/// Bytes read from a socket per `read` call: also what an idle kept-alive connection holds
/// for its input (8 KiB took half as much memory again at 1000 connections, and saved no CPU).
const READ_CHUNK: usize = 4 * 1024;
/// Bytes of a large file read from disk per chunk while streaming it.
const FILE_CHUNK: usize = 64 * 1024;
/// Cached bodies up to this size are copied next to their head, so answers to pipelined
/// requests go out in one write; larger ones are written straight from the cache, with the
/// head, in one `writev` (a copy costs more than a second slice beyond a few KiB).
const COPY_MAX: usize = 4 * 1024;
/// Answers to pipelined requests are queued up to this many bytes before they are written.
const QUEUE_MAX: usize = 64 * 1024;
/// Connections accepted in one go before the accept loop lets other work run.
const ACCEPT_BATCH: usize = 64;
/// How long the accept loop backs off when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// At most this long and this many bytes are read and discarded when closing a connection
/// whose client may still be sending (see [`linger`]).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

/// What every connection of one loop shares: the options, the cache, the count of open
/// connections.
struct Server {
    opts: cli::Options,
    /// How its lines on stderr start: `knot`, or `knot: worker 2` with `--workers` 2 or more.
    tag: String,
    /// With `--workers` 2 or more: the answers this worker sent (said when it has drained).
    answered: Option<Cell<u64>>,
    cache: RefCell<Cache>,
    /// Connections open now (each held by a [`Slot`]); at most `opts.max_conns`.
    open: Cell<usize>,
    /// When a file that exists could last not be read (reported once per burst).
    unreadable_since: Cell<Option<std::time::Instant>>,
    /// One entry per open connection (indexed by its [`Slot`]): its lifeline, and since when
    /// it is idle (waiting for its next request; 0: busy). At `--max-conns`, dropping the
    /// lifeline of the one idle the longest ends it, to serve a newcomer.
    lines: RefCell<Vec<Option<Line>>>,
    /// Free indices of `lines`.
    free_lines: RefCell<Vec<usize>>,
    /// The stamp the next connection to go idle gets (so the oldest has the smallest).
    idle_seq: Cell<u64>,
    /// SIGINT or SIGTERM came: no keep-alive, and a connection that would wait for its next
    /// request closes instead.
    draining: Cell<bool>,
    /// While draining: triggered when the last connection closes.
    drained: RefCell<Option<tame::Event<()>>>,
}

/// A connection's entry in [`Server::lines`].
struct Line {
    life: tame::Lifeline,
    idle_since: u64,
}

/// One of the `--max-conns` places, held by a connection for as long as it is open.
struct Slot {
    srv: Rc<Server>,
    /// Its entry in [`Server::lines`].
    line: usize,
}

/// How long a burst of unreadable files lasts for reporting: one line per burst.
const UNREADABLE_QUIET: std::time::Duration = std::time::Duration::from_secs(10);

impl Server {
    /// A file exists but could not be read (out of file descriptors, say): the client gets
    /// a 503, and stderr one line per burst (a burst ends after `UNREADABLE_QUIET` without
    /// such a failure), as nginx reports `open() failed`.
    fn unreadable(&self, e: &io::Error) {
        let now = tame::now();
        let quiet = self
            .unreadable_since
            .get()
            .is_none_or(|t| now.saturating_duration_since(t) >= UNREADABLE_QUIET);
        if quiet {
            say(format_args!(
                "{}: cannot read a file that exists ({e}); answering 503 (reported once per burst)",
                self.tag
            ));
        }
        self.unreadable_since.set(Some(now));
    }

    /// Marks the connection of `slot` idle (waiting for its next request) or busy again: two
    /// writes, no allocation (this runs twice per request).
    fn set_idle(&self, slot: &Slot, idle: bool) {
        let stamp = if idle {
            let k = self.idle_seq.get() + 1;
            self.idle_seq.set(k);
            k
        } else {
            0
        };
        if let Some(Some(line)) = self.lines.borrow_mut().get_mut(slot.line) {
            line.idle_since = stamp;
        }
    }

    /// Ends the connection idle the longest, if any: its lifeline is dropped, which ends it
    /// where it waits (its slot is free when this returns). A scan of the open connections,
    /// only when all the slots are taken.
    fn evict_idle(&self) -> bool {
        let oldest = {
            let mut lines = self.lines.borrow_mut();
            let i = lines
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    l.as_ref()
                        .filter(|l| l.idle_since > 0)
                        .map(|l| (l.idle_since, i))
                })
                .min()
                .map(|(_, i)| i);
            i.and_then(|i| lines[i].take())
        };
        // Dropped outside the borrow: ending the connection drops its locals, its slot too.
        oldest.is_some()
    }

    /// Takes a connection slot, or `None` if all are taken.
    fn slot(self: &Rc<Self>) -> Option<Slot> {
        let n = self.open.get();
        if n >= self.opts.max_conns {
            return None;
        }
        self.open.set(n + 1);
        let line = Line {
            life: tame::Lifeline::new(),
            idle_since: 0,
        };
        let mut lines = self.lines.borrow_mut();
        let i = match self.free_lines.borrow_mut().pop() {
            Some(i) => {
                lines[i] = Some(line);
                i
            }
            None => {
                lines.push(Some(line));
                lines.len() - 1
            }
        };
        Some(Slot {
            srv: self.clone(),
            line: i,
        })
    }

    /// Ends every connection idle between requests (draining starts): their lifelines are
    /// dropped. Returns how many.
    fn close_idle(&self) -> usize {
        let idle: Vec<Line> = {
            let mut lines = self.lines.borrow_mut();
            let idle = lines
                .iter_mut()
                .filter(|l| l.as_ref().is_some_and(|l| l.idle_since > 0));
            idle.filter_map(Option::take).collect()
        };
        idle.len() // dropped here, outside the borrow: each ends its connection
    }

    /// Ends every connection still open (the grace period is over). Returns how many.
    fn cut_all(&self) -> usize {
        let all: Vec<Line> = self
            .lines
            .borrow_mut()
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        all.len()
    }

    /// A tether to the lifeline of the connection of `slot`.
    fn tether(&self, slot: &Slot) -> Option<tame::Tether> {
        self.lines.borrow()[slot.line]
            .as_ref()
            .map(|l| l.life.tether())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let open = self.srv.open.get() - 1;
        self.srv.open.set(open);
        let line = self.srv.lines.borrow_mut()[self.line].take();
        self.srv.free_lines.borrow_mut().push(self.line);
        drop(line); // outside the borrow (the connection is ending anyway)
        if open == 0 {
            let drained = self.srv.drained.borrow_mut().take();
            if let Some(e) = drained {
                e.trigger(());
            }
        }
    }
}

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Cli::Run(o)) => o,
        Ok(cli::Cli::Help) => {
            print!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Ok(cli::Cli::Version) => {
            println!("knot {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("knot: {e}");
            return ExitCode::from(2);
        }
    };
    let cache = match Cache::new(&opts.root, opts.cache_bytes) {
        Ok(c) => c,
        Err(e) if opts.root == cli::default_root() => {
            // The binary outlived, or moved away from, the tree it was built in.
            eprintln!(
                "knot: the default root {}: {e}; give the directory to serve: knot DIR",
                opts.root.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("knot: cannot serve {}: {e}", opts.root.display());
            return ExitCode::FAILURE;
        }
    };
    let listeners = match listen(opts.addr, opts.backlog, opts.workers) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("knot: cannot listen on {}: {e}", opts.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = listeners[0].local_addr().unwrap_or(opts.addr);
    let root = cache.root().to_path_buf();
    if opts.workers > 1 {
        drop(cache); // each worker makes its own
        eprintln!(
            "knot: serving {} at http://{addr}/ with {} workers",
            root.display(),
            opts.workers
        );
        return run_workers(opts, &root, listeners);
    }
    eprintln!("knot: serving {} at http://{addr}/", root.display());
    let Some(listener) = listeners.into_iter().next() else {
        unreachable!("one listener per worker")
    };
    let srv = Server::new(opts, "knot".into(), cache, false);
    run_loop(srv, listener, Stop::Signals);
    // The loop ended: a signal came and every connection has closed.
    ExitCode::SUCCESS
}

impl Server {
    fn new(opts: cli::Options, tag: String, cache: Cache, count: bool) -> Rc<Server> {
        Rc::new(Server {
            opts,
            tag,
            answered: count.then(|| Cell::new(0)),
            cache: RefCell::new(cache),
            open: Cell::new(0),
            unreadable_since: Cell::new(None),
            lines: RefCell::new(Vec::new()),
            free_lines: RefCell::new(Vec::new()),
            idle_seq: Cell::new(0),
            draining: Cell::new(false),
            drained: RefCell::new(None),
        })
    }
}

/// Serves on `listener` until told to stop by `stop`, then drains; returns when every
/// connection has closed.
fn run_loop(srv: Rc<Server>, listener: std::net::TcpListener, stop: Stop) {
    tame::run(move || {
        let listener = TcpListener::from_mio(mio::net::TcpListener::from_std(listener));
        // The accept loop is tethered to `accepting`, which `stop_on_signal` drops.
        let accepting = Lifeline::new();
        accept_loop(listener, srv.clone(), accepting.tether());
        stop_on_signal(srv, accepting, stop);
    });
}

/// How a loop learns that SIGINT or SIGTERM came.
///
/// Signal handlers are the process's, not a thread's. With one loop, it catches the signals
/// itself ([`tame::signal::at_signal`]). With several, the main thread catches them (its
/// loop runs [`tell_workers`] and nothing else) and writes the signal's number to one socket
/// pair per worker; each worker waits readable on its end. So every worker hears of the
/// signal, even one that comes while the workers are starting, and the main thread, which
/// cancels its registration after the first signal as a single loop does, leaves a second one
/// to its default action (knot ends at once).
enum Stop {
    /// Catch SIGINT and SIGTERM on this loop (`--workers 1`).
    Signals,
    /// Wait for the signal's number on this socket (non-blocking; `--workers` 2 or more).
    Told(UnixStream),
}

// ANCHOR: workers
/// `--workers` 2 or more: starts one thread per listener, each running its own loop with its
/// own [`Server`] (cache and connection limits: a share of the options'), then waits for
/// SIGINT or SIGTERM, tells every worker, and returns once all have drained.
fn run_workers(opts: cli::Options, root: &Path, listeners: Vec<std::net::TcpListener>) -> ExitCode {
    let n = listeners.len();
    let mut tells = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    for (i, listener) in listeners.into_iter().enumerate() {
        let (tell, told) = match UnixStream::pair().and_then(|(a, b)| {
            b.set_nonblocking(true)?;
            Ok((a, b))
        }) {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("knot: cannot start worker {}: {e}", i + 1);
                return ExitCode::FAILURE;
            }
        };
        let mut opts = opts.clone();
        opts.cache_bytes = share(opts.cache_bytes, n, i);
        opts.max_conns = share(opts.max_conns, n, i).max(1);
        let root = root.to_path_buf();
        let thread = std::thread::Builder::new()
            .name(format!("knot-worker-{}", i + 1))
            .spawn(move || worker(i + 1, opts, root, listener, told));
        match thread {
            Ok(t) => threads.push(t),
            Err(e) => {
                eprintln!("knot: cannot start worker {}: {e}", i + 1);
                return ExitCode::FAILURE;
            }
        }
        tells.push(tell);
    }
    tame::run(move || tell_workers(tells));
    for t in threads {
        // A worker that panicked has ended the process already (see `worker`).
        let _ = t.join();
    }
    say(format_args!("knot: every worker drained; exiting"));
    ExitCode::SUCCESS
}

/// The `i`-th of `n` even shares of `total` (the first ones get the remainder).
fn share(total: usize, n: usize, i: usize) -> usize {
    total / n + usize::from(i < total % n)
}

/// One worker thread: a loop of its own on `listener`, stopped through `told`.
fn worker(
    id: usize,
    opts: cli::Options,
    root: PathBuf,
    listener: std::net::TcpListener,
    told: UnixStream,
) {
    let tag = format!("knot: worker {id}");
    let cache = match Cache::new(&root, opts.cache_bytes) {
        Ok(c) => c,
        Err(e) => {
            say(format_args!("{tag}: cannot serve {}: {e}", root.display()));
            std::process::exit(1);
        }
    };
    let srv = Server::new(opts, tag, cache, true);
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_loop(srv, listener, Stop::Told(told))
    }));
    if ran.is_err() {
        // As a panic on the only loop of `--workers 1` does (the message is printed already):
        // the process ends, rather than serving on with fewer workers.
        std::process::exit(101);
    }
}

/// The main thread's loop with `--workers` 2 or more: waits for SIGINT or SIGTERM and writes
/// its number to every worker's socket. Then nothing waits for either signal: a second one
/// ends knot at once.
#[tamed]
fn tell_workers(tells: Vec<UnixStream>) {
    let signals: Rendezvous<i32, ()> = Rendezvous::new();
    at_signal(SIGINT, signals.event(SIGINT));
    at_signal(SIGTERM, signals.event(SIGTERM));
    let Some((signo, ())) = twait!(signals) else {
        return;
    };
    signals.cancel();
    for mut t in &tells {
        // One byte into an empty socket buffer: this does not block.
        let _ = t.write_all(&[signo as u8]);
    }
}
// ANCHOR_END: workers

/// `workers` listeners on `addr`, each with a kernel queue of `backlog` connections not yet
/// accepted. Made as `TcpListener::bind` makes one (`SO_REUSEADDR`, non-blocking,
/// close-on-exec), but that one's backlog is mio's fixed 1024. With more than one, each has
/// `SO_REUSEPORT`, and all are bound to the address the first got (port 0 picks one port for
/// all): the kernel then spreads incoming connections over them by a hash of the client's
/// address and port.
fn listen(
    addr: SocketAddr,
    backlog: i32,
    workers: usize,
) -> io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Socket, Type};
    let mut all = Vec::with_capacity(workers);
    let mut addr = addr;
    for _ in 0..workers {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        sock.set_reuse_address(true)?;
        if workers > 1 {
            sock.set_reuse_port(true)?;
        }
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        sock.listen(backlog)?;
        let std: std::net::TcpListener = sock.into();
        addr = std.local_addr()?;
        all.push(std);
    }
    Ok(all)
}

// ANCHOR: accept
/// Accepts connections until its tether is cut; starts one [`serve`] per connection. Ending,
/// it drops the listener, which closes it: new connections are refused.
#[tamed]
fn accept_loop(listener: TcpListener, srv: Rc<Server>, #[tether] _accepting: Tether) {
    let mut batch = 0;
    let mut starved = false; // backing off after an accept error (reported once)
    loop {
        match listener.try_accept() {
            Ok((sock, peer)) => {
                starved = false;
                // At --max-conns, a connection idle between requests gives way to the newcomer
                // (as nginx does): its lifeline is dropped, which ends it where it waits.
                let slot = match srv.slot() {
                    None if srv.evict_idle() => srv.slot(),
                    slot => slot,
                };
                match slot {
                    Some(slot) => {
                        let _ = sock.set_nodelay(true);
                        serve(sock, peer, slot);
                    }
                    // Over --max-conns: say so and close at once; the listener keeps going.
                    None => refuse(sock),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                batch = 0;
                twait! { listener.readable(mkevent!()); }
            }
            // The client gave up before we accepted it, or a signal came: next one.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) => {}
            // Out of file descriptors (EMFILE, ENFILE), of kernel memory, or anything else:
            // the connection stays in the backlog, and no new readiness edge will come for
            // it. So neither wait for one (we would hang) nor retry at once (we would spin):
            // retry after a pause. Connections that close meanwhile free descriptors.
            Err(e) => {
                if !starved {
                    say(format_args!(
                        "{}: accept: {e}; retrying every {ACCEPT_BACKOFF:?}",
                        srv.tag
                    ));
                    starved = true;
                }
                twait! { tame::timer(ACCEPT_BACKOFF, mkevent!()); }
            }
        }
        batch += 1;
        if batch == ACCEPT_BATCH {
            // Let the connections just started, and everyone else, run before accepting more.
            batch = 0;
            twait! { tame::asap(mkevent!()); }
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: drain
/// Waits for SIGINT or SIGTERM (or, in a worker, for the main thread to say one came: see
/// [`Stop`]). Then stops accepting, closes the connections idle between requests, and lets
/// the others finish the responses under way (with `Connection: close`) for at most
/// `--grace`; the ones still open then are cut. The loop, and so knot, ends when the last
/// connection has closed.
#[tamed]
fn stop_on_signal(srv: Rc<Server>, accepting: Lifeline, stop: Stop) {
    let signals: Rendezvous<i32, ()> = Rendezvous::new();
    match &stop {
        Stop::Signals => {
            at_signal(SIGINT, signals.event(SIGINT));
            at_signal(SIGTERM, signals.event(SIGTERM));
        }
        Stop::Told(told) => tame::readable(told, signals.event(0)),
    }
    let Some((mut signo, ())) = twait!(signals) else {
        return;
    };
    // Nothing waits for either signal now: a second one ends knot at once, as by default.
    signals.cancel();
    if let Stop::Told(mut told) = stop {
        let mut byte = [0u8];
        if matches!((&told).read(&mut byte), Ok(1)) {
            signo = i32::from(byte[0]);
        }
        tame::deregister(&told);
        drop(told);
    }
    drop(accepting); // the accept loop ends where it waits, and its listener closes
    srv.draining.set(true);
    let idle = srv.close_idle();
    let busy = srv.open.get();
    let name = if signo == SIGINT { "SIGINT" } else { "SIGTERM" };
    let grace = srv.opts.grace;
    let tag = srv.tag.clone();
    say(format_args!(
        "{tag}: {name}: no longer accepting; closed {idle} idle connection(s); draining {busy} \
         (for at most {grace:?})"
    ));
    let t0 = Instant::now();
    let mut cut = 0;
    if busy > 0 {
        let mut done = Err(TimedOut);
        twait! { *srv.drained.borrow_mut() = Some(tame::add_timeout(grace, mkevent!(done))); }
        if done.is_err() {
            cut = srv.cut_all();
        }
    }
    let took = t0.elapsed().as_millis();
    // The only loop exits; a worker has answered so many requests, and the main thread exits
    // when every worker has drained.
    let end = match &srv.answered {
        None => "exiting".to_string(),
        Some(n) => format!("answered {} request(s)", n.get()),
    };
    if cut == 0 {
        say(format_args!("{tag}: drained in {took} ms; {end}"));
    } else {
        say(format_args!(
            "{tag}: grace period over after {took} ms: cut {cut} connection(s); {end}"
        ));
    }
}
// ANCHOR_END: drain

/// Answers a connection over the limit with a 503 (best effort: one non-blocking write into
/// an empty send buffer) and closes it.
fn refuse(sock: TcpStream) {
    let mut out = Vec::new();
    http::error(&mut out, Status::Unavailable, 1, false, false);
    let _ = sock.try_write(&out);
    let _ = sock.shutdown(Shutdown::Write);
}

// ANCHOR: serve
/// One connection, from accept to close: the paper's `thread_main`. It makes the connection's
/// buffers and hands them to [`connection`], the tamed function that runs it.
fn serve(sock: TcpStream, peer: SocketAddr, slot: Slot) {
    let srv = slot.srv.clone();
    connection(
        srv,
        Input::default(),
        Outbox::default(),
        Waits::default(),
        peer,
        sock,
        slot,
    );
}

/// The connection's loop, as one tamed function. `srv`, `input` (bytes read and not yet
/// parsed), `out` (answers not yet written, in request order), `waits` (how it waits for the
/// socket or its deadline, whichever comes first: see [`Waits`]) and `peer` come first among
/// the parameters and are only borrowed, so the state machine uses them in place, in its
/// closure, instead of moving them out of a slot and back at every wait.
#[tamed]
fn connection(
    srv: Rc<Server>,
    mut input: Input,
    mut out: Outbox,
    mut waits: Waits,
    peer: SocketAddr,
    sock: TcpStream,
    _slot: Slot,
) {
    // Tied to its lifeline, which the server holds: at `--max-conns` the server may drop it,
    // while this connection is idle, to make room, and that ends this call where it waits.
    if let Some(t) = srv.tether(&_slot) {
        exit_with!(t);
    }
    loop {
        // 1. Read a request. The whole head must arrive within the idle timeout, so a client
        //    that sends nothing, or one byte at a time, is closed on time.
        waits.set_deadline(tame::now() + srv.opts.idle);
        let mut parsed = http::parse(input.bytes());
        while parsed == Parse::Partial {
            // A read that came back short drained the socket: the next one waits first (see
            // `Input::read_from`).
            match input.read_from(&sock, &mut waits) {
                Ok(0) => return, // the client closed the connection
                Ok(_) => {
                    parsed = http::parse(input.bytes());
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
            // Between requests, the connection is idle: evictable while it waits, and closed
            // at once while draining.
            let between_requests = input.bytes().is_empty();
            if between_requests {
                if srv.draining.get() {
                    return;
                }
                srv.set_idle(&_slot, true);
            }
            waits.prepare(Wake::Read, |e| sock.readable(e));
            let woke = twait!(waits.wake);
            if between_requests {
                srv.set_idle(&_slot, false);
            }
            if !waits.go_on(woke) {
                return; // idle timeout: `sock` is dropped, which closes it
            }
        }

        // 2. Pin the file in the cache and queue the answer (the pin is held by `out`).
        let (keep_alive, status) = match parsed {
            Parse::Done(mut req) => {
                // Draining: this is the connection's last answer.
                req.keep_alive &= !srv.draining.get();
                input.consume(req.len);
                let found = match req.method {
                    Method::Get | Method::Head => srv.cache.borrow_mut().lookup(&req.target),
                    Method::Other => Ok(None),
                };
                let found = found.map_err(|e| srv.unreadable(&e));
                let (status, len) = out.respond(&req, found);
                log(&srv, &peer, Some(&req), status, len);
                (req.keep_alive, status)
            }
            Parse::Error(status) => {
                let len = out.error(status);
                log(&srv, &peer, None, status, len);
                (false, status)
            }
            Parse::Partial => unreachable!("the read loop ends on a complete head"),
        };

        // 3. Write. When the next pipelined request is already here, answer it first, so
        //    both answers go out in one write; never queue more than a bounded amount.
        if !keep_alive || out.must_flush() || !http::complete(input.bytes()) {
            while !out.is_empty() {
                match out.write_to(&sock) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        waits.set_deadline(tame::now() + srv.opts.idle);
                        waits.prepare(Wake::Write, |e| sock.writable(e));
                        if !waits.go_on(twait!(waits.wake)) {
                            return; // the client stopped reading
                        }
                    }
                    Err(_) => return,
                }
            }
            // 4. Unpin: `out` is empty, so it dropped its hold on the file.
        }

        if !keep_alive {
            if status != Status::Ok || !input.bytes().is_empty() {
                linger(sock, _slot); // the client may still be sending: see `linger`
            }
            return;
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: waits
/// What woke a connection: its socket (readable, writable), or its timer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wake {
    Read,
    Write,
    Timer,
}

/// How a connection waits for its socket or its deadline, whichever comes first: one
/// rendezvous that the socket's events and one [`tame::Timer`] trigger.
///
/// The timer is armed lazily. Moving the deadline later (each request does) only writes
/// `deadline`; the timer, still armed for an earlier instant, fires early at worst, and is then
/// armed again for the rest. So a busy connection costs one timer per idle period, not a timer
/// set and cancelled per wait, and nothing is allocated per wait. An event of each kind is out
/// at most once: a wake-up the code did not wait for (the socket turned readable while it
/// waited to write, the timer fired early) is a spurious one, and the code tries its read or
/// write again.
#[derive(Default)]
struct Waits {
    wake: Rendezvous<Wake>,
    timer: tame::Timer,
    deadline: Option<Instant>,
    /// The timer holds an event of `wake`, for no later than `deadline`.
    armed: bool,
    /// The socket holds an event of `wake` for readable, for writable.
    reading: bool,
    writing: bool,
    /// The last read came back short (or would block), and the socket has not woken the
    /// connection for readable since: there is nothing to read until it does.
    drained: bool,
}

impl Waits {
    /// The deadline is now `at`, never earlier than the last one (the timer may be armed for
    /// that one, and fires early at worst).
    fn set_deadline(&mut self, at: Instant) {
        self.deadline = Some(at);
    }

    /// Before a wait for `kind` (`Read` or `Write`): hands `register` (the socket's
    /// `readable` or `writable`) an event for it, unless one is out already, and makes sure
    /// the timer will wake the connection by its deadline.
    fn prepare(&mut self, kind: Wake, register: impl FnOnce(tame::Event<()>)) {
        let out = match kind {
            Wake::Read => &mut self.reading,
            Wake::Write => &mut self.writing,
            Wake::Timer => unreachable!("a connection waits for its socket"),
        };
        if !*out {
            *out = true;
            register(self.wake.event(kind));
        }
        if !self.armed
            && let Some(at) = self.deadline
        {
            self.armed = true;
            self.timer.arm(at, self.wake.event(Wake::Timer));
        }
    }

    /// After `twait!(wake)`: whether to try the read or write again (`false`: the deadline
    /// passed, or no event is left to wake the connection).
    fn go_on(&mut self, woke: Option<(Wake, ())>) -> bool {
        match woke {
            Some((Wake::Read, ())) => (self.reading, self.drained) = (false, false),
            Some((Wake::Write, ())) => self.writing = false,
            Some((Wake::Timer, ())) => {
                self.armed = false;
                return self.deadline.is_some_and(|at| tame::now() < at);
            }
            None => return false,
        }
        true
    }
}
// ANCHOR_END: waits

/// Closes a connection whose client may still be sending (an oversized or refused request).
///
/// Closing a socket with unread input makes the kernel send a reset, and a reset can destroy
/// the error response before the client has read it. So: send FIN, then read and discard
/// until the client closes too, for at most [`LINGER_TIME`] and [`LINGER_BYTES`].
#[tamed]
fn linger(sock: TcpStream, slot: Slot) {
    // Still the connection's: cut with it when the grace period after a signal is over.
    if let Some(t) = slot.srv.tether(&slot) {
        exit_with!(t);
    }
    let _ = sock.shutdown(Shutdown::Write);
    let deadline = tame::now() + LINGER_TIME;
    let mut scratch = Vec::new();
    let mut discarded = 0;
    while discarded < LINGER_BYTES {
        scratch.clear();
        match read_some(&sock, &mut scratch) {
            Ok(0) => break,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut ready = Err(TimedOut);
                let left = deadline.saturating_duration_since(tame::now());
                twait! { sock.readable(tame::add_timeout(left, mkevent!(ready))); }
                if ready.is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    drop(slot); // the connection counts against --max-conns until here
}

/// Bytes read from a connection and not yet parsed: `buf[start..end]`. The buffer is
/// zero-filled only when it grows, never per read, and compacted when room runs short.
#[derive(Default)]
struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Input {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Forgets the first `n` unparsed bytes (a request that was answered).
    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
    }

    /// One `read` from `sock` after the unparsed bytes; `Ok(0)` is end of stream.
    ///
    /// A read that returns less than it asked for has drained the socket (new data brings a
    /// new readiness edge; TCP urgent data, which HTTP does not use, is the exception), so
    /// until the socket wakes the connection again (`waits`), this returns `WouldBlock`
    /// without a system call: the read that would only say `WouldBlock` is saved, one per
    /// keep-alive request. A client's close that came with its last data still wakes the
    /// wait: the runtime remembers a close, and every later wait fires.
    fn read_from(&mut self, sock: &TcpStream, waits: &mut Waits) -> io::Result<usize> {
        if waits.drained {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.buf.len() - self.end < READ_CHUNK {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.buf.len() - self.end < READ_CHUNK {
                self.buf.resize(self.end + READ_CHUNK, 0);
            }
        }
        let room = self.buf.len() - self.end;
        let r = sock.try_read(&mut self.buf[self.end..]);
        waits.drained = match r {
            Ok(n) => n < room,
            Err(ref e) => e.kind() == io::ErrorKind::WouldBlock,
        };
        let n = r?;
        self.end += n;
        Ok(n)
    }
}

/// Appends what the socket has to `buf` (one `read`); `Ok(0)` is end of stream.
fn read_some(sock: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let old = buf.len();
    buf.resize(old + READ_CHUNK, 0);
    let r = sock.try_read(&mut buf[old..]);
    buf.truncate(old + *r.as_ref().unwrap_or(&0));
    r
}

/// Counts an answer (a worker's, with `--workers` 2 or more); one line per request on stderr,
/// with `--log`.
fn log(srv: &Server, peer: &SocketAddr, req: Option<&Request>, status: Status, len: u64) {
    if let Some(n) = &srv.answered {
        n.set(n.get() + 1);
    }
    if !srv.opts.log {
        return;
    }
    match req {
        Some(r) => say(format_args!(
            "{peer} \"{} {} HTTP/1.{}\" {} {len}",
            r.method.as_str(),
            r.target.escape_debug(),
            r.minor,
            status.code()
        )),
        None => say(format_args!("{peer} \"-\" {} {len}", status.code())),
    }
}

/// A line on stderr. Unlike `eprintln!`, it does not panic when stderr is gone (a closed
/// pipe): the server keeps serving.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// The body part of an [`Outbox`], written after its bytes.
#[derive(Default)]
enum Body {
    #[default]
    None,
    /// A cached file, pinned until written; the offset of the next byte to write, and the end
    /// of what is sent (the file's length, or a range's end).
    Pinned(Rc<files::File>, usize, usize),
    /// A file too large to cache, read in [`FILE_CHUNK`]s; the bytes still to read.
    Stream(fs::File, u64),
}

/// Answers not yet written, in request order: bytes (heads and small bodies), then at most
/// one large body. Its size is bounded: at most [`QUEUE_MAX`] bytes plus one answer, and a
/// streamed file is held in memory one chunk at a time.
#[derive(Default)]
struct Outbox {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    sent: usize,
    body: Body,
}

impl Outbox {
    fn is_empty(&self) -> bool {
        self.sent == self.buf.len() && matches!(self.body, Body::None)
    }

    /// Whether the queue must be written before another answer is added.
    fn must_flush(&self) -> bool {
        !matches!(self.body, Body::None) || self.buf.len() >= QUEUE_MAX
    }

    /// Queues the answer to `req`, whose file (if any) was looked up as `found`.
    /// Returns the status and the length of the body.
    /// `found`: the file, `Ok(None)` for none (404), `Err(())` for one that exists but could
    /// not be read (503).
    fn respond(&mut self, req: &Request, found: Result<Option<Found>, ()>) -> (Status, u64) {
        let head_only = req.method == Method::Head;
        if req.method == Method::Other {
            let len = http::error(
                &mut self.buf,
                Status::MethodNotAllowed,
                req.minor,
                req.keep_alive,
                false,
            );
            return (Status::MethodNotAllowed, len);
        }
        let Ok(found) = found else {
            let len = http::error(
                &mut self.buf,
                Status::Unavailable,
                req.minor,
                false,
                head_only,
            );
            return (Status::Unavailable, len);
        };
        let Some(found) = found else {
            let len = http::error(
                &mut self.buf,
                Status::NotFound,
                req.minor,
                req.keep_alive,
                head_only,
            );
            return (Status::NotFound, len);
        };
        let (ctype, len) = match &found {
            Found::Cached(f) => (f.content_type, f.body.len() as u64),
            Found::Stream(_, len, ctype) => (*ctype, *len),
            Found::Directory => {
                // `/sub?q` → `/sub/?q`: the path as sent, with its slash.
                let (path, query) = match req.target.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (req.target.as_str(), None),
                };
                let location = match query {
                    Some(q) => format!("{path}/?{q}"),
                    None => format!("{path}/"),
                };
                let len = http::moved(
                    &mut self.buf,
                    &location,
                    req.minor,
                    req.keep_alive,
                    head_only,
                );
                return (Status::MovedPermanently, len);
            }
        };
        // A GET with one byte range gets that range (206), or 416 if the file has no byte of
        // it; a HEAD, and any other shape of Range, get the whole file. (A streamed file is
        // positioned at the range's start first.)
        let range = match req.range {
            Some(r) if !head_only => Some(r.resolve(len)),
            _ => None,
        };
        let mut found = found;
        if let (Some(Some((start, _))), Found::Stream(file, ..)) = (range, &mut found)
            && file.seek(io::SeekFrom::Start(start)).is_err()
        {
            let n = http::error(&mut self.buf, Status::Unavailable, req.minor, false, false);
            return (Status::Unavailable, n);
        }
        // The client's copy is current: 304, no body (RFC 9110 §13.2.2).
        let validators = found.validators();
        if let Some(v) = &validators
            && v.not_modified(req)
        {
            let n = http::not_modified(&mut self.buf, req.minor, v, req.keep_alive);
            return (Status::NotModified, n);
        }
        let (status, start, end) = match range {
            None => {
                http::head(
                    &mut self.buf,
                    Status::Ok,
                    req.minor,
                    ctype,
                    len,
                    req.keep_alive,
                );
                (Status::Ok, 0, len)
            }
            Some(None) => {
                let n = http::unsatisfiable(&mut self.buf, req.minor, len, req.keep_alive, false);
                return (Status::RangeNotSatisfiable, n);
            }
            Some(Some((start, end))) => {
                let span = (start, end, len);
                http::partial_head(&mut self.buf, req.minor, ctype, span, req.keep_alive);
                (Status::PartialContent, start, end)
            }
        };
        if let Some(v) = validators {
            http::add_validators(&mut self.buf, &v);
        }
        if !head_only {
            let (start, end) = (start as usize, end as usize);
            match found {
                Found::Cached(f) if end - start <= COPY_MAX => {
                    self.buf.extend_from_slice(&f.body[start..end])
                }
                Found::Cached(f) => self.body = Body::Pinned(f, start, end),
                // (Positioned at `start` above.)
                Found::Stream(file, _, _) => self.body = Body::Stream(file, (end - start) as u64),
                Found::Directory => unreachable!("answered with a redirect above"),
            }
        }
        (status, end - start)
    }

    /// Queues an error answer to a request that could not be parsed (the connection closes).
    fn error(&mut self, status: Status) -> u64 {
        http::error(&mut self.buf, status, 1, false, false)
    }

    /// Writes until everything is written (`Ok`) or the socket is full (`WouldBlock`).
    fn write_to(&mut self, sock: &TcpStream) -> io::Result<()> {
        loop {
            let pending = &self.buf[self.sent..];
            let n = match &mut self.body {
                Body::Pinned(f, off, end) => {
                    if *off == *end && pending.is_empty() {
                        self.body = Body::None; // unpin
                        continue;
                    }
                    let bufs = [IoSlice::new(pending), IoSlice::new(&f.body[*off..*end])];
                    let n = sock.try_write_vectored(&bufs)?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    let from_buf = n.min(pending.len());
                    *off += n - from_buf;
                    from_buf
                }
                _ if !pending.is_empty() => match sock.try_write(pending)? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => n,
                },
                Body::Stream(file, left) if *left > 0 => {
                    // Refill from disk only when the previous chunk is out: backpressure.
                    let want = (*left).min(FILE_CHUNK as u64) as usize;
                    self.buf.resize(want, 0);
                    self.sent = 0;
                    let got = file.read(&mut self.buf)?;
                    if got == 0 {
                        // The file shrank under us: the promised length cannot be met.
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    self.buf.truncate(got);
                    *left -= got as u64;
                    continue;
                }
                _ => {
                    self.buf.clear();
                    self.sent = 0;
                    self.body = Body::None;
                    if self.buf.capacity() > QUEUE_MAX + FILE_CHUNK {
                        self.buf = Vec::new();
                    }
                    return Ok(());
                }
            };
            self.sent += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_add_up_to_the_total_and_differ_by_at_most_one() {
        for total in [0, 1, 2, 3, 7, 10_000, 64 << 20] {
            for n in 1..=9 {
                let s: Vec<usize> = (0..n).map(|i| share(total, n, i)).collect();
                assert_eq!(s.iter().sum::<usize>(), total, "{total} / {n}");
                let (lo, hi) = (s.iter().min().unwrap(), s.iter().max().unwrap());
                assert!(hi - lo <= 1, "{total} / {n}: {s:?}");
            }
        }
    }
}
