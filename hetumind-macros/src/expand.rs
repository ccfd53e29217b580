//! The code `#[node]` generates: the function as written, a description of its types for the
//! runtime's generic executor, and a registration submitted with `inventory`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::ItemFn;
use syn::spanned::Spanned;

use crate::ast::{NodeFn, Role};
use crate::attr::{self, Inputs, Jitter, NodeRole};
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::valid::{self, Input, Node};

pub(crate) fn node(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(error) => return fallback::expand_unparsed(input, &error),
    };
    let mut cx = Ctxt::new();
    let attrs = attr::parse(args, &mut cx);
    let krate = attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::hetumind));
    let node_fn = NodeFn::from_item(&item);
    let checked = valid::check(&node_fn, attrs, &mut cx);
    let error = match (cx.check(), checked) {
        (Ok(()), Some(node)) => return expand(&item, &node),
        (Err(error), _) => error,
        (Ok(()), None) => syn::Error::new(Span::call_site(), "invalid `#[node]` function"),
    };
    fallback::expand(input, &valid::checkable_types(&node_fn), &krate, &error)
}

fn expand(item: &ItemFn, node: &Node<'_>) -> TokenStream {
    let krate = &node.krate;
    let private = quote!(#krate::__private);
    let fn_ident = node.fn_ident;
    let fn_span = item.sig.span();

    // The user's types keep their tokens, so that a type lacking a trait is reported there by
    // the bounds of `NodeTypes`, which say what to derive; nothing else in the generated code
    // uses them concretely (the runtime does, through `NodeTypes`), so nothing reports it twice.
    let params_ty = node
        .params
        .map_or_else(|| quote!(#private::NoParams), |ty| quote!(#ty));
    let input_ty = match node.input {
        Input::Item(ty) | Input::Items(ty) => quote!(#ty),
        Input::None => quote!(#private::NoInput),
    };
    let ret = &node.ret;
    let output_ty = ret.element;
    let returned_ty = ret.ok;
    let outputs = &node.outputs;

    let call_args = node.order.iter().map(|role| match role {
        Role::Params(_) => quote!(#private::Params(__params)),
        Role::Item(_) => quote!(#private::Item(__input)),
        Role::Items(_) => quote!(#private::Items(__input)),
        Role::Ctx { by_ref: true } => quote!(&__ctx),
        _ => quote!(__ctx),
    });
    let uses_params = node.params.is_some();
    let uses_input = !matches!(node.input, Input::None);
    let takes_ctx = node
        .order
        .iter()
        .any(|role| matches!(role, Role::Ctx { .. }));
    let consumes_items = uses_input && !takes_ctx;
    let params_pat = if uses_params {
        quote!(__params)
    } else {
        quote!(_)
    };
    let input_pat = if uses_input {
        quote!(__input)
    } else {
        quote!(_)
    };
    let (mode_trait, input_arg, mode, invoke) = match node.input {
        Input::Item(_) => (
            quote!(EachItemNode),
            quote!(Self::Input),
            quote!(EachItem),
            quote!(invoke_each_item),
        ),
        Input::Items(_) | Input::None => (
            quote!(AllItemsNode),
            quote!(::std::vec::Vec<Self::Input>),
            quote!(All),
            quote!(invoke_all_items),
        ),
    };
    // An error type that does not convert into `NodeError` is reported on that type.
    let error_span = ret.error.map_or(fn_span, Spanned::span);
    let result = located_at(
        quote!(#private::into_result(#fn_ident(#(#call_args),*).await)),
        error_span,
    );
    let call = quote_spanned! {fn_span=>
        // The future must be `Send`, which `async fn` in a trait impl cannot promise.
        #[allow(clippy::manual_async_fn)]
        fn call(
            #params_pat: Self::Params,
            #input_pat: #input_arg,
            __ctx: #private::Ctx,
        ) -> impl #private::Future<
            Output = #private::Result<Self::Returned, #private::NodeError>,
        > + ::core::marker::Send {
            async move { #result }
        }
    };

    // An each-item node deserializes its parameters once and clones them for every call when
    // their type is `Clone`: the probe resolves on the concrete type, and asks nothing of a type
    // that is not.
    let clone_params = match node.input {
        Input::Item(_) => quote! {
            fn clone_params() -> #private::Option<#private::CloneFn<Self::Params>> {
                #[allow(unused_imports)]
                use #private::{Cloner as _, NoCloner as _};
                (&&#private::CloneProbe::<Self::Params>::new()).cloner()
            }
        },
        _ => quote!(),
    };

    let kind = &node.kind;
    let version = node.version;
    let description = &node.description;
    let retry = retry_policy(&node.retry, &private);
    let inputs = match node.inputs {
        Inputs::Fixed(count) => quote!(#private::InputCount::Fixed(#count)),
        Inputs::Any => quote!(#private::InputCount::Any),
    };
    let role = match node.role {
        None => quote!(#private::NodeRole::Regular),
        Some(NodeRole::HttpResponse) => quote!(#private::NodeRole::HttpResponse),
    };
    let nonblocking = node.nonblocking;
    let types = quote!(<__hetumind_node as #private::NodeTypes>);

    quote! {
        // `#[node]` requires `async` even of a function that awaits nothing.
        #[allow(clippy::unused_async)]
        #item

        const _: () = {
            #[allow(non_camel_case_types)]
            struct __hetumind_node;

            #[automatically_derived]
            impl #private::NodeTypes for __hetumind_node {
                type Params = #params_ty;
                type Input = #input_ty;
                type Output = #output_ty;
                type Returned = #returned_ty;
                const OUTPUTS: &'static [&'static str] = &[#(#outputs),*];
                const CONSUMES_ITEMS: bool = #consumes_items;
            }

            #[automatically_derived]
            impl #private::#mode_trait for __hetumind_node {
                #call
                #clone_params
            }

            #private::inventory::submit! {
                #private::NodeRegistration {
                    kind: #kind,
                    version: #version,
                    description: #description,
                    outputs: #types::OUTPUTS,
                    inputs: #inputs,
                    role: #role,
                    nonblocking: #nonblocking,
                    mode: #private::ExecuteMode::#mode,
                    consumes_items: #types::CONSUMES_ITEMS,
                    retry: #retry,
                    location: #private::SourceLocation {
                        file: ::core::file!(),
                        line: ::core::line!(),
                        module: ::core::module_path!(),
                    },
                    params_schema: #types::params_schema,
                    input_schema: #types::input_schema,
                    output_schema: #types::output_schema,
                    check_params: #types::check_params,
                    invoke: #private::#invoke::<__hetumind_node>,
                }
            }
        };
    }
}

/// `tokens`, shown at `span` in messages; names resolve as before.
pub(crate) fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), located_at(group.stream(), span));
                respanned.set_span(group.span().located_at(span));
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// The default retry policy, as a constant expression.
fn retry_policy(retry: &attr::Retry, private: &TokenStream) -> TokenStream {
    let mut fields = Vec::new();
    if let Some(attempts) = retry.max_attempts {
        fields.push(quote!(max_attempts: #attempts));
    }
    if let Some(ms) = retry.initial_ms {
        fields.push(quote!(initial_interval: #private::Duration::from_millis(#ms)));
    }
    if let Some(rate) = retry.backoff_rate {
        fields.push(quote!(backoff_rate: #rate));
    }
    if let Some(ms) = retry.max_ms {
        fields.push(quote!(max_interval: #private::Duration::from_millis(#ms)));
    }
    if let Some(jitter) = retry.jitter {
        let variant = match jitter {
            Jitter::None => quote!(None),
            Jitter::Full => quote!(Full),
        };
        fields.push(quote!(jitter: #private::Jitter::#variant));
    }
    // `..DEFAULT` is needless when every field is given; keep one shape for all cases.
    quote!({
        #[allow(clippy::needless_update)]
        let policy = #private::RetryPolicy { #(#fields,)* ..#private::RetryPolicy::DEFAULT };
        policy
    })
}
