//! Named TOML files of one kind (prompt profiles, themes): bundled ones embedded in the binary,
//! user ones in a directory that override them by name, files given by path, and the `extends`
//! chain between them (missing parents and cycles are errors at the `extends` line).

use super::error::ConfigError;
use super::strict_toml::Source;
use super::suggest;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// A file shipped inside the binary.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    pub name: &'static str,
    pub text: &'static str,
}

/// Where a named file comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Bundled,
    /// In the user's directory (`…/reflect/prompts/NAME.toml`).
    User(PathBuf),
    /// Given by path (`--profile ./mine.toml`).
    File(PathBuf),
}

/// A profile or theme that can be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub origin: Origin,
}

/// One line of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub entry: Entry,
    /// A user file with the name of a bundled one.
    pub overrides_bundled: bool,
}

impl Listed {
    /// `bundled`, `user` or `user (overrides bundled)`.
    pub fn source(&self) -> &'static str {
        match (&self.entry.origin, self.overrides_bundled) {
            (Origin::Bundled, _) => "bundled",
            (_, true) => "user (overrides bundled)",
            _ => "user",
        }
    }
}

/// A parent named by `extends`, with the line that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extends {
    pub name: String,
    pub line: usize,
}

/// A parsed file that may inherit from another.
pub trait Inherits {
    fn extends(&self) -> Option<&Extends>;
}

/// Whether a name can be a file name in the user directory: not empty, no path separators,
/// no leading dot, no control characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\') || c.is_control())
}

/// Whether `--profile X` names a file rather than a profile.
pub fn looks_like_path(spec: &str) -> bool {
    spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml")
}

/// The files of one kind.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// "profile" or "theme", for messages.
    pub kind: &'static str,
    /// "prompts" or "themes": the bundled folder and the user subdirectory.
    pub folder: &'static str,
    bundled: &'static [Bundled],
    user_dir: Option<PathBuf>,
}

impl Catalog {
    pub fn new(
        kind: &'static str,
        folder: &'static str,
        bundled: &'static [Bundled],
        user_dir: Option<PathBuf>,
    ) -> Self {
        Catalog {
            kind,
            folder,
            bundled,
            user_dir,
        }
    }

    /// The user directory (it may not exist).
    pub fn user_dir(&self) -> Option<&Path> {
        self.user_dir.as_deref()
    }

    /// How errors and listings name an entry's file.
    pub fn label(&self, entry: &Entry) -> String {
        match &entry.origin {
            Origin::Bundled => format!("<bundled>/{}/{}.toml", self.folder, entry.name),
            Origin::User(p) | Origin::File(p) => p.display().to_string(),
        }
    }

    fn bundled_entry(&self, name: &str) -> Option<Entry> {
        self.bundled.iter().find(|b| b.name == name).map(|b| Entry {
            name: b.name.to_string(),
            origin: Origin::Bundled,
        })
    }

    /// The user's files, by name. A missing directory holds none.
    fn user_entries(&self) -> Result<BTreeMap<String, PathBuf>, ConfigError> {
        let mut out = BTreeMap::new();
        let Some(dir) = &self.user_dir else {
            return Ok(out);
        };
        let read = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(dir_error(dir, &e)),
        };
        for item in read {
            let path = item.map_err(|e| dir_error(dir, &e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") || path.is_dir() {
                continue;
            }
            if let Some(name) = path.file_stem().and_then(|s| s.to_str()) {
                if valid_name(name) {
                    out.insert(name.to_string(), path.clone());
                }
            }
        }
        Ok(out)
    }

    /// Every visible entry, sorted by name; a user file hides the bundled one of its name.
    pub fn list(&self) -> Result<Vec<Listed>, ConfigError> {
        let user = self.user_entries()?;
        let mut out: Vec<Listed> = self
            .bundled
            .iter()
            .filter(|b| !user.contains_key(b.name))
            .map(|b| Listed {
                entry: Entry {
                    name: b.name.to_string(),
                    origin: Origin::Bundled,
                },
                overrides_bundled: false,
            })
            .collect();
        for (name, path) in user {
            out.push(Listed {
                overrides_bundled: self.bundled_entry(&name).is_some(),
                entry: Entry {
                    name,
                    origin: Origin::User(path),
                },
            });
        }
        out.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
        Ok(out)
    }

