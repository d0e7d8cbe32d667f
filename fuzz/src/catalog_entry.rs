//! The harness the `profile` and `theme` targets share: fuzzed bytes as a user's file (and,
//! after a NUL, a user file overriding the bundled entry it may extend), loaded by name and by
//! path, with the same invariants for both kinds of file.

use crate::check::{check_error, split, Blamable, Scratch};
use crate::config::{Bundled, Catalog, ConfigError};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// One kind of catalog entry and the functions that load and write it.
pub struct Kind<T> {
    /// "profile" or "theme", for messages.
    pub what: &'static str,
    /// The user directory's name in error labels: "prompts" or "themes".
    pub dir: &'static str,
    /// The bundled entry the bytes after a NUL override: "reflection" or "dark".
    pub parent: &'static str,
    pub bundled: &'static [Bundled],
    pub catalog: fn(Option<PathBuf>) -> Catalog,
    pub load_spec: fn(&Catalog, &str, Option<&Path>) -> Result<T, ConfigError>,
    pub to_toml: fn(&T, &str) -> String,
    pub name: fn(&T) -> &str,
}

fn explain(what: &str, e: &ConfigError, data: &[u8]) -> ! {
    panic!(
        "{what}\nerror: {e:?}\ninput: {:?}",
        String::from_utf8_lossy(data)
    )
}

/// A loaded entry written back loads again as the same entry, and writes back the same text.
fn round_trip<T: PartialEq + Debug>(kind: &Kind<T>, s: &Scratch, entry: &T) {
    let header = "written back by the fuzz target";
    let text = (kind.to_toml)(entry, header);
    let path = s.rt_file("written", &text);
    let what = kind.what;
    let back = (kind.load_spec)(&(kind.catalog)(None), &path, None)
        .unwrap_or_else(|e| panic!("the written-back {what} does not load: {e}\n{text}"));
    assert_eq!(&back, entry, "the written-back {what} differs\n{text}");
    assert_eq!((kind.to_toml)(&back, header), text);
}

/// Runs one input: no panic; an error names the file it blames, with a message and a line in
/// that file; loading by name and by path agree; loaded entries round-trip.
pub fn check<T: PartialEq + Debug>(kind: &Kind<T>, s: &Scratch, data: &[u8]) {
    let (mine, parent) = split(data);
    let mine_path = s.user_file("mine", Some(mine));
    let parent_path = s.user_file(kind.parent, parent);

    let mut files = vec![Blamable::path(&mine_path, mine)];
    if let Some(p) = parent {
        files.push(Blamable::path(&parent_path, p));
    }
    for b in kind.bundled {
        files.push(Blamable {
            label: format!("<bundled>/{}/{}.toml", kind.dir, b.name),
            bytes: b.text.as_bytes(),
        });
    }

    let catalog = (kind.catalog)(Some(s.user.clone()));
    let by_name = (kind.load_spec)(&catalog, "mine", None);
    let by_path = (kind.load_spec)(&catalog, &mine_path.display().to_string(), None);
    for loaded in [&by_name, &by_path] {
        match loaded {
            Ok(entry) => round_trip(kind, s, entry),
            Err(e) => {
                if let Err(why) = check_error(e, &files) {
                    explain(&why, e, data);
                }
            }
        }
    }
    if let Ok(entry) = &by_name {
        assert_eq!((kind.name)(entry), "mine");
        assert_eq!(by_path.as_ref().ok(), Some(entry), "by path: {by_path:?}");
    }
}
