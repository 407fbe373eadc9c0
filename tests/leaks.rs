//! Leak reports (debug builds): an event dropped untriggered while its receiver still waited
//! is reported with the place it was made; a drop on purpose is not.
use std::time::Duration;

use tame::{Event, Rendezvous, TimedOut, tamed};

/// The line of the `mkevent!()` in `drops_its_event`.
const MADE_AT: u32 = line!() + 5;

#[tamed]
fn drops_its_event() {
    twait! {
        let _forgotten = mkevent!();
    }
}

#[test]
fn an_event_dropped_while_its_receiver_waits_is_reported() {
    tame::run(drops_its_event);
    let reports = tame::leak_reports();
    if !cfg!(debug_assertions) {
        assert!(reports.is_empty());
        return;
    }
    assert_eq!(
        reports,
        [format!(
            "tame: dropping last reference to active event\ntame:   {}:{MADE_AT}: event was created here",
            file!()
        )]
    );
}

#[tamed]
fn drops_on_purpose(r: Rendezvous<(), u32>) {
    twait! {
        #![volatile]
        let _forgotten = mkevent!();
    }
    r.event(()).abandon();
}

#[test]
fn a_volatile_block_and_abandon_are_not_reported() {
    tame::run(|| drops_on_purpose(Rendezvous::new()));
    assert_eq!(tame::leak_reports(), Vec::<String>::new());
}

#[tamed]
fn slow(done: Event<u32>) {
    twait! { tame::timer(Duration::from_secs(30), mkevent!()); }
    done.trigger(1);
}

#[test]
fn an_event_whose_receiver_was_cancelled_is_not_reported() {
    // The timeout fires, `slow` ends, and its timer event, its `done` and the timeout's own
    // events are dropped: none of their receivers waits for them any more.
    let r: Rendezvous<(), Result<u32, TimedOut>> = Rendezvous::new();
    tame::run(|| slow(tame::add_timeout(Duration::from_millis(5), r.event(()))));
    assert_eq!(r.try_join(), Some(((), Err(TimedOut))));
    assert_eq!(tame::leak_reports(), Vec::<String>::new());
}

#[test]
fn a_new_run_starts_with_no_reports() {
    tame::run(drops_its_event);
    tame::run(|| {});
    assert_eq!(tame::leak_reports(), Vec::<String>::new());
}
