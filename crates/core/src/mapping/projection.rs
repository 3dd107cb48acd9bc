//! Projections: the parts of a JSON document a field mapping reads, compiled from its JSONPaths,
//! and a parser that builds only those parts into a [`Value`] while it reads the bytes.
//!
//! A GitHub issue has hundreds of fields and a mapping reads about twenty: building the whole
//! `Value` tree is most of what parsing costs, while skipping a member (serde's `IgnoredAny`)
//! costs a fraction. [`Projection::parse_str`] skips what the projection does not name, so the
//! mapping engine reads the same values from a much smaller tree.
//!
//! The projected tree maps to exactly what the whole document maps to, because every node a
//! path can reach is kept with everything its readers look at:
//!
//! - a path's last node is kept whole ([`Projection::All`]), or only as "null or not" when the
//!   path is an `exists` test ([`Projection::Presence`]);
//! - the nodes on the way are kept as objects with the members the paths name (and every member
//!   when a wildcard or a filter selects them) and as arrays with every element, so indices,
//!   slices and `[-1]` select the same positions;
//! - a filter (`[?@.type == 'user']`) keeps what its own queries read, relative to each child
//!   (`@`) and to the item (`$`);
//! - whatever the compiler does not understand (a descendant segment `..` followed by a filter,
//!   an unusual selector) makes the whole document needed: correctness first.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::jsonpath::CompiledPath;

/// Which parts of a JSON value are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Projection {
    /// Nothing: the value is skipped.
    #[default]
    Skip,
    /// Only whether the value is `null`: anything else is kept as `true`.
    Presence,
    /// Some members of an object, or the elements of an array.
    Select(Box<Select>),
    /// The whole value.
    All,
}

/// The members and elements a [`Projection::Select`] keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Select {
    /// Members by name (each one also holds what `other` needs).
    members: Vec<(String, Projection)>,
    /// Every member, named or not (a wildcard or a filter over an object's members): merged
    /// into each named member by `finish`.
    other: Projection,
    /// The members not named only (the rest of a response beside its items).
    rest: Projection,
    /// What a member not named keeps: `other` and `rest` together (computed by `finish`).
    unnamed: Projection,
    /// Every element of an array.
    elements: Projection,
}

/// One step from a node to some of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(String),
    OtherMembers,
    Elements,
}

/// A path's reading: the steps from the document's root and what is read at their end.
type Need = (Vec<Step>, Projection);

/// More branches than this (unions of wildcards) and the path reads the whole document.
const MAX_BRANCHES: usize = 64;

impl Projection {
    /// What `path` reads when each node it selects is read whole.
    pub fn of_whole(path: &CompiledPath) -> Self {
        Self::of_path(&path.jsonpath(), &Projection::All)
    }

    /// What the JSONPath `path` (RFC 9535, as validated by `CompiledPath`) reads when its
    /// selected nodes are read as `terminal` says. Unknown syntax reads everything.
    pub fn of_path(path: &str, terminal: &Projection) -> Self {
        let mut out = Projection::Skip;
        match PathParser::new(path).top(terminal) {
            Some(needs) => {
                for (steps, end) in needs {
                    out.insert(&steps, end);
                }
            }
            None => out = Projection::All,
        }
        out.finish();
        out
    }

    /// This projection or `other`, whichever keeps more, member by member.
    pub fn union(self, other: Projection) -> Projection {
        Self::union_all([self, other])
    }

    /// The union of every projection of `parts` (`Skip` when there are none): the same as
    /// folding them with [`Self::union`], finished once instead of after each one.
    pub fn union_all(parts: impl IntoIterator<Item = Projection>) -> Projection {
        let mut out = Projection::Skip;
        parts.into_iter().for_each(|part| out.merge(part));
        out.finish();
        out
    }

    /// The projection of an `itemsPath`: each node it selects (or each element of the one array
    /// it selects) is read as `item` says.
    pub fn of_items(items_path: &str, item: &Projection) -> Self {
        Self::of_path(items_path, &Self::of_item_node(item))
    }

    /// What of a node `itemsPath` selects is read: the node as an item, or each of its
    /// elements as an item when it is an array.
    pub(crate) fn of_item_node(item: &Projection) -> Self {
        item.clone().union(Projection::Select(Box::new(Select { elements: item.clone(), ..Select::default() })))
    }

