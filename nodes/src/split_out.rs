//! `core.split_out`.
