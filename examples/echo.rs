//! A TCP echo server: one tamed call accepts, one tamed call per connection echoes, and an
//! idle connection is closed by `add_timeout`.
//!
//! Run: `cargo run --example echo -- [--addr 127.0.0.1:7007] [--idle-ms 10000]`, then
//! `nc 127.0.0.1 7007`. The book's tutorial includes its listings.
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tame::net::{TcpListener, TcpStream};
use tame::{TimedOut, tamed};

// ANCHOR: accept
/// Accepts connections forever, starting one `echo` call per connection.
#[tamed]
pub fn accept_loop(listener: Rc<TcpListener>, idle: Duration) {
    loop {
        match listener.try_accept() {
            Ok((conn, peer)) => echo(conn, peer, idle),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                twait! { listener.readable(mkevent!()); }
            }
            Err(e) => {
                // Out of fds, or a connection reset before we accepted it: wait a little.
                eprintln!("echo: accept: {e}");
                twait! { tame::timer(Duration::from_millis(100), mkevent!()); }
            }
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: echo
/// Echoes what `conn` sends until it closes, fails, or stays silent for `idle`.
#[tamed]
pub fn echo(conn: TcpStream, peer: SocketAddr, idle: Duration) {
    let mut buf = vec![0u8; 4096];
    'conn: loop {
        let n = match conn.try_read(&mut buf) {
            Ok(0) => break 'conn, // the peer closed
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let mut ready = Err(TimedOut);
                twait! { conn.readable(tame::add_timeout(idle, mkevent!(ready))); }
                if ready.is_err() {
                    eprintln!("echo: {peer}: idle for {idle:?}, closing");
                    break 'conn;
                }
                continue 'conn;
            }
            Err(_) => break 'conn,
        };
        let mut sent = 0;
        while sent < n {
            match conn.try_write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    twait! { conn.writable(mkevent!()); }
                }
                Err(_) => break 'conn,
            }
        }
    }
}
// ANCHOR_END: echo

pub fn main() {
    let mut addr = String::from("127.0.0.1:7007");
    let mut idle = Duration::from_secs(10);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => addr = v,
            ("--idle-ms", Some(v)) => {
                let ms = v
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("--idle-ms: bad number {v:?}")));
                idle = Duration::from_millis(ms);
            }
            ("-h" | "--help", _) => {
                println!("usage: echo [--addr HOST:PORT] [--idle-ms N]");
                return;
            }
            (other, _) => fail(&format!(
                "unknown or incomplete option {other:?} (see --help)"
            )),
        }
    }
    // "localhost:7007" works too: a name is looked up (blocking) before the loop starts.
    let listener =
        TcpListener::bind(addr.as_str()).unwrap_or_else(|e| fail(&format!("bind {addr}: {e}")));
    eprintln!(
        "echo: listening on {}",
        listener.local_addr().expect("bound")
    );
    tame::run(|| accept_loop(Rc::new(listener), idle));
}

fn fail(msg: &str) -> ! {
    eprintln!("echo: {msg}");
    std::process::exit(2);
}
