//! `core.summarize`.

use std::collections::{HashMap, HashSet};

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use crate::support::json::{excerpt, field_error, kind_of};
use crate::support::key::Key;
use crate::support::order::{compare, integer};
use crate::support::params::schema_of_params;
use crate::support::path::FieldPath;

/// The parameters of `core.summarize`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SummarizeParams {
    /// The fields whose values form the groups, such as `["customer.country"]`: one output
    /// item per distinct combination, in order of first appearance. Empty or absent: all items
    /// form one group.
    #[serde(default)]
    group_by: Vec<FieldPath>,
    /// The figures computed for each group.
    #[serde(default)]
    aggregations: Vec<AggregationParams>,
}

/// One figure computed for each group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AggregationParams {
    /// `count`, `count_distinct`, `sum`, `avg`, `min` or `max`.
    operation: Operation,
    /// The field aggregated. Required by every operation but `count`, which without it counts
    /// the group's items and with it the items where the field is present and not null.
    #[serde(default)]
    field: Option<FieldPath>,
    /// Where the figure goes in the output item. Default: the operation and the field joined by
    /// `_` (`sum_amount`; dots become `_`), or `count`.
    #[serde(default, rename = "as")]
    output: Option<FieldPath>,
}

/// An aggregation operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Operation {
    /// The number of items (with `field`: where it is present and not null).
    Count,
    /// The number of distinct present, non-null values of `field`.
    CountDistinct,
    /// The sum of the numbers in `field` (0 for none).
    Sum,
    /// The mean of the numbers in `field` (null for none).
    Avg,
    /// The smallest present, non-null value of `field` (null for none).
    Min,
    /// The largest present, non-null value of `field` (null for none).
    Max,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::CountDistinct => "count_distinct",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// The parameters of `core.summarize`, checked: something to compute, every figure with the
/// field its operation needs and an output path of its own.
#[derive(Debug, Deserialize)]
#[serde(try_from = "SummarizeParams")]
struct SummarizeSpec {
    group_by: Vec<FieldPath>,
    aggregations: Vec<AggregationSpec>,
}

/// One figure, checked: its field is present where the operation needs one, its output path
/// is resolved.
#[derive(Debug)]
struct AggregationSpec {
    operation: Operation,
    field: Option<FieldPath>,
    output: FieldPath,
}

schema_of_params!(SummarizeSpec => SummarizeParams);

impl TryFrom<SummarizeParams> for SummarizeSpec {
    type Error = String;

    fn try_from(params: SummarizeParams) -> Result<Self, String> {
        if params.group_by.is_empty() && params.aggregations.is_empty() {
            return Err("give `group_by`, `aggregations` or both".to_owned());
        }
        let mut aggregations = Vec::with_capacity(params.aggregations.len());
        for (index, aggregation) in params.aggregations.into_iter().enumerate() {
            let operation = aggregation.operation;
            let output = match (aggregation.output, &aggregation.field) {
                (_, None) if operation != Operation::Count => {
                    return Err(format!(
                        "at `aggregations[{index}].field`: the `{}` operation needs a field",
                        operation.name()
                    ));
                }
                (Some(output), _) => output,
                (None, None) => FieldPath::parse("count")?,
                (None, Some(field)) => FieldPath::parse(&format!(
                    "{}_{}",
                    operation.name(),
                    field.as_str().replace('.', "_")
                ))?,
            };
            aggregations.push(AggregationSpec {
                operation,
                field: aggregation.field,
                output,
            });
        }
        let outputs: Vec<(String, &FieldPath)> = (params.group_by.iter().enumerate())
            .map(|(index, field)| (format!("group_by[{index}]"), field))
            .chain(aggregations.iter().enumerate().map(|(index, aggregation)| {
                (format!("aggregations[{index}]"), &aggregation.output)
            }))
            .collect();
        for (position, (at, output)) in outputs.iter().enumerate() {
            let earlier = outputs.get(..position).unwrap_or_default();
            if let Some((_, taken)) = earlier.iter().find(|(_, taken)| overlap(taken, output)) {
                return Err(format!(
                    "at `{at}`: the output field `{output}` overlaps `{taken}`, another output field (rename a figure with `as`)"
                ));
            }
        }
        Ok(Self {
            group_by: params.group_by,
            aggregations,
        })
    }
}

