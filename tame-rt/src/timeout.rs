//! `add_timeout`: race an operation against a timer.
//!
//! Written as in the paper: a rendezvous gets one event for the operation and one for the
//! timer, and a tamed function waits for the first of the two, then cancels the rendezvous so
//! the loser is told (the timer is removed, or the operation's event stops being live).

use std::fmt;
use std::time::Duration;

use tame_macros::tamed;

use crate::{Event, Rendezvous};

/// The error an operation wrapped by [`add_timeout`] reports when its timer fired first.
///
/// ```
/// # use tame_rt as tame;
/// let e: Box<dyn std::error::Error> = Box::new(tame::TimedOut);
/// assert_eq!(e.to_string(), "operation timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation timed out")
    }
}

impl std::error::Error for TimedOut {}

/// Wraps `e` with a timeout: returns the event to hand to the operation.
///
/// - If the returned event triggers with `v` first, `e` gets `Ok(v)` and the timer is removed.
/// - If `after` elapses first, `e` gets `Err(TimedOut)` and the returned event is cancelled:
///   the operation holding it sees `is_live() == false`, and its `on_cancel` hooks run (so a
///   query is forgotten, an fd interest removed); a later trigger is dropped.
/// - If the returned event is dropped untriggered, `e` is dropped too (abandoned) and the timer
///   is removed, on the loop's next turn.
/// - If `e`'s own receiver is cancelled, the returned event is cancelled and the timer removed.
///
/// Handed to a tamed call as its `Event` parameter, the returned event stops that call when
/// the time is up: a blocked tamed call whose every `Event` parameter lost its receiver ends
/// at its wait, drops its locals, and cancels the events it waits for, so the calls and
/// helpers it waits for end too (see the book's "Stopping work").
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::{Rendezvous, TimedOut};
///
/// let r: Rendezvous<&str, Result<u32, TimedOut>> = Rendezvous::new();
/// tame::run(|| {
///     let fast = tame::add_timeout(Duration::from_secs(10), r.event("fast"));
///     fast.trigger(1);
///     let slow = tame::add_timeout(Duration::from_millis(1), r.event("slow"));
///     std::mem::forget(slow); // an operation that never answers (never do this for real)
/// });
/// assert_eq!(r.try_join(), Some(("fast", Ok(1))));
/// assert_eq!(r.try_join(), Some(("slow", Err(TimedOut))));
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn add_timeout<T: 'static>(after: Duration, e: Event<Result<T, TimedOut>>) -> Event<T> {
    // The operation's value is `Some(v)`, or `None` when it dropped its event.
    let r: Rendezvous<Side, Option<T>> = Rendezvous::new();
    let op = r.event_map(Side::Operation, |v: Option<T>| v);
    crate::timer::timer(after, r.event_map(Side::Timer, |_: Option<()>| None));
    race(r, e);
    op
}

/// The two events [`add_timeout`] races.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The operation's event: its value, or `None` if it was dropped untriggered.
    Operation,
    /// The timer's event.
    Timer,
}

/// The waiting half of [`add_timeout`]: whichever event of `r` comes first decides what `e`
/// gets; the other one is then cancelled (the timer removed, or the operation told).
///
/// If `e`'s own receiver goes away first, the call ends where it waits (it is a tamed call
/// whose one `Event` parameter lost its receiver), and `r`, dropped with it, cancels both
/// sides at once: the timer is removed and the operation told.
#[tamed(crate = crate)]
fn race<T: 'static>(r: Rendezvous<Side, Option<T>>, e: Event<Result<T, TimedOut>>) {
    match twait!(r) {
        Some((Side::Operation, Some(v))) => e.trigger(Ok(v)),
        Some((Side::Timer, _)) => e.trigger(Err(TimedOut)),
        // The operation dropped its event: abandon `e`. (`None`, nothing left to come, would
        // need the timer gone as well.)
        Some((Side::Operation, None)) | None => e.abandon(),
    }
    r.cancel();
}
