//! Locals kept across waits: found by liveness, restored under their own names, types
//! inferred. Shadowing, moves, late initialisation, uses inside macros, generics, methods.
use std::fmt::Debug;
use std::rc::Rc;

use tame::Event;
use tame::tamed;

mod util;
use util::result;

#[tamed]
fn shadowing(done: Event<Vec<String>>) {
    let mut out = Vec::new();
    let x = 1;
    twait! { tame::asap(mkevent!()); }
    let x = x + 1; // reads the first `x`
    twait! { tame::asap(mkevent!()); }
    let x = format!("x={x}");
    out.push(x.clone());
    // An inner scope shadows `x`; the outer `x` must survive its waits.
    for i in 0..2 {
        let x = i * 100;
        twait! { tame::asap(mkevent!()); }
        out.push(format!("inner {x}"));
    }
    {
        let x = "block";
        twait! { tame::asap(mkevent!()); }
        out.push(x.to_string());
    }
    if let Some(x) = Some(7) {
        twait! { tame::asap(mkevent!()); }
        out.push(format!("if let {x}"));
    }
    out.push(x);
    done.trigger(out);
}

#[test]
fn shadowed_locals_keep_their_own_values() {
    assert_eq!(
        result(shadowing).unwrap(),
        ["x=2", "inner 0", "inner 100", "block", "if let 7", "x=2"]
    );
}

#[tamed]
fn moved_before_wait(done: Event<(String, usize)>) {
    let s = String::from("moved");
    let v = vec![1, 2, 3];
    let kept = s; // `s` is moved: it is not kept across the wait, `kept` is
    drop(v); // `v` is dropped before the wait
    twait! { tame::asap(mkevent!()); }
    let s = String::from("new s");
    done.trigger((format!("{kept}/{s}"), kept.len()));
}

#[test]
fn locals_moved_before_a_wait_are_not_kept() {
    assert_eq!(
        result(moved_before_wait),
        Some(("moved/new s".to_string(), 5))
    );
}

#[tamed]
fn late_init(c: bool, done: Event<(u32, String)>) {
    let x: u32;
    let y;
    twait! { tame::asap(mkevent!()); }
    if c {
        x = 1;
    } else {
        x = 2;
    }
    twait! { tame::asap(mkevent!()); }
    y = format!("y{x}");
    twait! { tame::asap(mkevent!()); }
    done.trigger((x, y));
}

#[test]
fn late_initialised_locals_across_waits() {
    assert_eq!(result(|d| late_init(true, d)), Some((1, "y1".to_string())));
    assert_eq!(result(|d| late_init(false, d)), Some((2, "y2".to_string())));
}

#[tamed]
fn macro_uses(done: Event<String>) {
    let name = String::from("tame");
    let n = 3;
    let v = vec![1, 2];
    twait! { tame::asap(mkevent!()); }
    // Only used inside macros: inline format arguments, plain arguments, `vec!`.
    let s = format!("{name}:{n:>2}:{:?}:{}", v, vec![n; 2].len());
    done.trigger(s);
}

#[test]
fn identifiers_inside_macros_count_as_uses() {
    assert_eq!(result(macro_uses), Some("tame: 3:[1, 2]:2".to_string()));
}

// ANCHOR: generic
#[tamed]
fn generic<T: Debug, U>(items: Vec<T>, extra: U, done: Event<Vec<String>>)
where
    U: Clone + Debug,
{
    let mut out = Vec::new();
    for it in items {
        twait! { tame::asap(mkevent!()); }
        out.push(format!("{it:?}+{:?}", extra.clone()));
    }
    done.trigger(out);
}

#[tamed]
fn impl_trait_param(x: impl Debug, done: Event<String>) {
    twait! { tame::asap(mkevent!()); }
    done.trigger(format!("{x:?}"));
}
// ANCHOR_END: generic

#[test]
fn generic_functions_with_bounds_and_where_clauses() {
    assert_eq!(result(|d| impl_trait_param(5u8, d)), Some("5".to_string()));
    assert_eq!(
        result(|d| generic(vec![1, 2], "e", d)).unwrap(),
        ["1+\"e\"", "2+\"e\""]
    );
}

#[tamed]
fn params(mut n: u32, (a, b): (u32, u32), done: Event<u32>) {
    twait! { tame::asap(mkevent!()); }
    n += a * b;
    twait! { tame::asap(mkevent!()); }
    done.trigger(n);
}

#[test]
fn mut_and_pattern_parameters() {
    assert_eq!(result(|d| params(1, (2, 3), d)), Some(7));
}

// ANCHOR: tvars
#[tamed]
fn with_tvars(done: Event<u32>) {
    tvars! {
        let mut total: u32 = 0;
        let step = 5;
    }
    for _ in 0..3 {
        twait! { tame::asap(mkevent!()); }
        total += step;
    }
    done.trigger(total);
}
// ANCHOR_END: tvars

#[test]
fn tvars_declares_ordinary_locals() {
    assert_eq!(result(with_tvars), Some(15));
}

// ANCHOR: methods
struct Counter {
    name: &'static str,
    start: u32,
}

impl Counter {
    #[tamed]
    fn by_value(self, done: Event<String>) {
        twait! { tame::asap(mkevent!()); }
        let me = self.name;
        done.trigger(format!("{me} {}", self.start));
    }

    #[tamed]
    fn by_rc(self: Rc<Self>, done: Event<String>) {
        let first = self.start;
        twait! { tame::asap(mkevent!()); }
        done.trigger(format!("{}:{first}:{}", self.name, Self::twice(self.start)));
    }

    fn twice(x: u32) -> u32 {
        x * 2
    }
}
// ANCHOR_END: methods

