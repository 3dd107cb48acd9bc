//! Filters that read only the root: `$[?!$.pull_request]`, `$[?$.created_at == $.updated_at]`.
//!
//! RFC 9535 evaluates a filter once per member of the node it applies to. When the expression
//! reads no `@` (only the root `$`), its value is the same for every member: the filter selects
//! all members or none. Descriptors write such filters as item conditions, and the general
//! engine spent most of a GitHub issue's mapping evaluating them once per field of the issue.
//! Here the expression is evaluated once. Only a small grammar is taken (logical operators,
//! parentheses, comparisons, singular root queries of `.name` / `['name']` / `[n]` steps, and
//! literals without escapes); anything else stays with the general engine. The test
//! `root_filters_agree_with_the_general_engine` holds the two to the same answers.

use serde_json::Value;

use super::steps::{Step, simple_steps, walk};

/// A compiled `$[?expr]` whose `expr` reads only the root.
#[derive(Debug, Clone)]
pub(super) struct RootFilter {
    expr: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A query as a test: true when it selects a node (`null` included).
    Exists(Box<[Step]>),
    Compare(Operand, Comparison, Operand),
}

#[derive(Debug, Clone)]
enum Operand {
    Query(Box<[Step]>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl RootFilter {
    /// The filter of `source` when it is a whole `$[?expr]` path this module can evaluate.
    pub(super) fn parse(source: &str) -> Option<Self> {
        let inner = source.strip_prefix("$[?")?.strip_suffix(']')?;
        if inner.contains('@') || inner.contains('\\') {
            return None;
        }
        let mut parser = Parser { text: inner, at: 0 };
        let expr = parser.or()?;
        parser.skip_space();
        (parser.at == inner.len()).then_some(Self { expr })
    }

    /// The nodes the filter selects from `root`: its members (values in order) or none.
    pub(super) fn select<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        if !self.expr.holds(root) {
            return Vec::new();
        }
        match root {
            Value::Object(map) => map.values().collect(),
            Value::Array(items) => items.iter().collect(),
            _ => Vec::new(),
        }
    }
}

impl Expr {
    fn holds(&self, root: &Value) -> bool {
        match self {
            Self::Or(parts) => parts.iter().any(|p| p.holds(root)),
            Self::And(parts) => parts.iter().all(|p| p.holds(root)),
            Self::Not(inner) => !inner.holds(root),
            Self::Exists(steps) => walk(root, steps).is_some(),
            Self::Compare(left, op, right) => compare(left.value(root), *op, right.value(root)),
        }
    }
}

impl Operand {
    /// The value, or `None` for a query that selects nothing.
    fn value<'v>(&'v self, root: &'v Value) -> Option<&'v Value> {
        match self {
            Self::Query(steps) => walk(root, steps),
            Self::Literal(value) => Some(value),
        }
    }
}

/// RFC 9535 §2.3.5.2.2: two empty sides are equal; `<` holds between numbers or between
/// strings only.
fn compare(left: Option<&Value>, op: Comparison, right: Option<&Value>) -> bool {
    match op {
        Comparison::Eq => equal(left, right),
        Comparison::Ne => !equal(left, right),
        Comparison::Lt => less(left, right),
        Comparison::Le => less(left, right) || equal(left, right),
        Comparison::Gt => less(right, left),
        Comparison::Ge => less(right, left) || equal(left, right),
    }
}

fn equal(left: Option<&Value>, right: Option<&Value>) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(a), Some(b)) => values_equal(a, b),
        _ => false,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn less(left: Option<&Value>, right: Option<&Value>) -> bool {
    match (left, right) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() < y.as_f64(),
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => false,
    }
}

/// A recursive-descent parser over the filter's text; `None` for anything outside the grammar.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\n', '\r']);
        self.at = self.text.len() - trimmed.len();
    }

    /// Consumes `token` (after blanks) if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            return true;
        }
        false
    }

    fn or(&mut self) -> Option<Expr> {
        let mut parts = vec![self.and()?];
        while self.eat("||") {
            parts.push(self.and()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut parts = vec![self.basic()?];
        while self.eat("&&") {
            parts.push(self.basic()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    /// A parenthesised expression or a query test, either possibly negated, or a comparison.
    fn basic(&mut self) -> Option<Expr> {
        self.skip_space();
        if self.rest().starts_with("!=") {
            return None;
        }
        if self.eat("!") {
            let inner = if self.eat("(") { self.parenthesised()? } else { Expr::Exists(self.query()?) };
            return Some(Expr::Not(Box::new(inner)));
        }
        if self.eat("(") {
            return self.parenthesised();
        }
        let left = self.operand()?;
        match self.comparison() {
            Some(op) => Some(Expr::Compare(left, op, self.operand()?)),
            None => match left {
                Operand::Query(steps) => Some(Expr::Exists(steps)),
                Operand::Literal(_) => None,
            },
        }
    }

    fn parenthesised(&mut self) -> Option<Expr> {
        let inner = self.or()?;
        self.eat(")").then_some(inner)
    }

    fn comparison(&mut self) -> Option<Comparison> {
        // Longest first: `<=` before `<`.
        let ops = [
            ("==", Comparison::Eq),
            ("!=", Comparison::Ne),
            ("<=", Comparison::Le),
            (">=", Comparison::Ge),
            ("<", Comparison::Lt),
            (">", Comparison::Gt),
        ];
        ops.into_iter().find_map(|(token, op)| self.eat(token).then_some(op))
    }

    fn operand(&mut self) -> Option<Operand> {
        self.skip_space();
        if self.rest().starts_with('$') {
            return self.query().map(Operand::Query);
        }
        self.literal().map(Operand::Literal)
    }

    /// A singular root query: `$` then `.name`, `['name']` or `[n]` steps.
    fn query(&mut self) -> Option<Box<[Step]>> {
        self.skip_space();
        let rest = self.rest();
        if !rest.starts_with('$') {
            return None;
        }
        let mut end = 1;
        let bytes = rest.as_bytes();
        while end < bytes.len() {
            match bytes[end] {
                b'.' | b'_' | b'-' => end += 1,
                b'[' => end += rest[end..].find(']')? + 1,
                c if c.is_ascii_alphanumeric() || c >= 0x80 => end += 1,
                _ => break,
            }
        }
        let steps = simple_steps(&rest[..end])?;
        if steps.contains(&Step::Wildcard) {
            return None;
        }
        self.at += end;
        Some(steps.into_boxed_slice())
    }

    /// `true`, `false`, `null`, a number, or a string in quotes without escapes.
    fn literal(&mut self) -> Option<Value> {
        for (word, value) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)] {
            if self.eat(word) {
                return Some(value);
            }
        }
        let rest = self.rest();
        if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let close = rest[1..].find(quote)?;
            let text = rest[1..=close].to_owned();
            self.at += close + 2;
            return Some(Value::String(text));
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let number: serde_json::Number = rest[..end].parse().ok()?;
        self.at += end;
        Some(Value::Number(number))
    }
}
