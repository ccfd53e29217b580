//! Data: the nodes that reshape, sort, deduplicate, summarize or compute items' fields.

mod crypto;
mod date_time;
mod json_parse;
mod remove_duplicates;
mod set;
mod sort;
mod summarize;
