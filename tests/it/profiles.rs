//! End-to-end tests of prompt profiles, themes and the config file: the real binary, a config
//! directory in a temporary folder (REFLECT_CONFIG_DIR), fixture files in tests/fixtures.

use crate::common::{model, outcome, reflect, reflection_script, t, Model};
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The config directory `common::reflect` points REFLECT_CONFIG_DIR at.
fn config_dir(base: &Path) -> PathBuf {
    base.join("config").join("reflect")
}

/// Copies every `.toml` file of a fixture folder into `config/SUB/`.
fn install(base: &Path, fixtures: &str, sub: &str) -> PathBuf {
    let dir = config_dir(base).join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixture(fixtures)).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs the binary (clean environment, config under `base`) with extra variables.
fn run_in(base: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(base);
    for var in [
        "REFLECT_PROFILE",
        "REFLECT_THEME",
        "REFLECT_GPU_LAYERS",
        "REFLECT_CTX_SIZE",
        "REFLECT_THREADS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args);
    outcome(cmd)
}

/// Runs `reflect -m MODEL ARGS`.
fn run_model(m: &Model, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["-m", m.path.to_str().unwrap()];
    all.extend_from_slice(args);
    run_in(m.dir.path(), env, &all)
}

fn json(out: &str, err: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"))
}

const SYSTEM_HEADER: &str = "<|start_header_id|>system<|end_header_id|>";

#[test]
fn list_profiles_shows_name_source_and_description() {
    let dir = crate::common::Sandbox::new();
    let prompts = config_dir(dir.path()).join("prompts");
    write(
        &prompts.join("mine.toml"),
        "description = \"My own\"\nextends = \"plain\"\n",
    );
    write(
        &prompts.join("reflection.toml"),
        "description = \"Cooler\"\nextends = \"reflection\"\n[sampling]\ntemperature = 0.3\n",
    );
    let (code, out, err) = run_in(dir.path(), &[], &["--list-profiles"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(lines[0], ["NAME", "SOURCE", "DESCRIPTION"]);
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l[0].trim_start_matches("* ") == name)
            .unwrap_or_else(|| panic!("{name} missing: {out}"))
            .clone()
    };
    assert_eq!(row("mine")[1..], ["user", "My own"]);
    assert_eq!(
        row("reflection")[1..],
        ["user (overrides bundled)", "Cooler"]
    );
    assert_eq!(
        row("reflection")[0],
        "* reflection",
        "the default is marked"
    );
    assert_eq!(row("plain")[1], "bundled");
    assert_eq!(row("think")[1], "bundled");
    assert_eq!(row("concise")[1], "bundled");
}

/// The `.toml` file names (without extension) in a folder of the source tree.
fn toml_names(folder: &str) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(folder))
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                (path.extension()? == "toml")
                    .then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
            })
            .collect();
    names.sort();
    names
}

