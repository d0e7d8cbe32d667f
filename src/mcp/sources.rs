//! Where the servers come from: the user's `mcp.json` (config directory) and the workspace's
//! `.mcp.json`, whose servers start only once that file (by its hash) is trusted.

use super::config::{self, ServerSpec, PROJECT_FILE, USER_FILE};
use super::trust;
use crate::config::ConfigError;
use std::path::{Path, PathBuf};

/// A project's `.mcp.json`.
#[derive(Clone, Debug)]
pub struct Project {
    pub file: PathBuf,
    /// SHA-256 of its content.
    pub hash: String,
    pub trusted: bool,
    pub servers: Vec<ServerSpec>,
}

/// Both files, read.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The user's file (whether or not it exists); `None` without a config directory.
    pub user_file: Option<PathBuf>,
    pub user: Vec<ServerSpec>,
    pub project: Option<Project>,
}

impl Sources {
    /// Reads `mcp.json` in `config_dir` and `.mcp.json` in `workspace` (either may be missing);
    /// `data_dir` holds the list of trusted project files.
    pub fn load(
        config_dir: Option<&Path>,
        data_dir: Option<&Path>,
        workspace: &Path,
    ) -> Result<Sources, ConfigError> {
        let user_file = config_dir.map(|d| d.join(USER_FILE));
        let user = match &user_file {
            Some(f) => config::read(f)?,
            None => Vec::new(),
        };
        let file = workspace.join(PROJECT_FILE);
        let project = match std::fs::read(&file) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let hash = trust::hash(&bytes);
                Some(Project {
                    servers: config::parse(&file, &text)?,
                    trusted: trust::is_trusted(data_dir, &hash),
                    file,
                    hash,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                let shown = file.display().to_string();
                return Err(ConfigError::new(shown, 0, format!("cannot read: {e}")));
            }
        };
        Ok(Sources {
            user_file,
            user,
            project,
        })
    }

    /// The servers to start: the user's, and a trusted project's (replacing a user's server of
    /// the same name).
    pub fn to_start(&self) -> Vec<ServerSpec> {
        let mut specs = self.user.clone();
        if let Some(p) = self.project.as_ref().filter(|p| p.trusted) {
            specs.retain(|s| !p.servers.iter().any(|q| q.name == s.name));
            specs.extend(p.servers.iter().cloned());
        }
        specs
    }

    /// A project file that has servers and is not trusted yet: what to ask the user about.
    pub fn untrusted(&self) -> Option<&Project> {
        self.project
            .as_ref()
            .filter(|p| !p.trusted && !p.servers.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_file_adds_servers_only_once_trusted() {
        let config = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let user = r#"{"mcpServers": {"fs": {"command": "a"}, "git": {"command": "g"}}}"#;
        std::fs::write(config.path().join(USER_FILE), user).unwrap();
        let project = r#"{"mcpServers": {"fs": {"command": "b"}, "db": {"url": "http://x"}}}"#;
        std::fs::write(work.path().join(PROJECT_FILE), project).unwrap();
        let load = || Sources::load(Some(config.path()), Some(data.path()), work.path()).unwrap();
        let names = |s: &Sources| {
            s.to_start()
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };

        let s = load();
        assert_eq!(names(&s), ["fs", "git"]);
        let p = s.untrusted().expect("the project file is asked about");
        trust::remember(Some(data.path()), &p.file, &p.hash).unwrap();

        let s = load();
        assert!(s.untrusted().is_none());
        assert_eq!(names(&s), ["git", "db", "fs"]);
        let fs = s.to_start().into_iter().find(|s| s.name == "fs").unwrap();
        assert!(
            matches!(fs.transport, config::Transport::Stdio { ref command, .. } if command == "b")
        );

        // An edited file is asked about again.
        std::fs::write(
            work.path().join(PROJECT_FILE),
            project.replace("\"b\"", "\"c\""),
        )
        .unwrap();
        assert_eq!(names(&load()), ["fs", "git"]);
    }

    #[test]
    fn no_files_no_servers() {
        let empty = tempfile::tempdir().unwrap();
        let s = Sources::load(Some(empty.path()), None, empty.path()).unwrap();
        assert!(s.to_start().is_empty() && s.untrusted().is_none());
        assert!(Sources::load(None, None, empty.path())
            .unwrap()
            .user_file
            .is_none());
    }
}
