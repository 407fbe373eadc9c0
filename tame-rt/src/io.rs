//! Fd readiness: `readable` / `writable` / `hangup` on any file descriptor, and `deregister`.
//!
//! These reach the thread's [`Poller`](crate::poller::Poller) through the loop; the model
//! (registration, remembered edges, fd numbers reused) is described there.

use std::os::fd::AsRawFd;

use smallvec::SmallVec;

use crate::event::Event;
use crate::poller::Direction;

fn prune_hook(fd: usize, _: u64) {
    let mut dead = SmallVec::new();
    crate::local::with(|c| c.io.borrow_mut().prune(fd, &mut dead));
    drop(dead); // outside the borrow: dropping reaches the events' receivers
}

fn wait<S: AsRawFd + ?Sized>(source: &S, d: Direction, mut e: Event<()>, owned: bool) {
    if !e.is_live() {
        return;
    }
    let fd = source.as_raw_fd();
    if let Ok(i) = usize::try_from(fd) {
        e.on_cancel_internal(prune_hook, i, 0);
    }
    let now = crate::local::with(|c| c.io.borrow_mut().wait(fd, d, e, owned));
    if let Some(e) = now {
        e.trigger(());
    }
}

/// Triggers `e` when `source` may be readable.
///
/// Works on anything with a file descriptor (every `mio::net` type, `tame::net` types, pipes,
/// …). Readiness is edge-triggered and may be spurious: read until `WouldBlock`, then wait
/// again. While `e` waits the loop stays alive; if `e`'s receiver is cancelled, the interest is
/// removed at once. An fd that cannot be polled (a regular file) counts as always ready.
///
/// A close is remembered: once the peer has shut its side down or closed, every later
/// `readable` wait fires without waiting for new data, as every read then returns at once
/// (for `writable`: once the fd hung up both ways, a stream that was reset, say; a
/// [`hangup`] wait keeps its own rule). An error alone is not remembered (a datagram
/// socket's error is read once, and the socket works on). So on a TCP socket or an ordinary
/// pipe, a read that returned less than it asked for has drained the fd, and the caller may
/// wait right away instead of reading once more to see `WouldBlock`: new data brings a new
/// edge, and a close that came with the data still wakes the wait. Not on every fd: a read
/// stops short with data still queued at TCP urgent data, at a Unix socket message that
/// carries fds, and on a pipe in packet mode; there, read until `WouldBlock`.
///
/// Call [`deregister`] before closing an fd you passed here (`tame::net` types do it for
/// you); an fd closed without it is handled, at the price of one system call per wait that
/// follows an idle period on any fd that is not a `tame::net` socket.
///
/// # Panics
/// If the thread's I/O poller (epoll) cannot be created, at the first wait on any fd (the
/// process is out of file descriptors, say): no fd could ever be waited on.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// let (mut a, b) = UnixStream::pair().unwrap();
/// b.set_nonblocking(true).unwrap();
/// tame::run(|| {
///     tame::readable(&b, tame::Event::from_fn(|()| println!("readable")));
///     a.write_all(b"x").unwrap();
/// });
/// tame::deregister(&b);
/// ```
pub fn readable<S: AsRawFd + ?Sized>(source: &S, e: Event<()>) {
    wait(source, Direction::Read, e, false)
}

/// Triggers `e` when `source` may be writable. The same rules as [`readable`] apply.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::os::unix::net::UnixStream;
/// let (a, _b) = UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// tame::run(|| tame::writable(&a, tame::Event::from_fn(|()| println!("writable"))));
/// tame::deregister(&a);
/// ```
pub fn writable<S: AsRawFd + ?Sized>(source: &S, e: Event<()>) {
    wait(source, Direction::Write, e, false)
}

/// Triggers `e` when the peer of `source` hangs up: the other end of a pipe or socket is
/// closed, the peer shut its writing side down (`shutdown(Write)`), or the fd reports an
/// error. Never on data alone: a readable socket with data and a live peer does not fire it.
///
/// The same rules as [`readable`] apply otherwise: the loop stays alive while `e` waits; if
/// `e`'s receiver is cancelled, the interest is removed at once; a hang-up that happened
/// while nobody waited is remembered for the next wait (once). An fd that cannot be polled (a
/// regular file) never hangs up: the wait is dropped at once (its receiver sees an abandoned
/// event). A peer that writes and then closes fires it once the close is seen, whether or not
/// its data was read.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use tame::Rendezvous;
///
/// let (mut a, b) = UnixStream::pair().unwrap();
/// b.set_nonblocking(true).unwrap();
/// let r: Rendezvous<&str> = Rendezvous::new();
/// tame::run(|| {
///     tame::hangup(&b, r.event("hung up"));
///     a.write_all(b"data").unwrap(); // not a hang-up
///     let late = tame::Event::from_fn(move |()| drop(a));
///     tame::timer(std::time::Duration::from_millis(5), late); // this is
/// });
/// assert_eq!(r.try_join(), Some(("hung up", ())));
/// tame::deregister(&b);
/// ```
pub fn hangup<S: AsRawFd + ?Sized>(source: &S, e: Event<()>) {
    let fd = source.as_raw_fd();
    if !e.is_live() {
        return;
    }
    let mut e = e;
    if let Ok(i) = usize::try_from(fd) {
        e.on_cancel_internal(prune_hook, i, 0);
    }
    let now = crate::local::with(|c| c.io.borrow_mut().wait(fd, Direction::Hangup, e, false));
    // Ready at once: a remembered hang-up, or an fd that cannot be polled, which never hangs
    // up (its event is dropped).
    if let Some(e) = now {
        let pollable = crate::local::with(|c| c.io.borrow().is_registered(fd));
        if pollable {
            e.trigger(());
        } else {
            e.abandon(); // on purpose: no leak report
        }
    }
}

/// `readable` / `writable` for a `tame::net` socket, which deregisters itself when dropped.
pub(crate) fn wait_owned<S: AsRawFd + ?Sized>(source: &S, d: Direction, e: Event<()>) {
    wait(source, d, e, true)
}

/// Forgets `source`: removes it from the poller and abandons (drops) the events waiting on it.
///
/// Call it before closing an fd that was passed to [`readable`] or [`writable`], so that a new
/// fd that reuses the number starts clean. Does nothing for an fd that was never waited on.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// tame::deregister(&a); // never waited on: nothing to do
/// ```
pub fn deregister<S: AsRawFd + ?Sized>(source: &S) {
    let fd = source.as_raw_fd();
    // While the thread ends, the poller may be gone before a socket kept in another
    // thread-local (tame::dns's resolver): then there is nothing to forget.
    let old = crate::local::try_with(|c| c.io.borrow_mut().forget(fd));
    drop(old);
}
