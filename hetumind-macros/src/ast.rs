//! The node function, read into a model that keeps the user's tokens for error spans.

use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, ReturnType, Type};

/// A `#[node]` function, as written.
pub(crate) struct NodeFn<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) args: Vec<Arg<'a>>,
    pub(crate) ret: Option<Return<'a>>,
    /// String literals passed as the output name of `Routed::to("...", ..)` in the body.
    pub(crate) routes: Vec<LitStr>,
    pub(crate) description: String,
}

/// One argument, by the role its type gives it.
pub(crate) struct Arg<'a> {
    pub(crate) arg: &'a FnArg,
    pub(crate) role: Role<'a>,
}

#[derive(Clone, Copy)]
pub(crate) enum Role<'a> {
    /// `self` in any form.
    Receiver,
    Params(&'a Type),
    Item(&'a Type),
    Items(&'a Type),
    /// `Ctx`, or `&Ctx` when `by_ref`.
    Ctx {
        by_ref: bool,
    },
    /// A role type behind a reference it must not be behind (`&Params<T>`, `&mut Ctx`).
    Borrowed(&'static str),
    Unknown(&'a Type),
}

impl Role<'_> {
    /// The role's name, for messages about duplicates.
    pub(crate) fn name(&self) -> Option<&'static str> {
        match self {
            Role::Params(_) => Some("Params<T>"),
            Role::Item(_) => Some("Item<T>"),
            Role::Items(_) => Some("Items<T>"),
            Role::Ctx { .. } => Some("Ctx"),
            Role::Receiver | Role::Borrowed(_) | Role::Unknown(_) => None,
        }
    }
}

/// The returned `Result`, its `Ok` type classified.
#[derive(Clone, Copy)]
pub(crate) struct Return<'a> {
    /// The whole `Ok` type: `T`, `Vec<T>` or `Option<T>`, of plain or `Routed` values.
    pub(crate) ok: &'a Type,
    /// Whether the values are `Routed<T>`.
    pub(crate) routed: bool,
    /// Whether the output items are `Paired<T>`, written by that name.
    pub(crate) paired: bool,
    /// `T`: the type of one output item.
    pub(crate) element: &'a Type,
    /// `E`, unless the `Result` is an alias naming only `O`.
    pub(crate) error: Option<&'a Type>,
}

impl<'a> NodeFn<'a> {
    pub(crate) fn from_item(item: &'a ItemFn) -> Self {
        let args = item
            .sig
            .inputs
            .iter()
            .map(|arg| Arg {
                arg,
                role: role_of(arg),
            })
            .collect();
        let mut routes = RouteLiterals::default();
        routes.visit_block(&item.block);
        Self {
            item,
            args,
            ret: return_of(&item.sig.output),
            routes: routes.0,
            description: description(&item.attrs),
        }
    }
}

fn role_of(arg: &FnArg) -> Role<'_> {
    let ty = match arg {
        FnArg::Receiver(_) => return Role::Receiver,
        FnArg::Typed(typed) => &*typed.ty,
    };
    match ty {
        Type::Reference(reference) => match role_of_type(&reference.elem) {
            Role::Ctx { .. } if reference.mutability.is_none() => Role::Ctx { by_ref: true },
            Role::Ctx { .. } => Role::Borrowed("Ctx"),
            Role::Params(_) => Role::Borrowed("Params<T>"),
            Role::Item(_) => Role::Borrowed("Item<T>"),
            Role::Items(_) => Role::Borrowed("Items<T>"),
            _ => Role::Unknown(ty),
        },
        _ => role_of_type(ty),
    }
}

fn role_of_type(ty: &Type) -> Role<'_> {
    let Some((name, arg)) = last_segment(ty) else {
        return Role::Unknown(ty);
    };
    match (name.as_str(), arg) {
        ("Params", Some(inner)) => Role::Params(inner),
        ("Item", Some(inner)) => Role::Item(inner),
        ("Items", Some(inner)) => Role::Items(inner),
        ("Ctx", None) => Role::Ctx { by_ref: false },
        _ => Role::Unknown(ty),
    }
}

/// The last path segment's name of `ty`, and its single type argument if it has exactly one.
fn last_segment(ty: &Type) -> Option<(String, Option<&Type>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    let arg = match &segment.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    };
    Some((segment.ident.to_string(), arg))
}

/// `O` of `-> Result<O, E>` (or of a one-argument `Result<O>` alias), classified.
fn return_of(output: &ReturnType) -> Option<Return<'_>> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let ok = types.next()?;
    let error = types.next();
    let value = match last_segment(ok) {
        Some((name, Some(inner))) if name == "Vec" || name == "Option" => inner,
        _ => ok,
    };
    let (routed, element) = match last_segment(value) {
        Some((name, Some(inner))) if name == "Routed" => (true, inner),
        _ => (false, value),
    };
    let paired = matches!(last_segment(element), Some((name, Some(_))) if name == "Paired");
    Some(Return {
        ok,
        routed,
        paired,
        element,
        error,
    })
}

/// The doc comment, lines joined, one leading space of each removed.
fn description(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) => Some(text.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned()
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// Finds `Routed::to("name", ..)` calls with a literal name, also inside macro calls such as
/// `vec![..]` whose arguments parse as expressions.
#[derive(Default)]
struct RouteLiterals(Vec<LitStr>);

impl<'ast> Visit<'ast> for RouteLiterals {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(func) = &*call.func {
            let segments: Vec<_> = func.path.segments.iter().collect();
            let is_route = matches!(
                segments.as_slice(),
                [.., owner, method] if owner.ident == "Routed" && method.ident == "to"
            );
            if is_route
                && let Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                })) = call.args.first()
            {
                self.0.push(name.clone());
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(exprs) = mac.parse_body_with(parser) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
    }
}
