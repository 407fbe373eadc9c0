//! # tame: events that read like threads
//!
//! Write sequential code, wait for events with `twait!`, and let `#[tamed]` rewrite the
//! function, at compile time, into an explicit state machine that runs on a single-threaded
//! mio loop. No threads, no `async`/`.await`, no stackful coroutines: the state machine is
//! ordinary code you can read with `cargo expand`.
//!
//! This is a Rust rendition of Tame (Krohn, Kohler, Kaashoek, "Events Can Make Sense",
//! USENIX ATC 2007). The book in `book/` is the guide; this page is the reference.
//!
//! ## The book
//! The repository's `book/` directory is an mdBook: a tutorial (a timer, the paper's three
//! `multidns` versions, a wait in a loop with a timeout, a TCP server), the reference of every
//! macro form and of the scheduling rules, a walk through one real expansion, the demos, the
//! measured costs, and a comparison with Tame, Tamer and `async` Rust. Build it with
//! `mdbook build book` and open `book/build/index.html`, or run `mdbook serve book` to read it
//! in a browser as you edit. Its listings are included from files that `cargo test` builds and
//! runs, or compares with the macro's output.
//!
//! ## A tamed function
//! ```
//! use std::time::Duration;
//! use tame::{Event, Rendezvous, TimedOut, tamed};
//!
//! /// Waits `n` times for a timer, then reports the sum of 0..n.
//! #[tamed]
//! fn slow_sum(n: u32, done: Event<u32>) {
//!     let mut sum = 0;
//!     for i in 0..n {
//!         twait! { tame::timer(Duration::from_millis(1), mkevent!()); }
//!         sum += i;
//!     }
//!     done.trigger(sum);
//! }
//!
//! /// Runs `slow_sum` under a deadline: if the time is up first, `slow_sum`'s `done` loses its
//! /// receiver and `slow_sum` ends where it waits (a tamed call whose `Event` parameters all
//! /// lost their receivers is stopped).
//! #[tamed]
//! fn with_deadline(n: u32, done: Event<Result<u32, TimedOut>>) {
//!     let mut outcome = Err(TimedOut);
//!     twait! { slow_sum(n, tame::add_timeout(Duration::from_secs(5), mkevent!(outcome))); }
//!     done.trigger(outcome);
//! }
//!
//! let r: Rendezvous<(), Result<u32, TimedOut>> = Rendezvous::new();
//! tame::run(|| with_deadline(5, r.event(())));
//! assert_eq!(r.try_join(), Some(((), Ok(10))));
//! ```
//!
//! - `twait! { … }` waits until every event made by `mkevent!` inside it has triggered (or
//!   been dropped); `mkevent!(place)` stores the event's value into `place` when the block
//!   completes.
//! - `twait!(r)` waits for the next `(id, value)` of a [`Rendezvous`], `None` when nothing more
//!   can arrive; `mkevent!(r, id)` is `r.event(id)`.
//! - Every local that is live across a wait is kept automatically, with its type inferred.
//!
//! `twait!`, `mkevent!` and `tvars!` need no import inside a `#[tamed]` function: the attribute
//! finds them by name and rewrites them before they expand (so importing them by name earns an
//! "unused import" warning; `use tame::*` does not). Outside a `#[tamed]` function they are
//! compile errors that say so.
//!
//! ## The runtime without the macro
//! ```
//! use std::time::Duration;
//! use tame::Rendezvous;
//!
//! // Two timers report to one rendezvous; they are joined in the order they fired.
//! let r: Rendezvous<&str, ()> = Rendezvous::new();
//! tame::run(|| {
//!     tame::timer(Duration::from_millis(3), r.event("slow"));
//!     tame::timer(Duration::from_millis(1), r.event("fast"));
//! });
//! assert_eq!(r.try_join(), Some(("fast", ())));
//! assert_eq!(r.try_join(), Some(("slow", ())));
//! assert_eq!(r.try_join(), None);
//! ```
#![deny(missing_docs)]

mod macros;

pub use tame_macros::{main, tamed};
pub use tame_rt::{
    Clock, Event, Lifeline, Rendezvous, Tether, TimedOut, Timer, add_timeout, all, asap, at,
    at_preblock, backtrace, blocked_locations, clock, deregister, extend_event, hangup,
    leak_reports, now, push_back_event, readable, run, run_once, set_clock, timeout_value, timer,
    timer_background, wall_now, with_timeout, writable,
};

