//! The connections out of one node, as a workflow holds them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Connection;

/// The connections out of one node: for each port kind (`main` for data), one list per output
/// index of the inputs that output feeds.
///
/// In JSON an object, `{"main": [[{"node": "b"}], [{"node": "c"}]]}`, read and written as a
/// map of kinds would be (a kind written twice keeps its last value; kinds are written in
/// order). A node has one kind or two, so they are held in a short sorted list with lists of
/// exactly their length: a workflow of many nodes holds one of these per node.
///
/// ```
/// use hetumind::model::NodeConnections;
///
/// let ports: NodeConnections =
///     serde_json::from_str(r#"{"main": [[{"node": "b"}], [{"node": "c"}]]}"#).unwrap();
/// assert_eq!(ports["main"][1][0].node, "c");
/// assert!(ports.get("ai_tool").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeConnections {
    /// Sorted by kind, each kind once; `main`, the kind of almost every port, is not
    /// allocated.
    ports: Vec<(Cow<'static, str>, Vec<Vec<Connection>>)>,
}

impl NodeConnections {
    /// No connections.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The outputs of port kind `kind`, when it has any.
    #[must_use]
    pub fn get(&self, kind: &str) -> Option<&Vec<Vec<Connection>>> {
        self.position(kind).ok().map(|index| &self.ports[index].1)
    }

    /// Sets the outputs of port kind `kind`, answering those it replaces.
    pub fn insert(
        &mut self,
        kind: impl Into<String>,
        outputs: Vec<Vec<Connection>>,
    ) -> Option<Vec<Vec<Connection>>> {
        self.set(kind_name(Cow::Owned(kind.into())), outputs)
    }

    fn set(
        &mut self,
        kind: Cow<'static, str>,
        outputs: Vec<Vec<Connection>>,
    ) -> Option<Vec<Vec<Connection>>> {
        match self.position(&kind) {
            Ok(index) => Some(std::mem::replace(&mut self.ports[index].1, outputs)),
            Err(index) => {
                self.ports.insert(index, (kind, outputs));
                None
            }
        }
    }

    /// The port kinds and their outputs, in the order of their kinds.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Vec<Vec<Connection>>)> + '_ {
        self.into_iter()
    }

    /// The outputs of every port kind, in the order of their kinds.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Vec<Vec<Connection>>> + '_ {
        self.ports.iter().map(|(_, outputs)| outputs)
    }

    /// How many port kinds have connections listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether no port kind is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    fn position(&self, kind: &str) -> Result<usize, usize> {
        self.ports
            .binary_search_by(|(listed, _)| (**listed).cmp(kind))
    }
}

/// The port kind `kind`, not allocated when it is `main`.
fn kind_name(kind: Cow<'_, str>) -> Cow<'static, str> {
    if kind == MAIN {
        Cow::Borrowed(MAIN)
    } else {
        Cow::Owned(kind.into_owned())
    }
}

const MAIN: &str = "main";

/// The outputs of port kind `kind`.
///
/// # Panics
///
/// When the node has no connections of that kind, as a map's index does.
impl std::ops::Index<&str> for NodeConnections {
    type Output = Vec<Vec<Connection>>;

    fn index(&self, kind: &str) -> &Self::Output {
        match self.get(kind) {
            Some(outputs) => outputs,
            None => panic!("no `{kind}` connections"),
        }
    }
}

impl<K: Into<String>> FromIterator<(K, Vec<Vec<Connection>>)> for NodeConnections {
    fn from_iter<I: IntoIterator<Item = (K, Vec<Vec<Connection>>)>>(ports: I) -> Self {
        let mut connections = Self::new();
        for (kind, outputs) in ports {
            connections.insert(kind, outputs);
        }
        connections
    }
}

impl<'a> IntoIterator for &'a NodeConnections {
    type Item = (&'a str, &'a Vec<Vec<Connection>>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Cow<'static, str>, Vec<Vec<Connection>>)>,
        fn(&'a (Cow<'static, str>, Vec<Vec<Connection>>)) -> Self::Item,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.ports.iter().map(|(kind, outputs)| (&**kind, outputs))
    }
}

