//! Conditions on item fields, evaluated without any script engine: used by `core.if`,
//! `core.switch` and `core.filter`.
//!
//! A condition is a JSON object, either a comparison of one field of the item:
//!
//! ```json
//! { "field": "customer.country", "operator": "equals", "value": "FR", "case_sensitive": false }
//! ```
//!
//! or a group of conditions, nestable: `{"all": [..]}` (every one holds), `{"any": [..]}` (at
//! least one holds), `{"not": {..}}` (the condition does not hold).
//!
//! Evaluation never fails. A missing field or a field of the wrong type makes a comparison
//! false (`greater_than` between a string and a number is false, and so is `less_than`); the
//! negated operators (`not_equals`, `not_contains`, `not_exists`, `is_not_empty`) are the exact
//! negations of their positive forms, so they are true there.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex::{Regex, RegexBuilder};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::json::kind_of;
use super::key::equal_by;
use super::order::compare_numbers;
use super::path::FieldPath;

/// A test on one item: a comparison of one of its fields, or an `all` / `any` / `not` group of
/// conditions. Read it from parameters with serde; every check (operator names, a `value` for
/// the operators that need one, regular expressions) happens then, and [`Condition::matches`]
/// cannot fail.
#[derive(Debug, Clone)]
pub struct Condition(Rule);

/// What a condition is made of.
#[derive(Debug, Clone)]
enum Rule {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Comparison),
}

/// A comparison of the value at `field` (absent when the item has no such field).
#[derive(Debug, Clone)]
struct Comparison {
    field: FieldPath,
    test: Test,
    /// Whether the result of `test` is negated (`not_equals`, `not_contains`, ...).
    negate: bool,
    case_sensitive: bool,
}

/// The positive form of an operator, with its checked value.
#[derive(Debug, Clone)]
enum Test {
    Equals(Value),
    /// A string value is stored case-folded when the comparison is not case-sensitive.
    Contains(Value),
    /// Case-folded when the comparison is not case-sensitive.
    StartsWith(String),
    /// Case-folded when the comparison is not case-sensitive.
    EndsWith(String),
    /// Shared by every evaluation, and with it the regex's pool of matching caches.
    Regex(Arc<Regex>),
    /// An ordering operator: whether the field's ordering against the value is accepted.
    Order(fn(Ordering) -> bool, Value),
    Exists,
    IsEmpty,
}

/// How a comparison compares the item's field with its `value`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// The field equals the value (numbers by value, so `1` equals `1.0`; arrays element by
    /// element; objects entry by entry, whatever their key order). A missing field equals
    /// nothing, not even `null`.
    Equals,
    /// The negation of `equals`.
    NotEquals,
    /// A string field contains the value as a substring, or an array field holds an element
    /// equal to the value (as `equals` compares).
    Contains,
    /// The negation of `contains`.
    NotContains,
    /// A string field starts with the value (a string).
    StartsWith,
    /// A string field ends with the value (a string).
    EndsWith,
    /// A string field matches the value, a regular expression (Rust `regex` syntax), anywhere
    /// in the string: anchor it with `^` and `$` to match the whole string.
    Regex,
    /// The field is greater than the value: both numbers (compared numerically) or both
    /// strings (compared by Unicode code point, so RFC 3339 dates in the same format and time
    /// zone compare chronologically).
    GreaterThan,
    /// The field is greater than or equal to the value; see `greater_than`.
    GreaterOrEqual,
    /// The field is less than the value; see `greater_than`.
    LessThan,
    /// The field is less than or equal to the value; see `greater_than`.
    LessOrEqual,
    /// The item has the field, whatever its value (`null` included). Takes no value.
    Exists,
    /// The item does not have the field. Takes no value.
    NotExists,
    /// The field is missing, `null`, or an empty string, array or object. Takes no value.
    IsEmpty,
    /// The negation of `is_empty`. Takes no value.
    IsNotEmpty,
}

impl Condition {
    /// Whether `item` meets this condition.
    #[must_use]
    pub fn matches(&self, item: &Value) -> bool {
        match &self.0 {
            Rule::All(conditions) => conditions.iter().all(|condition| condition.matches(item)),
            Rule::Any(conditions) => conditions.iter().any(|condition| condition.matches(item)),
            Rule::Not(condition) => !condition.matches(item),
            Rule::Compare(comparison) => comparison.matches(item),
        }
    }
}

