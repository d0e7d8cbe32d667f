//! The search tool: a regular expression over the workspace's files, as ripgrep searches
//! (its own `ignore` and `grep` crates): .gitignore respected, hidden files and binary files
//! skipped.

use super::args::Args;
use crate::tools::workspace::Workspace;
use grep_regex::RegexMatcher;
use grep_searcher::{sinks::Lossy, BinaryDetection, SearcherBuilder};
use std::sync::atomic::{AtomicBool, Ordering};

/// At most this many matching lines are listed.
const MATCH_MAX: usize = 200;
/// A matching line longer than this is cut.
const LINE_MAX: usize = 300;

/// `search pattern [path] [glob]`: `file:line:text` for each matching line.
pub fn search(ws: &Workspace, args: &Args, stop: &AtomicBool) -> Result<String, String> {
    let pattern = args.str("pattern")?;
    let matcher = RegexMatcher::new_line_matcher(pattern)
        .map_err(|e| format!("search: /{pattern}/ is not a valid regular expression: {e}"))?;
    let base = ws.resolve(args.opt_str("path")?.unwrap_or("."))?;
    let mut walk = ignore::WalkBuilder::new(&base);
    walk.require_git(false);
    if let Some(glob) = args.opt_str("glob")? {
        let overrides = ignore::overrides::OverrideBuilder::new(&base)
            .add(glob)
            .and_then(|b| b.build())
            .map_err(|e| format!("search: the glob '{glob}' is not valid: {e}"))?;
        walk.overrides(overrides);
    }
    let mut searcher = SearcherBuilder::new()
        .binary_detection(BinaryDetection::quit(0))
        .line_number(true)
        .build();
    let mut lines: Vec<String> = Vec::new();
    let mut files = 0usize;
    let mut more = false;
    for entry in walk.build().filter_map(Result::ok) {
        if stop.load(Ordering::SeqCst) || more {
            break;
        }
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let shown = ws.show(entry.path());
        let before = lines.len();
        let sink = Lossy(|n: u64, line: &str| {
            if lines.len() == MATCH_MAX {
                more = true;
                return Ok(false);
            }
            let line = line.trim_end_matches(['\n', '\r']);
            let cut: String = line.chars().take(LINE_MAX).collect();
            let mark = if cut.len() < line.len() { " […]" } else { "" };
            lines.push(format!("{shown}:{n}:{cut}{mark}"));
            Ok(true)
        });
        // A file that cannot be read is skipped, as ripgrep skips it.
        let _ = searcher.search_path(&matcher, entry.path(), sink);
        files += usize::from(lines.len() > before);
    }
    let place = ws.show(&base);
    if lines.is_empty() {
        return Ok(format!("no matches for /{pattern}/ in {place}"));
    }
    let n = lines.len();
    lines.push(if more {
        format!("[the first {n} matches, in {files} files; narrow the pattern, path or glob for the rest]")
    } else {
        format!("[{n} matches in {files} files]")
    });
    Ok(lines.join("\n"))
}
