//! The client of one DNS server: one UDP socket, many queries in flight.
//!
//! [`Client::query`] sends one query and hands back its answer through an [`Event`]. There is
//! no timer and no retry here: the caller decides both ([`Resolver::resolve`](super::Resolver::resolve)
//! puts [`add_timeout`](crate::add_timeout) around each attempt and moves on to the next
//! server or the next round).
//!
//! How it works:
//! - Every query gets a random 16-bit id that no other query in flight has. The pending
//!   queries sit in a table keyed by id, each with its question and its `done` event.
//! - The socket is connected to the server: the kernel drops datagrams from anywhere else,
//!   and an ICMP error about the server (a closed port) comes back as an error on the next
//!   send or receive, which fails every query in flight at once (`Unreachable`).
//! - At most [`Client::room`] queries are on the wire at once: as many replies as the
//!   socket's receive buffer holds. The buffer is sized for the caller's window where the
//!   system allows; queries beyond the room wait in a queue (`pump`) and go out as replies
//!   come in or queries are given up. So a large window never loses replies to a full buffer.
//! - One tamed function, [`receive`], reads the socket while any query is pending: it drains
//!   the socket until `WouldBlock` (readiness is edge-triggered), hands each datagram to
//!   [`Inner::dispatch`], and waits readable again. It ends when the table is empty, and
//!   the next query starts it again, so an idle client keeps nothing on the loop.
//! - A reply is trusted only if it carries the id of a pending query, is a response, and
//!   repeats that query's question (name, type, class). Anything else is counted in
//!   [`Stats`] and ignored: the query keeps waiting for the real answer. This is what stops a
//!   blind spoofer, or a late answer to a forgotten query whose id was reused, from being
//!   taken as the answer.
//! - Each `done` event gets an `on_cancel` hook: when [`add_timeout`](crate::add_timeout)
//!   gives up on the query (or its receiver goes away), the query is removed from the table
//!   at once. Its id and question are remembered for a while (the last 4,096 given up): a
//!   reply to it that comes late answers the same question's next attempt, if one is in
//!   flight.
//! - A truncated reply (the `TC` bit) hands the query to [`ask_over_tcp`], which asks again
//!   over a TCP connection of its own, as the same query (the caller's timeout covers both).

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::{Rc, Weak};

use simple_dns::{CLASS, QCLASS, QTYPE, Question, header_buffer};
use tame_macros::tamed;

use super::wire::{Verdict, encodable, judge, name_hash, query_bytes};
use super::{Answer, DnsError, QueryType, Stats};
use crate::event::Event;
use crate::net::{BufReader, UdpSocket, connect, write_all};
use crate::rendezvous::Rendezvous;

/// Largest datagram read. Without EDNS a server sends at most 512 bytes over UDP; a larger
/// buffer costs nothing and keeps an oversized reply from being cut and misread.
const MAX_DATAGRAM: usize = 65_535;

