//! Non-blocking TCP and UDP on the tame loop.
//!
//! Each type wraps its `mio::net` counterpart. `try_*` calls never block: they return
//! `io::ErrorKind::WouldBlock` when the socket is not ready, and the caller waits with
//! `readable` / `writable` (as methods here, or the free functions) before trying again.
//! Dropping a socket removes it from the loop's poller and abandons events waiting on it.
//!
//! Tamed helpers cover the usual loops: [`connect`], [`accept`] one connection,
//! [`read_some`] bytes, [`write_all`] of a buffer. Each waits for readiness as often as
//! needed, and stops (dropping its `done` event) if `done`'s receiver is cancelled, so they
//! compose with [`add_timeout`](crate::add_timeout). A [`BufReader`] reads lines, delimited
//! records and exact byte counts, and keeps what arrived across a timeout.
//!
//! # Addresses
//! `bind` and `connect` take any [`ToSocketAddrs`], as std's sockets do: a [`SocketAddr`], an
//! `(ip, port)` pair, or a string such as `"127.0.0.1:8080"` or `"localhost:8080"`. Each
//! address it resolves to is tried in turn, and the first that works is used; if none does,
//! the last error is returned (`InvalidInput` if it resolved to no address at all).
//!
//! **A host name is looked up with the system resolver (`getaddrinfo`), which blocks the
//! thread, and so the loop, until it answers.** An address given as numbers (a `SocketAddr`,
//! an IP and a port, or a string of them) is parsed without a lookup and never blocks. Inside
//! the loop, look a name up with `tame::dns::lookup` (the `dns` feature, on by default), which
//! waits without blocking, and pass the addresses it gives.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use tame_macros::tamed;

use crate::event::Event;
use crate::rendezvous::Rendezvous;

mod buf_reader;
pub use buf_reader::{BufReader, DEFAULT_MAX_LINE};

macro_rules! readiness {
    ($t:ty, $mio:ty, $make:literal) => {
        impl $t {
            /// Triggers `e` when the socket may be readable (see [`readable`](crate::readable)).
            ///
            #[doc = concat!("```\n# use tame_rt as tame;\n# if cfg!(miri) { return; }\n",
                        "let s = ", $make, ";\n",
                        "let r = tame::Rendezvous::<(), ()>::new();\n",
                        "s.readable(r.event(()));\nassert_eq!(r.pending(), 1);\n```")]
            pub fn readable(&self, e: Event<()>) {
                crate::io::wait_owned(self, crate::poller::Direction::Read, e)
            }
            /// Triggers `e` when the socket may be writable (see [`writable`](crate::writable)).
            ///
            #[doc = concat!("```\n# use tame_rt as tame;\n# if cfg!(miri) { return; }\n",
                        "let s = ", $make, ";\n",
                        "let r = tame::Rendezvous::<(), ()>::new();\n",
                        "s.writable(r.event(()));\nassert!(r.pending() + r.ready() == 1);\n```")]
            pub fn writable(&self, e: Event<()>) {
                crate::io::wait_owned(self, crate::poller::Direction::Write, e)
            }
            /// Wraps a mio socket created elsewhere (mio sockets are always non-blocking).
            ///
            #[doc = concat!("```\n# use tame_rt as tame;\n# if cfg!(miri) { return; }\n",
                        "let s = ", $make, ";\n",
                        "let fd = std::os::fd::AsRawFd::as_raw_fd(s.as_mio());\n",
                        "assert_eq!(fd, std::os::fd::AsRawFd::as_raw_fd(&s));\n```")]
            pub fn from_mio(inner: $mio) -> Self {
                Self { inner }
            }
            /// The wrapped mio socket.
            ///
            #[doc = concat!("```\n# use tame_rt as tame;\n# if cfg!(miri) { return; }\n",
                        "let s = ", $make, ";\n",
                        "println!(\"{:?}\", s.as_mio());\n```")]
            pub fn as_mio(&self) -> &$mio {
                &self.inner
            }
        }
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }
        impl Drop for $t {
            fn drop(&mut self) {
                crate::io::deregister(&self.inner);
            }
        }
    };
}

