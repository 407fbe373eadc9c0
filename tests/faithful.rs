//! "Faithful to Rust": a tamed function behaves as its body would if every `twait` blocked.
//! Each test here is a shape that once behaved differently; every one compares the tamed run
//! with the effects plain Rust gives the same body (written out by hand in `expected`).
use tame::{Event, Rendezvous, tamed};

mod util;
use util::Log;

/// A value that logs its drop.
struct D(Log, &'static str);

impl Drop for D {
    fn drop(&mut self) {
        self.0.push(format!("drop {}", self.1));
    }
}

fn value<T: 'static>(v: T, e: Event<T>) {
    tame::asap(Event::from_fn(move |()| e.trigger(v)));
}

fn run(f: impl FnOnce(Log)) -> Vec<String> {
    let log = Log::default();
    let l = log.clone();
    tame::run(move || f(l));
    log.take()
}

#[tamed]
fn guard_held_to_end_of_scope(log: Log) {
    let _guard = D(log.clone(), "guard");
    let sock = D(log.clone(), "sock");
    twait! { let lent = &sock; log.push(format!("lend {}", lent.1)); tame::asap(mkevent!()); }
    log.push("after wait");
    twait! { tame::asap(mkevent!()); }
    log.push("end");
}

#[test]
fn a_local_not_read_after_a_wait_lives_to_the_end_of_its_scope() {
    // Plain Rust: `sock` and `_guard` are dropped at the end of the body, `sock` first.
    assert_eq!(
        run(guard_held_to_end_of_scope),
        ["lend sock", "after wait", "end", "drop sock", "drop guard"]
    );
}

#[tamed]
fn leak_on_continue(log: Log) {
    for i in 0..2 {
        let d = D(log.clone(), if i == 0 { "d0" } else { "d1" });
        twait! { tame::asap(mkevent!()); }
        if i == 0 {
            continue;
        }
        twait! { tame::asap(mkevent!()); }
        log.push(format!("use {}", d.1));
    }
    log.push("end");
}

#[test]
fn continue_drops_the_locals_of_the_scopes_it_leaves() {
    assert_eq!(
        run(leak_on_continue),
        ["drop d0", "use d1", "drop d1", "end"]
    );
}

#[tamed]
fn return_order(log: Log) {
    let a = D(log.clone(), "a");
    let b = D(log.clone(), "b");
    twait! { tame::asap(mkevent!()); }
    let c = D(log.clone(), "c");
    twait! { tame::asap(mkevent!()); }
    log.push(c.1);
    if c.1 == "c" {
        return;
    }
    log.push(format!("{}{}", a.1, b.1));
}

#[test]
fn return_drops_locals_in_reverse_declaration_order() {
    assert_eq!(run(return_order), ["c", "drop c", "drop b", "drop a"]);
}

#[tamed]
fn underscore_param(_: D, log: Log) {
    twait! { tame::asap(mkevent!()); }
    log.push("end");
}

#[test]
fn an_underscore_parameter_lives_to_the_end_of_the_call() {
    assert_eq!(
        run(|l| underscore_param(D(l.clone(), "param"), l)),
        ["end", "drop param"]
    );
}

#[tamed]
fn shadow_continue(items: Vec<Option<String>>, log: Log) {
    let cur = String::from("default");
    for item in items {
        if let Some(cur) = item
            && cur.is_empty()
        {
            continue;
        }
        twait! { tame::asap(mkevent!()); }
        log.push(cur.clone());
    }
}

#[test]
fn shadowing_is_exact_under_continue() {
    let items = vec![Some(String::new()), Some("inner".into()), None];
    assert_eq!(
        run(move |l| shadow_continue(items, l)),
        ["default", "default"]
    );
}

#[tamed]
fn shadow_continue_nested(items: Vec<Option<String>>, log: Log) {
    let cur = String::from("default");
    for item in items {
        if let Some(cur) = item {
            if cur.is_empty() {
                continue;
            }
            log.push(format!("inner {cur}"));
        }
        twait! { tame::asap(mkevent!()); }
        log.push(cur.clone());
    }
}

