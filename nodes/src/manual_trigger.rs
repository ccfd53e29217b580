//! `core.manual_trigger`.