impl Comparison {
    fn matches(&self, item: &Value) -> bool {
        self.negate != self.test.holds(self.field.get(item), self.case_sensitive)
    }
}

impl Test {
    /// Whether the test holds for `found`, the field's value (`None` when missing).
    fn holds(&self, found: Option<&Value>, case_sensitive: bool) -> bool {
        match (self, found) {
            (Self::Exists, found) => found.is_some(),
            (Self::IsEmpty, found) => found.is_none_or(is_empty),
            (_, None) => false,
            (Self::Equals(expected), Some(value)) => equal(value, expected, case_sensitive),
            (Self::Contains(Value::String(needle)), Some(Value::String(text))) => {
                fold(text, case_sensitive).contains(needle.as_str())
            }
            (Self::Contains(needle), Some(Value::Array(elements))) => elements
                .iter()
                .any(|element| equal(element, needle, case_sensitive)),
            (Self::StartsWith(prefix), Some(Value::String(text))) => {
                fold(text, case_sensitive).starts_with(prefix.as_str())
            }
            (Self::EndsWith(suffix), Some(Value::String(text))) => {
                fold(text, case_sensitive).ends_with(suffix.as_str())
            }
            (Self::Regex(regex), Some(Value::String(text))) => regex.is_match(text),
            (Self::Order(accept, bound), Some(value)) => {
                order(value, bound, case_sensitive).is_some_and(accept)
            }
            _ => false,
        }
    }
}

/// `text` as compared: itself, or lowercased when the comparison is not case-sensitive.
fn fold(text: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Whether `a` equals `b` by [key equality](super::key), strings per `case_sensitive`.
fn equal(a: &Value, b: &Value, case_sensitive: bool) -> bool {
    equal_by(a, b, &|a, b| {
        fold(a, case_sensitive) == fold(b, case_sensitive)
    })
}

/// The ordering of `a` against `b` when both are numbers or both are strings.
fn order(a: &Value, b: &Value, case_sensitive: bool) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => Some(compare_numbers(a, b)),
        (Value::String(a), Value::String(b)) => {
            Some(fold(a, case_sensitive).cmp(&fold(b, case_sensitive)))
        }
        _ => None,
    }
}

/// Whether a present value counts as empty.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(elements) => elements.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

impl Operator {
    /// The operator's name, as written in parameters.
    const fn name(self) -> &'static str {
        match self {
            Self::Equals => "equals",
            Self::NotEquals => "not_equals",
            Self::Contains => "contains",
            Self::NotContains => "not_contains",
            Self::StartsWith => "starts_with",
            Self::EndsWith => "ends_with",
            Self::Regex => "regex",
            Self::GreaterThan => "greater_than",
            Self::GreaterOrEqual => "greater_or_equal",
            Self::LessThan => "less_than",
            Self::LessOrEqual => "less_or_equal",
            Self::Exists => "exists",
            Self::NotExists => "not_exists",
            Self::IsEmpty => "is_empty",
            Self::IsNotEmpty => "is_not_empty",
        }
    }

    /// The positive test of this operator on `value`, and whether it is negated; an error
    /// when the value does not suit the operator.
    fn test(self, value: Option<Value>, case_sensitive: bool) -> Result<(Test, bool), String> {
        let name = self.name();
        let required = |value: Option<Value>| {
            value.ok_or_else(|| format!("operator `{name}` needs a `value`"))
        };
        let string = |value| match required(value)? {
            Value::String(text) => Ok(text),
            other => Err(format!(
                "operator `{name}` needs a string `value`, not {}",
                kind_of(&other)
            )),
        };
        let ordered = |value, accept: fn(Ordering) -> bool| match required(value)? {
            bound @ (Value::Number(_) | Value::String(_)) => Ok(Test::Order(accept, bound)),
            other => Err(format!(
                "operator `{name}` needs a number or string `value`, not {}",
                kind_of(&other)
            )),
        };
        let none = |value: Option<Value>, test| match value {
            None => Ok(test),
            Some(_) => Err(format!("operator `{name}` takes no `value`")),
        };
        let test = match self {
            Self::Equals | Self::NotEquals => Test::Equals(required(value)?),
            Self::Contains | Self::NotContains => Test::Contains(match required(value)? {
                Value::String(needle) => Value::String(fold(&needle, case_sensitive).into_owned()),
                needle => needle,
            }),
            Self::StartsWith => {
                Test::StartsWith(fold(&string(value)?, case_sensitive).into_owned())
            }
            Self::EndsWith => Test::EndsWith(fold(&string(value)?, case_sensitive).into_owned()),
            Self::Regex => Test::Regex(compile_regex(&string(value)?, case_sensitive).map_err(
                |error| {
                    format!(
                        "the `value` of operator `regex` is not a valid regular expression: {error}"
                    )
                },
            )?),
            Self::GreaterThan => ordered(value, Ordering::is_gt)?,
            Self::GreaterOrEqual => ordered(value, Ordering::is_ge)?,
            Self::LessThan => ordered(value, Ordering::is_lt)?,
            Self::LessOrEqual => ordered(value, Ordering::is_le)?,
            Self::Exists | Self::NotExists => none(value, Test::Exists)?,
            Self::IsEmpty | Self::IsNotEmpty => none(value, Test::IsEmpty)?,
        };
        let negate = matches!(
            self,
            Self::NotEquals | Self::NotContains | Self::NotExists | Self::IsNotEmpty
        );
        Ok((test, negate))
    }
}

