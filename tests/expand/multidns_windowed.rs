use tame::{Event, Rendezvous, tamed};

/// The paper's windowed resolver: at most `window` lookups in flight, answers joined in the
/// order they arrive through one rendezvous.
#[tamed]
fn multidns(names: Vec<String>, window: usize, done: Event<Vec<Option<String>>>) {
    let r: Rendezvous<usize, Option<String>> = Rendezvous::new();
    let mut answers = vec![None; names.len()];
    let mut sent = 0;
    let mut received = 0;
    while received < names.len() {
        if sent < names.len() && sent - received < window {
            lookup(names[sent].clone(), mkevent!(r, sent));
            sent += 1;
        } else {
            let (i, addr) = twait!(r).expect("a lookup in flight");
            answers[i] = addr;
            received += 1;
        }
    }
    done.trigger(answers);
}
