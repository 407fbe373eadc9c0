use tame::{Event, tamed};

#[tamed]
fn f(done: Event<Result<u32, String>>) {
    let mut got: Result<u32, String> = Err("nothing".into());
    twait! { tame::asap(mkevent!()); }
    got = Ok(got.unwrap_or(1));
    let v = got?;
    if v > 1 {
        let w = Some(v).ok_or_else(|| "none".to_string())?;
        return done.trigger(Ok(w));
    }
    done.trigger(Ok(v));
}

fn main() {}
