//! Unit tests of the precedence order, with an injected environment and config directory and
//! requests built directly (what the command line turns into).

use super::*;
use crate::prompt::REFLECTION_SYSTEM_PROMPT;
use std::ffi::OsString;

/// A request for the model file `m`.
fn model(m: &str) -> Request {
    Request {
        model: Some(m.into()),
        ..Request::default()
    }
}

/// A request for the model file `m` with profile `p`.
fn with_profile(m: &str, p: &str) -> Request {
    Request {
        profile: Some(p.into()),
        ..model(m)
    }
}

/// A request for the model file `m` with these overrides.
fn overriding(m: &str, overrides: Overrides) -> Request {
    Request {
        overrides,
        ..model(m)
    }
}

/// A config directory holding `config.toml` (when given) and these user profiles.
fn config_dir(config: Option<&str>, profiles: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(c) = config {
        std::fs::write(dir.path().join("config.toml"), c).unwrap();
    }
    for (name, text) in profiles {
        let p = dir.path().join("prompts");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(format!("{name}.toml")), text).unwrap();
    }
    dir
}

fn ctx(dir: Option<&Path>, vars: &[(&str, &str)]) -> Context {
    Context::load(Environment::new(
        dir.map(Path::to_path_buf),
        vars.iter().copied(),
    ))
    .unwrap()
}

fn no_gguf(_: &Path) -> Option<crate::gguf::GgufInfo> {
    None
}

fn settings(c: &Context, r: &Request) -> Result<RunSettings, Failure> {
    c.run_settings_with(r, || unreachable!(), no_gguf)
}

#[test]
fn defaults_follow_the_model_card() {
    let s = settings(&ctx(None, &[]), &model("x.gguf")).unwrap();
    assert_eq!(s.sampling.temperature, 0.7);
    assert_eq!(s.sampling.top_p, 0.95);
    assert_eq!(s.sampling.top_k, SamplingSettings::default().top_k);
    assert!(s.think_carefully);
    assert!(s.router.stop_after_output);
    assert_eq!(s.system.as_deref(), Some(REFLECTION_SYSTEM_PROMPT));
    assert_eq!(s.profile, "reflection");
    assert_eq!(s.history, History::Answer);
    assert_eq!(s.max_tokens, None);
    let asked = Request {
        gpu_layers: Some(GpuLayers::All),
        ..overriding(
            "x",
            Overrides {
                think_carefully: Some(false),
                ..Overrides::default()
            },
        )
    };
    let s = settings(&ctx(None, &[]), &asked).unwrap();
    assert!(!s.think_carefully);
    assert_eq!(s.engine.llama().unwrap().gpu_layers, GpuLayers::All);
}

#[test]
fn a_missing_model_is_a_usage_error() {
    let err = settings(&ctx(None, &[]), &Request::default()).unwrap_err();
    assert_eq!(err.code, crate::exit::code::USAGE);
    assert!(err.message.contains("--demo"), "{}", err.message);
}

#[test]
fn engine_settings_flags_over_environment_over_config_file() {
    let dir = config_dir(
        Some("model = \"m/config.gguf\"\ngpu_layers = 3\nctx_size = 1024\nthreads = 2\n"),
        &[],
    );
    let d = Some(dir.path());
    let s = settings(&ctx(d, &[]), &Request::default()).unwrap();
    assert_eq!(
        s.engine.llama().unwrap().model_path,
        dir.path().join("m/config.gguf")
    );
    assert_eq!(s.engine.llama().unwrap().gpu_layers, GpuLayers::Count(3));
    assert_eq!(
        (
            s.engine.llama().unwrap().ctx_size,
            s.engine.llama().unwrap().threads
        ),
        (Some(1024), Some(2))
    );

    let env = [
        ("REFLECT_MODEL", "env.gguf"),
        ("REFLECT_GPU_LAYERS", "all"),
        ("REFLECT_CTX_SIZE", "2048"),
        ("REFLECT_THREADS", "3"),
    ];
    let s = settings(&ctx(d, &env), &Request::default()).unwrap();
    assert_eq!(
        s.engine.llama().unwrap().model_path,
        PathBuf::from("env.gguf")
    );
    assert_eq!(s.engine.llama().unwrap().gpu_layers, GpuLayers::All);
    assert_eq!(
        (
            s.engine.llama().unwrap().ctx_size,
            s.engine.llama().unwrap().threads
        ),
        (Some(2048), Some(3))
    );

    let asked = Request {
        gpu_layers: Some(GpuLayers::Count(1)),
        ctx_size: Some(512),
        threads: Some(4),
        ..model("flag.gguf")
    };
    let s = settings(&ctx(d, &env), &asked).unwrap();
    assert_eq!(
        s.engine.llama().unwrap().model_path,
        PathBuf::from("flag.gguf")
    );
    assert_eq!(s.engine.llama().unwrap().gpu_layers, GpuLayers::Count(1));
    assert_eq!(
        (
            s.engine.llama().unwrap().ctx_size,
            s.engine.llama().unwrap().threads
        ),
        (Some(512), Some(4))
    );

    // An empty variable counts as unset.
    let s = settings(&ctx(d, &[("REFLECT_MODEL", "")]), &Request::default()).unwrap();
    assert_eq!(
        s.engine.llama().unwrap().model_path,
        dir.path().join("m/config.gguf")
    );
}

