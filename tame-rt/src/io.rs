//! Fd readiness: `readable` / `writable` on any file descriptor, and `deregister`.
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
