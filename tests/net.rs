//! `tame::net`: the tamed `connect`, addresses given as `ToSocketAddrs`, and the buffered
//! reader; each guarantee their documentation gives, cancellation included.
//!
//! Every socket is on 127.0.0.1; every wait is bounded by a timeout.
#![cfg(not(miri))]
use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::net::{TcpListener, TcpStream, UdpSocket, connect};
use tame::{Event, Rendezvous, TimedOut};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A port on 127.0.0.1 where nothing listens (it was bound a moment ago, then closed).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A listener whose accept queue is full: a connect to it stays unanswered (Linux drops the
/// SYN), until the listener is dropped. The connection that fills the queue comes with it.
fn unanswering_listener() -> (socket2::Socket, std::net::TcpStream) {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.listen(0).unwrap(); // a queue of one
    let addr = s.local_addr().unwrap().as_socket().unwrap();
    let filler = std::net::TcpStream::connect(addr).unwrap();
    (s, filler)
}

/// Sockets of this process and others in `SYN_SENT` towards `port` on 127.0.0.1, from
/// `/proc/net/tcp`: connects under way to that port.
fn connects_under_way(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let want = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2] == want && f[3] == "02"
        })
        .count()
}

/// What one `connect` delivers, run alone on a loop, bounded by `limit`.
fn connect_alone(
    addrs: Vec<SocketAddr>,
    limit: Duration,
) -> Result<io::Result<TcpStream>, TimedOut> {
    let r = Rendezvous::<(), _>::new();
    tame::run(|| connect(&addrs[..], tame::add_timeout(limit, r.event(()))));
    r.try_join().unwrap().1
}

// ---- connect ----

#[test]
fn connect_delivers_a_connected_stream() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s = connect_alone(vec![addr], ms(5000)).unwrap().unwrap();
    assert_eq!(s.peer_addr().unwrap(), addr);
    let (mut peer, _) = l.accept().unwrap();
    assert_eq!(s.try_write(b"hi").unwrap(), 2);
    let mut got = [0u8; 2];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");
}