#[test]
fn bad_environment_values_name_the_variable() {
    let table = [
        (
            "REFLECT_CTX_SIZE",
            "big",
            "REFLECT_CTX_SIZE=big: 'big' is not a number of tokens",
        ),
        (
            "REFLECT_CTX_SIZE",
            "8",
            "REFLECT_CTX_SIZE=8: 8 tokens is too small: use 256 or more",
        ),
        (
            "REFLECT_THREADS",
            "0",
            "REFLECT_THREADS=0: 0 is out of range",
        ),
        (
            "REFLECT_GPU_LAYERS",
            "many",
            "REFLECT_GPU_LAYERS=many: 'many' is not a layer count",
        ),
    ];
    for (key, value, want) in table {
        let err = settings(&ctx(None, &[(key, value)]), &model("x")).unwrap_err();
        assert_eq!(err.code, crate::exit::code::USAGE);
        assert!(err.message.starts_with(want), "{}", err.message);
    }
}

#[test]
fn sampling_flags_over_profile_over_gguf_over_defaults() {
    let gguf = |_: &Path| {
        Some(crate::gguf::GgufInfo {
            sampling: std::collections::HashMap::from([
                ("temp".to_string(), 0.6),
                ("top_k".to_string(), 20.0),
                ("min_p".to_string(), 0.1),
            ]),
            ..Default::default()
        })
    };
    let c = ctx(None, &[]);
    let run = |r: Request| c.run_settings_with(&r, || unreachable!(), gguf).unwrap();
    // reflection sets temperature and top_p; the model fills in what it leaves unset.
    let s = run(model("x"));
    assert_eq!((s.sampling.temperature, s.sampling.top_p), (0.7, 0.95));
    assert_eq!((s.sampling.top_k, s.sampling.min_p), (20, 0.1));
    assert_eq!(s.sampling.repeat_penalty, 1.0, "built-in default");
    // plain sets no sampling: the model's temperature applies.
    let s = run(with_profile("x", "plain"));
    assert_eq!((s.sampling.temperature, s.sampling.top_p), (0.6, 0.95));
    // Flags win over everything.
    let s = run(overriding(
        "x",
        Overrides {
            temperature: Some(0.1),
            top_k: Some(5),
            seed: Some(9),
            ..Overrides::default()
        },
    ));
    assert_eq!(s.sampling.temperature, 0.1);
    assert_eq!((s.sampling.top_k, s.sampling.seed), (5, Some(9)));
}

#[test]
fn the_profile_flag_over_environment_over_config_file() {
    let dir = config_dir(Some("profile = \"think\"\n"), &[]);
    let d = Some(dir.path());
    let name = |c: &Context, r: &Request| settings(c, r).unwrap().profile;
    let env = [("REFLECT_PROFILE", "plain")];
    let table = [
        (&[][..], model("x"), "think"),
        (&env[..], model("x"), "plain"),
        (&env[..], with_profile("x", "concise"), "concise"),
    ];
    for (vars, asked, want) in table {
        assert_eq!(name(&ctx(d, vars), &asked), want, "{vars:?} {asked:?}");
    }
    let s = settings(&ctx(d, &[]), &model("x")).unwrap();
    assert!(s.router.start_in_thinking);
    assert_eq!(
        s.engine.llama().unwrap().tags,
        crate::stream::TagSet::think()
    );
}

