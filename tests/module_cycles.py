#!/usr/bin/env python3
"""Finds import cycles between the modules of each crate under crates/.

Method: every source file is a module (`a/mod.rs` and `a.rs` are module `a`). An edge A -> B is
drawn when A's code (outside `#[cfg(test)] mod tests`) names B: through `use crate::…`,
`use super::…`, `crate::…` / `super::…` paths anywhere in the code, `self::child` or a bare
`child::` path to one of its own child modules, and `pub use` re-exports. A name is resolved to
the module that defines it, following `pub use` re-exports, so `crate::Descriptor` counts as an
edge to the module where `Descriptor` is written, not to `lib.rs`. `mod child;` declarations
are not edges. Any strongly connected component of two or more modules is a cycle.

Usage: tests/module_cycles.py [crate-dir ...]   (default: every crates/*/src). Exit 1 on a cycle.
"""

import re
import sys
from pathlib import Path

ITEM = re.compile(
    r"^\s*pub(?:\([^)]*\))?\s+(?:async\s+)?(?:unsafe\s+)?"
    r"(?:struct|enum|fn|trait|type|const|static|mod|union|macro)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
MOD_DECL = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)
USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
PATH = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(text):
    """Removes comments, string literals and the trailing `#[cfg(test)] mod tests { … }`."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{", text)
    return text[: cut.start()] if cut else text


def expand_use(tree):
    """`a::{b, c::{d, e as f}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)

    def split(s):
        depth, parts, cur = 0, [], ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def walk(prefix, s):
        s = re.sub(r"as[A-Za-z_][A-Za-z0-9_]*$", "", s) if "::" not in s[-3:] else s
        s = s.split("as")[0] if re.fullmatch(r"[A-Za-z0-9_:]+as[A-Za-z_0-9]+", s) else s
        i = s.find("{")
        if i < 0:
            return [prefix + s]
        head, body = s[:i], s[i + 1 : s.rfind("}")]
        out = []
        for part in split(body):
            out.extend(walk(prefix + head, part))
        return out

    return walk("", tree)


class Crate:
    def __init__(self, src):
        self.src = src
        self.modules = {}  # path tuple -> text
        self.items = {}  # path -> set of item names
        self.reexports = {}  # path -> {name: absolute path list}
        self.children = {}
        self.load()

    def load(self):
        for file in sorted(self.src.rglob("*.rs")):
            rel = file.relative_to(self.src).with_suffix("")
            parts = list(rel.parts)
            if parts in (["lib"], ["main"]):
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            if "bin" in parts[:1]:
                continue
            self.modules[tuple(parts)] = strip(file.read_text())
        for path, text in self.modules.items():
            self.items[path] = set(ITEM.findall(text))
            self.children[path] = set(MOD_DECL.findall(text))

    def absolute(self, here, path):
        """Turns `crate::a::b`, `super::b`, `self::b` or `child::b` into a segment list."""
        segs = path.split("::")
        if segs[0] == "crate":
            return segs[1:]
        base = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        return base + segs

    def resolve(self, segs, depth=0):
        """The module defining the item `segs` names (or the module it names)."""
        best = ()
        for i in range(len(segs), -1, -1):
            if tuple(segs[:i]) in self.modules:
                best = tuple(segs[:i])
                rest = segs[i:]
                break
        else:
            return None
        if not rest or depth > 8:
            return best
        name = rest[0]
        if name in self.items.get(best, ()) and name not in self.children.get(best, ()):
            return best
        target = self.reexport_map(best).get(name)
        if target is not None:
            return self.resolve(target + rest[1:], depth + 1)
        return best

    def reexport_map(self, path):
        if path not in self.reexports:
            self.reexports[path] = {}
            for m in USE.finditer(self.modules[path]):
                if not m.group(1):
                    continue
                for leaf in expand_use(m.group(2)):
                    segs = self.absolute(path, leaf)
                    if segs and segs[-1] != "*":
                        self.reexports[path][segs[-1]] = segs
        return self.reexports[path]

    def edges(self):
        graph = {m: set() for m in self.modules}
        for here, text in self.modules.items():
            refs = []
            for m in USE.finditer(text):
                for leaf in expand_use(m.group(2)):
                    first = leaf.split("::")[0]
                    if first in ("crate", "super", "self") or first in self.children.get(here, ()):
                        refs.append(leaf)
            refs += PATH.findall(text)
            for child in self.children.get(here, ()):
                refs += [m.group(0) for m in re.finditer(rf"(?<![A-Za-z0-9_:]){child}(?:::[A-Za-z_][A-Za-z0-9_]*)+", text)]
            for ref in refs:
                segs = [s for s in self.absolute(here, ref) if s != "*"]
                target = self.resolve(segs)
                if target is not None and target != here:
                    graph[here].add(target)
        return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            connect(v)
    return out


def main():
    root = Path(__file__).resolve().parent.parent
    dirs = [Path(a) for a in sys.argv[1:]] or sorted((root / "crates").glob("*/src"))
    found = 0
    for src in dirs:
        crate = Crate(src)
        for comp in cycles(crate.edges()):
            found += 1
            names = sorted("::".join(m) or "lib" for m in comp)
            print(f"{src.parent.name}: cycle between {', '.join(names)}")
    if found:
        sys.exit(1)
    print(f"no module cycles in {len(dirs)} crate(s)")


if __name__ == "__main__":
    main()
