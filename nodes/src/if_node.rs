//! `core.if`.
