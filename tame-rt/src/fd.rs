//! File descriptors on the loop: [`Fd`], a shared handle whose reads are served one at a
//! time in the order they were issued, and writes too, after Tamer's `tamer::fd`. See also
//! [`hangup`](crate::hangup), which tells when the peer of an fd is gone.
//!
//! ```
//! # use tame_rt as tame;
//! # if cfg!(miri) { return; } // Miri has no pipes
//! use std::{cell::RefCell, rc::Rc};
//! let (r, w) = tame::fd::Fd::pipe().unwrap();
//! let buf = Rc::new(RefCell::new(Vec::new()));
//! tame::run(|| {
//!     r.read(buf.clone(), 2, tame::Event::from_fn(|_: std::io::Result<()>| {}));
//!     w.write("ok", tame::Event::from_fn(|_: std::io::Result<usize>| {}));
//! });
//! assert_eq!(*buf.borrow(), b"ok");
//! ```

// # How it is built
// An `Fd` is an `Rc` of one `Inner`: the fd (a `File`, used only for `read` / `write`, never
// for seeking), its two queues, and the `at_close` events. Each queue serves its head op
// until it is done, then the next: it reads (writes) until the op is complete or the fd says
// `WouldBlock`, then waits for readiness through the loop's poller with an event whose
// receiver is the fd itself (slot 0 for reading, 1 for writing: `Inner` is a `Sink`). That
// event is live while its queue holds a live op: an op whose `done` loses its receiver leaves
// its queue at once (an `on_cancel` hook), and if no live op is left the readiness wait is
// removed (the poller's hooks on it run), so it no longer keeps the loop alive.
//
// A queue is *driven* by the call that queued its first op, by the readiness event, or by a
// hook; a `driving` flag makes a drive that starts while another runs (from a `done` event's
// callback, say) leave the work to the running one. No borrow of the queues is held while
// user code runs (a `done` trigger, a dropped event).
//
// The fd is put in non-blocking mode (`O_NONBLOCK`, with rustix's safe `fcntl`) when the `Fd`
// is made, and its former flags are put back when it is closed: the flag belongs to the open
// file description, which a descriptor of stdin shares with other processes.
//
// Invariants: `waiting[q]` is set exactly while a readiness event of queue `q` is held by the
// poller; after `close`, `file` is `None` and both queues are empty for good.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::event::{Event, Hook, Sink, Target, Waiting};
use crate::poller::Direction;

/// A shared handle on a file descriptor: reads are served one at a time in the order they were
/// issued, and so are writes, each queue independently of the other.
///
/// - [`read`](Fd::read) appends up to `size` bytes to a buffer, completing when it has them or
///   at end of file; [`read_once`](Fd::read_once) completes as soon as some bytes came (or at
///   end of file). [`write`](Fd::write) writes all of its data. Each reports through its
///   `done` event: `Ok` or the error of the system call that failed.
/// - An op starts when the ones issued before it in its queue are done: two reads issued one
///   after the other get consecutive bytes of the stream.
/// - [`close`](Fd::close): every op pending or queued completes with `ECANCELED` (reads
///   first, then writes, each in issue order), the [`at_close`](Fd::at_close) events fire, and
///   the fd is closed; any op issued later completes at once with `EBADF`. Dropping the last
///   handle closes it too, once no op is left (an op in progress keeps the fd open).
/// - Cancel-safe: an op whose `done` loses its receiver (its `add_timeout` fired, its call
///   ended) leaves its queue at once, and the next one is served. The bytes it had read
///   already stay in its buffer; the bytes a write had written are gone to the fd.
///
/// The fd is switched to non-blocking mode (`O_NONBLOCK`) when the `Fd` is made, and its
/// former flags are restored when it is closed. That flag is shared by every descriptor of the
/// same open file, so while an `Fd` of stdin is open, stdin is non-blocking for the other
/// processes that share it (a shell's terminal): close it before the program ends (a program
/// that ends with `std::process::exit` skips the restore).
///
/// Works with pipes, sockets, terminals and FIFOs (waited on with the loop's poller), and
/// with regular files (always ready: the read or write simply runs). [`hangup`](crate::hangup)
/// tells when the peer is gone.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no pipes
/// use std::{cell::RefCell, rc::Rc};
/// use tame::{Rendezvous, fd::Fd};
///
/// let (r, w) = Fd::pipe().unwrap();
/// let (first, second) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(Vec::new())));
/// let done: Rendezvous<&str, std::io::Result<()>> = Rendezvous::new();
/// tame::run(|| {
///     r.read(first.clone(), 5, done.event("first"));
///     r.read(second.clone(), 100, done.event("second")); // to 100 bytes or end of file
///     let w2 = w.clone();
///     w.write("hello, world", tame::Event::from_fn(move |n: std::io::Result<usize>| {
///         assert_eq!(n.unwrap(), 12);
///         w2.close(); // written: now end of file for the reader
///     }));
/// });
/// assert_eq!(*first.borrow(), b"hello");
/// assert_eq!(*second.borrow(), b", world");
/// ```
#[derive(Clone)]
pub struct Fd(Rc<Inner>);

