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
fn the_agent_profile_is_reflection_with_every_tool_on() {
    let a = bundled("agent");
    let r = bundled("reflection");
    let every: Vec<String> = crate::tools::builtin::BUILTINS
        .iter()
        .map(|b| b.name.to_string())
        .collect();
    assert_eq!(a.tools, every);
    assert!(r.tools.is_empty(), "reflection offers no tools");
    assert_eq!(
        a.system.as_deref(),
        Some(
            format!(
                "{REFLECTION_SYSTEM_PROMPT}\n\nWhen you need a tool, write the call inside <output> \
                 and only there: a call inside <thinking> or <reflection> is never run."
            )
            .as_str()
        )
    );
    let as_reflection = Profile {
        name: r.name.clone(),
        description: r.description.clone(),
        system: r.system.clone(),
        tools: Vec::new(),
        ..a.clone()
    };
    assert_eq!(as_reflection, r, "the rest is reflection's");
    assert!(a.to_toml("").contains(
        "tools = [\"read_file\", \"list_dir\", \"search\", \"write_file\", \"edit_file\", \"run_command\"]\n"
    ));
    assert!(!r.to_toml("").contains("tools"), "{}", r.to_toml(""));
    let e = parse_one("x", "\n\ntools = \"read_file\"\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.toml:3: tools must be an array of strings, not a string"
    );
    let off = parse_one("x", "tools = []\n").unwrap();
    assert!(off.tools.is_empty());
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

#[test]
fn budget_keys_are_read_and_checked_with_file_line_and_key() {
    let p = parse_one(
        "mine",
        "thinking_budget = 0\nbudget_grace = 4\nbudget_message = \"Time is up.\"\n\
         min_thinking = 200\nextend_message = \"Hmm,\"\nmax_extensions = 32\n",
    )
    .unwrap();
    let b = &p.budget;
    assert_eq!((b.limit, b.grace, b.min_thinking), (Some(0), 4, Some(200)));
    assert_eq!(b.message.as_deref(), Some("Time is up."));
    assert_eq!((b.extend_message.as_str(), b.max_extensions), ("Hmm,", 32));
    let p = parse_one(
        "mine",
        "thinking_budget = \"none\"\nmin_thinking = \"off\"\nbudget_message = \"\"\n",
    )
    .unwrap();
    assert_eq!(p.budget, crate::llm::BudgetSettings::default());

    let refused = [
        (
            "\nthinking_budget = -1\n",
            "mine.toml:2: thinking_budget = -1 is out of range: must be between 0 and 4294967295 (0 answers without thinking; \"none\" for no limit)",
        ),
        (
            "thinking_budget = 4294967296",
            "mine.toml:1: thinking_budget = 4294967296 is out of range: must be between 0 and 4294967295 (0 answers without thinking; \"none\" for no limit)",
        ),
        (
            "thinking_budget = \"lots\"",
            "mine.toml:1: thinking_budget = \"lots\" is not valid: use a whole number of tokens, or \"none\" for no limit",
        ),
        (
            "thinking_budget = 1.5",
            "mine.toml:1: thinking_budget must be a whole number of tokens or \"none\", not 1.5",
        ),
        (
            "min_thinking = 0",
            "mine.toml:1: min_thinking = 0 is out of range: must be between 1 and 4294967295 (\"none\" for no minimum)",
        ),
        (
            "budget_grace = -2",
            "mine.toml:1: budget_grace = -2 is out of range: must be between 0 and 4294967295",
        ),
        (
            "budget_grace = \"8\"",
            "mine.toml:1: budget_grace must be an integer, not a string",
        ),
        (
            "budget_message = 3",
            "mine.toml:1: budget_message must be a string, not an integer",
        ),
        (
            "extend_message = \" \"",
            "mine.toml:1: extend_message = \" \" is not valid: an extension needs text to append, e.g. \"Wait,\" (to extend nothing, leave min_thinking unset)",
        ),
        (
            "max_extensions = 33",
            "mine.toml:1: max_extensions = 33 is out of range: must be between 0 and 32",
        ),
        (
            "thinking_budgt = 5",
            "mine.toml:1: unknown key 'thinking_budgt' — did you mean 'thinking_budget'?",
        ),
        (
            "[sampling]\nthinking_budget = 5\n",
            "mine.toml:2: unknown key 'sampling.thinking_budget' — did you mean 'thinking_budget'?",
        ),
    ];
    for (text, want) in refused {
        let err = parse_one("mine", text).unwrap_err().to_string();
        assert_eq!(err, want, "{text}");
    }
}

#[test]
fn budget_keys_are_inherited_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.toml"),
        "thinking_budget = 500\nmin_thinking = 100\nbudget_message = \"Answer now.\"\nmax_extensions = 5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("child.toml"),
        "extends = \"base\"\nthinking_budget = \"none\"\nbudget_grace = 8\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("quiet.toml"),
        "extends = \"child\"\nbudget_message = \"\"\nthinking_budget = 50\n",
    )
    .unwrap();
    let c = catalog(Some(dir.path().to_path_buf()));
    let b = load_spec(&c, "child", None).unwrap().budget;
    assert_eq!((b.limit, b.grace, b.min_thinking), (None, 8, Some(100)));
    assert_eq!(
        (b.message.as_deref(), b.max_extensions),
        (Some("Answer now."), 5)
    );
    let b = load_spec(&c, "quiet", None).unwrap().budget;
    assert_eq!((b.limit, b.grace, b.message), (Some(50), 8, None));
}

#[test]
fn budget_values_are_shown_and_read_back() {
    let mut p = bundled("think");
    let shown = p.to_toml("");
    assert!(
        shown.contains("# thinking_budget: unset — no limit\n")
            && shown.contains("# budget_grace: unset — 32 tokens\n")
            && shown.contains("# extend_message: unset — \"Wait,\"\n"),
        "{shown}"
    );
    p.budget = crate::llm::BudgetSettings {
        limit: Some(0),
        grace: 0,
        message: Some("Considering the limited time by the user, \"now\".\n".into()),
        min_thinking: Some(1000),
        extend_message: "Wait, let me check.".into(),
        max_extensions: 0,
    };
    let text = p.to_toml("");
    assert!(text.contains("\nthinking_budget = 0\n"), "{text}");
    assert!(text.contains("\nmin_thinking = 1000\n"), "{text}");
    assert_eq!(parse_one("think", &text).unwrap(), p, "{text}");
    p.budget.limit = Some(u32::MAX);
    let text = p.to_toml("");
    assert_eq!(parse_one("think", &text).unwrap(), p, "{text}");
}

#[test]
fn lookup_is_read_checked_inherited_and_written_back() {
    let p = parse_one("mine", "lookup = 8\n").unwrap();
    assert_eq!(p.lookup, Some(8));
    assert_eq!(parse_one("mine", &p.to_toml("")).unwrap(), p);
    assert_eq!(bundled("reflection").lookup, None);
    let err = parse_one("mine", "lookup = 65\n").unwrap_err().to_string();
    assert_eq!(
        err,
        "mine.toml:1: lookup = 65 is out of range: must be between 0 and 64"
    );
}
