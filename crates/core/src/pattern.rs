//! The regular expressions of a descriptor (`matches` conditions and response rules, the
//! `capture` filter, `relatedItemsPatterns`), built when they are first used.
//!
//! Building a matcher is the costly part of compiling a descriptor: the seven expressions of
//! `github-prs` (Unicode `\w`, `\b`, `(?i)`) take about 1.5 ms in a fresh process, twice what
//! the rest of the descriptor takes, while checking their syntax takes 0.2 ms
//! (`bench/README.md`, "Lambda cold starts"). A function that never evaluates them — the
//! webhook gateway verifies and enqueues, it does not map — should not pay for them at its
//! first delivery.
//!
//! So a [`Pattern`] is always checked for syntax when its descriptor compiles, and its matcher is
//! built then too, except inside [`deferred`]: [`crate::Descriptor::from_registered`] compiles a
//! stored descriptor and leaves each matcher to its first use. A descriptor a user registered was
//! compiled in full when the registry accepted it; a shipped one (built in or native) is
//! registered as written, and the tests compile every one of them in full.

use std::cell::Cell;
use std::sync::OnceLock;

use regex::Regex;
use regex_syntax::hir::{Hir, HirKind};

thread_local! {
    /// Whether the [`Pattern`]s created on this thread leave their matcher to first use.
    static DEFERRED: Cell<bool> = const { Cell::new(false) };
}

#[cfg(test)]
thread_local! {
    /// How many matchers were built on this thread, for the tests.
    static BUILT: Cell<usize> = const { Cell::new(0) };
}

/// How many matchers were built on this thread so far.
#[cfg(test)]
pub(crate) fn built_on_this_thread() -> usize {
    BUILT.with(Cell::get)
}

/// Builds a matcher: the costly step this module defers.
fn build(source: &str) -> Result<Regex, regex::Error> {
    #[cfg(test)]
    BUILT.with(|built| built.set(built.get() + 1));
    Regex::new(source)
}

/// Runs `compile` with every [`Pattern`] it creates (on this thread) checked for syntax only,
/// its matcher built on first use.
pub(crate) fn deferred<T>(compile: impl FnOnce() -> T) -> T {
    /// Puts the previous setting back, also when `compile` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEFERRED.with(|deferred| deferred.set(self.0));
        }
    }
    let _restore = Restore(DEFERRED.with(|deferred| deferred.replace(true)));
    compile()
}

/// A regular expression of a descriptor: its syntax checked and its groups known, its matcher
/// built now or on first use (see the module documentation).
#[derive(Clone)]
pub struct Pattern {
    source: String,
    /// How many groups a match has, the whole match (group 0) included.
    groups: usize,
    /// The names of its named groups.
    names: Vec<String>,
    /// The matcher, or `None` when it cannot be built (logged once).
    matcher: OnceLock<Option<Regex>>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

impl Pattern {
    /// Checks `source` as [`Regex::new`] does and, unless inside [`deferred`], builds its
    /// matcher. The error reads as `Regex::new`'s. Inside [`deferred`] only the syntax is
    /// checked: an expression over the size limit of a built matcher is found at first use.
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let matcher = OnceLock::new();
        if !DEFERRED.with(Cell::get) {
            let regex = build(source)?;
            let names = regex.capture_names().flatten().map(str::to_owned).collect();
            let groups = regex.captures_len();
            let _ = matcher.set(Some(regex));
            return Ok(Self { source: source.to_owned(), groups, names, matcher });
        }
        // The same parser and settings as `Regex::new`, whose syntax errors are this error's text.
        let hir = regex_syntax::Parser::new().parse(source).map_err(|e| regex::Error::Syntax(e.to_string()))?;
        let (mut names, mut last) = (Vec::new(), 0);
        groups(&hir, &mut names, &mut last);
        Ok(Self { source: source.to_owned(), groups: last + 1, names, matcher })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many groups a match has, the whole match (group 0) included, as
    /// [`Regex::captures_len`].
    pub fn captures_len(&self) -> usize {
        self.groups
    }

    /// Whether the expression has a group named `name`.
    pub fn has_group_named(&self, name: &str) -> bool {
        self.names.iter().any(|known| known == name)
    }

    /// The matcher, built on first use. `None` only when a deferred build fails, which cannot
    /// happen to an expression compiled in full by this build of the code (at registration, or
    /// by the tests for a shipped descriptor): the expression then matches nothing, and the
    /// failure is logged once.
    pub fn matcher(&self) -> Option<&Regex> {
        self.matcher
            .get_or_init(|| match build(&self.source) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    tracing::error!(
                        pattern = %self.source,
                        %error,
                        "a descriptor's regular expression could not be built: it matches nothing; \
                         register the descriptor again to see the error at its field"
                    );
                    None
                }
            })
            .as_ref()
    }

    /// Whether the expression matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.matcher().is_some_and(|regex| regex.is_match(text))
    }
}

