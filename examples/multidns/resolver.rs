//! A DNS stub resolver on the tame loop: one UDP socket, many queries in flight.
//!
//! [`Resolver::lookup`] sends one query and hands back its answer through an [`Event`], so a
//! tamed function waits for it with `twait!` like for anything else, and wraps it in
//! [`tame::add_timeout`] to bound it. There is no timer and no retry inside: the caller decides
//! both (multidns retries with [`tame::add_timeout`] around each attempt).
//!
//! How it works:
//! - Every query gets a random 16-bit id that no other query in flight has. The pending
//!   queries sit in a table keyed by id, each with its question and its `done` event.
//! - The socket is connected to the server: the kernel drops datagrams from anywhere else,
//!   and an ICMP error about the server (a closed port) comes back as an error on the next
//!   send or receive, which fails every query in flight at once (`UNREACHABLE`).
//! - At most [`Resolver::room`] queries are on the wire at once: as many replies as the
//!   socket's receive buffer holds. The buffer is sized for the caller's window where the
//!   system allows; queries beyond the room wait in a queue (`pump`) and go out as replies
//!   come in or queries are given up. So a large window never loses replies to a full buffer.
//! - One tamed function, [`receive`], reads the socket while any query is pending: it drains
//!   the socket until `WouldBlock` (readiness is edge-triggered), hands each datagram to
//!   [`Inner::dispatch`], and waits readable again. It ends when the table is empty, and
//!   the next `lookup` starts it again, so an idle resolver keeps nothing on the loop.
//! - A reply is trusted only if it carries the id of a pending query, is a response, and
//!   repeats that query's question (name, type, class). Anything else is counted in
//!   [`Stats`] and ignored: the query keeps waiting for the real answer. This is what stops a
//!   blind spoofer, or a late answer to a forgotten query whose id was reused, from being
//!   taken as the answer.
//! - Each `done` event gets an `on_cancel` hook: when [`tame::add_timeout`] gives up on the
//!   query (or its receiver goes away), the query is removed from the table at once. Its id
//!   and question are remembered for a while (the last 4,096 given up): a reply to it that
//!   comes late answers the same name's next attempt, if one is in flight.
//! - A truncated reply (the `TC` bit) hands the query to [`ask_over_tcp`], which asks again
//!   over a TCP connection of its own, as the same lookup (the caller's timeout covers both).
//!
//! DNS messages are built and parsed by the `simple-dns` crate.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::{Rc, Weak};

use simple_dns::rdata::RData;
use simple_dns::{
    CLASS, Name, OPCODE, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, TYPE, header_buffer,
};
use tame::net::{TcpStream, UdpSocket};
use tame::{Event, Rendezvous, tamed};

/// Largest datagram read. Without EDNS a server sends at most 512 bytes over UDP; a larger
/// buffer costs nothing and keeps an oversized reply from being cut and misread.
const MAX_DATAGRAM: usize = 65_535;

/// The record type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
}

impl QueryType {
    fn rtype(self) -> TYPE {
        match self {
            QueryType::A => TYPE::A,
            QueryType::Aaaa => TYPE::AAAA,
        }
    }
}

/// Why a lookup has no addresses. `Display` gives the word multidns prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (`NXDOMAIN`).
    NxDomain,
    /// The name exists but has no record of the type asked for (`NOERROR`, empty answer).
    NoData,
    /// The server failed to answer (`SERVFAIL`).
    ServFail,
    /// The server refused the query (`REFUSED`).
    Refused,
    /// Any other response code (`FORMERR`, `NOTIMP`, …).
    Rcode(RCODE),
    /// The reply did not fit in a UDP datagram (the `TC` bit), and asking again over TCP
    /// failed (no connection, closed early, or no answer to the question in what came).
    Truncated,
    /// The server cannot be reached: an ICMP error came back (a closed port:
    /// `ConnectionRefused`). Every query in flight gets it at once.
    Unreachable(io::ErrorKind),
    /// No acceptable reply in time, after every retry. [`Resolver::lookup`] never reports it
    /// itself: its caller's timeout does.
    Timeout,
    /// The name cannot be sent: an empty label, a label over 63 bytes, a name over 255
    /// bytes, or a character that is not printable ASCII.
    InvalidName,
    /// The query could not be sent (the socket's error).
    Send(io::ErrorKind),
    /// 65,536 queries are already in flight: no id is free.
    TooManyQueries,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NxDomain => f.write_str("NXDOMAIN"),
            DnsError::NoData => f.write_str("NODATA"),
            DnsError::ServFail => f.write_str("SERVFAIL"),
            DnsError::Refused => f.write_str("REFUSED"),
            DnsError::Rcode(RCODE::FormatError) => f.write_str("FORMERR"),
            DnsError::Rcode(RCODE::NotImplemented) => f.write_str("NOTIMP"),
            DnsError::Rcode(r) => f.write_str(&format!("{r:?}").to_ascii_uppercase()),
            DnsError::Truncated => f.write_str("TRUNCATED"),
            DnsError::Unreachable(_) => f.write_str("UNREACHABLE"),
            DnsError::Timeout => f.write_str("TIMEOUT"),
            DnsError::InvalidName => f.write_str("INVALID"),
            DnsError::Send(_) | DnsError::TooManyQueries => f.write_str("ERROR"),
        }
    }
}

impl std::error::Error for DnsError {}

/// What a lookup delivers: the addresses, in the order of the answer, or why there are none.
pub type Answer = Result<Vec<IpAddr>, DnsError>;

/// Counters of what the resolver sent and received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Queries sent over UDP (each retry is a new query).
    pub sent: u64,
    /// Replies accepted as the answer to a pending query.
    pub accepted: u64,
    /// Of those, replies to an earlier attempt that came after it was given up, taken as
    /// the answer of the name's current attempt.
    pub late: u64,
    /// Truncated replies asked again over TCP.
    pub over_tcp: u64,
    /// Replies whose id matches no pending query nor a remembered attempt (spoofed, or late
    /// after the name's last attempt).
    pub unknown_id: u64,
    /// Replies with a pending query's id but another question, or not marked as a response.
    pub wrong_question: u64,
    /// Datagrams that are not a DNS message.
    pub malformed: u64,
}

impl Stats {
    /// Datagrams received and not taken as an answer. (The socket is connected to the
    /// server: the kernel drops datagrams from any other address before they are read.)
    pub fn ignored(&self) -> u64 {
        self.unknown_id + self.wrong_question + self.malformed
    }
}

/// A query waiting for its answer: what was asked, and where the answer goes.
struct Pending {
    question: Question<'static>,
    done: Event<Answer>,
    /// Which lookup this is: an id is reused once free, and the cancel hook of an earlier
    /// lookup must not remove a later one's entry.
    serial: u64,
    /// Whether the query went out (else it waits for room on the wire, in the queue).
    sent: bool,
}

