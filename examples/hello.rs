//! The smallest complete tame program. Run: `cargo run --example hello`.
//!
//! The book's first tutorial chapter includes this whole file.
// ANCHOR: all
use std::time::Duration;

use tame::tamed;

/// Says "tick" `n` times, `ms` milliseconds apart.
#[tamed]
fn tick(n: u32, ms: u64) {
    for i in 1..=n {
        twait! { tame::timer(Duration::from_millis(ms), mkevent!()); }
        println!("tick {i}");
    }
}

#[tame::main]
pub fn main() {
    tick(3, 100);
    println!("tick(3, 100) returned at its first wait; the loop runs the rest");
}
// ANCHOR_END: all
