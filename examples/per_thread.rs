//! One tame loop per thread, as knot's `--workers` runs them: N threads, each running
//! `tame::run` with a listener of its own on the same address (`SO_REUSEPORT`), sharing
//! nothing. Each answers a connection with its number and closes it; a byte written to a
//! thread's stop socket ends its loop.
//!
//! Run: `cargo run --example per_thread`: starts one loop per core on a free port, makes 20
//! connections, prints which loop answered each, stops the loops and prints their counts.
//! The book's runtime reference includes the listing (between the ANCHOR lines).

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::thread::JoinHandle;

use tame::net::TcpListener;
use tame::{Lifeline, Tether, tamed};

// ANCHOR: per_thread
/// One loop running on a thread of its own.
pub struct Loop {
    /// Writing a byte here ends the loop.
    pub stop: UnixStream,
    /// Returns how many connections the loop answered.
    pub thread: JoinHandle<u64>,
}

/// Starts `n` threads, each with its own loop and its own listener on `addr`; returns the
/// address they share (port 0 picks one for all) and the loops.
pub fn spawn_loops(addr: SocketAddr, n: usize) -> io::Result<(SocketAddr, Vec<Loop>)> {
    let mut addr = addr;
    let mut loops = Vec::with_capacity(n);
    for id in 0..n {
        // Made here, so that an error reaches the caller; a std listener is `Send`.
        let listener = reuse_port_listener(addr)?;
        addr = listener.local_addr()?;
        let (stop, stopped) = UnixStream::pair()?;
        stopped.set_nonblocking(true)?;
        let thread = std::thread::spawn(move || {
            // Everything from here on belongs to this thread: `Rc`, `Cell`, the loop.
            let answered = Rc::new(Cell::new(0));
            let count = answered.clone();
            tame::run(move || {
                let listener = TcpListener::from_mio(mio::net::TcpListener::from_std(listener));
                let accepting = Lifeline::new();
                answer(listener, id, count, accepting.tether());
                stop_when_told(stopped, accepting);
            });
            answered.get() // `run` returned: nothing is left to do on this loop
        });
        loops.push(Loop { stop, thread });
    }
    Ok((addr, loops))
}

/// A non-blocking listener on `addr` that other sockets with `SO_REUSEPORT` may share: the
/// kernel spreads connections over them by a hash of addresses and ports.
fn reuse_port_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    Ok(sock.into())
}

/// Answers each connection with `id` and closes it, until its tether is cut.
#[tamed]
fn answer(listener: TcpListener, id: usize, answered: Rc<Cell<u64>>, #[tether] _t: Tether) {
    loop {
        match listener.try_accept() {
            Ok((conn, _)) => {
                // A few bytes into an empty socket buffer: written at once.
                let _ = conn.try_write(format!("{id}\n").as_bytes());
                answered.set(answered.get() + 1);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                twait! { listener.readable(mkevent!()); }
            }
            Err(_) => {} // the client gave up before it was accepted
        }
    }
}

/// Waits for a byte on `stopped`, then drops `accepting`: `answer` ends where it waits, its
/// listener closes, nothing is left, and the loop's `run` returns.
#[tamed]
fn stop_when_told(stopped: UnixStream, accepting: Lifeline) {
    twait! { tame::readable(&stopped, mkevent!()); }
    tame::deregister(&stopped);
    drop(accepting);
}
// ANCHOR_END: per_thread

/// Connects to `addr` and reads the number of the loop that answered.
pub fn who_answers(addr: SocketAddr) -> io::Result<usize> {
    let mut conn = std::net::TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut text = String::new();
    conn.read_to_string(&mut text)?;
    text.trim().parse().map_err(io::Error::other)
}

pub fn main() {
    let n = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (addr, loops) = spawn_loops("127.0.0.1:0".parse().unwrap(), n).expect("listen");
    println!("{n} loops at {addr}");
    for _ in 0..20 {
        println!("answered by loop {}", who_answers(addr).expect("an answer"));
    }
    for (id, mut l) in loops.into_iter().enumerate() {
        l.stop.write_all(b"x").expect("stop");
        let answered = l.thread.join().expect("the loop ran");
        println!("loop {id} answered {answered}");
    }
}