    /// The entry of this name: the user's, else the bundled one.
    pub fn find(&self, name: &str) -> Result<Option<Entry>, ConfigError> {
        if let Some(path) = self.user_entries()?.remove(name) {
            return Ok(Some(Entry {
                name: name.to_string(),
                origin: Origin::User(path),
            }));
        }
        Ok(self.bundled_entry(name))
    }

    /// `no profile named 'x' — did you mean 'y'?` (or the list of names).
    pub fn unknown(&self, name: &str) -> Result<String, ConfigError> {
        let names: Vec<String> = self.list()?.into_iter().map(|l| l.entry.name).collect();
        let mut hint = suggest::did_you_mean(name, names.iter().map(String::as_str));
        if hint.is_empty() {
            hint = format!(" (available: {})", names.join(", "));
        }
        Ok(format!("there is no {} named '{name}'{hint}", self.kind))
    }

    /// The entry for a name, or for a file path (relative paths against `base`).
    pub fn select(&self, spec: &str, base: Option<&Path>) -> Result<Entry, ConfigError> {
        if looks_like_path(spec) {
            let path = expand_home(Path::new(spec));
            let path = match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path,
            };
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(spec)
                .to_string();
            return Ok(Entry {
                name,
                origin: Origin::File(path),
            });
        }
        match self.find(spec)? {
            Some(e) => Ok(e),
            None => Err(ConfigError::new("", 0, self.unknown(spec)?)),
        }
    }

    /// The file's text.
    pub fn source(&self, entry: &Entry) -> Result<Source, ConfigError> {
        let label = self.label(entry);
        match &entry.origin {
            Origin::Bundled => self
                .bundled
                .iter()
                .find(|b| b.name == entry.name)
                .map(|b| Source::new(label.clone(), b.text))
                .ok_or_else(|| ConfigError::new(label, 0, "no such bundled file")),
            Origin::User(p) | Origin::File(p) => read_text(p).map(|t| Source::new(label, t)),
        }
    }

    /// The parent `child` names. A user file that extends its own name inherits the bundled
    /// file of that name (so `prompts/reflection.toml` can refine the bundled `reflection`);
    /// without one, it names itself (a cycle).
    fn parent(&self, child: &Entry, name: &str) -> Result<Option<Entry>, ConfigError> {
        if name == child.name && matches!(child.origin, Origin::User(_)) {
            return Ok(Some(
                self.bundled_entry(name).unwrap_or_else(|| child.clone()),
            ));
        }
        self.find(name)
    }

    /// Loads `start` and its ancestors, child first. `load` parses one file.
    pub fn chain<T: Inherits>(
        &self,
        start: &Entry,
        mut load: impl FnMut(&Entry, &Source) -> Result<T, ConfigError>,
    ) -> Result<Vec<T>, ConfigError> {
        let mut seen = vec![start.clone()];
        let mut out = vec![load(start, &self.source(start)?)?];
        loop {
            let child = seen.last().cloned().unwrap_or_else(|| start.clone());
            let Some(ext) = out.last().and_then(|t| t.extends()).cloned() else {
                return Ok(out);
            };
            let at = |message: String| ConfigError::new(self.label(&child), ext.line, message);
            let Some(parent) = self.parent(&child, &ext.name)? else {
                return Err(at(format!(
                    "extends = \"{}\": {}",
                    ext.name,
                    self.unknown(&ext.name)?
                )));
            };
            if seen.contains(&parent) {
                let mut names: Vec<&str> = seen.iter().map(|e| e.name.as_str()).collect();
                names.push(&parent.name);
                return Err(at(format!(
                    "extends = \"{}\" makes a cycle: {}",
                    ext.name,
                    names.join(" → ")
                )));
            }
            out.push(load(&parent, &self.source(&parent)?)?);
            seen.push(parent);
        }
    }
}

