//! `relatedItemsPatterns`: every match of a regular expression over the text at some paths of an
//! item becomes a related item: its first capture group (or the whole match), or, with a `key`,
//! a normalised reference built from the match's groups and the item's fields, e.g.
//! `{{repository.full_name}}#$1` for `#(\d+)`, so that `#12` names one repository's issue.
//!
//! A key is checked when the descriptor loads: its placeholders are field expressions (as in
//! `summaryTemplate`), and each `$` refers to a group the regex has, so a typo is an error at the
//! key's JSON pointer rather than an empty reference at run time.

use regex::Captures;
use serde_json::Value;

use super::issue_sink::IssueSink;
use super::template::{MappingScope, SummaryPart, TemplateKind, compile_template, strings};
use crate::jsonpath::CompiledPath;
use crate::model::{FieldMappingDescriptor, Issue};
use crate::pattern::Pattern;

/// One compiled `relatedItemsPatterns` entry.
#[derive(Debug, Clone)]
pub(super) struct RelatedPattern {
    paths: Vec<CompiledPath>,
    regex: Pattern,
    /// The `key` template: literals (expanded with the match's groups) and item placeholders.
    key: Option<Vec<SummaryPart>>,
}

impl RelatedPattern {
    /// Every path the pattern reads: the searched texts and the key's placeholders.
    pub(super) fn read_paths(&self) -> impl Iterator<Item = &CompiledPath> {
        let key_paths = self.key.iter().flatten().flat_map(|part| match part {
            SummaryPart::Field(expr) => Some(expr.read_paths()),
            _ => None,
        });
        self.paths.iter().chain(key_paths.flatten())
    }

    /// Appends the related items this pattern finds in `item` to `out`, skipping repeats.
    pub(super) fn extend(&self, item: &Value, out: &mut Vec<String>) {
        let texts = strings(&self.paths, item);
        if texts.is_empty() {
            return;
        }
        // The key's placeholders are the same for every match: rendered once; a placeholder
        // without a value means no key can be built for this item.
        let key = match &self.key {
            None => None,
            Some(parts) => match render_fields(parts, item) {
                Some(rendered) => Some(rendered),
                None => return,
            },
        };
        let Some(regex) = self.regex.matcher() else { return };
        for text in &texts {
            for found in regex.captures_iter(text) {
                let reference = match &key {
                    Some(parts) => expand(parts, &found),
                    None => match found.get(1).or_else(|| found.get(0)) {
                        Some(m) => m.as_str().to_owned(),
                        None => continue,
                    },
                };
                if !reference.is_empty() && !out.contains(&reference) {
                    out.push(reference);
                }
            }
        }
    }
}

/// A key with its item placeholders rendered: literals still to expand with a match's groups.
enum Rendered<'a> {
    Groups(&'a str),
    Text(String),
}

fn render_fields<'a>(parts: &'a [SummaryPart], item: &Value) -> Option<Vec<Rendered<'a>>> {
    parts
        .iter()
        .map(|part| match part {
            SummaryPart::Literal(text) => Some(Rendered::Groups(text)),
            SummaryPart::Field(expr) => expr.render(item).map(Rendered::Text),
            // Item templates compile no instance values.
            SummaryPart::Config(_) => None,
        })
        .collect()
}

fn expand(parts: &[Rendered<'_>], found: &Captures<'_>) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Rendered::Groups(text) => found.expand(text, &mut out),
            // Item values are copied as they are: a `$` in a title is not a group.
            Rendered::Text(text) => out.push_str(text),
        }
    }
    out
}

