//! The KV cache on disk (`Command::StateFile`): written after a generation, restored into an
//! empty cache before the next, so that a conversation continued by a new process decodes only
//! its new message. llama.cpp aborts the process on some damaged state files, so a file is
//! handed to it only when its size matches the one recorded in a `.meta` file written after it.
//! A `.memo` file keeps the tokenization of the last prompt and generation ([`Memo`]), so that
//! a continued conversation that shows earlier turns whole is not re-tokenized either; the
//! `.meta` file records its checksum, and it is used only with the state file it was written
//! with.

use super::super::memo::Memo;
use super::Loaded;
use crate::hash::fnv1a as checksum;
use std::path::{Path, PathBuf};

/// `<state file><suffix>`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// `<state file>.meta`: "BYTES TOKENS [MEMO_CHECKSUM]".
fn meta_path(path: &Path) -> PathBuf {
    beside(path, ".meta")
}

/// `<state file>.memo`: the [`Memo`] as JSON.
fn memo_path(path: &Path) -> PathBuf {
    beside(path, ".memo")
}

/// Sets a file's or directory's mode: the KV state, its memo and their directory hold the
/// conversation, so they are the user's alone (0600 files in a 0700 directory), as session
/// files are.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// The memo saved beside a state file, if it is the one the `.meta` file names (`sum`) and it
/// stands for the restored `cached` tokens.
fn read_memo(
    path: &Path,
    sum: u64,
    cached: &[llama_cpp_2::token::LlamaToken],
    n_vocab: i32,
) -> Option<Memo> {
    let json = std::fs::read(memo_path(path)).ok()?;
    if checksum(&json) != sum {
        tracing::warn!(path = %path.display(), "memo file changed since it was written; not used");
        return None;
    }
    match serde_json::from_slice::<Memo>(&json) {
        Ok(m) if m.consistent(cached, n_vocab) => Some(m),
        Ok(_) => {
            tracing::warn!(path = %path.display(), "memo file does not match the state file; not used");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "memo file unreadable; not used");
            None
        }
    }
}

/// Why a state file is not used, or its memo's checksum (if it has a memo).
fn check(path: &Path, n_ctx: usize) -> Result<Option<u64>, String> {
    let meta = std::fs::read_to_string(meta_path(path)).map_err(|e| format!("no .meta: {e}"))?;
    let mut fields = meta.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(bytes)), Some(Ok(tokens))) = (fields.next(), fields.next()) else {
        return Err(format!("unreadable .meta: {meta:?}"));
    };
    let memo_sum = fields.next().and_then(Result::ok);
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len != bytes {
        return Err(format!("{len} bytes, but {bytes} were written"));
    }
    if tokens as usize >= n_ctx {
        return Err(format!("{tokens} tokens do not fit a context of {n_ctx}"));
    }
    Ok(memo_sum)
}

impl Loaded<'_> {
    /// Fills an empty KV cache from a state file written by [`Loaded::save_state`]; anything
    /// wrong (missing, damaged, another context size) leaves the cache empty. Logged only.
    pub(in crate::engine::llama) fn restore_state(&mut self, path: &Path) {
        if !self.cached.is_empty() || !path.is_file() {
            return;
        }
        let n_ctx = self.ctx.n_ctx() as usize;
        let memo_sum = match check(path, n_ctx) {
            Ok(sum) => sum,
            Err(why) => {
                tracing::warn!(path = %path.display(), why, "state file not used");
                return;
            }
        };
        match self.ctx.state_seq_load_file(path, 0, n_ctx) {
            Ok((tokens, bytes)) if tokens.len() < n_ctx => {
                tracing::info!(path = %path.display(), tokens = tokens.len(), bytes, "restored the KV cache");
                self.memo = memo_sum.and_then(|sum| read_memo(path, sum, &tokens, self.n_vocab()));
                self.cached = tokens;
            }
            other => {
                let why = format!("{:?}", other.map(|(t, b)| (t.len(), b)));
                tracing::warn!(path = %path.display(), why, "state file not usable");
                self.ctx.clear_kv_cache();
                self.cached.clear();
            }
        }
    }

    /// Writes the KV cache and its token list to `path` (temporary file, rename, then the
    /// `.meta` file). Failure only costs speed later, so it is logged, not reported.
    pub(in crate::engine::llama) fn save_state(&self, path: &Path) {
        if self.cached.is_empty() {
            return;
        }
        let Some(dir) = path.parent() else { return };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let meta = meta_path(path);
        // The old .meta goes first: a crash mid-way leaves a state file that is not used.
        let _ = std::fs::remove_file(&meta);
        let saved = std::fs::create_dir_all(dir)
            .and_then(|()| restrict(dir, 0o700))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                self.ctx
                    .state_seq_save_file(&tmp, 0, &self.cached)
                    .map_err(|e| e.to_string())
            })
            .and_then(|_| restrict(&tmp, 0o600).map_err(|e| e.to_string()))
            .and_then(|_| std::fs::metadata(&tmp).map_err(|e| e.to_string()))
            .and_then(|m| {
                std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
                let memo = self
                    .save_memo(path)
                    .map_or(String::new(), |sum| format!(" {sum}"));
                std::fs::write(&meta, format!("{} {}{memo}\n", m.len(), self.cached.len()))
                    .map(|()| m.len())
                    .map_err(|e| e.to_string())
            });
        match saved {
            Ok(bytes) => {
                tracing::info!(path = %path.display(), tokens = self.cached.len(), bytes, "saved the KV cache");
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(path = %path.display(), error = %e, "cannot save the KV cache");
            }
        }
    }

    /// Writes the memo beside the state file (temporary file, then rename) and returns its
    /// checksum for the `.meta` file; without one, an older memo is removed.
    fn save_memo(&self, path: &Path) -> Option<u64> {
        let memo = memo_path(path);
        let Some(m) = &self.memo else {
            let _ = std::fs::remove_file(&memo);
            return None;
        };
        let tmp = beside(path, &format!(".memo.{}.tmp", std::process::id()));
        let written = serde_json::to_vec(m)
            .map_err(|e| e.to_string())
            .and_then(|json| {
                std::fs::write(&tmp, &json)
                    .and_then(|()| restrict(&tmp, 0o600))
                    .and_then(|()| std::fs::rename(&tmp, &memo))
                    .map(|()| checksum(&json))
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(sum) => Some(sum),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                let _ = std::fs::remove_file(&memo);
                tracing::warn!(path = %memo.display(), error = %e, "cannot save the memo");
                None
            }
        }
    }
}
