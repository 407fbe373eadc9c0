use tame::{Event, tamed};
/// The paper's parallel resolver: every lookup in one `twait! {}`, each answer assigned to its
/// own `a[i]` (the index is evaluated when the event is made).
fn multidns(names: Vec<String>, done: Event<Vec<String>>) {
    let mut done = ::core::option::Option::Some(done);
    let mut a = ::core::option::Option::None;
    let mut __tame_site1 = ::core::option::Option::None;
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
            let _ = &a;
            let _ = &done;
            let _ = &names;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "multidns",
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
                        let done = ::tame::__private::take(&mut done);
                        let mut a = vec![String::new(); names.len()];
                        {
                            for i in 0..names.len() {
                                lookup(
                                    names[i].clone(),
                                    __tame_cx.site_event(&mut __tame_site1, (i,)),
                                );
                            }
                        }
                        ::tame::__private::put(&mut done, done);
                        ::tame::__private::put(&mut a, a);
                        if __tame_cx.join_ready(::core::line!()) {
                            __tame_at = 1;
                            continue '__tame_resume;
                        }
                        __tame_state = 1;
                        return ::tame::__private::Step::Blocked;
                    }
                    1 => {
                        let done = ::tame::__private::take(&mut done);
                        let mut a = ::tame::__private::take(&mut a);
                        if __tame_cx.ending() {
                            return ::tame::__private::Step::Done;
                        }
                        if let ::core::option::Option::Some(__tame_rv) = &__tame_site1 {
                            while let ::core::option::Option::Some(
                                ((__tame_k0,), __tame_v),
                            ) = __tame_rv.try_join()
                            {
                                a[__tame_k0] = __tame_v;
                            }
                        }
                        done.trigger(a);
                        return ::tame::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
