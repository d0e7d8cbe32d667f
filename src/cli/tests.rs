use super::*;

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_line(std::iter::once("reflect").chain(args.iter().copied()))
}

/// The mode of `reflect ARGS` with stdin and stdout terminals or not.
fn mode(args: &[&str], stdin_tty: bool, stdout_tty: bool) -> Result<Mode, String> {
    parse(args)
        .map_err(|e| e.to_string())?
        .mode(stdin_tty, stdout_tty)
        .map_err(|f| f.message)
}

#[test]
fn bad_values_are_rejected_with_the_reason() {
    let table = [
        (&["--temperature", "-1"][..], "negative"),
        (&["--top-p", "0"][..], "outside (0, 1]"),
        (&["--top-p", "1.5"][..], "outside (0, 1]"),
        (&["--min-p", "2"][..], "outside [0, 1]"),
        (&["--gpu-layers", "many"][..], "use a number or 'all'"),
        (&["--temperature", "NaN"][..], "not a number"),
        (&["--repeat-penalty", "0"][..], "greater than 0"),
        (&["--max-tokens", "0"][..], "1 or more"),
        (
            &["--ctx-size", "10"][..],
            "10 tokens is too small: use 256 or more",
        ),
        (&["--max-tokens", "lots"][..], "'lots' is not"),
        (&["--seed", "x"][..], "'x' is not a seed"),
        (
            &["sessions", "prune", "--older-than", "30"][..],
            "'30' has no unit",
        ),
        (&["sessions", "prune"][..], "--older-than <DURATION>"),
        (&["completions", "tcsh"][..], "possible values: bash"),
        (
            &["profiles", "save", "x", "--temperature", "-2"][..],
            "negative",
        ),
        (
            &["--think-budget", "-1"][..],
            "-1 is too small: use 0 or more",
        ),
        (
            &["--think-budget", "lots"][..],
            "'lots' is not a token count",
        ),
        (&["--min-think", "0"][..], "0 is too small: use 1 or more"),
        (
            &["profiles", "save", "x", "--think-budget", "-5"][..],
            "-5 is too small",
        ),
    ];
    for (args, want) in table {
        let err = parse(args).unwrap_err().to_string();
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn the_thinking_budget_flags_take_a_count_or_none_and_stay_out_of_the_short_help() {
    let flags = |a: &[&str]| parse(a).unwrap().run.profile_flags;
    let f = flags(&["--think-budget", "0", "--min-think", "none", "q"]);
    assert_eq!(f.think_budget, Some(TokenLimit(Some(0))));
    assert_eq!(f.min_think, Some(TokenLimit(None)));
    assert_eq!(
        flags(&["--think-budget", "off"]).think_budget,
        Some(TokenLimit(None))
    );
    match mode(
        &["profiles", "save", "m", "--think-budget", "500"],
        true,
        true,
    ) {
        Ok(Mode::SaveProfile { run, .. }) => {
            assert_eq!(run.profile_flags.think_budget, Some(TokenLimit(Some(500))))
        }
        m => panic!("{m:?}"),
    }
    let short = Args::short_help();
    assert!(
        !short.contains("--think-budget") && !short.contains("--min-think"),
        "{short}"
    );
    let long = Args::command_line().render_long_help().to_string();
    assert!(long.contains("--think-budget <N|none>"), "{long}");
    assert!(long.contains("--min-think <N|none>"), "{long}");
}

#[test]
fn the_words_the_chat_takes_work_as_flags_too() {
    let flags = |a: &[&str]| parse(a).unwrap().run.profile_flags;
    assert_eq!(
        flags(&["--max-tokens", "none"]).max_tokens,
        Some(MaxTokens(None))
    );
    assert_eq!(
        flags(&["--max-tokens", "12"]).max_tokens,
        Some(MaxTokens(Some(12)))
    );
    assert_eq!(
        flags(&["--seed", "random"]).seed,
        Some(crate::profile::RANDOM_SEED)
    );
    assert_eq!(flags(&["--seed", "42"]).seed, Some(42));
}

#[test]
fn information_flags_exclude_each_other_and_take_optional_values() {
    let a = parse(&["--show-theme"]).unwrap();
    assert_eq!(a.show_theme, Some(None));
    let a = parse(&["--show-theme", "light"]).unwrap();
    assert_eq!(a.show_theme, Some(Some("light".into())));
    assert!(parse(&["--list-profiles", "--list-themes"]).is_err());
    assert!(parse(&["--show-profile", "x", "--save-profile", "y"]).is_err());
    let a = parse(&["--save-profile", "mine", "--temperature", "0.2"]).unwrap();
    assert_eq!(a.save_profile.as_deref(), Some("mine"));
}

#[test]
fn a_subcommand_is_only_the_first_word_and_any_other_word_is_the_prompt() {
    let a = parse(&["why", "is", "the", "sky", "blue"]).unwrap();
    assert_eq!(a.command, None);
    assert_eq!(a.prompt, ["why", "is", "the", "sky", "blue"]);
    // A subcommand's name later in the prompt is a word of it.
    let a = parse(&["what", "sessions", "list"]).unwrap();
    assert_eq!(a.prompt, ["what", "sessions", "list"]);
    // After `--` every word is the prompt.
    let a = parse(&["--", "sessions"]).unwrap();
    assert_eq!(a.command, None);
    assert_eq!(a.prompt, ["sessions"]);
    // After a flag, a subcommand's name is a mistake that shows the right order (it would
    // otherwise ask the model "sessions list"); after `--` it asks.
    let e = parse(&["--demo", "sessions", "list"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'sessions' is a command, and a command comes first"),
        "{e}"
    );
    let a = parse(&["--demo", "--", "sessions", "list"]).unwrap();
    assert_eq!(a.prompt, ["sessions", "list"]);
    let a = parse(&["--demo", "what", "sessions"]).unwrap();
    assert_eq!(a.prompt, ["what", "sessions"]);
    // `help` is no subcommand: it asks.
    assert_eq!(parse(&["help", "me"]).unwrap().prompt, ["help", "me"]);
    let a = parse(&["sessions", "list"]).unwrap();
    assert_eq!(a.command, Some(Command::Sessions(SessionsCommand::List)));
    assert!(a.prompt.is_empty());
}

#[test]
fn every_combination_of_flags_and_terminals_that_decides_a_mode() {
    use Mode::*;
    let tty = [(false, false), (false, true), (true, false), (true, true)];
    // (arguments, the mode with terminals on both ends, the mode otherwise)
    let table: Vec<(&[&str], Mode, Mode)> = vec![
        (&[], Chat, Ask),
        (&["q"], Ask, Ask),
        (&["--", "sessions"], Ask, Ask),
        (&["--print-prompt"], PrintPrompt, PrintPrompt),
        (&["--print-prompt", "q"], PrintPrompt, PrintPrompt),
        (&["--format", "json"], Ask, Ask),
        (&["--format", "jsonl"], Ask, Ask),
        (&["--format", "text"], Chat, Ask),
        (&["-c"], Chat, Ask),
        (&["--session", "x"], Chat, Ask),
        (&["--show-thinking", "-m", "m.gguf"], Chat, Ask),
        (&["-h"], ShortHelp, ShortHelp),
        (&["-h", "q"], ShortHelp, ShortHelp),
        (&["--sessions"], ListSessions, ListSessions),
        (&["sessions", "list"], ListSessions, ListSessions),
        (&["--list-profiles"], ListProfiles, ListProfiles),
        (&["profiles", "list"], ListProfiles, ListProfiles),
        (&["--list-themes"], ListThemes, ListThemes),
        (&["themes", "list"], ListThemes, ListThemes),
        (&["man"], Man, Man),
        (
            &["completions", "zsh"],
            Completions(Shell::Zsh),
            Completions(Shell::Zsh),
        ),
    ];
    for (args, both, other) in &table {
        for (i, o) in tty {
            let want = if i && o { both } else { other };
            assert_eq!(
                &mode(args, i, o).unwrap(),
                want,
                "{args:?} stdin {i} stdout {o}"
            );
        }
    }
}

#[test]
fn each_alias_flag_stands_for_its_subcommand() {
    type Row<'a> = (&'a [&'a str], &'a [&'a str], &'a str);
    let table: &[Row] = &[
        (&["--sessions"], &["sessions", "list"], "--sessions"),
        (
            &["--list-profiles"],
            &["profiles", "list"],
            "--list-profiles",
        ),
        (&["--list-themes"], &["themes", "list"], "--list-themes"),
        (&["--export", "x"], &["sessions", "export", "x"], "--export"),
        (
            &["--export", "x", "--format", "json", "--to", "a.md", "--raw"],
            &[
                "sessions", "export", "x", "--format", "json", "--to", "a.md", "--raw",
            ],
            "--export",
        ),
        (
            &["--show-profile", "p"],
            &["profiles", "show", "p"],
            "--show-profile",
        ),
        (&["--show-theme"], &["themes", "show"], "--show-theme"),
        (
            &["--show-theme", "t"],
            &["themes", "show", "t"],
            "--show-theme",
        ),
        (
            &["--save-profile", "m", "--profile", "plain", "--top-k", "5"],
            &[
                "profiles",
                "save",
                "m",
                "--profile",
                "plain",
                "--top-k",
                "5",
            ],
            "--save-profile",
        ),
    ];
    for (alias, command, flag) in table {
        let by_alias = parse(alias).unwrap().alias_command();
        let by_name = parse(command).unwrap().command;
        assert!(by_name.is_some(), "{command:?}");
        assert_eq!(by_alias, by_name.map(|c| (c, *flag)), "{alias:?}");
    }
    // Errors name what was typed: the alias, or the subcommand.
    assert_eq!(
        mode(&["--show-profile", "p"], true, true),
        Ok(Mode::ShowProfile {
            name: "p".into(),
            by: "--show-profile"
        })
    );
    assert_eq!(
        mode(&["profiles", "show", "p"], true, true),
        Ok(Mode::ShowProfile {
            name: "p".into(),
            by: "profiles show"
        })
    );
}

#[test]
fn the_session_subcommands_without_an_alias_lead_to_their_modes() {
    assert_eq!(
        mode(&["sessions", "prune", "--older-than", "2w"], true, true),
        Ok(Mode::PruneSessions {
            older_than: Duration::from_secs(14 * 24 * 3600)
        })
    );
    assert_eq!(
        mode(&["sessions", "rm", "abc"], false, false),
        Ok(Mode::RemoveSession { id: "abc".into() })
    );
    assert_eq!(
        mode(&["sessions", "show", "abc"], false, false),
        Ok(Mode::ShowSession {
            id: "abc".into(),
            raw: false
        })
    );
}

/// The bug this design removes: the chat was chosen by a list of "not an info flag" that had to
/// repeat every info flag, so one missing from it opened the chat. Now every hidden alias flag
/// (each one clap knows as hidden) gives a mode other than the chat, in a terminal.
#[test]
fn no_information_flag_opens_the_chat() {
    let mut cmd = Args::command();
    cmd.build();
    let hidden: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_hide_set() && a.get_long().is_some())
        .filter(|a| a.get_id() != "to")
        .collect();
    assert!(hidden.len() >= 7, "{hidden:?}");
    for arg in hidden {
        let flag = format!("--{}", arg.get_long().unwrap());
        let takes_value = arg.get_num_args().is_some_and(|n| n.min_values() > 0);
        let args: Vec<&str> = if takes_value {
            vec![&flag, "x"]
        } else {
            vec![&flag]
        };
        let m = mode(&args, true, true).unwrap();
        assert_ne!(m, Mode::Chat, "{flag} opened the chat");
        assert_ne!(m, Mode::Ask, "{flag} asked");
    }
}

#[test]
fn combinations_that_would_be_ignored_are_refused() {
    let table: [(&[&str], &str); 4] = [
        (&["--resume"], "--resume opens the full-screen chat"),
        (&["q", "--resume"], "--resume opens the full-screen chat"),
        (
            &["--export", "x", "--format", "jsonl"],
            "--export writes Markdown or JSON",
        ),
        (
            &["--save-profile", "m", "q"],
            "--save-profile m saves the settings and asks nothing",
        ),
    ];
    for (args, want) in table {
        for (i, o) in [(true, true), (false, false)] {
            if args == ["--resume"] && i && o {
                assert_eq!(mode(args, i, o), Ok(Mode::Chat));
                continue;
            }
            let err = mode(args, i, o).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
    // Flags beside a subcommand are the subcommand's: the main command's are refused there.
    assert!(parse(&["sessions", "list", "-m", "x"]).is_err());
}

#[test]
fn the_short_help_is_one_screen_and_the_long_one_hides_the_aliases() {
    let short = Args::short_help();
    assert!(short.lines().count() <= 24, "{short}");
    assert!(short.contains("Usage: reflect"), "{short}");
    let options = short
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .count();
    assert_eq!(options, 11, "ten options and --help: {short}");
    let long = Args::command_line().render_long_help().to_string();
    for hidden in [
        "--sessions",
        "--export",
        "--list-profiles",
        "--save-profile",
    ] {
        assert!(!long.contains(hidden), "{hidden}: {long}");
    }
    for sub in Args::command_line().get_subcommands() {
        assert!(
            short.contains(sub.get_name()),
            "{}: {short}",
            sub.get_name()
        );
        assert!(long.contains(sub.get_name()), "{}: {long}", sub.get_name());
    }
}

#[test]
fn profiles_save_takes_the_profile_and_its_flags_and_no_model() {
    match mode(
        &[
            "-m",
            "x.gguf",
            "--save-profile",
            "m",
            "--profile",
            "plain",
            "--temperature",
            "0.3",
        ],
        true,
        true,
    ) {
        Ok(Mode::SaveProfile { run, .. }) => {
            assert_eq!(run.profile.as_deref(), Some("plain"));
            assert_eq!(run.profile_flags.temperature, Some(0.3));
            assert_eq!(run.model, None, "a saved profile holds no model");
        }
        m => panic!("{m:?}"),
    }
}

#[test]
fn the_main_command_and_eval_take_the_same_model_flags_with_one_help_text() {
    let main = Args::command_line();
    let eval = main.find_subcommand("eval").expect("eval").clone();
    let group = <RunFlags as clap::Args>::augment_args(clap::Command::new("group"));
    let ids: Vec<_> = group.get_arguments().map(|a| a.get_id().clone()).collect();
    assert!(ids.len() > 20, "{ids:?}");
    for id in ids {
        let find = |cmd: &clap::Command| {
            cmd.get_arguments()
                .find(|a| a.get_id() == &id)
                .map(|a| {
                    let text = |s: Option<&clap::builder::StyledStr>| s.map(|s| s.to_string());
                    (
                        a.get_long().map(str::to_string),
                        text(a.get_help()),
                        text(a.get_long_help()),
                    )
                })
                .unwrap_or_else(|| panic!("{}: no --{id}", cmd.get_name()))
        };
        assert_eq!(find(&main), find(&eval), "--{id}");
    }
    let e = match mode(
        &["eval", "q.jsonl", "--batch-size", "64", "--top-k", "5"],
        true,
        true,
    ) {
        Ok(Mode::Eval(e)) => e,
        m => panic!("{m:?}"),
    };
    assert_eq!(e.run.batch_size, Some(64));
    assert_eq!(e.run.profile_flags.top_k, Some(5));
}

/// (flag, variable) pairs, sorted.
fn pairs(it: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut v: Vec<_> = it.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn each_environment_variable_is_declared_once_and_help_readme_and_settings_agree() {
    use crate::settings::{FLAG_VARS, VARS};
    let declared = pairs(
        FLAG_VARS
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string())),
    );
    // The help: `[env: X]` in a flag's text, or clap's own `env`.
    let env_in_text = regex::Regex::new(r"\[env: ([A-Z_]+)\]").unwrap();
    let cmd = Args::command_line();
    let in_help = pairs(cmd.get_arguments().flat_map(|a| {
        let long = a.get_long().unwrap_or_default().to_string();
        let text = format!(
            "{} {}",
            a.get_help().map(|s| s.to_string()).unwrap_or_default(),
            a.get_long_help().map(|s| s.to_string()).unwrap_or_default()
        );
        let mut vars: Vec<String> = env_in_text
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        vars.extend(a.get_env().map(|e| e.to_string_lossy().into_owned()));
        vars.into_iter().map(move |v| (long.clone(), v))
    }));
    assert_eq!(in_help, declared, "the flags' help against FLAG_VARS");
    // The README's options table: `(also `REFLECT_X`)` in a flag's row.
    let readme = include_str!("../../README.md");
    let table: Vec<String> = readme
        .split("### Options")
        .nth(1)
        .expect("README has ### Options")
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.replace("\\|", "/"))
        .collect();
    let flag = regex::Regex::new(r"--([a-z-]+)").unwrap();
    let var = regex::Regex::new(r"`(REFLECT_[A-Z_]+|NO_COLOR)`").unwrap();
    let in_readme = pairs(table.iter().flat_map(|row| {
        let cell = row.split('|').nth(1).unwrap_or_default();
        let first = flag
            .captures(cell)
            .map(|c| c[1].to_string())
            .unwrap_or_default();
        let meaning = row.split('|').nth(2).unwrap_or_default().to_string();
        var.captures_iter(&meaning)
            .map(|c| (first.clone(), c[1].to_string()))
            .collect::<Vec<_>>()
    }));
    assert_eq!(
        in_readme, declared,
        "the README's options table against FLAG_VARS"
    );
    // What settings read: every variable standing in for a flag is captured, or read by clap.
    for (f, v) in FLAG_VARS {
        let by_clap = cmd
            .get_arguments()
            .any(|a| a.get_long() == Some(*f) && a.get_env().is_some());
        assert!(VARS.contains(v) || by_clap, "--{f}: {v} is read by nothing");
    }
}

#[test]
fn the_flags_become_one_plain_request() {
    use crate::engine::GpuLayers;
    use crate::settings::{Overrides, Request};
    let words = [
        "-m",
        "x.gguf",
        "--gpu-layers",
        "all",
        "--ctx-size",
        "512",
        "--batch-size",
        "64",
        "--profile",
        "plain",
        "--temperature",
        "0.2",
        "--max-tokens",
        "none",
        "--think-budget",
        "0",
        "--think-carefully",
        "--no-think-carefully",
    ];
    assert_eq!(
        parse(&words).unwrap().run.request(),
        Request {
            model: Some("x.gguf".into()),
            gpu_layers: Some(GpuLayers::All),
            ctx_size: Some(512),
            batch_size: Some(64),
            profile: Some("plain".into()),
            overrides: Overrides {
                temperature: Some(0.2),
                max_tokens: Some(None),
                think_budget: Some(Some(0)),
                think_carefully: Some(false),
                ..Overrides::default()
            },
            ..Request::default()
        }
    );
    let think = |a: &[&str]| parse(a).unwrap().run.request().overrides.think_carefully;
    assert_eq!(think(&["--think-carefully"]), Some(true));
    assert_eq!(think(&[]), None);
}

#[test]
fn tool_flags_make_the_requests_tools() {
    let tools = |a: &[&str]| parse(a).unwrap().request().tools;
    assert_eq!(tools(&["q"]), crate::settings::ToolFlags::default());
    let asked = tools(&[
        "--tools",
        "--workspace",
        "ws",
        "--yes",
        "--allow",
        "write_file",
        "--allow",
        "run_command",
        "--max-steps",
        "3",
        "q",
    ]);
    assert_eq!(
        asked,
        crate::settings::ToolFlags {
            on: Some(true),
            workspace: Some("ws".into()),
            yes: true,
            allow: vec!["write_file".into(), "run_command".into()],
            max_steps: Some(3),
        }
    );
    assert_eq!(
        tools(&["--allow", "fs__read_text_file", "q"]).allow,
        ["fs__read_text_file"],
        "an MCP server's tool"
    );
    assert_eq!(tools(&["--no-tools"]).on, Some(false));
    assert_eq!(
        tools(&["--no-tools", "--tools"]).on,
        Some(true),
        "the last wins"
    );
    assert_eq!(tools(&["--tools", "--no-tools"]).on, Some(false));
    let request = parse(&["-m", "x.gguf", "--tools"]).unwrap().request();
    assert_eq!(request.model, Some("x.gguf".into()), "the run flags too");
    for (args, want) in [
        (
            &["--allow", "rm"][..],
            "possible values: read_file, list_dir, search, write_file, edit_file, run_command, or an MCP server's tool as SERVER__TOOL",
        ),
        (&["--max-steps", "0"][..], "0 is not in 1.."),
        (&["--max-steps", "x"][..], "invalid value 'x'"),
    ] {
        let e = parse(args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}");
        assert!(e.to_string().contains(want), "{args:?}: {e}");
    }
    assert!(
        parse(&["eval", "q.jsonl", "--tools"]).is_err(),
        "eval takes no tool flags"
    );
}
