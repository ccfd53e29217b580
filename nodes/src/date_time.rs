//! `core.date_time`.
