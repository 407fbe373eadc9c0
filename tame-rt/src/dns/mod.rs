//! Name lookups that do not block the loop: a DNS stub resolver on the tame loop.
//!
//! [`lookup`] turns a host name into its addresses, as `getaddrinfo` would, and triggers its
//! event with them; the loop goes on meanwhile. It uses a [`Resolver`] per thread, made at the
//! first lookup from /etc/resolv.conf and /etc/hosts. Make your own [`Resolver`] from a
//! [`Config`] to choose the servers, the timeout, the attempts, or the hosts.
//!
//! What a lookup does, in order:
//! 1. An IP address (`"10.0.0.1"`, `"::1"`) is its own answer.
//! 2. A name that cannot be sent fails at once with `InvalidInput` ([`DnsError::InvalidName`]):
//!    empty labels, a label over 63 bytes, a name over 253 characters, a character that is not
//!    printable ASCII. **A name in another script is refused**, not converted: make its ASCII
//!    form first (the `idna` crate's `domain_to_ascii` turns `bücher.example` into
//!    `xn--bcher-kva.example`), so the conversion and its dependencies stay your choice.
//! 3. The hosts entries ([`Config::hosts`]; /etc/hosts for the per-thread resolver): a name
//!    found there (without regard to ASCII case) gives its addresses there, and no query.
//! 4. `localhost` and names under it give `127.0.0.1` and `::1` (RFC 6761), no query.
//! 5. DNS: an `A` and an `AAAA` query at once, for each name of the search list in turn
//!    (`search`/`domain` and `ndots` of resolv.conf, as glibc orders them), until one has
//!    addresses. Each query is asked of the first server, then the next on a timeout or an
//!    error reply, for [`Config::attempts`] rounds of [`Config::timeout`] each; a truncated
//!    reply is asked again over TCP.
//!
//! The addresses come IPv4 first, then IPv6, each in the order of the answer (or of the hosts
//! file). No cache: every lookup asks again.
//!
//! Every reply is checked before it is believed: it must come from the server's address and
//! port (the socket is connected), carry the id of a query in flight (random, 16 bits), be a
//! response, and repeat the question (name, type, class). Anything else is ignored and counted
//! ([`Resolver::stats`]); the query keeps waiting for its answer.
//!
//! Not done: /etc/nsswitch.conf (hosts are always read first, then DNS), the
//! `RES_OPTIONS`/`LOCALDOMAIN` variables, resolv.conf options other than `timeout`,
//! `attempts` and `ndots` (`rotate`, `edns0`, `single-request`, …), a search domain taken from
//! the host name when resolv.conf gives none, EDNS (so a UDP reply is at most 512 bytes:
//! larger answers go over TCP), DNSSEC, a cache, and re-reading the files when they change.
//!
//! The module is the `dns` cargo feature (on by default), which brings the `simple-dns`
//! crate (the DNS wire format) and `socket2` (the size of the UDP receive buffer).
//!
//! ```
//! # use tame_rt as tame;
//! # if cfg!(miri) { return; } // Miri has no sockets
//! use std::net::IpAddr;
//! use tame::Rendezvous;
//!
//! let r: Rendezvous<(), std::io::Result<Vec<IpAddr>>> = Rendezvous::new();
//! tame::run(|| tame::dns::lookup("localhost", r.event(())));
//! let ((), addrs) = r.try_join().unwrap();
//! let addrs = addrs.unwrap();
//! assert!(!addrs.is_empty() && addrs.iter().all(|ip| ip.is_loopback()));
//! ```

mod client;
mod conf;
mod wire;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use simple_dns::TYPE;
use tame_macros::tamed;

use crate::event::Event;
use crate::timeout::{TimedOut, add_timeout};
use client::Client;

#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub use wire::promises;

