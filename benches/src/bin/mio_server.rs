//! mio_server: the baseline for "the limit of the event approach" in `benches/web.sh`: a
//! static file server written by hand on mio, one thread, no runtime.
//!
//! The shape an expert writes: a `Vec` of connections indexed by token (with a free list),
//! edge-triggered readiness remembered per connection, a read buffer that is parsed for every
//! pipelined request it holds, answers queued as slices (heads and small bodies in one buffer,
//! larger cached bodies shared, not copied) and written with `writev`, partial writes resumed
//! where they stopped.
//! A short read or write means the socket is drained or full, so the next try waits for the
//! next edge instead of costing an `EAGAIN` system call. Idle connections are swept once a
//! second, not timed one by one.
//!
//! Run: `mio_server --root DIR --addr 127.0.0.1:8080`.

#[path = "../web_baseline.rs"]
mod web;

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use web::{File, Parsed};

const SERVER: &str = "mio";
const LISTENER: Token = Token(usize::MAX);
/// Size of a new connection's read buffer; it grows (up to twice the largest head) only for
/// heads that do not fit.
const READ_BUF: usize = 4 * 1024;
/// Bodies up to this size are copied next to their head: for the kernel, one contiguous
/// buffer is a little cheaper than a two-slice `writev` (measured on 1 KiB answers); larger
/// bodies are written from the cache by `writev`, never copied.
const COPY_MAX: usize = 4 * 1024;
/// Slices handed to one `writev`.
const IOV_MAX: usize = 64;
/// How often idle connections are looked for.
const SWEEP: Duration = Duration::from_secs(1);
/// How long to wait before accepting again after `accept` failed (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Loaded files by request target, kept after their first request.
struct Files {
    root: PathBuf,
    map: HashMap<String, Rc<File>>,
}

impl Files {
    fn get(&mut self, target: &str) -> Option<Rc<File>> {
        if let Some(f) = self.map.get(target) {
            return Some(f.clone());
        }
        let loaded = web::load(&self.root, target)?;
        let file = Rc::new(loaded.file);
        if loaded.cache {
            self.map.insert(target.to_string(), file.clone());
        }
        Some(file)
    }
}

/// One part of the output queue.
enum Piece {
    /// `out[start..end]`: heads and error answers.
    Bytes(usize, usize),
    /// A file's contents, shared with the cache.
    Body(Rc<File>),
}

struct Conn {
    sock: TcpStream,
    /// Always initialised to its length; `input[start..end]` is read and not yet parsed.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// The bytes that `Piece::Bytes` point into; cleared when the queue is empty.
    out: Vec<u8>,
    /// What is still to be written, in order; the first piece's first `sent` bytes are out.
    queue: VecDeque<Piece>,
    sent: usize,
    /// Bytes of answers queued (for the bound on pipelined answers).
    queued: usize,
    /// Whether the last readiness edge has not been used up by a read or write that stopped
    /// short (edge-triggered: no new event comes until then).
    readable: bool,
    writable: bool,
    /// Close once the queue is written.
    close: bool,
    /// Last time a byte was read or written, for the idle sweep.
    last: Instant,
}

impl Conn {
    fn new(sock: TcpStream, now: Instant) -> Conn {
        Conn {
            sock,
            input: vec![0; READ_BUF],
            start: 0,
            end: 0,
            out: Vec::new(),
            queue: VecDeque::new(),
            sent: 0,
            queued: 0,
            readable: false,
            writable: false,
            close: false,
            last: now,
        }
    }

