//! Locals named only inside the arguments of another macro (`format!`, `vec!`, …) are seen by
//! `#[tamed]`: each one below is used after a wait only there, so the call must keep it across
//! that wait, or the function would not compile.
//!
//! Each such local is also passed by value to [`seen`] before the wait: a local that may be
//! moved is kept across a wait only while a later use is known, so these tests fail if the
//! macro misses the use inside the macro's arguments.
use std::rc::Rc;

use tame::{Event, tamed};

mod util;
use util::result;

/// Takes its argument by value (so the macro must assume the local may be moved here).
fn seen<T>(v: T) -> T {
    v
}

#[tamed]
fn range_end(done: Event<String>) {
    let buf = vec![10, 20, 30, 40, 50];
    let a = 1;
    let b = 3;
    let c = 4;
    seen((a, b, c));
    twait! { tame::asap(mkevent!()); }
    // `b` and `c` follow `..`: a range end, not a field.
    done.trigger(format!("{:?} {:?} {:?}", &buf[a..b], &buf[..b], &buf[..c]));
}

#[test]
fn a_name_after_a_range_in_a_macro_is_kept() {
    assert_eq!(
        result(range_end).unwrap(),
        "[20, 30] [10, 20, 30] [10, 20, 30, 40]"
    );
}

#[derive(Debug, PartialEq)]
struct P {
    v: u32,
    w: u32,
}

#[tamed]
fn field_value(done: Event<Vec<P>>) {
    let val = 7;
    let other = 8;
    let w = 9;
    seen((val, other, w));
    twait! { tame::asap(mkevent!()); }
    // `val` and `other` follow a field name's `:`; `w` is a shorthand field.
    done.trigger(vec![P { v: val, w }, P { v: other, w: val }]);
}

#[test]
fn a_name_after_a_field_colon_in_a_macro_is_kept() {
    assert_eq!(
        result(field_value).unwrap(),
        [P { v: 7, w: 9 }, P { v: 8, w: 7 }]
    );
}

#[tamed]
fn widths(done: Event<String>) {
    let x = 42;
    let width = 6;
    let prec = 2;
    let fill = 5;
    let pi = 1.23456;
    seen((x, width, prec, fill, pi));
    twait! { tame::asap(mkevent!()); }
    // Inline width and precision arguments, with and without a named value.
    done.trigger(format!(
        "[{x:>width$}] [{:fill$}] [{:.prec$}] [{pi:0fill$.prec$}]",
        x, pi
    ));
}

#[test]
fn inline_width_and_precision_names_are_kept() {
    assert_eq!(result(widths).unwrap(), "[    42] [   42] [1.23] [01.23]");
}

#[derive(Debug)]
struct Named(&'static str);

impl Named {
    #[tamed]
    fn show(self, done: Event<String>) {
        twait! { tame::asap(mkevent!()); }
        done.trigger(format!("{self:?}/{}", self.0));
    }

    #[tamed]
    fn show_rc(self: Rc<Self>, done: Event<String>) {
        let before = format!("{self:?}");
        twait! { tame::asap(mkevent!()); }
        done.trigger(format!("{before} {self:?} {0}", self.0));
    }
}

#[test]
fn self_in_a_format_string_of_a_method_is_the_receiver() {
    assert_eq!(result(|d| Named("n").show(d)).unwrap(), "Named(\"n\")/n");
    assert_eq!(
        result(|d| Rc::new(Named("r")).show_rc(d)).unwrap(),
        "Named(\"r\") Named(\"r\") r"
    );
}

#[tamed]
fn literals_stay_as_written(done: Event<Vec<String>>) {
    let s = "kept";
    seen(s);
    twait! { tame::asap(mkevent!()); }
    // Only format strings name locals; other string literals are data.
    done.trigger(vec!["{self}".to_string(), format!("{{s}} {s}")]);
}

#[test]
fn string_literals_that_are_not_format_strings_are_left_alone() {
    assert_eq!(
        result(literals_stay_as_written).unwrap(),
        ["{self}", "{s} kept"]
    );
}
