use tame::{Event, tamed};

/// A local shadowed while it must survive a later wait moves into its hold, declared right
/// after it, so it is dropped in its place; two events aimed at one place are written in the
/// order they triggered.
#[tamed]
fn shadow_and_one_place(log: Vec<String>, done: Event<(String, u32)>) {
    let name = String::from("outer");
    let mut n = 0u32;
    twait! {
        slow(mkevent!(n));
        fast(mkevent!(n));
    }
    let name = format!("{name}/{n}");
    twait! { tame::asap(mkevent!()); }
    drop(log);
    done.trigger((name, n));
}
