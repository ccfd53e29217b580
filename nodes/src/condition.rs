//! Conditions on item fields, evaluated without any script engine: used by `core.if`, `core.switch` and `core.filter`.
