//! Reduced repros of the differential fuzzer (`tests/fuzz.rs`), kept as regression tests: each
//! tamed function must log exactly what its blocking version logged (the expected logs are the
//! blocking versions', as `TAME_FUZZ_REDUCE=1` printed them).

#[path = "fuzz/w.rs"]
#[allow(dead_code)]
mod w;
#[allow(unused_imports)]
use w::{D, P, S, log};

// A late-initialised local not read after a wait was dropped at the wait, not at the end of
// its scope.
#[tame::tamed]
fn late_local_not_read_after_a_wait() {
    let a1;
    a1 = D(1);
    twait! {
        w::ready(mkevent!());
    }
    log("s3");
}

#[test]
fn seed_74_late_local_not_read_after_a_wait() {
    assert_eq!(
        w::run_tamed(late_local_not_read_after_a_wait),
        ["s3", "drop 1"]
    );
}

// A late local shadowing a late local not yet assigned was moved to its hidden name before it
// had a value: E0425.
#[tame::tamed]
fn late_local_shadowing_an_unassigned_one() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    w::send(mkevent!(r, 4), 3);
    let a;
    if w::f(0) == 0 {
        let a;
        a = twait!(r);
        log(format!("{a:?}"));
    }
    a = 0;
    log(format!("{a}"));
}

#[test]
fn seed_180_late_local_shadowing_an_unassigned_one() {
    assert_eq!(
        w::run_tamed(late_local_shadowing_an_unassigned_one),
        ["f 0", "Some((4, 3))", "0"]
    );
}

// A local kept only by states under `#[cfg(any())]` had a slot whose type nothing gave in the
// configuration without them: E0282.
#[tame::tamed]
fn local_kept_only_under_a_configured_out_wait() {
    let mut x = [1, 2, 3, 4];
    let c = x;
    #[cfg(any())]
    twait! {
        w::later(0, mkevent!(x[3]));
    }
    log(format!("{} {}", c[3], x[3]));
}

#[test]
fn seed_1012_local_kept_only_under_a_configured_out_wait() {
    assert_eq!(
        w::run_tamed(local_kept_only_under_a_configured_out_wait),
        ["4 4"]
    );
}

// A local shadowed by another of its name that the body moves (`a.map_or(…)`) was taken for
// moved too, and dropped at the next wait, not at the end of its scope.
#[tame::tamed]
fn shadowed_local_when_its_shadow_is_moved() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let a = {
        w::send(mkevent!(r, 8), 0);
        D(1)
    };
    let Some((_, _a2)) = twait!(r) else {
        return;
    };
    let a = w::opt(1);
    let _b = a.map_or(0, |(_, v)| v);
    log("s8");
}

#[test]
fn seed_71_shadowed_local_when_its_shadow_is_moved() {
    assert_eq!(
        w::run_tamed(shadowed_local_when_its_shadow_is_moved),
        ["s8", "drop 1"]
    );
}

// A move of a local of the same name inside a block of the statement (`a = { let mut a = 6;
// a = a; … }`) was taken for a move of the outer one, which was then dropped at the wait.
#[tame::tamed]
fn move_of_a_name_bound_inside_the_statement() {
    let mut a = D(1);
    twait! {
        w::ready(mkevent!());
    }
    a = {
        let a = 6;
        let b = a;
        let a = b + w::g(0, 0);
        log(format!("{a}"));
        D(3)
    };
    log(format!("{}", a.0));
}

#[test]
fn seed_5833_move_of_a_name_bound_inside_the_statement() {
    assert_eq!(
        w::run_tamed(move_of_a_name_bound_inside_the_statement),
        ["g 0 0", "6", "drop 1", "3", "drop 3"]
    );
}

// A move inside a configured-out wait made the local count as moved, and dropped at the
// next wait.
#[tame::tamed]
fn move_inside_a_configured_out_wait() {
    let mut a = D(1);
    #[cfg(any())]
    twait! {
        w::later(
            {
                drop(a);
                D(2)
            },
            mkevent!(a),
        );
    }
    twait! {
        w::ready(mkevent!());
    }
    log("s7");
}

