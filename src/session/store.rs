//! The sessions directory: one JSON file per session, replaced atomically (temporary file,
//! fsync, rename) and readable only by the user. A broken file is reported by name and never
//! stops the others from listing or opening.

use super::{Session, VERSION};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why a session could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no saved session '{id}' in {}; `reflect sessions list` lists them", dir.display())]
    NotFound { id: String, dir: PathBuf },
    #[error("'{id}' matches several sessions ({matches}); give more of the id")]
    Ambiguous { id: String, matches: String },
    #[error("no saved sessions yet in {}", dir.display())]
    Empty { dir: PathBuf },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The most recently written session file does not read back: going on in an older
    /// session instead would put the follow-up in the wrong conversation.
    #[error("{}", latest_unreadable(id, source))]
    LatestUnreadable {
        id: String,
        source: Box<SessionError>,
    },
}

/// One file of the directory and what it holds.
#[derive(Debug)]
pub struct Listed {
    pub id: String,
    pub session: Result<Session, SessionError>,
}

/// The sessions directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where session `id` lives (whether or not it exists).
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Reads one session file.
    pub fn read(&self, path: &Path) -> Result<Session, SessionError> {
        let io_err = |source| SessionError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = fs::read_to_string(path).map_err(io_err)?;
        parse(path, &text)
    }

    /// Every `*.json` file, newest first (by last update); broken files last, by name.
    pub fn list(&self) -> Result<Vec<Listed>, SessionError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(SessionError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut out: Vec<Listed> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let path = e.path();
                let id = session_id(&path)?;
                Some(Listed {
                    session: self.read(&path),
                    id,
                })
            })
            .collect();
        out.sort_by(|a, b| match (&a.session, &b.session) {
            (Ok(x), Ok(y)) => y.updated.cmp(&x.updated).then(b.id.cmp(&a.id)),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => a.id.cmp(&b.id),
        });
        Ok(out)
    }

    /// The session whose id is `id` or starts with it.
    pub fn find(&self, id: &str) -> Result<Session, SessionError> {
        self.read(&self.path(&self.resolve(id)?))
    }

    /// The id of the session file whose id is `id` or starts with it (not read).
    fn resolve(&self, id: &str) -> Result<String, SessionError> {
        let not_found = || SessionError::NotFound {
            id: id.to_string(),
            dir: self.dir.clone(),
        };
        if !valid_id(id) {
            return Err(not_found());
        }
        if self.path(id).is_file() {
            return Ok(id.to_string());
        }
        let ids: Vec<String> = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|e| session_id(&e.path()))
                .filter(|s| s.starts_with(id))
                .collect(),
            Err(_) => Vec::new(),
        };
        match &ids[..] {
            [] => Err(not_found()),
            [one] => Ok(one.clone()),
            many => {
                let mut many = many.to_vec();
                many.sort();
                Err(SessionError::Ambiguous {
                    id: id.to_string(),
                    matches: many.join(", "),
                })
            }
        }
    }

    /// The session `id` names (a unique start of one), or the latest without an id.
    pub fn open(&self, id: Option<&str>) -> Result<Session, SessionError> {
        match id {
            Some(id) => self.find(id),
            None => self.latest(),
        }
    }

    /// The most recently updated session. A file that does not read back but was written at
    /// least as recently (by its modification time) is an error: the latest session is that
    /// one, and going on in an older one would put a follow-up in the wrong conversation.
    pub fn latest(&self) -> Result<Session, SessionError> {
        let mut newest = None;
        let mut broken: Vec<(String, SessionError)> = Vec::new();
        for listed in self.list()? {
            match listed.session {
                Ok(s) => {
                    newest.get_or_insert(s);
                }
                Err(e) => broken.push((listed.id, e)),
            }
        }
        let since = newest
            .as_ref()
            .and_then(|s| self.modified(&s.id))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let newest_broken = broken
            .into_iter()
            .filter_map(|(id, e)| Some((self.modified(&id)?, id, e)))
            .filter(|(at, _, _)| *at >= since)
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        if let Some((_, id, e)) = newest_broken {
            return Err(SessionError::LatestUnreadable {
                id,
                source: Box::new(e),
            });
        }
        newest.ok_or_else(|| SessionError::Empty {
            dir: self.dir.clone(),
        })
    }

    /// When session `id`'s file was last written.
    fn modified(&self, id: &str) -> Option<SystemTime> {
        fs::metadata(self.path(id)).and_then(|m| m.modified()).ok()
    }

    /// Writes `session` atomically, readable and writable by the user only.
    pub fn save(&self, session: &Session) -> Result<PathBuf, SessionError> {
        let path = self.path(&session.id);
        let io_err = |source| SessionError::Io {
            path: path.clone(),
            source,
        };
        let mut text = serde_json::to_string_pretty(session).map_err(|e| io_err(e.into()))?;
        text.push('\n');
        create_private_dir(&self.dir).map_err(|source| SessionError::Io {
            path: self.dir.clone(),
            source,
        })?;
        crate::config::write::replace(&path, text.as_bytes(), true).map_err(io_err)?;
        Ok(path)
    }

    /// Adds `turn` to the saved session and writes it, under a lock so that two processes
    /// continuing the same session both keep their turns. Turns another process saved in the
    /// meantime are kept and land in `session` too.
    pub fn append(
        &self,
        session: &mut Session,
        turn: super::SavedTurn,
    ) -> Result<PathBuf, SessionError> {
        create_private_dir(&self.dir).map_err(|source| SessionError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let _lock = Lock::take(&self.dir.join(".lock"));
        if let Ok(on_disk) = self.read(&self.path(&session.id)) {
            if on_disk.turns.len() > session.turns.len() {
                session.turns = on_disk.turns;
            }
        }
        session.push(turn);
        self.save(session)
    }
}