    /// The member names of a path of names only (`$`, `$.a['b']`), and whether it ends in a
    /// wildcard (`[*]` or `.*`); `None` for any other path.
    pub(crate) fn member_names_of(path: &str) -> Option<(Vec<String>, bool)> {
        let mut parser = PathParser::new(path.trim());
        parser.eat("$").then(|| parser.member_names()).flatten()
    }

    /// A seed that deserialises a value with this projection.
    pub(crate) fn seed(&self) -> Seed<'_> {
        Seed(self)
    }

    /// The projection of a whole response whose items (at `items_path`) are read as `item`
    /// says, and everything else whole (cursors, tokens, totals: what a polling run reads
    /// beside the items). Only a path of member names ending in `[*]`, `.*` or nothing is
    /// projected; any other keeps the whole response.
    pub fn of_items_in_page(items_path: &str, item: &Projection) -> Self {
        let Some((names, wildcard)) = Self::member_names_of(items_path) else { return Projection::All };
        // A selected node is an item, or an array of items; the node `$.a` names may also be
        // the response itself (an object read beside its items): kept whole but for its array.
        let selected = item.clone().union(Projection::Select(Box::new(Select {
            elements: item.clone(),
            rest: if wildcard { Projection::Skip } else { Projection::All },
            ..Select::default()
        })));
        let mut out = if wildcard {
            Projection::Select(Box::new(Select { elements: selected.clone(), other: selected, ..Select::default() }))
        } else {
            selected
        };
        for name in names.into_iter().rev() {
            out = Projection::Select(Box::new(Select {
                members: vec![(name, out)],
                rest: Projection::All,
                elements: Projection::All,
                ..Select::default()
            }));
        }
        out.finish();
        out
    }

    /// Whether the projection keeps the whole value.
    pub fn is_all(&self) -> bool {
        matches!(self, Projection::All)
    }

    fn insert(&mut self, steps: &[Step], terminal: Projection) {
        let Some((step, rest)) = steps.split_first() else {
            self.merge(terminal);
            return;
        };
        let select = match self {
            Projection::All => return,
            Projection::Select(select) => select,
            Projection::Skip | Projection::Presence => {
                *self = Projection::Select(Box::default());
                let Projection::Select(select) = self else { return };
                select
            }
        };
        let child = match step {
            Step::Member(name) => select.member_mut(name),
            Step::OtherMembers => &mut select.other,
            Step::Elements => &mut select.elements,
        };
        child.insert(rest, terminal);
    }

    fn merge(&mut self, other: Projection) {
        match (&mut *self, other) {
            (Projection::All, _) | (_, Projection::Skip) => {}
            (_, Projection::All) => *self = Projection::All,
            (Projection::Skip, other) => *self = other,
            (Projection::Presence, other) => *self = other,
            (Projection::Select(_), Projection::Presence) => {}
            (Projection::Select(mine), Projection::Select(theirs)) => {
                let Select { members, other, rest, elements, .. } = *theirs;
                for (name, projection) in members {
                    mine.member_mut(&name).merge(projection);
                }
                mine.other.merge(other);
                mine.rest.merge(rest);
                mine.elements.merge(elements);
            }
        }
    }

    /// Makes every named member also keep what `other` keeps (a wildcard selects it too), and
    /// orders the members by name, so that equal projections compare equal however they were
    /// put together.
    fn finish(&mut self) {
        if let Projection::Select(select) = self {
            select.members.sort_by(|(a, _), (b, _)| a.cmp(b));
            let other = select.other.clone();
            for (_, member) in &mut select.members {
                member.merge(other.clone());
                member.finish();
            }
            select.other.finish();
            select.rest.finish();
            select.elements.finish();
            select.unnamed = select.other.clone().union(select.rest.clone());
        }
    }

    /// Parses JSON text, building only what the projection keeps. The text is checked as
    /// strictly as a full parse: a syntax error anywhere, skipped parts included, is an error.
    pub fn parse_str(&self, text: &str) -> serde_json::Result<Value> {
        if self.is_all() {
            return serde_json::from_str(text);
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = Seed(self).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }

    /// [`Self::parse_str`] over bytes, which must be UTF-8 (as a full parse requires of every
    /// string, skipped ones included).
    pub fn parse_slice(&self, bytes: &[u8]) -> Result<Value, ParseError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ParseError(format!("invalid UTF-8: {e}")))?;
        self.parse_str(text).map_err(|e| ParseError(e.to_string()))
    }
}

