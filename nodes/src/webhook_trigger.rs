//! `core.webhook_trigger`.
