//! Unit tests: bundled profiles, inheritance, and the TOML round trip.

use super::*;
use crate::config::{Origin, Source};

fn bundled(name: &str) -> Profile {
    let c = catalog(None);
    load_spec(&c, name, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse_one(name: &str, text: &str) -> Result<Profile, ConfigError> {
    let entry = Entry {
        name: name.into(),
        origin: Origin::File(format!("{name}.toml").into()),
    };
    let file = ProfileFile::parse(&entry, &Source::new(format!("{name}.toml"), text))?;
    resolve::resolve(&[file])
}

#[test]
fn the_embedded_reflection_profile_has_the_model_cards_exact_system_prompt() {
    let p = bundled("reflection");
    assert_eq!(p.system.as_deref(), Some(REFLECTION_SYSTEM_PROMPT));
    assert!(p.think_carefully && p.stop_after_output && !p.start_in_thinking);
    assert_eq!(p.sampling.temperature, Some(0.7));
    assert_eq!(p.sampling.top_p, Some(0.95));
    assert_eq!(p.sampling.top_k, None, "left to the model file");
    assert_eq!(p.tags, TagSet::default());
    assert_eq!(p.history, History::Answer);
}

#[test]
fn plain_and_think() {
    let p = bundled("plain");
    assert_eq!(p.system, None);
    assert!(!p.think_carefully);
    assert!(p.tags.tags().is_empty(), "no tag vocabulary: all is answer");
    assert_eq!(p.sampling, SamplingOverrides::default());

    let t = bundled("think");
    assert_eq!(t.tags, TagSet::think());
    assert!(t.start_in_thinking);
    assert_eq!((t.system, t.think_carefully), (None, false));
}

#[test]
fn the_example_appends_instructions_to_the_inherited_system_prompt() {
    let p = bundled("concise");
    let system = p.system.unwrap();
    assert!(system.starts_with(&format!(
        "{REFLECTION_SYSTEM_PROMPT}\n\nKeep the final answer"
    )));
    assert_eq!(p.sampling.temperature, Some(0.7), "inherited");
    assert_eq!(p.name, "concise");
    assert!(!p.description.is_empty());
}

#[test]
fn every_bundled_profile_reads_back_from_its_resolved_toml() {
    for b in BUNDLED {
        let p = bundled(b.name);
        assert_eq!(p.name, b.name);
        let text = p.to_toml("header\nsecond line");
        assert!(!text.contains("extends"), "{text}");
        let back = parse_one(b.name, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, p, "{text}");
    }
}

#[test]
fn a_file_without_extends_starts_from_the_builtin_defaults() {
    let p = parse_one("mine", "[sampling]\ntemperature = 0.2\nseed = 7\n").unwrap();
    assert_eq!(p.system.as_deref(), Some(REFLECTION_SYSTEM_PROMPT));
    assert_eq!(p.sampling.temperature, Some(0.2));
    assert_eq!(p.sampling.seed, Some(7));
    assert_eq!(p.name, "mine");

    let p = parse_one("mine", "system = \"\"\ninstructions = \"Be brief.\"\n").unwrap();
    assert_eq!(p.system.as_deref(), Some("Be brief."));
    let p = parse_one("x", "name = \"other\"\nhistory = \"full\"\n").unwrap();
    assert_eq!((p.name.as_str(), p.history), ("other", History::Full));
}

#[test]
fn user_profiles_override_bundled_ones_and_may_extend_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reflection.toml"),
        "extends = \"reflection\"\n[sampling]\ntemperature = 0.3\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("mine.toml"), "extends = \"reflection\"\n").unwrap();
    let c = catalog(Some(dir.path().to_path_buf()));
    let p = load_spec(&c, "reflection", None).unwrap();
    assert_eq!(p.sampling.temperature, Some(0.3));
    assert_eq!(p.sampling.top_p, Some(0.95));
    assert_eq!(
        load_spec(&c, "mine", None).unwrap().sampling.temperature,
        Some(0.3)
    );
}

#[test]
fn the_router_follows_the_profile() {
    let r = bundled("think").router();
    assert!(r.start_in_thinking && r.stop_after_output && r.trim_whitespace);
    assert_eq!(r.tags, TagSet::think());
}

#[test]
fn saving_writes_a_resolved_file_and_refuses_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = bundled("concise");
    p.name = "mine".into();
    let saved = save(dir.path(), &p).unwrap();
    assert_eq!(saved.path, dir.path().join("mine.toml"));
    assert!(!saved.replaced);
    assert!(save(dir.path(), &p).unwrap().replaced);
    let c = catalog(Some(dir.path().to_path_buf()));
    assert_eq!(load_spec(&c, "mine", None).unwrap(), p);
    for bad in ["", "a/b", "../x", ".hidden"] {
        p.name = bad.into();
        let err = save(dir.path(), &p).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
    }
}

#[test]
fn sampling_values_are_checked_as_stored_and_read_back() {
    // Found by the `profile` fuzz target: `top_p = 0.51e-50` passed the (0, 1] check as a
    // double but was stored as the f32 0.0, so the profile written back was refused; a value
    // beyond f32's range was stored as infinity.
    let refused = [
        (
            "[sampling]\ntop_p = 0.51e-50\n",
            "mine.toml:2: sampling.top_p = 0.51e-50 is out of range: must be in (0, 1]: more than 0, at most 1",
        ),
        (
            "[sampling]\nrepeat_penalty = 1e-46\n",
            "mine.toml:2: sampling.repeat_penalty = 1e-46 is out of range: must be more than 0",
        ),
        (
            "[sampling]\ntemperature = 1e39\n",
            "mine.toml:2: sampling.temperature = 1e39 is out of range: too large",
        ),
        (
            "[sampling]\nmin_p = -1e-50\n",
            "mine.toml:2: sampling.min_p = -1e-50 is out of range: must be in [0, 1]",
        ),
    ];
    for (text, want) in refused {
        let err = parse_one("mine", text).unwrap_err().to_string();
        assert_eq!(err, want, "{text}");
    }
    // What is accepted is what reads back: 1e-50 is a temperature of 0, 3.4e38 is finite.
    let p = parse_one(
        "mine",
        "[sampling]\ntemperature = 1e-50\nrepeat_penalty = 3.4e38\n",
    )
    .unwrap();
    assert_eq!(p.sampling.temperature, Some(0.0));
    let text = p.to_toml("");
    assert_eq!(parse_one("mine", &text).unwrap(), p, "{text}");
}
