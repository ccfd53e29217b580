//! The arguments of `#[node(...)]`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, LitStr, Path, Token};

use crate::ctxt::Ctxt;

const KEYS: [&str; 8] = [
    "kind",
    "version",
    "inputs",
    "outputs",
    "role",
    "nonblocking",
    "retry",
    "crate",
];
const RETRY_KEYS: [&str; 5] = ["max_attempts", "initial", "max", "backoff_rate", "jitter"];

/// What the attribute says; every part is optional until validated.
#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) kind: Option<LitStr>,
    /// Whether an error already concerns the kind (a bad `kind` value, a misspelled `kind` key,
    /// or arguments that stopped parsing), so that it is not reported missing on top.
    pub(crate) kind_reported: bool,
    pub(crate) version: Option<u32>,
    pub(crate) inputs: Option<Inputs>,
    pub(crate) outputs: Option<Vec<LitStr>>,
    pub(crate) role: Option<NodeRole>,
    /// `nonblocking`: the node promises never to block its thread.
    pub(crate) nonblocking: Option<()>,
    pub(crate) retry: Retry,
    pub(crate) krate: Option<Path>,
}

/// The `retry(...)` arguments: overrides of the runtime's default policy.
#[derive(Default)]
pub(crate) struct Retry {
    pub(crate) max_attempts: Option<u32>,
    pub(crate) initial_ms: Option<u64>,
    pub(crate) max_ms: Option<u64>,
    pub(crate) backoff_rate: Option<f64>,
    pub(crate) jitter: Option<Jitter>,
}

/// `inputs = N` or `inputs = "any"`.
#[derive(Clone, Copy)]
pub(crate) enum Inputs {
    Fixed(u32),
    Any,
}

/// `role = "..."`: a part the node plays beyond passing items on.
#[derive(Clone, Copy)]
pub(crate) enum NodeRole {
    /// `role = "http_response"`: its first output item answers the HTTP request that started
    /// the execution.
    HttpResponse,
}

/// `retry(jitter = "...")`.
#[derive(Clone, Copy)]
pub(crate) enum Jitter {
    None,
    Full,
}

/// Parses the attribute, recording every bad argument and going on with the next one.
/// Stops early only when the tokens do not have the `key = value, key(...)` shape at all.
pub(crate) fn parse(args: TokenStream, cx: &mut Ctxt) -> Attrs {
    let mut attrs = Attrs::default();
    let parser = syn::meta::parser(|meta| parse_arg(&meta, &mut attrs, cx));
    if let Err(error) = parser.parse2(args) {
        cx.push(error);
        attrs.kind_reported = true;
    }
    attrs
}

fn parse_arg(meta: &ParseNestedMeta<'_>, attrs: &mut Attrs, cx: &mut Ctxt) -> syn::Result<()> {
    let key = &meta.path;
    if key.is_ident("kind") {
        attrs.kind_reported = true;
        match value(meta, "kind = \"acme.send_mail\"")? {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                attrs.kind_reported = false;
                set_once(cx, key, &mut attrs.kind, lit);
            }
            other => cx.error_spanned_by(
                &other,
                "`kind` must be a string literal, like `kind = \"acme.send_mail\"`",
            ),
        }
    } else if key.is_ident("version") {
        let expr = value(meta, "version = 2")?;
        if let Some(version) = parse_version(&expr, cx) {
            set_once(cx, key, &mut attrs.version, version);
        }
    } else if key.is_ident("inputs") {
        let expr = value(meta, "inputs = 2")?;
        if let Some(inputs) = parse_inputs(&expr, cx) {
            set_once(cx, key, &mut attrs.inputs, inputs);
        }
    } else if key.is_ident("role") {
        let expr = value(meta, "role = \"http_response\"")?;
        if str_literal(&expr).is_some_and(|lit| lit.value() == "http_response") {
            set_once(cx, key, &mut attrs.role, NodeRole::HttpResponse);
        } else {
            cx.error_spanned_by(
                &expr,
                "`role` names a part the node plays: `role = \"http_response\"` (its first output item answers the HTTP request that started the execution)",
            );
        }
    } else if key.is_ident("nonblocking") {
        if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
            cx.error_spanned_by(
                key,
                "`nonblocking` takes no value: write `nonblocking` alone, or leave it out",
            );
            return skip_value(meta);
        }
        set_once(cx, key, &mut attrs.nonblocking, ());
    } else if key.is_ident("outputs") {
        if !meta.input.peek(syn::token::Paren) {
            cx.error_spanned_by(
                key,
                "`outputs` takes a list of names: write `outputs(\"true\", \"false\")`",
            );
            return skip_value(meta);
        }
        let content;
        syn::parenthesized!(content in meta.input);
        let names = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        let names_given = !names.is_empty();
        let mut lits = Vec::new();
        for name in names {
            match name {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(lit), ..
                }) => lits.push(lit),
                other => cx.error_spanned_by(
                    &other,
                    "an output name must be a string literal, like `outputs(\"true\", \"false\")`",
                ),
            }
        }
        if lits.is_empty() && !names_given {
            cx.error_spanned_by(
                key,
                "`outputs()` is empty: name at least one output, like `outputs(\"true\", \"false\")`, or remove it for the single output `main`",
            );
        }
        set_once(cx, key, &mut attrs.outputs, lits);
    } else if key.is_ident("retry") {
        if !meta.input.peek(syn::token::Paren) {
            cx.error_spanned_by(
                key,
                "`retry` takes a list of settings: write `retry(max_attempts = 5, initial = \"200ms\")`",
            );
            return skip_value(meta);
        }
        meta.parse_nested_meta(|retry| parse_retry(&retry, &mut attrs.retry, cx))?;
    } else if key.is_ident("crate") {
        let value = meta.value()?;
        let path = if value.peek(LitStr) {
            value.parse::<LitStr>()?.parse::<Path>()?
        } else {
            value.parse::<Path>()?
        };
        set_once(cx, key, &mut attrs.krate, path);
    } else {
        let name = path_name(key);
        let suggestion = closest(&name, &KEYS);
        if suggestion == Some("kind") {
            attrs.kind_reported = true;
        }
        cx.error_spanned_by(key, unknown("`#[node]` argument", &name, &KEYS, suggestion));
        skip_value(meta)?;
    }
    Ok(())
}

