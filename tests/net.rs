//! `tame::net`: the tamed `connect`, addresses given as `ToSocketAddrs`, and the buffered
//! reader; each guarantee their documentation gives, cancellation included.
//!
//! Every socket is on 127.0.0.1; every wait is bounded by a timeout.
#![cfg(not(miri))]
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::net::{BufReader, TcpListener, TcpStream, UdpSocket, connect};
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

// ---- BufReader ----

/// A connection on 127.0.0.1: the tame end (accepted) and the std end.
fn pair() -> (Rc<TcpStream>, std::net::TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let t0 = Instant::now();
    loop {
        match l.try_accept() {
            Ok((s, _)) => return (Rc::new(s), c),
            Err(e) if e.kind() == ErrorKind::WouldBlock && t0.elapsed() < ms(5000) => {
                std::thread::sleep(ms(1))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

type Reply<T> = Result<io::Result<T>, TimedOut>;

/// Runs `start` on a loop, each read it starts reporting to the rendezvous under an id, with
/// a timeout of `limit`; returns the replies in the order they came.
fn replies<T: 'static>(
    limit: Duration,
    start: impl FnOnce(&dyn Fn(u8) -> Event<io::Result<T>>),
) -> Vec<(u8, Reply<T>)> {
    let r = Rendezvous::<u8, Reply<T>>::new();
    tame::run(|| start(&|id| tame::add_timeout(limit, r.event(id))));
    std::iter::from_fn(|| r.try_join()).collect()
}

fn ok<T>(replies: Vec<(u8, Reply<T>)>) -> Vec<(u8, T)> {
    replies
        .into_iter()
        .map(|(id, r)| (id, r.expect("in time").expect("no error")))
        .collect()
}

#[test]
fn buf_reader_reads_lines_records_and_exact_counts() {
    let (s, mut c) = pair();
    c.write_all(b"one\ntwo\nkey=value;\x00\x00\x00\x05hello")
        .unwrap();
    let reader = BufReader::new(s);
    let r = Rendezvous::<u8, _>::new();
    let bytes = Rendezvous::<u8, _>::new();
    tame::run(|| {
        reader.read_line(r.event(1));
        reader.read_line(r.event(2));
        reader.read_until(b';', bytes.event(3));
        reader.read_exact(4, bytes.event(4));
        reader.read_exact(5, bytes.event(5));
    });
    let lines: Vec<_> = std::iter::from_fn(|| r.try_join())
        .map(|(i, l)| (i, l.unwrap()))
        .collect();
    assert_eq!(lines, [(1, "one\n".to_string()), (2, "two\n".to_string())]);
    let recs: Vec<_> = std::iter::from_fn(|| bytes.try_join())
        .map(|(i, b)| (i, b.unwrap()))
        .collect();
    assert_eq!(
        recs,
        [
            (3, b"key=value;".to_vec()),
            (4, vec![0, 0, 0, 5]),
            (5, b"hello".to_vec())
        ]
    );
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn buf_reader_keeps_the_bytes_received_when_a_timeout_cancels_the_read() {
    let (s, mut c) = pair();
    let reader = BufReader::new(s);
    // Half a line arrives; the read times out waiting for the rest.
    c.write_all(b"hel").unwrap();
    let got = replies(ms(50), |ev| reader.read_line(ev(1)));
    assert!(matches!(got[..], [(1, Err(TimedOut))]));
    assert_eq!(
        reader.buffered(),
        3,
        "the read had taken them from the socket"
    );
    // The rest arrives: the next read delivers the whole line.
    c.write_all(b"lo\nworld\n").unwrap();
    let got = ok(replies(ms(5000), |ev| {
        reader.read_line(ev(2));
        reader.read_line(ev(3));
    }));
    assert_eq!(
        got,
        [(2, "hello\n".to_string()), (3, "world\n".to_string())]
    );
    // The same for read_exact and read_until.
    c.write_all(b"\x01\x02\x03\x04").unwrap();
    let got = replies(ms(50), |ev| reader.read_exact(10, ev(4)));
    assert!(matches!(got[..], [(4, Err(TimedOut))]));
    assert_eq!(reader.buffered(), 4);
    c.write_all(b"\x05\x06\x07\x08\x09\x0arec").unwrap();
    let got = ok(replies(ms(5000), |ev| reader.read_exact(10, ev(5))));
    assert_eq!(got, [(5, (1..=10).collect::<Vec<u8>>())]);
    let got = replies(ms(50), |ev| reader.read_until(b'|', ev(6)));
    assert!(matches!(got[..], [(6, Err(TimedOut))]));
    c.write_all(b"ord|").unwrap();
    let got = ok(replies(ms(5000), |ev| reader.read_until(b'|', ev(7))));
    assert_eq!(got, [(7, b"record|".to_vec())]);
}

#[test]
fn buf_reader_serves_reads_one_at_a_time_in_the_order_asked() {
    let (s, c) = pair();
    let reader = BufReader::new(s);
    let r = Rendezvous::<u8, io::Result<Vec<u8>>>::new();
    let c = Rc::new(c);
    tame::run(|| {
        // All three are asked for before anything arrives, then it comes in pieces. The first
        // piece would complete the line of read 2, but read 1 is first in line and takes it.
        reader.read_exact(5, r.event(1));
        reader.read_until(b'\n', r.event(2));
        reader.read_exact(2, r.event(3));
        for (i, piece) in [&b"ab\n"[..], b"cd", b"ef\n", b"gh"]
            .into_iter()
            .enumerate()
        {
            let c = c.clone();
            tame::timer(
                ms(10 * (i as u64 + 1)),
                Event::from_fn(move |()| (&*c).write_all(piece).unwrap()),
            );
        }
    });
    let got: Vec<_> = std::iter::from_fn(|| r.try_join())
        .map(|(i, b)| (i, b.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (1, b"ab\ncd".to_vec()),
            (2, b"ef\n".to_vec()),
            (3, b"gh".to_vec())
        ]
    );
}

#[test]
fn buf_reader_read_cancelled_while_waiting_its_turn_leaves_the_line() {
    let (s, c) = pair();
    let reader = BufReader::new(s);
    let r = Rendezvous::<u8, Reply<String>>::new();
    tame::run(|| {
        reader.read_line(tame::add_timeout(ms(5000), r.event(1)));
        reader.read_line(tame::add_timeout(ms(30), r.event(2))); // waits behind 1, times out
        reader.read_line(tame::add_timeout(ms(5000), r.event(3)));
        tame::timer(
            ms(80),
            Event::from_fn(move |()| (&c).write_all(b"a\nc\n").unwrap()),
        );
    });
    let got: Vec<_> = std::iter::from_fn(|| r.try_join())
        .map(|(i, l)| (i, l.map(|l| l.unwrap())))
        .collect();
    assert_eq!(
        got,
        [
            (2, Err(TimedOut)),
            (1, Ok("a\n".to_string())),
            (3, Ok("c\n".to_string()))
        ]
    );
}

#[test]
fn buf_reader_end_of_stream_as_std_bufread() {
    let (s, mut c) = pair();
    c.write_all(b"one\ntwo").unwrap();
    drop(c);
    let reader = BufReader::new(s);
    let got = ok(replies(ms(5000), |ev| {
        reader.read_line(ev(1));
        reader.read_line(ev(2)); // the rest, without a newline
        reader.read_line(ev(3)); // the end: empty
        reader.read_line(ev(4)); // and again
    }));
    let got: Vec<_> = got.iter().map(|(i, l)| (*i, l.as_str())).collect();
    assert_eq!(got, [(1, "one\n"), (2, "two"), (3, ""), (4, "")]);
    let got = ok(replies(ms(5000), |ev| reader.read_until(b'\n', ev(5))));
    assert_eq!(got, [(5, vec![])]);
}

#[test]
fn buf_reader_read_exact_at_the_end_of_the_stream_fails_and_consumes_nothing() {
    let (s, mut c) = pair();
    c.write_all(b"abc").unwrap();
    drop(c);
    let reader = BufReader::new(s);
    let got = replies(ms(5000), |ev| reader.read_exact(5, ev(1)));
    let [(1, Ok(Err(e)))] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
    assert_eq!(reader.buffered(), 3);
    let got = ok(replies(ms(5000), |ev| reader.read_until(b'\n', ev(2))));
    assert_eq!(got, [(2, b"abc".to_vec())]);
}

#[test]
fn buf_reader_line_longer_than_max_line_is_invalid_data_and_consumes_nothing() {
    let (s, mut c) = pair();
    let reader = BufReader::new(s);
    reader.set_max_line(8);
    c.write_all(b"1234567\n0123456789\n").unwrap();
    // Eight bytes with the newline: accepted. Eleven: refused, and left in the reader.
    let got = replies(ms(5000), |ev| {
        reader.read_line(ev(1));
        reader.read_line(ev(2));
    });
    assert!(
        matches!(&got[0], (1, Ok(Ok(l))) if l == "1234567\n"),
        "{got:?}"
    );
    let (2, Ok(Err(e))) = &got[1] else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(reader.buffered() >= 8);
    reader.set_max_line(100);
    let got = ok(replies(ms(5000), |ev| reader.read_line(ev(3))));
    assert_eq!(got, [(3, "0123456789\n".to_string())]);
    // A line that never ends fails as soon as the limit is passed: no wait for more.
    reader.set_max_line(8);
    c.write_all(b"endless line...").unwrap();
    let got = replies(ms(5000), |ev| reader.read_until(b'\n', ev(4)));
    let [(4, Ok(Err(e)))] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(reader.take_buffered().starts_with(b"endless "));
}

#[test]
fn buf_reader_line_that_is_not_utf8_is_invalid_data_and_consumed() {
    let (s, mut c) = pair();
    c.write_all(b"\xff\xfe\nok\n").unwrap();
    let reader = BufReader::new(s);
    let got = replies(ms(5000), |ev| {
        reader.read_line(ev(1));
        reader.read_line(ev(2));
    });
    let (1, Ok(Err(e))) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(matches!(&got[1], (2, Ok(Ok(l))) if l == "ok\n"), "{got:?}");
}

#[test]
fn buf_reader_small_capacity_reads_long_lines_and_large_counts() {
    let (s, c) = pair();
    let reader = BufReader::with_capacity(3, s);
    let line: Vec<u8> = (0..5000u32)
        .map(|i| b'a' + (i % 26) as u8)
        .chain([b'\n'])
        .collect();
    let block: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (l2, b2) = (line.clone(), block.clone());
    let writer = std::thread::spawn(move || {
        let mut c = c;
        for piece in l2.chunks(7).chain(b2.chunks(40_000)) {
            c.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_micros(50));
        }
    });
    let got = ok(replies(ms(10_000), |ev| {
        reader.read_until(b'\n', ev(1));
        reader.read_exact(300_000, ev(2));
    }));
    writer.join().unwrap();
    assert_eq!(got, [(1, line), (2, block)]);
}

#[test]
fn buf_reader_delivers_a_socket_error_and_keeps_what_it_holds() {
    let (s, c) = pair();
    let reader = BufReader::new(s);
    let c = socket2::Socket::from(c);
    c.send(b"partial").unwrap();
    let got = replies(ms(50), |ev| reader.read_line(ev(1)));
    assert!(matches!(got[..], [(1, Err(TimedOut))]));
    // Close with a reset (linger 0): the next read fails with the error.
    c.set_linger(Some(Duration::ZERO)).unwrap();
    drop(c);
    let got = replies(ms(5000), |ev| reader.read_line(ev(2)));
    let [(2, Ok(Err(e)))] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    assert_eq!(reader.take_buffered(), b"partial");
}

#[test]
fn buf_reader_read_exact_of_a_huge_count_grows_only_with_what_arrives() {
    let (s, mut c) = pair();
    c.write_all(b"12345").unwrap();
    let reader = BufReader::new(s);
    // No allocation of `n` bytes up front: the read waits, and the timeout ends it.
    let got = replies(ms(50), |ev| {
        reader.read_exact(usize::MAX, ev(1));
        reader.read_exact(1 << 40, ev(2));
    });
    assert!(
        matches!(got[..], [(1, Err(TimedOut)), (2, Err(TimedOut))]),
        "{got:?}"
    );
    assert_eq!(reader.take_buffered(), b"12345");
}

#[test]
fn connect_whose_receiver_is_gone_stops_at_once() {
    let (l, _filler) = unanswering_listener();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let r = Rendezvous::<(), io::Result<TcpStream>>::new();
    let e = r.event(());
    r.cancel();
    let t0 = Instant::now();
    tame::run(|| connect(addr, e)); // would wait for the kernel to give up if it went on
    assert!(t0.elapsed() < ms(900), "{:?}", t0.elapsed());
    assert_eq!(connects_under_way(addr.port()), 0);
}
