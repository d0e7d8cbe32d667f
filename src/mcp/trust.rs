//! Which project `.mcp.json` files the user has said yes to: a server that runs a command is
//! code execution, so a project's servers start only once its file is trusted. The yes is
//! remembered by the file's SHA-256 (one line `HASH PATH` in `mcp-trusted` in reflect's data
//! directory): an edited file asks again.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file, in reflect's data directory, that lists the trusted hashes.
pub const TRUST_FILE: &str = "mcp-trusted";

/// The SHA-256 of `bytes`, in hex.
pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the file with this hash was trusted (an unreadable list trusts nothing).
pub fn is_trusted(data_dir: Option<&Path>, hash: &str) -> bool {
    let Some(list) = data_dir.map(|d| d.join(TRUST_FILE)) else {
        return false;
    };
    std::fs::read_to_string(list)
        .map(|t| t.lines().any(|l| l.split(' ').next() == Some(hash)))
        .unwrap_or(false)
}

/// Remembers that the user trusts `file` with this content hash.
pub fn remember(data_dir: Option<&Path>, file: &Path, hash: &str) -> Result<PathBuf, String> {
    let dir = data_dir.ok_or(
        "cannot find a data directory to remember the trust in: set XDG_DATA_HOME or REFLECT_DATA_DIR",
    )?;
    let list = dir.join(TRUST_FILE);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&list)
        .map_err(|e| format!("cannot open {}: {e}", list.display()))?;
    writeln!(f, "{hash} {}", file.display())
        .map_err(|e| format!("cannot write {}: {e}", list.display()))?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_follows_the_content_not_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = hash(b"{\"mcpServers\": {}}");
        assert!(!is_trusted(Some(dir.path()), &a));
        assert!(!is_trusted(None, &a));
        remember(Some(dir.path()), Path::new("/p/.mcp.json"), &a).unwrap();
        assert!(is_trusted(Some(dir.path()), &a));
        assert!(!is_trusted(
            Some(dir.path()),
            &hash(b"{\"mcpServers\": {\"x\": {}}}")
        ));
        assert!(remember(None, Path::new("x"), &a).is_err());
    }
}
