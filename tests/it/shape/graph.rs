//! Which module of src/ names which: the `use crate::…` (and `super::`, `self::`, child)
//! paths and the paths written inline, resolved to modules, and the strongly connected
//! groups (import cycles) of that graph.

use super::lex::{block_end, line_of, strip, without_tests};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

static USE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\buse\s+([^;]+);").unwrap());
static INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:crate|super|self)(?:\s*::\s*(?:super|[A-Za-z_]\w*))+").unwrap()
});
/// A rename in a use (`a::b as c`): the path is what it names.
static RENAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+as\s+\w+").unwrap());

/// {module: {module it names: the first `src/file:line` that names it}}.
pub type Edges = BTreeMap<String, BTreeMap<String, String>>;

/// `hub::client` for hub/client.rs and hub/client/mod.rs; `` (the root) for lib.rs.
pub fn module_of(rel: &str) -> String {
    let mut parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
    if matches!(parts.last(), Some(&"mod") | Some(&"lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// Test code: a file named tests.rs, or one under a tests/ folder.
fn is_test_file(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.last() == Some(&"tests.rs") || parts[..parts.len() - 1].contains(&"tests")
}

/// `a::{b, c::{d, e}}` → `[a::b, a::c::d, a::c::e]` (`self` in a group is the prefix).
pub fn expand(tree: &str) -> Vec<String> {
    let tree: String = RENAME.replace_all(tree, "").split_whitespace().collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = tree[..open].trim_end_matches(':');
    let inner = &tree[open + 1..block_end(&tree, open) - 1];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (j, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut paths = Vec::new();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        if p == "self" {
            paths.push(prefix.to_string());
        } else if prefix.is_empty() {
            paths.extend(expand(p));
        } else {
            paths.extend(expand(&format!("{prefix}::{p}")));
        }
    }
    paths
}

/// The module a path written in module `here` lands in, or `None` (another crate's, or no
/// module of src/).
pub fn resolve(path: &str, here: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let here_parts: Vec<String> = here
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let first = *segs.first()?;
    let (mut base, mut rest) = if first == "crate" {
        (Vec::new(), &segs[1..])
    } else if first == "super" || first == "self" {
        // A file module's `self` is itself; `super` is its parent.
        let mut base = here_parts;
        let mut rest = &segs[..];
        while let Some(&s) = rest.first().filter(|s| **s == "super" || **s == "self") {
            if s == "super" {
                base.pop();
            }
            rest = &rest[1..];
        }
        (base, rest)
    } else if modules.contains(&join(&here_parts, first)) {
        (here_parts, &segs[..])
    } else {
        return None;
    };
    let mut found = base.join("::");
    while let Some(s) = rest.first() {
        let next = join(&base, s);
        if !modules.contains(&next) {
            break;
        }
        base.push(s.to_string());
        found = next;
        rest = &rest[1..];
    }
    modules.contains(&found).then_some(found)
}

fn join(base: &[String], last: &str) -> String {
    base.iter()
        .map(String::as_str)
        .chain([last])
        .collect::<Vec<_>>()
        .join("::")
}

/// Whether module `a` holds module `b` (the root holds every module).
fn is_ancestor(a: &str, b: &str) -> bool {
    a.is_empty() || b.starts_with(&format!("{a}::"))
}

/// The import graph of `files` (paths relative to src/, `/`-separated). A module naming its
/// own ancestor is not counted: a module and its children are one unit. main.rs is its own
/// crate and test code is left out.
pub fn imports(files: &BTreeMap<String, String>) -> Edges {
    let modules: BTreeSet<String> = files
        .keys()
        .filter(|rel| *rel != "main.rs")
        .map(|rel| module_of(rel))
        .collect();
    let mut edges = Edges::new();
    for (rel, text) in files {
        if rel == "main.rs" || is_test_file(rel) {
            continue;
        }
        let here = module_of(rel);
        let code = without_tests(&strip(text));
        let found = edges.entry(here.clone()).or_default();
        let mut add = |path: &str, at: usize| {
            let Some(to) = resolve(path, &here, &modules) else {
                return;
            };
            if to != here && !is_ancestor(&to, &here) {
                let line = line_of(&code, at);
                found
                    .entry(to)
                    .or_insert_with(|| format!("src/{rel}:{line}"));
            }
        };
        let mut uses = Vec::new();
        for m in USE.captures_iter(&code) {
            let whole = m.get(0).expect("a match");
            uses.push(whole.range());
            for p in expand(&m[1]) {
                add(&p, whole.start());
            }
        }
        for m in INLINE.find_iter(&code) {
            if !uses.iter().any(|r| r.contains(&m.start())) {
                let path: String = m.as_str().split_whitespace().collect();
                add(&path, m.start());
            }
        }
    }
    edges
}

/// The strongly connected groups of more than one module (Tarjan's), each sorted, the
/// largest first.
pub fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    let mut out = t.out;
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out
}

struct Tarjan<'a> {
    edges: &'a Edges,
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    on: BTreeSet<&'a str>,
    out: Vec<Vec<String>>,
}

impl<'a> Tarjan<'a> {
    fn visit(&mut self, v: &'a str) {
        let n = self.index.len();
        self.index.insert(v, n);
        self.low.insert(v, n);
        self.stack.push(v);
        self.on.insert(v);
        for w in self.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !self.index.contains_key(w) {
                self.visit(w);
                let low = self.low[v].min(self.low[w]);
                self.low.insert(v, low);
            } else if self.on.contains(w) {
                let low = self.low[v].min(self.index[w]);
                self.low.insert(v, low);
            }
        }
        if self.low[v] == self.index[v] {
            let mut group = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                self.out.push(group);
            }
        }
    }
}
