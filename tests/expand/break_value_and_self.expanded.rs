use std::rc::Rc;
use tame::{Event, Rendezvous, tamed};
struct Pool {
    r: Rendezvous<u32, String>,
}
impl Pool {
    /// `self: Rc<Self>` becomes an ordinary kept local; `break value` goes through a
    /// destination temporary.
    fn first_long(self: Rc<Self>, min: usize, done: Event<Option<(u32, String)>>) {
        let mut __tame_s_self = ::core::option::Option::Some(self);
        let mut min = ::core::option::Option::Some(min);
        let mut done = ::core::option::Option::Some(done);
        let mut __tame_s_d1 = ::core::option::Option::None;
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
            "first_long",
            ::core::file!(),
            move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
                let _ = &__tame_s_d1;
                let _ = &done;
                let _ = &min;
                let _ = &__tame_s_self;
                if __tame_cx.describing() {
                    __tame_cx
                        .blocked_at(
                            "first_long",
                            ::core::file!(),
                            match __tame_state {
                                1 => (::core::line!(), ""),
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
                            let __tame_self = ::tame::__private::take(
                                &mut __tame_s_self,
                            );
                            let min = ::tame::__private::take(&mut min);
                            let done = ::tame::__private::take(&mut done);
                            ::tame::__private::put(&mut __tame_s_self, __tame_self);
                            ::tame::__private::put(&mut min, min);
                            ::tame::__private::put(&mut done, done);
                            __tame_at = 1;
                            continue '__tame_resume;
                        }
                        1 => {
                            let __tame_self = ::tame::__private::take(
                                &mut __tame_s_self,
                            );
                            let min = ::tame::__private::take(&mut min);
                            let done = ::tame::__private::take(&mut done);
                            let __tame_d1;
                            if __tame_cx.ending() {
                                return ::tame::__private::Step::Done;
                            }
                            match __tame_cx.poll_rv(&(__tame_self.r), ::core::line!()) {
                                ::core::option::Option::Some(__tame_t2) => {
                                    '__tame_j2: {
                                        '__tame_j1: {
                                            '__tame_j0: {
                                                match __tame_t2 {
                                                    Some((id, s)) if s.len() >= min => {
                                                        __tame_d1 = Some((id, s));
                                                        {
                                                            break '__tame_j0;
                                                        }
                                                    }
                                                    Some(_) => {
                                                        break '__tame_j1;
                                                    }
                                                    None => {
                                                        __tame_d1 = None;
                                                        {
                                                            break '__tame_j2;
                                                        }
                                                    }
                                                };
                                                ::tame::__private::put(&mut __tame_s_self, __tame_self);
                                                ::tame::__private::put(&mut min, min);
                                                ::tame::__private::put(&mut done, done);
                                                __tame_at = 1;
                                                continue '__tame_resume;
                                            }
                                            ::tame::__private::put(&mut __tame_s_self, __tame_self);
                                            ::tame::__private::put(&mut min, min);
                                            ::tame::__private::put(&mut done, done);
                                            ::tame::__private::put(&mut __tame_s_d1, __tame_d1);
                                            __tame_at = 2;
                                            continue '__tame_resume;
                                        }
                                        ::tame::__private::put(&mut __tame_s_self, __tame_self);
                                        ::tame::__private::put(&mut min, min);
                                        ::tame::__private::put(&mut done, done);
                                        __tame_at = 1;
                                        continue '__tame_resume;
                                    }
                                    ::tame::__private::put(&mut __tame_s_self, __tame_self);
                                    ::tame::__private::put(&mut min, min);
                                    ::tame::__private::put(&mut done, done);
                                    ::tame::__private::put(&mut __tame_s_d1, __tame_d1);
                                    __tame_at = 2;
                                    continue '__tame_resume;
                                }
                                ::core::option::Option::None => {
                                    ::tame::__private::put(&mut __tame_s_self, __tame_self);
                                    ::tame::__private::put(&mut min, min);
                                    ::tame::__private::put(&mut done, done);
                                    __tame_state = 1;
                                    return ::tame::__private::Step::Blocked;
                                }
                            }
                        }
                        2 => {
                            let __tame_self = ::tame::__private::take(
                                &mut __tame_s_self,
                            );
                            let min = ::tame::__private::take(&mut min);
                            let done = ::tame::__private::take(&mut done);
                            let __tame_d1 = ::tame::__private::take(&mut __tame_s_d1);
                            let found = __tame_d1;
                            done.trigger(found);
                            return ::tame::__private::Step::Done;
                        }
                        _ => ::core::unreachable!(),
                    }
                }
            },
        );
    }
}