/// Attempts given up recently, oldest first: a reply to one still answers a later attempt of
/// the same name. At most [`RETIRED`] are kept.
#[derive(Default)]
struct Retired {
    /// Each with the number it was added under (an id may come back once free).
    questions: HashMap<u16, (u64, Question<'static>)>,
    order: VecDeque<(u16, u64)>,
    added: u64,
}

/// How many given-up attempts are remembered for their late replies.
const RETIRED: usize = 4096;

/// Receive-buffer bytes counted per reply in flight. The kernel charges a datagram's buffer
/// and bookkeeping to the socket: 832 bytes for a reply of up to ~120 bytes, 1,283 for one
/// of 512 (the most a server sends over UDP without EDNS), measured on Linux loopback.
pub const BYTES_PER_REPLY: usize = 2048;

struct Inner {
    /// Connected to the server: the kernel drops datagrams from anywhere else, and reports
    /// an ICMP "port unreachable" from the server as an error on the next send or receive.
    sock: UdpSocket,
    server: SocketAddr,
    qtype: QueryType,
    pending: RefCell<HashMap<u16, Pending>>,
    /// The id of the current attempt of each name, by [`name_hash`] (a late reply checks the
    /// name itself before it is taken), sent or queued.
    by_name: RefCell<HashMap<u64, u16>>,
    retired: RefCell<Retired>,
    /// Ids of queued queries, in the order they were asked; stale ids (sent, or gone) are
    /// skipped when met.
    queue: RefCell<VecDeque<u16>>,
    /// Queries sent whose reply has not been read, nor the query given up.
    on_wire: Cell<usize>,
    /// The most queries on the wire at once: what the receive buffer holds.
    room: usize,
    /// Set while [`receive`] runs; it waits on this rendezvous, and [`Inner::forget`] cancels
    /// it when the last query goes, so the loop can end.
    wake: RefCell<Option<Rendezvous>>,
    stats: Cell<Stats>,
    /// State of the id generator (xorshift64*, seeded from the OS's hash keys).
    rng: Cell<u64>,
    serials: Cell<u64>,
}

/// A DNS stub resolver: sends queries for one record type to one server over one UDP socket.
///
/// `Resolver` is a cheap handle (`Clone`); all clones share the socket and the table of
/// queries in flight. It lives on the tame loop of the thread that made it.
///
/// ```ignore
/// let res = Resolver::new("127.0.0.1:53".parse()?, QueryType::A, 64)?;
/// let mut answer = Err(TimedOut);
/// twait! { res.lookup("example.com", tame::add_timeout(limit, mkevent!(answer))); }
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Rc<Inner>,
}

impl Resolver {
    /// Opens a UDP socket connected to `server`, for queries of type `qtype`, with a receive
    /// buffer sized for `window` replies in flight ([`BYTES_PER_REPLY`] each, as far as the
    /// system allows: Linux caps it at `net.core.rmem_max`). [`room`](Resolver::room) says
    /// how many queries that buffer lets out at once.
    pub fn new(server: SocketAddr, qtype: QueryType, window: usize) -> io::Result<Resolver> {
        let local: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = UdpSocket::bind(local)?;
        sock.connect(server)?;
        let buf = socket2::SockRef::from(sock.as_mio());
        // Linux doubles what is asked for (the other half is its bookkeeping) and reports the
        // doubled size; asking for half gets the full size where the cap allows it.
        let want = window.max(1).saturating_mul(BYTES_PER_REPLY / 2);
        if buf.recv_buffer_size()? < want * 2 {
            // Refused or capped: what the socket ends up with is read back below.
            let _ = buf.set_recv_buffer_size(want);
        }
        let room = (buf.recv_buffer_size()? / BYTES_PER_REPLY).max(1);
        let seed = RandomState::new().hash_one(std::process::id()) | 1;
        Ok(Resolver {
            inner: Rc::new(Inner {
                sock,
                server,
                qtype,
                pending: RefCell::new(HashMap::new()),
                by_name: RefCell::new(HashMap::new()),
                retired: RefCell::new(Retired::default()),
                queue: RefCell::new(VecDeque::new()),
                on_wire: Cell::new(0),
                room,
                wake: RefCell::new(None),
                stats: Cell::new(Stats::default()),
                rng: Cell::new(seed),
                serials: Cell::new(0),
            }),
        })
    }

    // ANCHOR: lookup
    /// Sends one query for `name` and triggers `done` with its answer.
    ///
    /// `done` triggers when an acceptable reply arrives (over TCP if the UDP one was
    /// truncated), at once when the name is invalid or the server unreachable. It never
    /// triggers for a query with no reply: bound the wait with [`tame::add_timeout`], whose
    /// cancellation removes the query (the `on_cancel` hook this method puts on `done`).
    /// While [`room`](Resolver::room) queries are on the wire, the query waits its turn.
    pub fn lookup(&self, name: &str, mut done: Event<Answer>) {
        if !done.is_live() {
            return;
        }
        // An IP literal is its own answer (as `getaddrinfo` and dig's `+short` treat it): no
        // query, and for the other family, no address of the type asked for.
        if let Ok(ip) = name.parse::<IpAddr>() {
            let family_asked = match self.inner.qtype {
                QueryType::A => ip.is_ipv4(),
                QueryType::Aaaa => ip.is_ipv6(),
            };
            return done.trigger(if family_asked {
                Ok(vec![ip])
            } else {
                Err(DnsError::NoData)
            });
        }
        let Some(qname) = encodable(name) else {
            return done.trigger(Err(DnsError::InvalidName));
        };
        let inner = &self.inner;
        let Some(id) = inner.fresh_id() else {
            return done.trigger(Err(DnsError::TooManyQueries));
        };
        let question = Question::new(
            qname,
            QTYPE::TYPE(inner.qtype.rtype()),
            QCLASS::CLASS(CLASS::IN),
            false,
        );
        // Built here, sent at once if there is room: the usual case, and the queue's entries
        // are built when their turn comes.
        let bytes = match query_bytes(id, &question) {
            Ok(b) => b,
            Err(_) => return done.trigger(Err(DnsError::InvalidName)),
        };
        let now = inner.on_wire.get() < inner.room && inner.queue.borrow().is_empty();
        let serial = inner.serials.get() + 1;
        inner.serials.set(serial);
        let weak: Weak<Inner> = Rc::downgrade(inner);
        done.on_cancel(move || {
            if let Some(inner) = weak.upgrade() {
                inner.forget(id, serial);
            }
        });
        let key = name_hash(&question.qname);
        let first = {
            let mut pending = inner.pending.borrow_mut();
            pending.insert(
                id,
                Pending {
                    question,
                    done,
                    serial,
                    sent: false,
                },
            );
            pending.len() == 1
        };
        inner.by_name.borrow_mut().insert(key, id);
        if now {
            inner.transmit(id, &bytes);
        } else {
            inner.queue.borrow_mut().push_back(id);
        }
        drop(bytes);
        if first && inner.wake.borrow().is_none() {
            receive(inner.clone());
        }
    }
    // ANCHOR_END: lookup