/// The record type asked for by [`Resolver::resolve`] and [`Resolver::query`].
///
/// ```
/// # use tame_rt as tame;
/// use tame::dns::QueryType;
/// assert_ne!(QueryType::A, QueryType::Aaaa);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Why a query has no addresses.
///
/// [`lookup`] reports it inside an `io::Error` (see the `From` conversion for the kinds);
/// `e.get_ref()` and `downcast_ref::<DnsError>()` give it back.
///
/// ```
/// # use tame_rt as tame;
/// use tame::dns::DnsError;
/// let e = std::io::Error::from(DnsError::NxDomain);
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// let inner = e.get_ref().and_then(|e| e.downcast_ref::<DnsError>());
/// assert_eq!(inner, Some(&DnsError::NxDomain));
/// assert_eq!(e.to_string(), "no such name (NXDOMAIN)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsError {
    /// The name does not exist (`NXDOMAIN`).
    NxDomain,
    /// The name exists but has no record of the type asked for (`NOERROR`, empty answer).
    NoData,
    /// The server failed to answer (`SERVFAIL`).
    ServFail,
    /// The server refused the query (`REFUSED`).
    Refused,
    /// Another response code, by its number (`1` is `FORMERR`, `4` `NOTIMP`, …).
    Rcode(u16),
    /// The reply did not fit in a UDP datagram (the `TC` bit), and asking again over TCP
    /// failed (no connection, closed early, or no answer to the question in what came).
    Truncated,
    /// The server cannot be reached: an ICMP error came back (a closed port:
    /// `ConnectionRefused`). Every query in flight to that server gets it at once.
    Unreachable(io::ErrorKind),
    /// No acceptable reply in time, after every attempt. [`Resolver::query`] never reports
    /// it itself: its caller's timeout does.
    Timeout,
    /// The name cannot be sent: an empty label, a label over 63 bytes, a name over 253
    /// characters, or a character that is not printable ASCII (a name in another script
    /// included: convert it to its ASCII form first).
    InvalidName,
    /// The query could not be sent (the socket's error).
    Send(io::ErrorKind),
    /// 65,536 queries are already in flight to one server: no id is free.
    TooManyQueries,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NxDomain => f.write_str("no such name (NXDOMAIN)"),
            DnsError::NoData => f.write_str("no address of the type asked for (NODATA)"),
            DnsError::ServFail => f.write_str("the server failed (SERVFAIL)"),
            DnsError::Refused => f.write_str("the server refused the query (REFUSED)"),
            DnsError::Rcode(n) => write!(f, "the server answered {}", rcode_name(*n)),
            DnsError::Truncated => {
                f.write_str("the answer was truncated, and asking over TCP failed")
            }
            DnsError::Unreachable(k) => {
                write!(f, "the server is unreachable: {}", io::Error::from(*k))
            }
            DnsError::Timeout => f.write_str("no answer in time"),
            DnsError::InvalidName => f.write_str(
                "not a name that can be sent (empty or long label, or not printable ASCII: \
                 convert an internationalised name to its ASCII form first)",
            ),
            DnsError::Send(k) => write!(f, "sending the query: {}", io::Error::from(*k)),
            DnsError::TooManyQueries => f.write_str("65,536 queries in flight: no id is free"),
        }
    }
}

/// The mnemonic of a response code (RFC 1035, 2136, 6891), or `RCODE<n>`.
///
/// ```
/// # use tame_rt as tame;
/// assert_eq!(tame::dns::rcode_name(4), "NOTIMP");
/// assert_eq!(tame::dns::rcode_name(12), "RCODE12");
/// ```
pub fn rcode_name(n: u16) -> String {
    let name = match n {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return format!("RCODE{n}"),
    };
    name.to_string()
}

impl std::error::Error for DnsError {}