/// A query waiting for its answer: what was asked, and where the answer goes.
struct Pending {
    question: Question<'static>,
    done: Event<Answer>,
    /// Which query this is: an id is reused once free, and the cancel hook of an earlier
    /// query must not remove a later one's entry.
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
pub(crate) const BYTES_PER_REPLY: usize = 2048;

struct Inner {
    /// Connected to the server: the kernel drops datagrams from anywhere else, and reports
    /// an ICMP "port unreachable" from the server as an error on the next send or receive.
    sock: UdpSocket,
    server: SocketAddr,
    pending: RefCell<HashMap<u16, Pending>>,
    /// The id of the current attempt of each question, by [`question_key`] (a late reply
    /// checks the question itself before it is taken), sent or queued.
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
    /// it when the last query goes, so the loop can end. Cleared when `receive` ends, or is
    /// dropped with a run that unwound (its [`Receiving`] guard), so the next query starts
    /// a new one.
    wake: RefCell<Option<Rendezvous>>,
    stats: Cell<Stats>,
    /// State of the id generator (xorshift64*, seeded from the OS's hash keys).
    rng: Cell<u64>,
    serials: Cell<u64>,
}

/// The client of one server: a cheap handle (`Clone`) on the socket and the table of queries
/// in flight.
#[derive(Clone)]
pub(crate) struct Client {
    inner: Rc<Inner>,
}

impl Client {
    /// Opens a UDP socket connected to `server`, with a receive buffer sized for `window`
    /// replies in flight ([`BYTES_PER_REPLY`] each, as far as the system allows: Linux caps
    /// it at `net.core.rmem_max`). [`room`](Client::room) says how many queries that buffer
    /// lets out at once.
    pub(crate) fn new(server: SocketAddr, window: usize) -> io::Result<Client> {
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
        Ok(Client {
            inner: Rc::new(Inner {
                sock,
                server,
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

    // ANCHOR: query
    /// Sends one query for `name` and triggers `done` with its answer.
    ///
    /// `done` triggers when an acceptable reply arrives (over TCP if the UDP one was
    /// truncated), at once when the name is invalid or the server unreachable. It never
    /// triggers for a query with no reply: bound the wait with [`add_timeout`](crate::add_timeout),
    /// whose cancellation removes the query (the `on_cancel` hook this method puts on `done`).
    /// While [`room`](Client::room) queries are on the wire, the query waits its turn.
    pub(crate) fn query(&self, name: &str, qtype: QueryType, mut done: Event<Answer>) {
        if !done.is_live() {
            return;
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
            QTYPE::TYPE(qtype.rtype()),
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
        let key = question_key(&question);
        inner.pending.borrow_mut().insert(
            id,
            Pending {
                question,
                done,
                serial,
                sent: false,
            },
        );
        inner.by_name.borrow_mut().insert(key, id);
        if now {
            inner.transmit(id, &bytes);
        } else {
            inner.queue.borrow_mut().push_back(id);
        }
        drop(bytes);
        // No receive loop: start one (the table was empty, or a run that unwound dropped the
        // loop while queries were pending).
        if inner.wake.borrow().is_none() {
            receive(inner.clone());
        }
    }
    // ANCHOR_END: query

    /// Queries in flight now (sent, or waiting for room).
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.pending.borrow().len()
    }

    /// The most queries on the wire at once: what the socket's receive buffer holds.
    pub(crate) fn room(&self) -> usize {
        self.inner.room
    }

    /// What was sent and received so far.
    pub(crate) fn stats(&self) -> Stats {
        self.inner.stats.get()
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
        let key = question_key(&p.question);
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
            return; // answered, handed to TCP, or failed: no longer this query's entry
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
            // The answer did not fit in a datagram: ask again over TCP, as the same query.
            self.count(|s| s.over_tcp += 1);
            ask_over_tcp(self.server, p.question, p.done);
        } else {
            self.count(|s| s.accepted += 1);
            p.done.trigger(answer);
        }
    }
    // ANCHOR_END: dispatch

    /// A reply to a remembered attempt: its verdict, for the current attempt of the same
    /// question (`None` if the id is unknown, or the question has no attempt now).
    fn late(&self, id: u16, msg: &[u8]) -> Option<(u16, Verdict)> {
        let mut retired = self.retired.borrow_mut();
        let asked = retired.question(id)?;
        let verdict = judge(msg, asked);
        if !matches!(verdict, Verdict::Answer(_)) {
            return Some((id, verdict));
        }
        let now = *self.by_name.borrow().get(&question_key(asked))?;
        if self
            .pending
            .borrow()
            .get(&now)
            .is_none_or(|p| p.question.qname != asked.qname || p.question.qtype != asked.qtype)
        {
            return None; // another question with the same hash
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
#[tamed(crate = crate)]
fn receive(inner: Rc<Inner>) {
    let wake: Rendezvous = Rendezvous::new();
    *inner.wake.borrow_mut() = Some(wake.clone());
    let receiving = Receiving(inner.clone());
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
    drop(receiving);
}

/// Clears [`Inner::wake`] when [`receive`] ends, or is dropped with a run that unwound.
struct Receiving(Rc<Inner>);

impl Drop for Receiving {
    fn drop(&mut self) {
        *self.0.wake.borrow_mut() = None;
    }
}

/// The key of a question in [`Inner::by_name`]: its name (without regard to ASCII case) and
/// its type.
fn question_key(q: &Question<'_>) -> u64 {
    name_hash(&q.qname) ^ u64::from(u16::from(q.qtype)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
// ANCHOR_END: receive

// ANCHOR: tcp
/// Asks `question` again over TCP (a two-byte length, then the message, as RFC 7766 frames
/// DNS over TCP), and triggers `done` with the answer. A connection that fails, closes
/// early, or brings something other than an answer to the question gives `TRUNCATED`, the
/// UDP reply's word. If `done`'s receiver is cancelled (the caller's timeout), the call ends
/// where it waits and its connection closes.
#[tamed(crate = crate)]
fn ask_over_tcp(server: SocketAddr, question: Question<'static>, done: Event<Answer>) {
    let id: u16 = 0; // one query per connection: no id to tell replies apart
    let Ok(query) = query_bytes(id, &question) else {
        return done.trigger(Err(DnsError::Truncated));
    };
    let mut conn = Err(io::ErrorKind::NotConnected.into());
    twait! {
        #![describe("connecting to the DNS server over TCP")]
        connect(server, mkevent!(conn));
    }
    let Ok(stream) = conn.map(Rc::new) else {
        return done.trigger(Err(DnsError::Truncated));
    };
    let mut out = (query.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&query);
    let mut sent = Ok(0);
    twait! {
        #![describe("sending the DNS query over TCP")]
        write_all(stream.clone(), out, mkevent!(sent));
    }
    // The reply: its length, then that many bytes (at most 65,535: the frame bounds it).
    let reader = BufReader::new(stream);
    let mut len = sent.map(|_| Vec::new());
    if len.is_ok() {
        twait! {
            #![describe("the DNS answer over TCP")]
            reader.read_exact(2, mkevent!(len));
        }
    }
    let Ok(&[hi, lo]) = len.as_deref() else {
        return done.trigger(Err(DnsError::Truncated));
    };
    let mut reply = Ok(Vec::new());
    twait! {
        #![describe("the DNS answer over TCP")]
        reader.read_exact(usize::from(u16::from_be_bytes([hi, lo])), mkevent!(reply));
    }
    drop(reader); // the connection closes
    let answer = match reply
        .as_deref()
        .map(|r| (header_buffer::id(r), judge(r, &question)))
    {
        Ok((Ok(0), Verdict::Answer(a))) => a,
        _ => Err(DnsError::Truncated),
    };
    done.trigger(answer);
}
// ANCHOR_END: tcp

#[cfg(test)]
mod tests {
    use super::super::wire::tests::question;
    use super::*;
    use simple_dns::TYPE;

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn ids_in_flight_never_collide() {
        let res = Client::new("127.0.0.1:9".parse().unwrap(), 64).unwrap();
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
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn ids_of_remembered_attempts_are_not_handed_out() {
        let res = Client::new("127.0.0.1:9".parse().unwrap(), 64).unwrap();
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
