//! The poller: fds, their waiting events and remembered edges, on mio's edge-triggered poll.
//!
//! A data structure of the loop, which owns one per thread; the functions that reach it
//! through the loop (`readable`, `writable`, `deregister`) are a layer above, in `io`.
//!
//! # Model
//! The first wait on an fd registers it with the poller for both directions, edge-triggered,
//! under token = fd number, and it stays registered until [`deregister`] (which `tame::net`
//! types call when dropped). That costs one `epoll_ctl` per socket, not one per wait.
//!
//! Per fd the table keeps, for each direction, the waiting events and a `ready` flag:
//!
//! | poll says ready | waiters | action |
//! |---|---|---|
//! | yes | some | trigger them all (flag stays clear) |
//! | yes | none | set the flag: the edge is remembered |
//! | — | new wait, flag set | clear the flag, trigger the new event at once |
//!
//! So an edge that arrives between a `WouldBlock` and the next wait is never lost. The price is
//! spurious wake-ups (the remembered edge may already have been consumed by a read): callers
//! loop on their `try_*` call until `WouldBlock`, then wait again. Errors and hang-ups count as
//! ready in both directions so the caller's next `try_*` call sees them.
//!
//! A close is different from data: once the read side is closed (mio's `is_read_closed`: a
//! hang-up, or the peer shut its writing side down), every read returns at once, and so every
//! later readable wait triggers at once; once the fd hung up in both directions (a stream
//! reset, say), so does every writable wait. A `closed` flag per direction keeps this until
//! the fd is deregistered or re-armed. Without it, a peer's last data and its close, arriving
//! in one edge, would leave a caller that read the data and then waited (rather than read once
//! more to see `0`) waiting forever. An error alone is not kept: a datagram socket's error
//! (an ICMP "port unreachable") is read once, and the socket works on. One case breaks "every
//! read returns at once": a datagram socket shut down for reading (`shutdown(SHUT_RD)`, which
//! tame's types do not offer) reports its read side closed while a read still says
//! `WouldBlock`; every readable wait on it fires, so nobody should wait readable on it.
//!
//! A third kind of wait, *hang-up* (`hangup`), has its own waiters and remembered edge, and is
//! fired only by an error, a hang-up or a read side shut down by the peer (mio's `is_error`,
//! `is_read_closed`, `is_write_closed`), never by data.
//!
//! # Fd numbers are reused
//! The kernel drops a closed fd from the poller by itself, and the next socket may get the same
//! number. A `tame::net` socket deregisters when dropped, so its entry is always its own (the
//! entry is marked `owned` and waits on it cost no system call; the first wait of such a socket
//! on an entry that another fd registered re-arms it once, as that fd may have been closed
//! without `deregister`, and forgets what was kept for it). For any other fd the table
//! cannot tell a new fd from an idle old one: so a wait on such an fd that finds no waiter and
//! no remembered edge in its direction re-arms it (`EPOLL_CTL_MOD`, falling back to a fresh registration when
//! the kernel does not know the fd). That costs one system call per wait after an idle period,
//! and an fd closed and reused without [`deregister`] still works.
//!
//! Invariants: `waiters == total number of waiting events in the table`; a waiting event whose
//! receiver is cancelled is removed at once (an allocation-free internal hook), so it no longer
//! keeps the loop alive.

use std::io;
use std::os::fd::RawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use smallvec::SmallVec;

use crate::event::Event;

#[derive(Default)]
struct Dir {
    waiters: SmallVec<[Event<()>; 1]>,
    ready: bool,
    /// This direction will not block again: it was closed (see the module docs). Every wait
    /// triggers at once. Kept for `read` and `write` only: a hang-up wait fires once per
    /// remembered edge, as documented for `hangup`.
    closed: bool,
}

#[derive(Default)]
/// What the poller keeps for one fd; dropped, it drops the events still waiting on it.
pub(crate) struct Fd {
    registered: bool,
    /// Waited on through a `tame::net` socket, which deregisters when dropped.
    owned: bool,
    read: Dir,
    write: Dir,
    /// Waiting for the peer to hang up (`hangup`): fired on HUP, ERR or a shut-down read side
    /// only, never on data.
    hup: Dir,
}