/// Compiles a mapping's `relatedItemsPatterns`, reporting every problem at its pointer.
pub(super) fn compile(
    spec: &FieldMappingDescriptor,
    pointer: &str,
    scope: &MappingScope<'_>,
    sink: &mut IssueSink<'_>,
) -> Vec<RelatedPattern> {
    let mut out = Vec::new();
    for (i, pattern) in spec.related_items_patterns.iter().enumerate() {
        let at = format!("{pointer}/relatedItemsPatterns/{i}");
        let paths = sink.paths(Some(&pattern.paths), &format!("{at}/paths"));
        let regex = Pattern::new(&pattern.pattern)
            .map_err(|e| sink.0.push(Issue::new(format!("{at}/pattern"), format!("invalid regular expression: {e}"))))
            .ok();
        let key = match (&pattern.key, &regex) {
            (None, _) => Some(None),
            (Some(key), Some(regex)) => compile_key(key, regex, &format!("{at}/key"), scope, sink).map(Some),
            // The key's groups cannot be checked against a regex that does not compile.
            (Some(_), None) => None,
        };
        if let (Some(regex), Some(key)) = (regex, key)
            && paths.len() == pattern.paths.paths().len()
        {
            out.push(RelatedPattern { paths, regex, key });
        }
    }
    out
}

fn compile_key(
    key: &str,
    regex: &Pattern,
    pointer: &str,
    scope: &MappingScope<'_>,
    sink: &mut IssueSink<'_>,
) -> Option<Vec<SummaryPart>> {
    let parts = compile_template(key, pointer, TemplateKind::Item, scope, sink.0)?;
    let mut uses_match = false;
    for part in &parts {
        if let SummaryPart::Literal(text) = part {
            match group_references(text) {
                Ok(groups) => {
                    for group in groups {
                        if let Err(message) = check_group(&group, regex) {
                            sink.0.push(Issue::new(pointer, message));
                            return None;
                        }
                        uses_match = true;
                    }
                }
                Err(message) => {
                    sink.0.push(Issue::new(pointer, message));
                    return None;
                }
            }
        }
    }
    if !uses_match {
        sink.0.push(Issue::new(
            pointer,
            "the key does not use the match: refer to it as $0, to a group as $1 or ${name}",
        ));
        return None;
    }
    Some(parts)
}

/// The group names and numbers a literal refers to, read as `Captures::expand` reads them: `$$`
/// is a dollar sign, `${name}` and `$name` (the longest run of letters, digits and `_`) a group.
/// A `$` that names nothing, which `expand` would copy silently, is an error here.
fn group_references(text: &str) -> Result<Vec<String>, String> {
    let mut groups = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or_else(|| format!("unclosed \"${{\" in the key {text:?}"))?;
            groups.push(braced[..end].to_owned());
            rest = &braced[end + 1..];
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if end == 0 {
                return Err(format!(
                    "a \"$\" in the key {text:?} names no group: write $1, ${{name}}, or $$ for a dollar sign"
                ));
            }
            groups.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    Ok(groups)
}

fn check_group(group: &str, regex: &Pattern) -> Result<(), String> {
    let known = match group.parse::<usize>() {
        Ok(index) => index < regex.captures_len(),
        Err(_) => regex.has_group_named(group),
    };
    if known {
        return Ok(());
    }
    let hint = match group.find(|c: char| !c.is_ascii_digit()) {
        Some(split) if split > 0 => {
            format!(
                " (for group {} followed by {:?}, write ${{{}}})",
                &group[..split],
                &group[split..],
                &group[..split]
            )
        }
        _ => String::new(),
    };
    Err(format!("the key refers to group {group:?}, which the pattern does not have{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_references_follow_the_expand_syntax() {
        assert_eq!(group_references("{{x}}#$1").unwrap(), ["1"]);
        assert_eq!(group_references("${repo}#${2}x").unwrap(), ["repo", "2"]);
        assert_eq!(group_references("$$-$0").unwrap(), ["0"]);
        assert_eq!(group_references("$1a").unwrap(), ["1a"]);
        assert!(group_references("cost: $").unwrap_err().contains("names no group"));
        assert!(group_references("${1").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn a_group_the_regex_lacks_is_named_with_a_hint() {
        let regex = Pattern::new(r"#(?<n>\d+)").unwrap();
        assert!(check_group("0", &regex).is_ok());
        assert!(check_group("1", &regex).is_ok());
        assert!(check_group("n", &regex).is_ok());
        assert!(check_group("2", &regex).unwrap_err().contains("group \"2\""));
        let hint = check_group("1a", &regex).unwrap_err();
        assert!(hint.contains("write ${1}"), "{hint}");
    }
}
