//! `core.switch`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

use crate::support::condition::Condition;

/// The rule outputs, in index order (rule `i` routes to output `i`); `fallback` follows them,
/// at index 8. Keep in step with the `outputs` of the `#[node]` attribute below.
const RULE_OUTPUTS: [&str; 8] = [
    "rule_0", "rule_1", "rule_2", "rule_3", "rule_4", "rule_5", "rule_6", "rule_7",
];

/// The output of the items no rule matched.
const FALLBACK: &str = "fallback";

/// The parameters of `core.switch`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SwitchParams {
    /// The rules, 1 to 8 conditions: an item matching rule `i` goes to output `rule_i`
    /// (index `i`).
    #[serde(deserialize_with = "rules")]
    #[schemars(length(min = 1, max = 8))]
    rules: Vec<Condition>,
    /// `first_match`: an item goes to the output of the first rule it matches;
    /// `all_matches`: to the output of every rule it matches.
    #[serde(default)]
    mode: Mode,
    /// What becomes of an item that matches no rule: `output` sends it to the `fallback`
    /// output (index 8), `drop` drops it.
    #[serde(default)]
    fallback: Fallback,
}

/// Which of the matching rules an item is routed by.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// The first matching rule only.
    #[default]
    FirstMatch,
    /// Every matching rule: the item is copied to each of their outputs.
    AllMatches,
}

/// What becomes of an item that matches no rule.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Fallback {
    /// Sent to the `fallback` output.
    #[default]
    Output,
    /// Dropped.
    Drop,
}

/// Reads `rules`, refusing an empty list and more rules than the node has rule outputs.
fn rules<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Condition>, D::Error> {
    let rules = Vec::<Condition>::deserialize(deserializer)?;
    if rules.is_empty() || rules.len() > RULE_OUTPUTS.len() {
        return Err(de::Error::custom(format!(
            "`rules` holds {} rules; a switch takes 1 to {}, rule `i` routing to output `rule_i`",
            rules.len(),
            RULE_OUTPUTS.len()
        )));
    }
    Ok(rules)
}

/// Routes each item, unchanged, by a list of rules: an item matching rule `i` goes to output
/// `rule_i` (index `i`, from 0 to 7), and an item matching none goes to output `fallback`
/// (index 8) or is dropped. In `first_match` mode (the default) an item takes the first rule it
/// matches; in `all_matches` mode it is copied to every matching rule's output.
#[node(
    kind = "core.switch",
    nonblocking,
    outputs(
        "rule_0", "rule_1", "rule_2", "rule_3", "rule_4", "rule_5", "rule_6", "rule_7", "fallback"
    )
)]
async fn switch(
    Params(params): Params<SwitchParams>,
    Item(item): Item<Value>,
) -> Result<Vec<Routed<Value>>, NodeError> {
    let mut matched = params
        .rules
        .iter()
        .zip(RULE_OUTPUTS)
        .filter(|(rule, _)| rule.matches(&item))
        .map(|(_, output)| output);
    let outputs: Vec<&'static str> = match params.mode {
        Mode::FirstMatch => matched.next().into_iter().collect(),
        Mode::AllMatches => matched.collect(),
    };
    let Some((first, others)) = outputs.split_first() else {
        return Ok(match params.fallback {
            Fallback::Output => vec![Routed::to(FALLBACK, item)],
            Fallback::Drop => Vec::new(),
        });
    };
    let mut routed: Vec<Routed<Value>> = others
        .iter()
        .map(|output| Routed::to(*output, item.clone()))
        .collect();
    routed.push(Routed::to(*first, item));
    Ok(routed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{FALLBACK, RULE_OUTPUTS};

    #[test]
    fn the_declared_outputs_are_the_routed_ones() {
        let registry = hetumind::Registry::global().unwrap();
        let switch = registry.latest("core.switch").unwrap();
        let mut expected = RULE_OUTPUTS.to_vec();
        expected.push(FALLBACK);
        assert_eq!(switch.outputs, expected.as_slice());
    }
}
