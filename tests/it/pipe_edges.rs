//! Pipe mode's edges as a new user meets them: the thinking status on a terminal (and never in
//! a pipe), the note on a profile that does not fit the model, the demo's shape on stderr and
//! its closing advice, and the JSON thinking around a removed reflection.

use crate::common::*;

const COLS: u16 = 120;
const ROWS: u16 = 30;

/// `reflect ARGS` in a pseudo-terminal of this window's size, to its end.
fn in_pty(m: &Model, args: &[&str]) -> (u32, String) {
    run_in_pty(m, args, ROWS, COLS)
}

/// What a terminal shows after `raw`.
fn screen(raw: &str) -> String {
    let mut p = vt100::Parser::new(ROWS, COLS, 0);
    p.process(raw.as_bytes());
    p.screen().contents()
}

#[test]
fn on_a_terminal_a_status_shows_the_thinking_and_is_erased_before_the_answer() {
    let m = model(thinker("w", 40));
    let path = m.path.to_str().unwrap().to_string();
    let (code, raw) = in_pty(&m, &["-m", &path, "--no-save", "what is 2+2?"]);
    assert_eq!(code, 0, "{raw:?}");
    let answer = raw.find("The answer is 4.").expect("the answer");
    let before = &raw[..answer];
    let last = before
        .rfind("thinking… ")
        .unwrap_or_else(|| panic!("no status before the answer: {raw:?}"));
    assert!(
        before[last..].starts_with("thinking… 1 token, 0 reflections")
            || before[last..].contains(" tokens, 0 reflections"),
        "{raw:?}"
    );
    assert!(
        before[last..].contains("\r\x1b[2K"),
        "the status is erased before the answer: {:?}",
        &before[last..]
    );
    // Redrawn in place: each draw erases the line it replaces. (Its rate, at most one draw per
    // 100 ms, is `pipe::status`'s unit test: here a loaded machine may take longer per token.)
    let draws = before.matches("thinking… ").count();
    let erased = before.matches("\r\x1b[2K\x1b[2mthinking… ").count();
    assert!(
        draws >= 1 && erased == draws,
        "{draws} draws, {erased} in place: {raw:?}"
    );
    let shown = screen(&raw);
    assert!(shown.contains("The answer is 4."), "{shown}");
    assert!(!shown.contains("thinking…"), "nothing of it stays: {shown}");
}

/// A reflection inside the answer: the status line must not come back over the answer's line
/// (its erase would wipe what was printed).
#[test]
fn once_the_answer_has_begun_no_status_is_drawn_over_it() {
    let m = model(vec![
        s("<thinking>"),
        t(" I add."),
        s("</thinking>"),
        s("<output>"),
        t("First half"),
        s("<reflection>"),
        t(" a late check"),
        s("</reflection>"),
        t(" and the rest.\n"),
        s("</output>"),
    ]);
    let path = m.path.to_str().unwrap().to_string();
    let (code, raw) = in_pty(&m, &["-m", &path, "--no-save", "q"]);
    assert_eq!(code, 0, "{raw:?}");
    let answer = raw.find("First half").expect("the answer");
    assert!(
        !raw[answer..].contains("thinking…"),
        "a status after the answer began: {raw:?}"
    );
    let shown = screen(&raw);
    assert!(
        shown.contains("First half") && shown.contains("and the rest."),
        "{shown}"
    );
    assert!(!shown.contains("thinking…"), "{shown}");
}

#[test]
fn with_stderr_piped_no_status_is_written() {
    let m = model(reflection_script());
    for args in [&["what?"][..], &["--format", "json", "what?"][..]] {
        let (code, out, err) = run(&m, args);
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("thinking…"), "{err:?}");
        assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
        assert!(!out.contains("thinking…"), "{out:?}");
    }
}

/// A base model: no reasoning tags as tokens, no chat template.
fn base_model() -> Model {
    let mut sm = reflect::gguf::ScriptedModel::new(vec![t("Paris"), t(" is"), t(" big.")]);
    sm.template = reflect::gguf::TemplateStyle::Missing;
    write(sm)
}

const ADVICE: &str = "reflect: note: this model has no reasoning tags in its vocabulary and no chat template; `reflect models info` recommends --profile plain";