#[test]
fn an_unknown_profile_is_reported_where_it_was_named() {
    let dir = config_dir(Some("\nprofile = \"thnik\"\n"), &[]);
    let err = settings(&ctx(Some(dir.path()), &[]), &model("x")).unwrap_err();
    let config = dir.path().join("config.toml");
    assert_eq!(
        err.message,
        format!(
            "{}:2: profile = \"thnik\": there is no profile named 'thnik' — did you mean 'think'?",
            config.display()
        )
    );
    let err = settings(&ctx(None, &[("REFLECT_PROFILE", "nope")]), &model("x")).unwrap_err();
    assert!(err.message.starts_with("REFLECT_PROFILE=nope: there is no profile named 'nope' (available: agent, concise, plain, reflection, think)"), "{}", err.message);
    let err = settings(&ctx(None, &[]), &with_profile("x", "nope")).unwrap_err();
    assert!(
        err.message.starts_with("--profile nope: "),
        "{}",
        err.message
    );
    assert_eq!(err.code, crate::exit::code::USAGE);
}

#[test]
fn a_profile_path_in_the_config_file_is_relative_to_the_config_directory() {
    let dir = config_dir(Some("profile = \"mine.toml\"\n"), &[]);
    std::fs::write(
        dir.path().join("mine.toml"),
        "name = \"from-file\"\nextends = \"plain\"\n[sampling]\nmax_tokens = 9\n",
    )
    .unwrap();
    let s = settings(&ctx(Some(dir.path()), &[]), &model("x")).unwrap();
    assert_eq!(s.profile, "from-file");
    assert_eq!(s.max_tokens, Some(9));
    assert_eq!(s.system, None);
}

#[test]
fn themes_follow_no_color_unless_chosen() {
    let name = |c: &Context, asked: Option<&str>| c.theme(&asked.map(str::to_string)).unwrap().name;
    let no_color = [("NO_COLOR", "1")];
    let both = [("NO_COLOR", "1"), ("REFLECT_THEME", "high-contrast")];
    let table = [
        (&[][..], None, "dark"),
        (&no_color[..], None, "monochrome"),
        (&[("NO_COLOR", "")][..], None, "dark"),
        (&no_color[..], Some("light"), "light"),
        (&both[..], None, "high-contrast"),
    ];
    for (vars, asked, want) in table {
        assert_eq!(name(&ctx(None, vars), asked), want, "{vars:?} {asked:?}");
    }
    let dir = config_dir(Some("theme = \"light\"\n"), &[]);
    assert_eq!(name(&ctx(Some(dir.path()), &no_color), None), "light");
}

#[test]
fn the_config_directory() {
    let p = |s: &str| Some(OsString::from(s));
    let platform = Some(PathBuf::from("/platform"));
    assert_eq!(
        super::config_dir(p("/r"), p("/x"), platform.clone()),
        Some(PathBuf::from("/r"))
    );
    assert_eq!(
        super::config_dir(None, p("/x"), platform.clone()),
        Some(PathBuf::from("/x/reflect"))
    );
    assert_eq!(
        super::config_dir(p(""), p("relative"), platform.clone()),
        Some(PathBuf::from("/platform/reflect"))
    );
    assert_eq!(super::config_dir(None, None, None), None);
}

#[test]
fn the_saved_profile_is_the_current_one_with_the_flags() {
    let c = ctx(None, &[]);
    let a = Request {
        profile: Some("plain".into()),
        overrides: Overrides {
            temperature: Some(0.2),
            think_carefully: Some(true),
            ..Overrides::default()
        },
        ..Request::default()
    };
    let p = c.profile_to_save(&a, "mine").unwrap();
    assert_eq!(p.name, "mine");
    assert_eq!(p.sampling.temperature, Some(0.2));
    assert!(p.think_carefully);
    assert_eq!(p.system, None);
    assert_eq!(
        p.description,
        "Saved from profile 'plain' with --temperature 0.2 --think-carefully"
    );
    for bad in ["", "a/b", ".x"] {
        let err = c.profile_to_save(&a, bad).unwrap_err();
        assert_eq!(err.code, crate::exit::code::USAGE, "{bad}");
    }
    assert!(c.profile_dir().is_err(), "no config directory");
}

