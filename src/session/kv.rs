//! llama.cpp state files for saved sessions: the KV cache after a pipe-mode turn, so that
//! `reflect --continue` decodes only the new message instead of the whole conversation again.
//! They are a cache (`<cache dir>/reflect/kv/`): named after the session and the model file
//! (path, size, modification time), only the newest few are kept, and deleting them is safe.
//! Each `X.state` has an `X.state.meta` and an `X.state.memo` beside it (see `engine::state`).

use crate::hash::fnv1a;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// How many state files to keep: they can be large (hundreds of MB for a 70B model).
pub const KEEP: usize = 2;

/// The state file for session `id` on the model at `model`.
pub fn state_path(cache_dir: &Path, id: &str, model: &Path) -> PathBuf {
    cache_dir
        .join("reflect")
        .join("kv")
        .join(format!("{id}-{:016x}.state", fingerprint(model)))
}

/// Identifies a model file: its canonical path, size and modification time.
fn fingerprint(model: &Path) -> u64 {
    let path = fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
    let meta = fs::metadata(&path).ok();
    let size = meta.as_ref().map_or(0, fs::Metadata::len);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut key = path.to_string_lossy().into_owned().into_bytes();
    key.extend_from_slice(&size.to_le_bytes());
    key.extend_from_slice(&mtime.to_le_bytes());
    fnv1a(&key)
}

/// Deletes all but the `keep` most recently written state files in `dir`.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "state"))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, path) in files.into_iter().skip(keep) {
        for suffix in [".meta", ".memo"] {
            let mut beside = path.clone().into_os_string();
            beside.push(suffix);
            let _ = fs::remove_file(beside);
        }
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_depend_on_the_session_and_the_model_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.gguf");
        let b = dir.path().join("b.gguf");
        fs::write(&a, b"one").unwrap();
        fs::write(&b, b"one").unwrap();
        let cache = dir.path().join("cache");
        let p = state_path(&cache, "s1", &a);
        assert!(p.starts_with(cache.join("reflect").join("kv")));
        assert_eq!(p, state_path(&cache, "s1", &a), "stable");
        assert_ne!(p, state_path(&cache, "s2", &a), "per session");
        assert_ne!(p, state_path(&cache, "s1", &b), "per model path");
        fs::write(&a, b"longer").unwrap();
        assert_ne!(p, state_path(&cache, "s1", &a), "a rewritten model");
    }

    #[test]
    fn prune_keeps_the_newest_state_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = std::time::SystemTime::now();
        for (i, name) in ["old.state", "mid.state", "new.state"].iter().enumerate() {
            let p = dir.path().join(name);
            fs::write(&p, b"x").unwrap();
            let f = fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        fs::write(dir.path().join("other.txt"), b"x").unwrap();
        fs::write(dir.path().join("old.state.meta"), b"1 1").unwrap();
        fs::write(dir.path().join("new.state.meta"), b"1 1").unwrap();
        fs::write(dir.path().join("old.state.memo"), b"{}").unwrap();
        fs::write(dir.path().join("new.state.memo"), b"{}").unwrap();
        prune(dir.path(), 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "mid.state",
                "new.state",
                "new.state.memo",
                "new.state.meta",
                "other.txt"
            ]
        );
    }
}
