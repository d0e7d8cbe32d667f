//! The file tools: read_file, list_dir, write_file and edit_file, all inside the workspace.

use super::args::Args;
use crate::tools::workspace::Workspace;
use std::io::Read;
use std::path::Path;

/// Files larger than this are not read at all.
const READ_MAX: u64 = 16 << 20;
/// At most this many directory entries are listed.
const LIST_MAX: usize = 1000;

/// A file's text; binary files and files that are not UTF-8 are refused.
fn read_text(ws: &Workspace, path: &Path) -> Result<String, String> {
    let shown = ws.show(path);
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory; list it with list_dir"));
    }
    if !meta.is_file() {
        // A FIFO or a device would block the read, or never end.
        return Err(format!("{shown} is not a regular file: not read"));
    }
    if meta.len() > READ_MAX {
        return Err(format!(
            "{shown} is {} MiB, too large to read (at most {} MiB)",
            meta.len() >> 20,
            READ_MAX >> 20
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(READ_MAX).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let len = bytes.len();
    let binary = || format!("{shown} is a binary file ({len} bytes): not read");
    if bytes[..len.min(8192)].contains(&0) {
        return Err(binary());
    }
    String::from_utf8(bytes).map_err(|_| binary())
}

/// `read_file path [start_line] [end_line]`: the file's text, or the lines asked for (1-based,
/// inclusive).
pub fn read_file(ws: &Workspace, args: &Args) -> Result<String, String> {
    let path = ws.resolve(args.str("path")?)?;
    let text = read_text(ws, &path)?;
    let (start, end) = (args.opt_u64("start_line")?, args.opt_u64("end_line")?);
    if start.is_none() && end.is_none() {
        return Ok(text);
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let n = lines.len() as u64;
    let start = start.unwrap_or(1).max(1);
    let end = end.unwrap_or(n).min(n);
    if start > n || start > end {
        return Err(format!(
            "{}: lines {start} to {end} are not in the file, which has {n} lines",
            ws.show(&path)
        ));
    }
    Ok(lines[(start - 1) as usize..end as usize].concat())
}

/// `list_dir [path]`: the directory's entries (`name/` for directories, sizes for files),
/// without what .gitignore ignores and without `.git`.
pub fn list_dir(ws: &Workspace, args: &Args) -> Result<String, String> {
    let dir = ws.resolve(args.opt_str("path")?.unwrap_or("."))?;
    let shown = ws.show(&dir);
    if !dir.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let mut rows: Vec<String> = ignore::WalkBuilder::new(&dir)
        .max_depth(Some(1))
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.depth() == 1)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            match e.metadata() {
                Ok(m) if m.is_dir() => format!("{name}/"),
                Ok(m) => format!("{name} ({} bytes)", m.len()),
                Err(_) => name,
            }
        })
        .collect();
    rows.sort();
    if rows.is_empty() {
        return Ok(format!("{shown} is empty"));
    }
    let more = rows.len().saturating_sub(LIST_MAX);
    rows.truncate(LIST_MAX);
    if more > 0 {
        rows.push(format!("[{more} more entries not shown]"));
    }
    Ok(rows.join("\n"))
}

/// `write_file path content`: creates or replaces the file (and its missing directories).
pub fn write_file(ws: &Workspace, args: &Args) -> Result<String, String> {
    let path = ws.resolve(args.str("path")?)?;
    let content = args.str("content")?;
    let shown = ws.show(&path);
    if path.is_dir() {
        return Err(format!("{shown} is a directory"));
    }
    let before = std::fs::metadata(&path).ok().map(|m| m.len());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {shown}: {e}"))?;
    }
    std::fs::write(&path, content).map_err(|e| format!("cannot write {shown}: {e}"))?;
    Ok(match before {
        Some(b) => format!("wrote {} bytes to {shown} (it had {b})", content.len()),
        None => format!("wrote {} bytes to {shown} (a new file)", content.len()),
    })
}

/// An edit worked out but not yet written: what approval shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub path: std::path::PathBuf,
    pub shown: String,
    pub after: String,
    /// A unified diff of the change.
    pub diff: String,
}

/// `edit_file path old new`: where `old` occurs exactly once, the file with it replaced.
pub fn plan_edit(ws: &Workspace, args: &Args) -> Result<Edit, String> {
    let path = ws.resolve(args.str("path")?)?;
    let (old, new) = (args.str("old")?, args.str("new")?);
    let before = read_text(ws, &path)?;
    let shown = ws.show(&path);
    if old.is_empty() {
        return Err("`old` is empty: give the exact text to replace".into());
    }
    match before.matches(old).count() {
        0 => {
            return Err(format!(
                "the text to replace is not in {shown}; read the file again and copy the text \
                 exactly (spaces and line breaks included)"
            ))
        }
        1 => {}
        n => {
            return Err(format!(
                "the text to replace occurs {n} times in {shown}; include more of the \
                 surrounding text so that it occurs once"
            ))
        }
    }
    let after = before.replacen(old, new, 1);
    let diff = similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string();
    Ok(Edit {
        path,
        shown,
        after,
        diff,
    })
}

/// Writes a planned edit; the result is its diff.
pub fn apply_edit(edit: &Edit) -> Result<String, String> {
    std::fs::write(&edit.path, &edit.after)
        .map_err(|e| format!("cannot write {}: {e}", edit.shown))?;
    Ok(format!("edited {}:\n{}", edit.shown, edit.diff))
}
