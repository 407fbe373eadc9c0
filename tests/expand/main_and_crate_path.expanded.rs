/// Inside tame-rt itself generated paths start at `crate`.
pub fn ping(e: Event<()>) {
    let mut e = ::core::option::Option::Some(e);
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
    crate::__private::spawn_tamed(
        "ping",
        ::core::file!(),
        move |__tame_cx: &crate::__private::Cx| -> crate::__private::Step {
            let _ = &e;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "ping",
                        ::core::file!(),
                        match __tame_state {
                            1 => (::core::line!(), ""),
                            _ => (0, ""),
                        },
                    );
                return crate::__private::Step::Blocked;
            }
            let mut __tame_at = __tame_state;
            '__tame_resume: loop {
                match __tame_at {
                    0 => {
                        __tame_cx.watch_params(1usize);
                        __tame_cx.watch(&mut e);
                        let e = crate::__private::take(&mut e);
                        {
                            asap(__tame_cx.join_event());
                        }
                        crate::__private::put(&mut e, e);
                        if __tame_cx.join_ready(::core::line!()) {
                            __tame_at = 1;
                            continue '__tame_resume;
                        }
                        __tame_state = 1;
                        return crate::__private::Step::Blocked;
                    }
                    1 => {
                        let e = crate::__private::take(&mut e);
                        if __tame_cx.ending() {
                            return crate::__private::Step::Done;
                        }
                        e.trigger(());
                        return crate::__private::Step::Done;
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
fn main() {
    ::tame::run(move || {
        println!("hello from the loop");
    })
}