/// Appends the names of the groups in `hir`, and raises `last` to the highest group index.
/// Groups are numbered as written, so a group the parser drops (one repeated `{0}` times) still
/// leaves its number taken, as `Regex::captures_len` counts it.
fn groups(hir: &Hir, names: &mut Vec<String>, last: &mut usize) {
    match hir.kind() {
        HirKind::Capture(capture) => {
            names.extend(capture.name.as_deref().map(str::to_owned));
            *last = (*last).max(capture.index as usize);
            groups(&capture.sub, names, last);
        }
        HirKind::Repetition(repetition) => groups(&repetition.sub, names, last),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().for_each(|part| groups(part, names, last));
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPRESSIONS: [&str; 11] = [
        r"(?i)^(p0|critical|priority[: /-]*(critical|urgent))$",
        r"^\d+$",
        r"\b([A-Z][A-Z0-9]+-\d+)\b",
        r"(?:^|[^\w/&])#(\d+)\b",
        r"(?<owner>[^/]+)/(?<repo>[^#]+)#(?<n>\d+)|(?<solo>x)",
        r"(a(?<inner>b)*)+|c{2,}(?:d)",
        r"",
        r"(?x) a (?<spaced> b ) # comment",
        r"(a){0}(b)",
        r"(?<n>a){0}(?<m>b)",
        r"x(?:(a)|(?<q>b)){0,0}(c)",
    ];

    #[test]
    fn a_deferred_pattern_reads_its_groups_as_a_built_one() {
        for source in EXPRESSIONS {
            let built = Pattern::new(source).expect("valid");
            let deferred = deferred(|| Pattern::new(source)).expect("valid");
            assert!(built.matcher.get().is_some(), "{source}: built at once outside `deferred`");
            assert!(deferred.matcher.get().is_none(), "{source}: left to first use inside `deferred`");
            let regex = Regex::new(source).expect("valid");
            assert_eq!(deferred.captures_len(), regex.captures_len(), "{source}");
            assert_eq!(built.captures_len(), regex.captures_len(), "{source}");
            let known: Vec<&str> = regex.capture_names().flatten().collect();
            for name in &known {
                assert!(deferred.has_group_named(name) && built.has_group_named(name), "{source}: {name}");
            }
            for name in ["n", "m", "q", "inner", "owner", "spaced", "solo"] {
                assert_eq!(deferred.has_group_named(name), known.contains(&name), "{source}: {name}");
            }
            assert!(!deferred.has_group_named("absent"));
            for text in ["P0", "critical", "12", "see ABC-12 and #4", "o/r#9", "abab", "cc", " b"] {
                assert_eq!(deferred.is_match(text), regex.is_match(text), "{source} on {text:?}");
            }
            assert!(deferred.matcher.get().is_some(), "{source}: built by its first use");
        }
    }

    #[test]
    fn a_deferred_syntax_error_reads_as_the_regex_crates() {
        for source in ["(", "[a-", r"\p{Nope}", "a{3,2}", "(?<n>a)(?<n>b)"] {
            let expected = Regex::new(source).expect_err("invalid").to_string();
            let built = Pattern::new(source).expect_err("invalid").to_string();
            let deferred = deferred(|| Pattern::new(source)).expect_err("invalid").to_string();
            assert_eq!(built, expected, "{source}");
            assert_eq!(deferred, expected, "{source}");
        }
    }

    #[test]
    fn deferred_ends_with_its_closure() {
        deferred(|| assert!(DEFERRED.with(Cell::get)));
        assert!(!DEFERRED.with(Cell::get));
        let _ = std::panic::catch_unwind(|| deferred(|| panic!("compile failed")));
        assert!(!DEFERRED.with(Cell::get), "restored after a panic too");
    }

    #[test]
    fn a_pattern_too_big_to_build_matches_nothing() {
        let source = r"\w{1000}\w{1000}\w{1000}";
        assert!(Regex::new(source).is_err(), "the test needs an expression over the size limit");
        assert!(Pattern::new(source).is_err(), "built at once, the size limit is an error");
        let deferred = deferred(|| Pattern::new(source)).expect("its syntax is valid");
        assert!(!deferred.is_match("a"));
        assert!(deferred.matcher().is_none());
    }
}
