#!/usr/bin/env python3
"""The shape of src/ (issue 25): import cycles between modules, and functions over 100 lines.

A module is a file (src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is `a::b`). Module A
depends on module B when A's code names a path into B: a `use` (`crate::`, `super::`,
`self::`, or a child module's name) or a path written inline (`crate::memory::gib(…)`).
A module naming its own parent or an ancestor (`use super::Thing`) is not counted: a module
and its children are one unit, whose parent declares and re-exports them (count it with
--with-parents). Test code is left out: files named tests.rs or under a tests/ folder, and
`#[cfg(test)] mod … { … }` blocks. src/main.rs is its own crate (it names `reflect::`).

Prints each cycle (a strongly connected group of modules, with the imports that tie it)
and each function longer than the limit, and exits 1 when it found any, else 0.

    python3 scripts/check-shape.py [--src DIR] [--max-lines N] [--with-parents]
    python3 scripts/check-shape.py --self-test   # checks this script on a made-up tree
"""

import argparse
import os
import re
import sys

USE = re.compile(r"\buse\s+([^;]+);")
INLINE = re.compile(r"\b(?:crate|super|self)(?:\s*::\s*(?:super|[A-Za-z_]\w*))+")
FN = re.compile(
    r"^[ \t]*(?:pub(?:\s*\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?"
    r"(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_]\w*)",
    re.M,
)
CFG_TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")


def strip(code):
    """The code with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        two = code[i : i + 2]
        if two == "//":
            j = code.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif two == "/*":
            depth, j = 1, i + 2
            while j < n and depth:
                if code.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif code.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", code[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', code[i:]) and not re.match(r"\w", code[i - 1 : i] or " "):
            hashes = re.match(r"r(#*)\"", code[i:]).group(1)
            end = code.find('"' + hashes, i + len(hashes) + 2)
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", code[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", code[i:j]))
            i = j
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}'), not a lifetime ('a).
            m = re.match(r"'(?:\\[^']*|[^'\\\n])'", code[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def block_end(code, open_at):
    """The index just past the brace that closes the one at `open_at`."""
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(code)


def without_tests(code):
    """Blanks `#[cfg(test)] mod … { … }` blocks (newlines kept)."""
    while True:
        m = CFG_TEST_MOD.search(code)
        if not m:
            return code
        end = block_end(code, m.end() - 1)
        code = code[: m.start()] + re.sub(r"[^\n]", " ", code[m.start() : end]) + code[end:]


def module_of(rel):
    """`hub::client` for hub/client.rs; `` (the root) for lib.rs."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return "::".join(parts)


def is_test_file(rel):
    parts = rel.split(os.sep)
    return parts[-1] == "tests.rs" or "tests" in parts[:-1]


def expand(tree):
    """`a::{b, c::{d, e}}` → [a::b, a::c::d, a::c::e] (`self` in a group is the prefix)."""
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for i, c in enumerate(tree):
        if c == "{":
            prefix = tree[:i].rstrip(":")
            inner = tree[i + 1 : block_end(tree, i) - 1]
            parts, depth, start = [], 0, 0
            for j, d in enumerate(inner):
                if d == "{":
                    depth += 1
                elif d == "}":
                    depth -= 1
                elif d == "," and depth == 0:
                    parts.append(inner[start:j])
                    start = j + 1
            parts.append(inner[start:])
            paths = []
            for p in filter(None, parts):
                if p == "self":
                    paths.append(prefix)
                else:
                    paths.extend(expand(prefix + "::" + p if prefix else p))
            return paths
    return [re.split(r"\bas\b", tree)[0]]


def resolve(path, here, modules):
    """The module a path in module `here` lands in, or None (another crate, or unknown)."""
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = [], segs[1:]
    elif segs[0] in ("super", "self"):
        # A file module's `self` is itself; `super` is its parent (src/a.rs's parent is the root).
        base = here.split("::") if here else []
        rest = segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    elif "::".join(filter(None, [here, segs[0]])) in modules:
        base, rest = (here.split("::") if here else []), segs
    else:
        return None
    found = "::".join(base)
    for s in rest:
        nxt = "::".join(base + [s])
        if nxt in modules:
            base.append(s)
            found = nxt
        else:
            break
    return found if found in modules else None


