//! End-to-end tests of saved sessions in pipe mode: the real binary and llama.cpp engine on
//! scripted models; save after every turn, --continue / --session with KV-cache reuse across
//! processes, --sessions, --export, history policies in --print-prompt, interrupted and killed
//! runs, broken session files, and what the session commands say.

use crate::common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn session_files(m: &Model) -> Vec<PathBuf> {
    let dir = sessions_dir(m.dir.path());
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|e| e.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "json"));
    v.sort();
    v
}

fn read_session(m: &Model, id: &str) -> serde_json::Value {
    let path = sessions_dir(m.dir.path()).join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn usage(v: &serde_json::Value, key: &str) -> u64 {
    v["usage"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("usage.{key} in {v}"))
}

fn kv_dir(m: &Model) -> PathBuf {
    m.dir.path().join("reflect").join("kv")
}

#[test]
fn turns_are_saved_continued_with_cache_reuse_listed_and_exported() {
    let m = model(reflection_script());
    let (code, first, err) = run_json(&m, &["--temperature", "0", "What is 2+2?"]);
    assert_eq!(code, 0, "{err}");
    let id = first["session"].as_str().expect("session id").to_string();
    let files = session_files(&m);
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "session files are private");
        // So are the KV state and its memo, which hold the conversation too.
        let kv = kv_dir(&m);
        let dir_mode = std::fs::metadata(&kv).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700, "{}", kv.display());
        let mut kinds = Vec::new();
        for f in std::fs::read_dir(&kv).unwrap() {
            let path = f.unwrap().path();
            let ext = path.extension().unwrap().to_string_lossy().into_owned();
            if ext == "state" || ext == "memo" {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
                kinds.push(ext);
            }
        }
        kinds.sort();
        assert_eq!(kinds, ["memo", "state"]);
    }
    let saved = read_session(&m, &id);
    assert_eq!(saved["turns"][0]["prompt"], "What is 2+2?");
    assert_eq!(
        saved["turns"][0]["answer"].as_str().unwrap().trim(),
        "The answer is 4."
    );
    assert_eq!(saved["turns"][0]["state"], "done");

    // Turn 2 in a new process: the KV cache of turn 1 is restored, so only what follows
    // turn 1's prompt is decoded.
    let (code, second, err) = run_json(&m, &["--continue", "--temperature", "0", "And 3+3?"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(second["session"], id.as_str());
    let p1 = usage(&first, "prompt_tokens");
    let p2 = usage(&second, "prompt_tokens");
    assert!(p2 > p1);
    assert_eq!(
        usage(&second, "prompt_tokens_evaluated"),
        p2 - p1,
        "turn 2 decodes only the tokens after turn 1's prompt: {second}"
    );

    // Without the state files every token is decoded again, and the answer is the same.
    std::fs::remove_dir_all(kv_dir(&m)).unwrap();
    let (code, third, err) = run_json(
        &m,
        &["--session", &id[..15], "--temperature", "0", "And 4+4?"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        usage(&third, "prompt_tokens_evaluated"),
        usage(&third, "prompt_tokens")
    );
    assert_eq!(third["output"], "The answer is 4.");
    let saved = read_session(&m, &id);
    let prompts: Vec<&str> = saved["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["What is 2+2?", "And 3+3?", "And 4+4?"]);
    assert_eq!(session_files(&m).len(), 1, "one session, three turns");

    let (code, list, err) = run(&m, &["--sessions"]);
    assert_eq!(code, 0, "{err}");
    let line = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains("3 turns") && line.ends_with("What is 2+2?"),
        "{line}"
    );
    assert!(list.starts_with("ID "), "a header: {list}");

    let md_path = m.dir.path().join("out.md");
    let (code, _, err) = run(&m, &["--export", &id, "--to", md_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert_eq!(md.matches("### Thinking").count(), 3, "{md}");
    assert_eq!(md.matches("### Reflection 1").count(), 3, "{md}");
    assert_eq!(md.matches("### Output").count(), 3, "{md}");
    assert!(md.contains("Check: 2+2 is 4, not 5."), "{md}");
    let (code, stdout_md, _) = run(&m, &["--export", &id]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout_md, md,
        "--to - (the default) writes the same to stdout"
    );
    let (code, json, _) = run(&m, &["--export", &id, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["turns"].as_array().unwrap().len(), 3);
}

#[test]
fn history_policy_decides_what_the_next_prompt_holds() {
    let m = model(reflection_script());
    let (code, first, err) = run_json(&m, &["--temperature", "0", "Q1"]);
    assert_eq!(code, 0, "{err}");
    let id = first["session"].as_str().unwrap().to_string();
    let full = m.dir.path().join("full.toml");
    std::fs::write(&full, "extends = \"reflection\"\nhistory = \"full\"\n").unwrap();

    let (code, answer_only, err) = run(&m, &["--session", &id, "--print-prompt", "Q2"]);
    assert_eq!(code, 0, "{err}");
    let (code, everything, err) = run(
        &m,
        &[
            "--session",
            &id,
            "--print-prompt",
            "--profile",
            full.to_str().unwrap(),
            "Q2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for prompt in [&answer_only, &everything] {
        assert!(prompt.contains("Q1"), "{prompt}");
        assert!(
            prompt.contains("<output>\nThe answer is 4.\n</output>"),
            "{prompt}"
        );
        assert!(prompt.contains("Q2"), "{prompt}");
    }
    assert!(!answer_only.contains("I add 2 and 2"), "{answer_only}");
    // The full history shows the turn exactly as the model generated it.
    assert!(
        everything.contains(
            "<thinking>\nI add 2 and 2.<reflection>\nCheck: 2+2 is 4, not 5.</reflection>"
        ),
        "{everything}"
    );
    assert_eq!(
        read_session(&m, &id)["turns"].as_array().unwrap().len(),
        1,
        "--print-prompt saves nothing"
    );
}

#[test]
fn full_history_continued_in_a_new_process_decodes_only_the_new_message() {
    let m = model(reflection_script());
    let full = m.dir.path().join("full.toml");
    std::fs::write(&full, "extends = \"reflection\"\nhistory = \"full\"\n").unwrap();
    let profile = full.to_str().unwrap();
    let (code, first, err) = run_json(&m, &["--profile", profile, "--temperature", "0", "Q1"]);
    assert_eq!(code, 0, "{err}");
    let (p1, c1) = (
        usage(&first, "prompt_tokens"),
        usage(&first, "completion_tokens"),
    );
    let memo = std::fs::read_dir(kv_dir(&m))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "memo"))
        .expect("a .memo file beside the state file");

    // The prompt of turn 2 holds turn 1 as generated; its tokens are those the model
    // generated (from the memo), so the restored cache covers all of turn 1 but its last token
    // (`</output>`, sampled but not decoded: generation stops right after it).
    let follow_up = |q: &str| {
        run_json(
            &m,
            &["--continue", "--profile", profile, "--temperature", "0", q],
        )
    };
    let (code, second, err) = follow_up("Q2");
    assert_eq!(code, 0, "{err}");
    let p2 = usage(&second, "prompt_tokens");
    assert_eq!(
        p2 - usage(&second, "prompt_tokens_evaluated"),
        p1 + c1 - 1,
        "turn 2 reuses turn 1's prompt and answer: {second}"
    );
    assert_eq!(second["output"], "The answer is 4.");

    // A damaged memo is not used: the text is tokenized again (more tokens: this vocabulary
    // spells the answer's text in bytes), and the answer is the same. Damaged: not JSON, or
    // well-formed with the right tokens but a text they do not spell.
    let growth = p2 - p1;
    let mut before = second;
    let wrong_text = |json: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
        let text = v["text"].as_array_mut().expect("text as bytes");
        *text.last_mut().unwrap() = serde_json::json!(b'!');
        serde_json::to_vec(&v).unwrap()
    };
    for (question, damage) in [
        (
            "Q3",
            &(|_: &[u8]| b"{\"text\": [1, 2".to_vec()) as &dyn Fn(&[u8]) -> Vec<u8>,
        ),
        ("Q4", &wrong_text),
    ] {
        let saved = std::fs::read(&memo).expect("a memo from the previous turn");
        std::fs::write(&memo, damage(&saved)).unwrap();
        let (code, after, err) = follow_up(question);
        assert_eq!(code, 0, "{err}");
        assert_eq!(after["output"], "The answer is 4.");
        assert!(
            usage(&after, "prompt_tokens") > usage(&before, "prompt_tokens") + growth,
            "{question}: re-tokenized: {after} after {before}"
        );
        before = after;
    }
}

#[test]
fn no_save_writes_nothing_and_continue_needs_a_session() {
    let m = model(reflection_script());
    let (code, v, err) = run_json(&m, &["--no-save", "Q"]);
    assert_eq!(code, 0, "{err}");
    assert!(v["session"].is_null());
    assert!(session_files(&m).is_empty());
    let (code, _, err) = run(&m, &["--continue", "Q2"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no saved sessions yet") && err.contains("without --continue"),
        "{err}"
    );
    let (code, _, err) = run(&m, &["--session", "nope", "Q2"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no saved session 'nope'") && err.contains("`reflect sessions list`"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let (code, out, err) = run(&m, &["--sessions"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("no saved sessions yet"), "{err}");
}

#[test]
fn a_broken_session_file_is_named_and_the_others_keep_working() {
    let m = model(reflection_script());
    let (code, first, err) = run_json(&m, &["Q1"]);
    assert_eq!(code, 0, "{err}");
    let id = first["session"].as_str().unwrap().to_string();
    let broken = sessions_dir(m.dir.path()).join("20990101-000000-dead.json");
    std::fs::write(&broken, "{\"version\": 1, \"turns\": [tru").unwrap();

    let (code, list, err) = run(&m, &["--sessions"]);
    assert_eq!(code, 2, "a broken file makes the listing exit 2");
    assert!(list.contains(&id), "{list}");
    assert!(
        err.contains("20990101-000000-dead.json") && err.contains("line 1"),
        "{err}"
    );
    // --continue stops: the broken file is the latest (sessions_follow_up.rs); --session
    // still opens the others.
    let (code, _, err) = run(&m, &["--continue", "Q2"]);
    assert_eq!(code, 2, "{err}");
    let (code, v, err) = run_json(&m, &["--session", &id, "Q2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["session"], id.as_str());
    let (code, _, err) = run(&m, &["--session", "20990101", "Q3"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("20990101-000000-dead.json") && err.contains("fix or delete it"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Waits until `path` parses as a session with `turns` turns.
fn wait_turns(m: &Model, id: &str, turns: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = sessions_dir(m.dir.path()).join(format!("{id}.json"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["turns"].as_array().unwrap().len() == turns {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no session {id} with {turns} turns"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the child's stdout until `needle` has appeared.
fn read_until(child: &mut std::process::Child, needle: &str) -> String {
    use std::io::Read;
    let out = child.stdout.as_mut().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = out.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "output ended before {needle:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[cfg(unix)]
#[test]
fn an_interrupted_turn_is_saved_and_the_conversation_continues() {
    let m = slow_words(400);
    let (code, first, err) = run_json(&m, &["--max-tokens", "5", "first"]);
    assert_eq!(code, 0, "untagged text is the answer: {err}");
    let id = first["session"].as_str().unwrap().to_string();

    let mut child = spawn_piped(&m, &["--continue", "second"]);
    read_until(&mut child, "w20 ");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let saved = read_session(&m, &id);
    let turn = &saved["turns"][1];
    assert_eq!(turn["state"], "interrupted");
    assert_eq!(turn["stop_reason"], "cancelled");
    assert!(turn["answer"].as_str().unwrap().contains("w20"), "{turn}");

    let (code, third, err) = run_json(&m, &["--continue", "--max-tokens", "3", "third"]);
    assert_eq!(code, 0, "untagged text is the answer: {err}");
    assert_eq!(third["session"], id.as_str());
    wait_turns(&m, &id, 3);
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_in_pipe_mode_print_the_partial_answer_and_save_the_turn() {
    use std::io::Read;
    for (signal, want) in [
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
        (libc::SIGINT, 130),
    ] {
        let m = slow_words(400);
        let mut child = spawn_piped(&m, &["go"]);
        let mut printed = read_until(&mut child, "w20 ");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let mut rest = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        printed.push_str(&rest);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "signal {signal}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            printed.ends_with('\n') && !printed.contains("w399"),
            "signal {signal}: the partial answer, ended: {printed:?}"
        );
        let files = session_files(&m);
        assert_eq!(files.len(), 1, "signal {signal}: the turn is saved");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
        let turn = &saved["turns"][0];
        assert_eq!(turn["state"], "interrupted", "signal {signal}: {turn}");
        assert_eq!(turn["stop_reason"], "cancelled");
        let answer = turn["answer"].as_str().unwrap();
        assert!(
            answer.contains("w20") && printed.trim_end().ends_with(answer.trim_end()),
            "signal {signal}: saved {answer:?}, printed {printed:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn kill_9_during_a_turn_keeps_the_earlier_turns() {
    let m = slow_words(400);
    let (code, first, err) = run_json(&m, &["--max-tokens", "5", "first"]);
    assert_eq!(code, 0, "untagged text is the answer: {err}");
    let id = first["session"].as_str().unwrap().to_string();
    let before = std::fs::read(sessions_dir(m.dir.path()).join(format!("{id}.json"))).unwrap();

    let mut child = spawn_piped(&m, &["--continue", "second"]);
    read_until(&mut child, "w10 ");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let after = std::fs::read(sessions_dir(m.dir.path()).join(format!("{id}.json"))).unwrap();
    assert_eq!(before, after, "the saved turns are untouched");
    let (code, list, _) = run(&m, &["--sessions"]);
    assert_eq!(code, 0);
    assert!(list.contains("1 turn "), "{list}");
}

#[test]
fn exporting_to_an_unwritable_place_says_where() {
    let m = model(reflection_script());
    let (code, first, _) = run_json(&m, &["Q"]);
    assert_eq!(code, 0);
    let id = first["session"].as_str().unwrap();
    let target = m.dir.path().join("model.gguf").join("x.md");
    let (code, _, err) = run(&m, &["--export", id, "--to", target.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&target.display().to_string()), "{err}");
}

#[test]
fn a_damaged_cache_file_only_costs_speed() {
    let m = model(reflection_script());
    let (code, _, err) = run_json(&m, &["--temperature", "0", "Q1"]);
    assert_eq!(code, 0, "{err}");
    let states: Vec<PathBuf> = std::fs::read_dir(kv_dir(&m))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "state"))
        .collect();
    assert_eq!(states.len(), 1, "{states:?}");
    let good = std::fs::read(&states[0]).unwrap();
    let mut meta = states[0].clone().into_os_string();
    meta.push(".meta");
    let good_meta = std::fs::read(&meta).unwrap();
    // llama.cpp aborts on a truncated state file; reflect must never hand it one.
    let damages: [(&[u8], Option<&[u8]>); 4] = [
        (&good[..good.len() / 2], None),
        (b"not a state file", None),
        (&[], None),
        (&good, Some(b"garbage")),
    ];
    for (state, meta_text) in damages {
        std::fs::write(&states[0], state).unwrap();
        std::fs::write(&meta, meta_text.unwrap_or(&good_meta)).unwrap();
        let (code, v, err) = run_json(&m, &["--continue", "--temperature", "0", "Q2"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(v["output"], "The answer is 4.");
        assert_eq!(
            usage(&v, "prompt_tokens_evaluated"),
            usage(&v, "prompt_tokens")
        );
    }
    // And an intact one is used.
    let (code, v, err) = run_json(&m, &["--continue", "--temperature", "0", "Q3"]);
    assert_eq!(code, 0, "{err}");
    assert!(usage(&v, "prompt_tokens_evaluated") < usage(&v, "prompt_tokens"));
}

#[test]
fn a_continued_conversation_that_outgrows_the_context_leaves_out_old_turns() {
    let m = model(reflection_script());
    let long = "word ".repeat(100);
    let (code, first, err) = run_json(&m, &["--system", "", "--temperature", "0", &long]);
    assert_eq!(code, 0, "{err}");
    assert!(usage(&first, "prompt_tokens") > 256, "{first}");
    // Turn 1 alone is longer than llama.cpp's smallest context (256): it must be left out.
    let (code, second, err) = run_json(
        &m,
        &[
            "--continue",
            "--system",
            "",
            "--ctx-size",
            "256",
            "--max-tokens",
            "12",
            "--temperature",
            "0",
            "Q2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no longer fits the context (256 tokens): left out the 1 oldest turn"),
        "{err}"
    );
    assert_eq!(second["output"], "The answer is 4.");
    assert!(usage(&second, "prompt_tokens") < 64, "{second}");
    // The saved session keeps every turn: leaving out is for the model's prompt only.
    let id = first["session"].as_str().unwrap();
    assert_eq!(read_session(&m, id)["turns"].as_array().unwrap().len(), 2);
}

#[test]
fn resume_needs_a_terminal_and_says_what_to_use_instead() {
    let m = model(reflection_script());
    let (code, _, err) = run(&m, &["--resume"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--resume opens the full-screen chat") && err.contains("--session ID"),
        "{err}"
    );
    let (code, _, err) = run(&m, &["--continue", "--session", "x", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
}

/// `reflect ARGS` (no `-m` added), sealed into the model's sandbox.
fn bare(m: &Model, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(m.dir.path());
    cmd.args(args);
    outcome(cmd)
}

#[test]
fn session_commands_say_durations_with_a_space_and_point_to_sessions_list() {
    let m = model(reflection_script());
    for (age, words) in [
        ("1d", "1 day"),
        ("30d", "30 days"),
        ("2w", "2 weeks"),
        ("1h", "1 hour"),
    ] {
        let (code, _, err) = bare(&m, &["sessions", "prune", "--older-than", age]);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(&format!("last updated more than {words} ago")),
            "{age}: {err}"
        );
    }
    for args in [
        &["sessions", "show", "nope"][..],
        &["sessions", "export", "nope"],
    ] {
        let (code, _, err) = bare(&m, args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("no saved session 'nope'") && err.contains("`reflect sessions list`"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("--sessions"),
            "{args:?}: a hidden flag: {err}"
        );
    }
}

#[test]
fn export_refuses_a_missing_directory_and_writes_private_files() {
    let m = model(reflection_script());
    let (code, first, err) = run_json(&m, &["Q"]);
    assert_eq!(code, 0, "{err}");
    let id = first["session"].as_str().unwrap();
    let missing = m.dir.path().join("no").join("such");
    let target = missing.join("x.md");
    let (code, _, err) = bare(
        &m,
        &["sessions", "export", id, "--to", target.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("does not exist"),
        "{err}"
    );
    assert!(!m.dir.path().join("no").exists(), "no directory made");

    let target = m.dir.path().join("x.md");
    std::fs::write(&target, "an older export").unwrap();
    let (code, _, err) = bare(
        &m,
        &["sessions", "export", id, "--to", target.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("### Output"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "as private as the session");
    }
}

#[test]
fn the_markdown_export_keeps_the_thinkings_line_breaks() {
    let m = model(vec![
        s("<thinking>"),
        t("\nFirst I read the question.\nThen I add."),
        s("<reflection>"),
        t("\nNo wait.\nIt is 4."),
        s("</reflection>"),
        t("\nDone.\n"),
        s("</thinking>"),
        s("<output>"),
        t("\nThe answer is 4.\n"),
        s("</output>"),
    ]);
    let (code, first, err) = run_json(&m, &["line one\nline two"]);
    assert_eq!(code, 0, "{err}");
    let id = first["session"].as_str().unwrap();
    let (code, md, err) = bare(&m, &["sessions", "show", id]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "> line one  \n> line two\n",
        "### Thinking\n\nFirst I read the question.  \nThen I add.  \nDone.\n",
        "### Reflection 1\n\nNo wait.  \nIt is 4.\n",
    ] {
        assert!(md.contains(want), "{want:?} in\n{md}");
    }
}