/// Calls `f` with each address `addr` resolves to, in order, until one succeeds; else the last
/// error, or `InvalidInput` if there was no address at all (std's rule for its sockets).
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_address))
}

/// What resolving to no address at all is reported as (std's error for it).
fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}

/// A TCP listener on the tame loop.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use tame::net::TcpListener;
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// // nobody connected yet:
/// assert_eq!(l.try_accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: mio::net::TcpListener,
}

readiness!(
    TcpListener,
    mio::net::TcpListener,
    "tame::net::TcpListener::from_mio(mio::net::TcpListener::bind(\"127.0.0.1:0\".parse().unwrap()).unwrap())"
);

impl TcpListener {
    /// Binds a listener (with `SO_REUSEADDR`, as mio does) to the first of `addr`'s addresses
    /// that can be bound. A host name is looked up first, which blocks (see [Addresses](self#addresses)).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().port() > 0);
    /// let l = tame::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Self> {
        each_addr(addr, |a| {
            Ok(TcpListener {
                inner: mio::net::TcpListener::bind(a)?,
            })
        })
    }

    /// Accepts one pending connection, or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// std::thread::sleep(std::time::Duration::from_millis(10));
    /// let (_conn, peer) = l.try_accept().unwrap();
    /// assert_eq!(peer, s.local_addr().unwrap());
    /// ```
    pub fn try_accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self.inner.accept()?;
        Ok((TcpStream { inner: s }, a))
    }

    /// The bound address.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A TCP connection on the tame loop.
///
/// ```no_run
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use tame::net::TcpStream;
/// let s = TcpStream::connect("127.0.0.1:8080").unwrap();
/// // wait writable before the first write: the connect completes in the background
/// s.writable(tame::Event::from_fn(|()| {}));
/// ```
#[derive(Debug)]
pub struct TcpStream {
    inner: mio::net::TcpStream,
}

readiness!(
    TcpStream,
    mio::net::TcpStream,
    "{ let l = tame::net::TcpListener::bind(\"127.0.0.1:0\").unwrap(); tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap() }"
);

impl TcpStream {
    /// Starts a non-blocking connect; wait [`writable`](TcpStream::writable), then check
    /// [`take_error`](TcpStream::take_error) or [`peer_addr`](TcpStream::peer_addr). The
    /// tamed [`connect`] does all that, and tries the next address if one fails.
    ///
    /// Of `addr`'s addresses, the first whose connect can be started is used: only an error
    /// that comes at once (no route, an address of a family the host lacks) moves on to the
    /// next one. A host name is looked up first, which blocks (see [Addresses](self#addresses)).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// tame::run(|| s.writable(tame::Event::from_fn(|()| {}))); // connected (or failed)
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<Self> {
        each_addr(addr, |a| {
            Ok(TcpStream {
                inner: mio::net::TcpStream::connect(a)?,
            })
        })
    }

    /// Reads what is available into `buf`, or `WouldBlock`; `Ok(0)` is end of stream.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let mut buf = [0u8; 16];
    /// assert_eq!(s.try_read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.inner).read(buf)
    }

    /// Writes what fits from `buf`, or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// tame::run(|| s.writable(tame::Event::from_fn(|()| {})));
    /// assert_eq!(s.try_write(b"hi").unwrap(), 2);
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.inner).write(buf)
    }

    /// Writes several buffers at once (`writev`), or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// tame::run(|| s.writable(tame::Event::from_fn(|()| {})));
    /// let bufs = [std::io::IoSlice::new(b"he"), std::io::IoSlice::new(b"llo")];
    /// assert_eq!(s.try_write_vectored(&bufs).unwrap(), 5);
    /// ```
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&self.inner).write_vectored(bufs)
    }

    /// The peer's address (an error while a connect is still in progress).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// tame::run(|| s.writable(tame::Event::from_fn(|()| {})));
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. a failed connect.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Shuts down one or both directions.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let l = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = tame::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// tame::run(|| s.writable(tame::Event::from_fn(|()| {})));
    /// s.shutdown(std::net::Shutdown::Write).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

