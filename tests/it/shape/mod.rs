//! The shape of src/ (issue 25): no import cycles between its modules, no function over
//! 100 lines, and one module layout (a module with children is `a/mod.rs`, never `a.rs` beside
//! `a/`). A module is a file (src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is `a::b`);
//! module A depends on module B when A's code names a path into B, in a `use` (`crate::`,
//! `super::`, `self::`, or a child module's name) or inline (`crate::memory::gib(…)`). A module
//! naming its parent or an ancestor is not counted: a module and its children are one unit,
//! whose parent declares and re-exports them. Test code (tests.rs, tests/ folders,
//! `#[cfg(test)] mod`) is left out of the graph, not out of the length limit. src/main.rs is
//! its own crate (it names `reflect::`).
//!
//! `cargo test --test it shape::` prints what is wrong: each cycle with the imports that tie it
//! (file:line), each long function with file:line and its length, each module file beside its
//! folder.

mod functions;
mod graph;
mod lex;

use functions::{long_functions, Long};
use graph::{cycles, imports, Edges};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The most lines a function in src/ may have.
const MAX_LINES: usize = 100;

/// The `.rs` files under `dir`, by path relative to it (`/`-separated).
fn scan(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).expect("below dir");
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>();
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                files.insert(rel.join("/"), text);
            }
        }
    }
    files
}

/// What is wrong with the shape of `files`, said as the check prints it; empty when nothing is.
fn verdict(files: &BTreeMap<String, String>, limit: usize) -> String {
    let edges = imports(files);
    let groups = cycles(&edges);
    let longs = long_functions(files, limit);
    let beside = beside_their_folder(files);
    if groups.is_empty() && longs.is_empty() && beside.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for file in &beside {
        let folder = file.trim_end_matches(".rs");
        let _ = writeln!(
            out,
            "module layout: {file} beside {folder}/: move it to {folder}/mod.rs"
        );
    }
    report_cycles(&mut out, &groups, &edges);
    let _ = writeln!(out, "functions over {limit} lines: {}", longs.len());
    for Long { at, name, lines } in &longs {
        let _ = writeln!(out, "  {at} {name} ({lines} lines)");
    }
    out
}

/// Module files with a folder of the same name beside them (`a.rs` and `a/b.rs`).
fn beside_their_folder(files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .keys()
        .filter(|rel| {
            let folder = format!("{}/", rel.trim_end_matches(".rs"));
            rel.ends_with(".rs") && files.keys().any(|other| other.starts_with(&folder))
        })
        .cloned()
        .collect()
}

fn report_cycles(out: &mut String, groups: &[Vec<String>], edges: &Edges) {
    let name = |m: &str| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.to_string()
        }
    };
    let _ = writeln!(out, "import cycles: {}", groups.len());
    for group in groups {
        let names: Vec<String> = group.iter().map(|m| name(m)).collect();
        let _ = writeln!(out, "  {}", names.join(" ↔ "));
        for a in group {
            for (b, at) in edges.get(a).into_iter().flatten() {
                if group.contains(b) {
                    let _ = writeln!(out, "    {} → {}  ({at})", name(a), name(b));
                }
            }
        }
    }
}

#[test]
fn src_has_no_import_cycles_and_no_function_over_100_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = verdict(&scan(&src), MAX_LINES);
    assert!(found.is_empty(), "the shape of src/ (issue 25):\n{found}");
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(rel, text)| (rel.to_string(), text.to_string()))
        .collect()
}

/// A made-up src/ with a cycle (one side a grouped use, the other an inline path) and a
/// function of 101 lines, among things that must not count.
fn crooked() -> BTreeMap<String, String> {
    let long = format!(
        "fn long() {{\n{}}}\nfn short() {{\n}}\n",
        "    let _ = 1;\n".repeat(99)
    );
    tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod long;\n"),
        ("a.rs", "use crate::{b::{self, Thing}, c};\npub fn f() {}\n"),
        ("b.rs", "pub fn g() { crate::a::f(); }\n// use crate::c::X; in a comment\n"),
        // c → d only; d names c in a string, a raw string and test code, which do not count.
        ("c.rs", "use crate::d::Y;\n"),
        (
            "d/mod.rs",
            "const S: &str = \"crate::c::Z\";\nconst R: &str = r#\"use crate::c;\"#;\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\n",
        ),
        // A child naming its parent, and the parent using the child: one unit.
        ("d/e.rs", "use super::S;\n"),
        ("d/tests.rs", "use crate::a;\n"),
        ("long.rs", &long),
    ])
}

#[test]
fn the_check_names_a_cycle_with_its_imports_and_a_long_function() {
    let files = crooked();
    let edges = imports(&files);
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".to_string()]]);
    assert!(!edges["d"].contains_key("c"), "{edges:?}");
    assert!(!edges["d::e"].contains_key("d"), "{edges:?}");
    let want = "\
import cycles: 1
  a ↔ b
    a → b  (src/a.rs:1)
    b → a  (src/b.rs:1)
functions over 100 lines: 1
  src/long.rs:1 long (101 lines)
";
    assert_eq!(verdict(&files, MAX_LINES), want);
}

#[test]
fn a_tree_without_cycles_or_long_functions_passes() {
    let mut files = crooked();
    // b no longer names a; long loses a line; a function with `[u8; 4]` in its signature
    // (a `;` before its body) and a declaration without one are measured right.
    files.insert("b.rs".into(), "pub fn g() { crate::c::h(); }\n".into());
    let long = format!("fn long() {{\n{}}}\n", "    let _ = 1;\n".repeat(98));
    files.insert("long.rs".into(), long);
    files.insert(
        "arr.rs".into(),
        "fn a(x: [u8; 4]) -> u8 {\n    x[0]\n}\ntrait T {\n    fn d(&self);\n}\n".into(),
    );
    assert_eq!(verdict(&files, MAX_LINES), "");
    assert_eq!(
        verdict(&files, 2).lines().last(),
        Some("  src/arr.rs:1 a (3 lines)")
    );
}

#[test]
fn use_trees_expand_to_one_path_each() {
    assert_eq!(
        graph::expand("crate::{a::{self, b as c}, d::e}"),
        ["crate::a", "crate::a::b", "crate::d::e"]
    );
    assert_eq!(graph::expand("crate::hub as h"), ["crate::hub"]);
}

#[test]
fn a_module_file_beside_its_folder_is_named() {
    let files = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "pub mod x;\n"),
        ("a/x.rs", ""),
        ("b/mod.rs", "pub mod y;\n"),
        ("b/y.rs", ""),
    ]);
    assert_eq!(
        verdict(&files, MAX_LINES),
        "module layout: a.rs beside a/: move it to a/mod.rs\nimport cycles: 0\nfunctions over 100 lines: 0\n"
    );
}
