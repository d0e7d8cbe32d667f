//! The directory tools may touch. Every path a tool is given is resolved inside it; a path
//! that leads out (`..` past the top, an absolute path, a symbolic link to elsewhere) is
//! refused with a message the model can act on.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// The workspace root, resolved once (symbolic links and all).
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace at `dir`, which must be a directory.
    pub fn new(dir: &Path) -> Result<Workspace, String> {
        let root = dir
            .canonicalize()
            .map_err(|e| format!("cannot use {} as the workspace: {e}", dir.display()))?;
        if !root.is_dir() {
            return Err(format!(
                "cannot use {} as the workspace: it is not a directory",
                dir.display()
            ));
        }
        Ok(Workspace { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` resolved inside the workspace. It need not exist (a file about to be written);
    /// then its nearest existing ancestor must be inside.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, String> {
        let lexical = self.lexical(rel)?;
        let mut existing = lexical.clone();
        let mut missing: Vec<OsString> = Vec::new();
        while existing.symlink_metadata().is_err() {
            match existing.file_name() {
                Some(name) => missing.push(name.to_owned()),
                None => break,
            }
            existing.pop();
        }
        let real = existing
            .canonicalize()
            .map_err(|e| format!("{rel}: cannot resolve {} ({e})", self.show(&existing)))?;
        if !real.starts_with(&self.root) {
            return Err(format!(
                "{rel}: refused, it leads out of the workspace (through a symbolic link); \
                 tools may only touch files under {}",
                self.root.display()
            ));
        }
        Ok(missing.iter().rev().fold(real, |p, name| p.join(name)))
    }

    /// `rel` joined to the root with `.` and `..` applied as text; refused when absolute or
    /// when `..` climbs above the root.
    fn lexical(&self, rel: &str) -> Result<PathBuf, String> {
        if rel.contains('\0') {
            return Err("a path cannot hold a NUL character".into());
        }
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for c in Path::new(rel).components() {
            match c {
                Component::CurDir => {}
                Component::Normal(part) => parts.push(part),
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(format!(
                            "{rel}: refused, '..' leads out of the workspace; give a path \
                             inside it"
                        ));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!(
                        "{rel}: refused, absolute paths are not allowed; give a path relative \
                         to the workspace"
                    ))
                }
            }
        }
        Ok(parts.iter().fold(self.root.clone(), |p, part| p.join(part)))
    }

    /// `path` as the model knows it: relative to the root (`.` for the root itself).
    pub fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(p) if p.as_os_str().is_empty() => ".".into(),
            Ok(p) => p.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.rs"), "fn a() {}").unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("s")).unwrap();
        std::os::unix::fs::symlink("src/a.rs", dir.path().join("in")).unwrap();
        let ws = Workspace::new(dir.path()).unwrap();
        (dir, outside, ws)
    }

    #[test]
    fn paths_inside_resolve_and_paths_that_lead_out_are_refused() {
        let (_dir, _outside, ws) = setup();
        let table: &[(&str, Result<&str, &str>)] = &[
            ("src/a.rs", Ok("src/a.rs")),
            ("./src/../src/a.rs", Ok("src/a.rs")),
            (".", Ok(".")),
            ("", Ok(".")),
            ("new/dir/file.txt", Ok("new/dir/file.txt")),
            ("in", Ok("src/a.rs")),
            ("..", Err("'..' leads out")),
            ("src/../../x", Err("'..' leads out")),
            ("/etc/passwd", Err("absolute paths are not allowed")),
            ("out/secret", Err("symbolic link")),
            ("out/new-file", Err("symbolic link")),
            ("s", Err("symbolic link")),
            ("a\0b", Err("NUL")),
        ];
        for (rel, want) in table {
            match (ws.resolve(rel), want) {
                (Ok(p), Ok(shown)) => assert_eq!(ws.show(&p), *shown, "{rel:?}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "{rel:?}: {e}"),
                (got, want) => panic!("{rel:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
