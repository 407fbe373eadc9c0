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
//! /// Runs `slow_sum` under a deadline.
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
    Event, Rendezvous, TimedOut, add_timeout, asap, at, deregister, now, readable, run, timer,
    writable,
};

/// Non-blocking TCP and UDP sockets on the tame loop.
pub mod net {
    pub use tame_rt::net::{TcpListener, TcpStream, UdpSocket, Wrapped};
}

/// What `#[tamed]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use tame_rt::__private::*;
}
