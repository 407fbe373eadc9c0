fn tamed_fast(n: u64, out: Rc<Cell<u64>>) {
    let mut n = ::core::option::Option::Some(n);
    let mut out = ::core::option::Option::Some(out);
    let mut sum = ::core::option::Option::None;
    let mut __tame_s_iter1 = ::core::option::Option::None;
    let mut i = ::core::option::Option::None;
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
        "tamed_fast",
        ::core::file!(),
        move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
            let _ = &i;
            let _ = &__tame_s_iter1;
            let _ = &sum;
            let _ = &out;
            let _ = &n;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "tamed_fast",
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
                        let n = ::tame::__private::take(&mut n);
                        let out = ::tame::__private::take(&mut out);
                        let mut sum = 0u64;
                        {
                            let mut __tame_iter1 = ::core::iter::IntoIterator::into_iter(
                                0..n,
                            );
                            ::tame::__private::put(&mut out, out);
                            ::tame::__private::put(&mut sum, sum);
                            ::tame::__private::put(&mut __tame_s_iter1, __tame_iter1);
                            __tame_at = 1;
                            continue '__tame_resume;
                        }
                    }
                    1 => {
                        let out = ::tame::__private::take(&mut out);
                        let mut sum = ::tame::__private::take(&mut sum);
                        let mut __tame_iter1 = ::tame::__private::take(
                            &mut __tame_s_iter1,
                        );
                        match ::core::iter::Iterator::next(&mut __tame_iter1) {
                            ::core::option::Option::Some(i) => {
                                {
                                    __tame_cx.join_event().trigger(());
                                }
                                ::tame::__private::put(&mut out, out);
                                ::tame::__private::put(&mut sum, sum);
                                ::tame::__private::put(&mut __tame_s_iter1, __tame_iter1);
                                ::tame::__private::put(&mut i, i);
                                if __tame_cx.join_ready(::core::line!()) {
                                    __tame_at = 2;
                                    continue '__tame_resume;
                                }
                                __tame_state = 2;
                                return ::tame::__private::Step::Blocked;
                            }
                            ::core::option::Option::None => {
                                ::core::mem::drop(__tame_iter1);
                                ::tame::__private::put(&mut out, out);
                                ::tame::__private::put(&mut sum, sum);
                                __tame_at = 3;
                                continue '__tame_resume;
                            }
                        }
                    }
                    2 => {
                        let out = ::tame::__private::take(&mut out);
                        let mut sum = ::tame::__private::take(&mut sum);
                        let mut __tame_iter1 = ::tame::__private::take(
                            &mut __tame_s_iter1,
                        );
                        let i = ::tame::__private::take(&mut i);
                        sum = sum.wrapping_add(i);
                        ::tame::__private::put(&mut out, out);
                        ::tame::__private::put(&mut sum, sum);
                        ::tame::__private::put(&mut __tame_s_iter1, __tame_iter1);
                        __tame_at = 1;
                        continue '__tame_resume;
                    }
                    3 => {
                        let out = ::tame::__private::take(&mut out);
                        let mut sum = ::tame::__private::take(&mut sum);
                        out.set(sum);
                        return ::tame::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