    /// Queries in flight now (sent, or waiting for room).
    pub fn in_flight(&self) -> usize {
        self.inner.pending.borrow().len()
    }

    /// The most queries on the wire at once: what the socket's receive buffer holds.
    pub fn room(&self) -> usize {
        self.inner.room
    }

    /// What was sent and received so far.
    pub fn stats(&self) -> Stats {
        self.inner.stats.get()
    }

    /// The server queried.
    pub fn server(&self) -> SocketAddr {
        self.inner.server
    }
}

impl Inner {
    fn count(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// A random id that no query in flight and no remembered attempt has, or `None` if all
    /// 65,536 are taken by queries in flight.
    fn fresh_id(&self) -> Option<u16> {
        let pending = self.pending.borrow();
        if pending.len() > usize::from(u16::MAX) {
            return None;
        }
        let mut retired = self.retired.borrow_mut();
        while pending.len() + retired.order.len() > usize::from(u16::MAX) {
            retired.drop_oldest();
        }
        loop {
            // xorshift64*: plenty for unpredictable ids; the table is at most full, so a free
            // id is found quickly unless nearly every id is taken.
            let mut x = self.rng.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.set(x);
            let id = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48) as u16;
            if !pending.contains_key(&id) && !retired.questions.contains_key(&id) {
                return Some(id);
            }
        }
    }

    // ANCHOR: pump
    /// Sends queued queries while there is room on the wire: never more replies on their way
    /// than the socket's receive buffer holds, so none is dropped for want of room.
    fn pump(&self) {
        while self.on_wire.get() < self.room {
            let Some(id) = self.queue.borrow_mut().pop_front() else {
                return;
            };
            let bytes = match self.pending.borrow().get(&id) {
                Some(p) if !p.sent => query_bytes(id, &p.question).ok(),
                _ => continue, // given up, or already sent
            };
            if let Some(bytes) = bytes {
                self.transmit(id, &bytes);
            }
        }
    }

    /// Sends query `id`, pending and not sent yet, and counts it on the wire.
    fn transmit(&self, id: u16, bytes: &[u8]) {
        match self.sock.try_send(bytes) {
            Ok(_) => {}
            // A full send buffer loses the datagram, as the network may: the caller's
            // timeout and retry cover it.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if unreachable(&e) => return self.unreachable(e.kind()),
            Err(e) => {
                if let Some(p) = self.take(id) {
                    p.done.trigger(Err(DnsError::Send(e.kind())));
                }
                return;
            }
        }
        if let Some(p) = self.pending.borrow_mut().get_mut(&id) {
            p.sent = true;
        }
        self.on_wire.set(self.on_wire.get() + 1);
        self.count(|s| s.sent += 1);
    }
    // ANCHOR_END: pump

    /// Removes query `id` from every table; `None` if it is not pending.
    fn take(&self, id: u16) -> Option<Pending> {
        let p = self.pending.borrow_mut().remove(&id)?;
        if p.sent {
            self.on_wire.set(self.on_wire.get() - 1);
        }
        let key = name_hash(&p.question.qname);
        let mut by_name = self.by_name.borrow_mut();
        if by_name.get(&key) == Some(&id) {
            by_name.remove(&key);
        }
        Some(p)
    }

    // ANCHOR: forget
    /// Removes a query nobody waits for any more (its `done` was cancelled). A query that
    /// went out is remembered for a while: a late reply to it answers the name's next attempt.
    fn forget(&self, id: u16, serial: u64) {
        if self
            .pending
            .borrow()
            .get(&id)
            .is_none_or(|p| p.serial != serial)
        {
            return; // answered, handed to TCP, or failed: no longer this lookup's entry
        }
        let Some(gone) = self.take(id) else { return };
        if gone.sent {
            self.retired.borrow_mut().add(id, gone.question.clone());
        }
        drop(gone); // outside any borrow: dropping an event may run other code
        self.pump();
        if self.pending.borrow().is_empty() {
            // Nothing left to receive: let the receive loop end instead of waiting forever.
            let wake = self.wake.borrow().clone();
            if let Some(w) = wake {
                w.cancel();
            }
        }
    }
    // ANCHOR_END: forget

    /// The server cannot be reached (an ICMP error came back): every query fails at once.
    fn unreachable(&self, kind: io::ErrorKind) {
        let all: Vec<Pending> = self.pending.borrow_mut().drain().map(|(_, p)| p).collect();
        self.by_name.borrow_mut().clear();
        self.queue.borrow_mut().clear();
        self.on_wire.set(0);
        for p in all {
            p.done.trigger(Err(DnsError::Unreachable(kind)));
        }
    }

    // ANCHOR: dispatch
    /// Handles one datagram from the server: the answer to a query in flight (or to an
    /// earlier attempt of one), or something to ignore.
    fn dispatch(&self, msg: &[u8]) {
        let Ok(id) = header_buffer::id(msg) else {
            return self.count(|s| s.malformed += 1);
        };
        // The verdict is reached while a table is borrowed; counting touches only `stats`.
        let current = self
            .pending
            .borrow()
            .get(&id)
            .filter(|p| p.sent)
            .map(|p| judge(msg, &p.question));
        let (id, verdict) = match current {
            Some(v) => (id, v),
            None => match self.late(id, msg) {
                Some(found) => found,
                None => return self.count(|s| s.unknown_id += 1),
            },
        };
        let answer = match verdict {
            Verdict::WrongQuestion => return self.count(|s| s.wrong_question += 1),
            Verdict::Malformed => return self.count(|s| s.malformed += 1),
            Verdict::Answer(a) => a,
        };
        let Some(p) = self.take(id) else { return };
        self.pump();
        if answer == Err(DnsError::Truncated) {
            // The answer did not fit in a datagram: ask again over TCP, as the same lookup.
            self.count(|s| s.over_tcp += 1);
            ask_over_tcp(self.server, p.question, p.done);
        } else {
            self.count(|s| s.accepted += 1);
            p.done.trigger(answer);
        }
    }
    // ANCHOR_END: dispatch

    /// A reply to a remembered attempt: its verdict, for the current attempt of the same name
    /// (`None` if the id is unknown, or the name has no attempt now).
    fn late(&self, id: u16, msg: &[u8]) -> Option<(u16, Verdict)> {
        let mut retired = self.retired.borrow_mut();
        let asked = retired.question(id)?;
        let verdict = judge(msg, asked);
        if !matches!(verdict, Verdict::Answer(_)) {
            return Some((id, verdict));
        }
        let now = *self.by_name.borrow().get(&name_hash(&asked.qname))?;
        if self
            .pending
            .borrow()
            .get(&now)
            .is_none_or(|p| p.question.qname != asked.qname)
        {
            return None; // another name with the same hash
        }
        retired.questions.remove(&id); // one answer per attempt
        self.count(|s| s.late += 1);
        Some((now, verdict))
    }
}