#[test]
fn every_bundled_profile_and_theme_is_embedded_loads_and_shows() {
    let embedded = |b: &[reflect::config::Bundled]| {
        let mut names: Vec<String> = b.iter().map(|b| b.name.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(toml_names("prompts"), embedded(reflect::profile::BUNDLED));
    assert_eq!(toml_names("themes"), embedded(reflect::theme::BUNDLED));

    let dir = crate::common::Sandbox::new();
    for name in toml_names("prompts") {
        let (code, out, err) = run_in(dir.path(), &[], &["--show-profile", &name]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains(&format!("name = \"{name}\"")), "{out}");
    }
    for name in toml_names("themes") {
        let (code, out, err) = run_in(dir.path(), &[], &["--show-theme", &name]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains(&format!("name = \"{name}\"")), "{out}");
    }
    for rel in ["profiles/full.toml", "profiles/pirate.toml"] {
        let path = fixture(rel);
        let (code, _, err) = run_in(dir.path(), &[], &["--show-profile", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{rel}: {err}");
    }
    let path = fixture("themes/full.toml");
    let (code, _, err) = run_in(dir.path(), &[], &["--show-theme", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // The bundled reflection profile carries the model card's system prompt, verbatim: the
    // text as the card gives it, not the code's own copy.
    let (_, out, _) = run_in(dir.path(), &[], &["--show-profile", "reflection"]);
    let card = "You are a world-class AI system, capable of complex reasoning and reflection. Reason through the query inside <thinking> tags, and then provide your final response inside <output> tags. If you detect that you made a mistake in your reasoning at any point, correct yourself inside <reflection> tags.";
    assert!(out.contains(&format!("\nsystem = \"{card}\"\n")), "{out}");
}

#[test]
fn show_profile_prints_the_resolved_profile_with_inheritance_applied() {
    let dir = crate::common::Sandbox::new();
    let (code, out, err) = run_in(dir.path(), &[], &["--show-profile", "concise"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("extends"), "flattened: {out}");
    assert!(!out.contains("instructions"), "folded into system: {out}");
    assert!(out.contains("You are a world-class AI system"), "{out}");
    assert!(out.contains("\nKeep the final answer"), "{out}");
    assert!(out.contains("temperature = 0.7\ntop_p = 0.95\n"), "{out}");
    assert!(out.contains("think_carefully = true"), "{out}");

    // The printed profile, used as a file, gives the same prompt as the profile itself.
    let m = model(reflection_script());
    let copy = m.dir.path().join("copy.toml");
    std::fs::write(&copy, &out).unwrap();
    let (_, by_name, _) = run_model(&m, &[], &["q", "--profile", "concise", "--print-prompt"]);
    let (_, by_file, _) = run_model(
        &m,
        &[],
        &["q", "--profile", copy.to_str().unwrap(), "--print-prompt"],
    );
    assert_eq!(by_name, by_file);

    let (code, _, err) = run_in(dir.path(), &[], &["--show-profile", "consice"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "--show-profile consice: there is no profile named 'consice' — did you mean 'concise'?"
        ),
        "{err}"
    );
}

#[test]
fn the_profile_changes_the_rendered_prompt() {
    let m = model(reflection_script());
    let prompt = |args: &[&str]| {
        let mut all = vec!["what is 2+2?", "--print-prompt"];
        all.extend_from_slice(args);
        let (code, out, err) = run_model(&m, &[], &all);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let reflection = prompt(&[]);
    assert!(reflection.contains(SYSTEM_HEADER));
    assert!(reflection.contains("what is 2+2? Think carefully.<|eot_id|>"));

    for name in ["plain", "think"] {
        let out = prompt(&["--profile", name]);
        assert!(!out.contains(SYSTEM_HEADER), "{name}: {out}");
        assert!(out.contains("\n\nwhat is 2+2?<|eot_id|>"), "{name}: {out}");
    }

    let concise = prompt(&["--profile", "concise"]);
    assert!(concise.contains("correct yourself inside <reflection> tags.\n\nKeep the final answer"));

    let pirate = fixture("profiles/pirate.toml");
    let out = prompt(&["--profile", pirate.to_str().unwrap()]);
    assert!(
        out.contains(&format!("{SYSTEM_HEADER}\n\nYou are a pirate.<|eot_id|>")),
        "{out}"
    );
    assert!(
        !out.contains("Think carefully"),
        "inherited from plain: {out}"
    );

    // Flags still win over the profile.
    let out = prompt(&[
        "--profile",
        "plain",
        "--system",
        "Be brief.",
        "--think-carefully",
    ]);
    assert!(
        out.contains("Be brief.<|eot_id|>") && out.contains("Think carefully."),
        "{out}"
    );
}

#[test]
fn the_json_profile_field_is_the_resolved_profile_name() {
    let m = model(reflection_script());
    let cases = [
        (vec![], "reflection"),
        (vec!["--profile", "concise"], "concise"),
        (vec!["--profile", "plain"], "plain"),
    ];
    for (args, want) in cases {
        let mut all = vec!["q", "--format", "json"];
        all.extend_from_slice(&args);
        let (_, out, err) = run_model(&m, &[], &all);
        assert_eq!(json(&out, &err)["profile"], want, "{args:?}");
    }
    let pirate = fixture("profiles/pirate.toml");
    let (_, out, err) = run_model(
        &m,
        &[],
        &[
            "q",
            "--format",
            "json",
            "--profile",
            pirate.to_str().unwrap(),
        ],
    );
    assert_eq!(json(&out, &err)["profile"], "pirate", "the file's name key");
}

#[test]
fn profile_settings_reach_the_engine_and_router() {
    // max_tokens from a profile file stops the generation.
    let m = model(reflection_script());
    let full = fixture("profiles/full.toml");
    let (code, out, err) = run_model(
        &m,
        &[],
        &["q", "--format", "json", "--profile", full.to_str().unwrap()],
    );
    let v = json(&out, &err);
    assert_eq!(v["stop_reason"], "max_tokens", "{v}");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(code, 3);

    // think: the reply starts inside the thinking block; the answer follows </think>.
    let m = model(vec![
        t("Let me add."),
        t("</think>"),
        t("\n\nThe answer is 4."),
    ]);
    let (code, out, err) = run_model(&m, &[], &["q", "--format", "json", "--profile", "think"]);
    let v = json(&out, &err);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["thinking"], "Let me add.");
    assert_eq!(v["output"], "The answer is 4.");

    // plain: no tag vocabulary, so tags in the text are just text.
    let m = model(vec![t("<thinking>"), t("hmm"), t("</thinking>"), t(" 4")]);
    let (_, out, err) = run_model(&m, &[], &["q", "--format", "json", "--profile", "plain"]);
    assert_eq!(json(&out, &err)["output"], "<thinking>hmm</thinking> 4");
    let (_, out, err) = run_model(&m, &[], &["q", "--format", "json"]);
    assert_eq!(
        json(&out, &err)["thinking"],
        "hmm",
        "reflection routes them"
    );
}

#[test]
fn save_profile_writes_the_current_settings_and_they_can_be_used() {
    let m = model(reflection_script());
    let base = m.dir.path();
    let (code, out, err) = run_in(
        base,
        &[],
        &[
            "--save-profile",
            "terse",
            "--profile",
            "plain",
            "--system",
            "Be terse.",
            "--temperature",
            "0.2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let path = config_dir(base).join("prompts").join("terse.toml");
    assert_eq!(out.trim(), path.display().to_string());
    assert!(err.is_empty(), "{err}");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(
        saved.contains("name = \"terse\"") && !saved.contains("extends"),
        "{saved}"
    );
    assert!(saved.contains("temperature = 0.2"), "{saved}");

    let (code, out, err) = run_model(&m, &[], &["q", "--profile", "terse", "--print-prompt"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Be terse.<|eot_id|>"), "{out}");
    assert!(!out.contains("Think carefully"), "{out}");
    let (_, out, err) = run_model(&m, &[], &["q", "--profile", "terse", "--format", "json"]);
    assert_eq!(json(&out, &err)["profile"], "terse");

    // Saving again replaces it, and says so.
    let (code, _, err) = run_in(base, &[], &["--save-profile", "terse"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("replaced the existing user profile 'terse'"),
        "{err}"
    );
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(
        saved.contains("You are a world-class AI system"),
        "now from reflection"
    );

    let (code, _, err) = run_in(base, &[], &["--save-profile", "reflection"]);
    assert_eq!(code, 0);
    assert!(err.contains("overrides the bundled profile"), "{err}");

    for bad in ["", "a/b", "../up", ".hidden"] {
        let (code, out, err) = run_in(base, &[], &["--save-profile", bad]);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains("cannot be a profile name"), "{err}");
        assert!(out.is_empty());
    }
}

#[test]
fn config_file_then_environment_then_flags() {
    let m = model(reflection_script());
    let base = m.dir.path();
    let config = config_dir(base);
    std::fs::create_dir_all(&config).unwrap();
    // A model path relative to the config directory.
    std::fs::copy(&m.path, config.join("model.gguf")).unwrap();
    write(
        &config.join("config.toml"),
        "model = \"model.gguf\"\nprofile = \"plain\"\n",
    );
    let profile = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["q", "--format", "json"];
        all.extend_from_slice(args);
        let (code, out, err) = run_in(base, env, &all);
        assert_eq!(code, 0, "{err}");
        json(&out, &err)["profile"].as_str().unwrap().to_string()
    };
    assert_eq!(profile(&[], &[]), "plain");
    assert_eq!(profile(&[("REFLECT_PROFILE", "think")], &[]), "think");
    assert_eq!(
        profile(&[("REFLECT_PROFILE", "think")], &["--profile", "concise"]),
        "concise"
    );

    // The context size: config 256 < environment 512 < flag 768.
    write(
        &config.join("config.toml"),
        "model = \"model.gguf\"\nctx_size = 256\n",
    );
    let long = "word ".repeat(400);
    let holds = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec![long.as_str()];
        all.extend_from_slice(args);
        let (code, _, err) = run_in(base, env, &all);
        assert_eq!(code, 2, "{err}");
        err
    };
    assert!(holds(&[], &[]).contains("context holds 256"));
    let env = [("REFLECT_CTX_SIZE", "512")];
    assert!(holds(&env, &[]).contains("context holds 512"));
    assert!(holds(&env, &["--ctx-size", "768"]).contains("context holds 768"));

    // The model: REFLECT_MODEL over config.toml.
    let (code, _, err) = run_in(base, &[("REFLECT_MODEL", "/nope.gguf")], &["q"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nope.gguf: no such file"), "{err}");
}

#[test]
fn thinking_budget_keys_are_shown_saved_and_checked() {
    let dir = crate::common::Sandbox::new();
    let base = dir.path();
    let prompts = config_dir(base).join("prompts");
    write(
        &prompts.join("frugal.toml"),
        "extends = \"think\"\nthinking_budget = 256\nbudget_message = \"Time is up.\"\n\
         min_thinking = 32\nmax_extensions = 2\n",
    );
    let (code, out, err) = run_in(base, &[], &["profiles", "show", "frugal"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "\nthinking_budget = 256\n",
        "\nbudget_message = \"Time is up.\"\n",
        "\nmin_thinking = 32\n",
        "\nmax_extensions = 2\n",
        "\n# budget_grace: unset — 32 tokens\n",
        "\n# extend_message: unset — \"Wait,\"\n",
    ] {
        assert!(out.contains(line), "{line:?}: {out}");
    }

    // `profiles save` keeps the profile's values and the flags given.
    let (code, _, err) = run_in(
        base,
        &[],
        &[
            "profiles",
            "save",
            "capped",
            "--profile",
            "frugal",
            "--think-budget",
            "500",
            "--min-think",
            "none",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let saved = std::fs::read_to_string(prompts.join("capped.toml")).unwrap();
    assert!(saved.contains("\nthinking_budget = 500\n"), "{saved}");
    assert!(
        saved.contains("\n# min_thinking: unset — no minimum\n"),
        "{saved}"
    );
    assert!(
        saved.contains("\nbudget_message = \"Time is up.\"\n"),
        "{saved}"
    );
    let (code, shown, _) = run_in(base, &[], &["profiles", "show", "capped"]);
    assert_eq!(code, 0);
    assert!(shown.contains("\nthinking_budget = 500\n"), "{shown}");

    // A bad value on the command line is a usage error that says what to type.
    for (value, why) in [
        (
            "-1",
            "-1 is too small: use 0 or more (0 answers without thinking), or none for no limit",
        ),
        (
            "lots",
            "'lots' is not a token count: use 0 or more (0 answers without thinking), or none for no limit",
        ),
    ] {
        let (code, out, err) = run_in(base, &[], &["--think-budget", value, "q"]);
        assert_eq!(code, 2, "{value}: {err}");
        let want = format!("invalid value '{value}' for '--think-budget <N|none>': {why}");
        assert!(err.contains(&want), "want: {want}\ngot: {err}");
        assert!(out.is_empty(), "{out}");
    }
    let (code, _, err) = run_in(base, &[], &["--min-think", "0", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("0 is too small: use 1 or more, or none for no minimum"),
        "{err}"
    );

    // And so is one in a profile or config.toml, naming file, line and key.
    write(&prompts.join("bad.toml"), "\nmin_thinking = 0\n");
    let (code, _, err) = run_in(base, &[], &["profiles", "show", "bad"]);
    assert_eq!(code, 2, "{err}");
    let at = format!(
        "{}:2: min_thinking = 0 is out of range: must be between 1 and 4294967295 (\"none\" for no minimum)",
        prompts.join("bad.toml").display()
    );
    assert!(err.contains(&at), "want: {at}\ngot: {err}");
    let config = config_dir(base).join("config.toml");
    write(&config, "thinking_budget = \"lots\"\n");
    let (code, _, err) = run_in(base, &[], &["--demo", "q"]);
    assert_eq!(code, 2, "{err}");
    let at = format!(
        "{}:1: thinking_budget = \"lots\" is not valid: use a whole number of tokens, or \"none\" for no limit",
        config.display()
    );
    assert!(err.contains(&at), "want: {at}\ngot: {err}");
}

#[test]
fn a_broken_config_file_is_a_usage_error_naming_file_line_and_key() {
    let dir = crate::common::Sandbox::new();
    let config = config_dir(dir.path()).join("config.toml");
    let table = [
        (
            "theme = \"dark\"\nthreds = 4\n",
            2,
            "unknown key 'threds' — did you mean 'threads'?",
        ),
        (
            "\n\nctx_size = 4\n",
            3,
            "ctx_size = 4 is out of range: must be 256 or more (llama.cpp allocates the context in steps of 256)",
        ),
        (
            "profile = \"nope\"\n",
            1,
            "profile = \"nope\": there is no profile named 'nope'",
        ),
        (
            "theme = \"drak\"\n",
            1,
            "theme = \"drak\": there is no theme named 'drak' — did you mean 'dark'?",
        ),
    ];
    for (text, line, want) in table {
        write(&config, text);
        let (code, out, err) = run_in(dir.path(), &[], &["--demo", "q"]);
        assert_eq!(code, 2, "{text}: {err}");
        let at = format!("reflect: {}:{line}: {want}", config.display());
        assert!(err.contains(&at), "{text}\nwant: {at}\ngot: {err}");
        assert!(out.is_empty());
    }
}

#[test]
fn no_color_selects_the_monochrome_theme_unless_one_is_chosen() {
    let dir = crate::common::Sandbox::new();
    let base = dir.path();
    let active = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["--list-themes"];
        all.extend_from_slice(args);
        let (code, out, err) = run_in(base, env, &all);
        assert_eq!(code, 0, "{err}");
        let marked: Vec<&str> = out.lines().filter(|l| l.starts_with('*')).collect();
        assert_eq!(marked.len(), 1, "{out}");
        marked[0].split_whitespace().nth(1).unwrap().to_string()
    };
    // common::reflect sets NO_COLOR=1.
    assert_eq!(active(&[], &[]), "monochrome");
    assert_eq!(active(&[], &["--theme", "light"]), "light");
    assert_eq!(
        active(&[("REFLECT_THEME", "high-contrast")], &[]),
        "high-contrast"
    );
    assert_eq!(active(&[("NO_COLOR", "")], &[]), "dark");

    let (code, out, _) = run_in(base, &[], &["--show-theme"]);
    assert_eq!(code, 0);
    assert!(out.contains("name = \"monochrome\""), "{out}");
    assert!(out.contains("NO_COLOR is set"), "{out}");
    assert!(!out.contains("fg ="), "no colours: {out}");
    let (_, out, _) = run_in(base, &[("NO_COLOR", "")], &["--show-theme"]);
    assert!(
        out.contains("name = \"dark\"") && out.contains("fg ="),
        "{out}"
    );
}

/// (fixture, the file the error is in, line, message).
const BAD_PROFILES: &[(&str, &str, usize, &str)] = &[
    ("unknown-key", "unknown-key", 3, "unknown key 'sampling.temprature' — did you mean 'temperature'?"),
    ("unknown-top-key", "unknown-top-key", 2, "unknown key 'sytem' — did you mean 'system'?"),
    ("temperature-negative", "temperature-negative", 6, "sampling.temperature = -1 is out of range: must be 0 or more"),
    ("top-p-zero", "top-p-zero", 2, "sampling.top_p = 0 is out of range: must be in (0, 1]"),
    ("top-p-above-one", "top-p-above-one", 3, "sampling.top_p = 1.5 is out of range: must be in (0, 1]"),
    ("max-tokens-negative", "max-tokens-negative", 3, "sampling.max_tokens = -5 is out of range: must be 1 or more (leave it out for no limit; 0 would never answer)"),
    ("top-k-not-a-number", "top-k-not-a-number", 2, "sampling.top_k must be an integer, not a string"),
    ("think-not-a-bool", "think-not-a-bool", 1, "think_carefully must be true or false, not a string"),
    ("history-unknown", "history-unknown", 1, "history = \"everything\" is not valid: use \"answer\" or \"full\""),
    ("tag-with-space", "tag-with-space", 2, "tags.thinking = [\"my think\"] is not valid: tag name \"my think\" (thinking) contains ' '"),
    ("tag-clash", "tag-clash", 2, "tags are not valid: tag name \"x\" is used by both thinking and output"),
    ("missing-parent", "missing-parent", 2, "extends = \"nope\": there is no profile named 'nope'"),
    ("cycle-a", "cycle-b", 1, "extends = \"cycle-a\" makes a cycle: cycle-a → cycle-b → cycle-a"),
    ("self-loop", "self-loop", 3, "extends = \"self-loop\" makes a cycle: self-loop → self-loop"),
    ("name-mismatch", "name-mismatch", 1, "name = \"not-the-file-name\" is not valid: a profile's name is its file name, 'name-mismatch'"),
    ("syntax-error", "syntax-error", 2, "invalid TOML"),
];

#[test]
fn bad_profiles_fail_fast_with_file_line_and_key() {
    let m = model(reflection_script());
    let prompts = install(m.dir.path(), "profiles/bad", "prompts");
    for (name, file, line, want) in BAD_PROFILES {
        let at = format!(
            "reflect: {}:{line}: {want}",
            prompts.join(format!("{file}.toml")).display()
        );
        for args in [
            vec!["q", "--profile", name],
            vec!["q", "--profile", name, "--print-prompt"],
        ] {
            let (code, out, err) = run_model(&m, &[], &args);
            assert_eq!(code, 2, "{name}: {err}");
            assert!(err.contains(&at), "{name}\nwant: {at}\ngot:  {err}");
            assert!(out.is_empty(), "{name}");
            assert!(!err.contains("panicked"), "{err}");
        }
        let (code, _, err) = run_in(m.dir.path(), &[], &["--show-profile", name]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&at), "{name}: {err}");
    }
    // By path, too (a file given by path finds its parents by name).
    let path = fixture("profiles/bad/temperature-negative.toml");
    let (code, _, err) = run_model(&m, &[], &["q", "--profile", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("{}:6: sampling.temperature", path.display())),
        "{err}"
    );

    // A listing shows the broken ones, reports them and exits 2.
    let (code, out, err) = run_in(m.dir.path(), &[], &["--list-profiles"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("reflection") && out.contains("cannot be loaded"),
        "{out}"
    );
    assert!(err.contains("temperature-negative.toml:6:"), "{err}");
}

/// (fixture, the file the error is in, line, message).
const BAD_THEMES: &[(&str, &str, usize, &str)] = &[
    (
        "unknown-colour",
        "unknown-colour",
        2,
        "styles.text = \"grean\" is not valid: unknown colour — did you mean 'green'?",
    ),
    (
        "bad-hex",
        "bad-hex",
        3,
        "styles.error = \"#12345\" is not valid: write RGB colours as #rrggbb",
    ),
    (
        "index-out-of-range",
        "index-out-of-range",
        2,
        "styles.muted = 300 is out of range: a 256-colour index is 0 to 255",
    ),
    (
        "unknown-key",
        "unknown-key",
        2,
        "unknown key 'styles.border_focussed' — did you mean 'border_focused'?",
    ),
    (
        "unknown-style-key",
        "unknown-style-key",
        2,
        "unknown key 'styles.text.blod' — did you mean 'bold'?",
    ),
    (
        "attribute-not-a-bool",
        "attribute-not-a-bool",
        2,
        "styles.code.bold must be true or false, not a string",
    ),
    (
        "unknown-top-key",
        "unknown-top-key",
        1,
        "unknown key 'colours'",
    ),
    (
        "missing-parent",
        "missing-parent",
        1,
        "extends = \"drak\": there is no theme named 'drak' — did you mean 'dark'?",
    ),
    (
        "theme-a",
        "theme-b",
        2,
        "extends = \"theme-a\" makes a cycle: theme-a → theme-b → theme-a",
    ),
];

#[test]
fn bad_themes_fail_fast_with_file_line_and_key() {
    let m = model(reflection_script());
    let themes = install(m.dir.path(), "themes/bad", "themes");
    for (name, file, line, want) in BAD_THEMES {
        let at = format!(
            "reflect: {}:{line}: {want}",
            themes.join(format!("{file}.toml")).display()
        );
        let (code, out, err) = run_model(&m, &[], &["q", "--theme", name]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&at), "{name}\nwant: {at}\ngot:  {err}");
        assert!(out.is_empty());
        let (code, _, err) = run_in(m.dir.path(), &[], &["--show-theme", name]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&at), "{name}: {err}");
    }
    let (code, _, err) = run_in(m.dir.path(), &[], &["--list-themes"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown-colour.toml:2:"), "{err}");
}
