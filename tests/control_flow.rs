//! `twait!` in every control-flow position, run for real on the loop: each test checks the
//! values and the order of effects.
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use tame::tamed;
use tame::{Event, Rendezvous};

mod util;
use util::{Log, result};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tamed]
fn starts_at_once(log: Log) {
    log.push("callee before wait");
    twait! { tame::asap(mkevent!()); }
    log.push("callee after wait");
}

#[test]
fn a_call_runs_until_its_first_blocking_wait_then_returns() {
    let log = Log::default();
    tame::run(|| {
        starts_at_once(log.clone());
        log.push("caller");
    });
    assert_eq!(
        log.take(),
        ["callee before wait", "caller", "callee after wait"]
    );
}

#[tamed]
fn fast_path(log: Log) {
    twait! {
        let e = mkevent!();
        e.trigger(());
    }
    log.push("after ready wait");
    twait! {
        let _dropped = mkevent!();
    }
    log.push("after dropped event");
}

#[test]
fn a_wait_already_complete_continues_without_returning() {
    let log = Log::default();
    tame::run(|| {
        fast_path(log.clone());
        log.push("caller");
    });
    assert_eq!(
        log.take(),
        ["after ready wait", "after dropped event", "caller"]
    );
}

#[tamed]
fn branches(c: bool, log: Log) {
    let tag = if c { "then" } else { "else" };
    if c {
        log.push("then: before");
        twait! { tame::timer(ms(1), mkevent!()); }
        log.push(format!("then: after {tag}"));
    } else if tag == "else" {
        twait! { tame::asap(mkevent!()); }
        log.push("else-if: after");
    } else {
        log.push("never");
    }
    log.push(format!("joined {tag}"));
}

#[test]
fn waits_in_if_else_if_else() {
    let log = Log::default();
    tame::run(|| branches(true, log.clone()));
    assert_eq!(
        log.take(),
        ["then: before", "then: after then", "joined then"]
    );
    tame::run(|| branches(false, log.clone()));
    assert_eq!(log.take(), ["else-if: after", "joined else"]);
}

enum Msg {
    Add(u32),
    Sub(u32),
    Print(String),
}

#[tamed]
fn matching(msgs: Vec<Msg>, done: Event<(u32, Vec<String>)>) {
    let mut acc = 10;
    let mut printed = Vec::new();
    for m in msgs {
        match m {
            Msg::Add(n) if n > 100 => {
                twait! { tame::asap(mkevent!()); }
                acc += 1000;
            }
            Msg::Add(n) => {
                twait! { tame::timer(ms(1), mkevent!()); }
                acc += n;
            }
            Msg::Sub(n) => acc -= n,
            Msg::Print(s) => {
                twait! { tame::asap(mkevent!()); }
                printed.push(format!("{s}@{acc}"));
            }
        }
    }
    done.trigger((acc, printed));
}

#[test]
fn waits_in_match_arms_with_guards_and_bindings() {
    let got = result(|done| {
        matching(
            vec![
                Msg::Add(5),
                Msg::Print("a".into()),
                Msg::Sub(3),
                Msg::Add(500),
                Msg::Print("b".into()),
            ],
            done,
        )
    });
    assert_eq!(
        got,
        Some((1012, vec!["a@15".to_string(), "b@1012".to_string()]))
    );
}

#[tamed]
fn loops(done: Event<Vec<u32>>) {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i += 1;
        if i % 2 == 0 {
            continue;
        }
        twait! { tame::asap(mkevent!()); }
        out.push(i);
        if i > 6 {
            break;
        }
    }
    let mut j = 0;
    while j < 3 {
        twait! { tame::timer(ms(1), mkevent!()); }
        out.push(100 + j);
        j += 1;
    }
    for k in [7, 8, 9] {
        if k == 8 {
            continue;
        }
        twait! { tame::asap(mkevent!()); }
        out.push(k * 1000);
    }
    done.trigger(out);
}

#[test]
fn waits_in_loop_while_and_for_with_break_and_continue() {
    assert_eq!(
        result(loops),
        Some(vec![1, 3, 5, 7, 100, 101, 102, 7000, 9000])
    );
}