/// A UDP socket on the tame loop.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use tame::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
/// a.try_send_to(b"ping", b.local_addr().unwrap()).unwrap();
/// let mut buf = [0u8; 16];
/// # std::thread::sleep(std::time::Duration::from_millis(10));
/// let (n, from) = b.try_recv_from(&mut buf).unwrap();
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    inner: mio::net::UdpSocket,
}

readiness!(
    UdpSocket,
    mio::net::UdpSocket,
    "tame::net::UdpSocket::bind(\"127.0.0.1:0\").unwrap()"
);

impl UdpSocket {
    /// Binds a UDP socket to the first of `addr`'s addresses that can be bound. A host name is
    /// looked up first, which blocks (see [Addresses](self#addresses)).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let u = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(u.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Self> {
        each_addr(addr, |a| {
            Ok(UdpSocket {
                inner: mio::net::UdpSocket::bind(a)?,
            })
        })
    }

    /// Sends one datagram to `to`, or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let u = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(u.try_send_to(b"x", u.local_addr().unwrap()).unwrap(), 1);
    /// ```
    pub fn try_send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.inner.send_to(buf, to)
    }

    /// Receives one datagram and its source, or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let u = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(u.try_recv_from(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf)
    }

    /// Connects the socket to `peer`: [`try_send`](UdpSocket::try_send) goes there, only
    /// datagrams from `peer` are received, and an ICMP error about `peer` (a closed port:
    /// `ConnectionRefused`) is reported by the next send or receive, which an unconnected
    /// socket never reports. The first of `peer`'s addresses that the socket can connect to is
    /// used; a host name is looked up first, which blocks (see [Addresses](self#addresses)).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let a = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.try_send(b"ping").unwrap(), 4);
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, peer: A) -> io::Result<()> {
        each_addr(peer, |a| self.inner.connect(a))
    }

    /// Sends one datagram to the connected peer, or `WouldBlock`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let u = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// // not connected: there is nowhere to send
    /// assert!(u.try_send(b"x").is_err());
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf)
    }

    /// Receives one datagram from the connected peer, or `WouldBlock`, or the error an ICMP
    /// report left on the socket (`ConnectionRefused` for a closed port).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let a = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// b.try_send(b"pong").unwrap();
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// let mut buf = [0u8; 8];
    /// let n = a.try_recv(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"pong");
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf)
    }

    /// The bound address.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri has no sockets
    /// let u = tame::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(u.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Connects to `addr`: triggers `done` with the connected stream, or with the error of the
/// last address tried.
///
/// Each address `addr` resolves to is tried in turn, as std's `TcpStream::connect` does: a
/// non-blocking connect, a wait until the socket is writable, then its pending error
/// (`take_error`) tells whether it connected; a failure moves on to the next address. If
/// every address fails, `done` gets the last error (`InvalidInput` if `addr` resolved to
/// none, or the lookup's error). A host name is looked up first, which blocks (see
/// [Addresses](self#addresses)); numbers never do. There is no timeout of its own: the
/// kernel gives up on an unanswered connect after minutes, so wrap `done` in
/// [`add_timeout`](crate::add_timeout).
///
/// If `done`'s receiver is cancelled (by that timeout, say), the call ends where it waits:
/// the socket of the attempt under way is closed and no further address is tried. If it is
/// gone already, nothing is done.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::time::Duration;
/// use tame::net::{TcpListener, connect};
///
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = l.local_addr().unwrap().port();
/// let r = tame::Rendezvous::<(), _>::new();
/// tame::run(|| connect(("127.0.0.1", port), tame::add_timeout(Duration::from_secs(5), r.event(()))));
/// let ((), res) = r.try_join().unwrap();
/// let stream = res.unwrap().unwrap(); // not timed out, connected
/// assert_eq!(stream.peer_addr().unwrap(), l.local_addr().unwrap());
/// ```
pub fn connect<A: ToSocketAddrs>(addr: A, done: Event<io::Result<TcpStream>>) {
    if !done.is_live() {
        return; // nobody would be told: no lookup, no socket
    }
    match addr.to_socket_addrs() {
        Ok(addrs) => connect_each(addrs.collect(), done),
        Err(e) => done.trigger(Err(e)),
    }
}

