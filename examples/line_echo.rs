//! A TCP line-echo server that closes idle connections: `line_echo [HOST:PORT] [--idle-ms N]`.
use std::{rc::Rc, time::Duration};
use tame::net::{BufReader, TcpListener, TcpStream, accept, write_all};
use tame::{TimedOut, tamed};

#[tamed]
fn serve(listener: Rc<TcpListener>, idle: Duration) {
    loop {
        let mut conn = Err(std::io::ErrorKind::NotConnected.into());
        twait! { accept(listener.clone(), mkevent!(conn)); }
        match conn {
            Ok((stream, _peer)) => session(Rc::new(stream), idle),
            Err(e) => {
                eprintln!("line_echo: accept: {e}"); // out of fds, say: wait a little
                twait! { tame::timer(Duration::from_millis(100), mkevent!()); }
            }
        }
    }
}

/// Echoes `stream`'s lines until it ends, fails, or stays silent for `idle`.
#[tamed]
fn session(stream: Rc<TcpStream>, idle: Duration) {
    let reader = BufReader::new(stream.clone());
    let mut wrote = Ok(0);
    while wrote.is_ok() {
        let mut line = Err(TimedOut);
        twait! { reader.read_line(tame::add_timeout(idle, mkevent!(line))); }
        let reply = match line {
            Ok(Ok(l)) if !l.is_empty() => l,
            _ => return, // the end of the stream, an error, or idle for too long
        };
        twait! { write_all(stream.clone(), reply, mkevent!(wrote)); }
    }
}

fn main() {
    let (mut addr, mut idle) = ("127.0.0.1:7008".to_string(), Duration::from_secs(10));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => return println!("usage: line_echo [HOST:PORT] [--idle-ms N]"),
            "--idle-ms" => match args.next().and_then(|v| v.parse().ok()) {
                Some(ms) => idle = Duration::from_millis(ms),
                None => fail("--idle-ms: a number of milliseconds, please"),
            },
            _ if !a.starts_with('-') => addr = a,
            _ => fail(&format!("unknown option {a:?} (see --help)")),
        }
    }
    let l = TcpListener::bind(addr.as_str()).unwrap_or_else(|e| fail(&format!("{addr}: {e}")));
    eprintln!("line_echo: listening on {}", l.local_addr().expect("bound"));
    tame::run(|| serve(Rc::new(l), idle));
}

fn fail(msg: &str) -> ! {
    eprintln!("line_echo: {msg}");
    std::process::exit(2)
}
