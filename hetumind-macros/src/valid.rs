//! The rules a `#[node]` function and its attribute must follow. Every broken rule is
//! recorded, pointing at the user's token and saying how to fix it.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{LitStr, Path, Type};

use crate::ast::{NodeFn, Return, Role};
use crate::attr::{Attrs, Retry};
use crate::ctxt::Ctxt;

/// A node that follows every rule: what expansion needs.
pub(crate) struct Node<'a> {
    pub(crate) fn_ident: &'a syn::Ident,
    pub(crate) kind: String,
    pub(crate) version: u32,
    pub(crate) description: String,
    pub(crate) outputs: Vec<String>,
    pub(crate) retry: Retry,
    pub(crate) krate: Path,
    pub(crate) params: Option<&'a Type>,
    pub(crate) input: Input<'a>,
    /// The roles in the order the function takes them.
    pub(crate) order: Vec<Role<'a>>,
    pub(crate) ret: Return<'a>,
}

#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    Item(&'a Type),
    Items(&'a Type),
    None,
}

/// Checks every rule; `None` when any is broken (the errors are in `cx`).
pub(crate) fn check<'a>(node: NodeFn<'a>, attrs: Attrs, cx: &mut Ctxt) -> Option<Node<'a>> {
    let errors_before = cx.len();
    let sig = &node.item.sig;
    check_signature(sig, cx);
    let (params, input) = check_roles(&node, cx);
    let kind = check_kind(attrs.kind.as_ref(), cx);
    let outputs = check_outputs(attrs.outputs.as_deref(), cx);
    let ret = check_return(&node, attrs.outputs.is_some(), outputs.len(), cx);
    check_routes(&node.routes, &outputs, cx);
    if cx.len() > errors_before {
        return None;
    }
    Some(Node {
        fn_ident: &sig.ident,
        kind: kind?,
        version: attrs.version.unwrap_or(1),
        description: node.description,
        outputs,
        retry: attrs.retry,
        krate: attrs.krate.unwrap_or_else(|| syn::parse_quote!(::hetumind)),
        params,
        input,
        order: node.args.iter().map(|arg| arg.role).collect(),
        ret: ret?,
    })
}

fn check_signature(sig: &syn::Signature, cx: &mut Ctxt) {
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!(
                "a `#[node]` function must be async: write `async fn {}`",
                sig.ident
            ),
        );
    }
    if let Some(constness) = sig.constness {
        cx.error_spanned_by(constness, "a `#[node]` function cannot be `const`");
    }
    if let Some(unsafety) = sig.unsafety {
        cx.error_spanned_by(unsafety, "a `#[node]` function cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "a `#[node]` function cannot declare an ABI; remove it");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let tokens = if sig.generics.params.is_empty() {
            sig.generics.where_clause.to_token_stream()
        } else {
            sig.generics.to_token_stream()
        };
        cx.error_spanned_by(
            tokens,
            "a `#[node]` function cannot be generic: its parameter, item and output types must be concrete so that their schemas are known; write one node per type",
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a `#[node]` function cannot be variadic");
    }
}

fn check_roles<'a>(node: &NodeFn<'a>, cx: &mut Ctxt) -> (Option<&'a Type>, Input<'a>) {
    let mut params = None;
    let mut input = Input::None;
    let mut seen: Vec<&'static str> = Vec::new();
    for arg in &node.args {
        if let Some(name) = arg.role.name() {
            if seen.contains(&name) {
                cx.error_spanned_by(
                    arg.arg,
                    format!("duplicate `{name}` argument: a node takes each role at most once"),
                );
                continue;
            }
            seen.push(name);
        }
        match arg.role {
            Role::Receiver => cx.error_spanned_by(
                arg.arg,
                "a `#[node]` must be a free function, not a method: remove `self` and take what you need as `Params<T>`",
            ),
            Role::Params(ty) => params = Some(ty),
            Role::Item(ty) | Role::Items(ty) => {
                if let Input::Item(_) | Input::Items(_) = input {
                    cx.error_spanned_by(
                        arg.arg,
                        "`Item<T>` and `Items<T>` exclude each other: take `Item<T>` to be called once per item, or `Items<T>` to be called once with all items",
                    );
                } else if let Role::Item(_) = arg.role {
                    input = Input::Item(ty);
                } else {
                    input = Input::Items(ty);
                }
            }
            Role::Ctx { .. } => {}
            Role::Borrowed(name) => cx.error_spanned_by(
                arg.arg,
                format!("take `{name}` by value{}", if name == "Ctx" { " or as `&Ctx`" } else { "" }),
            ),
            Role::Unknown(ty) => cx.error_spanned_by(
                ty,
                format!(
                    "`{}` is not a node argument role; expected `Params<T>`, `Item<T>`, `Items<T>` or `Ctx`",
                    ty.to_token_stream()
                ),
            ),
        }
    }
    (params, input)
}

