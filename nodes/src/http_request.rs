//! `core.http_request`.
