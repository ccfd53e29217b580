//! `acme.order_total`: an order in, its totals out. Replace it with your own nodes; the kind's
//! prefix (`acme.`) is yours to choose, and keeps your kinds apart from the built-in `core.*`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameters of `acme.order_total`, from the node's `parameters` in the workflow. `Clone`:
/// read once per run, then cloned for every item.
#[derive(Clone, Deserialize, JsonSchema)]
pub struct TotalParams {
    /// The tax added to the subtotal, in percent: `20` adds 20 %.
    pub tax_percent: u32,
}

/// An order: one input item.
#[derive(Deserialize, JsonSchema)]
pub struct Order {
    /// The order's id, passed on to its totals.
    pub id: String,
    /// What was ordered.
    pub lines: Vec<Line>,
}

/// One line of an order.
#[derive(Deserialize, JsonSchema)]
pub struct Line {
    /// How many were ordered.
    pub quantity: u32,
    /// The price of one, in cents.
    pub unit_price_cents: u64,
}

/// An order's totals: one output item.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderTotal {
    /// The order's id.
    pub id: String,
    /// The sum of the lines, in cents.
    pub subtotal_cents: u64,
    /// The tax on the subtotal, in cents, rounded half up.
    pub tax_cents: u64,
    /// The subtotal and the tax.
    pub total_cents: u64,
}

/// Adds up an order's lines and the tax on them, in cents.
///
/// An order without lines, or too large to count in cents, fails the node with a terminal
/// error: running it again would not change the order.
///
/// `Item<Order>`: the function is called once per input item. `nonblocking`: it only computes,
/// so it runs on the engine's own thread; leave it out for a node that blocks its thread (a
/// synchronous client, `std::thread::sleep`, heavy work).
#[node(kind = "acme.order_total", version = 1, nonblocking)]
pub async fn order_total(
    Params(params): Params<TotalParams>,
    Item(order): Item<Order>,
) -> Result<OrderTotal, NodeError> {
    if order.lines.is_empty() {
        return Err(NodeError::terminal(format!(
            "order `{}` has no lines",
            order.id
        )));
    }
    let too_large = || NodeError::terminal(format!("order `{}` is too large", order.id));
    let subtotal_cents = order.lines.iter().try_fold(0_u64, |sum, line| {
        u64::from(line.quantity)
            .checked_mul(line.unit_price_cents)
            .and_then(|amount| sum.checked_add(amount))
    });
    let subtotal_cents = subtotal_cents.ok_or_else(too_large)?;
    // Half up: half a cent or more counts as a whole one.
    let tax_cents = subtotal_cents
        .checked_mul(u64::from(params.tax_percent))
        .and_then(|hundredths| hundredths.checked_add(50))
        .map(|hundredths| hundredths / 100)
        .ok_or_else(too_large)?;
    let total_cents = subtotal_cents
        .checked_add(tax_cents)
        .ok_or_else(too_large)?;
    Ok(OrderTotal {
        id: order.id,
        subtotal_cents,
        tax_cents,
        total_cents,
    })
}