/// Non-blocking TCP and UDP sockets on the tame loop, and tamed helpers built on them.
///
/// The sockets' `try_*` calls never block: on `WouldBlock`, wait with `readable` / `writable`
/// and try again. The helpers [`connect`](net::connect), [`accept`](net::accept),
/// [`read_some`](net::read_some) and [`write_all`](net::write_all) do that loop for you, and
/// stop when their `done` event's receiver is cancelled, so they compose with [`add_timeout`].
/// A [`BufReader`](net::BufReader) reads lines, delimited records and exact byte counts, and
/// keeps what arrived when a timeout cancels a read. `bind` and `connect` take any
/// `ToSocketAddrs` (`"localhost:8080"`, say); looking up a host name blocks the loop.
///
/// ```
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use tame::net::{TcpListener, TcpStream, accept, read_some, write_all};
/// use tame::{Event, TimedOut, tamed};
///
/// /// Answers one client: reads what it sends, writes it back upper-cased.
/// #[tamed]
/// fn shout_once(listener: Rc<TcpListener>, done: Event<Result<Vec<u8>, TimedOut>>) {
///     // A place keeps its value if the event is dropped untriggered: start with an error.
///     let gave_up = || io::Error::from(io::ErrorKind::NotConnected);
///     let mut conn = Err(gave_up());
///     twait! { accept(listener, mkevent!(conn)); }
///     let Ok((stream, _peer)) = conn else { return };
///     let stream = Rc::new(stream);
///     let mut got = Err(TimedOut);
///     twait! {
///         read_some(stream.clone(), Vec::new(), 1024,
///                   tame::add_timeout(Duration::from_secs(5), mkevent!(got)));
///     }
///     let Ok((bytes, Ok(_))) = got else { return done.trigger(Err(TimedOut)) };
///     let mut wrote = Err(gave_up());
///     twait! { write_all(stream, bytes.to_ascii_uppercase(), mkevent!(wrote)); }
///     if wrote.is_ok() {
///         done.trigger(Ok(bytes));
///     }
/// }
///
/// let listener = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
/// let addr = listener.local_addr().unwrap();
/// let client = std::thread::spawn(move || {
///     use std::io::{Read, Write};
///     let mut s = std::net::TcpStream::connect(addr).unwrap();
///     s.write_all(b"hi").unwrap();
///     let mut back = [0u8; 2];
///     s.read_exact(&mut back).unwrap();
///     back
/// });
/// let r = tame::Rendezvous::<(), _>::new();
/// tame::run(|| shout_once(listener, r.event(())));
/// assert_eq!(r.try_join().unwrap().1.unwrap(), b"hi");
/// assert_eq!(&client.join().unwrap(), b"HI");
/// # let _: Option<TcpStream> = None;
/// ```
pub mod net {
    pub use tame_rt::net::{
        BufReader, DEFAULT_MAX_LINE, TcpListener, TcpStream, UdpSocket, accept, connect, read_some,
        write_all,
    };
}

/// Synchronisation between tamed calls: a [`Mutex`](sync::Mutex) held across waits (exclusive
/// or shared, strictly FIFO, cancel-safe, with an RAII [`lock`](sync::Mutex::lock)) and a
/// [`Channel`](sync::Channel) of values. See the runtime's documentation of each.
///
/// ```
/// use tame::sync::Channel;
/// use tame::{Event, tamed};
///
/// #[tamed]
/// fn consumer(c: Channel<u32>, done: Event<u32>) {
///     let mut sum = 0;
///     for _ in 0..3 {
///         let mut v = 0;
///         twait! { c.pop_front(mkevent!(v)); }
///         sum += v;
///     }
///     done.trigger(sum);
/// }
///
/// let c = Channel::new();
/// let r = tame::Rendezvous::<(), u32>::new();
/// tame::run(|| {
///     consumer(c.clone(), r.event(()));
///     for v in [1, 2, 3] {
///         c.push_back(v);
///     }
/// });
/// assert_eq!(r.try_join(), Some(((), 6)));
/// ```
pub mod sync {
    pub use tame_rt::sync::{Channel, Mutex, MutexGuard};
}

