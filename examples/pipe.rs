//! `tame::fd`: a pipe between two tamed calls, reads queued in order, and `close` cancelling
//! what is still pending.
//!
//! Run: `cargo run --example pipe`. The book's file-descriptor chapter includes listings from
//! this file (between the ANCHOR lines), so they always compile.
use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use tame::fd::Fd;
use tame::{Event, tamed};

// ANCHOR: reader
/// Reads a 2-byte length and then that many bytes, until end of file; reports the messages.
#[tamed]
pub fn read_messages(fd: Fd, done: Event<io::Result<Vec<String>>>) {
    let mut out = Vec::new();
    loop {
        let (len, body) = (
            Rc::new(RefCell::new(Vec::new())),
            Rc::new(RefCell::new(Vec::new())),
        );
        let mut res: io::Result<()> = Ok(());
        let n = {
            twait! { fd.read(len.clone(), 2, mkevent!(res)); }
            if let Err(e) = res {
                return done.trigger(Err(e));
            }
            match len.borrow()[..] {
                [hi, lo] => usize::from(hi) << 8 | usize::from(lo),
                _ => break, // end of file
            }
        };
        twait! { fd.read(body.clone(), n, mkevent!(res)); }
        if let Err(e) = res {
            return done.trigger(Err(e));
        }
        out.push(String::from_utf8_lossy(&body.borrow()).into_owned());
    }
    done.trigger(Ok(out));
}
// ANCHOR_END: reader

pub fn main() {
    // ANCHOR: pipe
    let (r, w) = Fd::pipe().unwrap();
    let got = Rc::new(RefCell::new(None));
    tame::run(|| {
        let g = got.clone();
        read_messages(r, Event::from_fn(move |res| *g.borrow_mut() = Some(res)));
        // Writes are served in the order issued, each whole, so messages never interleave.
        for m in ["hello", "pipe"] {
            let mut frame = vec![0, m.len() as u8];
            frame.extend_from_slice(m.as_bytes());
            w.write(frame, Event::from_fn(|_| {}));
        }
        let w2 = w.clone();
        w.write(Vec::new(), Event::from_fn(move |_| w2.close())); // after them: end of file
    });
    let messages = got.borrow_mut().take().unwrap().unwrap();
    assert_eq!(messages, ["hello", "pipe"]);
    // ANCHOR_END: pipe

    // ANCHOR: close
    let (r, _w) = Fd::pipe().unwrap();
    let outcome = Rc::new(RefCell::new(Vec::new()));
    // A one-byte read whose error number is noted in `outcome`.
    let read_one = || {
        let o = outcome.clone();
        let buf = Rc::new(RefCell::new(Vec::new()));
        r.read(
            buf,
            1,
            Event::from_fn(move |res: io::Result<()>| {
                o.borrow_mut().push(res.unwrap_err().raw_os_error())
            }),
        );
    };
    tame::run(|| {
        read_one();
        read_one();
        r.close(); // both reads were waiting: ECANCELED, in issue order
        read_one(); // after close: EBADF
    });
    let (ecanceled, ebadf) = (Some(125), Some(9)); // Linux's numbers
    assert_eq!(*outcome.borrow(), [ecanceled, ecanceled, ebadf]);
    // ANCHOR_END: close
    println!("read {messages:?}; after close: {:?}", outcome.borrow());
}
