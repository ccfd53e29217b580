//! What to emit when the input breaks a rule: the function exactly as written, so that the
//! user's IDE and their own type errors keep working, plus the errors.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(function: TokenStream, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote! {
        #function
        #errors
    }
}
