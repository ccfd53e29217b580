//! `core.limit`.
