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
//! ## The runtime in one example
//! ```
//! use std::time::Duration;
//! use tame::Rendezvous;
//!
//! // Three timers report to one rendezvous; they are joined in the order they fired.
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
