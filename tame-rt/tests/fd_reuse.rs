//! An fd closed without `deregister`, whose number a new fd then reuses, still gets its
//! readiness: the kernel dropped the old registration, and the loop re-arms the new fd.
//!
//! One test per file: the test needs the kernel to hand out the number just freed, which it
//! does (lowest free number first) only when no other test opens fds at the same time.
//! Not run under Miri, which has no sockets.
#![cfg(not(miri))]

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use tame_rt::{Event, Rendezvous, TimedOut, add_timeout, readable, run};

#[test]
fn a_reused_fd_number_is_registered_afresh() {
    let r: Rendezvous<&str, Result<(), TimedOut>> = Rendezvous::new();
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let old_fd = b.as_raw_fd();
    run(|| {
        readable(&b, add_timeout(Duration::from_secs(5), r.event("old")));
        a.write_all(b"x").unwrap();
    });
    assert_eq!(r.try_join(), Some(("old", Ok(()))));

    // Closed without deregister: the number is free and the loop still has an entry for it.
    drop((a, b));
    let (c, d) = UnixStream::pair().unwrap();
    let (mut writer, reader) = if d.as_raw_fd() == old_fd {
        (c, d)
    } else {
        (d, c)
    };
    assert_eq!(
        reader.as_raw_fd(),
        old_fd,
        "the kernel did not hand out fd {old_fd} again"
    );
    reader.set_nonblocking(true).unwrap();
    run(|| {
        readable(
            &reader,
            add_timeout(Duration::from_secs(5), r.event("reused")),
        );
        tame_rt::timer(
            Duration::from_millis(5),
            Event::from_fn(move |()| writer.write_all(b"y").unwrap()),
        );
    });
    assert_eq!(r.try_join(), Some(("reused", Ok(()))));
    tame_rt::deregister(&reader);
}