#[tamed]
fn break_value(done: Event<(u32, &'static str)>) {
    let mut n = 0;
    let v = loop {
        twait! { tame::asap(mkevent!()); }
        n += 1;
        if n == 3 {
            break n * 10;
        }
    };
    let w = 'outer: loop {
        loop {
            twait! { tame::asap(mkevent!()); }
            break 'outer "labeled";
        }
    };
    done.trigger((v, w));
}

#[test]
fn break_with_a_value_out_of_a_loop() {
    assert_eq!(result(break_value), Some((30, "labeled")));
}

#[tamed]
fn labeled(done: Event<Vec<(u32, u32)>>) {
    let mut seen = Vec::new();
    'rows: for r in 0..4 {
        'cols: for c in 0..4 {
            if c > r {
                continue 'rows;
            }
            twait! { tame::asap(mkevent!()); }
            if r == 3 && c == 1 {
                break 'rows;
            }
            if c == 2 {
                continue 'cols;
            }
            seen.push((r, c));
        }
    }
    done.trigger(seen);
}

#[test]
fn labeled_break_and_continue_across_waits() {
    assert_eq!(
        result(labeled),
        Some(vec![(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0)])
    );
}

struct Noisy(&'static str, Log);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.1.push(format!("drop {}", self.0));
    }
}

#[tamed]
fn early_return(stop_at: u32, log: Log) {
    let _outer = Noisy("outer", log.clone());
    for i in 0..5 {
        let inner = Noisy("inner", log.clone());
        twait! { tame::asap(mkevent!()); }
        if i == stop_at {
            log.push(format!("return at {i}"));
            let _keep = &inner;
            return;
        }
        drop(inner);
    }
    log.push("end");
}

#[test]
fn return_at_any_depth_drops_the_locals() {
    let log = Log::default();
    tame::run(|| early_return(1, log.clone()));
    assert_eq!(
        log.take(),
        ["drop inner", "return at 1", "drop inner", "drop outer"]
    );
}

#[tamed]
fn nested_blocks(done: Event<u32>) {
    let a = 1;
    let b = {
        let c = a + 1;
        twait! { tame::asap(mkevent!()); }
        {
            let d = c * 10;
            twait! { tame::asap(mkevent!()); }
            d + a
        }
    };
    done.trigger(b);
}

#[test]
fn waits_in_nested_blocks_with_a_value() {
    assert_eq!(result(nested_blocks), Some(21));
}

/// Triggers `e` with `v` after `d`.
fn later<T: 'static>(d: Duration, e: Event<T>, v: T) {
    tame::timer(d, Event::from_fn(move |()| e.trigger(v)));
}

