#!/usr/bin/env python3
"""Finds import cycles between the modules (source files) of every crate under `crates/`.

A module is one source file (`lib.rs`, `foo.rs`, `foo/mod.rs`). Module A depends on module B when
A names something B defines: in a `use` declaration (`crate::`, `super::`, `self::` or a child
module's name) or in a path written inline in code (`crate::mapping::map_item(..)`). A name that
B only re-exports (`pub use child::Thing`) is followed to the module that defines it, so a parent
that re-exports its children is not in a cycle with them; a child that reaches back for something
its parent *defines* while the parent uses the child is. Declaring a child (`mod child;`) is not a
dependency.

Exits 1 and prints every cycle (a strongly connected set of modules with the edges inside it).

    python3 tests/architecture/module_cycles.py [crates-dir]
"""

import os
import re
import sys

USE_RE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?use\s+([^;]+);", re.MULTILINE | re.DOTALL)
INLINE_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
MOD_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.MULTILINE)
DEFINE_RE = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+|const\s+|unsafe\s+)*"
    r"(?:struct|enum|trait|type|fn|const|static|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.MULTILINE,
)
COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"')


TEST_MOD_RE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+[a-z_][a-z0-9_]*\s*\{")


def strip(text):
    """Source without comments, string contents and inline `#[cfg(test)] mod … { }` blocks (a
    test module's `super::*` is its own file, not a dependency)."""
    text = STRING_RE.sub('""', COMMENT_RE.sub("", text))
    while (match := TEST_MOD_RE.search(text)) is not None:
        depth, end = 0, len(text)
        for index in range(match.end() - 1, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        text = text[: match.start()] + text[end:]
    return text


def module_files(src):
    """Module path (tuple) -> file, for one crate's `src/` tree (`src/bin/*` are crate roots too)."""
    modules = {}
    for root, _dirs, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)
            parts = rel[:-3].split(os.sep)
            if parts[0] == "bin":
                continue
            if parts[-1] in ("lib", "main") and len(parts) == 1:
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            modules[tuple(parts)] = os.path.join(root, name)
    return modules


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (renames and globs kept as the last part)."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for index, char in enumerate(tree):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                prefix, inner, rest = tree[:start], tree[start + 1:index], tree[index + 1:]
                parts, depth2, last = [], 0, 0
                for j, c in enumerate(inner):
                    if c == "{":
                        depth2 += 1
                    elif c == "}":
                        depth2 -= 1
                    elif c == "," and depth2 == 0:
                        parts.append(inner[last:j])
                        last = j + 1
                parts.append(inner[last:])
                out = []
                for part in parts:
                    if part:
                        out.extend(expand_use_tree(prefix + part + rest))
                return out
    return [tree.split("as")[0] if "::" not in tree.split("as")[-1] and " as " in tree else re.sub(r"as[A-Za-z_0-9]+$", "", tree)] if tree else []


class Crate:
    def __init__(self, src):
        self.modules = module_files(src)
        self.texts = {path: strip(open(file, encoding="utf-8").read()) for path, file in self.modules.items()}
        self.defines = {path: set(DEFINE_RE.findall(text)) for path, text in self.texts.items()}
        self.reexports = {}  # module -> {name: target path segments}
        self.uses = {}
        for path, text in self.texts.items():
            self.uses[path] = []
            self.reexports[path] = {}
            for match in USE_RE.finditer(text):
                public = bool(match.group(1))
                for full in expand_use_tree(match.group(3)):
                    segments = [s for s in full.split("::") if s]
                    if not segments:
                        continue
                    absolute = self.absolute(path, segments)
                    if absolute is None:
                        continue
                    self.uses[path].append(absolute)
                    if public and segments[-1] != "*":
                        self.reexports[path][segments[-1]] = absolute
            for match in INLINE_RE.finditer(text):
                absolute = self.absolute(path, [match.group(1)] + match.group(2).split("::")[1:])
                if absolute is not None:
                    self.uses[path].append(absolute)

    def absolute(self, here, segments):
        """Crate-absolute segments of a path written in module `here`, or None if external."""
        head = segments[0]
        if head == "crate":
            return segments[1:]
        if head in ("self", "super"):
            base = list(here)
            while segments and segments[0] in ("self", "super"):
                if segments[0] == "super":
                    if not base:
                        return None
                    base.pop()
                segments = segments[1:]
            return base + segments
        if tuple(here) + (head,) in self.modules:  # a child module, named relative to here
            return list(here) + segments
        return None

    def resolve(self, segments, depth=0):
        """The module that defines what `segments` names (following re-exports)."""
        for cut in range(len(segments), -1, -1):
            module = tuple(segments[:cut])
            if module in self.modules:
                rest = segments[cut:]
                if rest and rest[0] != "*" and depth < 16:
                    target = self.reexports.get(module, {}).get(rest[0])
                    if target is not None and rest[0] not in self.defines[module]:
                        return self.resolve(target + rest[1:], depth + 1)
                return module
        return None

    def graph(self):
        edges = {path: set() for path in self.modules}
        for path, uses in self.uses.items():
            for segments in uses:
                target = self.resolve(segments)
                if target is not None and target != path:
                    edges[path].add(target)
        return edges


def strongly_connected(edges):
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            out.append(component)

    sys.setrecursionlimit(10000)
    for node in edges:
        if node not in index:
            visit(node)
    return [c for c in out if len(c) > 1]


def name(module):
    return "crate::" + "::".join(module) if module else "crate"


def main():
    crates_dir = sys.argv[1] if len(sys.argv) > 1 else "crates"
    cycles, modules = 0, 0
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        if not os.path.isdir(src):
            continue
        parsed = Crate(src)
        modules += len(parsed.modules)
        edges = parsed.graph()
        for component in strongly_connected(edges):
            cycles += 1
            members = set(component)
            print(f"{crate}: import cycle between {', '.join(sorted(name(m) for m in component))}")
            for module in sorted(component):
                for target in sorted(edges[module] & members):
                    print(f"    {name(module)} -> {name(target)}")
    if cycles:
        print(f"{cycles} import cycle(s)")
        return 1
    print(f"module cycles: none among {modules} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