#[test]
fn shadowing_is_exact_under_continue_from_a_nested_block() {
    let items = vec![Some(String::new()), Some("x".into()), None];
    assert_eq!(
        run(move |l| shadow_continue_nested(items, l)),
        ["inner x", "default", "default"]
    );
}

#[tamed]
fn inner_let_place(log: Log) {
    let x = 1;
    twait! {
        let mut x = 2;
        value(3, mkevent!(x));
        let _ = &mut x;
    }
    log.push(format!("{x}"));
}

#[test]
fn an_event_place_names_the_binding_visible_at_its_mkevent() {
    // The inner `x` is gone when the event triggers: the outer one is untouched.
    assert_eq!(run(inner_let_place), ["1"]);
}

fn left(log: &Log) -> u32 {
    log.push("left");
    1
}

#[tamed]
fn operand_order(log: Log) {
    let r = Rendezvous::<(), u32>::new();
    let l = log.clone();
    let e = r.event(());
    tame::asap(Event::from_fn(move |()| {
        l.push("trigger");
        e.trigger(2)
    }));
    log.push("before");
    let s = left(&log) + twait!(r).map_or(0, |((), v)| v);
    log.push(format!("sum {s}"));
}

#[test]
fn operands_left_of_a_wait_are_evaluated_first() {
    assert_eq!(run(operand_order), ["before", "left", "trigger", "sum 3"]);
}

#[tamed]
fn cfg_on_waits(log: Log) {
    let r = Rendezvous::<(), u32>::new();
    value(5, r.event(()));
    #[cfg(any())]
    twait! { log.push("configured out"); tame::asap(mkevent!()); }
    #[cfg(any())]
    for _ in 0..2 {
        twait! { tame::asap(mkevent!()); }
        log.push("configured out loop");
    }
    #[cfg(any())]
    let _s = twait!(r);
    #[cfg(test)]
    twait! { log.push("configured in"); tame::asap(mkevent!()); }
    log.push(format!("{:?}", r.try_join()));
}

#[test]
fn a_configured_out_wait_never_runs() {
    assert_eq!(run(cfg_on_waits), ["configured in", "Some(((), 5))"]);
}

fn helper() -> &'static str {
    "module"
}

#[tamed]
fn item_scope(log: Log) {
    {
        fn helper() -> &'static str {
            "block"
        }
        twait! { tame::asap(mkevent!()); }
        log.push(helper());
    }
    twait! { tame::asap(mkevent!()); }
    log.push(helper());
}

#[test]
fn an_item_declared_in_a_block_is_visible_only_in_that_block() {
    assert_eq!(run(item_scope), ["block", "module"]);
}

#[tamed]
fn break_drops(log: Log) {
    let outer = D(log.clone(), "outer");
    loop {
        let inner = D(log.clone(), "inner");
        twait! { tame::asap(mkevent!()); }
        let _ = &inner;
        break;
    }
    log.push("after loop");
    twait! { tame::asap(mkevent!()); }
    let _ = &outer;
}

#[test]
fn break_drops_the_locals_of_the_loop_body_there() {
    assert_eq!(run(break_drops), ["drop inner", "after loop", "drop outer"]);
}

#[tamed]
fn overwritten(log: Log) {
    let mut d = D(log.clone(), "first");
    twait! { tame::asap(mkevent!()); }
    d = D(log.clone(), "second");
    twait! { tame::asap(mkevent!()); }
    log.push(format!("holds {}", d.1));
}

#[test]
fn an_overwritten_value_is_dropped_first() {
    assert_eq!(
        run(overwritten),
        ["drop first", "holds second", "drop second"]
    );
}

// ---- valid Rust that compiles as it would without the macro ----

#[tamed]
fn if_value_inference(c: bool, log: Log) {
    let x = if c {
        twait! { tame::asap(mkevent!()); }
        String::from("then")
    } else {
        twait! { tame::asap(mkevent!()); }
        String::from("else")
    };
    log.push(format!("{} {}", x, x.len()));
}

#[test]
fn a_let_whose_initialiser_waits_in_its_branches_infers_its_type() {
    assert_eq!(run(|l| if_value_inference(true, l)), ["then 4"]);
    assert_eq!(run(|l| if_value_inference(false, l)), ["else 4"]);
}

