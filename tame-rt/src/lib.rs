//! The single-threaded runtime behind `tame`: events, rendezvous,
//! timers, fd readiness and cancellation on a mio loop.
//!
//! Use it through the `tame` crate, which re-exports everything here together with the
//! `#[tamed]` macro. This crate is the runtime half:
//!
//! - [`Event<T>`]: a one-shot, move-only event; [`Rendezvous<I, T>`]: where events report.
//! - [`run`], [`now`]: the loop, one per thread; [`timer`], [`at`], [`asap`]: timers.
//! - [`set_clock`]`(`[`Clock::Virtual`]`)`: a loop that never sleeps but jumps to the next
//!   deadline, to test timeouts in microseconds; [`wall_now`], [`run_once`],
//!   [`timer_background`], [`at_preblock`]: the loop's hooks.
//! - [`readable`], [`writable`], [`hangup`], [`net`]: fd readiness and non-blocking sockets;
//!   [`fd::Fd`]: a shared fd handle whose reads and writes are queued and served in order.
//! - [`add_timeout`], [`TimedOut`]: race an operation against a timer, cancelling the loser.
//! - Event adapters: [`Event::alias`], [`Event::unblocker`], [`Event::at_trigger`],
//!   [`Event::bind`], [`Event::map`], [`Event::rebind`], [`all`], [`push_back_event`],
//!   [`extend_event`], [`with_timeout`], [`timeout_value`].
//! - [`dns`] (the `dns` feature, on by default): [`dns::lookup`] resolves a name without
//!   blocking the loop.
//! - [`signal`]: [`at_signal`](signal::at_signal) waits for a Unix signal, and
//!   [`add_signal`](signal::add_signal) lets one interrupt an operation.
//!   A tamed call whose `Event` parameters all lost their receivers ends where it waits;
//!   [`Lifeline`] / [`Tether`] end the calls tied to an object.
//! - [`blocked_locations`], [`backtrace`], [`leak_reports`]: what is blocked, who waits for
//!   whom, and events dropped while awaited.
//!
//! # Scheduling rules
//! Single thread, one loop per thread, no locks, nothing `Send`. Triggering an event never
//! runs the waiter inline: the waiter is queued and resumed by the loop, so stack depth is
//! bounded whatever the chain of triggers. The loop ends when nothing can happen. A run that
//! panics drops, while it unwinds, everything it left on the thread, so the next [`run`]
//! starts clean.
//!
//! ```
//! # use tame_rt as tame;
//! use std::time::Duration;
//! use tame::{Rendezvous, Event};
//!
//! let r: Rendezvous<u32, ()> = Rendezvous::new();
//! let start = tame::now();
//! tame::run(|| {
//!     for i in [3u32, 1, 2] {
//!         tame::at(start + Duration::from_millis(i.into()), r.event(i));
//!     }
//! });
//! let order: Vec<u32> = std::iter::from_fn(|| r.try_join()).map(|(i, ())| i).collect();
//! assert_eq!(order, [1, 2, 3]);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
mod clock;
mod core;
#[cfg(feature = "dns")]
pub mod dns;
mod event;
pub mod fd;
mod io;
mod local;
pub mod net;
mod poller;
mod rendezvous;
pub mod signal;
pub mod sync;
mod task;
mod tether;
mod timeout;
mod timer;
mod timer_store;

pub use crate::adapter::{all, extend_event, push_back_event, timeout_value, with_timeout};
pub use crate::clock::{Clock, clock, set_clock, wall_now};
pub use crate::core::{at_preblock, now, run, run_once};
pub use crate::event::{Event, leak_reports};
pub use crate::io::{deregister, hangup, readable, writable};
pub use crate::rendezvous::Rendezvous;
pub use crate::task::{backtrace, blocked_locations};
pub use crate::tether::{Lifeline, Tether};
pub use crate::timeout::{TimedOut, add_timeout};
pub use crate::timer::{Timer, asap, at, timer, timer_background};

/// The interface `#[tamed]` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::core::stuck_reports;
    pub use crate::task::{Cx, Site, Step, hold_for, put, spawn, spawn_tamed, take};
}