/// The most compiled regular expressions kept per case sensitivity.
const REGEX_CACHE_SIZE: usize = 256;

/// Compiled regular expressions by pattern, case-insensitive ones first.
///
/// A node's parameters are read several times: when the workflow is validated, in every
/// invocation, and for every item when their type is not `Clone`. With this cache, a pattern is
/// compiled once per process, however often a condition holding it is read (the cache is
/// emptied when full).
static REGEXES: LazyLock<Mutex<[RegexCache; 2]>> = LazyLock::new(Mutex::default);

/// Compiled regular expressions by pattern.
type RegexCache = HashMap<String, Arc<Regex>>;

/// `pattern` compiled, from the cache when it was compiled before.
fn compile_regex(pattern: &str, case_sensitive: bool) -> Result<Arc<Regex>, regex::Error> {
    let slot = usize::from(case_sensitive);
    let lock = || REGEXES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = lock()[slot].get(pattern) {
        return Ok(Arc::clone(regex));
    }
    // Compiled without holding the lock: other nodes keep evaluating meanwhile.
    let regex = Arc::new(
        RegexBuilder::new(pattern)
            .case_insensitive(!case_sensitive)
            .build()?,
    );
    let mut cache = lock();
    if cache[slot].len() >= REGEX_CACHE_SIZE {
        cache[slot].clear();
    }
    cache[slot].insert(pattern.to_owned(), Arc::clone(&regex));
    Ok(regex)
}

/// Every key a condition object may hold.
const KEYS: &[&str] = &[
    "field",
    "operator",
    "value",
    "case_sensitive",
    "all",
    "any",
    "not",
];

/// The keys of a condition object, as read.
#[derive(Default)]
struct Parts {
    field: Option<FieldPath>,
    operator: Option<Operator>,
    value: Option<Value>,
    case_sensitive: Option<bool>,
    /// The group key (`all`, `any`, `not`) and its conditions.
    group: Option<(&'static str, Rule)>,
}

impl Parts {
    fn build<E: de::Error>(self) -> Result<Condition, E> {
        let comparison_keys = [
            self.field.is_some().then_some("field"),
            self.operator.is_some().then_some("operator"),
            self.value.is_some().then_some("value"),
            self.case_sensitive.is_some().then_some("case_sensitive"),
        ];
        if let Some((group, rule)) = self.group {
            return match comparison_keys.into_iter().flatten().next() {
                Some(key) => Err(E::custom(format!(
                    "a condition is a comparison (`field`, `operator`, `value`) or a group \
                     (`{group}`), not both: remove `{key}` or `{group}`"
                ))),
                None => Ok(Condition(rule)),
            };
        }
        let (Some(field), Some(operator)) = (self.field, self.operator) else {
            return Err(if comparison_keys.iter().all(Option::is_none) {
                E::custom(
                    "a condition needs `field` and `operator` (a comparison), or one of `all`, \
                     `any`, `not` (a group)",
                )
            } else {
                E::missing_field(if comparison_keys[0].is_none() {
                    "field"
                } else {
                    "operator"
                })
            });
        };
        let case_sensitive = self.case_sensitive.unwrap_or(true);
        let (test, negate) = operator
            .test(self.value, case_sensitive)
            .map_err(E::custom)?;
        Ok(Condition(Rule::Compare(Comparison {
            field,
            test,
            negate,
            case_sensitive,
        })))
    }
}

/// Stores the value of `key` in `slot`, refusing a key given twice.
fn set_once<T, E: de::Error>(slot: &mut Option<T>, key: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key));
    }
    *slot = Some(value);
    Ok(())
}