impl std::fmt::Debug for Fd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fd")
            .field("fd", &self.0.raw)
            .field("open", &self.is_open())
            .finish()
    }
}

/// The fd's number, for [`hangup`](crate::hangup) and other readiness waits (meaningless once
/// the `Fd` is closed: the number may belong to another fd by then). Closing the `Fd` drops
/// the events waiting on it.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no pipes
/// let (r, w) = tame::fd::Fd::pipe().unwrap();
/// let gone = tame::Rendezvous::<(), ()>::new();
/// tame::run(|| {
///     tame::hangup(&r, gone.event(()));
///     w.close(); // the writer is gone: the reader's peer hung up
/// });
/// assert_eq!(gone.try_join(), Some(((), ())));
/// r.close();
/// ```
impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.raw
    }
}

/// A queued read.
struct ReadOp {
    buf: Rc<RefCell<Vec<u8>>>,
    /// Bytes still wanted.
    left: usize,
    /// `read_once`: done at the first bytes.
    once: bool,
    done: Event<io::Result<()>>,
}

/// A queued write.
struct WriteOp {
    data: Box<dyn AsRef<[u8]>>,
    /// Bytes of `data` written so far.
    off: usize,
    done: Event<io::Result<usize>>,
}

/// What serving the head of a queue came to.
enum Step<T> {
    /// The op is over: trigger its event with this.
    Done(T),
    /// The fd would block: wait for readiness.
    Block,
}

/// The state behind the handles.
struct Inner {
    /// The fd, until it is closed.
    file: RefCell<Option<File>>,
    /// Its number, for the poller.
    raw: RawFd,
    /// The file status flags to restore at close, if `new` changed them.
    restore: Option<OFlags>,
    reads: RefCell<VecDeque<ReadOp>>,
    writes: RefCell<VecDeque<WriteOp>>,
    /// Per queue (0: reads, 1: writes): a drive is running.
    driving: [Cell<bool>; 2],
    /// Per queue: a readiness event is held by the poller.
    waiting: [Cell<bool>; 2],
    /// Per queue: the poller's hooks on that readiness event (they remove it when it is no
    /// longer live).
    hooks: [RefCell<Vec<Hook>>; 2],
    at_close: RefCell<Vec<Event<()>>>,
    me: Weak<Inner>,
}

fn errno(e: Errno) -> io::Error {
    io::Error::from(e)
}

impl Fd {
    /// Wraps `f`, switching it to non-blocking mode (its former flags come back at close).
    ///
    /// # Errors
    /// If its flags cannot be read or set (`fcntl`).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::os::fd::OwnedFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let fd = tame::fd::Fd::new(OwnedFd::from(a)).unwrap();
    /// assert!(fd.is_open());
    /// ```
    pub fn new(f: OwnedFd) -> io::Result<Fd> {
        let flags = rustix::fs::fcntl_getfl(&f).map_err(errno)?;
        let restore = if flags.contains(OFlags::NONBLOCK) {
            None
        } else {
            rustix::fs::fcntl_setfl(&f, flags | OFlags::NONBLOCK).map_err(errno)?;
            Some(flags)
        };
        let raw = f.as_raw_fd();
        Ok(Fd(Rc::new_cyclic(|me| Inner {
            file: RefCell::new(Some(File::from(f))),
            raw,
            restore,
            reads: RefCell::new(VecDeque::new()),
            writes: RefCell::new(VecDeque::new()),
            driving: [Cell::new(false), Cell::new(false)],
            waiting: [Cell::new(false), Cell::new(false)],
            hooks: [RefCell::new(Vec::new()), RefCell::new(Vec::new())],
            at_close: RefCell::new(Vec::new()),
            me: me.clone(),
        })))
    }

