//! The arguments of `#[node(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Lit, LitStr, Path, Token};

use crate::ctxt::Ctxt;

const KEYS: &str = "`kind`, `version`, `outputs`, `retry`, `crate`";
const RETRY_KEYS: &str = "`max_attempts`, `initial`, `max`, `backoff_rate`, `jitter`";

/// What the attribute says; every part is optional until validated.
#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) kind: Option<LitStr>,
    pub(crate) version: Option<u32>,
    pub(crate) outputs: Option<Vec<LitStr>>,
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
    }
    attrs
}

fn parse_arg(meta: &ParseNestedMeta<'_>, attrs: &mut Attrs, cx: &mut Ctxt) -> syn::Result<()> {
    let key = &meta.path;
    if key.is_ident("kind") {
        let lit: LitStr = meta.value()?.parse()?;
        set_once(cx, key, &mut attrs.kind, lit);
    } else if key.is_ident("version") {
        let lit: Lit = meta.value()?.parse()?;
        if let Some(version) = parse_version(&lit, cx) {
            set_once(cx, key, &mut attrs.version, version);
        }
    } else if key.is_ident("outputs") {
        let content;
        syn::parenthesized!(content in meta.input);
        let names = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
        set_once(cx, key, &mut attrs.outputs, names.into_iter().collect());
    } else if key.is_ident("retry") {
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
        cx.error_spanned_by(
            key,
            format!(
                "unknown `#[node]` argument `{}`; expected one of {KEYS}",
                path_name(key)
            ),
        );
        skip_value(meta)?;
    }
    Ok(())
}

fn parse_retry(meta: &ParseNestedMeta<'_>, retry: &mut Retry, cx: &mut Ctxt) -> syn::Result<()> {
    let key = &meta.path;
    if key.is_ident("max_attempts") {
        let lit: Lit = meta.value()?.parse()?;
        match &lit {
            Lit::Int(int) => match int.base10_parse::<u32>() {
                Ok(attempts) if attempts >= 1 => set_once(cx, key, &mut retry.max_attempts, attempts),
                _ => cx.error_spanned_by(&lit, "`max_attempts` must be a whole number from 1 to 4294967295 (attempts in all, the first included)"),
            },
            _ => cx.error_spanned_by(&lit, "`max_attempts` must be a whole number, like `max_attempts = 5`"),
        }
    } else if key.is_ident("initial") || key.is_ident("max") {
        let lit: LitStr = meta.value()?.parse()?;
        match parse_duration_ms(&lit.value()) {
            Some(ms) if key.is_ident("initial") => set_once(cx, key, &mut retry.initial_ms, ms),
            Some(ms) => set_once(cx, key, &mut retry.max_ms, ms),
            None => cx.error_spanned_by(
                &lit,
                format!(
                    "invalid duration `{}`: expected a whole number followed by `ms`, `s`, `m` or `h`, like \"200ms\" or \"30s\"",
                    lit.value()
                ),
            ),
        }
    } else if key.is_ident("backoff_rate") {
        let lit: Lit = meta.value()?.parse()?;
        let rate = match &lit {
            Lit::Float(float) => float.base10_parse::<f64>().ok(),
            Lit::Int(int) => int.base10_parse::<u32>().ok().map(f64::from),
            _ => None,
        };
        match rate {
            Some(rate) if rate.is_finite() && rate >= 1.0 => {
                set_once(cx, key, &mut retry.backoff_rate, rate);
            }
            _ => cx.error_spanned_by(
                &lit,
                "`backoff_rate` must be a number of at least 1.0, like `backoff_rate = 2.0`",
            ),
        }
    } else if key.is_ident("jitter") {
        let lit: LitStr = meta.value()?.parse()?;
        match lit.value().as_str() {
            "full" => set_once(cx, key, &mut retry.jitter, Jitter::Full),
            "none" => set_once(cx, key, &mut retry.jitter, Jitter::None),
            other => cx.error_spanned_by(
                &lit,
                format!("unknown jitter `{other}`; expected \"full\" or \"none\""),
            ),
        }
    } else {
        cx.error_spanned_by(
            key,
            format!(
                "unknown `retry` argument `{}`; expected one of {RETRY_KEYS}",
                path_name(key)
            ),
        );
        skip_value(meta)?;
    }
    Ok(())
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

fn parse_version(lit: &Lit, cx: &mut Ctxt) -> Option<u32> {
    let parsed = match lit {
        Lit::Int(int) if int.suffix().is_empty() => {
            int.base10_parse::<u32>().ok().filter(|v| *v >= 1)
        }
        _ => None,
    };
    if parsed.is_none() {
        cx.error_spanned_by(
            lit,
            "`version` must be a whole number from 1 to 4294967295, like `version = 2`",
        );
    }
    parsed
}

fn set_once<T>(cx: &mut Ctxt, key: &Path, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(key, format!("duplicate `{}` argument", path_name(key)));
    } else {
        *slot = Some(value);
    }
}

/// Consumes the value of an argument being rejected, so that parsing goes on after it.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

fn path_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

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
}