/// [`connect`] once the addresses are known.
#[tamed(crate = crate)]
fn connect_each(addrs: Vec<SocketAddr>, done: Event<io::Result<TcpStream>>) {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let mut last = None;
    for addr in addrs {
        let stream = match mio::net::TcpStream::connect(addr) {
            Ok(s) => TcpStream { inner: s },
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        // mio's recipe: once writable, a pending error means it failed; else `peer_addr`
        // tells connected from a wake-up that came before the connect was done.
        let res = loop {
            stream.writable(r.event(()));
            // If `done`'s receiver is cancelled, the call ends here: `stream`, dropped with
            // it, is closed and its fd interest removed.
            twait!(r);
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => break Err(e),
                Ok(None) => {}
            }
            match stream.peer_addr() {
                Ok(_) => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => break Err(e),
            }
        };
        match res {
            Ok(()) => return done.trigger(Ok(stream)),
            Err(e) => last = Some(e),
        }
    }
    done.trigger(Err(last.unwrap_or_else(no_address)));
}

/// Accepts one connection: triggers `done` with the new stream and its peer address, or with
/// the error `accept` returned (`EMFILE` when out of fds, say: the listener stays usable).
///
/// Waits for the listener to be readable as often as needed. If `done`'s receiver is
/// cancelled (for instance by [`add_timeout`](crate::add_timeout)), the call ends where it
/// waits (a tamed call whose `Event` parameters lost their receivers is stopped): the fd
/// interest is removed and `done` dropped.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::rc::Rc;
/// use tame::net::{TcpListener, accept};
///
/// let l = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
/// let addr = l.local_addr().unwrap();
/// let r = tame::Rendezvous::<(), _>::new();
/// tame::run(|| {
///     accept(l.clone(), r.event(()));
///     std::net::TcpStream::connect(addr).unwrap();
/// });
/// let ((), res) = r.try_join().unwrap();
/// let (_stream, peer) = res.unwrap();
/// assert!(peer.ip().is_loopback());
/// ```
#[tamed(crate = crate)]
pub fn accept(listener: Rc<TcpListener>, done: Event<io::Result<(TcpStream, SocketAddr)>>) {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    loop {
        match listener.try_accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            res => return done.trigger(res),
        }
        listener.readable(r.event(()));
        // If `done`'s receiver is cancelled, the call ends here: `r`, dropped with it, removes
        // the fd interest.
        twait!(r);
    }
}

/// Reads once: appends to `buf` what has arrived on `stream`, at most `max` bytes (and at most
/// 64 KiB, a call reads once), waiting until at least one byte (or end of stream, or an
/// error) is there. Triggers `done` with the buffer and the number of bytes appended: `Ok(0)`
/// means the peer closed its side (or `max` is 0).
///
/// The bytes are read into a buffer of the thread's, zero-filled once as it grows (to 64 KiB
/// at most), and copied to `buf`: a call costs the bytes that arrived, not `max`.
///
/// If `done`'s receiver is cancelled (for instance by [`add_timeout`](crate::add_timeout)),
/// the call ends where it waits: the fd interest is removed, and `done` and `buf` dropped.
/// To keep what arrived across a timeout, read through a [`BufReader`].
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io::Write;
/// use std::rc::Rc;
/// use tame::net::{TcpListener, TcpStream, read_some};
///
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
/// # std::thread::sleep(std::time::Duration::from_millis(10));
/// let (server, _) = l.try_accept().unwrap();
/// let r = tame::Rendezvous::<(), _>::new();
/// tame::run(|| {
///     read_some(Rc::new(server), b"got: ".to_vec(), 4096, r.event(()));
///     client.write_all(b"hello").unwrap();
/// });
/// let ((), (buf, n)) = r.try_join().unwrap();
/// assert_eq!((buf.as_slice(), n.unwrap()), (&b"got: hello"[..], 5));
/// ```
#[tamed(crate = crate)]
pub fn read_some(
    stream: Rc<TcpStream>,
    mut buf: Vec<u8>,
    max: usize,
    done: Event<(Vec<u8>, io::Result<usize>)>,
) {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    loop {
        match read_appending(&stream, &mut buf, max) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            res => return done.trigger((buf, res)),
        }
        stream.readable(r.event(()));
        // If `done`'s receiver is cancelled, the call ends here: `r`, dropped with it, removes
        // the fd interest.
        twait!(r);
    }
}