#[tamed]
fn late_init_in_loop(log: Log) {
    let v;
    let mut n = 0;
    loop {
        twait! { tame::asap(mkevent!()); }
        n += 1;
        if n == 3 {
            v = n * 10;
            break;
        }
    }
    log.push(format!("{v}"));
}

#[test]
fn late_initialisation_in_a_loop_that_waits() {
    assert_eq!(run(late_init_in_loop), ["30"]);
}

#[tamed]
fn destructuring_late(log: Log) {
    let (a, b);
    twait! { tame::asap(mkevent!()); }
    (a, b) = (1, 2);
    twait! { tame::asap(mkevent!()); }
    log.push(format!("{a}{b}"));
}

#[test]
fn destructuring_assignment_to_late_initialised_locals() {
    assert_eq!(run(destructuring_late), ["12"]);
}

#[tamed]
fn typed_late_place(log: Log) {
    let mut v: u32;
    twait! { value(7, mkevent!(v)); }
    log.push(format!("{v}"));
    v = 8;
    twait! { tame::asap(mkevent!()); }
    log.push(format!("{v}"));
}

#[test]
fn a_typed_late_local_as_an_event_place() {
    assert_eq!(run(typed_late_place), ["7", "8"]);
}

#[tamed]
fn place_never_read(log: Log) {
    let mut v = 0;
    twait! { value(7, mkevent!(v)); }
    log.push("done");
}

#[test]
fn an_event_place_never_read_afterwards_compiles() {
    assert_eq!(run(place_never_read), ["done"]);
}

#[tamed]
fn same_items_in_two_blocks(log: Log) {
    {
        use std::fmt::Write as _;
        const K: u32 = 1;
        twait! { tame::asap(mkevent!()); }
        let mut s = String::new();
        write!(s, "{K}").unwrap();
        log.push(s);
    }
    {
        use std::fmt::Write as _;
        const K: u32 = 2;
        twait! { tame::asap(mkevent!()); }
        let mut s = String::new();
        write!(s, "{K}").unwrap();
        log.push(s);
    }
}

#[test]
fn the_same_item_names_in_two_blocks_that_wait() {
    assert_eq!(run(same_items_in_two_blocks), ["1", "2"]);
}

#[tamed]
fn cfg_local(log: Log) {
    #[cfg(debug_assertions)]
    let mode = "debug";
    #[cfg(not(debug_assertions))]
    let mode = "release";
    twait! { tame::asap(mkevent!()); }
    log.push(mode);
}

#[test]
fn a_cfg_local_used_after_a_wait() {
    let expected = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    assert_eq!(run(cfg_local), [expected]);
}

#[tamed]
fn guard_borrowing_a_kept_local(log: Log) {
    let cell = std::cell::RefCell::new(0);
    for _ in 0..2 {
        twait! { tame::asap(mkevent!()); }
        let mut s = cell.borrow_mut();
        *s += 1;
    }
    log.push(format!("{}", cell.borrow()));
}

#[test]
fn a_guard_borrowing_a_kept_local_ends_with_its_scope() {
    assert_eq!(run(guard_borrowing_a_kept_local), ["2"]);
}

#[tamed]
fn unit_arm(n: u32, log: Log) {
    match n {
        0 => twait! { tame::asap(mkevent!()); },
        _ => log.push("other"),
    }
    log.push("end");
}

#[test]
fn a_match_arm_that_is_a_wait() {
    assert_eq!(run(|l| unit_arm(0, l)), ["end"]);
    assert_eq!(run(|l| unit_arm(1, l)), ["other", "end"]);
}

#[tamed]
fn two_span_guards(c: bool, log: Log) {
    if c {
        let _span = D(log.clone(), "s1");
        let _span = D(log.clone(), "s2");
        log.push("then");
    } else {
        twait! { tame::asap(mkevent!()); }
    }
    log.push("end");
}

#[test]
fn two_guards_of_one_name_in_a_branch_beside_a_wait() {
    assert_eq!(
        run(|l| two_span_guards(true, l)),
        ["then", "drop s2", "drop s1", "end"]
    );
}