/// A group's conditions, refusing an empty list.
fn group_of<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: &'static str,
) -> Result<Vec<Condition>, A::Error> {
    let conditions: Vec<Condition> = map.next_value()?;
    if conditions.is_empty() {
        return Err(de::Error::custom(format!(
            "`{key}` needs at least one condition"
        )));
    }
    Ok(conditions)
}

struct ConditionVisitor;

impl<'de> Visitor<'de> for ConditionVisitor {
    type Value = Condition;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(
            "a condition: an object with `field`, `operator` and `value`, or a group \
             `{\"all\": [..]}`, `{\"any\": [..]}` or `{\"not\": {..}}`",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Condition, A::Error> {
        let mut parts = Parts::default();
        while let Some(key) = map.next_key::<String>()? {
            let group = match key.as_str() {
                "field" => {
                    set_once(&mut parts.field, "field", map.next_value()?)?;
                    continue;
                }
                "operator" => {
                    set_once(&mut parts.operator, "operator", map.next_value()?)?;
                    continue;
                }
                "value" => {
                    set_once(&mut parts.value, "value", map.next_value()?)?;
                    continue;
                }
                "case_sensitive" => {
                    set_once(
                        &mut parts.case_sensitive,
                        "case_sensitive",
                        map.next_value()?,
                    )?;
                    continue;
                }
                "all" => ("all", Rule::All(group_of(&mut map, "all")?)),
                "any" => ("any", Rule::Any(group_of(&mut map, "any")?)),
                "not" => ("not", Rule::Not(map.next_value()?)),
                other => return Err(de::Error::unknown_field(other, KEYS)),
            };
            if let Some((first, _)) = &parts.group {
                return Err(de::Error::custom(format!(
                    "a group holds one of `all`, `any`, `not`, not both `{first}` and `{}`: \
                     nest them instead",
                    group.0
                )));
            }
            parts.group = Some(group);
        }
        parts.build()
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConditionVisitor)
    }
}

