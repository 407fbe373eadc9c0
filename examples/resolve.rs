//! Resolves the names given on the command line, all at once, without blocking the loop.
//! Run: `cargo run --example resolve -- localhost example.com 192.0.2.1`.
//!
//! The book's `tame::dns` chapter includes this file.
// ANCHOR: all
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use tame::{Event, Rendezvous, TimedOut, tamed};

/// What one name gave: its addresses, or why none (a timeout of ours included).
pub type Outcome = (String, io::Result<Vec<IpAddr>>);

/// Looks every name up at once, each bounded by `limit`, and reports the outcomes in the
/// order of `names`.
#[tamed]
pub fn resolve_all(names: Vec<String>, limit: Duration, done: Event<Vec<Outcome>>) {
    let r: Rendezvous<usize, Result<io::Result<Vec<IpAddr>>, TimedOut>> = Rendezvous::new();
    for (i, name) in names.iter().enumerate() {
        tame::dns::lookup(name, tame::add_timeout(limit, r.event(i)));
    }
    let mut outcomes: Vec<Outcome> = names.into_iter().map(|n| (n, Ok(Vec::new()))).collect();
    while let Some((i, got)) = twait!(r) {
        outcomes[i].1 = got.unwrap_or_else(|TimedOut| Err(io::ErrorKind::TimedOut.into()));
    }
    done.trigger(outcomes);
}

pub fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let r: Rendezvous<(), Vec<Outcome>> = Rendezvous::new();
    tame::run(|| resolve_all(names, Duration::from_secs(3), r.event(())));
    for (name, outcome) in r.try_join().map(|(_, v)| v).unwrap_or_default() {
        match outcome {
            Ok(addrs) => {
                let addrs: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
                println!("{name}\t{}", addrs.join(" "));
            }
            Err(e) => println!("{name}\terror: {e}"),
        }
    }
}
// ANCHOR_END: all
