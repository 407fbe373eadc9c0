use tame::tamed;

#[tamed]
fn answer() -> u32 {
    42
}

fn main() {}
