//! `core.switch`.