fn show(x: Option<(u32, &'static str)>) -> String {
    match x {
        Some((i, v)) => format!("{i}:{v}"),
        None => "none".to_string(),
    }
}

// ANCHOR: twait_positions
#[tamed]
fn rendezvous_expressions(done: Event<Vec<String>>) {
    let mut out = Vec::new();
    let r: Rendezvous<u32, &'static str> = Rendezvous::new();
    later(ms(3), r.event(3), "c");
    later(ms(1), r.event(1), "a");
    later(ms(2), r.event(2), "b");
    later(ms(4), r.event(4), "d");
    later(ms(5), r.event(5), "e");
    // In a `let`.
    let first = twait!(r);
    out.push(format!("let {}", show(first)));
    // In `if let`.
    if let Some((i, v)) = twait!(r) {
        out.push(format!("if let {i}:{v}"));
    }
    // As a `match` scrutinee.
    match twait!(r) {
        Some((3, v)) => out.push(format!("match three {v}")),
        other => out.push(format!("match other {}", show(other))),
    }
    // As a function argument (the wait happens before the rest of the statement).
    out.push(format!("arg {}", show(twait!(r))));
    // `while let`, re-polled each iteration, until the rendezvous has nothing more.
    while let Some((i, v)) = twait!(r) {
        out.push(format!("while let {i}:{v}"));
    }
    out.push(format!("drained {}", show(twait!(r))));
    done.trigger(out);
}
// ANCHOR_END: twait_positions

#[test]
fn twait_on_a_rendezvous_in_every_expression_position() {
    assert_eq!(
        result(rendezvous_expressions).unwrap(),
        [
            "let 1:a",
            "if let 2:b",
            "match three c",
            "arg 4:d",
            "while let 5:e",
            "drained none"
        ]
    );
}

#[tamed]
fn block_values(c: bool, done: Event<(u32, u32, &'static str)>) {
    let r: Rendezvous<(), u32> = Rendezvous::new();
    later(ms(1), r.event(()), 7);
    let x = if c {
        match twait!(r) {
            Some(((), v)) => v,
            None => 0,
        }
    } else {
        twait! { tame::asap(mkevent!()); }
        1
    };
    let y = match x {
        7 => {
            twait! { tame::asap(mkevent!()); }
            x * 2
        }
        _ => 3,
    };
    let z = 2 + if y > 5 {
        twait! { tame::asap(mkevent!()); }
        10
    } else {
        20
    };
    let label = if z == 12 { "twelve" } else { "other" };
    done.trigger((x, y + z - z, label));
}

#[test]
fn block_valued_if_and_match_with_waits() {
    assert_eq!(result(|d| block_values(true, d)), Some((7, 14, "twelve")));
    assert_eq!(result(|d| block_values(false, d)), Some((1, 3, "other")));
}

struct Rec {
    v: Vec<Inner>,
    n: u32,
}
struct Inner {
    f: String,
}

/// What `places` found: (local, a, rec.n, rec.v[..].f, untouched).
type Places = (u32, Vec<u32>, u32, Vec<String>, u32);

// ANCHOR: places
#[tamed]
fn places(done: Event<Places>) {
    let mut local = 0;
    let mut a = vec![0; 4];
    let mut rec = Rec {
        v: vec![Inner { f: "-".into() }, Inner { f: "-".into() }],
        n: 0,
    };
    let mut untouched = 99;
    twait! {
        later(ms(2), mkevent!(local), 5);
        for i in 0..4 {
            // The index is evaluated now, when the event is made.
            later(ms(4 - i as u64), mkevent!(a[i]), (i * i) as u32);
        }
        for i in 0..2 {
            let e = mkevent!(rec.v[i].f);
            tame::asap(Event::from_fn(move |()| e.trigger(format!("f{i}"))));
        }
        tame::asap(Event::from_fn({
            let e = mkevent!(rec.n);
            move |()| e.trigger(42)
        }));
        // Dropped untriggered: the place is left unchanged.
        let _gone = mkevent!(untouched);
    }
    let fs = rec.v.iter().map(|i| i.f.clone()).collect();
    done.trigger((local, a, rec.n, fs, untouched));
}
// ANCHOR_END: places

#[test]
fn mkevent_places_are_assigned_after_the_join() {
    assert_eq!(
        result(places),
        Some((
            5,
            vec![0, 1, 4, 9],
            42,
            vec!["f0".to_string(), "f1".to_string()],
            99
        ))
    );
}

// ANCHOR: rendezvous_ids
#[tamed]
fn explicit_rendezvous_ids(done: Event<Vec<u32>>) {
    let r: Rendezvous<u32> = Rendezvous::new();
    for i in 0..3 {
        tame::timer(ms(3 - i as u64), mkevent!(r, i));
    }
    let mut order = Vec::new();
    while let Some((i, ())) = twait!(r) {
        order.push(i);
    }
    done.trigger(order);
}
// ANCHOR_END: rendezvous_ids

#[test]
fn mkevent_with_a_rendezvous_and_an_id() {
    assert_eq!(result(explicit_rendezvous_ids), Some(vec![2, 1, 0]));
}

// The paper's multidns, with a fake resolver: each lookup answers after a delay that depends
// on the name, so answers arrive out of order.
fn fake_lookup(name: &'static str, done: Event<String>) {
    let delay = ms(1 + (name.len() as u64 * 7) % 5);
    later(delay, done, format!("{name}=10.0.0.{}", name.len()));
}

#[tamed]
fn multidns_sequential(names: Vec<&'static str>, log: Log, done: Event<Vec<String>>) {
    let mut out = Vec::new();
    for name in names {
        let mut addr = String::new();
        twait! { fake_lookup(name, mkevent!(addr)); }
        log.push(format!("got {name}"));
        out.push(addr);
    }
    done.trigger(out);
}

// As in the paper: one lookup per index.
#[allow(clippy::needless_range_loop)]
#[tamed]
fn multidns_parallel(names: Vec<&'static str>, done: Event<Vec<String>>) {
    let mut a = vec![String::new(); names.len()];
    twait! {
        for i in 0..names.len() {
            fake_lookup(names[i], mkevent!(a[i]));
        }
    }
    done.trigger(a);
}

#[tamed]
fn multidns_windowed(names: Vec<&'static str>, window: usize, log: Log, done: Event<Vec<String>>) {
    let mut answers: HashMap<usize, String> = HashMap::new();
    let r: Rendezvous<usize, String> = Rendezvous::new();
    let mut sent = 0;
    let mut received = 0;
    let mut in_flight = 0;
    let mut max_in_flight = 0;
    while received < names.len() {
        if sent < names.len() && in_flight < window {
            fake_lookup(names[sent], mkevent!(r, sent));
            sent += 1;
            in_flight += 1;
            max_in_flight = max_in_flight.max(in_flight);
        } else {
            let (i, addr) = twait!(r).expect("an outstanding lookup");
            in_flight -= 1;
            received += 1;
            answers.insert(i, addr);
        }
    }
    log.push(format!("max in flight {max_in_flight}"));
    let out = (0..names.len())
        .map(|i| answers.remove(&i).unwrap_or_default())
        .collect();
    done.trigger(out);
}

const NAMES: [&str; 6] = [
    "a.example",
    "bb.example",
    "c.test",
    "dddd.org",
    "e.net",
    "ffffff.io",
];

fn expected() -> Vec<String> {
    NAMES
        .iter()
        .map(|n| format!("{n}=10.0.0.{}", n.len()))
        .collect()
}

#[test]
fn multidns_sequential_one_lookup_at_a_time() {
    let log = Log::default();
    let got = result(|d| multidns_sequential(NAMES.to_vec(), log.clone(), d));
    assert_eq!(got, Some(expected()));
    let order: Vec<String> = NAMES.iter().map(|n| format!("got {n}")).collect();
    assert_eq!(log.take(), order);
}

#[test]
fn multidns_parallel_in_one_twait_block() {
    assert_eq!(
        result(|d| multidns_parallel(NAMES.to_vec(), d)),
        Some(expected())
    );
}

#[test]
fn multidns_windowed_with_a_rendezvous() {
    let log = Log::default();
    let got = result(|d| multidns_windowed(NAMES.to_vec(), 2, log.clone(), d));
    assert_eq!(got, Some(expected()));
    assert_eq!(log.take(), ["max in flight 2"]);
}

#[tamed]
fn chained(n: u32, done: Event<u32>) {
    if n == 0 {
        done.trigger(0);
        return;
    }
    let mut sub = 0;
    twait! { chained(n - 1, mkevent!(sub)); }
    done.trigger(sub + n);
}

#[test]
fn tamed_calls_wait_for_tamed_calls() {
    assert_eq!(result(|d| chained(100, d)), Some(5050));
}

// ANCHOR: main
#[tame::main]
fn runs_a_main() {
    let r: Rendezvous = Rendezvous::new();
    tame::asap(r.event(()));
}
// ANCHOR_END: main

#[test]
fn tame_main_runs_its_body_in_a_runtime() {
    runs_a_main();
}

#[test]
fn shared_state_through_rc() {
    let log = Log::default();
    let shared = Rc::new(std::cell::Cell::new(0));
    #[tamed]
    fn bump(c: Rc<std::cell::Cell<u32>>) {
        twait! { tame::asap(mkevent!()); }
        c.set(c.get() + 1);
    }
    tame::run(|| {
        bump(shared.clone());
        bump(shared.clone());
        log.push(format!("before loop {}", shared.get()));
    });
    assert_eq!(shared.get(), 2);
    assert_eq!(log.take(), ["before loop 0"]);
}

#[tamed]
fn more_positions(done: Event<Vec<String>>) {
    let mut out = Vec::new();
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    for i in 1..=6 {
        later(ms(i as u64), r.event(i), i * 10);
    }
    // As a statement: the value is dropped.
    twait!(r);
    // As a match arm's value.
    let k = 2;
    let v = match k {
        2 => twait!(r),
        _ => None,
    };
    out.push(format!("arm {v:?}"));
    // In a `let … else`.
    let Some((id, _)) = twait!(r) else {
        out.push("nothing".into());
        done.trigger(out);
        return;
    };
    out.push(format!("let-else {id}"));
    // In a `while` condition, evaluated again each iteration.
    let mut n = 0;
    while twait!(r).is_some_and(|(i, _)| i < 6) {
        n += 1;
    }
    out.push(format!("while cond {n}"));
    // A closure kept across a wait.
    let base = 100;
    let add = move |x: u32| x + base;
    twait! { tame::asap(mkevent!()); }
    out.push(format!("closure {}", add(1)));
    done.trigger(out);
}

#[test]
fn twait_as_statement_arm_let_else_and_while_condition() {
    assert_eq!(
        result(more_positions).unwrap(),
        [
            "arm Some((2, 20))",
            "let-else 3",
            "while cond 2",
            "closure 101"
        ]
    );
}

#[tamed]
fn inner_plain_loops(done: Event<Vec<u32>>) {
    let mut out = Vec::new();
    'outer: for i in 0..4u32 {
        // A loop without a wait stays a Rust loop: its `break` is its own...
        for j in 0.. {
            if j == i {
                break;
            }
            out.push(i * 10 + j);
        }
        twait! { tame::asap(mkevent!()); }
        // ...while a labeled `continue`/`break` out of it reaches the taken-apart loop.
        for j in 0..10 {
            if j == 1 {
                continue 'outer;
            }
            if i == 3 {
                break 'outer;
            }
        }
        out.push(999);
    }
    done.trigger(out);
}

#[test]
fn plain_loops_inside_a_loop_that_waits() {
    assert_eq!(result(inner_plain_loops).unwrap(), [10, 20, 21, 30, 31, 32]);
}

#[tamed]
fn deeply_nested(done: Event<Vec<String>>) {
    let mut out = Vec::new();
    let x = String::from("outer");
    let opt = Some(3u32);
    if let Some(x) = opt
        && x > 1
    {
        twait! { tame::asap(mkevent!()); }
        out.push(format!("chain {x}"));
    } else {
        out.push("no".into());
    }
    out.push(x.clone());
    let r: Rendezvous<u32, u32> = Rendezvous::new();
    for i in 0..3 {
        tame::timer(
            Duration::from_millis(1 + i as u64),
            Event::from_fn({
                let e = r.event(i);
                move |()| e.trigger(i * 2)
            }),
        );
    }
    let last;
    let mut count = 0;
    while let Some((id, v)) = twait!(r) {
        match id {
            0 => {
                for k in 0..2 {
                    if k == 1 {
                        twait! { tame::asap(mkevent!()); }
                        out.push(format!("deep {id} {v} {k}"));
                    }
                }
            }
            1 if v == 2 => {
                let mut n = 0;
                loop {
                    twait! { tame::asap(mkevent!()); }
                    n += 1;
                    if n == 2 {
                        break;
                    }
                }
                out.push(format!("loop {n}"));
            }
            _ => out.push(format!("other {id}")),
        }
        count += 1;
    }
    last = count;
    twait! { tame::asap(mkevent!()); }
    out.push(format!("last {last} {x}"));
    done.trigger(out);
}

#[test]
fn deeply_nested_constructs_and_let_chains() {
    let got = result(deeply_nested).unwrap();
    assert_eq!(
        got,
        [
            "chain 3",
            "outer",
            "deep 0 0 1",
            "loop 2",
            "other 2",
            "last 3 outer"
        ]
    );
}

#[tamed]
fn labeled_block(c: bool, done: Event<u32>) {
    let v = 'found: {
        if c {
            twait! { tame::asap(mkevent!()); }
            break 'found 5;
        }
        twait! { tame::asap(mkevent!()); }
        6
    };
    done.trigger(v);
}

#[test]
fn break_out_of_a_labeled_block_that_waits() {
    assert_eq!(result(|d| labeled_block(true, d)), Some(5));
    assert_eq!(result(|d| labeled_block(false, d)), Some(6));
}

/// The line of the `twait!` in `stuck_forever`.
const STUCK_LINE: u32 = line!() + 4;

#[tamed]
fn stuck_forever() {
    twait! { std::mem::forget(mkevent!()); }
}

#[cfg(debug_assertions)]
#[test]
fn a_call_that_can_never_resume_is_reported_with_its_twait_line() {
    tame::run(stuck_forever);
    let reports = tame::__private::stuck_reports();
    let at = format!("control_flow.rs:{STUCK_LINE}");
    assert!(
        reports
            .iter()
            .any(|r| r.contains("`stuck_forever`") && r.contains(&at)),
        "{reports:?}"
    );
}