#[test]
fn a_profile_nobody_chose_that_does_not_fit_the_model_is_named_once_with_the_fitting_one() {
    let m = base_model();
    let (_, _, err) = run(&m, &["--no-save", "capital of France?"]);
    assert_eq!(err.matches(ADVICE).count(), 1, "{err}");
    // The same rule as models info.
    let mut info = reflect(m.dir.path());
    info.args(["models", "info"]).arg(&m.path);
    let (code, out, _) = outcome(info);
    assert_eq!(code, 0);
    assert!(
        out.contains("profile        plain (--profile plain)"),
        "{out}"
    );
}

#[test]
fn no_profile_advice_when_the_profile_was_chosen_or_fits() {
    let m = base_model();
    // Chosen by flag, by the environment, by config.toml.
    let (_, _, err) = run(&m, &["--no-save", "--profile", "reflection", "q?"]);
    assert!(!err.contains("recommends"), "{err}");
    let mut cmd = reflect(m.dir.path());
    cmd.env("REFLECT_PROFILE", "reflection")
        .arg("-m")
        .arg(&m.path)
        .args(["--no-save", "q?"]);
    let (_, _, err) = outcome(cmd);
    assert!(!err.contains("recommends"), "{err}");
    let config = m.dir.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "profile = \"reflection\"\n").unwrap();
    let (_, _, err) = run(&m, &["--no-save", "q?"]);
    assert!(!err.contains("recommends"), "{err}");

    // A follow-up goes on with its session's profile: the advice came with the first turn.
    let fresh = base_model();
    let (code, _, err) = run(&fresh, &["q?"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("recommends"), "{err}");
    let (code, _, err) = run(&fresh, &["-c", "and?"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("recommends"), "{err}");

    // The model has the tags (no template): it fits.
    let mut sm = reflect::gguf::ScriptedModel::new(reflection_script());
    sm.template = reflect::gguf::TemplateStyle::Missing;
    let tagged = write(sm);
    let (_, _, err) = run(&tagged, &["--no-save", "q?"]);
    assert!(!err.contains("recommends"), "{err}");
    // No tags, but a chat template: a chat model, no advice.
    let chat = model(vec![t("Paris")]);
    let (_, _, err) = run(&chat, &["--no-save", "q?"]);
    assert!(!err.contains("recommends"), "{err}");
}

/// The demo's thinking on stderr (a pipe): one blank line around the reflection, not three.
#[test]
fn the_demo_shows_its_thinking_with_one_blank_line_around_the_reflection() {
    let dir = Sandbox::new();
    let mut cmd = reflect(dir.path());
    cmd.args(["--demo", "What is 2+2?", "--show-thinking", "--no-save"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "Thinking…\n\
         The user asked me a question, but I am the demo model built into reflect: a tiny scripted network, not a real language model. I could try to answer anyway.\n\
         \n\
         ↺ reflection 1: Wait, that would be wrong. I cannot really answer anything, so the honest reply is to say what I am and how to load a real model.\n\
         \n\
         So I will explain the demo and point to a real model.\n\
         …done thinking.\n\
         \n"
    );
    assert!(out.starts_with("This is reflect's demo model"), "{out:?}");
}

/// The demo's closing advice is one command: `reflect --hf ORG/REPO…`.
#[test]
fn the_demo_ends_with_the_one_command_that_downloads_and_asks_a_real_model() {
    let dir = Sandbox::new();
    let mut cmd = reflect(dir.path());
    cmd.args(["--demo", "hi", "--no-save"]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let last = out.trim_end().lines().last().unwrap_or_default();
    assert_eq!(
        last.trim(),
        "reflect --hf ORG/REPO-GGUF:Q4_K_M \"your question\""
    );
    assert!(!out.contains("download a GGUF file"), "{out}");
    assert!(!out.contains("reflect -m "), "{out}");
}

/// The JSON `thinking` keeps the words around a removed reflection apart.
#[test]
fn json_thinking_keeps_a_space_where_a_reflection_was_taken_out() {
    let m = model(vec![
        s("<thinking>"),
        t("Let me add."),
        s("<reflection>"),
        t("Check."),
        s("</reflection>"),
        t("Done."),
        s("</thinking>"),
        s("<output>"),
        t("4"),
        s("</output>"),
    ]);
    let (code, v, err) = run_json(&m, &["--no-save", "2+2?"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["thinking"], "Let me add. Done.");
    assert_eq!(v["reflections"][0], "Check.");
}