/// The `io::Error` of a failed lookup: `NotFound` for `NxDomain` and `NoData`, `TimedOut`,
/// `InvalidInput` for `InvalidName`, the socket's kind for `Unreachable` and `Send`, `Other`
/// for the rest; the `DnsError` is its inner error.
impl From<DnsError> for io::Error {
    fn from(e: DnsError) -> io::Error {
        let kind = match e {
            DnsError::NxDomain | DnsError::NoData => io::ErrorKind::NotFound,
            DnsError::Timeout => io::ErrorKind::TimedOut,
            DnsError::InvalidName => io::ErrorKind::InvalidInput,
            DnsError::Unreachable(k) | DnsError::Send(k) => k,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// What a query delivers: the addresses, in the order of the answer, or why there are none.
pub type Answer = Result<Vec<IpAddr>, DnsError>;

/// Counters of what a resolver sent and received, over all its servers.
///
/// ```
/// # use tame_rt as tame;
/// let s = tame::dns::Stats { unknown_id: 2, malformed: 1, ..Default::default() };
/// assert_eq!(s.ignored(), 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Queries sent over UDP (each retry is a new query).
    pub sent: u64,
    /// Replies accepted as the answer to a pending query.
    pub accepted: u64,
    /// Of those, replies to an earlier attempt that came after it was given up, taken as
    /// the answer of the same question's current attempt.
    pub late: u64,
    /// Truncated replies asked again over TCP.
    pub over_tcp: u64,
    /// Replies whose id matches no pending query nor a remembered attempt (spoofed, or late
    /// after the question's last attempt).
    pub unknown_id: u64,
    /// Replies with a pending query's id but another question, or not marked as a response.
    pub wrong_question: u64,
    /// Datagrams that are not a DNS message.
    pub malformed: u64,
}

impl Stats {
    /// Datagrams received and not taken as an answer. (Each socket is connected to its
    /// server: the kernel drops datagrams from any other address before they are read.)
    ///
    /// ```
    /// # use tame_rt as tame;
    /// assert_eq!(tame::dns::Stats::default().ignored(), 0);
    /// ```
    pub fn ignored(&self) -> u64 {
        self.unknown_id + self.wrong_question + self.malformed
    }

    fn add(&mut self, o: &Stats) {
        self.sent += o.sent;
        self.accepted += o.accepted;
        self.late += o.late;
        self.over_tcp += o.over_tcp;
        self.unknown_id += o.unknown_id;
        self.wrong_question += o.wrong_question;
        self.malformed += o.malformed;
    }
}

/// How a [`Resolver`] resolves: its servers, timeouts, search list and hosts.
///
/// [`Config::system`] reads /etc/resolv.conf and /etc/hosts;
/// [`Config::from_resolv_conf`] reads resolv.conf text; [`Config::default`] is glibc's
/// defaults with the server `127.0.0.1:53`. The fields can be changed after.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// let mut c = tame::dns::Config::default();
/// c.nameservers = vec!["192.0.2.53:5353".parse().unwrap()];
/// c.timeout = Duration::from_millis(500);
/// assert_eq!(c.attempts, 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The servers, asked in this order (resolv.conf's `nameserver` lines).
    pub nameservers: Vec<SocketAddr>,
    /// Domains tried after (or before, see `ndots`) a name as given (`search` or `domain`).
    pub search: Vec<String>,
    /// A name with at least this many dots is tried as given before the search list; one
    /// with fewer, after it (`options ndots:N`; 1 by default). A name ending in a dot is
    /// tried only as given.
    pub ndots: u32,
    /// How long each query waits for its reply from one server (`options timeout:N`; 5 s).
    pub timeout: Duration,
    /// Rounds over the servers (`options attempts:N`; 2). A round ends early once every
    /// server replied.
    pub attempts: u32,
    /// Host names and their addresses, looked at before DNS by [`Resolver::lookup`] (not by
    /// [`Resolver::resolve`]); /etc/hosts for [`Config::system`].
    pub hosts: Vec<(String, IpAddr)>,
    /// How many replies in flight each server's UDP receive buffer is sized for (64): a
    /// program with many queries at once raises it (see [`Resolver::room`]).
    pub window: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            nameservers: vec![conf::FALLBACK],
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            hosts: Vec::new(),
            window: 64,
        }
    }
}

/// A DNS stub resolver: one UDP socket per server, many queries in flight on each.
///
/// `Resolver` is a cheap handle (`Clone`); clones share the sockets and the queries in
/// flight. It belongs to the thread that made it (it is not `Send`), and may be used in any
/// number of [`run`](crate::run)s; between queries it keeps nothing on the loop.
///
/// Three levels:
/// - [`lookup`](Resolver::lookup): hosts, then `A` and `AAAA` over the search list, with
///   timeouts and retries: what the free [`lookup`] does with the per-thread resolver.
/// - [`resolve`](Resolver::resolve): one record type for one name, with timeouts and
///   retries over the servers, and the detailed [`DnsError`].
/// - [`query`](Resolver::query): one query to the first server, no timer, no retry: the
///   caller bounds it with [`add_timeout`].
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::net::IpAddr;
/// use tame::dns::{Config, Resolver};
///
/// let mut config = Config::default();
/// config.add_hosts("10.0.0.7 db.internal\n");
/// let res = Resolver::new(config).unwrap();
/// let r = tame::Rendezvous::<(), std::io::Result<Vec<IpAddr>>>::new();
/// tame::run(|| res.lookup("DB.internal", r.event(())));
/// assert_eq!(r.try_join().unwrap().1.unwrap(), ["10.0.0.7".parse::<IpAddr>().unwrap()]);
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Rc<Shared>,
}

