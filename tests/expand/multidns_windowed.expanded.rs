use tame::{Event, Rendezvous, tamed};
/// The paper's windowed resolver: at most `window` lookups in flight, answers joined in the
/// order they arrive through one rendezvous.
fn multidns(names: Vec<String>, window: usize, done: Event<Vec<Option<String>>>) {
    let mut done = ::core::option::Option::Some(done);
    let mut r = ::core::option::Option::None;
    let mut answers = ::core::option::Option::None;
    let mut sent = ::core::option::Option::None;
    let mut received = ::core::option::Option::None;
    let mut __tame_state: u32 = 0;
    #[allow(
        unused_mut,
        unused_variables,
        unused_assignments,
        unreachable_code,
        clippy::never_loop,
        clippy::needless_late_init,
        clippy::needless_return,
        clippy::let_unit_value,
        clippy::redundant_locals,
        clippy::unused_unit,
        dropping_copy_types,
        dropping_references,
        clippy::drop_non_drop
    )]
    ::tame::__private::spawn_tamed(
        "multidns",
        ::core::file!(),
        move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
            let _ = &received;
            let _ = &sent;
            let _ = &answers;
            let _ = &r;
            let _ = &done;
            let _ = &window;
            let _ = &names;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "multidns",
                        ::core::file!(),
                        match __tame_state {
                            2 => (::core::line!(), ""),
                            _ => (0, ""),
                        },
                    );
                return ::tame::__private::Step::Blocked;
            }
            let mut __tame_at = __tame_state;
            '__tame_resume: loop {
                match __tame_at {
                    0 => {
                        __tame_cx.watch_params(1usize);
                        __tame_cx.watch(&mut done);
                        let done = ::tame::__private::take(&mut done);
                        let r: Rendezvous<usize, Option<String>> = Rendezvous::new();
                        let mut answers = vec![None; names.len()];
                        let mut sent = 0;
                        let mut received = 0;
                        ::tame::__private::put(&mut done, done);
                        ::tame::__private::put(&mut r, r);
                        ::tame::__private::put(&mut answers, answers);
                        ::tame::__private::put(&mut sent, sent);
                        ::tame::__private::put(&mut received, received);
                        __tame_at = 1;
                        continue '__tame_resume;
                    }
                    1 => {
                        let done = ::tame::__private::take(&mut done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut r,
                        );
                        let mut answers = ::tame::__private::take(&mut answers);
                        let mut sent = ::tame::__private::take(&mut sent);
                        let mut received = ::tame::__private::take(&mut received);
                        '__tame_entry: loop {
                            if received < names.len() {
                                if sent < names.len() && sent - received < window {
                                    lookup(names[sent].clone(), (r).event(sent));
                                    sent += 1;
                                    continue '__tame_entry;
                                } else {
                                    ::tame::__private::put(&mut done, done);
                                    ::tame::__private::put(&mut r, r);
                                    ::tame::__private::put(&mut answers, answers);
                                    ::tame::__private::put(&mut sent, sent);
                                    ::tame::__private::put(&mut received, received);
                                    __tame_at = 2;
                                    continue '__tame_resume;
                                }
                            } else {
                                ::tame::__private::put(&mut done, done);
                                ::tame::__private::put(&mut r, r);
                                ::tame::__private::put(&mut answers, answers);
                                __tame_at = 3;
                                continue '__tame_resume;
                            }
                        }
                    }
                    2 => {
                        let done = ::tame::__private::take(&mut done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut r,
                        );
                        let mut answers = ::tame::__private::take(&mut answers);
                        let mut sent = ::tame::__private::take(&mut sent);
                        let mut received = ::tame::__private::take(&mut received);
                        if __tame_cx.ending() {
                            return ::tame::__private::Step::Done;
                        }
                        match __tame_cx.poll_rv(&(r), ::core::line!()) {
                            ::core::option::Option::Some(__tame_t1) => {
                                let (i, addr) = __tame_t1.expect("a lookup in flight");
                                answers[i] = addr;
                                received += 1;
                                ::tame::__private::put(&mut done, done);
                                ::tame::__private::put(&mut r, r);
                                ::tame::__private::put(&mut answers, answers);
                                ::tame::__private::put(&mut sent, sent);
                                ::tame::__private::put(&mut received, received);
                                __tame_at = 1;
                                continue '__tame_resume;
                            }
                            ::core::option::Option::None => {
                                ::tame::__private::put(&mut done, done);
                                ::tame::__private::put(&mut r, r);
                                ::tame::__private::put(&mut answers, answers);
                                ::tame::__private::put(&mut sent, sent);
                                ::tame::__private::put(&mut received, received);
                                __tame_state = 2;
                                return ::tame::__private::Step::Blocked;
                            }
                        }
                    }
                    3 => {
                        let done = ::tame::__private::take(&mut done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut r,
                        );
                        let mut answers = ::tame::__private::take(&mut answers);
                        done.trigger(answers);
                        return ::tame::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
