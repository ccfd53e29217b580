//! The registry: every node linked into the binary, by kind and version.
//!
//! `#[node]` submits a static [`NodeRegistration`] with `inventory`; the linker gathers them,
//! and the registry indexes them the first time it is asked, once.

use std::sync::OnceLock;

use serde::Serialize;

use crate::expression::accepting_expressions;
use crate::node::{ExecuteMode, InputCount, NodeRegistration, SourceLocation};
use crate::retry::RetryPolicy;

inventory::collect!(NodeRegistration);

/// Every registered node, sorted by kind then version.
#[derive(Debug)]
pub struct Registry {
    /// Sorted by kind then version, one per pair: looked up by binary search.
    nodes: Vec<&'static NodeRegistration>,
}

/// Why a set of registrations cannot form a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .duplicates.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct RegistryError {
    /// Every `(kind, version)` registered more than once.
    pub duplicates: Vec<Duplicate>,
}

/// One `(kind, version)` pair registered twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node `{kind}` version {version} is registered twice: at {first} and at {second}")]
pub struct Duplicate {
    /// The node kind.
    pub kind: &'static str,
    /// The node version.
    pub version: u32,
    /// Where the first registration was defined.
    pub first: SourceLocation,
    /// Where the second registration was defined.
    pub second: SourceLocation,
}

impl Registry {
    /// The registry of every node linked into this binary, built on first use.
    ///
    /// # Errors
    ///
    /// When two nodes share a kind and version; the error names both definitions.
    pub fn global() -> Result<&'static Self, &'static RegistryError> {
        static GLOBAL: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Self::new(inventory::iter::<NodeRegistration>))
            .as_ref()
    }

    /// A registry of the given registrations.
    ///
    /// # Errors
    ///
    /// When two registrations share a kind and version.
    pub fn new(
        registrations: impl IntoIterator<Item = &'static NodeRegistration>,
    ) -> Result<Self, RegistryError> {
        // One sort does it all: by identity, then by source location, so that whatever order
        // the linker chose, each extra definition is reported against the first one in
        // source order. No per-node allocation: start-up cost stays a sort of pointers.
        let mut all: Vec<&'static NodeRegistration> = registrations.into_iter().collect();
        all.sort_unstable_by_key(|registration| {
            let location = registration.location;
            (
                registration.kind,
                registration.version,
                location.file,
                location.line,
                location.module,
            )
        });
        let mut nodes: Vec<&'static NodeRegistration> = Vec::with_capacity(all.len());
        let mut duplicates = Vec::new();
        for registration in all {
            match nodes.last() {
                Some(first)
                    if first.kind == registration.kind && first.version == registration.version =>
                {
                    duplicates.push(Duplicate {
                        kind: registration.kind,
                        version: registration.version,
                        first: first.location,
                        second: registration.location,
                    });
                }
                _ => nodes.push(registration),
            }
        }
        if duplicates.is_empty() {
            Ok(Self { nodes })
        } else {
            Err(RegistryError { duplicates })
        }
    }

    /// The node of `kind` at `version`.
    #[must_use]
    pub fn get(&self, kind: &str, version: u32) -> Option<&'static NodeRegistration> {
        self.nodes
            .binary_search_by(|node| (node.kind, node.version).cmp(&(kind, version)))
            .ok()
            .map(|index| self.nodes[index])
    }

    /// The highest registered version of `kind`.
    #[must_use]
    pub fn latest(&self, kind: &str) -> Option<&'static NodeRegistration> {
        // The first index past `kind`'s entries; the one before it, if of `kind`, is the
        // highest version.
        let end = self.nodes.partition_point(|node| node.kind <= kind);
        end.checked_sub(1)
            .map(|index| self.nodes[index])
            .filter(|node| node.kind == kind)
    }

    /// The node of `kind` at `version`, or at its highest version when `version` is `None`.
    #[must_use]
    pub fn resolve(&self, kind: &str, version: Option<u32>) -> Option<&'static NodeRegistration> {
        match version {
            Some(version) => self.get(kind, version),
            None => self.latest(kind),
        }
    }

    /// Every registration, sorted by kind then version.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'static NodeRegistration> + '_ {
        self.nodes.iter().copied()
    }

    /// How many nodes are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The catalog: every node with its description, inputs, outputs, schemas and retry policy,
    /// sorted.
    #[must_use]
    pub fn catalog(&self) -> Vec<CatalogEntry> {
        self.iter().map(CatalogEntry::of).collect()
    }
}

/// One node of the catalog, as `nodes --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    /// The node kind.
    pub kind: &'static str,
    /// The node version.
    pub version: u32,
    /// What it does.
    pub description: &'static str,
    /// How many inputs it reads: a number, or `"any"`.
    pub inputs: InputCount,
    /// Its outputs, in index order.
    pub outputs: &'static [&'static str],
    /// How it consumes input.
    pub execute_mode: ExecuteMode,
    /// The JSON Schema of its parameters, saying that every field also accepts an expression
    /// (see [`expression`](crate::expression)).
    pub params_schema: schemars::Schema,
    /// The JSON Schema of an input item's `json`.
    pub input_schema: schemars::Schema,
    /// The JSON Schema of an output item's `json`.
    pub output_schema: schemars::Schema,
    /// Its default retry policy.
    pub retry: RetryPolicy,
    /// Where it was defined.
    pub source: SourceLocation,
}

impl CatalogEntry {
    /// The catalog entry of `registration`, with its schemas generated now.
    #[must_use]
    pub fn of(registration: &NodeRegistration) -> Self {
        Self {
            kind: registration.kind,
            version: registration.version,
            description: registration.description,
            inputs: registration.inputs,
            outputs: registration.outputs,
            execute_mode: registration.mode,
            params_schema: accepting_expressions((registration.params_schema)()),
            input_schema: (registration.input_schema)(),
            output_schema: (registration.output_schema)(),
            retry: registration.retry,
            source: registration.location,
        }
    }
}