#[tamed]
fn shadow_in_same_scope_across_waits(log: Log) {
    for i in 0..2 {
        let x = D(log.clone(), if i == 0 { "a0" } else { "a1" });
        twait! { tame::asap(mkevent!()); }
        let x = D(log.clone(), if x.1 == "a0" { "b0" } else { "b1" });
        twait! { tame::asap(mkevent!()); }
        log.push(x.1);
    }
}

#[test]
fn a_shadowed_local_lives_to_the_end_of_its_scope_under_every_jump() {
    assert_eq!(
        run(shadow_in_same_scope_across_waits),
        ["b0", "drop b0", "drop a0", "b1", "drop b1", "drop a1"]
    );
}

#[tamed]
fn guard_over_tail_loop(log: Log) {
    let _guard = D(log.clone(), "guard");
    let mut n = 0;
    loop {
        twait! { tame::asap(mkevent!()); }
        n += 1;
        if n == 2 {
            break;
        }
    }
}

#[test]
fn a_guard_lives_over_a_tail_loop_without_semicolon() {
    let log = Log::default();
    let l = log.clone();
    tame::run(move || {
        guard_over_tail_loop(l.clone());
        // The call is blocked in its loop: the guard is still held.
        l.push("caller");
    });
    assert_eq!(log.take(), ["caller", "drop guard"]);
}

fn side(log: &Log, s: &'static str, v: u32) -> u32 {
    log.push(s);
    v
}

#[tamed]
fn if_operand(log: Log) {
    let c = true;
    let s = side(&log, "left", 1)
        + if c {
            twait! { log.push("wait"); tame::asap(mkevent!()); }
            10
        } else {
            20
        };
    log.push(format!("{s}"));
}

#[test]
fn an_if_that_waits_as_an_operand_runs_after_the_operands_left_of_it() {
    assert_eq!(run(if_operand), ["left", "wait", "11"]);
}

#[tamed]
fn unwinding(log: Log) {
    let _a = D(log.clone(), "a");
    twait! { tame::asap(mkevent!()); }
    let _b = D(log.clone(), "b");
    twait! { tame::asap(mkevent!()); }
    let _c = D(log.clone(), "c");
    panic!("boom");
}

#[test]
fn a_panic_drops_locals_in_reverse_declaration_order() {
    let log = Log::default();
    let l = log.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        tame::run(move || unwinding(l));
    }));
    assert!(r.is_err());
    assert_eq!(log.take(), ["drop c", "drop b", "drop a"]);
}

/// Triggers `e` with `v` on the loop's next turn, logging "trigger" then.
fn logged_value(log: &Log, v: u32, e: Event<u32>) {
    let l = log.clone();
    tame::asap(Event::from_fn(move |()| {
        l.push("trigger");
        e.trigger(v)
    }));
}

#[tamed]
fn call_order_in_args(log: Log) {
    let r = Rendezvous::<(), u32>::new();
    logged_value(&log, 3, r.event(()));
    let v = vec![
        side(&log, "first", 1),
        twait!(r).map_or(0, |((), v)| v),
        side(&log, "third", 5),
    ];
    log.push(format!("{v:?}"));
}

#[test]
fn arguments_around_a_wait_keep_their_order() {
    assert_eq!(
        run(call_order_in_args),
        ["first", "trigger", "third", "[1, 3, 5]"]
    );
}

// ---- the documented limit of a macro that does not see types ----

#[tamed]
fn moved_on_one_path(c: bool, log: Log) {
    let d = D(log.clone(), "d");
    if c {
        drop(d);
    }
    twait! { tame::asap(mkevent!()); }
    log.push("after wait");
}

#[test]
fn a_local_moved_on_one_path_only_is_dropped_at_the_next_wait() {
    assert_eq!(
        run(|l| moved_on_one_path(true, l)),
        ["drop d", "after wait"]
    );
    // Plain Rust would drop `d` after "after wait" here: the macro cannot name a value that
    // may be gone, so it drops it at the wait (the book's macro reference says so).
    assert_eq!(
        run(|l| moved_on_one_path(false, l)),
        ["drop d", "after wait"]
    );
}