/// JSON text that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid JSON: {0}")]
pub struct ParseError(pub String);

impl Select {
    fn member_mut(&mut self, name: &str) -> &mut Projection {
        let at = match self.members.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.members.push((name.to_owned(), Projection::Skip));
                self.members.len() - 1
            }
        };
        &mut self.members[at].1
    }
}

/// Reads JSONPath text into the steps it takes. `None` means "not understood": read everything.
struct PathParser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> PathParser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_blank(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.at += prefix.len();
            true
        } else {
            false
        }
    }

    /// The whole path: `$` and its segments, then nothing.
    fn top(&mut self, terminal: &Projection) -> Option<Vec<Need>> {
        self.skip_blank();
        if !self.eat("$") {
            return None;
        }
        let (relative, mut absolute) = self.segments(terminal, true)?;
        self.skip_blank();
        if !self.rest().is_empty() {
            return None;
        }
        absolute.extend(relative);
        Some(absolute)
    }

    /// The segments after a `$` or `@`: what they read relative to that node, and what filters
    /// inside them read from the root (`$`). `top` allows a descendant segment at the end.
    fn segments(&mut self, terminal: &Projection, top: bool) -> Option<(Vec<Need>, Vec<Need>)> {
        let mut branches: Vec<Vec<Step>> = vec![Vec::new()];
        let mut relative = Vec::new();
        let mut absolute = Vec::new();
        loop {
            let before = self.at;
            self.skip_blank();
            if self.rest().starts_with("..") {
                // Every descendant is read: the whole subtree. Safe only when nothing after it
                // reads from elsewhere (a filter could read `$`).
                if !top || self.rest().contains('?') {
                    return None;
                }
                relative.extend(branches.into_iter().map(|steps| (steps, Projection::All)));
                self.at = self.text.len();
                return Some((relative, absolute));
            }
            let children: Vec<Child> = if self.eat(".*") {
                vec![Child::Any]
            } else if self.eat(".") {
                vec![Child::Name(self.shorthand_name()?)]
            } else if self.peek() == Some('[') {
                self.at += 1;
                self.bracket()?
            } else {
                self.at = before;
                break;
            };
            let mut next = Vec::new();
            for steps in &branches {
                for child in &children {
                    let steps_to = |step: Step| {
                        let mut s = steps.clone();
                        s.push(step);
                        s
                    };
                    match child {
                        Child::Name(name) => next.push(steps_to(Step::Member(name.clone()))),
                        Child::Element => next.push(steps_to(Step::Elements)),
                        Child::Any => {
                            next.push(steps_to(Step::OtherMembers));
                            next.push(steps_to(Step::Elements));
                        }
                        Child::Filter { relative: reads, absolute: root_reads } => {
                            for step in [Step::OtherMembers, Step::Elements] {
                                let to_child = steps_to(step);
                                for (read, end) in reads {
                                    let mut s = to_child.clone();
                                    s.extend(read.iter().cloned());
                                    relative.push((s, end.clone()));
                                }
                                next.push(to_child);
                            }
                            absolute.extend(root_reads.iter().cloned());
                        }
                    }
                }
            }
            if next.len() > MAX_BRANCHES {
                return None;
            }
            branches = next;
        }
        relative.extend(branches.into_iter().map(|steps| (steps, terminal.clone())));
        Some((relative, absolute))
    }

    /// The rest of a path made of member names only, and whether it ends in a wildcard;
    /// `None` for anything else.
    fn member_names(&mut self) -> Option<(Vec<String>, bool)> {
        let mut names = Vec::new();
        loop {
            if self.rest().is_empty() {
                return Some((names, false));
            }
            if self.eat(".*") || self.eat("[*]") {
                return self.rest().is_empty().then_some((names, true));
            }
            if self.eat(".") {
                names.push(self.shorthand_name()?);
            } else if self.eat("[") {
                if !matches!(self.peek(), Some('\'' | '"')) {
                    return None;
                }
                names.push(self.string_literal()?);
                if !self.eat("]") {
                    return None;
                }
            } else {
                return None;
            }
        }
    }

    /// A member name after `.`: RFC 9535 `member-name-shorthand`.
    fn shorthand_name(&mut self) -> Option<String> {
        let rest = self.rest();
        let first = rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_' || !first.is_ascii()) {
            return None;
        }
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())).unwrap_or(rest.len());
        self.at += end;
        Some(rest[..end].to_owned())
    }

    /// The selectors of a bracketed segment, after its `[`, through its `]`.
    fn bracket(&mut self) -> Option<Vec<Child>> {
        let mut children = Vec::new();
        loop {
            self.skip_blank();
            let child = match self.peek()? {
                '\'' | '"' => Child::Name(self.string_literal()?),
                '*' => {
                    self.at += 1;
                    Child::Any
                }
                '?' => {
                    self.at += 1;
                    self.filter()?
                }
                c if c == '-' || c == ':' || c.is_ascii_digit() => {
                    let rest = self.rest();
                    let end = rest.find([',', ']'])?;
                    if !rest[..end].chars().all(|c| c == '-' || c == ':' || c.is_ascii_digit() || c.is_whitespace()) {
                        return None;
                    }
                    self.at += end;
                    Child::Element
                }
                _ => return None,
            };
            children.push(child);
            self.skip_blank();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Some(children);
            }
            return None;
        }
    }

    /// A quoted string (a name selector or a literal in a filter), its escapes decoded.
    fn string_literal(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.at += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    out.push(match escaped {
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        '/' | '\\' | '\'' | '"' => escaped,
                        // `\uXXXX` (and surrogate pairs): rare in paths, not worth decoding here.
                        _ => return None,
                    });
                }
                c if c == quote => {
                    self.at += i + c.len_utf8();
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        None
    }

    /// A filter selector's expression, after its `?`, up to (not through) the `,` or `]` that
    /// ends it: every query in it is read whole, relative to the child (`@`) or the root (`$`).
    fn filter(&mut self) -> Option<Child> {
        let mut relative = Vec::new();
        let mut absolute = Vec::new();
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                '\'' | '"' => {
                    self.string_literal()?;
                }
                '@' | '$' => {
                    let root = self.peek() == Some('$');
                    self.at += 1;
                    let (reads, root_reads) = self.segments(&Projection::All, false)?;
                    absolute.extend(root_reads);
                    if root { absolute.extend(reads) } else { relative.extend(reads) }
                }
                '(' => {
                    depth += 1;
                    self.at += 1;
                }
                ')' => {
                    depth = depth.checked_sub(1)?;
                    self.at += 1;
                }
                ',' | ']' if depth == 0 => return Some(Child::Filter { relative, absolute }),
                '[' | ']' => return None,
                c => self.at += c.len_utf8(),
            }
        }
    }
}

