//! Saving a profile into the user's profile directory, atomically: the TUI saves its current
//! settings this way, and so does `reflect --save-profile NAME`.

use super::Profile;
use crate::config::{valid_name, write::write_atomic};
use std::io;
use std::path::{Path, PathBuf};

/// What `save` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    /// A user profile of that name existed and was replaced.
    pub replaced: bool,
}

/// Writes `profile` as `dir/NAME.toml` (NAME is `profile.name`), fully resolved (no
/// `extends`), through a temporary file and a rename. Creates `dir` if needed. A name that is
/// empty, starts with '.' or holds a path separator is refused (`InvalidInput`).
pub fn save(dir: &Path, profile: &Profile) -> io::Result<Saved> {
    if !valid_name(&profile.name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' cannot be a profile name: it must not be empty, start with '.' or hold '/' or '\\'",
                profile.name
            ),
        ));
    }
    let path = dir.join(format!("{}.toml", profile.name));
    let replaced = path.exists();
    let header = format!(
        "Prompt profile '{}', saved by reflect. Fields: see prompts/README.md.",
        profile.name
    );
    write_atomic(&path, &profile.to_toml(&header))?;
    Ok(Saved { path, replaced })
}
