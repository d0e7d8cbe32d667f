//! Fuzz target for themes: arbitrary bytes as a user's theme file, loaded the way `--theme
//! NAME` and `--theme PATH` load one (catalog, `extends` chain, strict TOML, colours, styles).
//!
//! Input layout: the bytes up to the first NUL are `themes/mine.toml` in a scratch user
//! directory; the bytes after it, if any, are `themes/dark.toml` there, which overrides the
//! bundled `dark` (and may extend it), so `extends = "dark"` reaches fuzzed text. Without a
//! NUL the bundled `dark` is used.
//!
//! Invariants: no panic; an error names the file it blames, has a message and a line within
//! that file (line 0 only for a file that is not UTF-8); loading by name and by path agree;
//! a loaded theme written back (`Theme::to_toml`, what `--show-theme` prints) loads again as
//! the same theme, and writes back to the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reflect_fuzz::check::{check_error, split, Blamable, Scratch};
use reflect_fuzz::config::ConfigError;
use reflect_fuzz::theme::{self, Theme, BUNDLED};
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fn explain(what: &str, e: &ConfigError, data: &[u8]) -> ! {
    panic!(
        "{what}\nerror: {e:?}\ninput: {:?}",
        String::from_utf8_lossy(data)
    )
}

fn round_trip(s: &Scratch, t: &Theme) {
    let text = t.to_toml("written back by the fuzz target");
    let path = s.rt_file("written", &text);
    let back = theme::load_spec(&theme::catalog(None), &path, None)
        .unwrap_or_else(|e| panic!("the written-back theme does not load: {e}\n{text}"));
    assert_eq!(&back, t, "the written-back theme differs\n{text}");
    assert_eq!(back.to_toml("written back by the fuzz target"), text);
}

fuzz_target!(|data: &[u8]| {
    let s = SCRATCH.get_or_init(|| Scratch::new("theme"));
    let (mine, parent) = split(data);
    let mine_path = s.user_file("mine", Some(mine));
    let parent_path = s.user_file("dark", parent);

    let mut files = vec![Blamable::path(&mine_path, mine)];
    if let Some(p) = parent {
        files.push(Blamable::path(&parent_path, p));
    }
    for b in BUNDLED {
        files.push(Blamable {
            label: format!("<bundled>/themes/{}.toml", b.name),
            bytes: b.text.as_bytes(),
        });
    }

    let catalog = theme::catalog(Some(s.user.clone()));
    let by_name = theme::load_spec(&catalog, "mine", None);
    let by_path = theme::load_spec(&catalog, &mine_path.display().to_string(), None);
    for loaded in [&by_name, &by_path] {
        match loaded {
            Ok(t) => round_trip(s, t),
            Err(e) => {
                if let Err(why) = check_error(e, &files) {
                    explain(&why, e, data);
                }
            }
        }
    }
    if let Ok(t) = &by_name {
        assert_eq!(t.name, "mine");
        assert_eq!(by_path.as_ref().ok(), Some(t), "by path: {by_path:?}");
    }
});