    /// Does everything the socket's readiness allows: write, answer what is read, read.
    /// Returns `false` when the connection is done.
    fn drive(&mut self, files: &mut Files, now: Instant) -> bool {
        loop {
            if !self.queue.is_empty() {
                if !self.writable {
                    return true;
                }
                match self.flush(now) {
                    Ok(true) => {}
                    Ok(false) => return true,
                    Err(_) => return false,
                }
            }
            if self.close {
                let _ = self.sock.shutdown(Shutdown::Write);
                return false;
            }
            if self.answer(files) {
                continue;
            }
            if !self.readable {
                return true;
            }
            if self.start == self.end {
                (self.start, self.end) = (0, 0);
            } else if self.end == self.input.len() {
                if self.start > 0 {
                    self.input.copy_within(self.start..self.end, 0);
                    (self.start, self.end) = (0, self.end - self.start);
                } else if self.input.len() < 2 * web::MAX_HEAD {
                    self.input.resize(2 * self.input.len(), 0);
                }
            }
            let room = self.input.len() - self.end;
            match self.sock.read(&mut self.input[self.end..]) {
                Ok(0) => return false,
                Ok(n) => {
                    self.end += n;
                    self.last = now;
                    self.readable = n == room;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// Queues answers to the complete requests in the input, up to [`web::QUEUE_MAX`] bytes;
    /// returns whether it queued any.
    fn answer(&mut self, files: &mut Files) -> bool {
        let mut any = false;
        while self.queued < web::QUEUE_MAX && !self.close && self.start < self.end {
            let from = self.out.len();
            match web::parse(&self.input[self.start..self.end]) {
                Parsed::Partial => break,
                Parsed::Error(status) => {
                    web::error(&mut self.out, SERVER, status, 1, false, false);
                    push_bytes(&mut self.queue, from, self.out.len());
                    self.close = true;
                }
                Parsed::Request(req) => {
                    let file = match req.method {
                        web::Method::Other => None,
                        _ => files.get(req.target),
                    };
                    let body = web::respond(&mut self.out, SERVER, &req, file.as_deref());
                    push_bytes(&mut self.queue, from, self.out.len());
                    self.queued += self.out.len() - from;
                    if let (true, Some(f)) = (body, file) {
                        self.queued += f.body.len();
                        if f.body.len() <= COPY_MAX {
                            let at = self.out.len();
                            self.out.extend_from_slice(&f.body);
                            push_bytes(&mut self.queue, at, self.out.len());
                        } else {
                            self.queue.push_back(Piece::Body(f));
                        }
                    }
                    self.close = !req.keep_alive;
                    self.start += req.len;
                }
            }
            any = true;
        }
        any
    }

    /// Writes the queue with `writev` until it is empty (`Ok(true)`) or the socket is full
    /// (`Ok(false)`).
    fn flush(&mut self, now: Instant) -> io::Result<bool> {
        while !self.queue.is_empty() {
            let mut iov = [IoSlice::new(&[]); IOV_MAX];
            let mut n = 0;
            let mut want = 0;
            for (slot, piece) in iov.iter_mut().zip(&self.queue) {
                let bytes = match piece {
                    Piece::Bytes(a, b) => &self.out[*a..*b],
                    Piece::Body(f) => &f.body[..],
                };
                let bytes = if n == 0 { &bytes[self.sent..] } else { bytes };
                want += bytes.len();
                *slot = IoSlice::new(bytes);
                n += 1;
            }
            let mut written = match self.sock.write_vectored(&iov[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.last = now;
            if written < want {
                self.writable = false; // the send buffer is full: wait for the next edge
            }
            while written > 0 {
                let len = match &self.queue[0] {
                    Piece::Bytes(a, b) => b - a,
                    Piece::Body(f) => f.body.len(),
                } - self.sent;
                if written < len {
                    self.sent += written;
                    break;
                }
                written -= len;
                self.sent = 0;
                self.queue.pop_front();
            }
            if !self.writable && !self.queue.is_empty() {
                return Ok(false);
            }
        }
        self.out.clear();
        self.queued = 0;
        Ok(true)
    }
}

/// Queues `out[from..to]`, merged with the last piece when that is the bytes just before.
fn push_bytes(queue: &mut VecDeque<Piece>, from: usize, to: usize) {
    if let Some(Piece::Bytes(_, end)) = queue.back_mut()
        && *end == from
    {
        *end = to;
        return;
    }
    queue.push_back(Piece::Bytes(from, to));
}

/// The connections, indexed by token; freed slots are reused.
#[derive(Default)]
struct Conns {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
}

impl Conns {
    fn insert(&mut self, conn: Conn) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(conn);
                i
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if self.slots[i].take().is_some() {
            self.free.push(i);
        }
    }
}

/// Accepts until `WouldBlock`; returns `false` if `accept` failed otherwise (retry later).
fn accept_all(listener: &TcpListener, poll: &Poll, conns: &mut Conns, now: Instant) -> bool {
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                let _ = sock.set_nodelay(true);
                let i = conns.insert(Conn::new(sock, now));
                let conn = conns.slots[i].as_mut().expect("just inserted");
                let interest = Interest::READABLE | Interest::WRITABLE;
                if poll
                    .registry()
                    .register(&mut conn.sock, Token(i), interest)
                    .is_err()
                {
                    conns.remove(i);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                eprintln!("mio_server: accept: {e}; retrying in {ACCEPT_BACKOFF:?}");
                return false;
            }
        }
    }
}

fn run(root: &Path, addr: std::net::SocketAddr) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    eprintln!(
        "mio_server: serving {} at http://{}/",
        root.display(),
        listener.local_addr()?
    );
    let mut files = Files {
        root: root.to_path_buf(),
        map: HashMap::new(),
    };
    let mut conns = Conns::default();
    let mut events = Events::with_capacity(1024);
    let mut accepting = true; // false while backing off after an accept error
    let mut next_sweep = Instant::now() + SWEEP;
    loop {
        let timeout = if accepting { SWEEP } else { ACCEPT_BACKOFF };
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let now = Instant::now();
        for ev in events.iter() {
            if ev.token() == LISTENER {
                accepting = accept_all(&listener, &poll, &mut conns, now);
                continue;
            }
            let i = ev.token().0;
            let Some(conn) = conns.slots.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                conn.readable = true;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                conn.writable = true;
            }
            if !conn.drive(&mut files, now) {
                conns.remove(i);
            }
        }
        if !accepting {
            accepting = accept_all(&listener, &poll, &mut conns, now);
        }
        if now >= next_sweep {
            next_sweep = now + SWEEP;
            for i in 0..conns.slots.len() {
                if conns.slots[i]
                    .as_ref()
                    .is_some_and(|c| now.duration_since(c.last) > web::IDLE)
                {
                    conns.remove(i);
                }
            }
        }
    }
}

fn main() {
    let opts = web::options(
        "mio_server",
        "a static file server by hand on mio (a baseline of benches/web.sh)",
    );
    if let Err(e) = run(&opts.root, opts.addr) {
        eprintln!("mio_server: {e}");
        std::process::exit(1);
    }
}
