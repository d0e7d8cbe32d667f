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
use reflect_fuzz::catalog_entry::{check, Kind};
use reflect_fuzz::check::Scratch;
use reflect_fuzz::theme::{self, Theme};
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

const KIND: Kind<Theme> = Kind {
    what: "theme",
    dir: "themes",
    parent: "dark",
    bundled: theme::BUNDLED,
    catalog: theme::catalog,
    load_spec: theme::load_spec,
    to_toml: Theme::to_toml,
    name: |e| e.name.as_str(),
};

fuzz_target!(|data: &[u8]| {
    let s = SCRATCH.get_or_init(|| Scratch::new("theme"));
    check(&KIND, s, data);
});
