//! Procedural macros of [`hetumind`](https://docs.rs/hetumind).
//!
//! This crate is an implementation detail: depend on `hetumind`, which re-exports these macros
//! and pins this crate's exact version. Nothing here is public API on its own.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod link;
mod valid;

use proc_macro::TokenStream;

/// Turns an async function into a registered workflow node. Documented on `hetumind::node`.
#[proc_macro_attribute]
pub fn node(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::node(args.into(), input.into()).into()
}

/// Links every dependency of the calling package. Documented on `hetumind::link_node_crates`.
#[proc_macro]
pub fn link_node_crates(input: TokenStream) -> TokenStream {
    link::expand(&input.into()).into()
}
