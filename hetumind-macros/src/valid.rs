//! The rules a `#[node]` function and its attribute must follow. Every broken rule is
//! recorded, pointing at the user's token and saying how to fix it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{LitStr, Path, Type};

use crate::ast::{NodeFn, Return, Role};
use crate::attr::{Attrs, Inputs, NodeRole, Retry};
use crate::ctxt::Ctxt;

/// A node that follows every rule: what expansion needs.
pub(crate) struct Node<'a> {
    pub(crate) fn_ident: &'a syn::Ident,
    pub(crate) kind: String,
    pub(crate) version: u32,
    pub(crate) description: String,
    pub(crate) inputs: Inputs,
    pub(crate) outputs: Vec<String>,
    pub(crate) role: Option<NodeRole>,
    pub(crate) nonblocking: bool,
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

/// The types of a rejected function that can still be checked for the traits they need, so
/// that those errors come in the same compile as the macro's: the types of its well-formed
/// roles and return, none when the function is generic or a method.
#[derive(Default)]
pub(crate) struct Types<'a> {
    pub(crate) params: Option<&'a Type>,
    pub(crate) input: Option<&'a Type>,
    /// `T`: the type of one output item.
    pub(crate) output: Option<&'a Type>,
    pub(crate) error: Option<&'a Type>,
}

/// Checks every rule; `None` when any is broken (the errors are in `cx`).
pub(crate) fn check<'a>(node: &NodeFn<'a>, attrs: Attrs, cx: &mut Ctxt) -> Option<Node<'a>> {
    let errors_before = cx.len();
    let sig = &node.item.sig;
    check_signature(sig, cx);
    let (params, input) = check_roles(node, cx);
    check_owned(node, cx);
    let kind = check_kind(attrs.kind.as_ref(), attrs.kind_reported, cx);
    let outputs = check_outputs(attrs.outputs.as_deref(), cx);
    let ret = check_return(node, attrs.outputs.is_some(), outputs.len(), cx);
    if let (Some(ret), Input::Item(_)) = (ret, input)
        && ret.paired
    {
        cx.error_spanned_by(
            ret.element,
            "an each-item node cannot return `Paired<T>`: its outputs derive from the item of the call; return `T`, or take `Items<T>` to pair outputs with inputs yourself",
        );
    }
    // Without declared outputs, a routed return is already an error and the names are not
    // worth checking against the implicit `main`.
    if attrs
        .outputs
        .as_ref()
        .is_some_and(|declared| !declared.is_empty())
    {
        check_routes(&node.routes, &outputs, cx);
    }
    if cx.len() > errors_before {
        return None;
    }
    Some(Node {
        fn_ident: &sig.ident,
        kind: kind?,
        version: attrs.version.unwrap_or(1),
        description: node.description.clone(),
        inputs: attrs.inputs.unwrap_or(Inputs::Fixed(1)),
        outputs,
        role: attrs.role,
        nonblocking: attrs.nonblocking.is_some(),
        retry: attrs.retry,
        krate: attrs.krate.unwrap_or_else(|| syn::parse_quote!(::hetumind)),
        params,
        input,
        order: node.args.iter().map(|arg| arg.role).collect(),
        ret: ret?,
    })
}

/// The types of `node` worth checking when it is rejected; see [`Types`].
pub(crate) fn checkable_types<'a>(node: &NodeFn<'a>) -> Types<'a> {
    let generics = &node.item.sig.generics;
    let method = node
        .args
        .iter()
        .any(|arg| matches!(arg.role, Role::Receiver));
    if !generics.params.is_empty() || generics.where_clause.is_some() || method {
        return Types::default();
    }
    let owned = |ty: &&Type| not_owned(ty).is_none();
    let params = node.args.iter().find_map(|arg| match arg.role {
        Role::Params(ty) => Some(ty),
        _ => None,
    });
    let input = node.args.iter().find_map(|arg| match arg.role {
        Role::Item(ty) | Role::Items(ty) => Some(ty),
        _ => None,
    });
    Types {
        params: params.filter(owned),
        input: input.filter(owned),
        output: node.ret.filter(|ret| owned(&ret.ok)).map(|ret| ret.element),
        error: node.ret.and_then(|ret| ret.error),
    }
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
        cx.error_spanned_by(
            constness,
            "a `#[node]` function cannot be `const`; remove it",
        );
    }
    if let Some(unsafety) = sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            "a `#[node]` function cannot be `unsafe`: the engine calls it with no safety contract to uphold; remove `unsafe` and use an `unsafe` block inside",
        );
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
        let only_lifetimes = sig.generics.where_clause.is_none()
            && sig
                .generics
                .params
                .iter()
                .all(|param| matches!(param, syn::GenericParam::Lifetime(_)));
        cx.error_spanned_by(
            tokens,
            if only_lifetimes {
                "a `#[node]` function cannot have lifetime parameters: the engine hands it owned values (and the context by value or as `&Ctx`); remove them"
            } else {
                "a `#[node]` function cannot be generic: its parameter, item and output types must be concrete so that their schemas are known; write one node per type"
            },
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
                    format!("duplicate `{name}` argument: a node takes each role at most once; remove this one"),
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
                if name == "Ctx" {
                    "`Ctx` cannot be borrowed mutably: take it by value (`ctx: Ctx`) or as `&Ctx`".to_owned()
                } else {
                    format!("take `{name}` by value, like `{}`: the node owns what it is given", by_value_example(name))
                },
            ),
            Role::Unknown(unknown) => {
                let ty = type_name(unknown);
                let message = if let Type::Path(_) = unknown {
                    format!(
                        "`{ty}` is not a node argument role; wrap it in the role it plays: `Params<{ty}>` (the node's parameters), `Item<{ty}>` (one input item) or `Items<{ty}>` (all input items); the context is `Ctx`"
                    )
                } else {
                    format!(
                        "`{ty}` is not a node argument role; take the parameters as `Params<T>`, one input item as `Item<T>` or all input items as `Items<T>`, where `T` is a concrete owned type, and the context as `Ctx`"
                    )
                };
                cx.error_spanned_by(unknown, message);
            }
        }
    }
    (params, input)
}

