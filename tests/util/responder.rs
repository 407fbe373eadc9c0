//! Scripted DNS responders on threads, over UDP and TCP, for the multidns tests
//! (`tests/multidns.rs`) and those of `tame::dns` (`tests/dns.rs`): they
//! read queries and send back what a script says, bound to 127.0.0.1, stopped when dropped
//! or after 60 s. Needs only std and simple-dns.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use simple_dns::rdata::{A, AAAA, RData};
use simple_dns::{CLASS, Name, Packet, PacketFlag, QTYPE};

/// A query the responder read.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: u16,
    pub name: String,
    pub qtype: QTYPE,
    pub at: Instant,
}

/// What the responder's script wants sent back for a query: datagrams, each with a delay
/// (from the query's arrival) and whether it goes from the responder's second socket (a
/// different port: a reply "from elsewhere").
pub struct Datagram {
    pub after: Duration,
    pub from_other_port: bool,
    pub bytes: Vec<u8>,
}

impl Datagram {
    pub fn now(bytes: Vec<u8>) -> Datagram {
        Datagram {
            after: Duration::ZERO,
            from_other_port: false,
            bytes,
        }
    }
}

/// What the responder saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub queries: Vec<Query>,
    /// The most queries that had arrived and not yet been answered, at any moment.
    pub max_outstanding: usize,
}