/// Name lookups that do not block the loop (the `dns` feature, on by default):
/// [`lookup`](dns::lookup) resolves a host name with this thread's resolver (/etc/hosts, then
/// DNS as /etc/resolv.conf says: `A` and `AAAA`, timeouts and retries over the servers, TCP
/// when an answer is truncated); a [`Resolver`](dns::Resolver) made from a
/// [`Config`](dns::Config) chooses its own servers and limits. Names must be ASCII (convert an
/// internationalised name first). What is and is not done is listed in the runtime's
/// documentation of the module.
///
/// ```
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io;
/// use std::net::{IpAddr, SocketAddr};
/// use std::time::Duration;
/// use tame::{Event, TimedOut, tamed};
///
/// /// `host:port` as socket addresses, found within two seconds.
/// #[tamed]
/// fn addresses(host: String, port: u16, done: Event<io::Result<Vec<SocketAddr>>>) {
///     let mut found = Err(TimedOut);
///     twait! {
///         tame::dns::lookup(&host, tame::add_timeout(Duration::from_secs(2), mkevent!(found)));
///     }
///     done.trigger(match found {
///         Ok(Ok(ips)) => Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()),
///         Ok(Err(e)) => Err(e),
///         Err(TimedOut) => Err(io::ErrorKind::TimedOut.into()),
///     });
/// }
///
/// let r = tame::Rendezvous::<(), io::Result<Vec<SocketAddr>>>::new();
/// tame::run(|| addresses("localhost".to_string(), 8080, r.event(())));
/// let addrs = r.try_join().unwrap().1.unwrap();
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// # let _: Option<IpAddr> = None;
/// ```
#[cfg(feature = "dns")]
pub mod dns {
    pub use tame_rt::dns::*;
}

/// Unix signals as events: [`at_signal`](signal::at_signal) triggers an event when a signal
/// arrives, and [`add_signal`](signal::add_signal) lets a signal interrupt an operation, as
/// [`add_timeout`] lets a timer.
///
/// The handler only wakes the loop: the events are triggered from the loop, so no user code
/// runs inside a signal handler. A pending `at_signal` keeps the loop alive, as a timer does.
/// After the events fired, a delivery is held for the next registration until the woken calls
/// have run; when nothing waits for the signal any more, it is handled as before (its default
/// action, for SIGINT and SIGTERM: the process ends). The details are on
/// [`at_signal`](signal::at_signal).
///
/// ```
/// # if cfg!(miri) { return; } // Miri has no signals
/// use tame::signal::{SIGINT, SIGTERM, at_signal, raise};
/// use tame::{Event, Rendezvous, tamed};
///
/// /// Waits for SIGINT or SIGTERM, whichever comes first, and reports which.
/// #[tamed]
/// fn until_stopped(done: Event<i32>) {
///     let r: Rendezvous<i32, ()> = Rendezvous::new();
///     at_signal(SIGINT, r.event(SIGINT));
///     at_signal(SIGTERM, r.event(SIGTERM));
///     if let Some((signo, ())) = twait!(r) {
///         done.trigger(signo);
///     }
///     // `r` is dropped here, which removes the other registration.
/// }
///
/// let r = Rendezvous::<(), i32>::new();
/// tame::run(|| {
///     until_stopped(r.event(()));
///     raise(SIGTERM).unwrap(); // as `kill PID` would
/// });
/// assert_eq!(r.try_join(), Some(((), SIGTERM)));
/// ```
pub mod signal {
    pub use tame_rt::signal::*;
}

/// File descriptors on the tame loop: [`Fd`](fd::Fd), a shared handle whose reads are served
/// one at a time in the order issued, and writes too; `close()` completes every pending op
/// with `ECANCELED`. [`hangup`] tells when the peer of an fd is gone.
///
/// ```
/// # if cfg!(miri) { return; } // Miri has no pipes
/// use std::{cell::RefCell, io, rc::Rc};
/// use tame::{Event, fd::Fd, tamed};
///
/// /// Reads 4-byte records until end of file, and reports how many came.
/// #[tamed]
/// fn count_records(fd: Fd, done: Event<usize>) {
///     let mut n = 0;
///     loop {
///         let buf = Rc::new(RefCell::new(Vec::new()));
///         let mut res: io::Result<()> = Ok(());
///         twait! { fd.read(buf.clone(), 4, mkevent!(res)); }
///         if res.is_err() || buf.borrow().len() < 4 {
///             break;
///         }
///         n += 1;
///     }
///     done.trigger(n);
/// }
///
/// let (r, w) = Fd::pipe().unwrap();
/// let count = Rc::new(RefCell::new(0));
/// let c = count.clone();
/// tame::run(|| {
///     count_records(r, Event::from_fn(move |n| *c.borrow_mut() = n));
///     let w2 = w.clone();
///     w.write("aaaabbbbcccc", Event::from_fn(move |_| w2.close())); // then end of file
/// });
/// assert_eq!(*count.borrow(), 3);
/// ```
pub mod fd {
    pub use tame_rt::fd::*;
}

/// What `#[tamed]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use tame_rt::__private::*;
}
