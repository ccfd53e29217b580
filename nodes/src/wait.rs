//! `core.wait`.