/// Whether two output paths overlap: one is the other, or inside it.
fn overlap(a: &FieldPath, b: &FieldPath) -> bool {
    let inside = |inner: &str, outer: &str| {
        outer.is_empty()
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    inside(a.as_str(), b.as_str()) || inside(b.as_str(), a.as_str())
}

/// Summarizes items: counts, sums, averages, minimums and maximums of fields, per group of
/// items sharing the values of the `group_by` fields (one output item per group, holding those
/// fields and the figures) or over all items. `sum` and `avg` read numbers: a missing or null
/// field is skipped, any other non-number fails the node, naming the item and the field. `min`
/// and `max` take any values, in the order `core.sort` uses. An item lacking a `group_by` field
/// falls in the group where it is null. No input items, no output items.
#[node(kind = "core.summarize", nonblocking)]
async fn summarize(
    Params(params): Params<SummarizeSpec>,
    Items(items): Items<Value>,
) -> Result<Vec<Value>, NodeError> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut positions: HashMap<Vec<Key<'_>>, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let key = params
            .group_by
            .iter()
            .map(|field| Key(field.get(item).unwrap_or(&Value::Null)))
            .collect();
        let next = groups.len();
        let position = *positions.entry(key).or_insert(next);
        if position == next {
            groups.push(Vec::new());
        }
        if let Some(members) = groups.get_mut(position) {
            members.push(index);
        }
    }
    groups
        .iter()
        .map(|members| summarize_group(&params, &items, members))
        .collect()
}

/// The output item of one group: its `group_by` values and its figures.
fn summarize_group(
    params: &SummarizeSpec,
    items: &[Value],
    members: &[usize],
) -> Result<Value, NodeError> {
    let mut output = Value::Object(Map::new());
    let first = members.first().and_then(|&index| items.get(index));
    for field in &params.group_by {
        let value = first
            .and_then(|item| field.get(item))
            .unwrap_or(&Value::Null);
        set_output(&mut output, field, value.clone())?;
    }
    for aggregation in &params.aggregations {
        let values: Vec<(usize, &Value)> = members
            .iter()
            .filter_map(|&index| {
                let item = items.get(index)?;
                let value = match &aggregation.field {
                    Some(field) => field.get(item).filter(|value| !value.is_null())?,
                    None => item,
                };
                Some((index, value))
            })
            .collect();
        let figure = aggregate(aggregation, &values)?;
        set_output(&mut output, &aggregation.output, figure)?;
    }
    Ok(output)
}

/// Writes a field into a group's output item.
fn set_output(output: &mut Value, path: &FieldPath, figure: Value) -> Result<(), NodeError> {
    if path.set(output, figure) {
        Ok(())
    } else {
        Err(NodeError::terminal(format!(
            "cannot write the output field `{path}`"
        )))
    }
}

/// One figure over the present, non-null values of a group, each with its item's position.
fn aggregate(
    aggregation: &AggregationSpec,
    values: &[(usize, &Value)],
) -> Result<Value, NodeError> {
    Ok(match aggregation.operation {
        Operation::Count => Value::from(values.len()),
        Operation::CountDistinct => {
            let distinct: HashSet<Key<'_>> = values.iter().map(|&(_, value)| Key(value)).collect();
            Value::from(distinct.len())
        }
        Operation::Sum => sum(aggregation, values)?.into_value()?,
        Operation::Avg => match values.len() {
            0 => Value::Null,
            #[allow(clippy::cast_precision_loss)]
            len => finite(sum(aggregation, values)?.as_f64() / len as f64)?,
        },
        Operation::Min => extreme(values, std::cmp::Ordering::Less),
        Operation::Max => extreme(values, std::cmp::Ordering::Greater),
    })
}

/// The first value that is `wanted` (less or greater) than every other, or null for none.
fn extreme(values: &[(usize, &Value)], wanted: std::cmp::Ordering) -> Value {
    values
        .iter()
        .map(|&(_, value)| value)
        .reduce(|best, value| {
            if compare(value, best) == wanted {
                value
            } else {
                best
            }
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// A sum kept exact while every number is an integer.
#[derive(Debug, Default)]
struct Sum {
    integers: i128,
    floats: f64,
    any_float: bool,
}

impl Sum {
    fn as_f64(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let integers = self.integers as f64;
        integers + self.floats
    }

    fn into_value(self) -> Result<Value, NodeError> {
        if !self.any_float {
            if let Ok(sum) = i64::try_from(self.integers) {
                return Ok(Value::from(sum));
            }
            if let Ok(sum) = u64::try_from(self.integers) {
                return Ok(Value::from(sum));
            }
        }
        finite(self.as_f64())
    }
}

/// The sum of the numbers among `values`.
fn sum(aggregation: &AggregationSpec, values: &[(usize, &Value)]) -> Result<Sum, NodeError> {
    let mut total = Sum::default();
    for &(index, value) in values {
        let Value::Number(number) = value else {
            let field = aggregation.field.clone().unwrap_or_default();
            return Err(field_error(
                index,
                &field,
                format_args!(
                    "`{}` needs a number, found {} ({})",
                    aggregation.operation.name(),
                    kind_of(value),
                    excerpt(value)
                ),
            ));
        };
        match integer(number).and_then(|integer| total.integers.checked_add(integer)) {
            Some(integers) => total.integers = integers,
            None => {
                total.floats += number.as_f64().unwrap_or_default();
                total.any_float = true;
            }
        }
    }
    Ok(total)
}

/// A float as a JSON number.
fn finite(value: f64) -> Result<Value, NodeError> {
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| NodeError::terminal("the result is too large to be a JSON number"))
}