    /// A pipe: `(reading end, writing end)`, both non-blocking and close-on-exec.
    ///
    /// # Errors
    /// If the system is out of file descriptors.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// let (r, w) = tame::fd::Fd::pipe().unwrap();
    /// assert!(r.is_open() && w.is_open());
    /// ```
    pub fn pipe() -> io::Result<(Fd, Fd)> {
        let (r, w) = io::pipe()?;
        Ok((Fd::new(OwnedFd::from(r))?, Fd::new(OwnedFd::from(w))?))
    }

    /// A handle on a duplicate of this process's standard input, so that reading it never
    /// blocks the loop. Its non-blocking mode is shared with stdin itself (see [`Fd`]): close
    /// it when done.
    ///
    /// # Errors
    /// If stdin is closed, or its flags cannot be set.
    ///
    /// ```no_run
    /// # use tame_rt as tame;
    /// use std::{cell::RefCell, rc::Rc};
    /// let stdin = tame::fd::Fd::stdin().unwrap();
    /// let line = Rc::new(RefCell::new(Vec::new()));
    /// let s = stdin.clone();
    /// tame::run(|| stdin.read_once(line.clone(), 4096, tame::Event::from_fn(move |_| s.close())));
    /// ```
    pub fn stdin() -> io::Result<Fd> {
        Fd::new(io::stdin().as_fd().try_clone_to_owned()?)
    }

    /// Appends up to `size` bytes to `buf`, then triggers `done`: with `Ok(())` once `size`
    /// bytes came or at end of file (then fewer: `buf`'s length tells), or with the error of
    /// the `read` that failed. Served after the reads issued before it.
    ///
    /// `buf` grows as bytes come; it is never zero-filled ahead. If `buf` is borrowed when the
    /// read is served, the read completes with an error (`ErrorKind::ResourceBusy`).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// use std::{cell::RefCell, rc::Rc};
    /// let (r, w) = tame::fd::Fd::pipe().unwrap();
    /// let buf = Rc::new(RefCell::new(b"> ".to_vec()));
    /// tame::run(|| {
    ///     r.read(buf.clone(), 3, tame::Event::from_fn(|res: std::io::Result<()>| assert!(res.is_ok())));
    ///     w.write("abcdef", tame::Event::from_fn(|_| {}));
    /// });
    /// assert_eq!(*buf.borrow(), b"> abc");
    /// ```
    pub fn read(&self, buf: Rc<RefCell<Vec<u8>>>, size: usize, done: Event<io::Result<()>>) {
        self.push_read(buf, size, false, done)
    }

    /// As [`read`](Fd::read), but `done` triggers as soon as some bytes were appended (at most
    /// `size`), or at end of file with none.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// use std::{cell::RefCell, rc::Rc};
    /// let (r, w) = tame::fd::Fd::pipe().unwrap();
    /// let buf = Rc::new(RefCell::new(Vec::new()));
    /// tame::run(|| {
    ///     r.read_once(buf.clone(), 4096, tame::Event::from_fn(|res: std::io::Result<()>| assert!(res.is_ok())));
    ///     w.write("hi", tame::Event::from_fn(|_| {}));
    /// });
    /// assert_eq!(*buf.borrow(), b"hi");
    /// ```
    pub fn read_once(&self, buf: Rc<RefCell<Vec<u8>>>, size: usize, done: Event<io::Result<()>>) {
        self.push_read(buf, size, true, done)
    }

    /// Writes all of `data`, then triggers `done` with `Ok(data's length)`, or with the error
    /// of the `write` that failed (`EPIPE` when the reader is gone). Served after the writes
    /// issued before it.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// let (_r, w) = tame::fd::Fd::pipe().unwrap();
    /// tame::run(|| w.write(vec![7u8; 100], tame::Event::from_fn(|n: std::io::Result<usize>| assert_eq!(n.unwrap(), 100))));
    /// ```
    pub fn write(&self, data: impl AsRef<[u8]> + 'static, done: Event<io::Result<usize>>) {
        let mut done = done;
        if self.0.file.borrow().is_none() {
            return done.trigger(Err(errno(Errno::BADF)));
        }
        if !done.is_live() {
            return;
        }
        self.watch(&mut done, 1);
        self.0.writes.borrow_mut().push_back(WriteOp {
            data: Box::new(data),
            off: 0,
            done,
        });
        self.0.drive(1);
    }

