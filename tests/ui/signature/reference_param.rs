use tame::tamed;

#[tamed]
fn greet(name: &str, names: Vec<&'static str>, ok: &'static str) {
    let _ = (name, names, ok);
}

fn main() {}