/// What to do about a latest session that does not read back.
fn latest_unreadable(id: &str, source: &SessionError) -> String {
    let why = source.to_string();
    let why = why.strip_suffix("; fix or delete it").unwrap_or(&why);
    format!(
        "the latest session cannot be read: {why}; delete it with `reflect sessions rm {id}`, \
         or name another session with --session ID or --resume ID (`reflect sessions list` \
         lists them)"
    )
}

/// What [`Store::prune`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// The ids of the sessions removed.
    pub removed: Vec<String>,
    /// Files left alone because they do not read back (their errors, for the user).
    pub unreadable: Vec<String>,
}

impl Store {
    /// Deletes the session `id` names (an id or its unique start), whether or not its file
    /// reads back: returns its id and what it held (or why that cannot be read).
    pub fn remove(
        &self,
        id: &str,
    ) -> Result<(String, Result<Session, SessionError>), SessionError> {
        let found = self.resolve(id)?;
        let path = self.path(&found);
        let session = self.read(&path);
        fs::remove_file(&path).map_err(|source| SessionError::Io { path, source })?;
        Ok((found, session))
    }

    /// Deletes every session last updated more than `age` before `now`. Files that do not
    /// read back, or whose update time is not a time, are left alone and reported.
    pub fn prune(&self, age: std::time::Duration, now: SystemTime) -> Result<Pruned, SessionError> {
        let _lock = Lock::take(&self.dir.join(".lock"));
        let mut out = Pruned::default();
        for listed in self.list()? {
            let session = match listed.session {
                Ok(s) => s,
                Err(e) => {
                    out.unreadable.push(e.to_string());
                    continue;
                }
            };
            match super::age::older_than(&session.updated, age, now) {
                Some(true) => {
                    let path = self.path(&listed.id);
                    fs::remove_file(&path).map_err(|source| SessionError::Io { path, source })?;
                    out.removed.push(listed.id);
                }
                Some(false) => {}
                None => out.unreadable.push(format!(
                    "{}: \"updated\" is not a time ({:?}); left alone",
                    self.path(&listed.id).display(),
                    session.updated
                )),
            }
        }
        Ok(out)
    }
}

/// The id of a session file: `<id>.json`, not hidden (temporary files start with a dot).
fn session_id(path: &Path) -> Option<String> {
    if path.extension()? != "json" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    valid_id(stem).then(|| stem.to_string())
}

/// Ids are file names: letters, digits, `-`, `_`, `.`, not starting with a dot.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a session file's text; errors say what is wrong and where.
pub(super) fn parse(path: &Path, text: &str) -> Result<Session, SessionError> {
    let invalid = |message: String| SessionError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "not a readable session file (line {}, column {}: {}); fix or delete it",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) if v > u64::from(VERSION) => {
            return Err(invalid(format!(
                "written by a newer reflect (session format {v}; this reflect reads {VERSION})"
            )))
        }
        _ => {
            return Err(invalid(format!(
                "not a reflect session file: \"version\" must be {VERSION}"
            )))
        }
    }
    // Parsed from the text again (not from `value`) so that a wrong type has its position.
    let mut session: Session = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "not a valid session (line {}, column {}: {}); fix or delete it",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    if let Some(id) = session_id(path) {
        session.id = id;
    }
    session.pin_turn_models();
    Ok(session)
}

/// serde_json appends " at line L column C", which the message already says.
fn strip_position(s: &str) -> &str {
    s.find(" at line ").map_or(s, |i| &s[..i])
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// An exclusive advisory lock on a file, released on drop. Best effort: without it two
/// writers can still not corrupt a file (writes are atomic), only drop a turn.
struct Lock(Option<fs::File>);

impl Lock {
    fn take(path: &Path) -> Lock {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ok();
        #[cfg(unix)]
        if let Some(f) = &file {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a valid descriptor we own.
            unsafe {
                libc::flock(f.as_raw_fd(), libc::LOCK_EX);
            }
        }
        Lock(file)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(f) = &self.0 {
            use std::os::fd::AsRawFd;
            // SAFETY: as above.
            unsafe {
                libc::flock(f.as_raw_fd(), libc::LOCK_UN);
            }
        }
    }
}