impl Retired {
    fn add(&mut self, id: u16, q: Question<'static>) {
        if self.order.len() >= RETIRED {
            self.drop_oldest();
        }
        self.added += 1;
        self.questions.insert(id, (self.added, q));
        self.order.push_back((id, self.added));
    }

    fn drop_oldest(&mut self) {
        if let Some((id, n)) = self.order.pop_front()
            && self.questions.get(&id).is_some_and(|(m, _)| *m == n)
        {
            self.questions.remove(&id);
        }
    }

    fn question(&self, id: u16) -> Option<&Question<'static>> {
        self.questions.get(&id).map(|(_, q)| q)
    }
}

/// Whether a socket error is the network's word that the server cannot be reached.
fn unreachable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

// ANCHOR: receive
/// Reads replies while queries are pending, and hands each to [`Inner::dispatch`].
#[tamed]
fn receive(inner: Rc<Inner>) {
    let wake: Rendezvous = Rendezvous::new();
    *inner.wake.borrow_mut() = Some(wake.clone());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        // Readiness is edge-triggered: read until the socket says WouldBlock.
        loop {
            match inner.sock.try_recv(&mut buf) {
                Ok(n) => inner.dispatch(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if unreachable(&e) => inner.unreachable(e.kind()),
                // Another error queued on the socket is consumed by this read; the next
                // read goes on with the next datagram.
                Err(_) => inner.count(|s| s.malformed += 1),
            }
        }
        if inner.pending.borrow().is_empty() {
            break;
        }
        inner.sock.readable(wake.event(()));
        // `None` when `forget` cancelled the wait: the loop re-checks the table.
        let _woken = twait!(wake);
    }
    *inner.wake.borrow_mut() = None;
}
// ANCHOR_END: receive

// ANCHOR: tcp
/// Asks `question` again over TCP (a two-byte length, then the message, as RFC 7766 frames
/// DNS over TCP), and triggers `done` with the answer. A connection that fails, closes
/// early, or brings something other than an answer to the question gives `TRUNCATED`, the
/// UDP reply's word. If `done`'s receiver is cancelled (the caller's timeout), the call ends
/// where it waits and its connection closes.
#[tamed]
fn ask_over_tcp(server: SocketAddr, question: Question<'static>, done: Event<Answer>) {
    let id: u16 = 0; // one query per connection: no id to tell replies apart
    let Ok(query) = query_bytes(id, &question) else {
        return done.trigger(Err(DnsError::Truncated));
    };
    let Ok(stream) = TcpStream::connect(server) else {
        return done.trigger(Err(DnsError::Truncated));
    };
    twait! { stream.writable(mkevent!()); }
    if !matches!(stream.take_error(), Ok(None)) {
        return done.trigger(Err(DnsError::Truncated));
    }
    let mut out = (query.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&query);
    let mut sent = 0;
    while sent < out.len() {
        match stream.try_write(&out[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                twait! { stream.writable(mkevent!()); }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return done.trigger(Err(DnsError::Truncated)),
        }
    }
    // The reply: its length, then that many bytes (at most 65,535: the frame bounds it).
    let mut len = [0u8; 2];
    let mut got = 0;
    while got < len.len() {
        match stream.try_read(&mut len[got..]) {
            Ok(0) => return done.trigger(Err(DnsError::Truncated)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                twait! { stream.readable(mkevent!()); }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return done.trigger(Err(DnsError::Truncated)),
        }
    }
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    got = 0;
    while got < reply.len() {
        match stream.try_read(&mut reply[got..]) {
            Ok(0) => return done.trigger(Err(DnsError::Truncated)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                twait! { stream.readable(mkevent!()); }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return done.trigger(Err(DnsError::Truncated)),
        }
    }
    drop(stream);
    let answer = match (header_buffer::id(&reply), judge(&reply, &question)) {
        (Ok(0), Verdict::Answer(a)) => a,
        _ => Err(DnsError::Truncated),
    };
    done.trigger(answer);
}
// ANCHOR_END: tcp

/// What a reply with a pending query's id means for that query.
#[derive(Debug, PartialEq)]
enum Verdict {
    Answer(Answer),
    WrongQuestion,
    Malformed,
}

/// Checks a reply against the question asked, and reads its answer.
fn judge(msg: &[u8], asked: &Question<'_>) -> Verdict {
    let packet = match Packet::parse(msg) {
        Ok(p) => p,
        // A truncated reply may be cut in the middle of a record: read its header and
        // question alone (the header with its record counts set to zero).
        Err(_) if header_buffer::has_flags(msg, PacketFlag::TRUNCATION) == Ok(true) => {
            let Some(head) = header_and_question(msg) else {
                return Verdict::Malformed;
            };
            match Packet::parse(&head) {
                Ok(p) if same_question(&p, asked) => {
                    return Verdict::Answer(Err(DnsError::Truncated));
                }
                Ok(_) => return Verdict::WrongQuestion,
                Err(_) => return Verdict::Malformed,
            }
        }
        Err(_) => return Verdict::Malformed,
    };
    if !same_question(&packet, asked) {
        return Verdict::WrongQuestion;
    }
    if packet.has_flags(PacketFlag::TRUNCATION) {
        return Verdict::Answer(Err(DnsError::Truncated));
    }
    Verdict::Answer(match packet.rcode() {
        RCODE::NoError => {
            let addrs = addresses(&packet, asked);
            if addrs.is_empty() {
                Err(DnsError::NoData)
            } else {
                Ok(addrs)
            }
        }
        RCODE::NameError => Err(DnsError::NxDomain),
        RCODE::ServerFailure => Err(DnsError::ServFail),
        RCODE::Refused => Err(DnsError::Refused),
        other => Err(DnsError::Rcode(other)),
    })
}

// ANCHOR: same_question
/// Whether `p` is a response to a standard query that repeats exactly the question asked
/// (names compare without regard to ASCII case, as DNS does).
fn same_question(p: &Packet<'_>, asked: &Question<'_>) -> bool {
    p.has_flags(PacketFlag::RESPONSE)
        && p.opcode() == OPCODE::StandardQuery
        && p.questions.len() == 1
        && p.questions[0].qname == asked.qname
        && p.questions[0].qtype == asked.qtype
        && p.questions[0].qclass == asked.qclass
}
// ANCHOR_END: same_question

/// The header and the question section of `msg` as a message of their own: the header with
/// its answer, authority and additional counts set to zero, then the bytes after it (the
/// parser stops after the question). `None` if `msg` is shorter than a header.
fn header_and_question(msg: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 12;
    const COUNTS: std::ops::Range<usize> = 6..12;
    if msg.len() < HEADER {
        return None;
    }
    let mut head = msg.to_vec();
    head[COUNTS].fill(0);
    Some(head)
}

/// The most CNAME links followed from the name asked for (a recursive server answers with
/// the whole chain; unbound gives up after a short one too). Records past it are ignored.
pub const MAX_CNAME_HOPS: usize = 16;

/// A name as a key: its presentation form in lower case (DNS names compare case-blind).
fn name_key(n: &Name<'_>) -> String {
    n.to_string().to_ascii_lowercase()
}

/// A hash of a name, without regard to ASCII case, computed without allocating.
fn name_hash(n: &Name<'_>) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    for label in n.as_bytes() {
        h.write_usize(label.len());
        for b in label {
            h.write_u8(b.to_ascii_lowercase());
        }
    }
    h.finish()
}

/// The addresses of the type asked for that belong to the name asked for, following the
/// CNAME chain in the answer section (a recursive server puts `alias CNAME target` and
/// `target A addr` there), at most [`MAX_CNAME_HOPS`] links. Records of other names or types
/// are skipped. Linear in the size of the reply: one pass to index the CNAMEs, one walk down
/// the chain, one pass over the answers (a chain of thousands of links cannot hold the loop).
fn addresses(p: &Packet<'_>, asked: &Question<'_>) -> Vec<IpAddr> {
    let cnames: HashMap<String, String> = p
        .answers
        .iter()
        .filter_map(|rr| match &rr.rdata {
            RData::CNAME(target) => Some((name_key(&rr.name), name_key(&target.0))),
            _ => None,
        })
        .collect();
    let mut owners = vec![name_key(&asked.qname)];
    while owners.len() <= MAX_CNAME_HOPS {
        let Some(next) = cnames.get(owners.last().expect("never empty")) else {
            break;
        };
        if owners.contains(next) {
            break; // a loop
        }
        owners.push(next.clone());
    }
    p.answers
        .iter()
        .filter(|rr| rr.class == CLASS::IN)
        .filter(|rr| QTYPE::TYPE(rr.rdata.type_code()) == asked.qtype)
        .filter(|rr| owners.contains(&name_key(&rr.name)))
        .filter(|rr| QTYPE::TYPE(rr.rdata.type_code()) == asked.qtype)
        .filter_map(|rr| match &rr.rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
            _ => None,
        })
        .collect()
}

/// The wire form of a recursive query `id` for `question`.
fn query_bytes(id: u16, question: &Question<'_>) -> simple_dns::Result<Vec<u8>> {
    let mut q = Packet::new_query(id);
    q.set_flags(PacketFlag::RECURSION_DESIRED);
    q.questions.push(question.clone());
    q.build_bytes_vec()
}

/// `name` as a DNS name, if it can be sent: printable ASCII without backslash escapes (an
/// internationalised name is first converted to ASCII, as browsers do), labels of 1 to 63
/// bytes, 255 bytes at most on the wire; one trailing dot allowed.
pub fn encodable(name: &str) -> Option<Name<'static>> {
    // An internationalised name goes out as its ASCII form (UTS 46 mapping, then punycode:
    // `bücher.example` is asked as `xn--bcher-kva.example`); an ASCII name as written.
    let ascii;
    let name = if name.is_ascii() {
        name
    } else {
        ascii = idna::domain_to_ascii(name).ok()?;
        &ascii
    };
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.split('.').any(str::is_empty)
        || !bare.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return None;
    }
    // `Name::new` checks the label and name lengths.
    Name::new(bare).ok().map(Name::into_owned)
}

