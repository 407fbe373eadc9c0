//! How the macro reports errors: all at once ([`combine`]), and then, in place of the
//! function, the user's signature over a body that holds only the errors ([`stub`]), so the
//! rest of the crate still type-checks against it and IDEs keep working.
//!
//! Input:  two `syn::Error`s from `validate`
//! Output: `#[allow(…)] fn f(…) { compile_error!("…"); compile_error!("…"); loop {} }`

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

/// Folds several errors into one that reports them all.
pub fn combine(errors: Vec<syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    })
}

/// The user's signature over a body that only reports `err`, so IDEs and later errors keep
/// working.
pub fn stub(func: &ItemFn, err: syn::Error) -> TokenStream {
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let err = err.into_compile_error();
    quote! {
        #(#attrs)*
        #[allow(unused_variables, unreachable_code, clippy::diverging_sub_expression)]
        #vis #sig {
            #err
            loop {}
        }
    }
}