/// What one selector selects among a node's children.
enum Child {
    Name(String),
    Element,
    Any,
    /// Every child, and what the filter reads relative to it and from the root.
    Filter {
        relative: Vec<Need>,
        absolute: Vec<Need>,
    },
}

/// Deserialises the projected part of a value.
pub(crate) struct Seed<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Projection::All => serde::Deserialize::deserialize(deserializer),
            Projection::Skip => deserializer.deserialize_ignored_any(IgnoredAny).map(|_| Value::Null),
            // `null` stays `null`; anything else becomes `true` (objects and arrays are built
            // empty on the way: nothing of them is selected).
            Projection::Presence => deserializer
                .deserialize_any(SelectVisitor(&Select::default()))
                .map(|value| if value.is_null() { Value::Null } else { Value::Bool(true) }),
            Projection::Select(select) => deserializer.deserialize_any(SelectVisitor(select)),
        }
    }
}

/// Builds the selected members or elements; scalars are kept as they are.
struct SelectVisitor<'p>(&'p Select);

impl<'de, 'p> Visitor<'de> for SelectVisitor<'p> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    // Scalars as `serde_json::Value` builds them.
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        if self.0.elements == Projection::Skip {
            // No path goes through the elements: the array only has to be there.
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        } else {
            while let Some(value) = seq.next_element_seed(Seed(&self.0.elements))? {
                out.push(value);
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        // When the other members are only tested for being non-null (`exists` over a filter
        // such as `$[?!$.pull_request]`), one non-null member among them answers every test.
        let witness_only = self.0.unnamed == Projection::Presence;
        let mut witness_found = false;
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            match key {
                Key::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Other(name) if witness_only => {
                    if witness_found {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        let value = map.next_value_seed(Seed(&Projection::Presence))?;
                        if !value.is_null() {
                            witness_found = true;
                            out.insert(name, value);
                        }
                    }
                }
                Key::Other(name) => {
                    let value = map.next_value_seed(Seed(&self.0.unnamed))?;
                    out.insert(name, value);
                }
                Key::Named(name, projection) => {
                    let value = map.next_value_seed(Seed(projection))?;
                    out.insert(name, value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A member name as the projection sees it.
enum Key<'p> {
    Skip,
    Other(String),
    Named(String, &'p Projection),
}

struct KeySeed<'p>(&'p Select);

impl<'de, 'p> DeserializeSeed<'de> for KeySeed<'p> {
    type Value = Key<'p>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'p>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'p> Visitor<'de> for KeySeed<'p> {
    type Value = Key<'p>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'p>, E> {
        let select = self.0;
        if let Some((_, projection)) = select.members.iter().find(|(n, _)| n.len() == name.len() && n == name) {
            return Ok(Key::Named(name.to_owned(), projection));
        }
        Ok(match select.unnamed {
            Projection::Skip => Key::Skip,
            _ => Key::Other(name.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::jsonpath::CompiledPath;

    fn parse(projection: &Projection, value: &Value) -> Value {
        projection.parse_str(&value.to_string()).unwrap()
    }

    /// Every path selects the same nodes in the projected document as in the whole one.
    fn same_nodes(paths: &[&str], doc: &Value) {
        let mut projection = Projection::Skip;
        for path in paths {
            projection = projection.union(Projection::of_path(path, &Projection::All));
        }
        let projected = parse(&projection, doc);
        for path in paths {
            let compiled = CompiledPath::parse(path).unwrap();
            assert_eq!(compiled.query(&projected), compiled.query(doc), "{path} over {projected}");
        }
    }

    #[test]
    fn a_union_of_many_finished_once_is_the_fold_of_unions() {
        let paths = [
            "$.a",
            "$.a.b",
            "$.*.c",
            "$..d",
            "$.e[*].f",
            "$.e[0]",
            "$['g','h'].i",
            "$.a[?@.x == 1].y",
            "$.k.*",
            "$.a.x",
            "$.*.y",
            "$.a.z",
            "$.a.*.b",
            "$.*",
            "$",
        ];
        let mut parts: Vec<Projection> = paths.iter().map(|p| Projection::of_path(p, &Projection::All)).collect();
        parts.push(Projection::of_path("$.a.w", &Projection::Presence));
        parts.push(Projection::of_items_in_page("$.items[*]", &Projection::of_path("$.id", &Projection::All)));
        for start in 0..parts.len() {
            for len in 0..=parts.len() {
                let some: Vec<Projection> = parts.iter().cycle().skip(start).take(len).cloned().collect();
                let folded = some.iter().cloned().fold(Projection::Skip, |mut out, part| {
                    out.merge(part);
                    out.finish();
                    out
                });
                assert_eq!(Projection::union_all(some), folded, "{len} parts from {start}");
            }
        }
    }

    #[test]
    fn named_members_are_kept_and_the_rest_skipped() {
        let doc = json!({"id": 1, "user": {"login": "a", "id": 2, "x": [1, 2]}, "body": "long", "n": null});
        let projection =
            Projection::of_path("$.user.login", &Projection::All).union(Projection::of_path("$.id", &Projection::All));
        assert_eq!(parse(&projection, &doc), json!({"id": 1, "user": {"login": "a"}}));
        same_nodes(&["$.user.login", "$.id", "$.n", "$['user']['x'][1]", "$.user.x[-1]"], &doc);
    }

    #[test]
    fn wildcards_filters_and_slices_select_the_same_nodes() {
        let doc = json!({
            "labels": [{"name": "bug", "id": 1, "c": "x"}, {"name": "p1", "id": 2}, 3, null],
            "headers": [{"name": "From", "value": "a@b"}, {"name": "To", "value": "c@d"}],
            "status": "resolved", "endsAt": "t", "startsAt": "t", "m": {"a": {"b": 1}, "c": {"b": 2, "d": 3}},
            "pull_request": {"url": "u"}, "created_at": "x", "updated_at": "x",
        });
        same_nodes(
            &[
                "$.labels[*].name",
                "$.labels[0:1].id",
                "$.labels[-1]",
                "$.headers[?@.name == 'From'].value",
                "$[?$.status == 'resolved' && @ == $.endsAt]",
                "$.m.*.b",
                "$.m[*]['d']",
                "$[?!$.pull_request]",
                "$[?$.created_at == $.updated_at]",
                "$.labels[?@.id > 1 || length(@.c) == 1].name",
                "$..b",
                "$.m..d",
                "$['labels', 'status']",
                "$.labels[0, 1].name",
            ],
            &doc,
        );
    }

    #[test]
    fn an_exists_test_over_every_member_keeps_one_non_null_witness() {
        let doc = json!({"a": null, "b": {"deep": [1, 2, 3]}, "c": "x", "created_at": "t", "updated_at": "t"});
        let projection = Projection::of_path("$[?$.created_at == $.updated_at]", &Projection::Presence);
        let projected = parse(&projection, &doc);
        assert_eq!(projected, json!({"b": true, "created_at": "t", "updated_at": "t"}));
        let path = CompiledPath::parse("$[?$.created_at == $.updated_at]").unwrap();
        let exists = |v: &Value| path.query(v).iter().any(|n| !n.is_null());
        assert_eq!(exists(&projected), exists(&doc));
        let all_null = json!({"x": null});
        assert_eq!(parse(&projection, &all_null), json!({}));
    }

    #[test]
    fn unknown_syntax_reads_everything() {
        for path in ["$..[?@.a == $.b]", "$.a..[?@.b]", "$['\\u0041']", "not a path"] {
            assert!(Projection::of_path(path, &Projection::All).is_all(), "{path}");
        }
    }

    #[test]
    fn items_of_a_top_level_array_are_projected() {
        let item = Projection::of_path("$.id", &Projection::All);
        let page = Projection::of_items("$", &item);
        let doc = json!([{"id": 1, "x": 2}, {"id": 2, "y": [3]}]);
        assert_eq!(parse(&page, &doc), json!([{"id": 1}, {"id": 2}]));
        let nested = Projection::of_items("$.data.items[*]", &item);
        let doc = json!({"data": {"items": [{"id": 1, "x": 2}], "next": "c"}, "meta": {}});
        assert_eq!(parse(&nested, &doc), json!({"data": {"items": [{"id": 1}]}}));
    }

    #[test]
    fn a_page_keeps_everything_but_the_items_whole() {
        let item = Projection::of_path("$.id", &Projection::All);
        let doc = json!({"data": {"items": [{"id": 1, "x": 2}], "next": "c"}, "meta": {"total": 1}});
        let page = Projection::of_items_in_page("$.data.items[*]", &item);
        assert_eq!(parse(&page, &doc), json!({"data": {"items": [{"id": 1}], "next": "c"}, "meta": {"total": 1}}));
        let top = Projection::of_items_in_page("$", &item);
        assert_eq!(parse(&top, &json!([{"id": 1, "x": 2}])), json!([{"id": 1}]));
        assert_eq!(parse(&top, &json!({"id": 1, "x": 2})), json!({"id": 1, "x": 2}), "a lone item is the page");
        assert!(Projection::of_items_in_page("$.a[*].b[*]", &item).is_all());
    }

    #[test]
    fn skipped_parts_are_still_checked() {
        let projection = Projection::of_path("$.id", &Projection::All);
        assert!(projection.parse_str(r#"{"id": 1, "x": [1, }"#).is_err());
        assert!(projection.parse_str(r#"{"id": 1} trailing"#).is_err());
        assert!(projection.parse_slice(b"{\"id\": 1, \"x\": \"\xff\"}").is_err());
    }
}
