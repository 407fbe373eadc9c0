use tame::tamed;

#[tamed]
struct Server;

fn main() {}
