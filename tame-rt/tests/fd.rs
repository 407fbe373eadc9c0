//! Fd readiness: edge-triggered waits, spurious wake-ups tolerated, interests removed on
//! cancel, sockets forgotten when dropped.
//!
//! Not run under Miri, which cannot make sockets non-blocking.
#![cfg(not(miri))]
mod util;

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use tame_rt::net::{TcpListener, TcpStream, UdpSocket};
use tame_rt::{Event, Rendezvous, deregister, readable, run, timer, writable};
use util::{Log, one_wait};

#[test]
fn readable_fires_when_data_arrives() {
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        readable(&b, r.event(()));
        timer(
            Duration::from_millis(5),
            Event::from_fn(move |()| a.write_all(b"x").unwrap()),
        );
    });
    assert_eq!(r.try_join(), Some(((), ())));
    deregister(&b);
}

#[test]
fn an_edge_before_the_wait_is_not_lost() {
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let b = std::rc::Rc::new(b);
    let r: Rendezvous<u8, ()> = Rendezvous::new();
    run(|| {
        // Register (first wait), consume the writable edge, then data arrives with no waiter.
        writable(&*b, r.event(0));
        a.write_all(b"x").unwrap();
        let (r2, b2) = (r.clone(), b.clone());
        timer(
            Duration::from_millis(20),
            Event::from_fn(move |()| readable(&*b2, r2.event(1))),
        );
    });
    let got: Vec<u8> = std::iter::from_fn(|| r.try_join()).map(|x| x.0).collect();
    assert!(got.contains(&0));
    assert!(got.contains(&1), "remembered edge triggered the later wait");
    deregister(&*b);
}

#[test]
fn cancelled_interest_is_removed_and_the_loop_ends() {
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let t0 = Instant::now();
    run(|| {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        readable(&b, r.event(()));
        r.cancel();
    });
    assert!(t0.elapsed() < Duration::from_secs(5));
    deregister(&b);
}

#[test]
fn deregister_abandons_waiters() {
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let r: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        readable(&b, r.event(()));
        assert_eq!(r.pending(), 1);
        deregister(&b);
        assert_eq!(r.pending(), 0);
    });
}

