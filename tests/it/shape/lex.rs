//! The shape check's view of Rust source: comments, string and char literals blanked and
//! `#[cfg(test)]` modules left out, with newlines kept so that every offset keeps its line.

use regex::Regex;
use std::sync::LazyLock;

/// `'a'`, `'\n'`, `'\u{1F600}'`, `'"'`: a char literal (not a lifetime, `'a`).
static CHAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^'(?:\\[^']*|[^'\\\n])'"#).unwrap());
/// The opening of a raw string: `r"`, `r#"`, `r##"`…
static RAW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^r(#*)""#).unwrap());
static CFG_TEST_MOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{").unwrap()
});

/// The code with comments and string and char literals blanked (newlines kept).
pub fn strip(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let end = if rest.starts_with("//") {
            i + rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            i + block_comment_len(rest)
        } else if let Some(hashes) = rest
            .starts_with('r')
            .then(|| raw_string_at(code, i))
            .flatten()
        {
            let close = format!("\"{}", "#".repeat(hashes));
            let from = 2 + hashes;
            i + rest[from..]
                .find(&close)
                .map_or(rest.len(), |at| from + at + close.len())
        } else if rest.starts_with('"') {
            i + string_len(rest)
        } else if let Some(m) = rest.starts_with('\'').then(|| CHAR.find(rest)).flatten() {
            i + m.end()
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        out.extend(
            code[i..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        i = end;
    }
    out
}

/// The hashes of a raw string opening at `i` (not `r"` ending an identifier, like `bar"`).
fn raw_string_at(code: &str, i: usize) -> Option<usize> {
    let after_word = code[..i]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    if after_word {
        return None;
    }
    RAW.captures(&code[i..]).map(|c| c[1].len())
}

/// The length of the (nested) block comment `rest` starts with.
fn block_comment_len(rest: &str) -> usize {
    let (mut depth, mut j) = (1, 2);
    while j < rest.len() && depth > 0 {
        if rest[j..].starts_with("/*") {
            depth += 1;
            j += 2;
        } else if rest[j..].starts_with("*/") {
            depth -= 1;
            j += 2;
        } else {
            j += rest[j..].chars().next().map_or(1, char::len_utf8);
        }
    }
    j.min(rest.len())
}

/// The length of the string literal `rest` starts with, escapes included.
fn string_len(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let mut j = 1;
    while j < bytes.len() && bytes[j] != b'"' {
        j += if bytes[j] == b'\\' { 2 } else { 1 };
    }
    (j + 1).min(bytes.len())
}

/// The index just past the brace that closes the one at `open_at`.
pub fn block_end(code: &str, open_at: usize) -> usize {
    let mut depth = 0i64;
    for (j, b) in code.bytes().enumerate().skip(open_at) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Blanks the `#[cfg(test)] mod … { … }` blocks (newlines kept).
pub fn without_tests(code: &str) -> String {
    let mut code = code.to_string();
    while let Some(m) = CFG_TEST_MOD.find(&code) {
        let end = block_end(&code, m.end() - 1);
        let blank: String = code[m.start()..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(m.start()..end, &blank);
    }
    code
}

/// The line (from 1) of byte `at`.
pub fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}
