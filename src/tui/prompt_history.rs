//! The prompts typed into the chat, kept across runs (as ollama and aichat keep theirs): one
//! JSON string a line in `<data dir>/history.jsonl`, readable only by the user, the newest
//! [`KEEP`] kept. Up and Down recall them in the next chat too.

use std::io::{self, Write};
use std::path::Path;

/// How many prompts are kept.
pub const KEEP: usize = 1000;

/// The prompts saved in `path`, oldest first; lines that are not a JSON string are skipped. A
/// file longer than [`KEEP`] is trimmed.
pub fn load(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut all: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<String>(l).ok())
        .collect();
    if all.len() > KEEP {
        all.drain(..all.len() - KEEP);
        let text: String = all
            .iter()
            .filter_map(|p| serde_json::to_string(p).ok())
            .map(|l| l + "\n")
            .collect();
        if crate::config::write::write_atomic(path, &text).is_ok() {
            private(path);
        }
    }
    all
}

/// Makes the file the user's alone (0600): it holds what they typed.
fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Appends one prompt.
pub fn append(path: &Path, prompt: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    writeln!(
        f,
        "{}",
        serde_json::to_string(prompt).map_err(io::Error::other)?
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_round_trip_multi_line_and_the_oldest_go_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d").join("history.jsonl");
        assert!(load(&path).is_empty());
        append(&path, "first").unwrap();
        append(&path, "two\nlines \"quoted\"").unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        assert_eq!(load(&path), ["first", "two\nlines \"quoted\""]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for i in 0..KEEP + 5 {
            append(&path, &format!("p{i}")).unwrap();
        }
        let kept = load(&path);
        assert_eq!(kept.len(), KEEP);
        assert_eq!(
            kept.last().map(String::as_str),
            Some(&*format!("p{}", KEEP + 4))
        );
        assert_eq!(load(&path).len(), KEEP, "trimmed on disk too");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "still private after trimming");
        }
    }
}
