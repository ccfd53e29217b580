//! `core.summarize`.
