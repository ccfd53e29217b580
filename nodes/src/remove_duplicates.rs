//! `core.remove_duplicates`.
