//! `core.stop_and_error`.
