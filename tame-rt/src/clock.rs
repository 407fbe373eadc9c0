//! The thread's clock: real or virtual (`set_clock`), and its wall time (`wall_now`).
//!
//! The virtual clock is an `Instant` kept in the thread's core that only the loop moves: when
//! a turn finds nothing queued and no fd ready, it jumps the clock to the next deadline (see
//! the loop's turn in `core`). Everything that reads the clock — `now`, `timer`, `add_timeout`,
//! `Timer::arm_after`, `wall_now` — reads that `Instant` instead of the system's.

use std::time::{Duration, Instant, SystemTime};

use crate::local::{Virtual, with};

/// The wall time the virtual clock starts at: UNIX time 1,000,000,000 s (2001-09-09).
const VIRTUAL_EPOCH: Duration = Duration::from_secs(1_000_000_000);

/// Which clock the loop of this thread keeps: see [`set_clock`].
///
/// ```
/// # use tame_rt as tame;
/// assert_eq!(tame::Clock::default(), tame::Clock::Real);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Clock {
    /// The system's monotonic clock: the loop sleeps until the next deadline.
    #[default]
    Real,
    /// A clock that moves only when the loop makes it: the loop never sleeps; when nothing is
    /// runnable and no fd is ready, the clock jumps to the next deadline.
    Virtual,
}

/// Chooses the clock of this thread's loop (each thread has its own; it starts
/// [`Real`](Clock::Real)).
///
/// On the [`Virtual`](Clock::Virtual) clock the loop never sleeps for a timer: whenever a turn
/// finds nothing queued and a poll without waiting finds no fd ready, the clock jumps to the
/// next deadline, and the timers due then fire. So a test of timeout logic runs in
/// microseconds of real time, and exactly: a timer set for an hour fires when [`now`](crate::now)
/// is exactly an hour later, and timers fire in the same order as on the real clock.
///
/// - The virtual clock does not move while anything runs, however long it takes: time passes
///   only by jumps. Real time spent waiting for a peer is therefore not seen: a timeout
///   pending while a socket waits for a slow peer fires as soon as the loop would otherwise
///   wait (it jumps rather than wait for the peer).
/// - With no timer pending at all, the loop waits in its poll for an fd, as on the real clock.
/// - [`now`](crate::now), [`timer`](crate::timer), [`timer_background`](crate::timer_background),
///   [`add_timeout`](crate::add_timeout), [`Timer::arm_after`](crate::Timer::arm_after) and
///   [`wall_now`] follow the thread's clock. `Instant::now()` and `SystemTime::now()` do not:
///   code to be tested on the virtual clock reads the time through `tame::now()` or
///   `tame::wall_now()`.
/// - `set_clock(Clock::Virtual)` (re)starts the virtual clock at UNIX time 1,000,000,000 s, as
///   [`wall_now`] tells it. As an `Instant`, it starts at the later of the present and where
///   the virtual clock last was, so `now()` does not go back while the clock stays virtual.
///   After `set_clock(Clock::Real)`, `now()` is the system's clock again, which may be earlier
///   than a virtual instant read before.
///
/// # Panics
/// The clock changes only between runs, with no timer pending on the thread: a deadline is an
/// instant of the clock it was set on, so a clock cannot change under it. `set_clock` panics
/// if called while a loop runs on this thread (inside [`run`](crate::run) or
/// [`run_once`](crate::run_once)), or while timers are pending on the thread (timers that a
/// `run_once` left, or background timers a run left: cancel them first).
///
/// ```
/// # use tame_rt as tame;
/// use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
///
/// tame::set_clock(tame::Clock::Virtual);
/// assert_eq!(tame::wall_now(), UNIX_EPOCH + Duration::from_secs(1_000_000_000));
/// let (real, virt) = (Instant::now(), tame::now());
/// tame::run(|| {
///     tame::timer(Duration::from_secs(3600), tame::Event::from_fn(|()| {}));
/// });
/// assert_eq!(tame::now() - virt, Duration::from_secs(3600)); // an hour, exactly
/// assert!(real.elapsed() < Duration::from_secs(60)); // in far less than that
/// tame::set_clock(tame::Clock::Real);
/// ```
pub fn set_clock(c: Clock) {
    with(|core| {
        assert!(
            !core.running.get(),
            "tame::set_clock called while a tame loop is running on this thread: \
             the clock changes only between runs"
        );
        let mut timers = core.timers.borrow_mut();
        assert!(
            timers.live() == 0,
            "tame::set_clock called while {} timer(s) are pending on this thread \
             (left by run_once, or background timers left by run): cancel them first",
            timers.live()
        );
        match c {
            Clock::Real => {
                core.virt.set(None);
                timers.restart(None);
            }
            Clock::Virtual => {
                let now = match core.virt.get() {
                    Some(v) => v.now.max(Instant::now()),
                    None => Instant::now(),
                };
                core.virt.set(Some(Virtual { start: now, now }));
                timers.restart(Some(now));
            }
        }
    })
}

/// The thread's clock (see [`set_clock`]).
///
/// ```
/// # use tame_rt as tame;
/// assert_eq!(tame::clock(), tame::Clock::Real);
/// tame::set_clock(tame::Clock::Virtual);
/// assert_eq!(tame::clock(), tame::Clock::Virtual);
/// tame::set_clock(tame::Clock::Real);
/// ```
pub fn clock() -> Clock {
    with(|c| match c.virt.get() {
        Some(_) => Clock::Virtual,
        None => Clock::Real,
    })
}

/// The loop's clock as wall time: the time of day that [`now`](crate::now) stands for.
///
/// On the real clock, `SystemTime::now()` taken back by how far the system's clock is past
/// `now()` (inside a run, the start of the turn). On the virtual clock, UNIX time
/// 1,000,000,000 s plus the virtual time elapsed since [`set_clock`] started it.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::{Duration, UNIX_EPOCH};
/// tame::set_clock(tame::Clock::Virtual);
/// tame::run(|| tame::timer(Duration::from_secs(90), tame::Event::from_fn(|()| {
///     let t = tame::wall_now().duration_since(UNIX_EPOCH).unwrap();
///     assert_eq!(t, Duration::from_secs(1_000_000_090));
/// })));
/// tame::set_clock(tame::Clock::Real);
/// # if cfg!(miri) { return; } // Miri has no wall clock
/// assert!(tame::wall_now() > UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// ```
pub fn wall_now() -> SystemTime {
    if let Some(v) = with(|c| c.virt.get()) {
        return SystemTime::UNIX_EPOCH + VIRTUAL_EPOCH + v.now.saturating_duration_since(v.start);
    }
    let (sys, mono) = (SystemTime::now(), Instant::now());
    let behind = mono.saturating_duration_since(crate::now());
    sys.checked_sub(behind).unwrap_or(sys)
}