struct Shared {
    /// One per server, in the order of [`Config::nameservers`]; the error of a server whose
    /// socket could not be opened (an IPv6 server on a host without IPv6, say): its queries
    /// fail at once with `Send`, and the search moves on to the next server.
    clients: Vec<Result<Client, io::ErrorKind>>,
    config: Config,
    /// [`Config::hosts`] by lower-case name: IPv4 addresses first, then IPv6, each in the
    /// order of the entries.
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl Resolver {
    /// Opens a UDP socket for each server of `config`, with a receive buffer sized for
    /// [`Config::window`] replies (as far as the system allows: Linux caps it at
    /// `net.core.rmem_max`).
    ///
    /// A server whose socket cannot be opened (an IPv6 address on a host without IPv6, a
    /// broadcast address) is kept in the list: its queries fail at once with
    /// [`DnsError::Send`], and [`resolve`](Resolver::resolve) moves on to the next server, as
    /// glibc does.
    ///
    /// # Errors
    /// `InvalidInput` if `config` has no server; the first socket's error if no server's
    /// socket can be opened.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use tame::dns::{Config, Resolver};
    /// let res = Resolver::new(Config::default()).unwrap();
    /// assert_eq!(res.nameservers(), ["127.0.0.1:53".parse().unwrap()]);
    /// let mut none = Config::default();
    /// none.nameservers.clear();
    /// assert_eq!(Resolver::new(none).err().unwrap().kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn new(config: Config) -> io::Result<Resolver> {
        if config.nameservers.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a resolver needs at least one nameserver",
            ));
        }
        let mut first_error = None;
        let clients: Vec<Result<Client, io::ErrorKind>> = config
            .nameservers
            .iter()
            .map(|&server| {
                Client::new(server, config.window).map_err(|e| {
                    let kind = e.kind();
                    first_error.get_or_insert(e);
                    kind
                })
            })
            .collect();
        if let Some(e) = first_error
            && clients.iter().all(Result::is_err)
        {
            return Err(e);
        }
        let mut hosts: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for family_v4 in [true, false] {
            for (name, ip) in &config.hosts {
                if ip.is_ipv4() == family_v4 {
                    let key = host_key(name);
                    hosts.entry(key).or_default().push(*ip);
                }
            }
        }
        Ok(Resolver {
            inner: Rc::new(Shared {
                clients,
                config,
                hosts,
            }),
        })
    }

    /// Looks `name` up and triggers `done` with its addresses: an IP address as itself, then
    /// the hosts entries, `localhost`, and DNS (`A` and `AAAA` at once, over the search
    /// list), as the [module](self) describes. IPv4 addresses come first.
    ///
    /// `done` triggers once, at the latest after about `attempts × servers × timeout` for
    /// each name of the search list; at once for an address, a hosts entry or a name that
    /// cannot be sent. If `done`'s receiver is cancelled (a caller's own
    /// [`add_timeout`]), the queries are forgotten at once.
    ///
    /// # Errors
    /// Through `done`: `NotFound` when no name of the search list has an address,
    /// `TimedOut`, `InvalidInput` for a name that cannot be sent (a name in another script
    /// among them), and others (see [`DnsError`], the inner error).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io;
    /// use std::net::IpAddr;
    /// use tame::dns::{Config, Resolver};
    ///
    /// let res = Resolver::new(Config::default()).unwrap();
    /// let r = tame::Rendezvous::<usize, io::Result<Vec<IpAddr>>>::new();
    /// tame::run(|| {
    ///     res.lookup("::1", r.event(0));
    ///     res.lookup("b\u{fc}cher.example", r.event(1));
    /// });
    /// let mut got: Vec<_> = std::iter::from_fn(|| r.try_join()).collect();
    /// got.sort_by_key(|(i, _)| *i);
    /// assert_eq!(got[0].1.as_ref().unwrap(), &["::1".parse::<IpAddr>().unwrap()]);
    /// assert_eq!(got[1].1.as_ref().unwrap_err().kind(), io::ErrorKind::InvalidInput);
    /// ```
    pub fn lookup(&self, name: &str, done: Event<io::Result<Vec<IpAddr>>>) {
        if !done.is_live() {
            return;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            return done.trigger(Ok(vec![ip]));
        }
        if wire::encodable(name).is_none() {
            return done.trigger(Err(DnsError::InvalidName.into()));
        }
        let key = host_key(name);
        if let Some(addrs) = self.inner.hosts.get(&key) {
            return done.trigger(Ok(addrs.clone()));
        }
        if key == "localhost" || key.ends_with(".localhost") {
            let local = vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ];
            return done.trigger(Ok(local));
        }
        let names = self.candidates(name);
        if names.is_empty() {
            return done.trigger(Err(DnsError::InvalidName.into()));
        }
        lookup_both(self.clone(), names, done);
    }

    /// The names to ask for `name`, in order: as given and with each search domain, ordered
    /// by `ndots` as glibc does; only those that can be sent.
    fn candidates(&self, name: &str) -> Vec<String> {
        let c = &self.inner.config;
        if name.ends_with('.') {
            return vec![name.to_string()];
        }
        let searched = c.search.iter().map(|d| {
            let d = d.strip_suffix('.').unwrap_or(d);
            format!("{name}.{d}")
        });
        let dots = name.bytes().filter(|&b| b == b'.').count();
        let mut names: Vec<String> = if dots >= c.ndots as usize {
            std::iter::once(name.to_string()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(name.to_string())).collect()
        };
        names.retain(|n| wire::encodable(n).is_some());
        names
    }

    // ANCHOR: resolve
    /// Resolves one record type of `name` by DNS alone (no hosts, no search list): triggers
    /// `done` with the addresses, or with the [`DnsError`] that ends the search.
    ///
    /// The query goes to each server in turn, each attempt bounded by [`Config::timeout`]:
    /// a timeout or an error reply (`SERVFAIL`, `REFUSED`, another code, a failed TCP
    /// retry, an unreachable server) moves on to the next server. `NXDOMAIN`, `NODATA` and
    /// addresses end it. After a round over the servers, a round in which some server
    /// replied ends with the first error replied; a round of timeouts only starts another,
    /// up to [`Config::attempts`] rounds, then `Timeout`. A reply that comes after its
    /// attempt timed out still answers the next attempt to the same server.
    ///
    /// An IP address of the family asked for is its own answer; one of the other family is
    /// `NoData`. If `done`'s receiver is cancelled, the query is forgotten at once.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use tame::dns::{Config, DnsError, QueryType, Resolver};
    ///
    /// let res = Resolver::new(Config::default()).unwrap();
    /// let r = tame::Rendezvous::<usize, tame::dns::Answer>::new();
    /// tame::run(|| {
    ///     res.resolve("10.0.0.1", QueryType::A, r.event(0));
    ///     res.resolve("10.0.0.1", QueryType::Aaaa, r.event(1));
    ///     res.resolve("a..b", QueryType::A, r.event(2));
    /// });
    /// let mut got: Vec<_> = std::iter::from_fn(|| r.try_join()).collect();
    /// got.sort_by_key(|(i, _)| *i);
    /// assert_eq!(got[0].1, Ok(vec!["10.0.0.1".parse().unwrap()]));
    /// assert_eq!(got[1].1, Err(DnsError::NoData));
    /// assert_eq!(got[2].1, Err(DnsError::InvalidName));
    /// ```
    pub fn resolve(&self, name: &str, qtype: QueryType, done: Event<Answer>) {
        if !done.is_live() {
            return;
        }
        if let Some(answer) = literal(name, qtype) {
            return done.trigger(answer);
        }
        // A name that cannot be sent is refused by the first query, at once (`is_final`).
        resolve_retrying(self.clone(), name.to_string(), qtype, done);
    }
    // ANCHOR_END: resolve

    /// Sends one query for `name` to the first server and triggers `done` with its answer:
    /// no timer, no retry, no other server.
    ///
    /// `done` triggers when an acceptable reply arrives (over TCP if the UDP one was
    /// truncated), at once for an IP address (as [`resolve`](Resolver::resolve) treats it),
    /// a name that cannot be sent, or an unreachable server. It never triggers for a query
    /// with no reply: bound the wait with [`add_timeout`], whose
    /// cancellation removes the query. While [`room`](Resolver::room) queries are on the
    /// wire, the query waits its turn (so a large window never loses replies to a full
    /// receive buffer).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// use std::io::ErrorKind;
    /// use tame::dns::{Config, DnsError, QueryType, Resolver};
    ///
    /// // A port nobody listens on: the ICMP error fails the query at once.
    /// let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let mut config = Config::default();
    /// config.nameservers = vec![closed.local_addr().unwrap()];
    /// drop(closed);
    /// let res = Resolver::new(config).unwrap();
    /// let r = tame::Rendezvous::<(), tame::dns::Answer>::new();
    /// tame::run(|| res.query("example.com", QueryType::A, r.event(())));
    /// let ((), answer) = r.try_join().unwrap();
    /// assert_eq!(answer, Err(DnsError::Unreachable(ErrorKind::ConnectionRefused)));
    /// assert_eq!(res.stats().sent, 1);
    /// ```
    pub fn query(&self, name: &str, qtype: QueryType, done: Event<Answer>) {
        if !done.is_live() {
            return;
        }
        if let Some(answer) = literal(name, qtype) {
            return done.trigger(answer);
        }
        self.inner.query(0, name, qtype, done);
    }

    /// Queries in flight now, over all servers (sent, or waiting for room).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let res = tame::dns::Resolver::new(tame::dns::Config::default()).unwrap();
    /// assert_eq!(res.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.inner.open().map(Client::in_flight).sum()
    }

    /// The most queries on the wire at once to one server: as many replies as its socket's
    /// receive buffer holds (the smallest over the servers). Queries beyond it wait their
    /// turn.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let res = tame::dns::Resolver::new(tame::dns::Config::default()).unwrap();
    /// assert!(res.room() >= 1);
    /// ```
    pub fn room(&self) -> usize {
        let rooms = self.inner.open().map(Client::room);
        rooms.min().unwrap_or(1)
    }

    /// What was sent and received so far, over all servers.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let res = tame::dns::Resolver::new(tame::dns::Config::default()).unwrap();
    /// assert_eq!(res.stats(), tame::dns::Stats::default());
    /// ```
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for c in self.inner.open() {
            total.add(&c.stats());
        }
        total
    }

    /// The servers, in the order they are asked.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let c = tame::dns::Config::from_resolv_conf("nameserver 10.0.0.1\nnameserver 10.0.0.2\n");
    /// let res = tame::dns::Resolver::new(c).unwrap();
    /// assert_eq!(res.nameservers().len(), 2);
    /// ```
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.inner.config.nameservers
    }

    /// The configuration it was made with.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let res = tame::dns::Resolver::new(tame::dns::Config::default()).unwrap();
    /// assert_eq!(res.config().attempts, 2);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