fn dir_error(dir: &Path, e: &io::Error) -> ConfigError {
    ConfigError::new(dir.display().to_string(), 0, format!("cannot read: {e}"))
}

/// A file's text; a missing or unreadable file is an error naming it.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::NotFound => "no such file".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => format!("cannot read: {e}"),
        };
        ConfigError::new(label.clone(), 0, why)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        ConfigError::new(
            label,
            0,
            format!("is not valid UTF-8 (invalid byte at offset {at})"),
        )
    })
}

/// `~/x` → `$HOME/x`; anything else unchanged.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Node(Option<Extends>);

    impl Inherits for Node {
        fn extends(&self) -> Option<&Extends> {
            self.0.as_ref()
        }
    }

    const BUNDLED: &[Bundled] = &[
        Bundled {
            name: "base",
            text: "",
        },
        Bundled {
            name: "child",
            text: "extends = \"base\"",
        },
    ];

    /// Parses `extends = "x"` on any line.
    fn load(_: &Entry, src: &Source) -> Result<Node, ConfigError> {
        Ok(Node(src.text.lines().enumerate().find_map(|(i, l)| {
            l.strip_prefix("extends = \"").map(|rest| Extends {
                name: rest.trim_end_matches('"').to_string(),
                line: i + 1,
            })
        })))
    }

    fn catalog(dir: &Path) -> Catalog {
        Catalog::new("profile", "prompts", BUNDLED, Some(dir.to_path_buf()))
    }

    #[test]
    fn user_files_override_bundled_ones_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), "").unwrap();
        std::fs::write(dir.path().join("mine.toml"), "").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let c = catalog(dir.path());
        let listed: Vec<(String, &str)> = c
            .list()
            .unwrap()
            .iter()
            .map(|l| (l.entry.name.clone(), l.source()))
            .collect();
        assert_eq!(
            listed,
            [
                ("base".to_string(), "user (overrides bundled)"),
                ("child".to_string(), "bundled"),
                ("mine".to_string(), "user"),
            ]
        );
        assert!(matches!(
            c.find("base").unwrap().unwrap().origin,
            Origin::User(_)
        ));
        let err = c.select("bsae", None).unwrap_err().to_string();
        assert_eq!(
            err,
            "there is no profile named 'bsae' — did you mean 'base'?"
        );
        assert!(matches!(
            c.select("x/y.toml", None).unwrap().origin,
            Origin::File(_)
        ));
    }

    #[test]
    fn chains_cycles_and_missing_parents() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let child = c.find("child").unwrap().unwrap();
        assert_eq!(c.chain(&child, load).unwrap().len(), 2);

        std::fs::write(dir.path().join("a.toml"), "\nextends = \"b\"").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"").unwrap();
        std::fs::write(dir.path().join("c.toml"), "x\n\nextends = \"nope\"").unwrap();
        // Extending its own name reaches the bundled file, not itself.
        std::fs::write(dir.path().join("base.toml"), "extends = \"base\"").unwrap();
        let a = c.find("a").unwrap().unwrap();
        let err = c.chain(&a, load).err().unwrap();
        assert_eq!(err.line, 1);
        assert!(err.file.ends_with("b.toml"), "{err}");
        assert!(
            err.message
                .ends_with("extends = \"a\" makes a cycle: a → b → a"),
            "{err}"
        );
        let cc = c.find("c").unwrap().unwrap();
        let err = c.chain(&cc, load).err().unwrap();
        assert_eq!(err.line, 3);
        assert!(
            err.message
                .starts_with("extends = \"nope\": there is no profile named 'nope'"),
            "{err}"
        );
        let base = c.find("base").unwrap().unwrap();
        assert_eq!(c.chain(&base, load).unwrap().len(), 2);
    }

    #[test]
    fn names_and_paths() {
        for ok in ["mine", "my-profile_2", "Ünïcode"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a/b", "a\\b", ".hidden", "..", "a\nb"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(looks_like_path("./x.toml") && looks_like_path("x.toml"));
        assert!(!looks_like_path("reflection"));
    }
}