#[tamed]
#[allow(non_snake_case)]
fn upper_case_local(log: Log) {
    let N = 3;
    let (A, b) = (1, 2);
    twait! { tame::asap(mkevent!()); }
    log.push(format!("{}", N + A + b));
}

#[test]
fn an_upper_case_local_is_kept_across_a_wait() {
    assert_eq!(run(upper_case_local), ["6"]);
}

#[tamed]
fn mkevent_in_macro_args(log: Log) {
    let (mut a, mut b) = (0u32, 0u32);
    twait! {
        let events = vec![mkevent!(a), mkevent!(b)];
        for (i, e) in events.into_iter().enumerate() {
            value(i as u32 + 1, e);
        }
    }
    log.push(format!("{a} {b}"));
}

#[test]
fn mkevent_inside_another_macros_arguments() {
    assert_eq!(run(mkevent_in_macro_args), ["1 2"]);
}

#[tamed]
fn late_not_read(log: Log) {
    let a;
    a = D(log.clone(), "a");
    twait! { tame::asap(mkevent!()); }
    log.push("s3");
}

#[test]
fn a_late_initialised_local_not_read_after_a_wait_lives_to_the_end_of_its_scope() {
    assert_eq!(run(late_not_read), ["s3", "drop a"]);
}

#[tamed]
fn rv_event_in_macro_args(log: Log) {
    let r = Rendezvous::<u32, u32>::new();
    log.push(format!("{}!", {
        value(4, mkevent!(r, 8));
        "sent"
    }));
    let got = twait!(r);
    log.push(format!("{got:?}"));
}

#[test]
fn mkevent_with_an_id_inside_another_macros_arguments() {
    assert_eq!(run(rv_event_in_macro_args), ["sent!", "Some((8, 4))"]);
}

#[tamed]
fn late_shadowing(log: Log) {
    let r = Rendezvous::<u32, u32>::new();
    value(5, r.event(1));
    let c = D(log.clone(), "old c");
    let c;
    c = twait!(r).map_or(0, |(_, v)| v);
    log.push(format!("{c}"));
}

#[test]
fn a_late_local_shadowing_a_kept_one() {
    assert_eq!(run(late_shadowing), ["5", "drop old c"]);
}

/// Triggers `e` with `v` after `n` trips through the loop's asap queue.
fn later<T: 'static>(n: u32, v: T, e: Event<T>) {
    if n == 0 {
        e.trigger(v);
    } else {
        tame::asap(Event::from_fn(move |()| later(n - 1, v, e)));
    }
}

#[tamed]
fn two_events_one_place(log: Log) {
    let mut x = 0u32;
    let mut a = [0u32; 2];
    let i = 1;
    twait! {
        later(2, 10, mkevent!(x)); // made first, triggers last
        later(0, 20, mkevent!(x));
        later(0, 1, mkevent!(a[i]));
        later(1, 2, mkevent!(a[1]));
    }
    log.push(format!("x={x} a={a:?}"));
    twait! {
        later(0, 30, mkevent!(x));
        later(2, 40, mkevent!(x));
    }
    log.push(format!("x={x}"));
}

#[test]
fn two_events_on_one_place_the_one_triggered_last_stands() {
    // Tame writes a place when its event triggers: the last trigger's value stands, whatever
    // the order the events were made in.
    assert_eq!(run(two_events_one_place), ["x=10 a=[0, 2]", "x=40"]);
}

// Parameters the body never moves out of stay in the closure's captures and are used there in
// place (no move into a slot and back at each wait); they must still be dropped last, in
// reverse declaration order, as Rust drops a function's parameters after its locals.

#[tamed]
fn params_in_place(a: D, mut b: D, log: Log) {
    let c = D(log.clone(), "c");
    log.push(a.1.to_string()); // (named before `b`; a field only borrowed)
    twait! { tame::asap(mkevent!()); }
    b.1 = "b2"; // a parameter changed in place
    twait! { tame::asap(mkevent!()); }
    log.push(format!("{}{}", b.1, c.1));
}

