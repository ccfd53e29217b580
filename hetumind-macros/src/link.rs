//! `link_node_crates!()`: puts every dependency of the calling package into the link.
//!
//! The linker only keeps a crate that the binary names somewhere; a node crate that is listed
//! in `Cargo.toml` but never named would be dropped with every node it registers. Naming each
//! dependency once (`use dep as _;`) makes that impossible, whatever the user writes.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

pub(crate) fn expand(input: &TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "`link_node_crates!()` takes no arguments")
            .to_compile_error();
    }
    match linked_dependencies() {
        Ok((manifest, links)) => {
            let manifest = manifest.display().to_string();
            let uses = links.iter().map(|link| {
                let name = format_ident!("{}", link.name);
                let cfg = link.cfg.as_ref().map(|cfg| quote!(#[cfg(#cfg)]));
                quote!(#cfg use #name as _;)
            });
            quote! {
                #[doc(hidden)]
                #[allow(unused_imports)]
                mod __hetumind_linked_crates {
                    // Rebuilds the binary when its manifest changes.
                    const _: &[u8] = ::core::include_bytes!(#manifest);
                    #(#uses)*
                }
            }
        }
        Err(message) => syn::Error::new(Span::call_site(), message).to_compile_error(),
    }
}

/// A dependency to link, with the `cfg` it depends on.
struct Link {
    name: String,
    cfg: Option<TokenStream>,
}

fn linked_dependencies() -> Result<(PathBuf, Vec<Link>), String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("`link_node_crates!()` must be built by Cargo (CARGO_MANIFEST_DIR is not set)")?;
    let manifest = PathBuf::from(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|error| format!("cannot read {}: {error}", manifest.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|error| format!("cannot parse {}: {error}", manifest.display()))?;
    let mut links = Vec::new();
    if let Some(name) = own_library(&table, &manifest) {
        links.push(Link { name, cfg: None });
    }
    if let Some(deps) = table.get("dependencies").and_then(toml::Value::as_table) {
        collect(deps, None, &manifest, &mut links);
    }
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for (spec, target) in targets {
            // `cfg(...)` keys become `#[cfg(...)]`; keys naming a target triple have no `cfg`
            // equivalent and are left out (name such a crate in the binary yourself).
            let Some(cfg) = spec
                .strip_prefix("cfg(")
                .and_then(|rest| rest.strip_suffix(')'))
                .and_then(|inner| inner.parse::<TokenStream>().ok())
            else {
                continue;
            };
            if let Some(deps) = target.get("dependencies").and_then(toml::Value::as_table) {
                collect(deps, Some(&cfg), &manifest, &mut links);
            }
        }
    }
    Ok((manifest, links))
}

/// The package's own library, when the crate being built is another target of the package
/// (a binary, a test, an example, a bench) that would otherwise not link it.
fn own_library(table: &toml::Table, manifest: &Path) -> Option<String> {
    let lib = table.get("lib");
    let has_lib = lib.is_some() || manifest.with_file_name("src").join("lib.rs").is_file();
    if !has_lib {
        return None;
    }
    let package = table.get("package")?.get("name")?.as_str()?;
    let name = lib
        .and_then(|lib| lib.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or(package)
        .replace('-', "_");
    // A binary may share the library's crate name; only the library itself must be skipped.
    let is_binary = std::env::var_os("CARGO_BIN_NAME").is_some();
    let building = std::env::var("CARGO_CRATE_NAME").ok()?;
    (is_binary || building != name).then_some(name)
}

fn collect(
    deps: &toml::Table,
    target_cfg: Option<&TokenStream>,
    manifest: &Path,
    links: &mut Vec<Link>,
) {
    for (key, spec) in deps {
        let name = crate_name(key, spec, manifest);
        let optional = spec
            .get("optional")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        // An optional dependency is linked when its implicit feature is on.
        let feature = optional.then(|| quote!(feature = #key));
        let cfg = match (target_cfg, feature) {
            (None, None) => None,
            (Some(cfg), None) => Some(cfg.clone()),
            (None, Some(feature)) => Some(feature),
            (Some(cfg), Some(feature)) => Some(quote!(all(#cfg, #feature))),
        };
        links.push(Link { name, cfg });
    }
}

/// The name code uses for dependency `key`: the key itself when the dependency is renamed
/// (`key = { package = "..." }`), else the name of the dependency's library target, which may
/// differ from the package name (`md-5` is `md5`). The library name is read from the
/// dependency's own manifest when it can be found (a path dependency, or the registry's source
/// cache); otherwise the package name with `-` as `_`, as Cargo's default is.
fn crate_name(key: &str, spec: &toml::Value, manifest: &Path) -> String {
    let default = key.replace('-', "_");
    if spec.get("package").is_some() {
        return default;
    }
    let (spec, base) = match spec.get("workspace").and_then(toml::Value::as_bool) {
        Some(true) => match workspace_dependency(key, manifest) {
            Some((spec, root)) if spec.get("package").is_none() => (spec, root),
            _ => return default,
        },
        _ => (
            spec.clone(),
            manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
        ),
    };
    let dependency_manifest = match spec.get("path").and_then(toml::Value::as_str) {
        Some(path) => Some(base.join(path).join("Cargo.toml")),
        None => registry_manifest(key),
    };
    dependency_manifest
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            table
                .get("lib")?
                .get("name")?
                .as_str()
                .map(|name| name.replace('-', "_"))
        })
        .unwrap_or(default)
}

/// The `[workspace.dependencies]` entry for `key` and the workspace root it is relative to.
fn workspace_dependency(key: &str, manifest: &Path) -> Option<(toml::Value, PathBuf)> {
    manifest.ancestors().skip(2).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let table: toml::Table = text.parse().ok()?;
        let spec = table.get("workspace")?.get("dependencies")?.get(key)?;
        let spec = match spec {
            // `name = "1.0"`: a registry dependency.
            toml::Value::String(_) => toml::Value::Table(toml::Table::new()),
            other => other.clone(),
        };
        Some((spec, dir.to_path_buf()))
    })
}

/// The manifest of some downloaded version of registry package `package`, if any.
fn registry_manifest(package: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let prefix = format!("{package}-");
    std::fs::read_dir(home.join("registry").join("src"))
        .ok()?
        .flatten()
        .filter_map(|index| std::fs::read_dir(index.path()).ok())
        .flatten()
        .flatten()
        .find(|entry| {
            entry.file_name().to_str().is_some_and(|name| {
                // `{package}-{major}.{minor}.{patch}`, not another package sharing the prefix.
                name.strip_prefix(&prefix)
                    .and_then(|version| version.split_once('.'))
                    .is_some_and(|(major, _)| {
                        !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit())
                    })
            })
        })
        .map(|entry| entry.path().join("Cargo.toml"))
}
