//! `{{placeholder}}` templates: parsed once, rendered many times.
//!
//! The same syntax serves two purposes: request templates (placeholders are variable names such
//! as `baseUrl` or `config.projectKey`) and summary templates (placeholders are field paths or
//! JSONPaths evaluated against an item).

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as is.
    Literal(String),
    /// A `{{name}}` placeholder (trimmed).
    Placeholder(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `text`; the error is a human-readable reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segments.push(Segment::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed '{{{{' at byte {}", text.len() - rest.len() + start))?;
            let name = after[..end].trim();
            if name.is_empty() {
                return Err(format!("empty placeholder at byte {}", text.len() - rest.len() + start));
            }
            segments.push(Segment::Placeholder(name.to_owned()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_owned()));
        }
        Ok(Self { source: text.to_owned(), segments })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parsed segments, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The placeholder names, in order of appearance.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Renders the template, asking `resolve` for each placeholder's text.
    pub fn render<E>(&self, mut resolve: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::with_capacity(self.source.len());
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder(name) => out.push_str(&resolve(name)?),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_placeholders() {
        let t = Template::parse("{{baseUrl}}/repos/{{ config.repo }}/issues").expect("valid");
        assert_eq!(t.placeholders().collect::<Vec<_>>(), vec!["baseUrl", "config.repo"]);
        let out: Result<String, ()> = t.render(|n| Ok(n.to_uppercase()));
        assert_eq!(out, Ok("BASEURL/repos/CONFIG.REPO/issues".to_owned()));
    }

    #[test]
    fn unclosed_placeholder_is_an_error() {
        assert!(Template::parse("a {{b").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a {{ }}").unwrap_err().contains("empty"));
    }

    #[test]
    fn single_braces_are_literal() {
        let t = Template::parse("{\"q\": 1}").expect("valid");
        assert_eq!(t.placeholders().count(), 0);
    }
}
