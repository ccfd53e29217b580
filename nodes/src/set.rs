//! `core.set`.