#[test]
fn a_broken_config_file_names_file_line_and_key() {
    let dir = config_dir(Some("theme = \"dark\"\nthreds = 4\n"), &[]);
    let err = Context::load(Environment::new(Some(dir.path().to_path_buf()), [])).unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(
        err.message,
        "unknown key 'threds' — did you mean 'threads'?"
    );
}

#[test]
fn the_tui_falls_back_to_defaults_and_keeps_the_error() {
    let dir = config_dir(
        Some("profile = \"broken\"\ntheme = \"nope\"\n"),
        &[("broken", "[sampling]\ntemperature = -1\n")],
    );
    let env = Environment::new(Some(dir.path().to_path_buf()), [("NO_COLOR", "1")]);
    let (c, err) = Context::load_or_defaults(env.clone());
    assert!(err.is_none());
    let (p, err) = c.profile_or_default(&Request {
        overrides: Overrides {
            temperature: Some(0.3),
            ..Overrides::default()
        },
        ..Request::default()
    });
    assert_eq!(p.name, "reflection");
    assert_eq!(p.sampling.temperature, Some(0.3), "the flags still apply");
    assert!(err
        .unwrap()
        .to_string()
        .contains("broken.toml:2: sampling.temperature = -1"));
    let (t, err) = c.theme_or_default(&None);
    assert_eq!(t.name, "monochrome");
    assert!(err.unwrap().to_string().contains("theme = \"nope\""));

    std::fs::write(dir.path().join("config.toml"), "colour = 1\n").unwrap();
    let (c, err) = Context::load_or_defaults(env);
    assert!(err
        .unwrap()
        .to_string()
        .contains(":1: unknown key 'colour'"));
    assert_eq!(c.config, ConfigFile::default());
    assert_eq!(c.profile(&Request::default()).unwrap().name, "reflection");
}

#[test]
fn a_named_profile_or_theme_error_names_who_asked() {
    let ctx = Context::load(Environment::new(None, [])).unwrap();
    let e = ctx
        .named_profile("nosuch", "/profile")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/profile nosuch: "), "{e}");
    let e = ctx.named_theme("nosuch", "/theme").unwrap_err().to_string();
    assert!(e.starts_with("/theme nosuch: "), "{e}");
    let e = ctx
        .named_profile("nosuch", "--show-profile")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--show-profile nosuch: "), "{e}");
}

