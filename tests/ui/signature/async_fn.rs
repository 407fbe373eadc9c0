use tame::tamed;

#[tamed]
async fn fetch() {}

fn main() {}