#[test]
fn methods_taking_self_by_value_or_rc() {
    assert_eq!(
        result(|d| Counter {
            name: "v",
            start: 1
        }
        .by_value(d)),
        Some("v 1".to_string())
    );
    let c = Rc::new(Counter {
        name: "rc",
        start: 4,
    });
    assert_eq!(result(|d| c.clone().by_rc(d)), Some("rc:4:8".to_string()));
    assert_eq!(Rc::strong_count(&c), 1, "the call released its Rc");
}

#[tamed]
fn unused_locals_live_to_the_end_of_their_scope(log: util::Log) {
    struct Loud(util::Log, &'static str);
    impl Drop for Loud {
        fn drop(&mut self) {
            self.0.push(format!("drop {}", self.1));
        }
    }
    let _guard = Loud(log.clone(), "guard");
    let temp = Loud(log.clone(), "temp");
    let _ = &temp;
    twait! { tame::asap(mkevent!()); }
    log.push("after wait");
}

#[test]
fn locals_not_read_after_a_wait_live_to_the_end_of_their_scope() {
    let log = util::Log::default();
    tame::run(|| unused_locals_live_to_the_end_of_their_scope(log.clone()));
    assert_eq!(log.take(), ["after wait", "drop temp", "drop guard"]);
}

#[tamed]
fn items_in_the_body(done: Event<String>) {
    use std::fmt::Write;
    const GREETING: &str = "hi";
    let mut s = String::new();
    twait! { tame::asap(mkevent!()); }
    fn twice(x: u32) -> u32 {
        x * 2
    }
    write!(s, "{GREETING} {}", twice(21)).unwrap();
    done.trigger(s);
}

#[test]
fn items_declared_in_the_body_are_visible_after_waits() {
    assert_eq!(result(items_in_the_body), Some("hi 42".to_string()));
}

#[tamed]
fn shadow_arms(done: Event<Vec<String>>) {
    let mut out = Vec::new();
    let v = String::from("keep");
    for item in [Some(1u32), None, Some(5)] {
        match item {
            Some(v) if v > 2 => {
                twait! { tame::asap(mkevent!()); }
                out.push(format!("big {v}"));
            }
            Some(v) => out.push(format!("small {v}")),
            None => {
                twait! { tame::asap(mkevent!()); }
                out.push(format!("none {v}"));
            }
        }
        let v = 10;
        out.push(format!("after {v}"));
    }
    let mut acc = 0;
    let mut i = 0;
    while i < 3 {
        let acc2 = acc + i;
        twait! { tame::asap(mkevent!()); }
        acc = acc2;
        i += 1;
    }
    out.push(format!("{v} {acc}"));
    done.trigger(out);
}

#[test]
fn match_arm_bindings_shadowing_a_kept_local() {
    let got = result(shadow_arms).unwrap();
    assert_eq!(
        got,
        [
            "small 1",
            "after 10",
            "none keep",
            "after 10",
            "big 5",
            "after 10",
            "keep 3"
        ]
    );
}

/// `Option::and`, `Result::or`, `is_some_and`, …: methods of the standard library that take
/// `self`, used on kept locals after a wait (the macro must count them as moves, or it drops
/// the moved local again at the end of its scope: E0382).
#[tamed]
fn combinators_that_take_self(done: Event<(Option<String>, Result<String, String>, bool)>) {
    let (a, b) = (Some("a".to_string()), Some("b".to_string()));
    let (c, d): (Result<String, String>, Result<String, String>) =
        (Err("c".into()), Ok("d".into()));
    let e = Some("e".to_string());
    twait! { tame::asap(mkevent!()); }
    let (mut f, mut g): (Result<u8, String>, Result<u8, String>) = (Ok(0), Ok(0));
    twait! {
        mkevent!(f).trigger(Ok(1));
        mkevent!(g).trigger(Ok(2));
    }
    let fg = match f.and(g) {
        Ok(v) => v,
        Err(e) => return done.trigger((None, Err(e), false)),
    };
    twait! { tame::asap(mkevent!()); }
    let _ = fg;
    let ab = a.and(b);
    let cd = c.or(d);
    let has_e = e.is_some_and(|s| s == "e");
    if ab.is_none() {
        // A `return` drops, explicitly, the locals still in scope that were not moved.
        return done.trigger((None, cd, has_e));
    }
    done.trigger((ab, cd, has_e));
}

#[test]
fn methods_of_the_standard_library_that_take_self_are_moves() {
    let got = result(combinators_that_take_self);
    assert_eq!(
        got,
        Some((Some("b".to_string()), Ok("d".to_string()), true))
    );
}

/// A binding that borrows a kept local (`while let Ok(l) = &line`) is a reference: it has no
/// drop, so it is not kept to the end of its scope, and the wait may assign the local it
/// borrowed once the borrow is over, as in Rust.
#[tamed]
fn lines_until_empty(done: Event<Vec<String>>) {
    let mut line: Result<String, ()> = Ok("start".to_string());
    let mut seen = Vec::new();
    let mut n = 0;
    while let Ok(l) = &line
        && !l.is_empty()
    {
        seen.push(l.clone());
        n += 1;
        twait! { mkevent!(line).trigger(Ok(if n < 3 { format!("line {n}") } else { String::new() })); }
    }
    let last = &seen[seen.len() - 1]; // a borrow, last used before the wait
    let count = format!("{} lines, the last {last:?}", seen.len());
    twait! { tame::asap(mkevent!()); }
    seen.push(count);
    done.trigger(seen);
}

#[test]
fn a_binding_that_borrows_a_kept_local_ends_its_borrow_at_its_last_use() {
    let got = result(lines_until_empty);
    assert_eq!(
        got.unwrap(),
        ["start", "line 1", "line 2", "3 lines, the last \"line 2\""]
    );
}