/// What [`judge`] promises about any datagram, checked on one: the property run in the unit
/// tests and the fuzz target (`fuzz/fuzz_targets/dns_reply.rs`) share it.
#[cfg(any(test, fuzzing))]
pub mod promises {
    use super::*;

    /// The question a fuzz input asks: its first byte picks the type, and whether the
    /// question is the message's own (so that the checks past the question are reached) or
    /// a fixed one.
    pub fn asked(selector: u8, msg: &[u8]) -> Question<'static> {
        let qtype = if selector & 1 == 0 {
            TYPE::A
        } else {
            TYPE::AAAA
        };
        let own = (selector & 2 != 0)
            .then(|| header_and_question(msg))
            .flatten()
            .and_then(|head| {
                let p = Packet::parse(&head).ok()?;
                let q = p.questions.first()?;
                Some(q.qname.clone().into_owned())
            });
        let name = own.unwrap_or_else(|| encodable("x.example").expect("a valid name"));
        Question::new(name, QTYPE::TYPE(qtype), QCLASS::CLASS(CLASS::IN), false)
    }

    /// Judges `msg` against `asked`, and checks the verdict: the same twice; an answer only
    /// from a response (the `QR` bit); `TRUNCATED` only with the `TC` bit; `NXDOMAIN` only
    /// with that response code; addresses only from a whole, untruncated `NOERROR` response
    /// that repeats the question, each of the type asked and found in the answer section.
    pub fn check(msg: &[u8], asked: &Question<'_>) -> Result<(), String> {
        let verdict = judge(msg, asked);
        if judge(msg, asked) != verdict {
            return Err(format!("not the same verdict twice: {verdict:?}"));
        }
        let Verdict::Answer(answer) = verdict else {
            return Ok(());
        };
        let flag = |f| header_buffer::has_flags(msg, f) == Ok(true);
        if !flag(PacketFlag::RESPONSE) {
            return Err(format!("{answer:?} from a message that is not a response"));
        }
        match answer {
            Err(DnsError::Truncated) if !flag(PacketFlag::TRUNCATION) => {
                Err("TRUNCATED without the TC bit".into())
            }
            Err(DnsError::NxDomain) if msg.get(3).map(|b| b & 0x0f) != Some(3) => {
                Err("NXDOMAIN without its response code".into())
            }
            Ok(addrs) => {
                let p = Packet::parse(msg).map_err(|e| format!("addresses from {e:?}"))?;
                if flag(PacketFlag::TRUNCATION) || p.rcode() != RCODE::NoError {
                    return Err("addresses from a truncated or failed reply".into());
                }
                if !same_question(&p, asked) || addrs.is_empty() {
                    return Err("addresses for another question, or none".into());
                }
                for ip in &addrs {
                    let found = p.answers.iter().any(|rr| match (&rr.rdata, ip) {
                        (RData::A(a), IpAddr::V4(v4)) => {
                            asked.qtype == QTYPE::TYPE(TYPE::A) && Ipv4Addr::from(a.address) == *v4
                        }
                        (RData::AAAA(a), IpAddr::V6(v6)) => {
                            asked.qtype == QTYPE::TYPE(TYPE::AAAA)
                                && Ipv6Addr::from(a.address) == *v6
                        }
                        _ => false,
                    });
                    if !found {
                        return Err(format!("{ip} is not a record of the type asked for"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::ResourceRecord;
    use simple_dns::rdata::{A, AAAA, CNAME};

    fn question(name: &str, t: TYPE) -> Question<'static> {
        Question::new(
            encodable(name).unwrap(),
            QTYPE::TYPE(t),
            QCLASS::CLASS(CLASS::IN),
            false,
        )
    }

    fn reply<'a>(id: u16, q: &Question<'a>) -> Packet<'a> {
        let mut p = Packet::new_reply(id);
        p.questions.push(q.clone());
        p
    }

    fn a(name: &str, ip: [u8; 4]) -> ResourceRecord<'static> {
        ResourceRecord::new(
            encodable(name).unwrap(),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from(Ipv4Addr::from(ip)),
            }),
        )
    }

    #[test]
    fn names_are_checked_before_sending() {
        assert!(encodable("h00001.bench.test").is_some());
        assert!(encodable("h00001.bench.test.").is_some());
        for bad in [
            "",
            ".",
            "a..b",
            "a b",
            "a\tb.example",
            "\u{fffd}.example", // what a line that is not UTF-8 becomes
            "a\u{0}b.example",
            "caf\u{e9} .example",
            "back\\slash.example",
            &"x".repeat(64),
            &["a"; 130].join("."),
        ] {
            assert!(encodable(bad).is_none(), "{bad:?} should be rejected");
        }
        assert!(encodable(&"x".repeat(63)).is_some());
        // Internationalised names go out in their ASCII form.
        let ascii = |n: &str| encodable(n).map(|n| n.to_string());
        assert_eq!(
            ascii("caf\u{e9}.example").as_deref(),
            Some("xn--caf-dma.example")
        );
        assert_eq!(
            ascii("B\u{dc}CHER.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(ascii("\u{65e5}\u{672c}.").as_deref(), Some("xn--wgv71a"));
    }

    #[test]
    fn a_query_is_a_recursive_question_with_its_id() {
        let q = question("www.example.com", TYPE::AAAA);
        let bytes = query_bytes(0xbeef, &q).unwrap();
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.id(), 0xbeef);
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
        assert!(!p.has_flags(PacketFlag::RESPONSE));
        assert_eq!(p.questions.len(), 1);
        assert_eq!(p.questions[0].qname.to_string(), "www.example.com");
        assert_eq!(p.questions[0].qtype, QTYPE::TYPE(TYPE::AAAA));
    }

    #[test]
    fn addresses_follow_the_cname_chain_and_skip_strangers() {
        let q = question("alias.example", TYPE::A);
        let mut p = reply(1, &q);
        p.answers.push(ResourceRecord::new(
            encodable("alias.example").unwrap(),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(encodable("real.example").unwrap())),
        ));
        p.answers.push(a("real.example", [10, 0, 0, 1]));
        p.answers.push(a("REAL.example", [10, 0, 0, 2])); // names compare case-blind
        p.answers.push(a("stranger.example", [6, 6, 6, 6]));
        p.answers.push(ResourceRecord::new(
            encodable("real.example").unwrap(),
            CLASS::IN,
            60,
            RData::AAAA(AAAA { address: 1 }), // not the type asked for
        ));
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(
            judge(&bytes, &q),
            Verdict::Answer(Ok(vec![
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]))
        );
    }

    /// A reply whose answer section is a chain of `links` CNAMEs ending in an address.
    fn chain_reply(links: usize) -> (Vec<u8>, Question<'static>) {
        let q = question("c0.example", TYPE::A);
        let mut p = reply(7, &q);
        for i in 0..links {
            p.answers.push(ResourceRecord::new(
                encodable(&format!("c{i}.example")).unwrap(),
                CLASS::IN,
                60,
                RData::CNAME(CNAME(encodable(&format!("c{}.example", i + 1)).unwrap())),
            ));
        }
        p.answers
            .push(a(&format!("c{links}.example"), [10, 0, 0, 9]));
        (p.build_bytes_vec().unwrap(), q)
    }

    #[test]
    fn a_cname_chain_is_followed_up_to_the_hop_limit() {
        let (short, q) = chain_reply(MAX_CNAME_HOPS);
        assert_eq!(
            judge(&short, &q),
            Verdict::Answer(Ok(vec!["10.0.0.9".parse().unwrap()]))
        );
        let (long, q) = chain_reply(MAX_CNAME_HOPS + 1);
        assert_eq!(judge(&long, &q), Verdict::Answer(Err(DnsError::NoData)));
        // A loop ends the walk.
        let q = question("x.example", TYPE::A);
        let mut p = reply(8, &q);
        for (from, to) in [("x.example", "y.example"), ("y.example", "x.example")] {
            p.answers.push(ResourceRecord::new(
                encodable(from).unwrap(),
                CLASS::IN,
                60,
                RData::CNAME(CNAME(encodable(to).unwrap())),
            ));
        }
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::NoData)));
    }

    #[test]
    fn judging_a_reply_takes_time_linear_in_its_size() {
        // Per link, a reply of 2,000 CNAME links must cost about what one of 200 costs: a
        // handler quadratic in the chain would take ~10 times as long per link, a cubic one
        // ~100 times (before: 43 s of CPU for 2,500 links).
        let per_link = |links: usize| {
            let (bytes, q) = chain_reply(links);
            (0..5)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    std::hint::black_box(judge(&bytes, &q));
                    t0.elapsed().as_secs_f64() / links as f64
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (small, large) = (per_link(200), per_link(2_000));
        assert!(
            large / small < 4.0,
            "per link: {small:e} s at 200 links, {large:e} s at 2,000 ({}×)",
            large / small
        );
    }

    #[test]
    fn a_maximal_reply_costs_at_most_its_size_in_minimal_ones() {
        // The largest reply a datagram or a TCP frame can carry (a chain of CNAMEs filling
        // 65,535 bytes) against the smallest useful one (one address): the time may grow with
        // the size, by a constant factor more per byte (a byte of a CNAME record costs more
        // than one of a header: about 1.3 times here), no faster. A quadratic handler would
        // take about a thousand times more again.
        let fastest = |bytes: &[u8], q: &Question<'_>| {
            (0..7)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    std::hint::black_box(judge(bytes, q));
                    t0.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut links = 1_000;
        while chain_reply(links + 100).0.len() <= usize::from(u16::MAX) {
            links += 100;
        }
        let (max, q) = chain_reply(links);
        assert!(max.len() > 60_000, "{} bytes", max.len());
        let (min, q_min) = chain_reply(0);
        let (t_max, t_min) = (fastest(&max, &q), fastest(&min, &q_min));
        let size_ratio = max.len() as f64 / min.len() as f64;
        assert!(
            t_max / t_min < 4.0 * size_ratio,
            "{} bytes took {t_max:e} s, {} bytes {t_min:e} s: {}× the time for {size_ratio}× \
             the size",
            max.len(),
            min.len(),
            t_max / t_min
        );
    }

    #[test]
    fn rcodes_and_flags_become_errors() {
        let q = question("x.example", TYPE::A);
        for (rcode, want) in [
            (RCODE::NameError, DnsError::NxDomain),
            (RCODE::ServerFailure, DnsError::ServFail),
            (RCODE::Refused, DnsError::Refused),
            (RCODE::FormatError, DnsError::Rcode(RCODE::FormatError)),
            (RCODE::NoError, DnsError::NoData),
        ] {
            let mut p = reply(7, &q);
            *p.rcode_mut() = rcode;
            let bytes = p.build_bytes_vec().unwrap();
            assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(want)));
        }
        let mut p = reply(7, &q);
        p.set_flags(PacketFlag::TRUNCATION);
        p.answers.push(a("x.example", [10, 0, 0, 1]));
        let mut bytes = p.build_bytes_vec().unwrap();
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Truncated)));
        // Cut in the middle of the record: still read as truncated.
        bytes.truncate(bytes.len() - 3);
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Truncated)));
        assert_eq!(DnsError::Rcode(RCODE::FormatError).to_string(), "FORMERR");
        assert_eq!(DnsError::Rcode(RCODE::NOTAUTH).to_string(), "NOTAUTH");
    }

    #[test]
    fn replies_to_another_question_are_not_answers() {
        let q = question("x.example", TYPE::A);
        let other = question("y.example", TYPE::A);
        let aaaa = question("x.example", TYPE::AAAA);
        for wrong in [&other, &aaaa] {
            let mut p = reply(1, wrong);
            p.answers.push(a("x.example", [6, 6, 6, 6]));
            assert_eq!(
                judge(&p.build_bytes_vec().unwrap(), &q),
                Verdict::WrongQuestion
            );
        }
        // A query (no RESPONSE flag) echoed back is not an answer either.
        let echoed = query_bytes(1, &q).unwrap();
        assert_eq!(judge(&echoed, &q), Verdict::WrongQuestion);
        // No question at all.
        let empty = Packet::new_reply(1).build_bytes_vec().unwrap();
        assert_eq!(judge(&empty, &q), Verdict::WrongQuestion);
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        let q = question("x.example", TYPE::A);
        let good = {
            let mut p = reply(1, &q);
            p.answers.push(a("x.example", [10, 0, 0, 1]));
            p.answers.push(ResourceRecord::new(
                encodable("x.example").unwrap(),
                CLASS::IN,
                60,
                RData::AAAA(AAAA { address: 1 }),
            ));
            p.build_bytes_vec().unwrap()
        };
        // Every prefix, and pseudo-random byte flips of the whole message.
        for n in 0..good.len() {
            let _ = judge(&good[..n], &q);
        }
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            let mut m = good.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % m.len();
                m[i] = (x >> 8) as u8;
            }
            let _ = judge(&m, &q);
        }
        assert_eq!(judge(&good[..5], &q), Verdict::Malformed);
        assert_eq!(judge(b"\x00\x01\x81\x80\x00\x01", &q), Verdict::Malformed);
    }

    /// A reply as a server, a broken one or a spoofer might send it: random flags, code,
    /// question and records over a few names (CNAME chains among them), then maybe a few
    /// bytes changed or the end cut off.
    fn random_reply(x: &mut u64) -> Vec<u8> {
        let mut next = |n: u64| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x % n
        };
        const NAMES: [&str; 4] = ["x.example", "X.EXAMPLE", "y.example", "z.example"];
        let asked = question(
            NAMES[next(4) as usize],
            if next(2) == 0 { TYPE::A } else { TYPE::AAAA },
        );
        let mut p = reply(next(65536) as u16, &asked);
        for (f, odds) in [
            (PacketFlag::RESPONSE, 8),
            (PacketFlag::TRUNCATION, 6),
            (PacketFlag::RECURSION_AVAILABLE, 2),
        ] {
            if next(odds) == 0 {
                p.remove_flags(f);
            } else if f != PacketFlag::RESPONSE && next(2) == 0 {
                p.set_flags(f);
            }
        }
        *p.rcode_mut() = [RCODE::NoError, RCODE::NameError, RCODE::ServerFailure][next(3) as usize];
        for _ in 0..next(8) {
            let owner = encodable(NAMES[next(4) as usize]).unwrap();
            let rdata = match next(3) {
                0 => RData::A(A {
                    address: next(1 << 32) as u32,
                }),
                1 => RData::AAAA(AAAA {
                    address: u128::from(next(u64::MAX)),
                }),
                _ => RData::CNAME(CNAME(encodable(NAMES[next(4) as usize]).unwrap())),
            };
            p.answers
                .push(ResourceRecord::new(owner, CLASS::IN, 60, rdata));
        }
        let mut bytes = p.build_bytes_vec().unwrap();
        match next(4) {
            0 => bytes.truncate(next(bytes.len() as u64 + 1) as usize),
            1 => {
                for _ in 0..1 + next(4) {
                    let i = next(bytes.len() as u64) as usize;
                    bytes[i] = next(256) as u8;
                }
            }
            _ => {}
        }
        bytes
    }

    #[test]
    fn judging_keeps_its_promises_on_random_replies() {
        // The fuzz target's checks, on 30,000 generated replies, each judged against the
        // question it carries and against a fixed one, for both types.
        let mut x = 0x9e37_79b9_7f4a_7c15;
        let mut answers = 0;
        for _ in 0..30_000 {
            let msg = random_reply(&mut x);
            for selector in 0..4 {
                let asked = promises::asked(selector, &msg);
                if let Err(e) = promises::check(&msg, &asked) {
                    panic!("{e}: reply {msg:02x?}, asked {asked:?}");
                }
                answers += usize::from(matches!(judge(&msg, &asked), Verdict::Answer(Ok(_))));
            }
        }
        // The generator reaches the interesting case, not only rejections.
        assert!(answers > 1_000, "only {answers} replies gave addresses");
    }

    #[test]
    fn ids_in_flight_never_collide() {
        let res = Resolver::new("127.0.0.1:9".parse().unwrap(), QueryType::A, 64).unwrap();
        let inner = &res.inner;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..60_000 {
            let id = inner.fresh_id().unwrap();
            assert!(seen.insert(id), "id {id} handed out twice");
            // Occupy the id as a pending query would.
            inner.pending.borrow_mut().insert(
                id,
                Pending {
                    question: question("x.example", TYPE::A),
                    done: Event::from_fn(|_| {}),
                    serial: 0,
                    sent: true,
                },
            );
        }
    }

    #[test]
    fn ids_of_remembered_attempts_are_not_handed_out() {
        let res = Resolver::new("127.0.0.1:9".parse().unwrap(), QueryType::A, 64).unwrap();
        let inner = &res.inner;
        let mut retired = Vec::new();
        for _ in 0..RETIRED {
            let id = inner.fresh_id().unwrap();
            inner
                .retired
                .borrow_mut()
                .add(id, question("x.example", TYPE::A));
            retired.push(id);
        }
        for _ in 0..10_000 {
            let id = inner.fresh_id().unwrap();
            assert!(inner.retired.borrow().question(id).is_none());
        }
        // One more given up: the oldest is forgotten, and only it.
        let id = inner.fresh_id().unwrap();
        inner
            .retired
            .borrow_mut()
            .add(id, question("y.example", TYPE::A));
        let r = inner.retired.borrow();
        assert!(r.question(retired[0]).is_none());
        assert!(retired[1..].iter().all(|&old| r.question(old).is_some()));
        assert_eq!(r.questions.len(), RETIRED);
    }
}

