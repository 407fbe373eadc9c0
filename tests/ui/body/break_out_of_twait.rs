use tame::tamed;

#[tamed]
fn f(names: Vec<String>) {
    loop {
        twait! {
            for n in &names {
                if n.is_empty() {
                    break; // fine: leaves the inner `for`
                }
                tame::asap(mkevent!());
            }
            if names.is_empty() {
                break;
            }
        }
    }
}

fn main() {}