/// The most [`read_some`] reads in one call: the size its thread's buffer grows to.
const SCRATCH_MAX: usize = 64 << 10;

thread_local! {
    /// Where [`read_some`] reads before it copies what arrived to the caller's buffer. Its
    /// length only grows (to [`SCRATCH_MAX`]), so its bytes are zero-filled once, never per
    /// read: safe code cannot read into a `Vec`'s uninitialised spare capacity.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One `read` of at most `max` bytes (and [`SCRATCH_MAX`]) from `stream`, appended to `buf`.
fn read_appending(stream: &TcpStream, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let want = max.min(SCRATCH_MAX);
    let mut read = |scratch: &mut Vec<u8>| {
        if scratch.len() < want {
            scratch.resize(want, 0);
        }
        let n = stream.try_read(&mut scratch[..want])?;
        buf.extend_from_slice(&scratch[..n]);
        Ok(n)
    };
    // Not reachable while the thread's locals are torn down, nor re-entered (a read runs no
    // user code); both are answered with a buffer of this call's own all the same.
    match SCRATCH.try_with(|s| s.try_borrow_mut().map(|mut s| read(&mut s))) {
        Ok(Ok(res)) => res,
        _ => read(&mut Vec::new()),
    }
}

/// Writes all of `data` to `stream`, waiting for room as often as needed. Triggers `done` with
/// the number of bytes written (`data`'s length), or with the first error; `WriteZero` if the
/// socket accepts nothing.
///
/// If `done`'s receiver is cancelled (for instance by [`add_timeout`](crate::add_timeout)),
/// the call ends where it waits, having written a prefix of `data`, and drops `done`.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::io::Read;
/// use std::rc::Rc;
/// use tame::net::{TcpListener, write_all};
///
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
/// # std::thread::sleep(std::time::Duration::from_millis(10));
/// let (server, _) = l.try_accept().unwrap();
/// let big = vec![7u8; 1 << 20]; // more than a socket buffer holds: waits for room
/// let reader = std::thread::spawn(move || {
///     let mut got = Vec::new();
///     client.read_to_end(&mut got).unwrap();
///     got.len()
/// });
/// let r = tame::Rendezvous::<(), _>::new();
/// let server = Rc::new(server);
/// tame::run(|| write_all(server.clone(), big, r.event(())));
/// drop(server); // closes: the reader sees the end
/// assert_eq!(r.try_join().unwrap().1.unwrap(), 1 << 20);
/// assert_eq!(reader.join().unwrap(), 1 << 20);
/// ```
#[tamed(crate = crate)]
pub fn write_all<B: AsRef<[u8]> + 'static>(
    stream: Rc<TcpStream>,
    data: B,
    done: Event<io::Result<usize>>,
) {
    let r: Rendezvous<(), ()> = Rendezvous::new();
    let mut off = 0;
    while off < data.as_ref().len() {
        match stream.try_write(&data.as_ref()[off..]) {
            Ok(0) => return done.trigger(Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                off += n;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return done.trigger(Err(e)),
        }
        stream.writable(r.event(()));
        // If `done`'s receiver is cancelled, the call ends here: `r`, dropped with it, removes
        // the fd interest.
        twait!(r);
    }
    done.trigger(Ok(off));
}
