//! `core.event_trigger`.
