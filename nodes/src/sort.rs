//! `core.sort`.
