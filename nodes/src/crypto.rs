//! `core.crypto`.
