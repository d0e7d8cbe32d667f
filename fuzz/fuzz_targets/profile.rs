//! Fuzz target for prompt profiles: arbitrary bytes as a user's profile file, loaded the way
//! `--profile NAME` and `--profile PATH` load one (catalog, `extends` chain, strict TOML,
//! validation, resolution).
//!
//! Input layout: the bytes up to the first NUL are `prompts/mine.toml` in a scratch user
//! directory; the bytes after it, if any, are `prompts/reflection.toml` there, which overrides
//! the bundled `reflection` (and may extend it), so `extends = "reflection"` reaches fuzzed
//! text and the bundled `concise` too. Without a NUL the bundled `reflection` is used.
//!
//! Invariants: no panic; an error names the file it blames, has a message and a line within
//! that file (line 0 only for a file that is not UTF-8); loading by name and by path agree;
//! a loaded profile written back (`Profile::to_toml`, what `--show-profile` prints) loads
//! again as the same profile, and writes back to the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reflect_fuzz::check::{check_error, split, Blamable, Scratch};
use reflect_fuzz::config::ConfigError;
use reflect_fuzz::profile::{self, Profile, BUNDLED};
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fn explain(what: &str, e: &ConfigError, data: &[u8]) -> ! {
    panic!(
        "{what}\nerror: {e:?}\ninput: {:?}",
        String::from_utf8_lossy(data)
    )
}

fn round_trip(s: &Scratch, p: &Profile) {
    let text = p.to_toml("written back by the fuzz target");
    let path = s.rt_file("written", &text);
    let back = profile::load_spec(&profile::catalog(None), &path, None)
        .unwrap_or_else(|e| panic!("the written-back profile does not load: {e}\n{text}"));
    assert_eq!(&back, p, "the written-back profile differs\n{text}");
    assert_eq!(back.to_toml("written back by the fuzz target"), text);
}

fuzz_target!(|data: &[u8]| {
    let s = SCRATCH.get_or_init(|| Scratch::new("profile"));
    let (mine, parent) = split(data);
    let mine_path = s.user_file("mine", Some(mine));
    let parent_path = s.user_file("reflection", parent);

    let mut files = vec![Blamable::path(&mine_path, mine)];
    if let Some(p) = parent {
        files.push(Blamable::path(&parent_path, p));
    }
    for b in BUNDLED {
        files.push(Blamable {
            label: format!("<bundled>/prompts/{}.toml", b.name),
            bytes: b.text.as_bytes(),
        });
    }

    let catalog = profile::catalog(Some(s.user.clone()));
    let by_name = profile::load_spec(&catalog, "mine", None);
    let by_path = profile::load_spec(&catalog, &mine_path.display().to_string(), None);
    for loaded in [&by_name, &by_path] {
        match loaded {
            Ok(p) => round_trip(s, p),
            Err(e) => {
                if let Err(why) = check_error(e, &files) {
                    explain(&why, e, data);
                }
            }
        }
    }
    if let Ok(p) = &by_name {
        assert_eq!(p.name, "mine");
        assert_eq!(by_path.as_ref().ok(), Some(p), "by path: {by_path:?}");
    }
});