impl Serialize for NodeConnections {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.ports.len()))?;
        for (kind, outputs) in self {
            map.serialize_entry(kind, outputs)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NodeConnections {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ports;

        impl<'de> Visitor<'de> for Ports {
            type Value = NodeConnections;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object of port kinds, each a list of outputs")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut connections = NodeConnections::new();
                while let Some(Kind(kind)) = map.next_key()? {
                    let mut outputs: Vec<Vec<Connection>> = map.next_value()?;
                    // Lists read from JSON grow as they go: give back the room they did not use.
                    for targets in &mut outputs {
                        targets.shrink_to_fit();
                    }
                    outputs.shrink_to_fit();
                    connections.set(kind, outputs);
                }
                connections.ports.shrink_to_fit();
                Ok(connections)
            }
        }

        deserializer.deserialize_map(Ports)
    }
}

/// A port kind read from JSON: `main` without allocating.
struct Kind(Cow<'static, str>);

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;

        impl Visitor<'_> for Name {
            type Value = Kind;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a port kind")
            }

            fn visit_str<E: serde::de::Error>(self, kind: &str) -> Result<Kind, E> {
                Ok(Kind(kind_name(Cow::Borrowed(kind))))
            }

            fn visit_string<E: serde::de::Error>(self, kind: String) -> Result<Kind, E> {
                Ok(Kind(kind_name(Cow::Owned(kind))))
            }
        }

        deserializer.deserialize_str(Name)
    }
}

/// The schema of the map it is written as.
impl JsonSchema for NodeConnections {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, Vec<Vec<Connection>>>>::schema_name()
    }

    fn inline_schema() -> bool {
        <BTreeMap<String, Vec<Vec<Connection>>>>::inline_schema()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, Vec<Vec<Connection>>>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> NodeConnections {
        serde_json::from_str(json).expect("valid connections")
    }

    #[test]
    fn reads_and_writes_the_map_it_is_written_as() {
        let json = r#"{"main":[[{"node":"b","kind":"main","index":0}],[]],"ai_tool":[[{"node":"c","kind":"main","index":1}]]}"#;
        let ports = parse(json);
        // Kinds in order, as a map of them is written.
        let written = serde_json::to_string(&ports).expect("serializes");
        assert_eq!(
            written,
            r#"{"ai_tool":[[{"node":"c","kind":"main","index":1}]],"main":[[{"node":"b","kind":"main","index":0}],[]]}"#
        );
        assert_eq!(parse(&written), ports);
        let as_map: BTreeMap<String, Vec<Vec<Connection>>> =
            serde_json::from_str(json).expect("a map");
        assert_eq!(serde_json::to_string(&as_map).expect("serializes"), written);
    }

    #[test]
    fn an_escaped_kind_is_the_same_kind() {
        let ports = parse(r#"{"ma\u0069n":[[{"node":"b"}]],"ai_t\u006fol":[]}"#);
        assert_eq!(ports["main"][0][0].node, "b");
        assert!(ports.get("ai_tool").is_some());
    }

    #[test]
    fn a_kind_written_twice_keeps_its_last_value() {
        let ports = parse(r#"{"main":[[{"node":"b"}]],"main":[[{"node":"c"}]]}"#);
        assert_eq!(ports.len(), 1);
        assert_eq!(ports["main"][0][0].node, "c");
    }

    #[test]
    fn lists_keep_no_spare_room() {
        let ports = parse(r#"{"main":[[{"node":"b"}]]}"#);
        let outputs = &ports["main"];
        assert_eq!(outputs.capacity(), 1);
        assert_eq!(outputs[0].capacity(), 1);
    }

    #[test]
    fn insert_replaces_and_keeps_kinds_in_order() {
        let target = |node: &str| Connection {
            node: node.to_owned(),
            kind: "main".to_owned(),
            index: 0,
        };
        let mut ports: NodeConnections = [("main", vec![vec![target("b")]])].into_iter().collect();
        assert!(ports.insert("ai_tool", vec![vec![target("c")]]).is_none());
        let replaced = ports.insert("main", vec![vec![target("d")]]);
        assert_eq!(replaced, Some(vec![vec![target("b")]]));
        let kinds: Vec<&str> = ports.iter().map(|(kind, _)| kind).collect();
        assert_eq!(kinds, ["ai_tool", "main"]);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for json in [
            r#"[]"#,
            r#"{"main":{}}"#,
            r#"{"main":[[{"nod":"b"}]]}"#,
            "null",
        ] {
            assert!(
                serde_json::from_str::<NodeConnections>(json).is_err(),
                "{json}"
            );
        }
    }
}
