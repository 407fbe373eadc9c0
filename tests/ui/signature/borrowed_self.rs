use tame::tamed;

struct Server;

impl Server {
    #[tamed]
    fn serve(&self) {}

    #[tamed]
    fn serve_mut(&mut self) {}
}

fn main() {}
