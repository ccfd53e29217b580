//! `core.schedule_trigger`.