impl Shared {
    /// Sends one query to server `i` (see [`Client::query`]); `Send` at once if its socket
    /// could not be opened.
    fn query(&self, i: usize, name: &str, qtype: QueryType, done: Event<Answer>) {
        match &self.clients[i] {
            Ok(c) => c.query(name, qtype, done),
            Err(kind) => done.trigger(Err(DnsError::Send(*kind))),
        }
    }

    /// The clients whose socket is open.
    fn open(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter().filter_map(|c| c.as_ref().ok())
    }
}

/// A hosts key: lower case, without a trailing dot.
fn host_key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The answer an IP address gives for `qtype`, or `None` if `name` is not one: itself if of
/// the family asked for (as `getaddrinfo` and dig's `+short` treat it), else `NoData`.
fn literal(name: &str, qtype: QueryType) -> Option<Answer> {
    let ip = name.parse::<IpAddr>().ok()?;
    let family_asked = match qtype {
        QueryType::A => ip.is_ipv4(),
        QueryType::Aaaa => ip.is_ipv6(),
    };
    Some(if family_asked {
        Ok(vec![ip])
    } else {
        Err(DnsError::NoData)
    })
}

/// Whether an error reply ends the search at once (the name's own answer), rather than
/// moving on to the next server.
fn is_final(e: &DnsError) -> bool {
    matches!(
        e,
        DnsError::NxDomain | DnsError::NoData | DnsError::InvalidName | DnsError::TooManyQueries
    )
}

