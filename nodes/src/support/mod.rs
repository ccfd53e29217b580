//! What the nodes share, apart from the nodes themselves: field paths, conditions, reading and
//! writing items' fields, key equality and the order on JSON values, and checks of parameters.

pub mod condition;
pub(crate) mod json;
pub(crate) mod key;
pub(crate) mod order;
pub(crate) mod params;
pub mod path;