#[test]
fn seed_5523_move_inside_a_configured_out_wait() {
    assert_eq!(
        w::run_tamed(move_inside_a_configured_out_wait),
        ["s7", "drop 1"]
    );
}

// Code after a `return` (states no run reaches): a late local there was taken for never
// initialised, and a local or event place only used there had a slot of no type: E0282.
#[tame::tamed]
#[allow(unreachable_code)]
fn code_after_a_return() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    'b1: {
        twait! {
            tame::asap(mkevent!());
        }
        log("returns");
        return;
    }
    let x;
    x = twait!(r);
    let mut b = 0;
    twait! {
        w::later(0, mkevent!(b));
    }
    log(format!("{:?} {b}", x));
}

#[test]
fn seed_39_171_code_after_a_return() {
    assert_eq!(w::run_tamed(code_after_a_return), ["returns"]);
}

// A `match` arm whose pattern shadows a local that another arm's wait keeps: the local had no
// slot (the macro panicked: "a live binding has a slot").
#[tame::tamed]
fn arm_pattern_shadowing_a_local_another_arm_keeps() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let a = 0;
    match w::opt(a) {
        Some((_, a)) => {
            twait! {
                tame::asap(mkevent!());
            }
            log(format!("some {a}"));
        }
        None => {
            let a = S {
                f: {
                    w::send(mkevent!(r, 6), a);
                    2
                },
                d: D(1),
            };
            log(format!("none {}", a.f));
        }
    }
}

#[test]
fn seed_463_arm_pattern_shadowing_a_local_another_arm_keeps() {
    assert_eq!(
        w::run_tamed(arm_pattern_shadowing_a_local_another_arm_keeps),
        ["none 2", "drop 1"]
    );
}

// A `let … else` that shadows a kept local and jumps from its `else`: the jump saved the local
// by a name the shadowing had moved away (E0382).
#[tame::tamed]
fn let_else_shadowing_a_kept_local_and_jumping() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    w::send(mkevent!(r, 1), 7);
    let b = D(2);
    'b3: {
        let Some((_, b)) = w::opt(twait!(r).map_or(0, |(_, v)| v)) else {
            break 'b3;
        };
        log(format!("{b}"));
    }
    log(format!("s7 {}", b.0));
}

#[test]
fn seed_578_let_else_shadowing_a_kept_local_and_jumping() {
    assert_eq!(
        w::run_tamed(let_else_shadowing_a_kept_local_and_jumping),
        ["7", "s7 2", "drop 2"]
    );
}

// A `return` where a shadowed kept local goes by its hidden name: the locals were dropped in
// the order they were last moved, not in reverse declaration order.
#[tame::tamed]
#[allow(unreachable_code)]
fn return_under_a_shadowed_local() {
    let c = D(2);
    let _guard = D(3);
    let c;
    if ({
        return;
        0
    }) == 2
    {
        log("never");
    }
    c = vec![0, 0, 0, 0];
    log(format!("{c:?}"));
}

#[test]
fn seed_304_return_under_a_shadowed_local() {
    assert_eq!(
        w::run_tamed(return_under_a_shadowed_local),
        ["drop 3", "drop 2"]
    );
}

// The end of the function in a `match` arm whose pattern shadows a kept local, after a wait:
// the shadowed one was dropped before a local declared after it.
#[tame::tamed]
fn end_in_an_arm_shadowing_a_kept_local() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    w::send(mkevent!(r, 1), 4);
    let b = S { f: 0, d: D(1) };
    let a2 = S { f: 8, d: D(2) };
    let b2 = twait!(r);
    match w::opt(1) {
        Some((_, b)) => log(format!("{b} {} {} {b2:?}", a2.f, 0)),
        None => {
            twait! {
                tame::asap(mkevent!());
            }
        }
    }
    log(format!("{}", b.f));
}

#[test]
fn seed_854_end_in_an_arm_shadowing_a_kept_local() {
    assert_eq!(
        w::run_tamed(end_in_an_arm_shadowing_a_kept_local),
        ["1 8 0 Some((1, 4))", "0", "drop 2", "drop 1"]
    );
}

