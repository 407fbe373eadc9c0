//! [`BufReader`]: lines, delimited records and exact byte counts from a TCP stream, through a
//! buffer that belongs to the reader, not to any one read, so what arrived is never lost when
//! a read is cancelled.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;

use tame_macros::tamed;

use super::TcpStream;
use crate::event::Event;
use crate::rendezvous::Rendezvous;
use crate::sync::{Mutex, MutexGuard};

/// The longest line [`BufReader::read_line`] and [`BufReader::read_until`] accept unless
/// told otherwise: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 << 10;

/// How much a [`BufReader`] asks the socket for at a time unless told otherwise: 8 KiB.
const DEFAULT_CAPACITY: usize = 8 << 10;

/// The most room a [`BufReader::read_exact`] adds to the buffer for one read.
const READ_EXACT_STEP: usize = 64 << 10;

/// Bytes received and not yet delivered: `bytes[start..end]`.
///
/// Invariant: `start <= end <= bytes.len()`, and `start == end` only as `0 == 0` (an empty
/// buffer starts at the front). Every byte of `bytes` is initialised: its length only grows,
/// zero-filled as it does, and reads go to `bytes[end..]`, so a read zero-fills nothing.
struct Buffer {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buffer {
    fn data(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    fn len(&self) -> usize {
        self.end - self.start
    }

    /// Removes the first `n` buffered bytes and returns them.
    fn take(&mut self, n: usize) -> Vec<u8> {
        debug_assert!(n <= self.len());
        let v = self.bytes[self.start..self.start + n].to_vec();
        self.start += n;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        v
    }

    /// One `read` from `stream` with room for at least `room` more bytes; `Ok(0)` is the end
    /// of the stream (or an error, `WouldBlock` included).
    fn fill(&mut self, stream: &TcpStream, room: usize) -> io::Result<usize> {
        if self.bytes.len() - self.end < room {
            if self.start > 0 {
                self.bytes.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            if self.bytes.len() - self.end < room {
                self.bytes.resize(self.end + room, 0);
            }
        }
        let n = stream.try_read(&mut self.bytes[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

/// What a read waits for.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Up to and including this byte, or to the end of the stream.
    Until(u8),
    /// Exactly this many bytes.
    Exact(usize),
}

/// What a read does next, given what is buffered.
enum Next {
    /// Deliver the first `n` buffered bytes.
    Deliver(usize),
    /// Fail without consuming anything.
    Fail(io::Error),
    /// Read more, with room for this many bytes.
    Read(usize),
}

struct Inner {
    stream: Rc<TcpStream>,
    buf: RefCell<Buffer>,
    /// Reads take turns, in the order they were asked for: one at a time owns the buffer
    /// until it delivers, fails or is cancelled.
    turn: Mutex,
    /// How much to ask the socket for at a time (at least 1).
    chunk: usize,
    max_line: Cell<usize>,
}

impl Inner {
    /// What `want` does next. `scanned`: how much of the buffer a previous step of the same
    /// read already searched for the delimiter.
    fn next(&self, want: Want, scanned: &mut usize) -> Next {
        let buf = self.buf.borrow();
        let data = buf.data();
        match want {
            Want::Until(byte) => {
                let limit = data.len().min(self.max_line.get());
                let from = (*scanned).min(limit);
                if let Some(i) = data[from..limit].iter().position(|&b| b == byte) {
                    return Next::Deliver(from + i + 1);
                }
                *scanned = limit;
                if data.len() >= self.max_line.get() {
                    return Next::Fail(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("line longer than {} bytes", self.max_line.get()),
                    ));
                }
                Next::Read(self.chunk)
            }
            Want::Exact(n) if data.len() >= n => Next::Deliver(n),
            // Room for what is missing, but at most READ_EXACT_STEP more at a time: the buffer
            // grows with what arrives, never to an `n` that the peer may have chosen.
            Want::Exact(n) => Next::Read(self.chunk.max((n - data.len()).min(READ_EXACT_STEP))),
        }
    }
}

/// A buffered reader over a [`TcpStream`]: [`read_line`](BufReader::read_line),
/// [`read_until`](BufReader::read_until) and [`read_exact`](BufReader::read_exact), each
/// delivering through an [`Event`], with a buffer that belongs to the reader.
///
/// - **What arrived stays.** A read takes from the socket what is there and keeps it in the
///   reader's buffer until it has what it waits for. A read that is cancelled (an
///   [`add_timeout`](crate::add_timeout) around it fired, its caller ended) consumes nothing:
///   the bytes it had received are there for the next read. So a timeout never cuts a line
///   in two.
/// - **One read at a time, in order.** Reads asked for while another is under way wait their
///   turn, and are served in the order they were asked for. A waiting read that is cancelled
///   leaves the line at once, without holding up the ones behind it.
/// - **End of stream as std's `BufRead`.** `read_until` and `read_line` deliver what is left
///   (without the delimiter) when the stream ends, and then an empty result at every call;
///   `read_exact` fails with `UnexpectedEof` and consumes nothing.
/// - **Limits.** A line (or record) longer than [`max_line`](BufReader::max_line) bytes,
///   delimiter included, fails with `InvalidData` and consumes nothing (close the connection,
///   or [`take_buffered`](BufReader::take_buffered) to skip it). `read_exact` has no limit
///   but the `n` it is given, and grows the buffer with what arrives, never ahead of it: a
///   huge `n` (a length the peer sent, say) costs nothing until the bytes come.
///
/// The buffer grows, zero-filled once, to hold the longest line or `read_exact` asked of it,
/// and keeps that size; a read costs no zero-fill. `BufReader` is a cheap handle (`Clone`):
/// clones share the buffer and the turn. Write to the stream through the `Rc<TcpStream>` it
/// was made from.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io::Write;
/// use std::rc::Rc;
/// use tame::net::{BufReader, TcpListener};
///
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
/// # std::thread::sleep(std::time::Duration::from_millis(10));
/// let (server, _) = l.try_accept().unwrap();
/// client.write_all(b"HELO there\nrest").unwrap();
/// drop(client);
///
/// let reader = BufReader::new(Rc::new(server));
/// let r = tame::Rendezvous::<u8, _>::new();
/// tame::run(|| {
///     reader.read_line(r.event(1));
///     reader.read_line(r.event(2)); // served after the first
///     reader.read_line(r.event(3));
/// });
/// let lines: Vec<_> = std::iter::from_fn(|| r.try_join()).map(|(_, l)| l.unwrap()).collect();
/// assert_eq!(lines, ["HELO there\n", "rest", ""]); // "" is the end of the stream
/// ```
#[derive(Clone)]
pub struct BufReader {
    inner: Rc<Inner>,
}

impl fmt::Debug for BufReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("stream", &self.inner.stream)
            .field("buffered", &self.buffered())
            .field("max_line", &self.max_line())
            .finish()
    }
}

impl BufReader {
    /// A reader over `stream` that asks the socket for 8 KiB at a time, with lines up to
    /// [`DEFAULT_MAX_LINE`] bytes.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let reader = tame::net::BufReader::new(std::rc::Rc::new(s));
    /// assert_eq!(reader.buffered(), 0);
    /// ```
    pub fn new(stream: Rc<TcpStream>) -> Self {
        BufReader::with_capacity(DEFAULT_CAPACITY, stream)
    }

    /// A reader that asks the socket for `capacity` bytes at a time (at least 1), or more when
    /// a [`read_exact`](BufReader::read_exact) needs more.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let reader = tame::net::BufReader::with_capacity(512, std::rc::Rc::new(s));
    /// assert_eq!(reader.buffered(), 0);
    /// ```
    pub fn with_capacity(capacity: usize, stream: Rc<TcpStream>) -> Self {
        BufReader {
            inner: Rc::new(Inner {
                stream,
                buf: RefCell::new(Buffer {
                    bytes: Vec::new(),
                    start: 0,
                    end: 0,
                }),
                turn: Mutex::new(),
                chunk: capacity.max(1),
                max_line: Cell::new(DEFAULT_MAX_LINE),
            }),
        }
    }

    /// The longest line, delimiter included, that [`read_line`](BufReader::read_line) and
    /// [`read_until`](BufReader::read_until) accept; [`DEFAULT_MAX_LINE`] at first.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let reader = tame::net::BufReader::new(std::rc::Rc::new(s));
    /// assert_eq!(reader.max_line(), tame::net::DEFAULT_MAX_LINE);
    /// ```
    pub fn max_line(&self) -> usize {
        self.inner.max_line.get()
    }

    /// Sets the longest line accepted, delimiter included; it applies to the reads that look
    /// at the buffer after this call, those under way included.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let reader = tame::net::BufReader::new(std::rc::Rc::new(s));
    /// reader.set_max_line(1024);
    /// assert_eq!(reader.max_line(), 1024);
    /// ```
    pub fn set_max_line(&self, max: usize) {
        self.inner.max_line.set(max);
    }

    /// The stream this reader reads from.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::rc::Rc;
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = Rc::new(tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap());
    /// let reader = tame::net::BufReader::new(s.clone());
    /// assert!(Rc::ptr_eq(reader.stream(), &s));
    /// ```
    pub fn stream(&self) -> &Rc<TcpStream> {
        &self.inner.stream
    }

    /// How many bytes have been received and not yet delivered.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(tame::net::BufReader::new(std::rc::Rc::new(s)).buffered(), 0);
    /// ```
    pub fn buffered(&self) -> usize {
        self.inner.buf.borrow().len()
    }

    /// Removes and returns every byte received and not yet delivered: to skip a line that
    /// is too long, or to go on reading the stream another way.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::Write;
    /// use std::rc::Rc;
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// let (server, _) = l.try_accept().unwrap();
    /// client.write_all(b"one\ntwo\n").unwrap();
    /// let reader = tame::net::BufReader::new(Rc::new(server));
    /// let r = tame::Rendezvous::<(), _>::new();
    /// tame::run(|| reader.read_line(r.event(())));
    /// assert_eq!(r.try_join().unwrap().1.unwrap(), "one\n");
    /// assert_eq!(reader.take_buffered(), b"two\n");
    /// assert_eq!(reader.buffered(), 0);
    /// ```
    pub fn take_buffered(&self) -> Vec<u8> {
        let mut buf = self.inner.buf.borrow_mut();
        let n = buf.len();
        buf.take(n)
    }

    /// Reads up to and including the next `byte`: `done` gets those bytes, delimiter
    /// included; what is left if the stream ends first; an empty `Vec` at the end of the
    /// stream; `InvalidData` (nothing consumed) if more than [`max_line`](BufReader::max_line)
    /// bytes come before the delimiter; or the socket's error (nothing consumed).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::Write;
    /// use std::rc::Rc;
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// let (server, _) = l.try_accept().unwrap();
    /// client.write_all(b"key\0value\0").unwrap();
    /// let reader = tame::net::BufReader::new(Rc::new(server));
    /// let r = tame::Rendezvous::<(), _>::new();
    /// tame::run(|| reader.read_until(0, r.event(())));
    /// assert_eq!(r.try_join().unwrap().1.unwrap(), b"key\0");
    /// ```
    pub fn read_until(&self, byte: u8, done: Event<io::Result<Vec<u8>>>) {
        read_op(self.inner.clone(), Want::Until(byte), Ok, done);
    }

    /// Reads a line: as [`read_until`](BufReader::read_until) with `b'\n'`, as a `String`.
    /// An empty string is the end of the stream. A line that is not UTF-8 fails with
    /// `InvalidData` and is consumed, as std's `read_line` does.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::Write;
    /// use std::rc::Rc;
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// let (server, _) = l.try_accept().unwrap();
    /// client.write_all(b"hello\r\n").unwrap();
    /// let reader = tame::net::BufReader::new(Rc::new(server));
    /// let r = tame::Rendezvous::<(), _>::new();
    /// tame::run(|| reader.read_line(r.event(())));
    /// assert_eq!(r.try_join().unwrap().1.unwrap(), "hello\r\n");
    /// ```
    pub fn read_line(&self, done: Event<io::Result<String>>) {
        read_op(self.inner.clone(), Want::Until(b'\n'), utf8, done);
    }

    /// Reads exactly `n` bytes: `done` gets them, or `UnexpectedEof` if the stream ends
    /// first, or the socket's error; a failure consumes nothing.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::Write;
    /// use std::rc::Rc;
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// let (server, _) = l.try_accept().unwrap();
    /// client.write_all(b"\x00\x03abc").unwrap();
    /// let reader = tame::net::BufReader::new(Rc::new(server));
    /// let r = tame::Rendezvous::<(), _>::new();
    /// tame::run(|| reader.read_exact(2, r.event(())));
    /// assert_eq!(r.try_join().unwrap().1.unwrap(), [0, 3]);
    /// ```
    pub fn read_exact(&self, n: usize, done: Event<io::Result<Vec<u8>>>) {
        read_op(self.inner.clone(), Want::Exact(n), Ok, done);
    }
}

fn utf8(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// One read of a [`BufReader`]: waits its turn, then reads until `want` is met, and delivers
/// `finish` of the bytes.
#[tamed(crate = crate)]
fn read_op<T: 'static>(
    inner: Rc<Inner>,
    want: Want,
    finish: fn(Vec<u8>) -> io::Result<T>,
    done: Event<io::Result<T>>,
) {
    let turn: Rendezvous<(), MutexGuard> = Rendezvous::new();
    inner.turn.lock(turn.event(()));
    // If `done`'s receiver is cancelled while this waits, the call ends here, leaving the
    // line: `turn`, dropped with it, drops the lock's event (or the guard, if granted).
    let granted = twait!(turn);
    let Some(((), _turn)) = granted else { return };
    let ready: Rendezvous<(), ()> = Rendezvous::new();
    let mut scanned = 0;
    loop {
        let room = match inner.next(want, &mut scanned) {
            Next::Deliver(n) => {
                if !done.is_live() {
                    return; // nobody to tell: consume nothing
                }
                let bytes = inner.buf.borrow_mut().take(n);
                return done.trigger(finish(bytes));
            }
            Next::Fail(e) => return done.trigger(Err(e)),
            Next::Read(room) => room,
        };
        let res = inner.buf.borrow_mut().fill(&inner.stream, room);
        match res {
            Ok(0) => {
                if !done.is_live() {
                    return;
                }
                let mut buf = inner.buf.borrow_mut();
                let res = match want {
                    Want::Until(_) => {
                        let n = buf.len();
                        finish(buf.take(n))
                    }
                    Want::Exact(_) => Err(io::ErrorKind::UnexpectedEof.into()),
                };
                drop(buf);
                return done.trigger(res);
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return done.trigger(Err(e)),
        }
        inner.stream.readable(ready.event(()));
        // If `done`'s receiver is cancelled, the call ends here: what was read stays in the
        // buffer, `ready`'s drop removes the fd interest, and `_turn`'s passes the turn on.
        twait!(ready);
    }
}
