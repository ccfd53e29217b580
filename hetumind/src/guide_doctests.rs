//! The guide's Rust blocks (`docs/*.md`), compiled and run as doctests so that they cannot rot:
//! one struct per chapter, each documented by its chapter. A chapter with Rust blocks needs its
//! struct here (see `docs/development.md`, "The documentation is tested").

/// `docs/writing-nodes.md`.
#[doc = include_str!("../../docs/writing-nodes.md")]
#[cfg(doctest)]
pub struct WritingNodes;

/// `docs/testing.md`.
#[doc = include_str!("../../docs/testing.md")]
#[cfg(doctest)]
pub struct Testing;

/// `docs/deploying-to-aws.md`.
#[doc = include_str!("../../docs/deploying-to-aws.md")]
#[cfg(doctest)]
pub struct DeployingToAws;

/// `docs/observability.md`.
#[doc = include_str!("../../docs/observability.md")]
#[cfg(doctest)]
pub struct Observability;
