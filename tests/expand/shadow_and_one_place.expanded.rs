use tame::{Event, tamed};
/// A local shadowed while it must survive a later wait moves into its hold, declared right
/// after it, so it is dropped in its place; two events aimed at one place are written in the
/// order they triggered.
fn shadow_and_one_place(log: Vec<String>, done: Event<(String, u32)>) {
    let mut log = ::core::option::Option::Some(log);
    let mut done = ::core::option::Option::Some(done);
    let mut __tame_s_name_2 = ::core::option::Option::None;
    let mut n = ::core::option::Option::None;
    let mut __tame_s_name_4 = ::core::option::Option::None;
    let mut __tame_site1 = ::core::option::Option::None;
    let mut __tame_site2 = ::core::option::Option::None;
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
        "shadow_and_one_place",
        ::core::file!(),
        move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
            let _ = &__tame_s_name_4;
            let _ = &n;
            let _ = &__tame_s_name_2;
            let _ = &done;
            let _ = &log;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "shadow_and_one_place",
                        ::core::file!(),
                        match __tame_state {
                            1 => (::core::line!(), ""),
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
                        let log = ::tame::__private::take(&mut log);
                        let done = ::tame::__private::take(&mut done);
                        let name = String::from("outer");
                        let mut n = 0u32;
                        {
                            slow(__tame_cx.site_event(&mut __tame_site1, ()));
                            fast(__tame_cx.site_event(&mut __tame_site2, ()));
                        }
                        ::tame::__private::put(&mut log, log);
                        ::tame::__private::put(&mut done, done);
                        ::tame::__private::put(&mut __tame_s_name_2, name);
                        ::tame::__private::put(&mut n, n);
                        if __tame_cx.join_ready(::core::line!()) {
                            __tame_at = 1;
                            continue '__tame_resume;
                        }
                        __tame_state = 1;
                        return ::tame::__private::Step::Blocked;
                    }
                    1 => {
                        let log = ::tame::__private::take(&mut log);
                        let done = ::tame::__private::take(&mut done);
                        let name = ::tame::__private::take(&mut __tame_s_name_2);
                        let mut __tame_h2 = ::tame::__private::hold_for(&name);
                        let mut n = ::tame::__private::take(&mut n);
                        if __tame_cx.ending() {
                            return ::tame::__private::Step::Done;
                        }
                        loop {
                            let __tame_t0 = __tame_cx.site_stamp(&__tame_site1);
                            let __tame_t1 = __tame_cx.site_stamp(&__tame_site2);
                            let __tame_t = __tame_t0.min(__tame_t1);
                            if __tame_t == ::core::primitive::u64::MAX {
                                break;
                            }
                            if __tame_t == __tame_t0 {
                                if let ::core::option::Option::Some(__tame_rv) = &__tame_site1 {
                                    if let ::core::option::Option::Some(((), __tame_v)) = __tame_rv
                                        .try_join()
                                    {
                                        n = __tame_v;
                                    }
                                }
                            } else if __tame_t == __tame_t1 {
                                if let ::core::option::Option::Some(__tame_rv) = &__tame_site2 {
                                    if let ::core::option::Option::Some(((), __tame_v)) = __tame_rv
                                        .try_join()
                                    {
                                        n = __tame_v;
                                    }
                                }
                            } else {}
                        }
                        let __tame_v = format!("{name}/{n}");
                        __tame_h2 = ::core::option::Option::Some(name);
                        let name = __tame_v;
                        {
                            tame::asap(__tame_cx.join_event());
                        }
                        ::tame::__private::put(&mut log, log);
                        ::tame::__private::put(&mut done, done);
                        ::tame::__private::put(
                            &mut __tame_s_name_2,
                            ::tame::__private::take(&mut __tame_h2),
                        );
                        ::tame::__private::put(&mut n, n);
                        ::tame::__private::put(&mut __tame_s_name_4, name);
                        if __tame_cx.join_ready(::core::line!()) {
                            __tame_at = 2;
                            continue '__tame_resume;
                        }
                        __tame_state = 2;
                        return ::tame::__private::Step::Blocked;
                    }
                    2 => {
                        let log = ::tame::__private::take(&mut log);
                        let done = ::tame::__private::take(&mut done);
                        let mut __tame_h2 = ::core::option::Option::take(
                            &mut __tame_s_name_2,
                        );
                        let mut n = ::tame::__private::take(&mut n);
                        let name = ::tame::__private::take(&mut __tame_s_name_4);
                        if __tame_cx.ending() {
                            return ::tame::__private::Step::Done;
                        }
                        drop(log);
                        done.trigger((name, n));
                        return ::tame::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
