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
use reflect_fuzz::catalog_entry::{check, Kind};
use reflect_fuzz::check::Scratch;
use reflect_fuzz::profile::{self, Profile};
use std::sync::OnceLock;

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

const KIND: Kind<Profile> = Kind {
    what: "profile",
    dir: "prompts",
    parent: "reflection",
    bundled: profile::BUNDLED,
    catalog: profile::catalog,
    load_spec: profile::load_spec,
    to_toml: Profile::to_toml,
    name: |e| e.name.as_str(),
};

fuzz_target!(|data: &[u8]| {
    let s = SCRATCH.get_or_init(|| Scratch::new("profile"));
    check(&KIND, s, data);
});