#[test]
fn tcp_echo_round_trip_with_spurious_wakeups_tolerated() {
    let log = Log::default();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let lg = log.clone();
    run(move || {
        // Server: accept one connection, echo until EOF (hand-written state machine).
        let conn: std::rc::Rc<std::cell::RefCell<Option<TcpStream>>> = Default::default();
        let c = conn.clone();
        let l = std::rc::Rc::new(l);
        fn accept(
            l: std::rc::Rc<TcpListener>,
            c: std::rc::Rc<std::cell::RefCell<Option<TcpStream>>>,
        ) {
            match l.try_accept() {
                Ok((s, _)) => {
                    *c.borrow_mut() = Some(s);
                    echo(c);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let l2 = l.clone();
                    l.readable(Event::from_fn(move |()| accept(l2, c)));
                }
                Err(e) => panic!("{e}"),
            }
        }
        fn echo(c: std::rc::Rc<std::cell::RefCell<Option<TcpStream>>>) {
            let mut buf = [0u8; 64];
            loop {
                let res = c.borrow().as_ref().unwrap().try_read(&mut buf);
                match res {
                    Ok(0) => {
                        c.borrow_mut().take();
                        return;
                    }
                    Ok(n) => {
                        c.borrow().as_ref().unwrap().try_write(&buf[..n]).unwrap();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        let c2 = c.clone();
                        c.borrow()
                            .as_ref()
                            .unwrap()
                            .readable(Event::from_fn(move |()| echo(c2)));
                        return;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        accept(l, c);
        // Client: connect, send, read the echo back, close.
        let s = std::rc::Rc::new(TcpStream::connect(addr).unwrap());
        let s2 = s.clone();
        s.writable(Event::from_fn(move |()| {
            s2.try_write(b"hello").unwrap();
            fn read(
                s: std::rc::Rc<TcpStream>,
                g: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
                log: Log,
            ) {
                let mut buf = [0u8; 64];
                loop {
                    match s.try_read(&mut buf) {
                        Ok(n) => {
                            g.borrow_mut().extend_from_slice(&buf[..n]);
                            if g.borrow().len() >= 5 {
                                s.shutdown(std::net::Shutdown::Both).unwrap();
                                return;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            log.push("wait");
                            let s2 = s.clone();
                            s.readable(Event::from_fn(move |()| read(s2, g, log)));
                            return;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            read(s2, g, lg);
        }));
    });
    assert_eq!(&got.borrow()[..], b"hello");
    assert!(!log.take().is_empty());
}

#[test]
fn udp_datagrams_arrive_through_readable() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::rc::Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let to = b.local_addr().unwrap();
    let got = std::rc::Rc::new(std::cell::RefCell::new(None));
    let g = got.clone();
    run(|| {
        let b2 = b.clone();
        b.readable(Event::from_fn(move |()| {
            let mut buf = [0u8; 32];
            let (n, _) = b2.try_recv_from(&mut buf).unwrap();
            *g.borrow_mut() = Some(buf[..n].to_vec());
        }));
        a.try_send_to(b"dgram", to).unwrap();
    });
    assert_eq!(got.borrow().as_deref(), Some(&b"dgram"[..]));
}

#[test]
fn dropping_a_socket_abandons_its_waiters() {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    run(|| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.readable(r.event(()));
        assert_eq!(r.pending(), 1);
        drop(s);
        assert_eq!(r.pending(), 0);
    });
}

#[test]
fn net_helpers_accept_read_and_write_all() {
    use std::io::Read;
    use std::rc::Rc;
    use tame_rt::net::{accept, read_some, write_all};

    let l = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = l.local_addr().unwrap();
    let big: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
    let expect = big.clone();
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(b"request").unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    let accepted = Rendezvous::<(), _>::new();
    run(|| accept(l.clone(), accepted.event(())));
    let (stream, peer) = accepted.try_join().unwrap().1.unwrap();
    assert!(peer.ip().is_loopback());
    let stream = Rc::new(stream);
    let read = Rendezvous::<(), _>::new();
    run(|| read_some(stream.clone(), b">".to_vec(), 64, read.event(())));
    let (buf, n) = read.try_join().unwrap().1;
    assert_eq!((buf.as_slice(), n.unwrap()), (&b">request"[..], 7));
    let wrote = Rendezvous::<(), _>::new();
    run(|| write_all(stream.clone(), big, wrote.event(())));
    assert_eq!(wrote.try_join().unwrap().1.unwrap(), 3 << 20);
    drop(stream);
    assert!(client.join().unwrap() == expect);
}

#[test]
fn read_some_reports_the_end_of_the_stream_as_zero() {
    use std::rc::Rc;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let r = Rendezvous::<(), _>::new();
    run(|| {
        let l = Rc::new(l);
        tame_rt::net::accept(
            l,
            Event::from_fn({
                let r = r.clone();
                move |res: std::io::Result<(TcpStream, _)>| {
                    let (s, _) = res.unwrap();
                    tame_rt::net::read_some(Rc::new(s), Vec::new(), 16, r.event(()));
                }
            }),
        );
        timer(Duration::from_millis(5), Event::from_fn(move |()| drop(c)));
    });
    let ((), (buf, n)) = r.try_join().unwrap();
    assert_eq!((buf.len(), n.unwrap()), (0, 0));
}

/// A connected pair: the tame end (accepted) and the std end.
fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let t0 = Instant::now();
    loop {
        match l.try_accept() {
            Ok((s, _)) => return (s, c),
            Err(_) if t0.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn read_some_grows_the_buffer_by_what_arrived_not_by_max() {
    use std::rc::Rc;
    let (s, mut c) = tcp_pair();
    c.write_all(b"hello").unwrap();
    let r = Rendezvous::<(), _>::new();
    run(|| tame_rt::net::read_some(Rc::new(s), b"> ".to_vec(), 1 << 20, r.event(())));
    let ((), (buf, n)) = r.try_join().unwrap();
    assert_eq!((buf.as_slice(), n.unwrap()), (&b"> hello"[..], 5));
    assert!(buf.capacity() < 4096, "capacity {}", buf.capacity());
}

#[test]
fn read_some_reads_at_most_64_kib_a_call() {
    use std::rc::Rc;
    let (s, mut c) = tcp_pair();
    let s = Rc::new(s);
    // The writer may block while the socket buffers are full; it ends when `s` closes.
    let writer = std::thread::spawn(move || c.write_all(&vec![1u8; 1 << 20]));
    // Wait until more than 64 KiB has arrived, then read with room for all of it.
    let t0 = Instant::now();
    let mut peek = vec![0u8; 256 << 10];
    while s.as_mio().peek(&mut peek).unwrap_or(0) <= 64 << 10 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "64 KiB never arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let r = Rendezvous::<(), _>::new();
    run(|| tame_rt::net::read_some(s.clone(), Vec::new(), 1 << 20, r.event(())));
    let ((), (buf, n)) = r.try_join().unwrap();
    assert_eq!((buf.len(), n.unwrap()), (64 << 10, 64 << 10));
    drop(s);
    let _ = writer.join().unwrap(); // all written, or cut by the close
}

#[test]
fn a_helper_stops_waiting_when_its_timeout_fires() {
    use std::rc::Rc;
    use tame_rt::{TimedOut, add_timeout};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _quiet = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    let (s, _) = l.try_accept().unwrap();
    type Read = (Vec<u8>, std::io::Result<usize>);
    let r: Rendezvous<(), Result<Read, TimedOut>> = Rendezvous::new();
    let start = Instant::now();
    // The peer never writes: the timeout fires, the read is cancelled, its fd interest goes,
    // and the loop ends (it would run forever if the helper still waited).
    run(|| {
        tame_rt::net::read_some(
            Rc::new(s),
            Vec::new(),
            16,
            add_timeout(Duration::from_millis(20), r.event(())),
        )
    });
    assert!(matches!(r.try_join(), Some(((), Err(TimedOut)))));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_regular_file_counts_as_always_ready() {
    let path = std::env::temp_dir().join(format!("tame-fd-{}", std::process::id()));
    std::fs::write(&path, b"data").unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let r: Rendezvous<&str, ()> = Rendezvous::new();
    run(|| {
        readable(&f, r.event("read"));
        writable(&f, r.event("write"));
    });
    assert_eq!(r.try_join(), Some(("read", ())));
    assert_eq!(r.try_join(), Some(("write", ())));
    deregister(&f);
    drop(f);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_peer_that_closed_keeps_the_socket_readable_for_every_wait() {
    // The peer's data and its close arrive together, in one readiness edge, which the first
    // wait consumes. After a read that drains the data, a wait must not miss the close: the
    // next read returns 0 at once, so every wait from now on fires at once.
    let (s, mut c) = tcp_pair();
    c.write_all(b"hello").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(20)); // both are in s's receive queue
    let wait = || one_wait(|e| s.readable(e), Duration::from_secs(2));
    assert_eq!(wait(), Ok(()));
    let mut buf = [0u8; 64];
    assert_eq!(
        s.try_read(&mut buf).unwrap(),
        5,
        "a short read: the data is drained"
    );
    let t0 = Instant::now();
    assert_eq!(wait(), Ok(()), "the close is remembered");
    assert_eq!(s.try_read(&mut buf).unwrap(), 0);
    assert_eq!(wait(), Ok(()), "and stays remembered");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn a_socket_that_failed_stays_writable_for_every_wait() {
    // The peer is gone: a write reaches it, it answers with a reset, and the socket reports an
    // error (and a hang-up). One edge says so; every wait after it must fire at once too, as
    // every write now fails at once.
    let (s, c) = tcp_pair();
    drop(c);
    std::thread::sleep(Duration::from_millis(20));
    let _ = s.try_write(b"to nobody");
    std::thread::sleep(Duration::from_millis(20)); // the reset is back
    let t0 = Instant::now();
    for n in 1..=3 {
        let waited = one_wait(|e| s.writable(e), Duration::from_secs(2));
        assert_eq!(waited, Ok(()), "wait {n}");
    }
    assert!(s.try_write(b"x").is_err(), "the writes do fail");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn a_datagram_sockets_error_is_reported_once_not_remembered() {
    // A connected UDP socket sends to a port nobody listens on: the ICMP answer is an error on
    // the socket, read once. It wakes one wait; after the error is read, the socket works on,
    // and a wait waits (it must not fire forever, which would spin a caller).
    let gone = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = gone.local_addr().unwrap();
    drop(gone);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(to).unwrap();
    let wait = |ms| one_wait(|e| s.readable(e), Duration::from_millis(ms));
    s.try_send(b"anyone?").unwrap();
    std::thread::sleep(Duration::from_millis(20)); // the ICMP answer is back
    assert_eq!(wait(2000), Ok(()), "the error wakes a wait");
    let mut buf = [0u8; 16];
    let e = s.try_recv(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert_eq!(wait(50), Err(tame_rt::TimedOut), "read once, gone");
}
