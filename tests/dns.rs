//! `tame::dns` on live sockets, against the scripted responders of the multidns tests (a DNS
//! server on a thread, on 127.0.0.1, that answers as each test's script says): one query at
//! a time and many at once, timeouts that forget the query, `lookup`'s hosts, `A` and `AAAA`,
//! search list, servers in turn, TCP after a truncated answer, and replies that are not
//! believed.
#![cfg(feature = "dns")]
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use simple_dns::{PacketFlag, QTYPE, RCODE, TYPE};
use tame::dns::{Answer, Config, DnsError, QueryType, Resolver};
use tame::{Event, Rendezvous, TimedOut, tamed};

#[path = "util/responder.rs"]
mod responder;
use responder::{Datagram, Responder, TcpReply, a_record, aaaa_record, cname_record, reply};

type Found = io::Result<Vec<IpAddr>>;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A resolver of `servers`, with a short timeout (each test says how many attempts).
fn resolver(servers: &[&Responder], timeout_ms: u64, attempts: u32) -> Resolver {
    let mut c = Config::default();
    c.nameservers = servers.iter().map(|s| s.addr).collect();
    c.timeout = Duration::from_millis(timeout_ms);
    c.attempts = attempts;
    Resolver::new(c).unwrap()
}

/// Runs `lookup` of each name on a thread of its own (a hang fails the test after 30 s
/// instead of blocking it), and returns the results in the order of `names`.
fn lookup_all(config: Config, names: &[&str]) -> Vec<Found> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let res = Resolver::new(config).unwrap();
        let r: Rendezvous<usize, Found> = Rendezvous::new();
        tame::run(|| {
            for (i, n) in names.iter().enumerate() {
                res.lookup(n, r.event(i));
            }
        });
        let mut got: Vec<(usize, Found)> = std::iter::from_fn(|| r.try_join()).collect();
        got.sort_by_key(|(i, _)| *i);
        let _ = tx.send((got, res.in_flight()));
    });
    let (got, in_flight) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the lookups finished within 30 s");
    assert_eq!(in_flight, 0, "nothing left in flight");
    got.into_iter().map(|(_, f)| f).collect()
}

fn config(servers: &[&Responder]) -> Config {
    let mut c = Config::default();
    c.nameservers = servers.iter().map(|s| s.addr).collect();
    c.timeout = Duration::from_millis(200);
    c.attempts = 2;
    c
}

/// The `DnsError` inside a lookup's error.
fn dns_error(f: &Found) -> Option<&DnsError> {
    f.as_ref().err()?.get_ref()?.downcast_ref::<DnsError>()
}

// ---- Resolver::query: one query, no timer (the multidns core) ----

