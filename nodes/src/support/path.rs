//! Dotted field paths into an item's JSON (`customer.address.city`, `lines.0.sku`), shared by
//! every node that names fields in its parameters.
//!
//! A path is a list of segments separated by `.`; a segment that is a decimal number indexes an
//! array, any other segment names an object key. The empty path is the whole value.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Parses `text`. Every non-empty text is a path; empty segments (`a..b`) are rejected.
    ///
    /// # Errors
    ///
    /// When a segment is empty.
    pub fn parse(text: &str) -> Result<Self, String> {
        let segments = if text.is_empty() {
            Vec::new()
        } else {
            text.split('.').map(str::to_owned).collect()
        };
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` is not a field path: segments separated by `.` must not be empty"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path, if there is one.
    #[must_use]
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(value, |value, segment| match value {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
    }

    /// Sets the value at this path, creating objects on the way where nothing is; returns
    /// false when the path runs through a value that is neither object nor array (or an array
    /// index out of range), leaving `value` unchanged.
    pub fn set(&self, value: &mut Value, new: Value) -> bool {
        let Some((last, parents)) = self.segments.split_last() else {
            *value = new;
            return true;
        };
        let mut current = value;
        for segment in parents {
            if current.is_null() {
                *current = Value::Object(Map::new());
            }
            current = match current {
                Value::Object(map) => map
                    .entry(segment.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                Value::Array(items) => {
                    match segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                        Some(item) => item,
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        if current.is_null() {
            *current = Value::Object(Map::new());
        }
        match current {
            Value::Object(map) => {
                map.insert(last.clone(), new);
                true
            }
            Value::Array(items) => {
                match last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(item) => {
                        *item = new;
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// Removes and returns the value at this path, if there is one. Removing the empty path
    /// takes the whole value, leaving `null`.
    pub fn remove(&self, value: &mut Value) -> Option<Value> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Some(value.take());
        };
        let mut current = value;
        for segment in parents {
            current = match current {
                Value::Object(map) => map.get_mut(segment)?,
                Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        match current {
            Value::Object(map) => map.remove(last),
            Value::Array(items) => {
                let index = last.parse::<usize>().ok()?;
                (index < items.len()).then(|| items.remove(index))
            }
            _ => None,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl JsonSchema for FieldPath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FieldPath".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A dotted path into the item's JSON, such as `customer.address.city` or `lines.0.sku` (a number indexes an array); empty for the whole item.",
            "pattern": "^$|^[^.]+(\\.[^.]+)*$"
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::FieldPath;

    fn path(text: &str) -> FieldPath {
        FieldPath::parse(text).unwrap()
    }

    #[test]
    fn gets_through_objects_and_arrays() {
        let value = json!({ "a": { "b": [ { "c": 1 }, { "c": 2 } ] } });
        assert_eq!(path("a.b.1.c").get(&value), Some(&json!(2)));
        assert_eq!(path("").get(&value), Some(&value));
        assert_eq!(path("a.x").get(&value), None);
        assert_eq!(path("a.b.9").get(&value), None);
        assert_eq!(path("a.b.c").get(&value), None);
    }

    #[test]
    fn sets_creating_objects() {
        let mut value = json!({ "a": 1 });
        assert!(path("b.c").set(&mut value, json!(true)));
        assert!(path("a").set(&mut value, json!(2)));
        assert_eq!(value, json!({ "a": 2, "b": { "c": true } }));
        assert!(!path("a.x").set(&mut value, json!(0)));
        let mut list = json!([1, 2]);
        assert!(path("1").set(&mut list, json!(5)));
        assert!(!path("7").set(&mut list, json!(5)));
        assert_eq!(list, json!([1, 5]));
    }

    #[test]
    fn removes() {
        let mut value = json!({ "a": { "b": 1, "c": 2 }, "l": [1, 2, 3] });
        assert_eq!(path("a.b").remove(&mut value), Some(json!(1)));
        assert_eq!(path("l.0").remove(&mut value), Some(json!(1)));
        assert_eq!(path("a.zz").remove(&mut value), None);
        assert_eq!(value, json!({ "a": { "c": 2 }, "l": [2, 3] }));
    }

    #[test]
    fn rejects_empty_segments() {
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse(".a").is_err());
    }
}
