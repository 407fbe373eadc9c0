fn tamed_player(
    mine: Rendezvous<(), ()>,
    to_peer: Slot,
    from_peer: Slot,
    left: Rc<Cell<u64>>,
) {
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
        "tamed_player",
        ::core::file!(),
        move |__tame_cx: &::tame::__private::Cx| -> ::tame::__private::Step {
            let _ = &left;
            let _ = &from_peer;
            let _ = &to_peer;
            let _ = &mine;
            if __tame_cx.describing() {
                __tame_cx
                    .blocked_at(
                        "tamed_player",
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
                        __tame_at = 1;
                        continue '__tame_resume;
                    }
                    1 => {
                        '__tame_entry: loop {
                            match __tame_cx.poll_rv(&(mine), ::core::line!()) {
                                ::core::option::Option::Some(__tame_t1) => {
                                    '__tame_j1: {
                                        '__tame_j0: {
                                            if let Some(((), ())) = __tame_t1 {
                                                let n = left.get();
                                                if n == 0 {
                                                    from_peer.borrow_mut().take();
                                                    {
                                                        break '__tame_j0;
                                                    };
                                                }
                                                left.set(n - 1);
                                                *to_peer.borrow_mut() = Some(mine.event(()));
                                                if let Some(e) = from_peer.borrow_mut().take() {
                                                    e.trigger(());
                                                }
                                            } else {
                                                {
                                                    break '__tame_j1;
                                                }
                                            };
                                            continue '__tame_entry;
                                        }
                                        return ::tame::__private::Step::Done;
                                    }
                                    return ::tame::__private::Step::Done;
                                }
                                ::core::option::Option::None => {
                                    __tame_state = 1;
                                    return ::tame::__private::Step::Blocked;
                                }
                            }
                        }
                    }
                    _ => ::core::unreachable!(),
                }
            }
        },
    );
}