/// The responder of the multidns tests, for the tests below.
#[cfg(test)]
#[path = "../../tests/util/responder.rs"]
mod responder;

/// The resolver on a live socket, against a DNS server on a thread.
#[cfg(test)]
mod live {
    use std::net::{IpAddr, Ipv4Addr};
    use std::thread;
    use std::time::{Duration, Instant};

    use simple_dns::RCODE;
    use tame::{Rendezvous, TimedOut, tamed};

    use super::responder::{Datagram, Responder, a_record, reply};

    use super::{Answer, DnsError, QueryType, Resolver};
    use tame::Event;

    /// One name after the other: each lookup starts when the previous answer is in.
    #[tamed]
    fn one_by_one(res: Resolver, names: Vec<String>, done: Event<Vec<Answer>>) {
        let mut answers = Vec::with_capacity(names.len());
        for name in names {
            let mut answer = Err(DnsError::Timeout);
            twait! { res.lookup(&name, mkevent!(answer)); }
            answers.push(answer);
        }
        done.trigger(answers);
    }

    /// Every name at once, in one `twait!{}`.
    #[tamed]
    fn all_at_once(res: Resolver, names: Vec<String>, done: Event<Vec<Answer>>) {
        let mut answers = vec![Err(DnsError::Timeout); names.len()];
        twait! {
            for (i, name) in names.iter().enumerate() {
                res.lookup(name, mkevent!(answers[i]));
            }
        }
        done.trigger(answers);
    }

