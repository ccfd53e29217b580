//! `core.filter`.