// A local read as an operand left of a waiting operand that assigns it through an event
// place was read after the wait.
#[tame::tamed]
fn local_operand_left_of_a_wait_that_assigns_it() {
    let mut c;
    c = 5;
    let d = w::g(c, {
        twait! {
            w::now(1, mkevent!(c));
        }
        0
    });
    log(format!("{d} {c}"));
}

#[test]
fn seed_2691_local_operand_left_of_a_wait_that_assigns_it() {
    assert_eq!(
        w::run_tamed(local_operand_left_of_a_wait_that_assigns_it),
        ["g 5 0", "5 1"]
    );
}

// A local stashed for an arm that shadows it was taken back by the other arm after the
// locals declared later, and a possibly-moved local (`a`) stopped the explicit drops at the
// end: the arm dropped `x` before `a1`.
#[tame::tamed]
fn taken_back_local_behind_a_possibly_moved_one() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let mut x = D(1);
    let mut a1 = S { f: 4, d: D(2) };
    let mut a = 0;
    match twait!(r) {
        Some((_, x)) => {
            a1.f = {
                twait! {
                    tame::asap(mkevent!());
                }
                a
            };
        }
        None => {}
    }
}

#[test]
fn seed_300555_taken_back_local_behind_a_possibly_moved_one() {
    assert_eq!(
        w::run_tamed(taken_back_local_behind_a_possibly_moved_one),
        ["drop 2", "drop 1"]
    );
}

// A late local moved into the operation whose event assigns it back: the end of the call
// dropped it explicitly, as if the drain had assigned it on every path (E0381).
#[tame::tamed]
fn late_local_moved_and_assigned_back_by_an_event() {
    let mut x;
    x = 9;
    twait! {
        w::abandon(x, mkevent!(x));
    }
}

#[test]
fn seed_300249_late_local_moved_and_assigned_back_by_an_event() {
    assert_eq!(
        w::run_tamed(late_local_moved_and_assigned_back_by_an_event),
        Vec::<String>::new()
    );
}

// A local shadowed by a `let … else` whose `else` returns, behind a moved local (`b`): the old
// `c` was re-declared after `a1` and dropped before it. It now waits in a hold declared right
// after it.
#[tame::tamed]
fn shadowed_by_let_else_behind_a_moved_local() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let mut c = D(1);
    let a1 = D(7);
    let mut b = w::opt(5);
    b = twait!(r);
    let Some((_, c)) = b else {
        return;
    };
    let _ = twait!(r).map_or(0, |(_, v)| v);
}

#[test]
fn seed_400226_shadowed_by_let_else_behind_a_moved_local() {
    assert_eq!(
        w::run_tamed(shadowed_by_let_else_behind_a_moved_local),
        ["drop 7", "drop 1"]
    );
}

// A late local named in one state only by a waiting statement under `#[cfg]` (configured out)
// was declared there without a type: E0282.
#[tame::tamed]
fn late_local_named_only_under_cfg() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let b = 1;
    let mut x = w::opt(b);
    let mut a1;
    twait! {
        w::send(mkevent!(r, 1), x.map_or(0, |(_, v)| v));
    }
    a1 = S { f: 5, d: D(1) };
    #[cfg(any())]
    twait! {
        w::abandon({
            let mut a2 = {
                x = w::opt(1);
                D(2)
            };
            D(6)
        }, mkevent!(a1.d));
    }
}

#[test]
fn seed_107047_late_local_named_only_under_cfg() {
    assert_eq!(w::run_tamed(late_local_named_only_under_cfg), ["drop 1"]);
}

// A `continue` inside the value of a `break` in the `else` of a `let … else`: the value was
// quoted again, its jump became a statement macro, and stayed unexpanded (E0433-like "cannot
// find macro").
#[allow(unused_parens)]
#[tame::tamed]
fn jump_inside_a_break_value() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let mut a1;
    a1 = {
        let mut n1 = 0;
        'l1: loop {
            n1 += 1;
            if n1 > 2 {
                break 'l1 D(1);
            }
            let Some((_, b)) = w::opt(1) else {
                #[allow(unreachable_code)]
                break 'l1 ({
                    continue;
                    D(7)
                });
            };
            let mut a2;
            a2 = S {
                f: twait!(r).map_or(0, |(_, v)| v),
                d: D(8),
            };
        }
    };
}

