//! `core.merge`.
