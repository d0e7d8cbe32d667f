//! Writing configuration files: TOML values spelled so that they read back exactly, and
//! atomic replacement (temporary file in the same directory, then rename).

use std::io::{self, Write};
use std::path::Path;

/// A TOML string: basic (`"…"`) on one line, multi-line basic (`"""…"""`) when the text holds
/// line breaks, so that long prompts stay readable.
pub fn string(s: &str) -> String {
    let multiline = s.contains('\n');
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(if multiline { "\"\"\"\n" } else { "\"" });
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if multiline => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str(if multiline { "\"\"\"" } else { "\"" });
    out
}

/// A TOML float that reads back as the same `f32` (`0.7`, not `0.699999988`).
pub fn float(v: f32) -> String {
    let s = v.to_string();
    if s.contains(['.', 'e', 'E']) || !v.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// `["a", "b"]`.
pub fn string_array(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| string(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// Writes `text` to `path` atomically: readers see the old file or the new one, never half a
/// file. Creates the directory if needed.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    std::fs::create_dir_all(parent(path))?;
    replace(path, text.as_bytes(), false)
}

/// The directory a file is written in.
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Temporary file in the same directory, fsync, rename over `path`: readers and crashes see
/// the old file or the new one, never half a file. `private`: the file is created 0600 and the
/// directory is fsynced too, so that the rename itself survives a crash.
pub fn replace(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    #[cfg(not(unix))]
    let _ = private;
    let dir = parent(path);
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        if private {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The start of a self-contained file: `header` as comment lines (may be empty), then the
/// `name` and `description` keys every profile and theme file begins with.
pub fn preamble(header: &str, name: &str, description: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "name = {}", string(name));
    let _ = writeln!(out, "description = {}", string(description));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(value: &str) -> toml_edit::Value {
        let doc = toml_edit::ImDocument::parse(format!("v = {value}")).unwrap();
        doc.as_table()
            .get("v")
            .and_then(|i| i.as_value())
            .cloned()
            .unwrap()
    }

    #[test]
    fn strings_read_back_exactly() {
        let table = [
            "",
            "plain",
            "quote \" and backslash \\",
            "two\nlines",
            "\nleading newline",
            "ends with a quote\"",
            "ends with newline\n",
            "tab\tcr\rbell\u{7}",
            "\"\"\" triple\n\"\"\"",
            "ünïcödé ✓",
        ];
        for s in table {
            let v = read_back(&string(s));
            assert_eq!(v.as_str(), Some(s), "{s:?} → {}", string(s));
        }
    }

    #[test]
    fn floats_read_back_as_the_same_f32() {
        for v in [0.0f32, 0.7, 0.95, 1.0, 1.1, 2.5, 1e-7, 100.0] {
            let back = read_back(&float(v)).as_float().unwrap() as f32;
            assert_eq!(back, v, "{}", float(v));
        }
        assert_eq!(float(0.7), "0.7");
        assert_eq!(float(1.0), "1.0");
    }

    #[test]
    fn atomic_writes_replace_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.toml");
        write_atomic(&path, "a = 1\n").unwrap();
        write_atomic(&path, "a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.toml"]);
    }
}
