//! Pass 5, emit: the [`Machine`] and its [`Liveness`] → the function's new tokens.
//!
//! Gives the user's signature (made `'static`-bounded, `mut` moved off parameters) over a body
//! that declares one `Option` slot per kept local (types inferred from the closure below), the
//! storage of each `mkevent!(place)` site and the state number, then hands the runtime ONE
//! closure: a `loop` around a `match` on the state. Each state's arm restores the locals kept
//! at its entry, in declaration order, under their own names (a shadowed one under its hidden
//! name), runs its code, and at each jump drops what leaves scope and saves what the target
//! keeps. A jump back to the top of its own state, where nothing restored was shadowed,
//! continues a loop around the state's code instead (`'__tame_entry`), the locals in place.
//! The leading parameters the body never moves out of have no slot: the closure captures them
//! and the code uses them there ([`in_place_params`]).
//!
//! Input:  state `W` of `let d = D; twait!{…}; use(&d);`
//! Output: `W => { let d = take(&mut d); use(&d); return Step::Done; }`
//!
//! Generated names carry `Span::mixed_site()` hygiene, so user code can neither see nor clash
//! with them; a slot takes the name of its local (the user's `d` and the slot `d` are distinct
//! identifiers), so rustc's messages about it name the user's local. Every path is absolute
//! (`::core::…`, `<crate>::__private::…`).

use std::collections::BTreeSet;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Expr, FnArg, Pat, Stmt};

use crate::analyse::{Liveness, live_node, live_seq};
use crate::graph::{BindId, JumpSpec, Machine, Next, Node, visible};
use crate::parse::Input;

pub fn emit(input: &Input, m: &Machine, lv: &Liveness) -> TokenStream {
    let e = Emitter::new(input, m, lv);
    e.function()
}

struct Emitter<'a> {
    input: &'a Input,
    m: &'a Machine,
    lv: &'a Liveness,
    slots: Vec<Option<syn::Ident>>,
    /// Parameters used in place: captured by the closure as they are, never moved to a slot
    /// and back (see [`in_place_params`]).
    in_place: BTreeSet<BindId>,
    /// The state being emitted.
    current: std::cell::Cell<usize>,
    /// Late bindings definitely initialised at each state's entry.
    init: Vec<BTreeSet<BindId>>,
    /// Late bindings definitely initialised where the emitter is in the current state.
    cur: std::cell::RefCell<BTreeSet<BindId>>,
    /// Bindings whose slot the emitted code uses.
    used: std::cell::RefCell<BTreeSet<BindId>>,
    /// Shadowed bindings that are locals under their hidden name where the emitter is.
    hidden_now: std::cell::RefCell<BTreeSet<BindId>>,
    /// Labels made so far (each dispatched jump has its own).
    nlabel: std::cell::Cell<usize>,
    /// Bindings the macro does not keep (the body may move them) that are locals of the
    /// state where the emitter is and are not moved on any path to here: a jump or `return`
    /// can drop them explicitly, in their place among the others.
    unmoved: std::cell::RefCell<BTreeSet<BindId>>,
    /// Such bindings that are locals of the state here (restored at its entry or declared
    /// since), moved or not.
    present: std::cell::RefCell<BTreeSet<BindId>>,
    /// Bindings with a *hold* in scope where the emitter is: `let mut __tame_hN =
    /// hold_for(&x);`, declared right after `x`, so that when `x` is shadowed (or stashed for
    /// a pattern that shadows it) its value moves into the hold, which Rust drops in `x`'s
    /// place among the others.
    holds: std::cell::RefCell<BTreeSet<BindId>>,
    /// Bindings the current state's code may shadow while they are still needed.
    shadowable: std::cell::RefCell<BTreeSet<BindId>>,
    /// What the current state restores at its entry, if a jump back to that entry may skip
    /// the saves and restores: every restore is a plain `let x = take(&mut x);` of a binding
    /// visible under its own name (see [`Self::back_edge`]).
    loop_entry: std::cell::RefCell<Option<BTreeSet<BindId>>>,
    /// Whether some jump of the current state went back to its entry in place.
    looped: std::cell::Cell<bool>,
}

/// What the emitter knows at a point of a state's code, saved and restored around branches:
/// `cur`, `hidden_now`, `unmoved`, `present` and `holds`.
type Snapshot = (
    BTreeSet<BindId>,
    BTreeSet<BindId>,
    BTreeSet<BindId>,
    BTreeSet<BindId>,
    BTreeSet<BindId>,
);