fn check_kind(kind: Option<&LitStr>, cx: &mut Ctxt) -> Option<String> {
    let Some(lit) = kind else {
        cx.push(syn::Error::new(
            Span::call_site(),
            "missing node kind: add `kind = \"...\"`, like `#[node(kind = \"acme.send_mail\")]`",
        ));
        return None;
    };
    let kind = lit.value();
    let valid = kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !valid {
        cx.error_spanned_by(
            lit,
            format!("invalid node kind `{kind}`: start with a lowercase letter and use lowercase letters, digits, `.`, `_` and `-`, like \"acme.send_mail\""),
        );
    }
    Some(kind)
}

fn check_outputs(outputs: Option<&[LitStr]>, cx: &mut Ctxt) -> Vec<String> {
    let Some(lits) = outputs else {
        return vec!["main".to_owned()];
    };
    if lits.is_empty() {
        cx.push(syn::Error::new(
            Span::call_site(),
            "`outputs()` is empty: name at least one output, like `outputs(\"true\", \"false\")`",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for lit in lits {
        let name = lit.value();
        if name.is_empty() {
            cx.error_spanned_by(lit, "an output name cannot be empty");
        } else if name == "error" {
            cx.error_spanned_by(
                lit,
                "the output name `error` is reserved for the error output of `on_error: error_output`; choose another name",
            );
        } else if names.contains(&name) {
            cx.error_spanned_by(lit, format!("duplicate output name `{name}`"));
        }
        names.push(name);
    }
    names
}

fn check_return<'a>(
    node: &NodeFn<'a>,
    declares_outputs: bool,
    output_count: usize,
    cx: &mut Ctxt,
) -> Option<Return<'a>> {
    let sig = &node.item.sig;
    let Some(ret) = &node.ret else {
        let span = match &sig.output {
            syn::ReturnType::Default => sig.paren_token.span.close(),
            syn::ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
        };
        cx.push(syn::Error::new(
            span,
            "a `#[node]` function must return `Result<T, E>`, where `T` is its output (`T`, `Vec<T>`, `Option<T>` or `Routed<T>`) and `E: Into<NodeError>`",
        ));
        return None;
    };
    if ret.routed && !declares_outputs {
        cx.error_spanned_by(
            ret.ok,
            "this node returns `Routed<T>` but declares no outputs: name them, like `#[node(outputs(\"true\", \"false\"))]`",
        );
    }
    if !ret.routed && output_count > 1 {
        cx.error_spanned_by(
            ret.ok,
            "this node declares several outputs, so it must say where each item goes: return `Routed<T>`, `Vec<Routed<T>>` or `Option<Routed<T>>`",
        );
    }
    Some(*ret)
}

fn check_routes(routes: &[LitStr], outputs: &[String], cx: &mut Ctxt) {
    for route in routes {
        let name = route.value();
        if !outputs.contains(&name) {
            let declared = outputs
                .iter()
                .map(|output| format!("`{output}`"))
                .collect::<Vec<_>>()
                .join(", ");
            cx.error_spanned_by(
                route,
                format!("this node has no output named `{name}`; its outputs are {declared}"),
            );
        }
    }
}
