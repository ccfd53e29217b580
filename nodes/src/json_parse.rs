//! `core.json_parse`.
