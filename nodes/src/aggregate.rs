//! `core.aggregate`.
