//! What to emit when the input breaks a rule: the function exactly as written, so that the
//! user's IDE and their own type errors keep working, plus the errors.

use proc_macro2::TokenStream;

pub(crate) fn expand(mut function: TokenStream, error: &syn::Error) -> TokenStream {
    function.extend(error.to_compile_error());
    function
}