/// Parameter, item and output types are converted from and to JSON: they own their data and
/// are named, so that their schemas are known.
fn check_owned(node: &NodeFn<'_>, cx: &mut Ctxt) {
    let role_types = node.args.iter().filter_map(|arg| match arg.role {
        Role::Params(ty) | Role::Item(ty) | Role::Items(ty) => Some(ty),
        _ => None,
    });
    for ty in role_types.chain(node.ret.map(|ret| ret.ok)) {
        if let Some((tokens, problem)) = not_owned(ty) {
            let message = match problem {
                NotOwned::Borrowed => format!(
                    "`{}` borrows, but a node's parameter, item and output types are owned values, converted from and to JSON: use an owned type, like `String` for `&str` or `Vec<T>` for `&[T]`",
                    type_name(ty)
                ),
                NotOwned::Unnamed => format!(
                    "a node's parameter, item and output types must be named so that their JSON Schemas are known: write a concrete type instead of `{}`",
                    type_name(&tokens)
                ),
            };
            cx.error_spanned_by(tokens, message);
        }
    }
}

enum NotOwned {
    /// A reference or lifetime other than `'static`.
    Borrowed,
    /// `impl Trait` or `_`.
    Unnamed,
}

/// The first part of `ty` that keeps it from being an owned, named type.
fn not_owned(ty: &Type) -> Option<(TokenStream, NotOwned)> {
    #[derive(Default)]
    struct Finder(Option<(TokenStream, NotOwned)>);

    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
            let is_static = reference
                .lifetime
                .as_ref()
                .is_some_and(|lifetime| lifetime.ident == "static");
            if !is_static && self.0.is_none() {
                self.0 = Some((reference.to_token_stream(), NotOwned::Borrowed));
            }
            syn::visit::visit_type_reference(self, reference);
        }

        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident != "static" && self.0.is_none() {
                self.0 = Some((lifetime.to_token_stream(), NotOwned::Borrowed));
            }
        }

        fn visit_type_impl_trait(&mut self, impl_trait: &'ast syn::TypeImplTrait) {
            if self.0.is_none() {
                self.0 = Some((impl_trait.to_token_stream(), NotOwned::Unnamed));
            }
        }

        fn visit_type_infer(&mut self, infer: &'ast syn::TypeInfer) {
            if self.0.is_none() {
                self.0 = Some((infer.to_token_stream(), NotOwned::Unnamed));
            }
        }
    }

    let mut finder = Finder::default();
    finder.visit_type(ty);
    finder.0
}

fn check_kind(kind: Option<&LitStr>, already_reported: bool, cx: &mut Ctxt) -> Option<String> {
    let Some(lit) = kind else {
        if !already_reported {
            cx.push(syn::Error::new(
                Span::call_site(),
                "missing node kind: add `kind = \"...\"`, like `#[node(kind = \"acme.send_mail\")]`",
            ));
        }
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
            cx.error_spanned_by(
                lit,
                format!("duplicate output name `{name}`: name each output once"),
            );
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
        const FORMS: &str = "its output (`T`, `Vec<T>`, `Option<T>` or `Routed<T>`)";
        match &sig.output {
            syn::ReturnType::Default => cx.push(syn::Error::new(
                sig.paren_token.span.close(),
                format!("a `#[node]` function must return a `Result`: add `-> Result<O, NodeError>`, where `O` is {FORMS}"),
            )),
            syn::ReturnType::Type(_, ty) => cx.error_spanned_by(
                ty,
                format!(
                    "a `#[node]` function must return a `Result`, like `Result<{}, NodeError>`: the `Ok` type is {FORMS}, the error type converts into `NodeError`",
                    type_name(ty)
                ),
            ),
        }
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

/// `ty` as written, without the spaces `to_string` puts between tokens.
fn type_name(ty: &impl ToTokens) -> String {
    let text = ty.to_token_stream().to_string();
    text.replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace("& ", "&")
}

/// How to take a role by value, for messages.
fn by_value_example(role: &str) -> &'static str {
    match role {
        "Params<T>" => "Params(params): Params<T>",
        "Item<T>" => "Item(item): Item<T>",
        _ => "Items(items): Items<T>",
    }
}