// ANCHOR: retry
/// [`Resolver::resolve`]'s search: each server in turn, each attempt a fresh query bounded
/// by the timeout, for `attempts` rounds.
#[tamed(crate = crate)]
fn resolve_retrying(res: Resolver, name: String, qtype: QueryType, done: Event<Answer>) {
    let (timeout, rounds) = (res.inner.config.timeout, res.inner.config.attempts.max(1));
    let servers = res.inner.clients.len();
    for _round in 0..rounds {
        let mut replied: Option<DnsError> = None;
        for i in 0..servers {
            let mut got = Err(TimedOut);
            twait! {
                #![describe("a DNS reply")]
                res.inner.query(i, &name, qtype, add_timeout(timeout, mkevent!(got)));
            }
            match got {
                Ok(Ok(addrs)) => return done.trigger(Ok(addrs)),
                Ok(Err(e)) if is_final(&e) => return done.trigger(Err(e)),
                // An error reply: the next server may do better.
                Ok(Err(e)) => {
                    replied.get_or_insert(e);
                }
                // Timed out: add_timeout cancelled the query's event, so the client dropped
                // it (a reply to it that comes late still answers the next attempt).
                Err(TimedOut) => {}
            }
        }
        if let Some(e) = replied {
            return done.trigger(Err(e));
        }
    }
    done.trigger(Err(DnsError::Timeout));
}
// ANCHOR_END: retry