#[test]
fn connect_reports_a_refused_connection() {
    let err = connect_alone(vec![closed_port()], ms(5000))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn connect_tries_each_address_in_turn() {
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, b) = (first.local_addr().unwrap(), second.local_addr().unwrap());
    // A refused address is passed over.
    let s = connect_alone(vec![closed_port(), b], ms(5000))
        .unwrap()
        .unwrap();
    assert_eq!(s.peer_addr().unwrap(), b);
    // The first address that connects is the one used: the second is not tried.
    let s = connect_alone(vec![a, b], ms(5000)).unwrap().unwrap();
    assert_eq!(s.peer_addr().unwrap(), a);
    second.set_nonblocking(true).unwrap();
    let (_, peer) = second.accept().unwrap(); // the first call's connection
    assert_ne!(peer, s.local_addr().unwrap());
    assert_eq!(second.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn connect_reports_the_last_error_when_every_address_fails() {
    // A connect to the broadcast address fails at once (not a refusal); a closed port refuses.
    let broadcast: SocketAddr = "255.255.255.255:9".parse().unwrap();
    let refused = closed_port();
    let err = connect_alone(vec![broadcast, refused], ms(5000))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let err = connect_alone(vec![refused, broadcast], ms(5000))
        .unwrap()
        .unwrap_err();
    assert_ne!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connect_to_no_address_is_invalid_input() {
    let err = connect_alone(vec![], ms(5000)).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A string that is no address is refused by the lookup, before any socket is made.
    let r = Rendezvous::<(), _>::new();
    tame::run(|| connect("no port here", r.event(())));
    assert_eq!(
        r.try_join().unwrap().1.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn connect_takes_a_host_name() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let r = Rendezvous::<(), _>::new();
    // "localhost" may resolve to ::1 first, where nothing listens: the next address is tried.
    tame::run(|| {
        connect(
            ("localhost", port),
            tame::add_timeout(ms(5000), r.event(())),
        )
    });
    let s = r.try_join().unwrap().1.unwrap().unwrap();
    assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
}

#[test]
fn connect_cancelled_by_its_timeout_closes_its_socket() {
    let (l, _filler) = unanswering_listener();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let seen = Rc::new(std::cell::Cell::new(0));
    let r = Rendezvous::<(), _>::new();
    let t0 = Instant::now();
    tame::run(|| {
        connect(addr, tame::add_timeout(ms(100), r.event(())));
        let seen = seen.clone();
        tame::timer(
            ms(50),
            Event::from_fn(move |()| seen.set(connects_under_way(addr.port()))),
        );
    });
    assert!(matches!(r.try_join(), Some(((), Err(TimedOut)))));
    // The loop ended at the timeout: nothing waited on the socket any more.
    assert!(t0.elapsed() < ms(900), "{:?}", t0.elapsed());
    assert_eq!(
        seen.get(),
        1,
        "the connect was under way before the timeout"
    );
    assert_eq!(
        connects_under_way(addr.port()),
        0,
        "and its socket is closed"
    );
}

#[test]
fn connect_cancelled_tries_no_further_address() {
    let (l, _filler) = unanswering_listener();
    let silent = l.local_addr().unwrap().as_socket().unwrap();
    let next = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    next.set_nonblocking(true).unwrap();
    let got = connect_alone(vec![silent, next.local_addr().unwrap()], ms(100));
    assert!(got.is_err(), "timed out");
    std::thread::sleep(ms(50));
    assert_eq!(next.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
}

// ---- addresses as ToSocketAddrs ----

#[test]
fn bind_takes_a_string_a_pair_or_a_host_name() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let c = TcpListener::bind("localhost:0").unwrap();
    for l in [&a, &b, &c] {
        assert!(l.local_addr().unwrap().ip().is_loopback());
    }
    let u = UdpSocket::bind(("localhost", 0)).unwrap();
    assert!(u.local_addr().unwrap().ip().is_loopback());
}

#[test]
fn bind_tries_each_address_in_turn() {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = first.local_addr().unwrap();
    let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let l = TcpListener::bind(&[taken, free][..]).unwrap();
    assert_ne!(l.local_addr().unwrap(), taken);
    let err = TcpListener::bind(&[taken][..]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);

    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = u.local_addr().unwrap();
    let v = UdpSocket::bind(&[taken, free][..]).unwrap();
    assert_ne!(v.local_addr().unwrap(), taken);
    assert_eq!(
        UdpSocket::bind(&[taken][..]).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
}

#[test]
fn bind_to_no_address_is_invalid_input() {
    let none: &[SocketAddr] = &[];
    assert_eq!(
        TcpListener::bind(none).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        UdpSocket::bind(none).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        TcpStream::connect(none).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        TcpListener::bind("not an address").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn stream_connect_starts_on_the_first_address_it_can() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    // A connect to the broadcast address fails at once: the next address is used.
    let broadcast: SocketAddr = "255.255.255.255:9".parse().unwrap();
    let s = TcpStream::connect(&[broadcast, addr][..]).unwrap();
    tame::run(|| s.writable(tame::add_timeout(ms(5000), Event::from_fn(|_| {}))));
    assert_eq!(s.peer_addr().unwrap(), addr);
}

#[test]
fn udp_connect_takes_a_host_name() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(ms(5000))).unwrap();
    // An IPv4 socket cannot connect to ::1, should "localhost" give it first: 127.0.0.1 is next.
    a.connect(("localhost", b.local_addr().unwrap().port()))
        .unwrap();
    a.try_send(b"x").unwrap();
    let mut got = [0u8; 4];
    let (n, from) = b.recv_from(&mut got).unwrap();
    assert_eq!((&got[..n], from), (&b"x"[..], a.local_addr().unwrap()));
}