type Script = Box<dyn FnMut(&Packet<'_>, &Query) -> Vec<Datagram> + Send>;

/// A DNS responder on a thread, on 127.0.0.1: reads queries, asks its script what to send
/// back, and sends it (with delays, possibly from its second socket). A query counts as
/// outstanding from its arrival until the last datagram its script asked for is sent.
/// Stops when dropped or after 60 s.
pub struct Responder {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Seen>>,
}

impl Responder {
    pub fn start(
        script: impl FnMut(&Packet<'_>, &Query) -> Vec<Datagram> + Send + 'static,
    ) -> Responder {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind responder");
        Responder::on(sock, script)
    }

    /// A UDP responder and a TCP one on the same port of 127.0.0.1 (a server that a client
    /// asks again over TCP after a truncated reply). The port is one the kernel hands out
    /// for TCP and that is free for UDP too: a UDP port picked first may be taken for TCP
    /// by a connection of another test running meanwhile.
    pub fn start_with_tcp(
        script: impl FnMut(&Packet<'_>, &Query) -> Vec<Datagram> + Send + 'static,
        tcp_script: impl FnMut(&Packet<'_>, &Query) -> TcpReply + Send + 'static,
    ) -> (Responder, TcpResponder) {
        for _ in 0..100 {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind tcp responder");
            let port = listener.local_addr().expect("local_addr").port();
            if let Ok(sock) = UdpSocket::bind(("127.0.0.1", port)) {
                return (
                    Responder::on(sock, script),
                    TcpResponder::on(listener, tcp_script),
                );
            }
        }
        panic!("no port of 127.0.0.1 free for both TCP and UDP in 100 tries");
    }

    fn on(
        sock: UdpSocket,
        mut script: impl FnMut(&Packet<'_>, &Query) -> Vec<Datagram> + Send + 'static,
    ) -> Responder {
        let other = UdpSocket::bind("127.0.0.1:0").expect("bind second socket");
        sock.set_read_timeout(Some(Duration::from_millis(2)))
            .expect("timeout");
        let addr = sock.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let script: Script = Box::new(move |p, q| script(p, q));
        let thread = thread::spawn(move || serve(sock, other, script, s));
        Responder {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// `--server` for this responder.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    /// Stops the responder and returns what it saw.
    pub fn seen(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("responder thread")
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(sock: UdpSocket, other: UdpSocket, mut script: Script, stop: Arc<AtomicBool>) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Seen::default();
    // (when, from_other_port, bytes, to, the query's index): sends not yet due.
    let mut due: Vec<(Instant, bool, Vec<u8>, SocketAddr, usize)> = Vec::new();
    // Per query: datagrams still to send.
    let mut left: Vec<usize> = Vec::new();
    let mut outstanding = 0usize;
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let now = Instant::now();
        let mut k = 0;
        while k < due.len() {
            if due[k].0 <= now {
                let (_, alt, bytes, to, q) = due.swap_remove(k);
                let s = if alt { &other } else { &sock };
                let _ = s.send_to(&bytes, to);
                left[q] -= 1;
                if left[q] == 0 {
                    outstanding -= 1;
                }
            } else {
                k += 1;
            }
        }
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(p) = Packet::parse(&buf[..n]) else {
            continue;
        };
        let Some(question) = p.questions.first() else {
            continue;
        };
        let q = Query {
            id: p.id(),
            name: question.qname.to_string(),
            qtype: question.qtype,
            at: Instant::now(),
        };
        let sends = script(&p, &q);
        let index = seen.queries.len();
        seen.queries.push(q.clone());
        left.push(sends.len());
        if !sends.is_empty() {
            outstanding += 1;
            seen.max_outstanding = seen.max_outstanding.max(outstanding);
        }
        for s in sends {
            due.push((q.at + s.after, s.from_other_port, s.bytes, from, index));
        }
    }
    seen
}

/// The reply to `query` with id `id`: its question, these records, this rcode and flags.
pub fn reply(query: &Packet<'_>, id: u16, edit: impl FnOnce(&mut Packet<'static>)) -> Vec<u8> {
    let mut p = Packet::new_reply(id);
    p.set_flags(PacketFlag::RECURSION_AVAILABLE);
    for q in &query.questions {
        p.questions.push(q.clone().into_owned());
    }
    edit(&mut p);
    p.build_bytes_vec().expect("build reply")
}

/// An A record for `name`.
pub fn a_record(name: &str, ip: Ipv4Addr) -> simple_dns::ResourceRecord<'static> {
    simple_dns::ResourceRecord::new(
        Name::new_unchecked(name).into_owned(),
        CLASS::IN,
        60,
        RData::A(A {
            address: u32::from(ip),
        }),
    )
}

/// An AAAA record for `name`.
pub fn aaaa_record(name: &str, ip: Ipv6Addr) -> simple_dns::ResourceRecord<'static> {
    simple_dns::ResourceRecord::new(
        Name::new_unchecked(name).into_owned(),
        CLASS::IN,
        60,
        RData::AAAA(AAAA {
            address: u128::from(ip),
        }),
    )
}

/// A CNAME record `alias` → `target`.
pub fn cname_record(alias: &str, target: &str) -> simple_dns::ResourceRecord<'static> {
    simple_dns::ResourceRecord::new(
        Name::new_unchecked(alias).into_owned(),
        CLASS::IN,
        60,
        RData::CNAME(simple_dns::rdata::CNAME(
            Name::new_unchecked(target).into_owned(),
        )),
    )
}

/// What the TCP responder's script does with one query read on a connection.
pub enum TcpReply {
    /// Writes the message, framed with its two-byte length, and keeps reading.
    Message(Vec<u8>),
    /// Writes these bytes as they are (a bad frame, say), then closes the connection.
    Raw(Vec<u8>),
    /// Closes the connection without an answer.
    Close,
    /// Keeps the connection open and never answers; the responder goes on with the next
    /// connection, and the query counts as seen once the client closes this one.
    Hold,
}

type TcpScript = Box<dyn FnMut(&Packet<'_>, &Query) -> TcpReply + Send>;

/// A DNS-over-TCP responder on a thread, on 127.0.0.1 (two-byte length, then the message, as
/// RFC 7766 frames them): reads queries on each connection in turn and writes back what its
/// script says. Stops when dropped or after 60 s.
pub struct TcpResponder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Query>>>,
}

impl TcpResponder {
    /// Serves on `listener` (see [`Responder::start_with_tcp`]).
    fn on(
        listener: TcpListener,
        mut script: impl FnMut(&Packet<'_>, &Query) -> TcpReply + Send + 'static,
    ) -> TcpResponder {
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let script: TcpScript = Box::new(move |p, q| script(p, q));
        let thread = thread::spawn(move || serve_tcp(listener, script, s));
        TcpResponder {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the responder and returns the queries it read.
    pub fn seen(mut self) -> Vec<Query> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("tcp responder thread")
    }
}

impl Drop for TcpResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_tcp(listener: TcpListener, mut script: TcpScript, stop: Arc<AtomicBool>) -> Vec<Query> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    // Held connections, each with its query: kept until the client closes it.
    let mut held: Vec<(std::net::TcpStream, Query)> = Vec::new();
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        held.retain_mut(|(conn, q)| {
            let mut b = [0u8; 1];
            match conn.read(&mut b) {
                Ok(0) => {
                    seen.push(q.clone());
                    false
                }
                _ => true,
            }
        });
        let Ok((mut conn, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(2));
            continue;
        };
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        loop {
            let mut len = [0u8; 2];
            if conn.read_exact(&mut len).is_err() {
                break;
            }
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if conn.read_exact(&mut msg).is_err() {
                break;
            }
            let Ok(p) = Packet::parse(&msg) else { break };
            let Some(question) = p.questions.first() else {
                break;
            };
            let q = Query {
                id: p.id(),
                name: question.qname.to_string(),
                qtype: question.qtype,
                at: Instant::now(),
            };
            let reply = script(&p, &q);
            if let TcpReply::Hold = reply {
                let _ = conn.set_nonblocking(true);
                held.push((conn, q));
                break;
            }
            seen.push(q.clone());
            match reply {
                TcpReply::Message(m) => {
                    let mut framed = (m.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&m);
                    if conn.write_all(&framed).is_err() {
                        break;
                    }
                }
                TcpReply::Raw(bytes) => {
                    let _ = conn.write_all(&bytes);
                    break;
                }
                TcpReply::Close | TcpReply::Hold => break,
            }
        }
    }
    // A held connection the client has closed by now counts too.
    for (mut conn, q) in held {
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
        if matches!(conn.read(&mut [0u8; 1]), Ok(0)) {
            seen.push(q);
        }
    }
    seen
}
