use tame::{Event, Rendezvous, tamed};
/// The paper's windowed resolver: at most `window` lookups in flight, answers joined in the
/// order they arrive through one rendezvous.
fn multidns(names: Vec<String>, window: usize, done: Event<Vec<Option<String>>>) {
    let mut __tame_s_names = ::core::option::Option::Some(names);
    let mut __tame_s_window = ::core::option::Option::Some(window);
    let mut __tame_s_done = ::core::option::Option::Some(done);
    let mut __tame_s_r = ::core::option::Option::None;
    let mut __tame_s_answers = ::core::option::Option::None;
    let mut __tame_s_sent = ::core::option::Option::None;
    let mut __tame_s_received = ::core::option::Option::None;
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
        clippy::unused_unit
    )]
    ::tame::__private::spawn(
        "multidns",
        ::core::file!(),
        move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
            '__tame_resume: loop {
                match __tame_state {
                    0 => {
                        let names = ::tame::__private::take(&mut __tame_s_names);
                        let window = ::tame::__private::take(&mut __tame_s_window);
                        let done = ::tame::__private::take(&mut __tame_s_done);
                        let r: Rendezvous<usize, Option<String>> = Rendezvous::new();
                        let mut answers = vec![None; names.len()];
                        let mut sent = 0;
                        let mut received = 0;
                        ::tame::__private::put(&mut __tame_s_names, names);
                        ::tame::__private::put(&mut __tame_s_window, window);
                        ::tame::__private::put(&mut __tame_s_done, done);
                        ::tame::__private::put(&mut __tame_s_r, r);
                        ::tame::__private::put(&mut __tame_s_answers, answers);
                        ::tame::__private::put(&mut __tame_s_sent, sent);
                        ::tame::__private::put(&mut __tame_s_received, received);
                        __tame_state = 1;
                        continue '__tame_resume;
                    }
                    1 => {
                        let names = ::tame::__private::take(&mut __tame_s_names);
                        let window = ::tame::__private::take(&mut __tame_s_window);
                        let done = ::tame::__private::take(&mut __tame_s_done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut __tame_s_r,
                        );
                        let mut answers = ::tame::__private::take(&mut __tame_s_answers);
                        let mut sent = ::tame::__private::take(&mut __tame_s_sent);
                        let mut received = ::tame::__private::take(
                            &mut __tame_s_received,
                        );
                        if received < names.len() {
                            if sent < names.len() && sent - received < window {
                                lookup(names[sent].clone(), (r).event(sent));
                                sent += 1;
                                ::tame::__private::put(&mut __tame_s_names, names);
                                ::tame::__private::put(&mut __tame_s_window, window);
                                ::tame::__private::put(&mut __tame_s_done, done);
                                ::tame::__private::put(&mut __tame_s_r, r);
                                ::tame::__private::put(&mut __tame_s_answers, answers);
                                ::tame::__private::put(&mut __tame_s_sent, sent);
                                ::tame::__private::put(&mut __tame_s_received, received);
                                __tame_state = 1;
                                continue '__tame_resume;
                            } else {
                                ::tame::__private::put(&mut __tame_s_names, names);
                                ::tame::__private::put(&mut __tame_s_window, window);
                                ::tame::__private::put(&mut __tame_s_done, done);
                                ::tame::__private::put(&mut __tame_s_r, r);
                                ::tame::__private::put(&mut __tame_s_answers, answers);
                                ::tame::__private::put(&mut __tame_s_sent, sent);
                                ::tame::__private::put(&mut __tame_s_received, received);
                                __tame_state = 2;
                                continue '__tame_resume;
                            }
                        } else {
                            ::tame::__private::put(&mut __tame_s_window, window);
                            ::tame::__private::put(&mut __tame_s_done, done);
                            ::tame::__private::put(&mut __tame_s_r, r);
                            ::tame::__private::put(&mut __tame_s_answers, answers);
                            __tame_state = 3;
                            continue '__tame_resume;
                        }
                    }
                    2 => {
                        let names = ::tame::__private::take(&mut __tame_s_names);
                        let window = ::tame::__private::take(&mut __tame_s_window);
                        let done = ::tame::__private::take(&mut __tame_s_done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut __tame_s_r,
                        );
                        let mut answers = ::tame::__private::take(&mut __tame_s_answers);
                        let mut sent = ::tame::__private::take(&mut __tame_s_sent);
                        let mut received = ::tame::__private::take(
                            &mut __tame_s_received,
                        );
                        match __tame_cx.poll_rv(&(r), ::core::line!()) {
                            ::core::option::Option::Some(__tame_t1) => {
                                let (i, addr) = __tame_t1.expect("a lookup in flight");
                                answers[i] = addr;
                                received += 1;
                                ::tame::__private::put(&mut __tame_s_names, names);
                                ::tame::__private::put(&mut __tame_s_window, window);
                                ::tame::__private::put(&mut __tame_s_done, done);
                                ::tame::__private::put(&mut __tame_s_r, r);
                                ::tame::__private::put(&mut __tame_s_answers, answers);
                                ::tame::__private::put(&mut __tame_s_sent, sent);
                                ::tame::__private::put(&mut __tame_s_received, received);
                                __tame_state = 1;
                                continue '__tame_resume;
                            }
                            ::core::option::Option::None => {
                                ::tame::__private::put(&mut __tame_s_names, names);
                                ::tame::__private::put(&mut __tame_s_window, window);
                                ::tame::__private::put(&mut __tame_s_done, done);
                                ::tame::__private::put(&mut __tame_s_r, r);
                                ::tame::__private::put(&mut __tame_s_answers, answers);
                                ::tame::__private::put(&mut __tame_s_sent, sent);
                                ::tame::__private::put(&mut __tame_s_received, received);
                                __tame_state = 2;
                                return ::tame::__private::Step::Blocked;
                            }
                        }
                    }
                    3 => {
                        let window = ::tame::__private::take(&mut __tame_s_window);
                        let done = ::tame::__private::take(&mut __tame_s_done);
                        let r: Rendezvous<usize, Option<String>> = ::tame::__private::take(
                            &mut __tame_s_r,
                        );
                        let mut answers = ::tame::__private::take(&mut __tame_s_answers);
                        done.trigger(answers);
                        return ::tame::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
