//! A `tame::net` socket that gets the number of an fd closed without `deregister` is
//! registered afresh, and nothing the old fd's entry remembered (here: that its peer had
//! closed) carries over to it.
//!
//! One test per file, as in `fd_reuse.rs`: the kernel hands out the number just freed (lowest
//! free number first) only when no other test opens fds at the same time.
//! Not run under Miri, which has no sockets.
#![cfg(not(miri))]
mod util;

use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use tame_rt::net::TcpListener;
use tame_rt::{TimedOut, readable};
use util::one_wait;

#[test]
fn a_socket_on_a_reused_number_forgets_the_old_fds_close() {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let old_fd = b.as_raw_fd();
    a.shutdown(Shutdown::Write).unwrap(); // b's read side is closed: the loop keeps that
    assert_eq!(
        one_wait(|e| readable(&b, e), Duration::from_secs(5)),
        Ok(())
    );

    // Closed without deregister (`a` stays open, so the one number freed is b's).
    drop(b);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(
        l.as_raw_fd(),
        old_fd,
        "the kernel did not hand out fd {old_fd} again"
    );
    // Nothing to accept: a wait waits (the old fd's close must not make it fire, which would
    // make a caller spin), and the listener is registered: a connection wakes it.
    let waited = one_wait(|e| l.readable(e), Duration::from_millis(100));
    assert_eq!(waited, Err(TimedOut));
    let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    assert_eq!(one_wait(|e| l.readable(e), Duration::from_secs(5)), Ok(()));
    drop(a);
}
