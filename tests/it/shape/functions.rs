//! Functions longer than a screen: each `fn` with a body, from its first line (attributes
//! and doc comments left out) to its closing brace.

use super::lex::{block_end, line_of, strip};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

static FN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^[ \t]*(?:pub(?:\s*\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+(?:"[^"]*"\s+)?)?fn\s+([A-Za-z_]\w*)"#,
    )
    .unwrap()
});

/// A function over the limit.
#[derive(Debug, PartialEq)]
pub struct Long {
    /// `src/file.rs:line` of its `fn` line.
    pub at: String,
    pub name: String,
    pub lines: usize,
}

/// The functions of `files` (paths relative to src/) longer than `limit` lines, longest first.
pub fn long_functions(files: &BTreeMap<String, String>, limit: usize) -> Vec<Long> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let code = strip(text);
        for m in FN.captures_iter(&code) {
            let whole = m.get(0).expect("a match");
            let Some(brace) = body_start(&code, whole.end()) else {
                continue;
            };
            let first = line_of(&code, whole.start());
            let last = line_of(&code, block_end(&code, brace) - 1);
            if last - first + 1 > limit {
                out.push(Long {
                    at: format!("src/{rel}:{first}"),
                    name: m[1].to_string(),
                    lines: last - first + 1,
                });
            }
        }
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.lines));
    out
}

/// Where the body of a function whose signature starts at `from` opens: the first `{` outside
/// parentheses and brackets (`[u8; 4]` in a signature is no end), or `None` for a declaration
/// without a body (`fn f();`).
fn body_start(code: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (j, b) in code.bytes().enumerate().skip(from) {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' if depth == 0 => return Some(j),
            b';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}
