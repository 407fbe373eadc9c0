use tame::{Event, tamed};

/// The paper's parallel resolver: every lookup in one `twait! {}`, each answer assigned to its
/// own `a[i]` (the index is evaluated when the event is made).
#[tamed]
fn multidns(names: Vec<String>, done: Event<Vec<String>>) {
    let mut a = vec![String::new(); names.len()];
    twait! {
        for i in 0..names.len() {
            lookup(names[i].clone(), mkevent!(a[i]));
        }
    }
    done.trigger(a);
}