/// [`Resolver::lookup`]'s DNS part: `A` and `AAAA` at once for each name in turn, until one
/// has addresses or fails otherwise than `NXDOMAIN`/`NODATA`.
#[tamed(crate = crate)]
fn lookup_both(res: Resolver, names: Vec<String>, done: Event<io::Result<Vec<IpAddr>>>) {
    let mut last = DnsError::NxDomain;
    for name in names {
        let (mut v4, mut v6) = (Err(DnsError::Timeout), Err(DnsError::Timeout));
        twait! {
            #![describe("the A and AAAA answers")]
            res.resolve(&name, QueryType::A, mkevent!(v4));
            res.resolve(&name, QueryType::Aaaa, mkevent!(v6));
        }
        match both(v4, v6) {
            Ok(addrs) => return done.trigger(Ok(addrs)),
            Err(e @ (DnsError::NxDomain | DnsError::NoData)) => last = e,
            Err(e) => return done.trigger(Err(e.into())),
        }
    }
    done.trigger(Err(last.into()));
}

/// The answers of `A` and `AAAA` for one name, as one: the addresses of both (IPv4 first),
/// or, if neither has any, an error that is not `NXDOMAIN`/`NODATA` (the name may exist:
/// `A`'s first), else `NODATA` if either says the name exists, else `NXDOMAIN`.
fn both(v4: Answer, v6: Answer) -> Answer {
    match (v4, v6) {
        (Ok(mut a), Ok(b)) => {
            a.extend(b);
            Ok(a)
        }
        (Ok(a), Err(_)) | (Err(_), Ok(a)) => Ok(a),
        (Err(a), Err(b)) => {
            let negative = |e: &DnsError| matches!(e, DnsError::NxDomain | DnsError::NoData);
            Err(if !negative(&a) {
                a
            } else if !negative(&b) {
                b
            } else if a == DnsError::NxDomain && b == DnsError::NxDomain {
                DnsError::NxDomain
            } else {
                DnsError::NoData
            })
        }
    }
}

thread_local! {
    /// The resolver [`lookup`] uses on this thread, made at its first call.
    static DEFAULT: RefCell<Option<Resolver>> = const { RefCell::new(None) };
}