fn mixed(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

/// Whether state `i` restores `b` at its entry (so every jump to `i` saves it): `b` is live
/// (or kept) there and, if declared without a value, initialised on every way in.
fn restores(m: &Machine, lv: &Liveness, init: &[BTreeSet<BindId>], i: usize, b: BindId) -> bool {
    lv.live_in[i].contains(&b) && (!m.binds[b].late || init[i].contains(&b))
}

/// A label of the macro's own, out of reach of the user's code (mixed site).
fn label(ident: syn::Ident) -> syn::Lifetime {
    syn::Lifetime {
        apostrophe: Span::mixed_site(),
        ident,
    }
}

/// The label of the loop around a state's code that its back edges continue.
fn entry_label() -> syn::Lifetime {
    label(mixed("__tame_entry"))
}

/// The label of the loop around the `match` on the state, which a jump continues.
fn resume_label() -> syn::Lifetime {
    label(mixed("__tame_resume"))
}

impl<'a> Emitter<'a> {
    fn new(input: &'a Input, m: &'a Machine, lv: &'a Liveness) -> Self {
        let init = crate::analyse::initialised(m);
        let in_place = in_place_params(input, m);
        // A slot for each binding some state restores: live (or kept) at its entry and, if
        // declared without a value, initialised there.
        let reachable = m.reachable();
        let mut saved: BTreeSet<BindId> = BTreeSet::new();
        for (i, live) in lv.live_in.iter().enumerate().filter(|&(i, _)| reachable[i]) {
            saved.extend(live.iter().filter(|&&b| restores(m, lv, &init, i, b)));
        }
        saved.extend(m.params.iter().copied());
        saved.retain(|b| !in_place.contains(b));
        // And one for each binding an `if let` or a `match` arm stashes while it shadows it.
        for st in &m.states {
            stashed_in(&st.body, false, &mut saved);
        }
        let mut slots = vec![None; m.binds.len()];
        for &b in &saved {
            let name = m.binds[b].ident.to_string();
            let dup = saved.iter().filter(|&&o| m.binds[o].ident == name).count() > 1;
            let ours = name.starts_with("__tame_");
            let name = name.trim_start_matches("__tame_");
            // Located at the user's binding, so a borrow kept across a wait is reported there.
            let span = Span::mixed_site().located_at(m.binds[b].ident.span());
            slots[b] = Some(if dup {
                format_ident!("__tame_s_{}_{}", name, b, span = span)
            } else if ours {
                format_ident!("__tame_s_{}", name, span = span)
            } else {
                // The user's own name, made distinct from the user's `x` by hygiene (mixed
                // site): rustc's messages about the slot then name `x`, not an internal.
                format_ident!("{}", name, span = span)
            });
        }
        Emitter {
            input,
            m,
            lv,
            slots,
            in_place,
            current: std::cell::Cell::new(0),
            init,
            cur: Default::default(),
            unmoved: Default::default(),
            present: Default::default(),
            holds: Default::default(),
            shadowable: Default::default(),
            used: Default::default(),
            hidden_now: Default::default(),
            nlabel: Default::default(),
            loop_entry: Default::default(),
            looped: Default::default(),
        }
    }

    /// [`restores`] for this machine.
    fn restores(&self, i: usize, b: BindId) -> bool {
        restores(self.m, self.lv, &self.init, i, b)
    }

    /// Whether state `i`'s entry takes `b` out of its slot: what a jump there saves, and at the
    /// call's start a parameter its code names, live or not (one assigned before it is read
    /// then drops the argument at the assignment, as in Rust; left in its slot, the argument
    /// would stay behind).
    fn takes_at_entry(&self, i: usize, b: BindId) -> bool {
        self.restores(i, b)
            || (i == 0 && self.m.params.contains(&b) && self.lv.mentioned[0].contains(&b))
    }

    /// What a jump to state `t` from where `scope` is in scope saves: what `t` restores, of
    /// `scope`.
    fn saved_by(&self, t: usize, scope: &[BindId]) -> Vec<BindId> {
        self.lv.live_in[t]
            .iter()
            .copied()
            .filter(|&b| scope.contains(&b) && self.restores(t, b) && !self.in_place.contains(&b))
            .collect()
    }

    fn krate(&self) -> &syn::Path {
        &self.input.opts.krate
    }

    /// The slot of `b`, noted as used: only used slots are declared (an unused one would
    /// have no type).
    fn slot(&self, b: BindId) -> &syn::Ident {
        self.used.borrow_mut().insert(b);
        self.slots[b].as_ref().expect("a live binding has a slot")
    }

    /// Where every state that restores `b` is under `#[cfg]`s, the slot is declared under the
    /// same condition, so that a configuration without those states has no slot left whose
    /// type nothing gives: `#[cfg(any(all(p, …), …))]`, or nothing.
    fn slot_cfg(&self, b: BindId) -> TokenStream {
        let mut conds: Vec<String> = Vec::new();
        let mut preds = Vec::new();
        for (i, st) in self.m.states.iter().enumerate() {
            if !self.restores(i, b) {
                continue;
            }
            if st.cfg.is_empty() {
                return TokenStream::new();
            }
            let inner: Vec<&TokenStream> = st
                .cfg
                .iter()
                .filter_map(|a| match &a.meta {
                    syn::Meta::List(l) => Some(&l.tokens),
                    _ => None,
                })
                .collect();
            let pred = quote!(all(#(#inner),*));
            if !conds.contains(&pred.to_string()) {
                conds.push(pred.to_string());
                preds.push(pred);
            }
        }
        if preds.is_empty() {
            return TokenStream::new();
        }
        quote!(#[cfg(any(#(#preds),*))])
    }

    fn snapshot(&self) -> Snapshot {
        (
            self.cur.borrow().clone(),
            self.hidden_now.borrow().clone(),
            self.unmoved.borrow().clone(),
            self.present.borrow().clone(),
            self.holds.borrow().clone(),
        )
    }

    fn restore(&self, s: &Snapshot) {
        *self.cur.borrow_mut() = s.0.clone();
        *self.hidden_now.borrow_mut() = s.1.clone();
        *self.unmoved.borrow_mut() = s.2.clone();
        *self.present.borrow_mut() = s.3.clone();
        *self.holds.borrow_mut() = s.4.clone();
    }

    /// Code that may move `moves` runs here.
    fn track_moves(&self, moves: &[BindId]) {
        let mut unmoved = self.unmoved.borrow_mut();
        for b in moves {
            unmoved.remove(b);
        }
    }

    /// `defs` are declared with a value, or `kills` assigned on every path, here: they hold a
    /// value, whatever happened to the old one.
    fn track_defs(&self, defs: &[BindId]) {
        for &b in defs {
            if self.m.binds[b].scoped && !self.m.keep.contains(&b) {
                self.present.borrow_mut().insert(b);
                self.unmoved.borrow_mut().insert(b);
            }
        }
    }

    /// Holds for `defs`, just declared with a value, that the state's code may shadow while
    /// they are still needed.
    fn declare_holds(&self, defs: &[BindId]) -> TokenStream {
        self.declare_holds_of(defs, false)
    }

    /// [`Self::declare_holds`]; `restored`: `defs` were just restored at a state's entry, so a
    /// late one holds a value too (a state restores a late local only where it is assigned)
    /// and gets its hold here, right after it, like any other. Without it, the hold would be
    /// made where the code shadows the local, after locals declared since, and a `return`
    /// that leaves the drops to Rust would drop the shadowed value before them.
    fn declare_holds_of(&self, defs: &[BindId], restored: bool) -> TokenStream {
        let krate = self.krate();
        let mut out = TokenStream::new();
        for &b in defs {
            let bind = &self.m.binds[b];
            if (bind.late && !restored) || !self.shadowable.borrow().contains(&b) {
                continue;
            }
            let (id, h) = (&bind.ident, &bind.hidden);
            let cfg = self.cfg(b);
            out.extend(quote!(#cfg let mut #h = #krate::__private::hold_for(&#id);));
            self.holds.borrow_mut().insert(b);
        }
        out
    }

    /// After statement `c`: what it declared with a value or assigned holds one.
    fn track_code(&self, c: &crate::graph::Code) {
        if c.decl_only {
            // A new binding without a value: what the name held is not this binding's.
            self.track_moves(&c.defs);
        } else {
            self.track_defs(&c.defs);
        }
        self.track_defs(&c.kills);
    }

    /// `#[cfg]` attributes binding `b` exists under.
    fn cfg(&self, b: BindId) -> TokenStream {
        let attrs = &self.m.binds[b].cfg;
        quote!(#(#attrs)*)
    }

    /// The name of `b` where `scope` is in scope: its own if it is visible there, else its
    /// hidden name (it is shadowed, but still alive until its own scope ends).
    /// A hidden binding's value is in its hold (`Option`), taken out here.
    fn value_in(&self, b: BindId, scope: &[BindId], at: Option<Span>) -> TokenStream {
        let bind = &self.m.binds[b];
        if !self.hidden_now.borrow().contains(&b) && visible(&self.m.binds, scope).contains(&b) {
            let mut id = bind.ident.clone();
            // At a `twait!`, the local is used (moved into its slot) there: a local the body
            // moved before is reported at the wait ("value used here after move").
            if let Some(at) = at {
                id.set_span(id.span().located_at(at));
            }
            quote!(#id)
        } else {
            let krate = self.krate();
            let h = &bind.hidden;
            quote!(#krate::__private::take(&mut #h))
        }
    }

    fn function(&self) -> TokenStream {
        let func = &self.input.func;
        let krate = self.krate();
        let mut sig = func.sig.clone();
        // `mut` on a parameter only matters inside the state machine, where it is restored.
        let mut param_ids = self.m.params.iter();
        for arg in sig.inputs.iter_mut() {
            match arg {
                FnArg::Receiver(r) => {
                    param_ids.next();
                    r.mutability = None
                }
                // `_` is kept, under a hidden name, to the end of the call.
                FnArg::Typed(pt) if matches!(&*pt.pat, Pat::Wild(_)) => {
                    let b = *param_ids.next().expect("wild param binding");
                    let id = &self.m.binds[b].ident;
                    *pt.pat = syn::parse_quote!(#id);
                }
                FnArg::Typed(pt) => {
                    let mut kept_in_place = false;
                    for _ in crate::syntax::pat_bindings(&pt.pat) {
                        let b = param_ids.next().expect("param binding");
                        kept_in_place = self.in_place.contains(b);
                    }
                    // (One used in place is the closure's capture, mutable if it says so.)
                    if !kept_in_place {
                        strip_mut(&mut pt.pat)
                    }
                }
            }
        }
        // The closure outlives the call, so every type parameter must be `'static`. The bound
        // goes where the user bounded the parameter (a `where` clause or inline), so that its
        // bounds stay in one place.
        let in_where: Vec<syn::Ident> = sig
            .generics
            .where_clause
            .iter()
            .flat_map(|w| &w.predicates)
            .filter_map(|p| match p {
                syn::WherePredicate::Type(t) => match &t.bounded_ty {
                    syn::Type::Path(tp) => tp.path.get_ident().cloned(),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let static_bound: syn::TypeParamBound = syn::parse_quote!('static);
        // `x: impl Trait` is a type parameter too.
        for arg in sig.inputs.iter_mut() {
            if let FnArg::Typed(pt) = arg
                && let syn::Type::ImplTrait(it) = &mut *pt.ty
                && !it
                    .bounds
                    .iter()
                    .any(|b| matches!(b, syn::TypeParamBound::Lifetime(_)))
            {
                it.bounds.push(static_bound.clone());
            }
        }
        for tp in sig.generics.type_params_mut() {
            if !in_where.contains(&tp.ident) {
                tp.bounds.push(static_bound.clone());
            }
        }
        if let Some(w) = &mut sig.generics.where_clause {
            for p in w.predicates.iter_mut() {
                if let syn::WherePredicate::Type(t) = p
                    && matches!(&t.bounded_ty, syn::Type::Path(tp) if tp.path.get_ident().is_some_and(|i| in_where.contains(i)))
                {
                    t.bounds.push(static_bound.clone());
                }
            }
        }

        let mut decls = TokenStream::new();
        for item in &self.m.items {
            decls.extend(quote!(#item));
        }
        let mut param_iter = self.m.params.iter();
        for arg in &func.sig.inputs {
            match arg {
                FnArg::Receiver(r) => {
                    let b = *param_iter.next().expect("receiver binding");
                    let slot = self.slot(b);
                    let tok = r.self_token;
                    decls.extend(quote!(let mut #slot = ::core::option::Option::Some(#tok);));
                }
                FnArg::Typed(pt) if matches!(&*pt.pat, Pat::Wild(_)) => {
                    let b = *param_iter.next().expect("wild param binding");
                    let slot = self.slot(b);
                    let id = &self.m.binds[b].ident;
                    decls.extend(quote!(let mut #slot = ::core::option::Option::Some(#id);));
                }
                FnArg::Typed(pt) => {
                    for _ in crate::syntax::pat_bindings(&pt.pat) {
                        let b = *param_iter.next().expect("param binding");
                        if self.in_place.contains(&b) {
                            continue;
                        }
                        let slot = self.slot(b);
                        let id = &self.m.binds[b].ident;
                        decls.extend(quote!(let mut #slot = ::core::option::Option::Some(#id);));
                    }
                }
            }
        }
        // A state no run reaches (code after a `return`) is not emitted: its locals may have
        // no slot a reachable state ever fills, whose type rustc could infer.
        let reachable = self.m.reachable();
        let arms: Vec<TokenStream> = (0..self.m.states.len())
            .filter(|&i| reachable[i])
            .map(|i| self.state(i))
            .collect();
        let used = self.used.borrow().clone();
        for (b, slot) in self.slots.iter().enumerate() {
            if let Some(slot) = slot
                && !self.m.params.contains(&b)
                && used.contains(&b)
            {
                let cfg = self.cfg(b);
                let used_under = self.slot_cfg(b);
                decls
                    .extend(quote!(#cfg #used_under let mut #slot = ::core::option::Option::None;));
            }
        }
        // Likewise, the storage of a `mkevent!(place)` site only in such a state.
        let mut named = std::collections::HashSet::new();
        for a in &arms {
            crate::syntax::idents(a.clone(), &mut named);
        }
        for (site, cfg) in self.m.sites.iter().zip(&self.m.site_cfg) {
            if named.contains(&site.to_string()) {
                decls.extend(quote!(#(#cfg)* let mut #site = ::core::option::Option::None;));
            }
        }
        let state = mixed("__tame_state");
        let at = mixed("__tame_at");
        let cx = mixed("__tame_cx");
        let resume = resume_label();
        let name = func.sig.ident.to_string();
        // Asked where it waits (`tame::blocked_locations`), the call answers from the static
        // site of the wait its state stands at, and changes nothing.
        let sites = self.wait_sites();
        let describe = {
            let arms = sites.iter().map(|(t, line, what)| {
                let t = Literal::u32_unsuffixed(*t as u32);
                quote!(#t => (#line, #what),)
            });
            quote! {
                if #cx.describing() {
                    #cx.blocked_at(#name, ::core::file!(), match #state {
                        #(#arms)*
                        _ => (0, ""),
                    });
                    return #krate::__private::Step::Blocked;
                }
            }
        };
        // The closure's captures are dropped in the order it first names them, so it names
        // them first, newest binding first: when the call finishes, ends or panics, the
        // parameters used in place go after the locals of the state it was in (Rust drops
        // parameters last); and a call abandoned while blocked (its run unwound) drops the
        // locals its slots hold newest first too, then its parameters.
        let mut capture_order = TokenStream::new();
        for b in (0..self.m.binds.len()).rev() {
            if self.in_place.contains(&b) {
                let id = &self.m.binds[b].ident;
                capture_order.extend(quote!(let _ = &#id;));
            } else if let Some(slot) = &self.slots[b]
                && used.contains(&b)
            {
                let cfg = self.cfg(b);
                let used_under = if self.m.params.contains(&b) {
                    TokenStream::new()
                } else {
                    self.slot_cfg(b)
                };
                capture_order.extend(quote!(#cfg #used_under let _ = &#slot;));
            }
        }
        let attrs = &func.attrs;
        let vis = &func.vis;
        quote! {
            #(#attrs)*
            #vis #sig {
                #decls
                let mut #state: u32 = 0;
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
                #krate::__private::spawn_tamed(#name, ::core::file!(), move |#cx: &#krate::__private::Cx| -> #krate::__private::Step {
                    #capture_order
                    #describe
                    let mut #at = #state;
                    #resume: loop {
                        match #at {
                            #(#arms)*
                            _ => ::core::unreachable!(),
                        }
                    }
                });
            }
        }
    }

    /// One state's arm: its items, then every binding in scope that is live or kept, restored
    /// in declaration order (so Rust drops them in reverse declaration order wherever the arm
    /// ends: a jump, a `return`, a panic), then its code.
    fn state(&self, i: usize) -> TokenStream {
        let st = &self.m.states[i];
        let krate = self.krate();
        let mut restores = TokenStream::new();
        let mut shadowable = BTreeSet::new();
        stashed_in(&st.body, true, &mut shadowable);
        *self.shadowable.borrow_mut() = shadowable;
        self.holds.borrow_mut().clear();
        let vis = visible(&self.m.binds, &st.scope);
        // A jump back to this state's entry can stay in the arm when its entry only restores
        // bindings under their own names (no hidden one, no hold, no declaration without a
        // value): the restores then make the same locals the jump would save.
        let mut in_place = i != 0;
        let mut restored_here = BTreeSet::new();
        for &b in st.scope.iter().filter(|b| !self.in_place.contains(b)) {
            let bind = &self.m.binds[b];
            let cfg = self.cfg(b);
            let live = self.takes_at_entry(i, b);
            if live {
                restored_here.insert(b);
            }
            if (live && !vis.contains(&b)) || (!live && self.lv.mentioned[i].contains(&b)) {
                in_place = false;
            }
            if !vis.contains(&b) {
                if live {
                    let slot = self.slot(b);
                    let h = &bind.hidden;
                    restores.extend(quote! {
                        #cfg let mut #h = ::core::option::Option::take(&mut #slot);
                    });
                }
                continue;
            }
            let id = &bind.ident;
            let mutability = bind.mutable.then(|| quote!(mut));
            let ty = bind.ty.as_ref().map(|t| quote!(: #t));
            if live {
                let slot = self.slot(b);
                restores.extend(quote! {
                    #cfg let #mutability #id #ty = #krate::__private::take(&mut #slot);
                });
                restores.extend(self.declare_holds_of(&[b], true));
            } else if self.lv.mentioned[i].contains(&b) {
                // Named only by waiting statements under `#[cfg]`: declared under the same
                // condition (else, configured out, nothing would give it a type).
                let only = match mention_cfgs(&st.body, b) {
                    Some(preds) if !preds.is_empty() => quote!(#[cfg(any(#(#preds),*))]),
                    _ => TokenStream::new(),
                };
                restores.extend(quote!(#cfg #only let #mutability #id #ty;));
                if self.m.params.contains(&b) {
                    // A parameter assigned here before it is read: its slot may still hold
                    // the argument (nothing took it yet), which goes now.
                    let slot = self.slot(b);
                    let arg = quote!(::core::option::Option::take(&mut #slot));
                    restores.extend(quote!(#cfg #only ::core::mem::drop(#arg);));
                }
            }
        }
        // A binding the code may shadow or stash is, after that, another local of the same
        // name (taken back from its slot or hold), not the one the entry restored. (Only such
        // a binding gets a hold, so none of these has one.)
        in_place &= restored_here.is_disjoint(&self.shadowable.borrow());
        *self.loop_entry.borrow_mut() = in_place.then_some(restored_here);
        self.looped.set(false);
        self.current.set(i);
        *self.cur.borrow_mut() = self.init[i].clone();
        // What was restored was saved by every way in: it holds a value.
        let restored: BTreeSet<BindId> = st
            .scope
            .iter()
            .copied()
            .filter(|&b| {
                self.m.binds[b].scoped && !self.m.keep.contains(&b) && self.takes_at_entry(i, b)
            })
            .collect();
        *self.present.borrow_mut() = restored.clone();
        *self.unmoved.borrow_mut() = restored;
        *self.hidden_now.borrow_mut() = st
            .scope
            .iter()
            .copied()
            .filter(|&b| !vis.contains(&b) && self.restores(i, b))
            .collect();
        let body = self.seq(&st.body);
        let n = Literal::u32_unsuffixed(i as u32);
        let cfg = &st.cfg;
        let items = &st.items;
        let cx = mixed("__tame_cx");
        // Cancellation rule 1: the call watches its `Event` parameters from its start, and
        // ends, when they all lost their receivers, in the state it waits in: its locals are
        // restored and dropped, newest first, by the return.
        // Rule 2: a `#[tether]` parameter ties the call to its lifeline from the start.
        let event_params = self.event_params();
        let tethers = self.tether_params();
        let mut watch = TokenStream::new();
        if i == 0 && !event_params.is_empty() {
            let slots = event_params.iter().map(|&b| self.slot(b));
            let n = event_params.len();
            watch.extend(quote!(#cx.watch_params(#n); #(#cx.watch(&mut #slots);)*));
        }
        if i == 0 {
            let slots = tethers.iter().map(|&b| self.slot(b));
            watch.extend(quote!(#(#cx.tether_slot(&#slots);)*));
        }
        let may_end = !event_params.is_empty() || !tethers.is_empty() || self.input.exits;
        let ending = if may_end && self.wait_sites().iter().any(|s| s.0 == i) {
            quote!(if #cx.ending() { return #krate::__private::Step::Done; })
        } else {
            TokenStream::new()
        };
        if self.looped.get() {
            // Input:  while let Some(x) = twait!(r) { … }     (state 1 is the wait)
            // Output: 1 => { let r = take(&mut r); '__tame_entry: loop { match poll(&r) {
            //           Some(t) => { …; continue '__tame_entry; }   (was: save r; state = 1)
            //           None => { put(&mut r, r); return Blocked; } } } }
            let entry = entry_label();
            return quote!(#(#cfg)* #n => { #(#items)* #watch #restores #entry: loop { #ending #body } });
        }
        quote!(#(#cfg)* #n => { #(#items)* #watch #restores #ending #body })
    }

    /// The `#[tether]` parameters (cancellation rule 2).
    fn tether_params(&self) -> Vec<BindId> {
        let mut out = Vec::new();
        let mut ids = self.m.params.iter();
        for (i, arg) in self.input.func.sig.inputs.iter().enumerate() {
            let n = match arg {
                FnArg::Receiver(_) => 1,
                FnArg::Typed(pt) => match &*pt.pat {
                    Pat::Wild(_) => 1,
                    p => crate::syntax::pat_bindings(p).len(),
                },
            };
            let bs: Vec<BindId> = ids.by_ref().take(n).copied().collect();
            if self.input.tethers.contains(&i) && bs.len() == 1 {
                out.push(bs[0]);
            }
        }
        out
    }

    /// The `Event` parameters cancellation rule 1 watches (none with `cancel = false`).
    fn event_params(&self) -> Vec<BindId> {
        if !self.input.opts.cancel {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut ids = self.m.params.iter();
        for arg in &self.input.func.sig.inputs {
            match arg {
                FnArg::Receiver(_) => {
                    ids.next();
                }
                FnArg::Typed(pt) => {
                    let n = match &*pt.pat {
                        Pat::Wild(_) => 1,
                        p => crate::syntax::pat_bindings(p).len(),
                    };
                    let bs: Vec<BindId> = ids.by_ref().take(n).copied().collect();
                    if is_event_type(&pt.ty) && bs.len() == 1 {
                        out.push(bs[0]);
                    }
                }
            }
        }
        out
    }

    /// Each wait the call may block at: the state it resumes in, its line and description.
    fn wait_sites(&self) -> Vec<(usize, TokenStream, String)> {
        fn walk(nodes: &[Node], out: &mut Vec<(usize, TokenStream, String)>) {
            for n in nodes {
                match n {
                    Node::Join {
                        target, line, what, ..
                    } => out.push((*target, line.clone(), what.clone())),
                    Node::Park { target, line, .. } => {
                        out.push((*target, line.clone(), String::new()))
                    }
                    Node::If { then, els, .. } | Node::Cfg { then, els, .. } => {
                        walk(then, out);
                        walk(els, out);
                    }
                    Node::Match { arms, .. } => arms.iter().for_each(|a| walk(&a.body, out)),
                    Node::Block(b) => walk(b, out),
                    Node::Code(_) | Node::Jump { .. } | Node::Done { .. } => {}
                }
            }
        }
        let reachable = self.m.reachable();
        let mut out = Vec::new();
        for (i, st) in self.m.states.iter().enumerate() {
            if reachable[i] {
                walk(&st.body, &mut out);
            }
        }
        out.sort_by_key(|s| s.0);
        out.dedup_by_key(|s| s.0);
        out
    }

    fn seq(&self, nodes: &[Node]) -> TokenStream {
        let mut afters = vec![BTreeSet::new(); nodes.len()];
        let mut l = BTreeSet::new();
        for (j, n) in nodes.iter().enumerate().rev() {
            afters[j] = l.clone();
            l = live_node(n, l, self.lv);
        }
        self.seq_rest(nodes, &afters)
    }

    /// `nodes` with the live set after each. A statement whose jumps must first leave it
    /// (see `dispatch`), when it is not a `let`, takes the rest of the sequence inside its
    /// labeled block: only the jumps come out of the block (every path of the rest ends in a
    /// jump or a return of its own), so rustc sees that the rest never runs after one.
    fn seq_rest(&self, nodes: &[Node], afters: &[BTreeSet<BindId>]) -> TokenStream {
        let mut out = TokenStream::new();
        for (i, (n, a)) in nodes.iter().zip(afters).enumerate() {
            if let Node::Code(c) = n
                && c.jumps.iter().any(|j| j.shadowed)
            {
                out.extend(self.dispatch(c, a, &nodes[i + 1..], &afters[i + 1..]));
                return out;
            }
            out.extend(self.node(n, a));
        }
        out
    }

    /// Saves what `target` needs. A binding shadowed here is not saved: it was left in (or
    /// stashed into) its slot before it was shadowed.
    fn saves(&self, target: Next, vis: &[BindId]) -> TokenStream {
        self.saves_at(target, vis, None)
    }

    /// `at`: where the save is reported (the `twait!`), if not at the binding.
    /// What `target` restores: its live (or kept) bindings in `scope`, the late ones only if
    /// they are initialised at its entry on every path. A late local initialised on some paths
    /// only is not saved: it is dropped at the jump (the macro cannot keep a value that may
    /// not be there).
    fn saves_at(&self, target: Next, scope: &[BindId], at: Option<Span>) -> TokenStream {
        let Next::Goto(t) = target else {
            return TokenStream::new();
        };
        let mut out = TokenStream::new();
        for b in self.saved_by(t, scope) {
            let slot = self.slot(b);
            let id = self.value_in(b, scope, at);
            let sp =
                Span::mixed_site().located_at(at.unwrap_or_else(|| self.m.binds[b].ident.span()));
            let krate = self.krate();
            let cfg = self.cfg(b);
            out.extend(quote_spanned!(sp=> #cfg #krate::__private::put(&mut #slot, #id);));
        }
        out
    }

    /// Of `live`, what has a value to stash here: a late local only once it is assigned.
    fn stashable(&self, mut live: BTreeSet<BindId>) -> BTreeSet<BindId> {
        let cur = self.cur.borrow();
        live.retain(|b| !self.m.binds[*b].late || cur.contains(b));
        live
    }

    /// Moves the bindings of `stash` that are still needed (`live`) into their slots, just
    /// before a pattern shadows them.
    fn stash(&self, stash: &[BindId], live: &BTreeSet<BindId>) -> TokenStream {
        let mut out = TokenStream::new();
        for b in stash {
            if self.hidden_now.borrow().contains(b) {
                continue; // already in its hold
            }
            if live.contains(b) && self.holds.borrow().contains(b) {
                let bind = &self.m.binds[*b];
                let (id, h) = (&bind.ident, &bind.hidden);
                let cfg = self.cfg(*b);
                out.extend(quote!(#cfg #h = ::core::option::Option::Some(#id);));
            } else if live.contains(b) {
                let slot = self.slot(*b);
                let id = &self.m.binds[*b].ident;
                let krate = self.krate();
                let cfg = self.cfg(*b);
                out.extend(quote!(#cfg #krate::__private::put(&mut #slot, #id);));
            }
        }
        out
    }

    /// Takes what [`Self::stash`] stored back into locals at the top of a branch: under the
    /// user's name where the branch does not shadow it (`shadowed` false), else under its hidden
    /// name. Always, so that nothing stays behind in a slot.
    fn take_back(
        &self,
        stash: &[BindId],
        stashed: &BTreeSet<BindId>,
        shadowed: &[BindId],
        branch: &[Node],
    ) -> TokenStream {
        let krate = self.krate();
        let mut out = TokenStream::new();
        for b in stash {
            if self.hidden_now.borrow().contains(b) {
                continue; // it was in its hold before: it stays there
            }
            if stashed.contains(b) && self.holds.borrow().contains(b) {
                // In its hold, in its place among the others: taken out only by a branch
                // that names it.
                let bind = &self.m.binds[*b];
                if shadowed.contains(b) || !mentions(branch, *b) {
                    self.hidden_now.borrow_mut().insert(*b);
                } else {
                    let (id, h) = (&bind.ident, &bind.hidden);
                    let mutability = bind.mutable.then(|| quote!(mut));
                    let cfg = self.cfg(*b);
                    out.extend(
                        quote!(#cfg let #mutability #id = #krate::__private::take(&mut #h);),
                    );
                }
            } else if stashed.contains(b) {
                let bind = &self.m.binds[*b];
                let slot = self.slot(*b);
                let cfg = self.cfg(*b);
                if shadowed.contains(b) {
                    let h = &bind.hidden;
                    self.hidden_now.borrow_mut().insert(*b);
                    out.extend(quote!(#cfg let mut #h = ::core::option::Option::take(&mut #slot);));
                } else {
                    let id = &bind.ident;
                    let mutability = bind.mutable.then(|| quote!(mut));
                    out.extend(
                        quote!(#cfg let #mutability #id = #krate::__private::take(&mut #slot);),
                    );
                }
            }
        }
        out
    }

    /// A jump to another state: what leaves scope here is dropped first (newest first, as far
    /// as the macro knows the values are still there: kept bindings), then what `target`
    /// needs is saved. So a guard borrowing a kept local is gone before that local is saved,
    /// as in Rust, where the guard's scope ends first.
    fn jump(&self, target: Next, vis: &[BindId], init: &BTreeSet<BindId>) -> TokenStream {
        let krate = self.krate();
        let mut drops = TokenStream::new();
        let staying: &[BindId] = match target {
            Next::Goto(t) => &self.m.states[t].scope,
            Next::Done => &[],
        };
        let visible = visible(&self.m.binds, vis);
        let hidden = self.hidden_now.borrow();
        for &b in vis.iter().rev().filter(|b| !staying.contains(b)) {
            let bind = &self.m.binds[b];
            if self.in_place.contains(&b) {
                // Dropped with the closure, after what this jump drops (they come first).
                continue;
            }
            if bind.late && !init.contains(&b) {
                continue; // nothing in it yet
            }
            if !bind.scoped {
                // A temporary of the macro's (the value of a `twait!(r)`, an operand), used
                // once by the statement it stands in: left to Rust, and no reason to stop.
                continue;
            }
            let id = if hidden.contains(&b) {
                &bind.hidden
            } else if visible.contains(&b) {
                &bind.ident
            } else {
                break;
            };
            if !self.m.keep.contains(&b) {
                if !self.present.borrow().contains(&b) {
                    // Not a local of this arm (it was dropped at a wait, not being needed).
                    continue;
                }
                if !self.unmoved.borrow().contains(&b) {
                    // Maybe moved: Rust drops it at the end of the arm, with what is older.
                    break;
                }
            }
            let cfg = self.cfg(b);
            drops.extend(quote!(#cfg ::core::mem::drop(#id);));
        }
        drop(hidden);
        if self.back_edge(target, vis) {
            let entry = entry_label();
            return quote!(#drops continue #entry;);
        }
        let saves = self.saves(target, vis);
        let saves = quote!(#drops #saves);
        match target {
            Next::Goto(t) => {
                // The state this run goes on in, a local of the run: the state number the call
                // keeps is written only where it blocks, so that the optimiser sees which arm
                // comes next and can go there straight.
                let at = mixed("__tame_at");
                let resume = resume_label();
                let t = Literal::u32_unsuffixed(t as u32);
                quote!(#saves #at = #t; continue #resume;)
            }
            Next::Done => quote!(#saves return #krate::__private::Step::Done;),
        }
    }

    /// Whether a jump to `target`, from where `vis` is in scope, goes back to the entry of the
    /// state being emitted with every binding it would save in the very local that the
    /// state's entry restored (not shadowed, not in a hold): then saving and restoring them
    /// is moving each value out of its local and back, and the jump can instead continue the
    /// loop around the state's code (its `'__tame_entry`). Nothing else differs: what leaves
    /// scope is dropped first, as by any jump, and the locals of the state's code end with
    /// the loop's body as they would with the arm.
    fn back_edge(&self, target: Next, vis: &[BindId]) -> bool {
        let Next::Goto(t) = target else {
            return false;
        };
        let entry = self.loop_entry.borrow();
        let Some(restored) = entry.as_ref().filter(|_| t == self.current.get()) else {
            return false;
        };
        let visible = visible(&self.m.binds, vis);
        let hidden = self.hidden_now.borrow();
        let saved: BTreeSet<BindId> = self.saved_by(t, vis).into_iter().collect();
        let in_place = saved == *restored
            && saved
                .iter()
                .all(|b| visible.contains(b) && !hidden.contains(b));
        if in_place {
            self.looped.set(true);
        }
        in_place
    }

    /// A statement kept as written whose jumps leave from under bindings of its own (which
    /// may shadow what a jump saves, or borrow it): each jump first leaves the statement by a
    /// `break` out of a labeled block of its own, so those bindings are dropped and every
    /// name means again what it meant before the statement; the jump's code comes right after
    /// its block. The rest of the sequence goes inside the innermost block with the
    /// statement: every path of it ends in a jump or a return, so rustc sees that only the
    /// jumps come out of each block, each with what it moved or assigned on its way.
    ///
    /// Input:  `if let Some(cur) = item { continue; }  rest`     (an outer `cur` is kept)
    /// Output: `'__tame_j1: { if let Some(cur) = item { break '__tame_j1; } rest }
    ///          <save cur>; state = H; continue`
    fn dispatch(
        &self,
        c: &crate::graph::Code,
        after: &BTreeSet<BindId>,
        rest: &[Node],
        rest_after: &[BTreeSet<BindId>],
    ) -> TokenStream {
        self.track_moves(&c.moves);
        let before = self.snapshot();
        let labels: Vec<syn::Lifetime> = c
            .jumps
            .iter()
            .map(|_| {
                let n = self.nlabel.get();
                self.nlabel.set(n + 1);
                label(format_ident!("__tame_j{}", n, span = Span::mixed_site()))
            })
            .collect();
        let mut stmt = c.stmt.clone();
        let head = match &mut stmt {
            // Input:  let PAT = INIT else { DIV };     (shadowing `x`, a kept local)
            // Output: let v = INIT; let __tame_hN = x; let PAT = v else { let x = __tame_hN; DIV };
            Stmt::Local(l) if l.init.is_some() => {
                let hides = self.hides(c, after);
                let init = l.init.as_mut().expect("checked");
                SubstJumps {
                    e: self,
                    jumps: &c.jumps,
                    dispatch: Some(&labels),
                    before: &before.0,
                }
                .visit_expr_mut(&mut init.expr);
                if let Some((_, div)) = &mut init.diverge {
                    let snap = self.snapshot();
                    let unhides = self.unhides(c, div);
                    SubstJumps {
                        e: self,
                        jumps: &c.jumps,
                        dispatch: None,
                        before: &before.0,
                    }
                    .visit_expr_mut(div);
                    self.restore(&snap);
                    if !unhides.is_empty() {
                        **div = syn::parse_quote!({ #unhides #div });
                    }
                }
                if hides.is_empty() {
                    quote!(#stmt)
                } else {
                    let e = &init.expr;
                    let v = mixed("__tame_v");
                    let attrs = &l.attrs;
                    let first = quote!(#(#attrs)* let #v = #e;);
                    *init.expr = syn::parse_quote!(#v);
                    quote!(#first #hides #stmt)
                }
            }
            _ => {
                SubstJumps {
                    e: self,
                    jumps: &c.jumps,
                    dispatch: Some(&labels),
                    before: &before.0,
                }
                .visit_stmt_mut(&mut stmt);
                quote!(#stmt)
            }
        };
        crate::analyse::init_after(c, &mut self.cur.borrow_mut());
        self.track_code(c);
        let holds = if c.decl_only {
            TokenStream::new()
        } else {
            self.declare_holds(&c.defs)
        };
        let rest = self.seq_rest(rest, rest_after);
        let mut body = quote!(#head #holds #rest);
        for (j, label) in c.jumps.iter().zip(&labels) {
            // The jump runs with what held before the statement (plus what it assigned), less
            // what it may have moved.
            self.restore(&before);
            let code = self.jump(
                j.target,
                &j.vis,
                &crate::analyse::init_at_jump(j, &before.0),
            );
            body = quote!(#label: { #body } #code);
        }
        body
    }

    /// `let __tame_hN = x;` for each binding `c` shadows that is still needed after it.
    fn hides(&self, c: &crate::graph::Code, after: &BTreeSet<BindId>) -> TokenStream {
        let mut hides = TokenStream::new();
        for &b in &c.stash {
            // (A late local not yet assigned has no value to hide.)
            let init = !self.m.binds[b].late || self.cur.borrow().contains(&b);
            if after.contains(&b) && init && !self.hidden_now.borrow().contains(&b) {
                let id = &self.m.binds[b].ident;
                let h = &self.m.binds[b].hidden;
                let cfg = self.cfg(b);
                if self.holds.borrow().contains(&b) {
                    hides.extend(quote!(#cfg #h = ::core::option::Option::Some(#id);));
                } else {
                    hides.extend(quote!(#cfg let mut #h = ::core::option::Option::Some(#id);));
                }
                self.hidden_now.borrow_mut().insert(b);
            }
        }
        hides
    }

    /// The reverse of [`Self::hides`] for the `else` of a `let … else`, where the old names
    /// mean the old bindings: `let x = take(&mut __tame_hN);` for each one `div` names (the
    /// others stay in their holds, in their place). Call with `hides` already made; the
    /// caller restores `hidden_now` after the `else`.
    fn unhides(&self, c: &crate::graph::Code, div: &Expr) -> TokenStream {
        let krate = self.krate();
        let mut names = BTreeSet::new();
        crate::syntax::idents(quote!(#div), &mut names);
        let mut back = TokenStream::new();
        for &b in &c.stash {
            let bind = &self.m.binds[b];
            if self.hidden_now.borrow().contains(&b) && names.contains(&bind.ident.to_string()) {
                let (id, h) = (&bind.ident, &bind.hidden);
                let mutability = bind.mutable.then(|| quote!(mut));
                let cfg = self.cfg(b);
                back.extend(quote!(#cfg let #mutability #id = #krate::__private::take(&mut #h);));
                self.hidden_now.borrow_mut().remove(&b);
            }
        }
        back
    }

    fn node(&self, n: &Node, after: &BTreeSet<BindId>) -> TokenStream {
        let krate = self.krate();
        let state = mixed("__tame_state");
        let cx = mixed("__tame_cx");
        let resume = resume_label();
        match n {
            Node::Code(c)
                if c.decl_only
                    && !c
                        .defs
                        .iter()
                        .any(|d| self.lv.mentioned[self.current.get()].contains(d)) =>
            {
                // The declaration is not needed here, but what it shadows still is.
                self.hides(c, after)
            }
            Node::Code(c) if c.jumps.iter().any(|j| j.shadowed) => {
                // The end of a sequence (`seq_rest` takes the others).
                self.dispatch(c, after, &[], &[])
            }
            Node::Code(c) => {
                let before = self.cur.borrow().clone();
                crate::analyse::init_after(c, &mut self.cur.borrow_mut());
                self.track_moves(&c.moves);
                let mut stmt = match &c.definite {
                    Some((b, definite)) if !before.contains(b) => {
                        // (This form assigns the place on every path.)
                        self.track_defs(&[*b]);
                        definite.clone()
                    }
                    _ => c.stmt.clone(),
                };
                // The `else` of a `let … else` is done below, after the hides.
                let mut div = match &mut stmt {
                    Stmt::Local(l) => l.init.as_mut().and_then(|i| i.diverge.take()),
                    _ => None,
                };
                SubstJumps {
                    e: self,
                    jumps: &c.jumps,
                    dispatch: None,
                    before: &before,
                }
                .visit_stmt_mut(&mut stmt);
                // Input:  let x = x + 1;        (shadows an `x` still needed after a later jump)
                // Output: let __tame_v = x + 1; __tame_h3 = Some(x); let x = __tame_v;
                // The old `x` moves into its hold (declared right after it): saved from there
                // at a jump, dropped where Rust would drop it.
                let hides = self.hides(c, after);
                if let Some((_, d)) = &mut div {
                    // The `else` runs where the old names still mean the old bindings: those
                    // it names come out of their holds there.
                    let snap = self.snapshot();
                    let back = self.unhides(c, d);
                    SubstJumps {
                        e: self,
                        jumps: &c.jumps,
                        dispatch: None,
                        before: &before,
                    }
                    .visit_expr_mut(d);
                    self.restore(&snap);
                    if !back.is_empty() {
                        **d = syn::parse_quote!({ #back #d });
                    }
                }
                if let (Stmt::Local(l), Some(div)) = (&mut stmt, div) {
                    l.init.as_mut().expect("a `let … else` has a value").diverge = Some(div);
                }
                self.track_code(c);
                let holds = if c.decl_only {
                    TokenStream::new()
                } else {
                    self.declare_holds(&c.defs)
                };
                if hides.is_empty() {
                    return quote!(#stmt #holds);
                }
                match &mut stmt {
                    Stmt::Local(l) if l.init.is_some() => {
                        let init = l.init.as_mut().expect("checked");
                        let e = &init.expr;
                        let v = mixed("__tame_v");
                        let attrs = &l.attrs;
                        let first = quote!(#(#attrs)* let #v = #e;);
                        *init.expr = syn::parse_quote!(#v);
                        quote!(#first #hides #stmt #holds)
                    }
                    _ => quote!(#hides #stmt #holds),
                }
            }
            Node::Jump { target, vis } => {
                let init = self.cur.borrow().clone();
                self.jump(Next::Goto(*target), vis, &init)
            }
            Node::Join {
                target,
                line,
                vis,
                span,
                ..
            } => {
                let saves = self.saves_at(Next::Goto(*target), vis, Some(*span));
                let t = Literal::u32_unsuffixed(*target as u32);
                let at = mixed("__tame_at");
                quote! {
                    #saves
                    if #cx.join_ready(#line) {
                        #at = #t;
                        continue #resume;
                    }
                    #state = #t;
                    return #krate::__private::Step::Blocked;
                }
            }
            Node::Park { target, vis, .. } => {
                let saves = self.saves(Next::Goto(*target), vis);
                let t = Literal::u32_unsuffixed(*target as u32);
                quote!(#saves #state = #t; return #krate::__private::Step::Blocked;)
            }
            Node::Done { vis } => {
                let init = self.cur.borrow().clone();
                self.jump(Next::Done, vis, &init)
            }
            Node::If {
                cond,
                moves,
                defs,
                stash,
                then,
                els,
                ..
            } => {
                self.track_moves(moves);
                let init = self.cur.borrow().clone();
                let mut cond = cond.clone();
                SubstJumps {
                    e: self,
                    jumps: &[],
                    dispatch: None,
                    before: &init,
                }
                .visit_expr_mut(&mut cond);
                let stashed = self.stashable(live_seq(then, self.lv));
                let st = self.stash(stash, &stashed);
                // The stash runs in the first `let`'s scrutinee, after it was evaluated (it may
                // read the binding being shadowed); if a plain condition comes first, before the
                // `if`, so that the `else` branch can always take it back.
                let before = if !st.is_empty() && !wrap_first_let(&mut cond, &st) {
                    st
                } else {
                    TokenStream::new()
                };
                // What was stashed is taken back by both branches: under its hidden name in
                // `then`, where the pattern shadows it, under its own in `else`.
                let snap = self.snapshot();
                let then_back = self.take_back(stash, &stashed, stash, then);
                self.track_defs(defs);
                let holds = self.declare_holds(defs);
                let then = self.seq(then);
                self.restore(&snap);
                let back = self.take_back(stash, &stashed, &[], els);
                let els = self.seq(els);
                quote!(#before if #cond { #then_back #holds #then } else { #back #els })
            }
            Node::Match {
                scrut,
                moves,
                stash,
                arms,
                ..
            } => {
                self.track_moves(moves);
                let mut live = BTreeSet::new();
                for a in arms {
                    live.extend(live_seq(&a.body, self.lv));
                }
                let live = self.stashable(live);
                let st = self.stash(stash, &live);
                let snap = self.snapshot();
                let scrut = if st.is_empty() {
                    quote!(#scrut)
                } else {
                    let v = mixed("__tame_v");
                    quote!({ let #v = #scrut; #st #v })
                };
                let arms = arms.iter().map(|a| {
                    let pat = &a.pat;
                    let guard = a.guard.as_ref().map(|g| quote!(if #g));
                    // Every arm takes back what was stashed: under its own name where the arm's
                    // pattern does not shadow it, else under its hidden name.
                    let shadowed: Vec<BindId> = stash
                        .iter()
                        .copied()
                        .filter(|&b| {
                            a.defs
                                .iter()
                                .any(|&d| self.m.binds[d].ident == self.m.binds[b].ident)
                        })
                        .collect();
                    self.restore(&snap);
                    let back = self.take_back(stash, &live, &shadowed, &a.body);
                    self.track_defs(&a.defs);
                    let holds = self.declare_holds(&a.defs);
                    let body = self.seq(&a.body);
                    quote!(#pat #guard => { #back #holds #body })
                });
                quote!(match #scrut { #(#arms)* })
            }
            Node::Block(b) => {
                let b = self.seq(b);
                quote!({ #b })
            }
            Node::Cfg { attrs, then, els } => {
                let snap = self.snapshot();
                let then = self.seq(then);
                self.restore(&snap);
                let els = self.seq(els);
                let preds = attrs.iter().filter_map(|a| match &a.meta {
                    syn::Meta::List(l) => Some(&l.tokens),
                    _ => None,
                });
                quote! {
                    #(#attrs)* { #then }
                    #[cfg(not(all(#(#preds),*)))] { #els }
                }
            }
        }
    }
}

/// The parameters the closure keeps as its own captures and the code uses in place, instead of
/// moving each into an `Option` slot and out again at every state change. They are the
/// leading parameters (a prefix: dropped with the closure, after everything else, they are
/// still dropped in reverse declaration order) that:
/// - are a plain name (`x: T`, `mut x: T`) with no attribute;
/// - the body never moves out of ([`crate::moves`]) and never binds again;
/// - no `for` loop iterates (`for x in &v`: an iterator that borrows a capture cannot be kept
///   in another, and rustc would report that at the macro rather than at `&v`);
/// - are not of an `Event` type ([`is_event_type`]: the call may watch it), nor a
///   `#[tether]`.
///
/// Input:  `fn p(r: Rendezvous<()>, left: Rc<Cell<u64>>, done: Event<()>)`, `done` triggered
/// Output: `{r, left}`
fn in_place_params(input: &Input, m: &Machine) -> BTreeSet<BindId> {
    let mut out = BTreeSet::new();
    let iterated = iterated_names(&input.func.block);
    let mut ids = m.params.iter();
    for (i, arg) in input.func.sig.inputs.iter().enumerate() {
        let FnArg::Typed(pt) = arg else {
            break;
        };
        let Pat::Ident(pi) = &*pt.pat else {
            break;
        };
        let Some(&b) = ids.next() else {
            break;
        };
        let bind = &m.binds[b];
        let rebound = m
            .binds
            .iter()
            .enumerate()
            .any(|(o, other)| o != b && other.ident == bind.ident);
        if pi.by_ref.is_some()
            || pi.subpat.is_some()
            || !pt.attrs.is_empty()
            || !bind.cfg.is_empty()
            || !m.keep.contains(&b)
            || iterated.contains(&bind.ident.to_string())
            || rebound
            || is_event_type(&pt.ty)
            || input.tethers.contains(&i)
        {
            break;
        }
        out.insert(b);
    }
    out
}

/// Every name in the iterable of a `for` loop of `body`.
fn iterated_names(body: &syn::Block) -> BTreeSet<String> {
    struct Iterables(BTreeSet<String>);
    impl<'ast> syn::visit::Visit<'ast> for Iterables {
        fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
            let e = &f.expr;
            crate::syntax::idents(quote!(#e), &mut self.0);
            syn::visit::visit_expr_for_loop(self, f);
        }
    }
    let mut v = Iterables(BTreeSet::new());
    syn::visit::Visit::visit_block(&mut v, body);
    v.0
}

/// Whether a parameter's type is tame's `Event<…>`: `Event<T>` (imported), or a path to it
/// through `tame`, `tame_rt` or `crate` (`tame::Event<u32>`). Another crate's `Event`
/// (`winit::event::Event<T>`) is not.
fn is_event_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            p.qself.is_none()
                && segs.last().is_some_and(|s| s == "Event")
                && (segs.len() == 1
                    || (segs.len() == 2
                        && ["tame", "tame_rt", "crate"].contains(&segs[0].as_str())))
        }
        syn::Type::Paren(p) => is_event_type(&p.elem),
        syn::Type::Group(g) => is_event_type(&g.elem),
        _ => false,
    }
}

/// The conditions under which the code of `nodes` names `b`: `None` if it names it outside
/// any waiting statement under `#[cfg]` (`Node::Cfg`), else one `all(…)` per such place
/// (none if it does not name it).
fn mention_cfgs(nodes: &[Node], b: BindId) -> Option<Vec<TokenStream>> {
    let mut out = Vec::new();
    let seq = |nodes: &[Node], out: &mut Vec<TokenStream>| -> Option<()> {
        out.extend(mention_cfgs(nodes, b)?);
        Some(())
    };
    for node in nodes {
        match node {
            Node::Cfg { attrs, then, els } => {
                let preds: Vec<_> = attrs
                    .iter()
                    .filter_map(|a| match &a.meta {
                        syn::Meta::List(l) => Some(l.tokens.clone()),
                        _ => None,
                    })
                    .collect();
                let on = quote!(all(#(#preds),*));
                let off = quote!(not(#on));
                for (side, cond) in [(then, on), (els, off)] {
                    match mention_cfgs(side, b) {
                        None => out.push(cond),
                        Some(inner) => {
                            out.extend(inner.into_iter().map(|c| quote!(all(#cond, #c))))
                        }
                    }
                }
            }
            Node::If {
                uses,
                writes,
                moves,
                then,
                els,
                ..
            } => {
                if uses.contains(&b) || writes.contains(&b) || moves.contains(&b) {
                    return None;
                }
                seq(then, &mut out)?;
                seq(els, &mut out)?;
            }
            Node::Match {
                uses,
                writes,
                moves,
                arms,
                ..
            } => {
                if uses.contains(&b) || writes.contains(&b) || moves.contains(&b) {
                    return None;
                }
                for a in arms {
                    if a.guard_uses.contains(&b) {
                        return None;
                    }
                    seq(&a.body, &mut out)?;
                }
            }
            Node::Block(n) => seq(n, &mut out)?,
            other if mentions(std::slice::from_ref(other), b) => return None,
            _ => {}
        }
    }
    Some(out)
}

/// Whether the code of `nodes` (in this state) names binding `b`.
fn mentions(nodes: &[Node], b: BindId) -> bool {
    nodes.iter().any(|node| match node {
        Node::Code(c) => [&c.uses, &c.kills, &c.writes, &c.moves]
            .iter()
            .any(|v| v.contains(&b)),
        Node::If {
            uses,
            writes,
            moves,
            then,
            els,
            ..
        } => {
            [uses, writes, moves].iter().any(|v| v.contains(&b))
                || mentions(then, b)
                || mentions(els, b)
        }
        Node::Match {
            uses,
            writes,
            moves,
            arms,
            ..
        } => {
            [uses, writes, moves].iter().any(|v| v.contains(&b))
                || arms
                    .iter()
                    .any(|a| a.guard_uses.contains(&b) || mentions(&a.body, b))
        }
        Node::Block(n) => mentions(n, b),
        Node::Cfg { then, els, .. } => mentions(then, b) || mentions(els, b),
        Node::Jump { .. } | Node::Join { .. } | Node::Park { .. } | Node::Done { .. } => false,
    })
}

/// The bindings the `if`s and `match`es of `nodes` may stash (with `lets`, also those a `let`
/// may shadow: the holds are declared for these).
fn stashed_in(nodes: &[Node], lets: bool, out: &mut BTreeSet<BindId>) {
    for node in nodes {
        match node {
            Node::Code(c) if lets => out.extend(c.stash.iter().copied()),
            Node::If {
                stash, then, els, ..
            } => {
                out.extend(stash.iter().copied());
                stashed_in(then, lets, out);
                stashed_in(els, lets, out);
            }
            Node::Match { stash, arms, .. } => {
                out.extend(stash.iter().copied());
                for a in arms {
                    stashed_in(&a.body, lets, out);
                }
            }
            Node::Block(b) => stashed_in(b, lets, out),
            Node::Cfg { then, els, .. } => {
                stashed_in(then, lets, out);
                stashed_in(els, lets, out);
            }
            Node::Code(_)
            | Node::Jump { .. }
            | Node::Join { .. }
            | Node::Park { .. }
            | Node::Done { .. } => {}
        }
    }
}

fn wrap_first_let(cond: &mut Expr, stash: &TokenStream) -> bool {
    match cond {
        Expr::Let(l) => {
            let e = &l.expr;
            let v = mixed("__tame_v");
            *l.expr = syn::parse_quote!({ let #v = #e; #stash #v });
            true
        }
        // Only the leftmost operand is sure to be evaluated.
        Expr::Binary(b) => wrap_first_let(&mut b.left, stash),
        Expr::Paren(p) => wrap_first_let(&mut p.expr, stash),
        _ => false,
    }
}

fn strip_mut(p: &mut Pat) {
    struct S;
    impl VisitMut for S {
        fn visit_pat_ident_mut(&mut self, i: &mut syn::PatIdent) {
            i.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, i);
        }
    }
    S.visit_pat_mut(p);
}

/// Replaces the `__tame_jump!(n)` markers `lower` left in kept-as-written code: by the jump
/// itself, or (`dispatch`) by a `break` out of the statement that says which jump it was.
struct SubstJumps<'e, 'a> {
    e: &'e Emitter<'a>,
    jumps: &'e [JumpSpec],
    /// `Some(labels)`: jump `n` is `break labels[n]` out of the statement (see `dispatch`).
    dispatch: Option<&'e [syn::Lifetime]>,
    /// Late bindings initialised before the statement.
    before: &'e BTreeSet<BindId>,
}

impl VisitMut for SubstJumps<'_, '_> {
    // A marker re-parsed as a statement (`__tame_jump!(0);` inside a `break` value that was
    // quoted again) is an expression statement like any other.
    fn visit_stmt_mut(&mut self, st: &mut Stmt) {
        if let Stmt::Macro(m) = st
            && m.mac.path.is_ident("__tame_jump")
        {
            let e = Expr::Macro(syn::ExprMacro {
                attrs: m.attrs.clone(),
                mac: m.mac.clone(),
            });
            *st = Stmt::Expr(e, m.semi_token);
        }
        syn::visit_mut::visit_stmt_mut(self, st);
    }

    fn visit_expr_mut(&mut self, ex: &mut Expr) {
        if let Expr::Macro(m) = ex
            && m.mac.path.is_ident("__tame_jump")
            && let Ok(n) = m
                .mac
                .parse_body::<syn::LitInt>()
                .and_then(|l| l.base10_parse::<usize>())
            && let Some(j) = self.jumps.get(n)
        {
            if let Some(labels) = self.dispatch {
                let label = &labels[n];
                *ex = syn::parse_quote_spanned!(Span::mixed_site()=> { break #label; });
                return;
            }
            let init = crate::analyse::init_at_jump(j, self.before);
            let code = self.e.jump(j.target, &j.vis, &init);
            *ex = syn::parse_quote_spanned!(Span::mixed_site()=> { #code });
            return;
        }
        syn::visit_mut::visit_expr_mut(self, ex);
    }
}
