//! A client with the networking toolbox: connect by name, ask, read a framed message, and wait
//! for a slow line across timeouts; a peer on a thread (std's blocking sockets) answers.
//!
//! Run: `cargo run --example networking`. The book's networking chapter includes listings from
//! this file (between the ANCHOR lines); `tests/examples.rs` runs it, and it checks every
//! result it prints.
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tame::net::{BufReader, TcpStream, connect, write_all};
use tame::{Event, Rendezvous, TimedOut, tamed};

// ANCHOR: ask
/// Connects to `addr`, sends `question`, and reports the first line of the answer.
#[tamed]
fn ask(addr: String, question: String, done: Event<io::Result<String>>) {
    let mut conn = Err(io::ErrorKind::NotConnected.into());
    // "localhost:7008": the name is looked up here, blocking (see "Addresses").
    twait! { connect(addr.as_str(), mkevent!(conn)); }
    let stream = match conn {
        Ok(s) => Rc::new(s),
        Err(e) => return done.trigger(Err(e)),
    };
    let mut wrote = Ok(0);
    twait! { write_all(stream.clone(), question, mkevent!(wrote)); }
    if let Err(e) = wrote {
        return done.trigger(Err(e));
    }
    let reader = BufReader::new(stream);
    let mut answer = Ok(String::new());
    twait! { reader.read_line(mkevent!(answer)); }
    done.trigger(answer);
}
// ANCHOR_END: ask

// ANCHOR: message
/// Reads one message: header lines up to an empty line, one of them `length: N`, then a
/// body of N bytes.
#[tamed]
fn read_message(reader: BufReader, done: Event<io::Result<(Vec<String>, Vec<u8>)>>) {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let (mut headers, mut length) = (Vec::new(), 0);
    loop {
        let mut line = Ok(String::new());
        twait! { reader.read_line(mkevent!(line)); }
        let line = match line {
            Ok(l) if l.is_empty() => return done.trigger(Err(bad("the stream ended"))),
            Ok(l) => l.trim_end().to_string(),
            Err(e) => return done.trigger(Err(e)),
        };
        if line.is_empty() {
            break; // the end of the headers
        }
        if let Some(n) = line.strip_prefix("length: ") {
            let Ok(n) = n.parse() else {
                return done.trigger(Err(bad("a bad length")));
            };
            length = n;
        }
        headers.push(line);
    }
    let mut body = Ok(Vec::new());
    twait! { reader.read_exact(length, mkevent!(body)); }
    done.trigger(body.map(|b| (headers, b)));
}
// ANCHOR_END: message

// ANCHOR: patient
/// Reads a line, telling how far it got every `tick` until the line is complete. Each
/// timeout cancels the read under way; the next read finds in the reader what it had received.
#[tamed]
fn patient_line(reader: BufReader, tick: Duration, done: Event<io::Result<String>>) {
    loop {
        let mut line = Err(TimedOut);
        twait! { reader.read_line(tame::add_timeout(tick, mkevent!(line))); }
        match line {
            Ok(l) => return done.trigger(l),
            Err(TimedOut) => println!("still waiting, {} bytes so far", reader.buffered()),
        }
    }
}
// ANCHOR_END: patient

/// The peer: answers the first connection's line with `pong`, then sends the second a
/// message in pieces, and a line slowly.
fn peer(listener: std::net::TcpListener) {
    let pause = || std::thread::sleep(Duration::from_millis(40));
    let (s, _) = listener.accept().expect("accept");
    let mut question = String::new();
    io::BufReader::new(&s)
        .read_line(&mut question)
        .expect("read");
    assert_eq!(question, "ping\n");
    (&s).write_all(b"pong\n").expect("write");
    let (mut s, _) = listener.accept().expect("accept");
    for piece in [&b"from: peer\nlen"[..], b"gth: 5\n\nhel", b"lo"] {
        s.write_all(piece).expect("write");
        pause();
    }
    for piece in [&b"a slow"[..], b" line", b"\n"] {
        s.write_all(piece).expect("write");
        pause();
        pause();
    }
}

pub fn main() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("bound").port();
    let peer = std::thread::spawn(move || peer(listener));

    let r = Rendezvous::<(), Result<io::Result<String>, TimedOut>>::new();
    // One timeout around the whole exchange: when it fires, `ask` ends at whichever step it
    // waits in, and closes what it holds.
    let limit = Duration::from_secs(10);
    tame::run(|| {
        ask(
            format!("localhost:{port}"),
            "ping\n".into(),
            tame::add_timeout(limit, r.event(())),
        )
    });
    let ((), answer) = r.try_join().expect("answered");
    let answer = answer.expect("in time").expect("no error");
    println!("asked ping, got {answer:?}");
    assert_eq!(answer, "pong\n");

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let c = Rendezvous::<(), io::Result<TcpStream>>::new();
    tame::run(|| connect(addr, c.event(())));
    let stream = c.try_join().expect("connected").1.expect("no error");
    let reader = BufReader::new(Rc::new(stream));

    let m = Rendezvous::<(), _>::new();
    tame::run(|| read_message(reader.clone(), m.event(())));
    let (headers, body) = m.try_join().expect("a message").1.expect("no error");
    println!(
        "message: {headers:?}, body {:?}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(
        (headers.as_slice(), body.as_slice()),
        (
            &["from: peer".to_string(), "length: 5".into()][..],
            &b"hello"[..]
        )
    );

    let l = Rendezvous::<(), _>::new();
    tame::run(|| patient_line(reader.clone(), Duration::from_millis(30), l.event(())));
    let line = l.try_join().expect("a line").1.expect("no error");
    println!("the slow line: {line:?}");
    assert_eq!(line, "a slow line\n");
    peer.join().expect("the peer finished");
}
