use std::time::Duration;
use tame::{Event, tamed};

/// Sums `0..n`, waiting a millisecond before each step.
#[tamed]
fn sum(n: u32, done: Event<u32>) {
    let mut sum = 0;
    for i in 0..n {
        twait! { tame::timer(Duration::from_millis(1), mkevent!()); }
        sum += i;
    }
    done.trigger(sum);
}