    /// Closes the fd: every op pending or queued completes with `ECANCELED` (reads first, then
    /// writes, each in issue order), then the [`at_close`](Fd::at_close) events fire. Later
    /// ops complete with `EBADF`. The fd's former flags are restored before it is closed, and
    /// other events waiting on its number (a [`hangup`](crate::hangup), say) are abandoned.
    /// Closing a closed `Fd` does nothing.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// use std::{cell::RefCell, rc::Rc};
    /// let (r, _w) = tame::fd::Fd::pipe().unwrap();
    /// let got = Rc::new(RefCell::new(Vec::new()));
    /// let (g1, g2) = (got.clone(), got.clone());
    /// tame::run(|| {
    ///     let buf = Rc::new(RefCell::new(Vec::new()));
    ///     r.read(buf.clone(), 1, tame::Event::from_fn(move |res: std::io::Result<()>| {
    ///         g1.borrow_mut().push(res.unwrap_err().raw_os_error())
    ///     }));
    ///     r.close();
    ///     r.read(buf, 1, tame::Event::from_fn(move |res: std::io::Result<()>| {
    ///         g2.borrow_mut().push(res.unwrap_err().raw_os_error())
    ///     }));
    /// });
    /// assert_eq!(*got.borrow(), [Some(125), Some(9)]); // ECANCELED, then EBADF (Linux numbers)
    /// # assert!(cfg!(target_os = "linux"));
    /// ```
    pub fn close(&self) {
        self.0.close();
    }

    /// Triggers `e` when the fd is closed ([`close`](Fd::close), or the last handle dropped),
    /// after the pending ops completed; at once if it is closed already. Events fire in the
    /// order they were added.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// let (r, _w) = tame::fd::Fd::pipe().unwrap();
    /// let closed = tame::Rendezvous::<(), ()>::new();
    /// r.at_close(closed.event(()));
    /// assert_eq!(closed.try_join(), None);
    /// r.close();
    /// assert_eq!(closed.try_join(), Some(((), ())));
    /// ```
    pub fn at_close(&self, e: Event<()>) {
        if self.0.file.borrow().is_none() {
            return e.trigger(());
        }
        self.0.at_close.borrow_mut().push(e);
    }

    /// Shuts down the reading side, the writing side, or both, of a socket (`shutdown(2)`);
    /// the fd stays open.
    ///
    /// # Errors
    /// `ENOTSOCK` if the fd is not a socket (a pipe, say), `EBADF` if the `Fd` is closed, and
    /// the other errors of `shutdown(2)`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use std::os::fd::OwnedFd;
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = tame::fd::Fd::new(OwnedFd::from(a)).unwrap();
    /// a.shutdown(Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0; 8]).unwrap(), 0); // end of file for the peer
    /// let (_r, w) = tame::fd::Fd::pipe().unwrap();
    /// assert!(w.shutdown(Shutdown::Write).is_err()); // not a socket
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let file = self.0.file.borrow();
        let Some(f) = file.as_ref() else {
            return Err(errno(Errno::BADF));
        };
        let how = match how {
            Shutdown::Read => rustix::net::Shutdown::Read,
            Shutdown::Write => rustix::net::Shutdown::Write,
            Shutdown::Both => rustix::net::Shutdown::Both,
        };
        rustix::net::shutdown(f, how).map_err(errno)
    }

    /// Whether the fd is still open (not closed by [`close`](Fd::close)).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no pipes
    /// let (r, _w) = tame::fd::Fd::pipe().unwrap();
    /// let other = r.clone();
    /// r.close();
    /// assert!(!other.is_open()); // handles share one fd
    /// ```
    pub fn is_open(&self) -> bool {
        self.0.file.borrow().is_some()
    }

    fn push_read(
        &self,
        buf: Rc<RefCell<Vec<u8>>>,
        size: usize,
        once: bool,
        done: Event<io::Result<()>>,
    ) {
        let mut done = done;
        if self.0.file.borrow().is_none() {
            return done.trigger(Err(errno(Errno::BADF)));
        }
        if !done.is_live() {
            return;
        }
        self.watch(&mut done, 0);
        self.0.reads.borrow_mut().push_back(ReadOp {
            buf,
            left: size,
            once,
            done,
        });
        self.0.drive(0);
    }

    /// An op's `done` that loses its receiver makes the op leave queue `q` at once.
    fn watch<T>(&self, done: &mut Event<T>, q: usize) {
        let me = Rc::downgrade(&self.0);
        done.on_cancel(move || {
            if let Some(inner) = me.upgrade() {
                inner.prune(q);
            }
        });
    }
}

