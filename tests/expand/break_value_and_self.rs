use std::rc::Rc;
use tame::{Event, Rendezvous, tamed};

struct Pool {
    r: Rendezvous<u32, String>,
}

impl Pool {
    /// `self: Rc<Self>` becomes an ordinary kept local; `break value` goes through a
    /// destination temporary.
    #[tamed]
    fn first_long(self: Rc<Self>, min: usize, done: Event<Option<(u32, String)>>) {
        let found = loop {
            match twait!(self.r) {
                Some((id, s)) if s.len() >= min => break Some((id, s)),
                Some(_) => continue,
                None => break None,
            }
        };
        done.trigger(found);
    }
}