def scan(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                rel = os.path.relpath(os.path.join(root, name), src)
                files[rel] = open(os.path.join(root, name), encoding="utf-8").read()
    return files


def is_ancestor(a, b):
    """Whether module `a` holds module `b` (the root holds every module)."""
    return a == "" or b.startswith(a + "::")


def imports(files, with_parents=False):
    """{module: {imported module: first file:line that names it}}."""
    modules = {module_of(rel) for rel in files if rel != "main.rs"}
    edges = {}
    for rel, text in sorted(files.items()):
        if rel == "main.rs" or is_test_file(rel):
            continue
        here = module_of(rel)
        code = without_tests(strip(text))
        found = edges.setdefault(here, {})

        def add(path, at):
            to = resolve(path, here, modules)
            if to is None or to == here:
                return
            if with_parents or not is_ancestor(to, here):
                line = code.count("\n", 0, at) + 1
                found.setdefault(to, f"src/{rel}:{line}")

        used = []
        for m in USE.finditer(code):
            used.append((m.start(), m.end()))
            for p in expand(m.group(1)):
                add(p, m.start())
        for m in INLINE.finditer(code):
            if not any(a <= m.start() < b for a, b in used):
                add(re.sub(r"\s+", "", m.group(0)), m.start())
    return edges


def cycles(edges):
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out, key=lambda g: (-len(g), g))


def long_functions(files, limit):
    out = []
    for rel, text in sorted(files.items()):
        code = strip(text)
        for m in FN.finditer(code):
            brace = code.find("{", m.end())
            semi = code.find(";", m.end())
            if brace < 0 or (0 <= semi < brace):
                continue
            end = block_end(code, brace)
            first = code.count("\n", 0, m.start()) + 1
            last = code.count("\n", 0, end - 1) + 1
            if last - first + 1 > limit:
                out.append((f"src/{rel}:{first}", m.group(1), last - first + 1))
    return sorted(out, key=lambda f: -f[2])


def self_test():
    """The script on a made-up src/: what it must find, and what it must not."""
    import tempfile

    tree = {
        "lib.rs": "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n",
        # a ↔ b, one through a grouped use, the other through an inline path.
        "a.rs": "use crate::{b::{self, Thing}, c};\npub fn f() {}\n",
        "b.rs": "pub fn g() { crate::a::f(); }\n// use crate::c::X; in a comment\n",
        # c → d only; d names c in a string and in test code, which do not count.
        "c.rs": "use crate::d::Y;\n",
        "d.rs": 'const S: &str = "crate::c::Z";\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\n',
        # A child naming its parent, and the parent using the child: one unit.
        "d/e.rs": "use super::S;\n",
        "d/tests.rs": "use crate::a;\n",
        "long.rs": "fn long() {\n" + "    let _ = 1;\n" * 99 + "}\nfn short() {\n}\n",
    }
    with tempfile.TemporaryDirectory() as src:
        for rel, text in tree.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w", encoding="utf-8") as f:
                f.write(text)
        files = scan(src)
        edges = imports(files)
        assert cycles(edges) == [["a", "b"]], (cycles(edges), edges)
        assert "c" not in edges["d"], edges
        longs = long_functions(files, 100)
        assert [(f, n) for _, f, n in longs] == [("long", 101)], longs
    print("self-test: ok")
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(here, "..", "src"))
    ap.add_argument("--max-lines", type=int, default=100)
    ap.add_argument(
        "--with-parents",
        action="store_true",
        help="count a module naming its parent or an ancestor as an import",
    )
    ap.add_argument("--self-test", action="store_true", help="check this script, then exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    files = scan(args.src)
    edges = imports(files, args.with_parents)
    groups = cycles(edges)
    longs = long_functions(files, args.max_lines)
    name = lambda m: m or "crate"
    print(f"import cycles: {len(groups)}")
    for g in groups:
        print(f"  {' ↔ '.join(name(m) for m in g)}")
        for a in g:
            for b, at in sorted(edges.get(a, {}).items()):
                if b in g:
                    print(f"    {name(a)} → {name(b)}  ({at})")
    print(f"functions over {args.max_lines} lines: {len(longs)}")
    for at, fn, lines in longs:
        print(f"  {at} {fn} ({lines} lines)")
    return 1 if groups or longs else 0


if __name__ == "__main__":
    sys.exit(main())