#[test]
fn the_thinking_budget_flag_over_environment_over_config_over_profile() {
    let dir = config_dir(
        Some("thinking_budget = 300\nmin_thinking = 30\n"),
        &[(
            "mine",
            "thinking_budget = 400\nmin_thinking = 40\nbudget_grace = 8\nbudget_message = \"Time is up.\"\n",
        )],
    );
    let d = Some(dir.path());
    // The flags: --think-budget and --min-think (`Some(None)`: none).
    let budget = |vars: &[(&str, &str)], flags: (Option<Option<u32>>, Option<Option<u32>>)| {
        let asked = Request {
            overrides: Overrides {
                think_budget: flags.0,
                min_think: flags.1,
                ..Overrides::default()
            },
            ..with_profile("x", "mine")
        };
        let b = settings(&ctx(d, vars), &asked).unwrap().budget;
        assert_eq!(b.grace, 8, "the rest is the profile's");
        assert_eq!(b.message.as_deref(), Some("Time is up."));
        (b.limit, b.min_thinking)
    };
    let env = [("REFLECT_THINK_BUDGET", "200"), ("REFLECT_MIN_THINK", "20")];
    let env_none = [
        ("REFLECT_THINK_BUDGET", "none"),
        ("REFLECT_MIN_THINK", "none"),
    ];
    let unset = (None, None);
    // "none" at a level lifts the levels below it; 0 is a budget (answer without thinking).
    let table = [
        (&[][..], unset, (Some(300), Some(30)), "config over profile"),
        (&env[..], unset, (Some(200), Some(20)), "env over config"),
        (
            &env[..],
            (Some(Some(100)), Some(Some(10))),
            (Some(100), Some(10)),
            "flags over env",
        ),
        (
            &env[..],
            (Some(None), Some(None)),
            (None, None),
            "flag none",
        ),
        (&env_none[..], unset, (None, None), "env none"),
        (&[][..], (Some(Some(0)), None), (Some(0), Some(30)), "0"),
    ];
    for (vars, flags, want, why) in table {
        assert_eq!(budget(vars, flags), want, "{why}");
    }

    // Without config.toml, the profile's; without either, unlimited.
    let dir = config_dir(None, &[("mine", "thinking_budget = 400\n")]);
    let s = settings(&ctx(Some(dir.path()), &[]), &with_profile("x", "mine")).unwrap();
    assert_eq!(s.budget.limit, Some(400));
    let s = settings(&ctx(None, &[]), &model("x")).unwrap();
    assert_eq!(s.budget, BudgetSettings::default());
    // The same merge for a server.
    let s = settings(
        &ctx(None, &[("REFLECT_THINK_BUDGET", "64")]),
        &Request {
            endpoint: Some("http://localhost:1/v1".into()),
            ..Request::default()
        },
    )
    .unwrap();
    assert_eq!(s.budget.limit, Some(64));

    let err = settings(&ctx(None, &[("REFLECT_THINK_BUDGET", "lots")]), &model("x")).unwrap_err();
    assert_eq!(err.code, crate::exit::code::USAGE);
    assert_eq!(
        err.message,
        "REFLECT_THINK_BUDGET=lots: 'lots' is not a token count: use 0 or more (0 answers without thinking), or none for no limit"
    );
    let err = settings(&ctx(None, &[("REFLECT_MIN_THINK", "0")]), &model("x")).unwrap_err();
    assert_eq!(
        err.message,
        "REFLECT_MIN_THINK=0: 0 is too small: use 1 or more, or none for no minimum"
    );
}

#[test]
fn a_saved_profile_keeps_the_budget_flags() {
    let c = ctx(None, &[]);
    let a = Request {
        overrides: Overrides {
            think_budget: Some(Some(500)),
            min_think: Some(None),
            ..Overrides::default()
        },
        ..Request::default()
    };
    let p = c.profile_to_save(&a, "mine").unwrap();
    assert_eq!((p.budget.limit, p.budget.min_thinking), (Some(500), None));
    assert_eq!(
        p.description,
        "Saved from profile 'reflection' with --think-budget 500 --min-think none"
    );
}

#[test]
fn lookup_and_the_draft_model_flag_over_config_over_profile() {
    let lookup = |config: Option<&str>, profile: &str, flag: Option<u32>| {
        let dir = config_dir(config, &[("mine", profile)]);
        let asked = Request {
            lookup: flag,
            ..with_profile("x", "mine")
        };
        let s = settings(&ctx(Some(dir.path()), &[]), &asked).unwrap();
        s.engine.llama().unwrap().speculation.lookup
    };
    let table = [
        (None, "", None, 0, "off by default"),
        (None, "lookup = 4\n", None, 4, "the profile's"),
        (
            Some("lookup = 6\n"),
            "lookup = 4\n",
            None,
            6,
            "config over profile",
        ),
        (
            Some("lookup = 6\n"),
            "lookup = 4\n",
            Some(8),
            8,
            "flag over config",
        ),
        (Some("lookup = 6\n"), "", Some(0), 0, "flag 0 turns it off"),
    ];
    for (config, profile, flag, want, why) in table {
        assert_eq!(lookup(config, profile, flag), want, "{why}");
    }
    let asked = Request {
        model_draft: Some("small.gguf".into()),
        draft_p_min: Some(0.5),
        ..model("x")
    };
    let s = settings(&ctx(None, &[]), &asked).unwrap();
    let draft = s.engine.llama().unwrap().speculation.draft.clone();
    assert_eq!(
        draft,
        Some(crate::engine::DraftModel {
            path: "small.gguf".into(),
            max: crate::engine::DraftModel::DEFAULT_MAX,
            p_min: 0.5,
        })
    );
}