    /// The answer for `hN.test`: the address 10.0.N/256.N%256, except every tenth name
    /// (N % 10 == 9), which does not exist.
    fn expected(n: u32) -> Answer {
        if n % 10 == 9 {
            Err(DnsError::NxDomain)
        } else {
            Ok(vec![IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                (n / 256) as u8,
                n as u8,
            ))])
        }
    }

    /// A responder on a thread (the multidns tests' own) that answers as [`expected`] says,
    /// or, `silent`, reads queries and never answers.
    fn server(silent: bool) -> Responder {
        Responder::start(move |p, q| {
            if silent {
                return Vec::new();
            }
            let n: u32 = q
                .name
                .strip_prefix('h')
                .and_then(|r| r.strip_suffix(".test"))
                .and_then(|d| d.parse().ok())
                .unwrap_or(9);
            vec![Datagram::now(reply(p, q.id, |r| match expected(n) {
                Ok(addrs) => {
                    for ip in addrs {
                        let IpAddr::V4(v4) = ip else { unreachable!() };
                        r.answers.push(a_record(&q.name, v4));
                    }
                }
                Err(_) => *r.rcode_mut() = RCODE::NameError,
            }))]
        })
    }

    fn names(n: u32) -> Vec<String> {
        (0..n).map(|i| format!("h{i}.test")).collect()
    }

    /// Runs `f` over `n` names against a [`server`], on a thread of its own so that a hang
    /// fails the test after 30 s instead of blocking it; checks every answer.
    fn run(f: fn(Resolver, Vec<String>, Event<Vec<Answer>>), n: u32) {
        let server = server(false);
        let addr = server.addr;
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let res = Resolver::new(addr, QueryType::A, 64).unwrap();
            let r: Rendezvous<(), Vec<Answer>> = Rendezvous::new();
            tame::run(|| f(res.clone(), names(n), r.event(())));
            let _ = tx.send((r.try_join(), res.in_flight(), res.stats()));
        });
        let (answers, in_flight, stats) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the run finished within 30 s");
        let ((), answers) = answers.expect("the run delivered its answers");
        let want: Vec<Answer> = (0..n).map(expected).collect();
        assert_eq!(answers, want);
        assert_eq!(in_flight, 0);
        assert_eq!(stats.accepted, u64::from(n));
        assert_eq!(server.seen().queries.len(), n as usize);
    }

    #[test]
    fn lookups_one_by_one_are_all_answered() {
        run(one_by_one, 50);
    }

    #[test]
    fn lookups_all_at_once_are_all_answered() {
        // No window and no timeout: few enough names that no socket buffer overflows (a
        // lost datagram would make this wait forever).
        run(all_at_once, 100);
    }

    /// A lookup under add_timeout whose server never answers.
    #[tamed]
    fn timed_lookup(res: Resolver, name: String, done: Event<Result<Answer, TimedOut>>) {
        let mut got = Err(TimedOut);
        twait! {
            res.lookup(&name, tame::add_timeout(Duration::from_millis(30), mkevent!(got)));
        }
        done.trigger(got);
    }

    #[test]
    fn a_timed_out_query_is_forgotten_and_the_loop_ends() {
        let server = server(true);
        let res = Resolver::new(server.addr, QueryType::A, 64).unwrap();
        let r: Rendezvous<usize, Result<Answer, TimedOut>> = Rendezvous::new();
        let start = Instant::now();
        tame::run(|| {
            for i in 0..5 {
                timed_lookup(res.clone(), format!("h{i}.test"), r.event(i));
            }
            assert_eq!(res.in_flight(), 5);
        });
        // tame::run returned: the receive loop ended when the last query was forgotten.
        assert!(start.elapsed() < Duration::from_secs(5));
        for _ in 0..5 {
            assert_eq!(r.try_join().map(|(_, v)| v), Some(Err(TimedOut)));
        }
        assert_eq!(res.in_flight(), 0);
        assert_eq!(res.stats().sent, 5);
        assert_eq!(server.seen().queries.len(), 5);
    }

    #[test]
    fn an_invalid_name_is_answered_at_once_without_a_query() {
        let server = server(false);
        let res = Resolver::new(server.addr, QueryType::A, 64).unwrap();
        let r: Rendezvous<(), Vec<Answer>> = Rendezvous::new();
        let bad = vec!["a..b".to_string(), "x".repeat(70), "h1.test".to_string()];
        tame::run(|| all_at_once(res.clone(), bad, r.event(())));
        let ((), answers) = r.try_join().unwrap();
        assert_eq!(
            answers,
            vec![
                Err(DnsError::InvalidName),
                Err(DnsError::InvalidName),
                expected(1)
            ]
        );
        assert_eq!(server.seen().queries.len(), 1);
    }
}
