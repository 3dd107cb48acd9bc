//! Streaming a payload's items: when `itemsPath` is a chain of member names (`$`, `$.items`,
//! `$.data.items[*]`), each element of the items array is parsed (with the item's projection),
//! handed to the mapper and dropped before the next one is read. A page of thousands of items
//! is then never built as one tree, which is most of what mapping a large page costs.
//!
//! The items are exactly those [`super::items::ItemsPath::extract`] finds in the whole payload:
//! a member that appears twice counts once, the last time (as `serde_json` keeps it); the one
//! element of a `[*]` container is unwrapped when it is itself an array; an object under `[*]`
//! is built and its members taken in key order, as a `serde_json::Map` orders them.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::projection::Projection;

/// A compiled streaming plan for one `itemsPath`.
#[derive(Debug, Clone)]
pub(crate) struct ItemStream {
    /// The member names from the root to the items' node.
    names: Vec<String>,
    /// Whether the path ends in `[*]` / `.*` (its items are the node's children).
    wildcard: bool,
    /// What of each item (and of a node read as one item) is built.
    item: Projection,
    /// What of an object under `[*]` is built: every member, each as an item.
    members: Projection,
}

/// Receives the items of a payload in order.
pub(crate) trait ItemSink {
    /// One item, the next in order.
    fn item(&mut self, item: Value);
    /// Forget every item received so far: a later copy of a member on the path replaces it.
    fn reset(&mut self);
}

/// Where the items' node was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// The path leads nowhere in the payload.
    Nothing,
    /// The node exists and every item it has was handed over (possibly none).
    Node,
}

impl ItemStream {
    /// The plan for `items_path` with items read as `item` says; `None` when the path is not
    /// a chain of member names (it is then mapped from the whole projected payload).
    pub(crate) fn for_path(items_path: &str, item: &Projection) -> Option<Self> {
        let (names, wildcard) = Projection::member_names_of(items_path)?;
        let item = Projection::of_item_node(item);
        let members = Projection::of_path("$.*", &item);
        Some(Self { names, wildcard, item, members })
    }

    /// Parses `text`, handing each item to `sink`. Syntax errors anywhere are errors, as with a
    /// whole parse.
    pub(crate) fn run(&self, text: &str, sink: &mut dyn ItemSink) -> serde_json::Result<Found> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let mut state = State { plan: self, sink, found: Found::Nothing };
        PathSeed { state: &mut state, depth: 0 }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(state.found)
    }
}

/// The plan, the sink and what has been found so far.
struct State<'s> {
    plan: &'s ItemStream,
    sink: &'s mut dyn ItemSink,
    found: Found,
}

impl State<'_> {
    /// Hands over the items of a node selected by `$` and the member names (no wildcard): the
    /// elements of an array, or the node itself.
    fn node(&mut self, node: Value) {
        match node {
            Value::Array(items) => items.into_iter().for_each(|item| self.sink.item(item)),
            node => self.sink.item(node),
        }
    }
}

/// Deserialises the node at `depth` names from the root.
struct PathSeed<'a, 's> {
    state: &'a mut State<'s>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.state.sink.reset();
        self.state.found = Found::Nothing;
        if self.depth == self.state.plan.names.len() {
            self.state.found = Found::Node;
            return deserializer.deserialize_any(NodeVisitor { state: self.state });
        }
        deserializer.deserialize_any(self)
    }
}