/// Looks `name` up with this thread's resolver, without blocking the loop: triggers `done`
/// with its addresses (IPv4 first), or an error.
///
/// The resolver is made at the first call on the thread, from /etc/resolv.conf and
/// /etc/hosts as they are then ([`Config::system`]), and kept for the thread's life. What a
/// lookup does is [`Resolver::lookup`]; the [module](self) lists what is and is not done.
///
/// # Errors
/// Through `done`: those of [`Resolver::lookup`], and the error of opening the resolver's
/// sockets (then the next call tries again).
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io;
/// use std::net::IpAddr;
/// use std::time::Duration;
/// use tame::{Rendezvous, TimedOut};
///
/// // Bounded by a timeout of the caller's own, as any event.
/// let r: Rendezvous<(), Result<io::Result<Vec<IpAddr>>, TimedOut>> = Rendezvous::new();
/// tame::run(|| {
///     let done = tame::add_timeout(Duration::from_secs(2), r.event(()));
///     tame::dns::lookup("localhost", done);
/// });
/// let ((), got) = r.try_join().unwrap();
/// let addrs = got.unwrap().unwrap();
/// assert!(!addrs.is_empty() && addrs.iter().all(|ip| ip.is_loopback()));
/// ```
pub fn lookup(name: &str, done: Event<io::Result<Vec<IpAddr>>>) {
    let res = DEFAULT.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(Resolver::new(Config::system())?);
        }
        Ok::<_, io::Error>(d.clone())
    });
    match res {
        Ok(Some(res)) => res.lookup(name, done),
        Ok(None) => unreachable!("set just above"),
        Err(e) => done.trigger(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn both_answers_give_ipv4_first_and_the_most_telling_error() {
        use DnsError::*;
        let v4 = || Ok(vec![ip("10.0.0.1")]);
        let v6 = || Ok(vec![ip("::1")]);
        assert_eq!(both(v4(), v6()), Ok(vec![ip("10.0.0.1"), ip("::1")]));
        assert_eq!(both(Err(Timeout), v6()), v6());
        assert_eq!(both(v4(), Err(NoData)), v4());
        assert_eq!(both(Err(NxDomain), Err(NxDomain)), Err(NxDomain));
        assert_eq!(both(Err(NoData), Err(NxDomain)), Err(NoData));
        assert_eq!(both(Err(NxDomain), Err(NoData)), Err(NoData));
        assert_eq!(both(Err(NxDomain), Err(ServFail)), Err(ServFail));
        assert_eq!(both(Err(Timeout), Err(ServFail)), Err(Timeout));
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn the_search_list_is_ordered_by_ndots() {
        let mut c = Config {
            search: vec!["a.example".into(), "b.example.".into()],
            ndots: 1,
            ..Config::default()
        };
        let res = Resolver::new(c.clone()).unwrap();
        assert_eq!(
            res.candidates("www"),
            ["www.a.example", "www.b.example", "www"]
        );
        assert_eq!(
            res.candidates("www.x"),
            ["www.x", "www.x.a.example", "www.x.b.example"]
        );
        assert_eq!(res.candidates("www.x."), ["www.x."]);
        c.ndots = 2;
        let res = Resolver::new(c).unwrap();
        assert_eq!(res.candidates("www.x")[0], "www.x.a.example");
        // A candidate too long to send is left out.
        let long = "x".repeat(61);
        let name = [long.as_str(); 4].join(".");
        assert_eq!(res.candidates(&name), [name]);
    }

    #[test]
    fn error_kinds_follow_the_dns_error() {
        use io::ErrorKind as K;
        for (e, k) in [
            (DnsError::NxDomain, K::NotFound),
            (DnsError::NoData, K::NotFound),
            (DnsError::Timeout, K::TimedOut),
            (DnsError::InvalidName, K::InvalidInput),
            (
                DnsError::Unreachable(K::ConnectionRefused),
                K::ConnectionRefused,
            ),
            (DnsError::ServFail, K::Other),
            (DnsError::Rcode(4), K::Other),
        ] {
            assert_eq!(io::Error::from(e.clone()).kind(), k, "{e:?}");
        }
        assert_eq!(
            DnsError::Rcode(1).to_string(),
            "the server answered FORMERR"
        );
        assert_eq!(rcode_name(9), "NOTAUTH");
    }
}