pub(crate) struct Poller {
    poll: Option<Poll>,
    events: Option<Events>,
    fds: Vec<Fd>,
    /// Total waiting events: the loop is alive while this is non-zero.
    waiters: usize,
}

/// Capacity of the event buffer handed to one `poll` call.
const EVENTS: usize = 1024;

/// Which readiness an event waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
    Hangup,
}

impl Poller {
    pub(crate) const fn new() -> Self {
        Poller {
            poll: None,
            events: None,
            fds: Vec::new(),
            waiters: 0,
        }
    }

    pub(crate) fn waiters(&self) -> usize {
        self.waiters
    }

    pub(crate) fn has_poll(&self) -> bool {
        self.poll.is_some()
    }

    fn poll(&mut self) -> io::Result<&Poll> {
        if self.poll.is_none() {
            self.poll = Some(Poll::new()?);
            self.events = Some(Events::with_capacity(EVENTS));
        }
        Ok(self.poll.as_ref().expect("just created"))
    }

    /// Whether `fd` is registered with the poller (it could be polled).
    pub(crate) fn is_registered(&self, fd: RawFd) -> bool {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i))
            .is_some_and(|f| f.registered)
    }

    fn dir(&mut self, fd: RawFd, d: Direction) -> &mut Dir {
        let f = &mut self.fds[fd as usize];
        match d {
            Direction::Read => &mut f.read,
            Direction::Write => &mut f.write,
            Direction::Hangup => &mut f.hup,
        }
    }

    /// Adds a waiter; returns the event back if it must be triggered at once. `owned`: the
    /// fd belongs to a `tame::net` socket (see the module docs).
    pub(crate) fn wait(
        &mut self,
        fd: RawFd,
        d: Direction,
        e: Event<()>,
        owned: bool,
    ) -> Option<Event<()>> {
        let Ok(i) = usize::try_from(fd) else {
            return Some(e);
        };
        if self.fds.len() <= i {
            self.fds.resize_with(i + 1, Fd::default);
        }
        let f = &self.fds[i];
        let remembered = match d {
            Direction::Read => f.read.ready,
            Direction::Write => f.write.ready,
            Direction::Hangup => f.hup.ready,
        };
        let idle = f.registered
            && !f.owned
            && !owned
            && !remembered
            && f.read.waiters.is_empty()
            && f.write.waiters.is_empty()
            && f.hup.waiters.is_empty();
        // A `tame::net` socket on an entry that another fd registered: that fd may have been
        // closed without `deregister` and its number reused by this socket. Re-arm, once.
        let taken_over = owned && f.registered && !f.owned;
        if !f.registered || idle || taken_over {
            let interest = Interest::READABLE | Interest::WRITABLE;
            let res = match self.poll() {
                // Without a poller no fd can ever be waited on: reporting it ready would
                // make every caller spin on `WouldBlock`.
                Err(err) => panic!("tame: cannot create the I/O poller: {err}"),
                Ok(p) => {
                    let reg = p.registry();
                    let src = &mut SourceFd(&fd);
                    if idle || taken_over {
                        // Maybe a new fd under an old number: re-arm, or register afresh.
                        match reg.reregister(src, Token(i), interest) {
                            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                                reg.register(src, Token(i), interest)
                            }
                            r => r,
                        }
                    } else {
                        match reg.register(src, Token(i), interest) {
                            // Registered by someone who closed it without deregistering:
                            // take it over.
                            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                                reg.reregister(src, Token(i), interest)
                            }
                            r => r,
                        }
                    }
                }
            };
            if res.is_err() {
                // Not pollable (a regular file, a closed fd): report it ready; the caller's
                // next call returns the data or the error.
                self.fds[i].registered = false;
                return Some(e);
            }
            // Maybe a new fd under an old number: a close seen on the old one says nothing
            // about it (the registration reports a close of its own afresh).
            let f = &mut self.fds[i];
            f.registered = true;
            f.read.closed = false;
            f.write.closed = false;
        }
        if owned {
            self.fds[i].owned = true;
        }
        let dir = self.dir(fd, d);
        if dir.ready || dir.closed {
            dir.ready = false;
            return Some(e);
        }
        dir.waiters.push(e);
        self.waiters += 1;
        None
    }

    /// Removes waiters of `fd` whose receiver was cancelled; returns them to be dropped.
    pub(crate) fn prune(&mut self, fd: usize, out: &mut SmallVec<[Event<()>; 2]>) {
        let Some(f) = self.fds.get_mut(fd) else {
            return;
        };
        for dir in [&mut f.read, &mut f.write, &mut f.hup] {
            let mut i = 0;
            while i < dir.waiters.len() {
                if dir.waiters[i].is_live() {
                    i += 1;
                } else {
                    out.push(dir.waiters.swap_remove(i));
                    debug_assert!(self.waiters > 0, "poller: a waiter not counted");
                    self.waiters -= 1;
                }
            }
        }
    }

    /// Waits for readiness for up to `timeout`, then moves the events of ready fds into `out`.
    pub(crate) fn poll_into(
        &mut self,
        timeout: Option<std::time::Duration>,
        out: &mut Vec<Event<()>>,
    ) -> io::Result<()> {
        let (Some(poll), Some(events)) = (self.poll.as_mut(), self.events.as_mut()) else {
            return Ok(());
        };
        match poll.poll(events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            let i = ev.token().0;
            let Some(f) = self.fds.get_mut(i) else {
                continue;
            };
            let trouble = ev.is_error() || ev.is_read_closed() || ev.is_write_closed();
            // A close is a state, not an edge: it stays (see the module docs). An error alone
            // does not (a datagram socket's error is read once and gone); a stream that failed
            // hangs up too.
            f.read.closed |= ev.is_read_closed();
            f.write.closed |= ev.is_read_closed() && ev.is_write_closed();
            if ev.is_readable() || trouble {
                Self::fire(&mut f.read, &mut self.waiters, out);
            }
            if ev.is_writable() || trouble {
                Self::fire(&mut f.write, &mut self.waiters, out);
            }
            if trouble {
                Self::fire(&mut f.hup, &mut self.waiters, out);
            }
        }
        Ok(())
    }

    fn fire(dir: &mut Dir, waiters: &mut usize, out: &mut Vec<Event<()>>) {
        if dir.waiters.is_empty() {
            dir.ready = true;
        } else {
            *waiters -= dir.waiters.len();
            out.extend(dir.waiters.drain(..));
        }
    }

    /// Moves every waiting event into `out` (a run that unwound is being abandoned). The fds
    /// stay registered and keep their remembered edges: those belong to the fds, not to a run.
    pub(crate) fn drain_waiters_into(&mut self, out: &mut Vec<Event<()>>) {
        self.check();
        if self.waiters == 0 {
            return;
        }
        for f in &mut self.fds {
            out.extend(f.read.waiters.drain(..));
            out.extend(f.write.waiters.drain(..));
            out.extend(f.hup.waiters.drain(..));
        }
        self.waiters = 0;
    }

    pub(crate) fn forget(&mut self, fd: RawFd) -> Option<Fd> {
        let f = self.fds.get_mut(usize::try_from(fd).ok()?)?;
        if !f.registered {
            return None;
        }
        let old = std::mem::take(f);
        self.waiters -= old.read.waiters.len() + old.write.waiters.len() + old.hup.waiters.len();
        self.check();
        if let Some(p) = &self.poll {
            // The fd may already be closed; nothing useful to do with an error here.
            let _ = p.registry().deregister(&mut SourceFd(&fd));
        }
        Some(old)
    }

    /// Debug builds: checks that `waiters` counts the waiting events of the table (O(fds): on
    /// the rare paths only, `forget` and draining).
    fn check(&self) {
        #[cfg(debug_assertions)]
        {
            let n: usize = self
                .fds
                .iter()
                .map(|f| f.read.waiters.len() + f.write.waiters.len() + f.hup.waiters.len())
                .sum();
            assert_eq!(
                self.waiters, n,
                "poller: `waiters` is not the number of waiting events"
            );
        }
    }
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "poller: `waiters` is not the number of waiting events")]
    fn a_miscounted_waiter_trips_the_check() {
        let mut p = Poller::new();
        p.fds.resize_with(4, Fd::default);
        let r = crate::Rendezvous::<(), ()>::new();
        p.fds[3].read.waiters.push(r.event(()));
        // One waiting event, counted as none: the next drain finds it.
        p.drain_waiters_into(&mut Vec::new());
    }
}