/// One name after the other: each query starts when the previous answer is in.
#[tamed]
fn one_by_one(res: Resolver, names: Vec<String>, done: Event<Vec<Answer>>) {
    let mut answers = Vec::with_capacity(names.len());
    for name in names {
        let mut answer = Err(DnsError::Timeout);
        twait! { res.query(&name, QueryType::A, mkevent!(answer)); }
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
            res.query(name, QueryType::A, mkevent!(answers[i]));
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

/// A responder that answers `A` queries as [`expected`] says (and `AAAA` with `::N` for
/// names whose N is even), or, `silent`, reads queries and never answers.
fn server(silent: bool) -> Responder {
    server_behind(silent, None)
}

/// [`server`], answering each query only once `gate` is free: while a test holds the gate's
/// lock, every answer waits.
fn server_behind(silent: bool, gate: Option<Arc<Mutex<()>>>) -> Responder {
    Responder::start(move |p, q| {
        if let Some(gate) = &gate {
            drop(gate.lock().unwrap_or_else(|e| e.into_inner()));
        }
        if silent {
            return Vec::new();
        }
        let n: u32 = q
            .name
            .split('.')
            .next()
            .and_then(|l| l.strip_prefix('h'))
            .and_then(|d| d.parse().ok())
            .unwrap_or(9);
        let aaaa = q.qtype == QTYPE::TYPE(TYPE::AAAA);
        let bytes = reply(p, q.id, |r| match expected(n) {
            Ok(_) if aaaa && n % 2 == 1 => {}
            Ok(_) if aaaa => r
                .answers
                .push(aaaa_record(&q.name, Ipv6Addr::from(u128::from(n)))),
            Ok(addrs) => {
                for ip in addrs {
                    let IpAddr::V4(v4) = ip else { unreachable!() };
                    r.answers.push(a_record(&q.name, v4));
                }
            }
            Err(_) => *r.rcode_mut() = RCODE::NameError,
        });
        vec![Datagram::now(bytes)]
    })
}

fn names(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("h{i}.test")).collect()
}

/// Runs `f` over `n` names against a [`server`], on a thread of its own; checks every answer.
fn run(f: fn(Resolver, Vec<String>, Event<Vec<Answer>>), n: u32) {
    let server = server(false);
    let addr = server.addr;
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut c = Config::default();
        c.nameservers = vec![addr];
        let res = Resolver::new(c).unwrap();
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
fn queries_one_by_one_are_all_answered() {
    run(one_by_one, 50);
}

#[test]
fn queries_all_at_once_are_all_answered() {
    // No timeout: few enough names that no socket buffer overflows (a lost datagram would
    // make this wait forever).
    run(all_at_once, 100);
}

/// A query under add_timeout whose server never answers.
#[tamed]
fn timed_query(res: Resolver, name: String, done: Event<Result<Answer, TimedOut>>) {
    let mut got = Err(TimedOut);
    twait! {
        res.query(&name, QueryType::A, tame::add_timeout(Duration::from_millis(30), mkevent!(got)));
    }
    done.trigger(got);
}

#[test]
fn a_timed_out_query_is_forgotten_and_the_loop_ends() {
    let server = server(true);
    let res = resolver(&[&server], 5000, 1);
    let r: Rendezvous<usize, Result<Answer, TimedOut>> = Rendezvous::new();
    let start = Instant::now();
    tame::run(|| {
        for i in 0..5 {
            timed_query(res.clone(), format!("h{i}.test"), r.event(i));
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
    let res = resolver(&[&server], 5000, 1);
    let r: Rendezvous<(), Vec<Answer>> = Rendezvous::new();
    let bad = vec![
        "a..b".to_string(),
        "x".repeat(70),
        "caf\u{e9}.test".to_string(),
        "h1.test".to_string(),
    ];
    tame::run(|| all_at_once(res.clone(), bad, r.event(())));
    let ((), answers) = r.try_join().unwrap();
    assert_eq!(
        answers,
        vec![
            Err(DnsError::InvalidName),
            Err(DnsError::InvalidName),
            Err(DnsError::InvalidName),
            expected(1)
        ]
    );
    assert_eq!(server.seen().queries.len(), 1);
}

#[test]
fn a_resolver_kept_across_a_run_that_panicked_still_answers() {
    // The run that panics leaves a query in flight (its event a callback, which nothing can
    // cancel): its receive loop is dropped with the run. The next queries, in the next run,
    // must start a new one and be answered; so is the one left over. The server holds its
    // answers until the run has panicked: a query's first read follows its send at once, and
    // an answer already there would be taken in the run that panics (a descheduled test
    // thread made that happen).
    let gate = Arc::new(Mutex::new(()));
    let server = server_behind(false, Some(gate.clone()));
    let res = resolver(&[&server], 5000, 1);
    let held = gate.lock().unwrap();
    let left_over = std::rc::Rc::new(std::cell::RefCell::new(None));
    let slot = left_over.clone();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tame::run(|| {
            let done = Event::from_fn(move |a: Answer| *slot.borrow_mut() = Some(a));
            res.query("h1.test", QueryType::A, done);
            panic!("boom");
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(res.in_flight(), 1);
    drop(held);
    let r: Rendezvous<(), Vec<Answer>> = Rendezvous::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let guard = thread::spawn(move || {
        // A hang fails the test instead of blocking it.
        if rx.recv_timeout(Duration::from_secs(10)).is_err() {
            eprintln!("the run after the panic did not end in 10 s");
            std::process::exit(1);
        }
    });
    tame::run(|| one_by_one(res.clone(), names(3), r.event(())));
    let _ = tx.send(());
    guard.join().unwrap();
    assert_eq!(
        r.try_join().unwrap().1,
        (0..3).map(expected).collect::<Vec<_>>()
    );
    assert_eq!(*left_over.borrow(), Some(expected(1)));
    assert_eq!(res.in_flight(), 0);
}

// ---- Resolver::resolve: servers in turn, attempts, timeouts ----

#[test]
fn a_silent_server_is_skipped_for_the_next_one() {
    let silent = server(true);
    let good = server(false);
    let res = resolver(&[&silent, &good], 100, 2);
    let r: Rendezvous<(), Answer> = Rendezvous::new();
    let start = Instant::now();
    tame::run(|| res.resolve("h3.test", QueryType::A, r.event(())));
    assert_eq!(r.try_join().unwrap().1, expected(3));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(100),
        "{took:?}: one timeout first"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(silent.seen().queries.len(), 1);
    assert_eq!(good.seen().queries.len(), 1);
}

#[test]
fn silence_everywhere_is_a_timeout_after_every_attempt() {
    let a = server(true);
    let b = server(true);
    let res = resolver(&[&a, &b], 50, 3);
    let r: Rendezvous<(), Answer> = Rendezvous::new();
    let start = Instant::now();
    tame::run(|| res.resolve("h3.test", QueryType::A, r.event(())));
    assert_eq!(r.try_join().unwrap().1, Err(DnsError::Timeout));
    // 3 rounds over 2 servers, 50 ms each.
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(res.stats().sent, 6);
    let (qa, qb) = (a.seen().queries, b.seen().queries);
    assert_eq!((qa.len(), qb.len()), (3, 3));
    let mut ids: Vec<u16> = qa.iter().chain(&qb).map(|q| q.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every attempt is a new query with a new id");
}

#[test]
fn an_error_reply_moves_on_to_the_next_server_and_nxdomain_does_not() {
    let failing = Responder::start(|p, q| {
        vec![Datagram::now(reply(p, q.id, |r| {
            *r.rcode_mut() = if q.name.starts_with("nx") {
                RCODE::NameError
            } else {
                RCODE::ServerFailure
            }
        }))]
    });
    let good = server(false);
    let res = resolver(&[&failing, &good], 2000, 2);
    let r: Rendezvous<usize, Answer> = Rendezvous::new();
    tame::run(|| {
        res.resolve("h4.test", QueryType::A, r.event(0));
        res.resolve("nx.test", QueryType::A, r.event(1));
    });
    let mut got: Vec<_> = std::iter::from_fn(|| r.try_join()).collect();
    got.sort_by_key(|(i, _)| *i);
    assert_eq!(got[0].1, expected(4), "SERVFAIL, then the next server");
    assert_eq!(got[1].1, Err(DnsError::NxDomain), "NXDOMAIN is the answer");
    assert_eq!(failing.seen().queries.len(), 2);
    assert_eq!(good.seen().queries.len(), 1);
    // Every server failing: the first error replied, after one round.
    let a = Responder::start(|p, q| {
        vec![Datagram::now(reply(p, q.id, |r| {
            *r.rcode_mut() = RCODE::Refused
        }))]
    });
    let b = Responder::start(|p, q| {
        vec![Datagram::now(reply(p, q.id, |r| {
            *r.rcode_mut() = RCODE::ServerFailure
        }))]
    });
    let res = resolver(&[&a, &b], 2000, 3);
    let r: Rendezvous<(), Answer> = Rendezvous::new();
    tame::run(|| res.resolve("h1.test", QueryType::A, r.event(())));
    assert_eq!(r.try_join().unwrap().1, Err(DnsError::Refused));
    assert_eq!((a.seen().queries.len(), b.seen().queries.len()), (1, 1));
}

#[test]
fn an_unreachable_server_is_skipped_at_once() {
    // A port nobody listens on: the ICMP error fails the query at once, and the next server
    // is asked without waiting out the timeout.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let good = server(false);
    let mut c = config(&[&good]);
    c.nameservers.insert(0, closed_addr);
    c.timeout = Duration::from_secs(5);
    let start = Instant::now();
    let got = lookup_all(c.clone(), &["h6.test"]);
    assert_eq!(got[0].as_ref().unwrap(), &[ip("10.0.0.6"), ip("::6")]);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The closed port alone: ConnectionRefused after one round, not a timeout.
    c.nameservers.truncate(1);
    let start = Instant::now();
    let got = lookup_all(c, &["h6.test"]);
    assert_eq!(
        got[0].as_ref().unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_server_whose_socket_cannot_be_opened_is_skipped() {
    // Connecting a UDP socket to the broadcast address is refused (EACCES without
    // SO_BROADCAST): that server's queries fail at once, and the next server answers.
    let good = server(false);
    let mut c = config(&[&good]);
    c.nameservers
        .insert(0, "255.255.255.255:53".parse().unwrap());
    c.timeout = Duration::from_secs(5);
    let start = Instant::now();
    let got = lookup_all(c.clone(), &["h8.test"]);
    assert_eq!(got[0].as_ref().unwrap(), &[ip("10.0.0.8"), ip("::8")]);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Alone, it is the resolver's error.
    c.nameservers.truncate(1);
    let e = Resolver::new(c).err().expect("no server can be asked");
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
}

#[test]
fn spoofed_and_stray_replies_are_ignored() {
    // Before the real answer (40 ms later): a reply with another id, one about another name,
    // one not marked as a response, and one from another port.
    let r = Responder::start(|p, q| {
        let mut not_response = reply(p, q.id, |r| {
            r.answers.push(a_record(&q.name, Ipv4Addr::new(6, 6, 6, 6)))
        });
        not_response[2] &= 0x7f; // clear QR
        let bogus = |bytes, from_other_port| Datagram {
            after: Duration::ZERO,
            from_other_port,
            bytes,
        };
        let other_name = {
            let mut p2 = p.clone();
            p2.questions[0].qname = simple_dns::Name::new_unchecked("evil.test");
            reply(&p2, q.id, |r| {
                r.answers
                    .push(a_record("evil.test", Ipv4Addr::new(6, 6, 6, 6)))
            })
        };
        let spoof = reply(p, q.id ^ 0x5555, |r| {
            r.answers.push(a_record(&q.name, Ipv4Addr::new(6, 6, 6, 6)))
        });
        vec![
            bogus(spoof, false),
            bogus(other_name, false),
            bogus(not_response, false),
            bogus(
                reply(p, q.id, |r| {
                    r.answers.push(a_record(&q.name, Ipv4Addr::new(6, 6, 6, 6)))
                }),
                true,
            ),
            Datagram {
                after: Duration::from_millis(40),
                from_other_port: false,
                bytes: reply(p, q.id, |r| {
                    r.answers
                        .push(a_record(&q.name, Ipv4Addr::new(10, 0, 0, 1)))
                }),
            },
        ]
    });
    let res = resolver(&[&r], 2000, 1);
    let got: Rendezvous<(), Answer> = Rendezvous::new();
    tame::run(|| res.resolve("x.test", QueryType::A, got.event(())));
    assert_eq!(got.try_join().unwrap().1, Ok(vec![ip("10.0.0.1")]));
    let s = res.stats();
    assert_eq!((s.unknown_id, s.wrong_question), (1, 2), "{s:?}");
    assert_eq!(
        s.ignored(),
        3,
        "the kernel dropped the one from another port"
    );
    assert_eq!(s.sent, 1, "no retry was needed");
}

// ---- lookup: hosts, localhost, A and AAAA, search list, TCP ----

#[test]
fn lookup_asks_a_and_aaaa_and_gives_ipv4_first() {
    let server = server(false);
    let got = lookup_all(config(&[&server]), &["h4.test", "h3.test", "h9.test"]);
    assert_eq!(got[0].as_ref().unwrap(), &[ip("10.0.0.4"), ip("::4")]);
    assert_eq!(
        got[1].as_ref().unwrap(),
        &[ip("10.0.0.3")],
        "no AAAA: NODATA"
    );
    assert_eq!(got[2].as_ref().unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(dns_error(&got[2]), Some(&DnsError::NxDomain));
    let mut asked: Vec<(String, bool)> = server
        .seen()
        .queries
        .iter()
        .map(|q| (q.name.clone(), q.qtype == QTYPE::TYPE(TYPE::AAAA)))
        .collect();
    asked.sort();
    assert_eq!(asked.len(), 6, "{asked:?}");
    for name in ["h3.test", "h4.test", "h9.test"] {
        assert!(asked.contains(&(name.to_string(), false)));
        assert!(asked.contains(&(name.to_string(), true)));
    }
}

#[test]
fn hosts_addresses_and_localhost_are_answered_without_a_query() {
    let server = server(false);
    let mut c = config(&[&server]);
    c.add_hosts("::2 db.internal\n10.9.9.9 db.internal db\n127.0.1.1 h5.test\n");
    let got = lookup_all(
        c,
        &[
            "DB.Internal.",
            "db",
            "h5.test",
            "localhost",
            "a.b.localhost",
            "192.0.2.1",
            "2001:db8::1",
        ],
    );
    let got: Vec<Vec<IpAddr>> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(got[0], [ip("10.9.9.9"), ip("::2")], "IPv4 first, any case");
    assert_eq!(got[1], [ip("10.9.9.9")]);
    assert_eq!(got[2], [ip("127.0.1.1")], "hosts before DNS");
    assert_eq!(got[3], [ip("127.0.0.1"), ip("::1")]);
    assert_eq!(got[4], [ip("127.0.0.1"), ip("::1")]);
    assert_eq!(got[5], [ip("192.0.2.1")]);
    assert_eq!(got[6], [ip("2001:db8::1")]);
    assert!(server.seen().queries.is_empty());
}

#[test]
fn a_name_that_cannot_be_sent_is_invalid_input_at_once() {
    let server = server(false);
    let got = lookup_all(
        config(&[&server]),
        &["b\u{fc}cher.test", "a..b", "", &"x".repeat(64)],
    );
    for f in &got {
        assert_eq!(f.as_ref().unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(dns_error(f), Some(&DnsError::InvalidName));
    }
    assert!(server.seen().queries.is_empty());
}

#[test]
fn the_search_list_is_tried_in_ndots_order() {
    // Only names under corp.test exist, and `h2.test` itself.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let r = Responder::start(move |p, q| {
        if q.qtype == QTYPE::TYPE(TYPE::A) {
            log.lock().unwrap().push(q.name.clone());
        }
        let exists = q.name.ends_with(".corp.test") || q.name == "h2.test";
        vec![Datagram::now(reply(p, q.id, |r| {
            if !exists {
                *r.rcode_mut() = RCODE::NameError;
            } else if q.qtype == QTYPE::TYPE(TYPE::A) {
                r.answers.push(a_record(
                    &q.name,
                    Ipv4Addr::new(10, 7, 0, q.name.len() as u8),
                ));
            }
        }))]
    });
    let mut c = Config::from_resolv_conf(
        "search other.test corp.test\noptions ndots:2 timeout:1 attempts:1\n",
    );
    c.nameservers = vec![r.addr];
    let got = lookup_all(c.clone(), &["www"]);
    assert_eq!(got[0].as_ref().unwrap(), &[ip("10.7.0.13")]); // www.corp.test
    // One dot, under ndots:2: the search list first, then the name as given.
    let got = lookup_all(c.clone(), &["h2.test"]);
    assert_eq!(got[0].as_ref().unwrap(), &[ip("10.7.0.17")]); // h2.test.corp.test
    // Absolute: as given only.
    let got = lookup_all(c, &["nothere.test."]);
    assert_eq!(dns_error(&got[0]), Some(&DnsError::NxDomain));
    assert_eq!(
        *asked.lock().unwrap(),
        [
            "www.other.test",
            "www.corp.test",
            "h2.test.other.test",
            "h2.test.corp.test",
            "nothere.test",
        ]
    );
}

#[test]
fn a_timeout_ends_the_search_list() {
    // The first name of the list gets no answer: the lookup fails with TimedOut and does
    // not go on to the next name (it might exist: the silence says nothing).
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let r = Responder::start(move |p, q| {
        log.lock().unwrap().push(q.name.clone());
        if q.name.starts_with("www.") {
            return Vec::new();
        }
        vec![Datagram::now(reply(p, q.id, |r| {
            *r.rcode_mut() = RCODE::NameError
        }))]
    });
    let mut c = Config::from_resolv_conf("search a.test b.test\noptions timeout:1 attempts:1\n");
    c.nameservers = vec![r.addr];
    c.timeout = Duration::from_millis(100);
    let got = lookup_all(c, &["www"]);
    assert_eq!(got[0].as_ref().unwrap_err().kind(), io::ErrorKind::TimedOut);
    let asked = asked.lock().unwrap();
    assert!(asked.iter().all(|n| n == "www.a.test"), "{asked:?}");
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let (udp, _tcp) = Responder::start_with_tcp(
        |p, q| {
            vec![Datagram::now(reply(p, q.id, |r| {
                r.set_flags(PacketFlag::TRUNCATION)
            }))]
        },
        |p, q| {
            TcpReply::Message(reply(p, q.id, |r| {
                if q.qtype == QTYPE::TYPE(TYPE::AAAA) {
                    return;
                }
                r.answers.push(cname_record(&q.name, "big.test"));
                for j in 0..100u32 {
                    r.answers
                        .push(a_record("big.test", Ipv4Addr::from(0x0a03_0000 + j)));
                }
            }))
        },
    );
    let res = resolver(&[&udp], 2000, 1);
    let r: Rendezvous<(), Found> = Rendezvous::new();
    tame::run(|| res.lookup("alias.test", r.event(())));
    let addrs = r.try_join().unwrap().1.unwrap();
    let want: Vec<IpAddr> = (0..100u32)
        .map(|j| IpAddr::V4(Ipv4Addr::from(0x0a03_0000 + j)))
        .collect();
    assert_eq!(addrs, want);
    assert_eq!(res.stats().over_tcp, 2, "A and AAAA");
}

#[test]
fn a_lookup_whose_caller_gives_up_is_forgotten() {
    let silent = server(true);
    let res = resolver(&[&silent], 5000, 2);
    let r: Rendezvous<(), Result<Found, TimedOut>> = Rendezvous::new();
    let start = Instant::now();
    tame::run(|| {
        res.lookup(
            "h1.test",
            tame::add_timeout(Duration::from_millis(50), r.event(())),
        )
    });
    assert!(matches!(r.try_join(), Some(((), Err(TimedOut)))));
    assert!(start.elapsed() < Duration::from_secs(2), "the loop ended");
    assert_eq!(res.in_flight(), 0);
    assert_eq!(silent.seen().queries.len(), 2, "A and AAAA, once each");
}

#[test]
fn a_pending_lookup_says_where_it_waits() {
    let silent = server(true);
    let res = resolver(&[&silent], 5000, 1);
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let r: Rendezvous<(), Result<Found, TimedOut>> = Rendezvous::new();
    tame::run(|| {
        res.lookup(
            "h1.test",
            tame::add_timeout(Duration::from_millis(20), r.event(())),
        );
        *seen.borrow_mut() = tame::blocked_locations();
    });
    let seen = seen.borrow();
    let count = |what: &str| seen.iter().filter(|l| l.ends_with(what)).count();
    assert_eq!(count(" the A and AAAA answers"), 1, "{seen:?}");
    assert_eq!(count(" a DNS reply"), 2, "{seen:?}");
    assert!(seen.iter().all(|l| l.contains("dns")), "{seen:?}");
}

#[test]
fn the_thread_resolver_reads_the_system_files() {
    // /etc/hosts or the localhost rule: never a query, whatever resolv.conf says.
    let r: Rendezvous<(), Found> = Rendezvous::new();
    tame::run(|| tame::dns::lookup("localhost", r.event(())));
    let addrs = r.try_join().unwrap().1.unwrap();
    assert!(!addrs.is_empty() && addrs.iter().all(IpAddr::is_loopback));
    // The same resolver in the next run.
    let r: Rendezvous<(), Found> = Rendezvous::new();
    tame::run(|| tame::dns::lookup("127.0.0.2", r.event(())));
    assert_eq!(r.try_join().unwrap().1.unwrap(), [ip("127.0.0.2")]);
}

#[test]
fn a_socket_kept_in_a_thread_local_is_dropped_cleanly_when_the_thread_ends() {
    // What the per-thread resolver does: a socket in a thread-local made before the loop's
    // own state, so dropped after it when the thread ends. Dropping it deregisters it from
    // a poller that is gone: nothing to do, and no panic (which would abort the process).
    thread_local! {
        static KEPT: std::cell::RefCell<Option<tame::net::UdpSocket>> =
            const { std::cell::RefCell::new(None) };
    }
    let t = thread::spawn(|| {
        let sock = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        KEPT.with(|k| *k.borrow_mut() = Some(sock));
        let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
        tame::run(|| {
            KEPT.with(|k| {
                let e = tame::add_timeout(Duration::from_millis(1), r.event(()));
                k.borrow().as_ref().unwrap().readable(e);
            })
        });
        assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    });
    t.join().expect("the thread ended cleanly");
}