/// On the way to the node: an object's member named next is followed, everything else skipped.
impl<'de> Visitor<'de> for PathSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let name = self.state.plan.names[self.depth].as_str();
        while let Some(key) = map.next_key_seed(IsName(name))? {
            if key {
                map.next_value_seed(PathSeed { state: &mut *self.state, depth: self.depth + 1 })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Whether a member name is the one looked for.
struct IsName<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for IsName<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsName<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<bool, E> {
        Ok(name == self.0)
    }
}

/// The items' node: an array's elements are streamed; anything else is built and handed over
/// as the whole payload's extraction would.
struct NodeVisitor<'a, 's> {
    state: &'a mut State<'s>,
}

impl NodeVisitor<'_, '_> {
    /// A node that is not an array, built whole (with the item's projection).
    fn not_an_array(self, node: Value) {
        if !self.state.plan.wildcard {
            self.state.node(node);
            return;
        }
        // `[*]` over an object: its members' values in key order; over a scalar: nothing; and a
        // `null` container counts as a missing one (`CompiledPath::first` skips `null`).
        if node.is_null() {
            self.state.found = Found::Nothing;
        }
        if let Value::Object(members) = node {
            let values: Vec<Value> = members.into_iter().map(|(_, value)| value).collect();
            unwrap_a_lone_array(values, self.state);
        }
    }
}

/// `[*]`'s children as the items, except that one child which is an array gives its elements.
fn unwrap_a_lone_array(children: Vec<Value>, state: &mut State<'_>) {
    let mut children = children.into_iter();
    match (children.next(), children.next()) {
        (Some(only @ Value::Array(_)), None) => state.node(only),
        (first, second) => first.into_iter().chain(second).chain(children).for_each(|item| state.sink.item(item)),
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_array(Value::Null);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.not_an_array(Value::Bool(b));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.not_an_array(Value::Number(n.into()));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.not_an_array(Value::Number(n.into()));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        self.not_an_array(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.not_an_array(Value::String(s.to_owned()));
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let plan = self.state.plan;
        let projection = if plan.wildcard { &plan.members } else { &plan.item };
        let node = projection.seed().deserialize(MapAccessDeserializer::new(map))?;
        self.not_an_array(node);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let item = &self.state.plan.item;
        if !self.state.plan.wildcard {
            while let Some(element) = seq.next_element_seed(item.seed())? {
                self.state.sink.item(element);
            }
            return Ok(());
        }
        // `[*]` over an array: the elements, but a lone element that is an array gives its own
        // elements; the first one waits until a second shows it is not alone.
        let Some(first) = seq.next_element_seed(item.seed())? else { return Ok(()) };
        let Some(second) = seq.next_element_seed(item.seed())? else {
            unwrap_a_lone_array(vec![first], self.state);
            return Ok(());
        };
        self.state.sink.item(first);
        self.state.sink.item(second);
        while let Some(element) = seq.next_element_seed(item.seed())? {
            self.state.sink.item(element);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::mapping::items::{ItemsPath, NoItems};

    /// Collects the streamed items.
    #[derive(Default)]
    struct Collect(Vec<Value>);

    impl ItemSink for Collect {
        fn item(&mut self, item: Value) {
            self.0.push(item);
        }
        fn reset(&mut self) {
            self.0.clear();
        }
    }

    /// The items streamed from `text`, or `None` where the path leads nowhere.
    fn streamed(path: &str, text: &str) -> Option<Vec<Value>> {
        let stream = ItemStream::for_path(path, &Projection::All).unwrap();
        let mut sink = Collect::default();
        let found = stream.run(text, &mut sink).unwrap();
        (found == Found::Node).then_some(sink.0)
    }

    /// The items `ItemsPath` extracts from the whole parsed payload.
    fn extracted(path: &str, text: &str) -> Option<Vec<Value>> {
        let payload: Value = serde_json::from_str(text).unwrap();
        match ItemsPath::parse(path).unwrap().extract(&payload) {
            Ok(items) => Some(items.into_iter().cloned().collect()),
            Err(NoItems(_)) => None,
        }
    }

    #[test]
    fn streamed_items_are_the_items_of_the_whole_payload() {
        let payloads = [
            r#"[{"id": 1}, {"id": 2}]"#,
            r#"{"id": 1, "items": [3]}"#,
            r#"{"items": [{"id": 1}, {"id": 2}], "next": "c"}"#,
            r#"{"items": [[{"id": 1}, {"id": 2}]]}"#,
            r#"{"items": [[{"id": 1}], [{"id": 2}]]}"#,
            r#"{"items": [{"id": 1}]}"#,
            r#"{"items": []}"#,
            r#"{"items": {"b": {"id": 2}, "a": {"id": 1}}}"#,
            r#"{"items": {"only": [{"id": 1}, {"id": 2}]}}"#,
            r#"{"items": {}}"#,
            r#"{"items": null}"#,
            r#"{"items": "text"}"#,
            r#"{"items": 7}"#,
            r#"{"other": [1]}"#,
            r#"{"items": [{"id": 1}], "items": [{"id": 2}]}"#,
            r#"{"items": [{"id": 1}], "items": 3}"#,
            r#"{"data": {"items": [{"id": 1}]}, "data": {"next": "c"}}"#,
            r#"{"data": {"items": [{"id": 1}, {"id": 2}], "total": 2}, "meta": {}}"#,
            r#"{"data": [{"items": [1]}]}"#,
            r#"{"data": null}"#,
            r#"{"d\u0061ta": {"it\u0065ms": [{"id": "escaped"}]}}"#,
            "3",
            "null",
        ];
        let paths =
            ["$", "$.items", "$.items[*]", "$.items.*", "$['items']", "$.data.items", "$.data.items[*]", "$.*", "$[*]"];
        for path in paths {
            for text in payloads {
                assert_eq!(streamed(path, text), extracted(path, text), "{path} over {text}");
            }
        }
    }

    #[test]
    fn only_paths_of_member_names_are_streamed() {
        for path in ["$.items[0]", "$..items", "$.items[*].inner[*]", "$.items[?@.id]", "$['a', 'b']"] {
            assert!(ItemStream::for_path(path, &Projection::All).is_none(), "{path}");
        }
    }

    #[test]
    fn a_syntax_error_after_the_items_fails_the_whole_payload() {
        let stream = ItemStream::for_path("$.items", &Projection::All).unwrap();
        let mut sink = Collect::default();
        assert!(stream.run(r#"{"items": [{"id": 1}], "next": }"#, &mut sink).is_err());
        assert!(stream.run(r#"{"items": [{"id": 1}]} trailing"#, &mut sink).is_err());
    }
}