impl Inner {
    /// Serves queue `q` (0: reads, 1: writes) until it is empty or the fd would block.
    fn drive(&self, q: usize) {
        if self.driving[q].get() || self.waiting[q].get() {
            return; // the running drive, or the readiness event, goes on with it
        }
        self.driving[q].set(true);
        loop {
            let step = if q == 0 {
                self.serve_read()
            } else {
                self.serve_write()
            };
            match step {
                Some(Step::Done(finish)) => finish(), // outside every borrow: may run user code
                Some(Step::Block) => {
                    self.waiting[q].set(true);
                    let me = self.me.upgrade().expect("an Fd being served is alive");
                    // Internal: dropping it (a deregistration) is no leak.
                    let ev = Event::new(Target::Slot {
                        sink: me as Rc<dyn Sink<()>>,
                        slot: q as u32,
                    })
                    .volatile();
                    let d = if q == 0 {
                        Direction::Read
                    } else {
                        Direction::Write
                    };
                    crate::io::wait_owned(&self.raw, d, ev);
                    if self.waiting[q].get() {
                        break; // the poller holds the event; its trigger drives on
                    }
                    // Ready at once (a remembered edge, or an fd that cannot be polled).
                }
                None => break,
            }
        }
        self.driving[q].set(false);
    }

    /// One step of the head read: `None` if no read is queued.
    #[allow(clippy::type_complexity)]
    fn serve_read(&self) -> Option<Step<Box<dyn FnOnce()>>> {
        let mut reads = self.reads.borrow_mut();
        // Ops whose receiver is gone leave first (dropped after the borrow).
        let mut dead = Vec::new();
        while reads.front().is_some_and(|op| !op.done.is_live()) {
            dead.extend(reads.pop_front());
        }
        let Some(op) = reads.front_mut() else {
            drop(reads);
            drop(dead);
            return None;
        };
        let outcome = self.read_into(op);
        let step = match outcome {
            None => Step::Block,
            Some(res) => {
                let op = reads.pop_front().expect("the head read");
                let done = op.done;
                Step::Done(Box::new(move || done.trigger(res)) as Box<dyn FnOnce()>)
            }
        };
        drop(reads);
        drop(dead);
        Some(step)
    }

