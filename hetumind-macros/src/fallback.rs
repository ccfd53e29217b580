//! What to emit when the input breaks a rule: the function exactly as written, so that the
//! user's IDE and their own type errors keep working, the errors, and the checks of the types
//! that can still be checked, so that a type lacking a trait is reported in the same compile.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Path;
use syn::spanned::Spanned;

use crate::expand::located_at;
use crate::valid::Types;

/// Input that is not a function at all: itself, and the error.
pub(crate) fn expand_unparsed(mut input: TokenStream, error: &syn::Error) -> TokenStream {
    input.extend(error.to_compile_error());
    input
}

/// A function that breaks a rule.
pub(crate) fn expand(
    mut function: TokenStream,
    types: &Types<'_>,
    krate: &Path,
    error: &syn::Error,
) -> TokenStream {
    function.extend(type_checks(types, krate));
    function.extend(error.to_compile_error());
    function
}

/// The node's types described as a valid node's are, those that cannot be known replaced by
/// neutral ones, and its error type checked as the call of a valid node checks it: what the
/// types lack is reported as it would be once the rules are followed.
fn type_checks(types: &Types<'_>, krate: &Path) -> TokenStream {
    if types.params.is_none()
        && types.input.is_none()
        && types.output.is_none()
        && types.error.is_none()
    {
        return TokenStream::new();
    }
    let private = quote!(#krate::__private);
    let params = types
        .params
        .map_or_else(|| quote!(#private::NoParams), |ty| quote!(#ty));
    let input = types
        .input
        .map_or_else(|| quote!(#private::NoInput), |ty| quote!(#ty));
    let output = types.output.map_or_else(|| quote!(()), |ty| quote!(#ty));
    let error = types
        .error
        .map(|ty| located_at(quote!(let _ = #private::into_result::<(), #ty>;), ty.span()));
    quote! {
        const _: () = {
            #[allow(non_camel_case_types)]
            struct __hetumind_node;

            #[automatically_derived]
            impl #private::NodeTypes for __hetumind_node {
                type Params = #params;
                type Input = #input;
                type Output = #output;
                type Returned = Self::Output;
                const OUTPUTS: &'static [&'static str] = &[];
                const CONSUMES_ITEMS: bool = false;
            }

            #error
        };
    }
}