fn parse_retry(meta: &ParseNestedMeta<'_>, retry: &mut Retry, cx: &mut Ctxt) -> syn::Result<()> {
    let key = &meta.path;
    if key.is_ident("max_attempts") {
        let expr = value(meta, "max_attempts = 5")?;
        match int_literal(&expr).map(syn::LitInt::base10_parse::<u32>) {
            Some(Ok(attempts)) if attempts >= 1 => {
                set_once(cx, key, &mut retry.max_attempts, attempts);
            }
            _ => cx.error_spanned_by(
                &expr,
                "`max_attempts` must be a whole number from 1 to 4294967295 (attempts in all, the first included), like `max_attempts = 5`",
            ),
        }
    } else if key.is_ident("initial") || key.is_ident("max") {
        let name = path_name(key);
        let expr = value(meta, &format!("{name} = \"30s\""))?;
        let ms = match str_literal(&expr) {
            Some(lit) => parse_duration_ms(&lit.value()).ok_or_else(|| {
                format!(
                    "invalid duration `{}`: expected a whole number followed by `ms`, `s`, `m` or `h`, like \"200ms\" or \"30s\"",
                    lit.value()
                )
            }),
            None => Err(format!(
                "`{name}` is a duration in a string, with its unit, like `{name} = \"200ms\"` or `{name} = \"30s\"`"
            )),
        };
        match ms {
            Ok(ms) if name == "initial" => set_once(cx, key, &mut retry.initial_ms, ms),
            Ok(ms) => set_once(cx, key, &mut retry.max_ms, ms),
            Err(message) => cx.error_spanned_by(&expr, message),
        }
    } else if key.is_ident("backoff_rate") {
        let expr = value(meta, "backoff_rate = 2.0")?;
        let rate = match &expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Float(float),
                ..
            }) => float.base10_parse::<f64>().ok(),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) => int.base10_parse::<u32>().ok().map(f64::from),
            _ => None,
        };
        match rate {
            Some(rate) if rate.is_finite() && rate >= 1.0 => {
                set_once(cx, key, &mut retry.backoff_rate, rate);
            }
            _ => cx.error_spanned_by(
                &expr,
                "`backoff_rate` must be a number of at least 1.0 (the factor between two successive intervals), like `backoff_rate = 2.0`",
            ),
        }
    } else if key.is_ident("jitter") {
        let expr = value(meta, "jitter = \"full\"")?;
        match str_literal(&expr).map(LitStr::value).as_deref() {
            Some("full") => set_once(cx, key, &mut retry.jitter, Jitter::Full),
            Some("none") => set_once(cx, key, &mut retry.jitter, Jitter::None),
            Some(other) => cx.error_spanned_by(
                &expr,
                format!("unknown jitter `{other}`; expected \"full\" or \"none\""),
            ),
            None => cx.error_spanned_by(
                &expr,
                "`jitter` must be \"full\" or \"none\", like `jitter = \"full\"`",
            ),
        }
    } else {
        let name = path_name(key);
        let suggestion = closest(&name, &RETRY_KEYS);
        cx.error_spanned_by(
            key,
            unknown("`retry` argument", &name, &RETRY_KEYS, suggestion),
        );
        skip_value(meta)?;
    }
    Ok(())
}