    /// Reads for `op`: `Some(result)` when it is over, `None` if the fd would block first.
    fn read_into(&self, op: &mut ReadOp) -> Option<io::Result<()>> {
        let file = self.file.borrow();
        let f = file.as_ref()?;
        let Ok(mut buf) = op.buf.try_borrow_mut() else {
            return Some(Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "tame::fd: the read's buffer was borrowed when the read was served",
            )));
        };
        while op.left > 0 {
            let before = buf.len();
            // `read_to_end` through `take` fills the buffer's spare capacity without zeroing
            // it, stops at `left` bytes or end of file, and keeps what it read before a
            // `WouldBlock`.
            let res = f.take(op.left as u64).read_to_end(&mut buf);
            let got = buf.len() - before;
            op.left -= got;
            match res {
                Ok(_) if op.left > 0 => return Some(Ok(())), // end of file
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if op.once && got > 0 {
                        return Some(Ok(()));
                    }
                    return None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
            if op.once && got > 0 {
                break;
            }
        }
        Some(Ok(()))
    }

    /// One step of the head write: `None` if no write is queued.
    #[allow(clippy::type_complexity)]
    fn serve_write(&self) -> Option<Step<Box<dyn FnOnce()>>> {
        let mut writes = self.writes.borrow_mut();
        let mut dead = Vec::new();
        while writes.front().is_some_and(|op| !op.done.is_live()) {
            dead.extend(writes.pop_front());
        }
        let Some(op) = writes.front_mut() else {
            drop(writes);
            drop(dead);
            return None;
        };
        let outcome = self.write_from(op);
        let step = match outcome {
            None => Step::Block,
            Some(res) => {
                let op = writes.pop_front().expect("the head write");
                let done = op.done;
                Step::Done(Box::new(move || done.trigger(res)) as Box<dyn FnOnce()>)
            }
        };
        drop(writes);
        drop(dead);
        Some(step)
    }

    /// Writes for `op`: `Some(result)` when it is over, `None` if the fd would block first.
    fn write_from(&self, op: &mut WriteOp) -> Option<io::Result<usize>> {
        let file = self.file.borrow();
        let mut f = file.as_ref()?;
        let data = (*op.data).as_ref();
        while op.off < data.len() {
            match f.write(&data[op.off..]) {
                Ok(0) => return Some(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => op.off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(data.len()))
    }

    /// Drops the ops of queue `q` whose receiver is gone; if no live op is left, the
    /// readiness wait goes too (its hooks remove it from the poller).
    fn prune(&self, q: usize) {
        let dead: Vec<Box<dyn std::any::Any>> = if q == 0 {
            let mut reads = self.reads.borrow_mut();
            let (live, dead): (VecDeque<_>, VecDeque<_>) =
                reads.drain(..).partition(|op| op.done.is_live());
            *reads = live;
            dead.into_iter()
                .map(|op| Box::new(op) as Box<dyn std::any::Any>)
                .collect()
        } else {
            let mut writes = self.writes.borrow_mut();
            let (live, dead): (VecDeque<_>, VecDeque<_>) =
                writes.drain(..).partition(|op| op.done.is_live());
            *writes = live;
            dead.into_iter()
                .map(|op| Box::new(op) as Box<dyn std::any::Any>)
                .collect()
        };
        drop(dead);
        if self.waiting[q].get() && !self.has_live(q) {
            let hooks = std::mem::take(&mut *self.hooks[q].borrow_mut());
            for h in hooks {
                h.run();
            }
        }
    }

    fn has_live(&self, q: usize) -> bool {
        if q == 0 {
            self.reads.borrow().iter().any(|op| op.done.is_live())
        } else {
            self.writes.borrow().iter().any(|op| op.done.is_live())
        }
    }

    fn close(&self) {
        let Some(file) = self.file.borrow_mut().take() else {
            return;
        };
        let reads = std::mem::take(&mut *self.reads.borrow_mut());
        let writes = std::mem::take(&mut *self.writes.borrow_mut());
        // Out of the poller (its readiness events are dropped, and the `hangup` waits on it,
        // on purpose: no leak report) while the number is still this fd's; then the flags
        // back; then the fd is closed.
        crate::event::silently(|| crate::io::deregister(&self.raw));
        if let Some(flags) = self.restore {
            // Nothing useful to do if it fails: the fd is being closed.
            let _ = rustix::fs::fcntl_setfl(&file, flags);
        }
        drop(file);
        for op in reads {
            op.done.trigger(Err(errno(Errno::CANCELED)));
        }
        for op in writes {
            op.done.trigger(Err(errno(Errno::CANCELED)));
        }
        let closed = std::mem::take(&mut *self.at_close.borrow_mut());
        for e in closed {
            e.trigger(());
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl Sink<()> for Inner {
    /// The fd is ready for queue `slot`: serve it.
    fn trigger(&self, slot: u32, (): ()) {
        let q = slot as usize;
        self.waiting[q].set(false);
        drop(std::mem::take(&mut *self.hooks[q].borrow_mut()));
        self.drive(q);
    }

    /// The poller dropped the wait (the fd was deregistered, or the run unwound).
    fn abandon(&self, slot: u32) {
        let q = slot as usize;
        self.waiting[q].set(false);
        drop(std::mem::take(&mut *self.hooks[q].borrow_mut()));
    }

    fn is_live(&self, slot: u32) -> bool {
        self.has_live(slot as usize)
    }

    fn on_cancel(&self, slot: u32, hook: Hook) {
        self.hooks[slot as usize].borrow_mut().push(hook);
    }

    fn as_waiting(self: Rc<Self>) -> Rc<dyn Waiting> {
        self
    }
}

impl Waiting for Inner {
    /// The call waiting for the head op of either queue (a backtrace goes through the fd).
    fn waiting(&self) -> Option<Rc<dyn crate::event::Frame>> {
        #[cfg(debug_assertions)]
        {
            let reads = self.reads.try_borrow().ok()?;
            if let Some(op) = reads.front() {
                return op.done.find_caller()?.find();
            }
            let writes = self.writes.try_borrow().ok()?;
            writes.front()?.done.find_caller()?.find()
        }
        #[cfg(not(debug_assertions))]
        None
    }
}