#[test]
fn parameters_used_in_place_are_dropped_after_the_locals_newest_first() {
    assert_eq!(
        run(|l| params_in_place(D(l.clone(), "a"), D(l.clone(), "b"), l)),
        ["a", "b2c", "drop c", "drop b2", "drop a"]
    );
}

#[tamed]
fn params_after_one_not_in_place(a: D, b: D, c: D, log: Log) {
    twait! { tame::asap(mkevent!()); }
    // `b` is named by a loop's iterable, so it is restored from a slot at each state; `c`,
    // declared after it, must then be too, or it would be dropped after `b`.
    for ch in b.1.chars() {
        log.push(ch.to_string());
    }
    twait! { tame::asap(mkevent!()); }
    log.push(format!("{}{}", a.1, c.1));
}

#[test]
fn parameters_after_one_that_is_not_used_in_place_still_drop_in_reverse_order() {
    assert_eq!(
        run(|l| params_after_one_not_in_place(
            D(l.clone(), "a"),
            D(l.clone(), "b"),
            D(l.clone(), "c"),
            l
        )),
        ["b", "ac", "drop c", "drop b", "drop a"]
    );
}

#[tamed]
fn panics_holding(a: D, log: Log) {
    let c = D(log.clone(), "c");
    twait! {
        // The timer holds the call's event, so the call outlives this step: its parameter
        // must still be dropped while the panic leaves it, not when the run is cleaned up.
        tame::timer(std::time::Duration::from_secs(60), mkevent!());
        if c.1 == "c" {
            panic!("panics_holding panics");
        }
    }
    log.push(a.1.to_string());
}

#[tamed]
fn calls_one_that_panics(log: Log) {
    let p = D(log.clone(), "caller's local");
    twait! { tame::asap(mkevent!()); }
    panics_holding(D(log.clone(), "a"), log.clone());
    log.push(p.1);
}

#[test]
fn a_panic_drops_parameters_used_in_place_before_the_callers_locals() {
    let log = Log::default();
    let l = log.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tame::run(|| calls_one_that_panics(l))
    }));
    assert!(r.is_err(), "the run was expected to panic");
    // Plain Rust unwinds the callee's frame (its locals, then its parameters), then the
    // caller's.
    assert_eq!(log.take(), ["drop c", "drop a", "drop caller's local"]);
}

#[tamed]
fn callee_that_panics_later(c: D, done: Event<()>) {
    let _cl = D(c.0.clone(), "callee's local");
    twait! { tame::asap(mkevent!()); }
    if c.1 == "c" {
        panic!("callee_that_panics_later panics");
    }
    done.trigger(());
}

#[tamed]
fn caller_blocked_on_it(p: D, log: Log) {
    let l = D(log.clone(), "caller's local");
    twait! { callee_that_panics_later(D(log.clone(), "c"), mkevent!()); }
    log.push(format!("{} {}", l.1, p.1));
}

#[test]
fn a_call_abandoned_by_a_panic_drops_its_locals_then_its_parameters() {
    // The callee panics in a later step, while its caller is blocked on it: plain Rust unwinds
    // the callee's frame, then the caller's (its local, then its parameter).
    let log = Log::default();
    let l = log.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tame::run(|| caller_blocked_on_it(D(l.clone(), "p"), l))
    }));
    assert!(r.is_err(), "the run was expected to panic");
    assert_eq!(
        log.take(),
        [
            "drop callee's local",
            "drop c",
            "drop caller's local",
            "drop p"
        ]
    );
}

#[tamed]
fn assigns_in_a_guard(k: u32, log: Log) {
    let mut a = 0;
    if k == 1 {
        drop(a); // `a` may be moved: it is kept only while it is live
    }
    twait! { tame::asap(mkevent!()); }
    match k {
        _ if {
            a = 5;
            k == 2
        } =>
        {
            twait! { tame::asap(mkevent!()); }
            log.push("two");
        }
        _ => log.push("other"),
    }
}

#[test]
fn a_local_assigned_in_a_match_guard_is_declared_in_its_state() {
    assert_eq!(run(|l| assigns_in_a_guard(2, l)), ["two"]);
    assert_eq!(run(|l| assigns_in_a_guard(3, l)), ["other"]);
}
