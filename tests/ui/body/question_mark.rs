use tame::{Event, tamed};

fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    s.parse()
}

#[tamed]
fn f(s: String, done: Event<Result<u32, std::num::ParseIntError>>) {
    let n = parse(&s)?;
    twait! { tame::asap(mkevent!()); }
    done.trigger(Ok(n));
}

// `?` inside a closure, an `async` block or a nested item is theirs: no error for these.
#[tamed]
fn g(s: String, done: Event<Option<u32>>) {
    let first = |s: &str| -> Option<u32> { Some(parse(s).ok()? + 1) };
    fn second(s: &str) -> Option<u32> {
        parse(s).ok()
    }
    let _fut = async { Some(parse("1").ok()?) };
    twait! { tame::asap(mkevent!()); }
    done.trigger(first(&s).or(second(&s)));
}

fn main() {}