/// The value of a `key = value` argument, as an expression so that a value of the wrong kind
/// gets a message naming the argument instead of a bare parse error.
fn value(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!(
            "`{}` takes a value: write `{example}`",
            path_name(&meta.path)
        )));
    }
    meta.value()?.parse()
}

fn str_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

fn int_literal(expr: &Expr) -> Option<&syn::LitInt> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        }) if int.suffix().is_empty() => Some(int),
        _ => None,
    }
}

/// Milliseconds in `text`: a whole number followed by `ms`, `s`, `m` or `h`.
fn parse_duration_ms(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn parse_version(expr: &Expr, cx: &mut Ctxt) -> Option<u32> {
    if let Some(int) = int_literal(expr)
        && let Ok(version) = int.base10_parse::<u32>()
        && version >= 1
    {
        return Some(version);
    }
    let message = match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => match lit.value().trim().parse::<u32>() {
            Ok(number) => {
                format!("`version` is a number, not a string: write `version = {number}`")
            }
            Err(_) => "`version` is a number, not a string, like `version = 2`".to_owned(),
        },
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            ..
        }) => "`version` cannot be negative: versions count from 1, like `version = 2`".to_owned(),
        _ if int_literal(expr).is_some_and(|int| int.base10_digits() == "0") => {
            "`version` cannot be 0: versions count from 1, like `version = 1`".to_owned()
        }
        _ => "`version` must be a whole number from 1 to 4294967295, like `version = 2`".to_owned(),
    };
    cx.error_spanned_by(expr, message);
    None
}

fn parse_inputs(expr: &Expr, cx: &mut Ctxt) -> Option<Inputs> {
    if let Some(int) = int_literal(expr)
        && let Ok(count) = int.base10_parse::<u32>()
        && count >= 1
    {
        return Some(Inputs::Fixed(count));
    }
    if str_literal(expr).is_some_and(|lit| lit.value() == "any") {
        return Some(Inputs::Any);
    }
    cx.error_spanned_by(
        expr,
        "`inputs` is how many inputs the node reads: a whole number from 1 to 4294967295, like `inputs = 2`, or `inputs = \"any\"` for inputs 0, 1 and so on, as many as are connected",
    );
    None
}

fn set_once<T>(cx: &mut Ctxt, key: &Path, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(
            key,
            format!("duplicate `{}` argument: give it once", path_name(key)),
        );
    } else {
        *slot = Some(value);
    }
}

/// Consumes the value of an argument being rejected, so that parsing goes on after it.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

fn path_name(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// "unknown `what` `name`; expected one of `a`, `b` (did you mean `a`?)"
fn unknown(what: &str, name: &str, expected: &[&str], suggestion: Option<&str>) -> String {
    let expected = expected
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match suggestion {
        Some(key) => {
            format!("unknown {what} `{name}`: did you mean `{key}`? expected one of {expected}")
        }
        None => format!("unknown {what} `{name}`; expected one of {expected}"),
    }
}

/// The key `name` was most likely meant to be: one a typo or two away, or one containing it or
/// contained in it.
fn closest<'k>(name: &str, keys: &[&'k str]) -> Option<&'k str> {
    keys.iter()
        .map(|key| (edit_distance(name, key), *key))
        .filter(|(distance, key)| {
            *distance <= 2.min(key.len() / 2)
                || (name.len() >= 3 && (key.contains(name) || name.contains(key)))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, key)| key)
}

/// The number of single-character insertions, deletions and substitutions from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{KEYS, RETRY_KEYS, closest, parse_duration_ms};

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("200ms"), Some(200));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("5m"), Some(300_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        for bad in [
            "",
            "ms",
            "10",
            "1.5s",
            "-1s",
            "10 s",
            "3d",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("knd", &KEYS), Some("kind"));
        assert_eq!(closest("kinds", &KEYS), Some("kind"));
        assert_eq!(closest("versoin", &KEYS), Some("version"));
        assert_eq!(closest("output", &KEYS), Some("outputs"));
        assert_eq!(closest("krate", &KEYS), Some("crate"));
        assert_eq!(closest("name", &KEYS), None);
        assert_eq!(closest("timeout", &KEYS), None);
        assert_eq!(closest("attempts", &RETRY_KEYS), Some("max_attempts"));
        assert_eq!(closest("initial_interval", &RETRY_KEYS), Some("initial"));
        assert_eq!(closest("backoff", &RETRY_KEYS), Some("backoff_rate"));
        assert_eq!(closest("max_interval", &RETRY_KEYS), Some("max"));
        assert_eq!(closest("delay", &RETRY_KEYS), None);
    }
}