impl JsonSchema for Condition {
    fn schema_name() -> Cow<'static, str> {
        "Condition".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let condition = generator.subschema_for::<Self>();
        let field = generator.subschema_for::<FieldPath>();
        let operator = generator.subschema_for::<Operator>();
        let group = |key: &str, description: &str, schema: Schema| {
            schemars::json_schema!({
                "type": "object",
                "properties": { key: schema },
                "required": [key],
                "additionalProperties": false,
                "description": description,
            })
        };
        let list = schemars::json_schema!({
            "type": "array",
            "items": condition,
            "minItems": 1,
        });
        schemars::json_schema!({
            "description": "A test on an item: a comparison of one field, or a group of conditions. A missing field or a field of another type than the value makes a comparison false (and its negated form true).",
            "oneOf": [
                {
                    "type": "object",
                    "description": "Compares the item's `field` with `value` by `operator`.",
                    "properties": {
                        "field": field,
                        "operator": operator,
                        "value": {
                            "description": "What the field is compared with: required by every operator except `exists`, `not_exists`, `is_empty` and `is_not_empty`, which take none; a string for `starts_with`, `ends_with` and `regex`; a number or string for the ordering operators."
                        },
                        "case_sensitive": {
                            "type": "boolean",
                            "default": true,
                            "description": "Whether string comparisons (equality, `contains`, `starts_with`, `ends_with`, `regex`, ordering) distinguish upper and lower case."
                        }
                    },
                    "required": ["field", "operator"],
                    "additionalProperties": false
                },
                group("all", "Holds when every condition of the list holds.", list.clone()),
                group("any", "Holds when at least one condition of the list holds.", list),
                group("not", "Holds when the condition does not hold.", condition.clone()),
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

    use serde_json::{Value, json};

    use super::Condition;

    fn condition(json: Value) -> Condition {
        serde_json::from_value(json).unwrap()
    }

    fn error(json: Value) -> String {
        serde_json::from_value::<Condition>(json)
            .unwrap_err()
            .to_string()
    }

    fn holds(condition_json: Value, item: Value) -> bool {
        condition(condition_json).matches(&item)
    }

    fn compare(operator: &str, value: Value, field: Value) -> bool {
        holds(
            json!({ "field": "f", "operator": operator, "value": value }),
            json!({ "f": field }),
        )
    }

    #[test]
    fn equality_is_numeric_and_structural() {
        assert!(compare("equals", json!(1), json!(1.0)));
        assert!(compare("equals", json!("a"), json!("a")));
        assert!(!compare("equals", json!("1"), json!(1)));
        assert!(compare(
            "equals",
            json!({ "a": [1, 2] }),
            json!({ "a": [1.0, 2] })
        ));
        assert!(!compare(
            "equals",
            json!({ "a": [1, 2] }),
            json!({ "a": [2, 1] })
        ));
        assert!(compare("equals", json!(null), json!(null)));
        assert!(compare("not_equals", json!("a"), json!("b")));
        assert!(compare("equals", json!(u64::MAX), json!(u64::MAX)));
        assert!(!compare("equals", json!(i64::MAX), json!(i64::MAX - 1)));
    }

    #[test]
    fn missing_fields_fail_positive_operators_only() {
        let item = json!({});
        for (operator, value) in [
            ("equals", json!(null)),
            ("contains", json!("a")),
            ("starts_with", json!("a")),
            ("ends_with", json!("a")),
            ("regex", json!(".*")),
            ("greater_than", json!(0)),
            ("less_or_equal", json!(0)),
        ] {
            let c = json!({ "field": "missing", "operator": operator, "value": value });
            assert!(!holds(c, item.clone()), "{operator}");
        }
        for (operator, value) in [("not_equals", json!(1)), ("not_contains", json!("a"))] {
            let c = json!({ "field": "missing", "operator": operator, "value": value });
            assert!(holds(c, item.clone()), "{operator}");
        }
    }

    #[test]
    fn contains_in_strings_and_arrays() {
        assert!(compare("contains", json!("ell"), json!("hello")));
        assert!(!compare("contains", json!("xyz"), json!("hello")));
        assert!(compare("contains", json!(2), json!([1, 2, 3])));
        assert!(compare(
            "contains",
            json!({ "k": 1 }),
            json!([{ "k": 1.0 }])
        ));
        assert!(!compare("contains", json!(1), json!("1")));
        assert!(compare("not_contains", json!("spam"), json!(["ham"])));
        assert!(compare("not_contains", json!("a"), json!(5)));
    }

    #[test]
    fn string_operators_and_case() {
        assert!(compare("starts_with", json!("He"), json!("Hello")));
        assert!(!compare("starts_with", json!("he"), json!("Hello")));
        assert!(compare("ends_with", json!("lo"), json!("Hello")));
        assert!(!compare("ends_with", json!("lo"), json!(10)));
        let insensitive = |operator: &str, value: &str, field: &str| {
            holds(
                json!({ "field": "f", "operator": operator, "value": value, "case_sensitive": false }),
                json!({ "f": field }),
            )
        };
        assert!(insensitive("equals", "ÉTÉ", "été"));
        assert!(insensitive("starts_with", "HE", "hello"));
        assert!(insensitive("ends_with", "LO", "hello"));
        assert!(insensitive("contains", "ELL", "hello"));
        assert!(insensitive("regex", "^H.L", "hello"));
        assert!(insensitive("less_than", "B", "a"));
        assert!(!compare("less_than", json!("B"), json!("a")));
        assert!(holds(
            json!({ "field": "tags", "operator": "contains", "value": "VIP", "case_sensitive": false }),
            json!({ "tags": ["new", "vip"] })
        ));
    }

    #[test]
    fn regex_searches_unless_anchored() {
        assert!(compare("regex", json!("\\d{3}"), json!("ab123c")));
        assert!(!compare("regex", json!("^\\d{3}$"), json!("ab123c")));
        assert!(!compare("regex", json!("1"), json!(1)));
    }

    #[test]
    fn ordering_numbers_and_strings() {
        assert!(compare("greater_than", json!(9), json!(10)));
        assert!(!compare("greater_than", json!(10), json!(10)));
        assert!(compare("greater_or_equal", json!(10), json!(10.0)));
        assert!(compare("less_than", json!(0.5), json!(-3)));
        assert!(compare("less_or_equal", json!(u64::MAX), json!(u64::MAX)));
        assert!(compare(
            "greater_than",
            json!("2024-01-01T00:00:00Z"),
            json!("2024-06-01T00:00:00Z")
        ));
        // Mismatched types: neither greater nor less.
        assert!(!compare("greater_than", json!(9), json!("10")));
        assert!(!compare("less_than", json!(9), json!("10")));
        assert!(!compare("greater_than", json!(1), json!(null)));
    }

    #[test]
    fn exists_and_emptiness() {
        let item = json!({ "null": null, "s": "", "a": [], "o": {}, "z": 0, "f": false, "x": "x" });
        let test = |field: &str, operator: &str| {
            holds(
                json!({ "field": field, "operator": operator }),
                item.clone(),
            )
        };
        assert!(test("null", "exists"));
        assert!(test("missing", "not_exists"));
        assert!(!test("x", "not_exists"));
        for field in ["null", "s", "a", "o", "missing"] {
            assert!(test(field, "is_empty"), "{field}");
            assert!(!test(field, "is_not_empty"), "{field}");
        }
        for field in ["z", "f", "x"] {
            assert!(test(field, "is_not_empty"), "{field}");
        }
    }

    #[test]
    fn nested_paths_and_whole_item() {
        let item = json!({ "lines": [{ "sku": "A-1" }, { "sku": "B-2" }] });
        assert!(holds(
            json!({ "field": "lines.1.sku", "operator": "starts_with", "value": "B" }),
            item
        ));
        assert!(holds(
            json!({ "field": "", "operator": "greater_than", "value": 3 }),
            json!(4)
        ));
    }

    #[test]
    fn groups_nest() {
        let c = condition(json!({ "all": [
            { "field": "n", "operator": "greater_than", "value": 1 },
            { "any": [
                { "field": "s", "operator": "equals", "value": "a" },
                { "not": { "field": "s", "operator": "exists" } }
            ] }
        ] }));
        assert!(c.matches(&json!({ "n": 2, "s": "a" })));
        assert!(c.matches(&json!({ "n": 2 })));
        assert!(!c.matches(&json!({ "n": 2, "s": "b" })));
        assert!(!c.matches(&json!({ "n": 1, "s": "a" })));
    }

    #[test]
    fn parameter_errors_say_what_is_wrong() {
        let cases = [
            (
                json!({ "field": "a", "operator": "bigger", "value": 1 }),
                "unknown variant `bigger`",
            ),
            (
                json!({ "field": "a", "operator": "equals" }),
                "operator `equals` needs a `value`",
            ),
            (
                json!({ "field": "a", "operator": "exists", "value": 1 }),
                "operator `exists` takes no `value`",
            ),
            (
                json!({ "field": "a", "operator": "starts_with", "value": 1 }),
                "needs a string `value`, not a number",
            ),
            (
                json!({ "field": "a", "operator": "less_than", "value": [] }),
                "needs a number or string `value`, not an array",
            ),
            (
                json!({ "field": "a", "operator": "regex", "value": "(" }),
                "is not a valid regular expression",
            ),
            (json!({ "operator": "exists" }), "missing field `field`"),
            (json!({ "field": "a" }), "missing field `operator`"),
            (json!({}), "a condition needs `field` and `operator`"),
            (
                json!({ "field": "a", "operator": "exists", "colour": 1 }),
                "unknown field `colour`",
            ),
            (json!({ "all": [] }), "`all` needs at least one condition"),
            (
                json!({ "all": [{ "field": "a", "operator": "exists" }], "field": "a" }),
                "not both: remove `field` or `all`",
            ),
            (
                json!({ "any": [{ "field": "a", "operator": "exists" }], "not": { "field": "a", "operator": "exists" } }),
                "not both `any` and `not`",
            ),
            (json!("a == 1"), "expected a condition"),
            (
                json!({ "field": "a..b", "operator": "exists" }),
                "segments separated by `.` must not be empty",
            ),
        ];
        for (json, expected) in cases {
            let message = error(json.clone());
            assert!(message.contains(expected), "{json}: {message}");
        }
    }

    #[test]
    fn a_regex_is_compiled_once() {
        let first =
            condition(json!({ "field": "a", "operator": "regex", "value": "^cached-once$" }));
        let second =
            condition(json!({ "field": "a", "operator": "regex", "value": "^cached-once$" }));
        let (super::Rule::Compare(first), super::Rule::Compare(second)) = (&first.0, &second.0)
        else {
            panic!("comparisons expected");
        };
        let (super::Test::Regex(first), super::Test::Regex(second)) = (&first.test, &second.test)
        else {
            panic!("regexes expected");
        };
        assert!(std::sync::Arc::ptr_eq(first, second));
    }
}