#[test]
fn seed_500374_jump_inside_a_break_value() {
    assert_eq!(
        w::run_tamed(jump_inside_a_break_value),
        ["drop 8", "drop 8", "drop 1"]
    );
}

// A loop's back edge that went round from under an `if let` shadowing a kept late local (its
// `else` takes the local back from its slot under a new binding) reused the local its state
// had restored at entry, moved into the slot by then: E0382.
#[tame::tamed]
fn back_edge_past_a_shadowing_if_let() {
    let x;
    x = D(1);
    let mut n = 0;
    while n < 4 {
        n += 1;
        if let Some((_, x)) = w::opt(n) {
            twait! {
                w::ready(mkevent!());
            }
            log(format!("inner {x}"));
        } else {
            continue;
        }
    }
    log(format!("outer {x:?}"));
}

#[test]
fn seed_1301588_back_edge_past_a_shadowing_if_let() {
    assert_eq!(
        w::run_tamed(back_edge_past_a_shadowing_if_let),
        ["inner 1", "inner 2", "inner 4", "outer D(1)", "drop 1"]
    );
}

// A parameter assigned before it was read was not taken out of its slot at the call's start:
// the assignment did not drop the argument, and the next save found the slot still full (a
// panic in debug builds, the argument leaked in release builds).
#[tame::tamed]
fn parameter_assigned_before_it_is_read(mut d: D) {
    d = D(2);
    twait! {
        w::ready(mkevent!());
    }
    drop(d);
    log("end");
}

fn seed_1900142() {
    parameter_assigned_before_it_is_read(D(1));
}

#[test]
fn seed_1900142_parameter_assigned_before_it_is_read() {
    assert_eq!(w::run_tamed(seed_1900142), ["drop 1", "drop 2", "end"]);
}

// A local assigned in an `if` condition, and read nowhere after, was not declared in the
// state of that `if`: E0425 "cannot find value `a`".
#[tame::tamed]
fn local_assigned_in_a_condition() {
    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();
    let c = vec![1u32];
    let mut a = 0;
    if let Some((_, c)) = w::opt(1) {
        twait! {
            tame::asap(mkevent!());
        }
        log(format!("inner {c}"));
    } else {
        w::send(mkevent!(r, 0), a);
    }
    if ({
        a = 0;
        0
    }) == 2
    {
        twait! {
            tame::asap(mkevent!());
        }
    }
    log(format!("outer {c:?}"));
}

#[test]
fn seed_1900023_local_assigned_in_a_condition() {
    assert_eq!(
        w::run_tamed(local_assigned_in_a_condition),
        ["inner 1", "outer [1]"]
    );
}

// The same, assigned first after a wait: the argument stayed in the slot until the next save
// found it full.
#[tame::tamed]
fn parameter_assigned_after_a_wait_before_it_is_read(mut d: D) {
    twait! {
        w::ready(mkevent!());
    }
    d = D(2);
    twait! {
        w::ready(mkevent!());
    }
    drop(d);
    log("end");
}

fn assigned_after_a_wait() {
    parameter_assigned_after_a_wait_before_it_is_read(D(1));
}

#[test]
fn parameter_assigned_after_a_wait_before_it_is_read_drops_the_argument() {
    assert_eq!(
        w::run_tamed(assigned_after_a_wait),
        ["drop 1", "drop 2", "end"]
    );
}

// A late local shadowed by a `let … else` whose `else` returns got its hold where it was
// shadowed, after locals declared since; the `return` left the drops to Rust (a local before
// it may have been moved), which dropped the shadowed value first.
#[tame::tamed]
fn late_local_shadowed_by_a_let_else_that_returns(c: D) {
    let mut b;
    b = D(2);
    let mut c = S { f: 0, d: D(4) };
    'l2: for a1 in 0..2 {
        let Some((_, b)) = w::opt(a1) else {
            return;
        };
        twait! {
            tame::asap(mkevent!());
        }
    }
}

fn seed_2300018() {
    late_local_shadowed_by_a_let_else_that_returns(D(1));
}

#[test]
fn seed_2300018_late_local_shadowed_by_a_let_else_that_returns() {
    assert_eq!(w::run_tamed(seed_2300018), ["drop 4", "drop 2", "drop 1"]);
}
