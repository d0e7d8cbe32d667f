//! End-to-end tests of one-shot mode: the real binary, the real llama.cpp engine, scripted
//! models written by reflect's own GGUF writer.

use crate::common::*;
use reflect::gguf::{ScriptItem, ScriptedModel, TemplateStyle};

#[test]
fn tags_as_special_tokens_route_to_their_channels() {
    let m = model(reflection_script());
    let (code, out, err) = run(&m, &["what is 2+2?"]);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "The answer is 4.\n");
    assert!(
        !err.contains("I add"),
        "thinking must not reach stderr without --show-thinking: {err}"
    );

    let (code, v, _) = run_json(&m, &["what is 2+2?"]);
    assert_eq!(code, 0);
    assert_eq!(v["output"], "The answer is 4.");
    assert_eq!(v["thinking"], "I add 2 and 2.\nSo it is 4.");
    assert_eq!(
        v["reflections"],
        serde_json::json!(["Check: 2+2 is 4, not 5."])
    );
    assert_eq!(v["stop_reason"], "output_closed");
}

#[test]
fn show_thinking_writes_thinking_and_reflections_to_stderr() {
    let m = model(reflection_script());
    let (code, out, err) = run(&m, &["q", "--show-thinking"]);
    assert_eq!(code, 0);
    assert_eq!(out, "The answer is 4.\n");
    assert!(err.contains("I add 2 and 2."), "{err}");
    assert!(
        err.contains("reflection 1: Check: 2+2 is 4, not 5."),
        "{err}"
    );
    assert!(err.contains("So it is 4."), "{err}");
    assert!(
        !err.contains("\x1b["),
        "no colour codes when stderr is not a terminal: {err:?}"
    );
}

#[test]
fn show_thinking_ends_each_reflection_before_the_thinking_goes_on() {
    let m = model(vec![
        s("<thinking>"),
        t("First"),
        s("<reflection>"),
        t("Oops"),
        s("</reflection>"),
        // A token is used once in a scripted model: the second reflection's tags are text.
        t("Second<reflection>Again</reflection>Third"),
        s("</thinking>"),
        s("<output>"),
        t("Done."),
        s("</output>"),
    ]);
    let (code, out, err) = run(&m, &["q", "--show-thinking"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0, "Done.
"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "↺ reflection 1: Oops

Second"
        ) && err.contains(
            "↺ reflection 2: Again

Third"
        ),
        "{err:?}"
    );
    assert!(!err.contains("OopsSecond"), "{err:?}");
    // Into a file (not a terminal), the thinking is marked, as ollama marks it.
    assert!(err.starts_with("Thinking…\nFirst"), "{err:?}");
    assert!(err.ends_with("Third\n…done thinking.\n\n"), "{err:?}");
}

#[test]
fn tags_split_across_plain_text_pieces() {
    let m = model(vec![
        t("<thi"),
        t("nking>Hmm, "),
        t("a < b here.</thin"),
        t("king>\n<out"),
        t("put>Yes"),
        t(", it is.</"),
        t("output>"),
    ]);
    let (code, v, err) = run_json(&m, &["q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["thinking"], "Hmm, a < b here.");
    assert_eq!(v["output"], "Yes, it is.");
    assert_eq!(v["stop_reason"], "output_closed");
}

#[test]
fn a_model_without_tags_answers_with_everything() {
    let m = model(vec![t("Paris"), t(" is the capital"), t(" of France.")]);
    let (code, out, err) = run(&m, &["capital of France?"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Paris is the capital of France.\n");
    let (_, v, _) = run_json(&m, &["q"]);
    assert_eq!(v["stop_reason"], "end_of_turn");
    assert_eq!(v["thinking"], "");
}

#[test]
fn thinking_never_closed_is_no_answer() {
    let m = model(vec![s("<thinking>"), t("I keep"), t(" thinking forever")]);
    let (code, out, err) = run(&m, &["q"]);
    assert_eq!(code, 3, "stdout: {out} stderr: {err}");
    assert_eq!(out, "", "thinking must never be moved into the answer");
    assert!(
        err.contains("no answer") && err.contains("never closed"),
        "{err}"
    );
    let (code, v, _) = run_json(&m, &["q"]);
    assert_eq!(code, 3);
    assert_eq!(v["thinking"], "I keep thinking forever");
    assert_eq!(v["output"], "");
}

#[test]
fn text_after_the_answer_is_not_waited_for() {
    let m = model(vec![
        s("<output>"),
        t("Done."),
        s("</output>"),
        t(" And now some rambling"),
        t(" that must not appear."),
    ]);
    let (code, v, _) = run_json(&m, &["q"]);
    assert_eq!(code, 0);
    assert_eq!(v["output"], "Done.");
    assert_eq!(v["stop_reason"], "output_closed");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    let (_, out, _) = run(&m, &["q"]);
    assert_eq!(out, "Done.\n");
}

#[test]
fn multibyte_characters_split_across_byte_tokens() {
    // é = C3 A9, 世 = E4 B8 96, 🦀 = F0 9F A6 80: every byte a token of its own.
    let mut items = vec![t("caf")];
    items.extend([0xC3, 0xA9].map(ScriptItem::Byte));
    items.push(t(" "));
    items.extend([0xE4, 0xB8, 0x96].map(ScriptItem::Byte));
    items.extend([0xF0, 0x9F, 0xA6, 0x80].map(ScriptItem::Byte));
    let m = model(items);
    let (code, out, _) = run(&m, &["q"]);
    assert_eq!(code, 0);
    assert_eq!(out, "café 世🦀\n");
    let (_, jsonl, _) = run(&m, &["q", "--format", "jsonl"]);
    assert!(
        !jsonl.contains('\u{FFFD}'),
        "no broken characters in deltas: {jsonl}"
    );
}

#[test]
fn json_has_exactly_the_documented_keys() {
    let m = model(reflection_script());
    let (_, v, _) = run_json(&m, &["q", "--seed", "7"]);
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "budget",
            "model",
            "output",
            "profile",
            "reflections",
            "seed",
            "session",
            "steps",
            "stop_reason",
            "thinking",
            "timings",
            "tool_calls",
            "usage"
        ]
    );
    // Without tools: no calls, and one step whose usage is the turn's.
    assert_eq!(v["tool_calls"], serde_json::json!([]));
    assert_eq!(v["steps"], serde_json::json!([v["usage"]]));
    // No budget: what the thinking spent, against no limit.
    let u = &v["usage"];
    assert_eq!(
        v["budget"],
        serde_json::json!({
            "limit": null,
            "used": u["thinking_tokens"].as_u64().unwrap() + u["reflection_tokens"].as_u64().unwrap(),
            "reflection": u["reflection_tokens"],
            "forced": 0,
            "extensions": 0
        })
    );
    assert_eq!(v["seed"], 7, "the seed asked for");
    let tps = v["timings"]["tokens_per_second"].as_f64().unwrap();
    assert_eq!((tps * 100.0).round() / 100.0, tps, "two decimals: {tps}");
    // Without --seed the seed chosen is reported, and repeats the answer.
    let (_, drawn, _) = run_json(&m, &["q"]);
    assert!(drawn["seed"].as_u64().is_some(), "{drawn}");
    let (_, greedy, _) = run_json(&m, &["q", "--temperature", "0"]);
    assert!(greedy["seed"].is_null(), "greedy has no seed");
    assert_eq!(
        keys(&v["usage"]),
        [
            "completion_tokens",
            "output_tokens",
            "prompt_tokens",
            "prompt_tokens_evaluated",
            "reflection_tokens",
            "thinking_tokens"
        ]
    );
    assert_eq!(
        keys(&v["timings"]),
        [
            "first_token_ms",
            "generation_ms",
            "load_ms",
            "prompt_ms",
            "tokens_per_second"
        ]
    );
    assert_eq!(v["model"], "reflect-scripted");
    assert_eq!(v["profile"], "reflection");
    let u = &v["usage"];
    assert_eq!(u["completion_tokens"], 10);
    assert_eq!(u["prompt_tokens"], u["prompt_tokens_evaluated"]);
    assert!(u["prompt_tokens"].as_u64().unwrap() > 50);
    let parts =
        ["thinking_tokens", "reflection_tokens", "output_tokens"].map(|k| u[k].as_u64().unwrap());
    assert_eq!(parts.iter().sum::<u64>(), 10);
    assert!(parts.iter().all(|n| *n > 0), "{u}");
    assert!(v["timings"]["tokens_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn jsonl_streams_deltas_then_done() {
    let m = model(reflection_script());
    let (code, out, _) = run(&m, &["q", "--format", "jsonl"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let (last, deltas) = lines.split_last().expect("lines");
    assert_eq!(last["type"], "done");
    assert_eq!(last["output"], "The answer is 4.");
    assert_eq!(last["stop_reason"], "output_closed");
    let mut by_channel = std::collections::BTreeMap::<String, String>::new();
    for d in deltas {
        assert_eq!(d["type"], "delta");
        if d["channel"] == "reflection" {
            assert_eq!(d["reflection"], 1, "reflection deltas say which: {d}");
            assert_eq!(d.as_object().unwrap().len(), 4, "{d}");
        } else {
            assert_eq!(d.as_object().unwrap().len(), 3, "{d}");
        }
        by_channel
            .entry(d["channel"].as_str().unwrap().to_string())
            .or_default()
            .push_str(d["text"].as_str().unwrap());
    }
    assert_eq!(by_channel["output"], "The answer is 4.");
    assert_eq!(by_channel["reflection"], "Check: 2+2 is 4, not 5.");
    assert_eq!(by_channel["thinking"], "I add 2 and 2.\nSo it is 4.");
}

#[test]
fn print_prompt_shows_template_system_prompt_and_think_carefully() {
    let m = model(reflection_script());
    let (code, out, _) = run(&m, &["what is 2+2?", "--print-prompt"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a world-class AI system"));
    assert!(
        out.contains(
            "<|start_header_id|>user<|end_header_id|>\n\nwhat is 2+2? Think carefully.<|eot_id|>"
        ),
        "{out}"
    );
    assert!(out.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));

    let (_, out, _) = run(
        &m,
        &["what is 2+2?", "--print-prompt", "--no-think-carefully"],
    );
    assert!(out.contains("\n\nwhat is 2+2?<|eot_id|>"), "{out}");
    assert!(!out.contains("Think carefully"));

    let (_, out, _) = run(&m, &["Q. Think carefully.", "--print-prompt"]);
    assert_eq!(
        out.matches("Think carefully.").count(),
        1,
        "never twice: {out}"
    );
}

#[test]
fn stdin_and_arguments_make_one_prompt() {
    let m = model(reflection_script());
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .args(["summarise this", "--print-prompt"])
        .write_stdin("line one\nline two\n")
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.contains("\n\nline one\nline two\n\nsummarise this\nThink carefully.<|eot_id|>"),
        "{out}"
    );
}

#[test]
fn model_path_from_the_environment() {
    let m = model(reflection_script());
    let out = reflect(m.dir.path())
        .env("REFLECT_MODEL", &m.path)
        .arg("q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "The answer is 4.\n");
}

#[test]
fn missing_or_unrecognised_template_falls_back_to_llama3_with_a_warning() {
    for style in [TemplateStyle::Missing, TemplateStyle::Unrecognised] {
        let mut sm = ScriptedModel::new(reflection_script());
        sm.template = style;
        let m = write(sm);
        let (code, out, err) = run(&m, &["q"]);
        assert_eq!(code, 0, "{style:?}: {err}");
        assert_eq!(out, "The answer is 4.\n");
        assert!(
            err.contains("warning") && err.contains("Llama 3 format"),
            "{style:?}: {err}"
        );
        let (_, prompt, _) = run(&m, &["q", "--print-prompt"]);
        assert!(prompt
            .contains("<|start_header_id|>user<|end_header_id|>\n\nq Think carefully.<|eot_id|>"));
    }
}

#[test]
fn exit_codes_for_bad_input() {
    let m = model(reflection_script());
    let dir = m.dir.path();
    let missing = dir.join("nope.gguf");
    let text_file = dir.join("notes.txt");
    std::fs::write(&text_file, "just some text, not a model\n").unwrap();
    let empty = dir.join("empty.gguf");
    std::fs::write(&empty, "").unwrap();
    let table: Vec<(Vec<std::ffi::OsString>, i32, String)> = vec![
        (
            vec!["-m".into(), missing.clone().into(), "q".into()],
            1,
            format!("{}: no such file", missing.display()),
        ),
        (
            vec!["-m".into(), dir.into(), "q".into()],
            1,
            "is a directory".into(),
        ),
        (
            vec!["-m".into(), text_file.clone().into(), "q".into()],
            1,
            "not a GGUF model file".into(),
        ),
        (
            vec!["-m".into(), empty.clone().into(), "q".into()],
            1,
            "empty".into(),
        ),
        (
            vec!["-m".into(), m.path.clone().into()],
            2,
            "no prompt".into(),
        ),
        (
            vec!["-m".into(), m.path.clone().into(), "   ".into()],
            2,
            "no prompt".into(),
        ),
        (vec!["q".into()], 2, "no model given".into()),
        (
            vec![
                "-m".into(),
                m.path.clone().into(),
                "--top-p".into(),
                "7".into(),
                "q".into(),
            ],
            2,
            "outside (0, 1]".into(),
        ),
        (
            vec![
                "-m".into(),
                m.path.clone().into(),
                "--bogus".into(),
                "q".into(),
            ],
            2,
            "--bogus".into(),
        ),
    ];
    for (args, want_code, want_msg) in table {
        let out = reflect(dir).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want_code), "{args:?}: {err}");
        assert!(err.contains(&want_msg), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn invalid_utf8_on_stdin_is_a_usage_error() {
    let m = model(reflection_script());
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .write_stdin(&b"abc\xff\xfe"[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8 (invalid byte at offset 3)")
    );
}

#[test]
fn a_prompt_longer_than_the_context_names_both_numbers() {
    let m = model(reflection_script());
    let long = "word ".repeat(400);
    let (code, out, err) = run(&m, &[&long, "--ctx-size", "256"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    let re_ok = err.contains("but the context holds 256") && err.contains("the prompt is ");
    assert!(re_ok, "{err}");
}

#[test]
fn max_tokens_stops_generation() {
    let m = model(reflection_script());
    let (code, v, _) = run_json(&m, &["q", "--max-tokens", "3"]);
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(code, 3, "the answer was never reached");
}

#[test]
fn greedy_and_sampled_runs_give_the_same_script() {
    let m = model(reflection_script());
    for args in [
        &["q", "--temperature", "0"][..],
        &["q", "--temperature", "0.7", "--top-p", "0.95"],
        &["q", "--temperature", "1.5", "--seed", "1"],
    ] {
        let (code, out, err) = run(&m, args);
        assert_eq!(
            (code, out.as_str()),
            (0, "The answer is 4.\n"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_demo_model_works_out_of_the_box() {
    let cache = Sandbox::new();
    let out = reflect(cache.path())
        .args(["--demo", "hello?", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["output"], reflect::gguf::demo::demo_answer());
    assert_eq!(v["reflections"].as_array().unwrap().len(), 1);
    assert!(v["thinking"].as_str().unwrap().contains("demo model"));
    assert!(
        reflect::gguf::demo::demo_path(cache.path()).is_file(),
        "written to the cache dir"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // ~80 KB of answer: more than a pipe buffer, so writes fail after the reader goes away.
    let items: Vec<ScriptItem> = (0..80)
        .map(|i| t(&format!("{i:04} {}\n", "x".repeat(1000))))
        .collect();
    let m = model(items);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, m.dir.path());
    let mut child = cmd
        .arg("-m")
        .arg(&m.path)
        .arg("q")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 5];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"0000 ");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "quiet: {err}");
}

#[test]
fn damaged_and_foreign_model_files_are_explained() {
    use reflect::gguf::{GgufWriter, Value};
    let m = model(reflection_script());
    let dir = m.dir.path();
    let good = std::fs::read(&m.path).unwrap();

    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();

    // A vocabulary with a duplicate token text: llama.cpp would abort the process on it.
    let dup = dir.join("dup.gguf");
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::Str("llama".into()))
        .kv("tokenizer.ggml.model", Value::Str("llama".into()))
        .kv(
            "tokenizer.ggml.tokens",
            Value::StrArray(vec!["a".into(), "b".into(), "a".into()]),
        );
    w.write_file(&dup).unwrap();

    let foreign = dir.join("foreign.gguf");
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::Str("frobnicator".into()))
        .kv("general.name", Value::Str("Mystery".into()));
    w.write_file(&foreign).unwrap();

    let table = [
        (&truncated, "truncated"),
        (&dup, "token text \"a\" appears twice (ids 0 and 2)"),
        (&foreign, "unknown model architecture: 'frobnicator'"),
    ];
    for (path, want) in table {
        let out = reflect(dir).arg("-m").arg(path).arg("q").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path:?}: {err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains(want),
            "{path:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn ctrl_c_prints_the_answer_so_far_and_exits_130() {
    use std::io::Read;
    let m = slow_words(600);
    let mut child = spawn_piped(&m, &["q"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"w0 w1 ");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&rest)
    );
    assert!(
        all.ends_with('\n'),
        "the partial answer is printed and ended: {all:?}"
    );
    assert!(!all.contains("w599"), "stopped before the end");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn llama_cpp_logs_go_to_the_log_file_never_the_terminal() {
    let m = model(reflection_script());
    let (code, _, err) = run(&m, &["q"]);
    assert_eq!(code, 0);
    assert_eq!(err, "", "nothing on stderr on success");
    let log = m.dir.path().join("reflect.log");
    let (code, out, err) = run(&m, &["q", "--log-file", log.to_str().unwrap()]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "The answer is 4.\n", "")
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("llama"),
        "llama.cpp's lines are in the log: {text}"
    );
    assert!(text.lines().count() > 10);
}

#[test]
fn other_control_tokens_are_never_shown() {
    let m = model(vec![
        s("<output>"),
        t("Visible"),
        s("<|reserved_special_token_7|>"),
        t(" text."),
        s("</output>"),
    ]);
    let (code, out, _) = run(&m, &["q"]);
    assert_eq!(code, 0);
    assert_eq!(out, "Visible text.\n");
}

#[test]
fn an_abort_mid_generation_is_one_clear_line_and_exit_1() {
    use std::io::Read;
    // llama.cpp's abort() raises SIGABRT; raise it from outside, mid-generation.
    let m = slow_words(600);
    let mut child = spawn_piped(&m, &["q"]);
    let mut first = [0u8; 3];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGABRT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("reflect: llama.cpp aborted"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("gdb") && !err.contains("panicked"), "{err}");
}

#[test]
fn options_that_would_be_ignored_together_are_refused_or_honoured() {
    let m = model(reflection_script());
    let (code, _, err) = run(&m, &["--export", "20990101", "--format", "jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--export writes Markdown or JSON"), "{err}");
    let (code, _, err) = run(&m, &["--save-profile", "mine", "what is 2+2?"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--save-profile mine saves the settings and asks nothing"),
        "{err}"
    );
    assert!(
        !m.dir
            .path()
            .join("config/reflect/prompts/mine.toml")
            .exists(),
        "nothing saved"
    );
    let (code, out, err) = run(&m, &["--print-prompt", "--format", "json", "q"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert!(
        v["prompt"]
            .as_str()
            .unwrap()
            .contains("<|start_header_id|>user<|end_header_id|>\n\nq Think carefully."),
        "{v}"
    );
    assert_eq!(v["model"], "reflect-scripted");
}

/// Waits until the pipe `out` reads from (not read from yet) holds as much as it can: the
/// writer is blocked.
/// (`/proc` has no VmHWM for a process that has exited, and `wait4`'s peak includes the
/// forking test process's, so the peak is read while the writer waits.)
#[cfg(target_os = "linux")]
fn wait_pipe_full(out: &std::process::ChildStdout) {
    use std::os::fd::AsRawFd;
    let fd = out.as_raw_fd();
    // SAFETY: F_GETPIPE_SZ and FIONREAD on a pipe descriptor this process owns.
    let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    assert!(
        size > 0,
        "F_GETPIPE_SZ: {}",
        std::io::Error::last_os_error()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut queued: libc::c_int = 0;
        assert_eq!(unsafe { libc::ioctl(fd, libc::FIONREAD, &mut queued) }, 0);
        if queued >= size {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pipe never filled: {queued} of {size} bytes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The peak resident memory (VmHWM, KiB) of `reflect ARGS` in `base`, read while it is blocked
/// writing more than a pipe holds to stdout (its memory since `exec`, unlike `ru_maxrss`, which
/// inherits the forking test process's), and its exit code.
#[cfg(target_os = "linux")]
fn peak_while_writing(base: &std::path::Path, args: &[&str]) -> (i32, u64) {
    use std::io::Read;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, base);
    let mut child = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Once the pipe is full the process is blocked writing to it, its model loaded and its
    // prompt rendered: its peak so far is the peak of its work.
    wait_pipe_full(&stdout);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    (child.wait().unwrap().code().unwrap_or(-1), hwm)
}

#[cfg(target_os = "linux")]
#[test]
fn print_prompt_reads_the_vocabulary_not_the_weights() {
    let dir = Sandbox::new();
    let path = dir.path().join("big.gguf");
    // ~100 MB of f16 weights.
    let spec = reflect::gguf::RandomModelSpec {
        n_embd: 1024,
        n_layer: 4,
        n_ff: 2048,
        n_head: 16,
        n_vocab: 4000,
        ..reflect::gguf::RandomModelSpec::default()
    };
    reflect::gguf::write_random_model(&path, &spec).unwrap();
    let size_kib = std::fs::metadata(&path).unwrap().len() / 1024;
    // A question longer than a pipe holds, so that the prompt blocks on stdout.
    let question = "word ".repeat(20_000);
    let model = path.to_str().unwrap();
    let (code, peak) = peak_while_writing(dir.path(), &["-m", model, "--print-prompt", &question]);
    assert_eq!(code, 0);
    assert!(
        peak < size_kib / 2,
        "--print-prompt peaked at {peak} KiB for a {size_kib} KiB model: it read the weights"
    );
}

#[test]
fn max_tokens_none_lifts_a_profiles_limit_and_seed_random_draws_one() {
    let m = model(reflection_script());
    let profiles = m.dir.path().join("config/reflect/prompts");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(
        profiles.join("short.toml"),
        "name = \"short\"\nextends = \"reflection\"\n[sampling]\nmax_tokens = 3\nseed = 5\n",
    )
    .unwrap();
    let (_, v, err) = run_json(&m, &["--profile", "short", "q"]);
    assert_eq!(v["stop_reason"], "max_tokens", "{err}");
    assert_eq!(v["seed"], 5);
    let (code, v, err) = run_json(
        &m,
        &[
            "--profile",
            "short",
            "--max-tokens",
            "none",
            "--seed",
            "random",
            "q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["stop_reason"], "output_closed");
    assert_ne!(v["seed"], 5, "a drawn seed");
    assert!(v["seed"].as_u64().is_some_and(|s| s < u64::from(u32::MAX)));
    let (code, _, err) = run(&m, &["--max-tokens", "0", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("0 would never answer"), "{err}");
}

#[test]
fn context_sizes_are_checked_rounded_aloud_and_too_large_ones_say_how_much() {
    let m = model(reflection_script());
    let (code, _, err) = run(&m, &["--ctx-size", "10", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("10 tokens is too small: use 256 or more"),
        "{err}"
    );
    assert!(!err.contains("..="), "no Rust notation: {err}");
    // A run that loads the model and answers: the reference for the refusal's time below.
    let ((code, _, err), reference) = timed(|| run(&m, &["--ctx-size", "300", "q"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the context is 512 tokens, not 300"), "{err}");
    // 4 billion tokens: far more than this machine's memory, refused before llama.cpp tries.
    let ((code, _, err), took) = timed(|| run(&m, &["--ctx-size", "4000000000", "q"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("a context of 4000000000 tokens needs about 953.7 GiB for its KV cache"),
        "{err}"
    );
    assert!(err.contains("GiB of memory available"), "{err}");
    assert!(!err.contains("null reference"), "{err}");
    let limit = bound(reference, std::time::Duration::ZERO);
    assert!(took < limit, "took {took:?}, more than {limit:?}");
}

#[test]
fn show_thinking_reports_how_much_of_a_long_prompt_is_read() {
    let m = model(reflection_script());
    let long = "tell me about the numbers one two three four five six seven eight ".repeat(12);
    let (code, out, err) = run(&m, &[&long, "--show-thinking", "--batch-size", "64"]);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    // In a file: a line per quarter, the last at 100%, before the thinking.
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("Reading the prompt"))
        .collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("Reading the prompt… 100% ("),
        "{err}"
    );
    assert!(
        err.find("100%").unwrap() < err.find("I add 2 and 2.").unwrap(),
        "{err}"
    );

    // Without --show-thinking, stderr stays quiet.
    let (_, _, err) = run(&m, &[&long, "--batch-size", "64"]);
    assert!(!err.contains("Reading the prompt"), "{err}");
}

// The command line's shape: subcommands, the prompt beside them, the hidden aliases, help.

/// `reflect ARGS` in the model's sandbox, the model named by REFLECT_MODEL (so that the first
/// word is the test's).
fn bare(m: &Model, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(m.dir.path());
    cmd.env("REFLECT_MODEL", &m.path).args(args);
    outcome(cmd)
}

/// The subcommands, as clap knows them: a new one cannot be missed.
fn subcommands() -> Vec<String> {
    reflect::cli::Args::command_line()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn a_first_word_that_is_no_subcommand_is_the_prompt_and_dash_dash_asks_the_word() {
    let m = model(reflection_script());
    let (code, out, err) = bare(&m, &["why", "is", "the", "sky", "blue", "--print-prompt"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\n\nwhy is the sky blue Think carefully.<|eot_id|>"),
        "{out}"
    );
    // After `--` a subcommand's name is the question.
    let (code, out, err) = bare(&m, &["--print-prompt", "--", "sessions"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\n\nsessions Think carefully.<|eot_id|>"),
        "{out}"
    );
    let (code, out, err) = bare(&m, &["--", "sessions"]);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    let dir = sessions_dir(m.dir.path());
    let saved = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(v["turns"][0]["prompt"], "sessions");
}

/// `reflect -m x eval q.jsonl`: every command written after options is a usage error (exit 2)
/// that shows the right order and asks nothing, and saves nothing; after `--` the word asks.
#[test]
fn a_command_after_options_is_refused_with_the_right_order_unless_dashes_came_first() {
    let m = model(reflection_script());
    let q = m.dir.path().join("q.jsonl");
    std::fs::write(&q, "{\"question\": \"2+2?\", \"answer\": \"4\"}\n").unwrap();
    let q = q.to_str().unwrap();
    let path = m.path.to_str().unwrap();
    for sub in subcommands() {
        let (code, out, err) = outcome({
            let mut c = reflect(m.dir.path());
            c.args(["-m", path, &sub, "x"]);
            c
        });
        assert_eq!((code, out.as_str()), (2, ""), "{sub}: {err}");
        assert!(
            err.contains(&format!("'{sub}' is a command, and a command comes first")),
            "{sub}: {err}"
        );
    }
    // The right order, shown whole when it parses, with the command's own options too.
    let (code, _, err) = outcome({
        let mut c = reflect(m.dir.path());
        c.args(["-m", path, "eval", q, "--out", "r.jsonl"]);
        c
    });
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "before the options:\n  reflect eval {q} --out r.jsonl -m {path}"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "put -- before the question:\n  reflect -m {path} -- eval {q}"
        )),
        "{err}"
    );
    let (code, _, err) = outcome({
        let mut c = reflect(m.dir.path());
        c.args(["--demo", "models", "list"]);
        c
    });
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\n  reflect models list    (the options before it are not its own"),
        "{err}"
    );
    assert!(
        !sessions_dir(m.dir.path()).exists()
            || std::fs::read_dir(sessions_dir(m.dir.path()))
                .unwrap()
                .next()
                .is_none(),
        "nothing was asked, nothing saved"
    );
    // After `--` the command's name is the question's first word.
    let (code, out, err) = outcome({
        let mut c = reflect(m.dir.path());
        c.args(["-m", path, "--print-prompt", "--", "eval", "this"]);
        c
    });
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\n\neval this Think carefully.<|eot_id|>"),
        "{out}"
    );
}

#[test]
fn every_hidden_alias_answers_as_its_subcommand() {
    let m = model(reflection_script());
    let (code, _, err) = run(&m, &["what is 2+2?"]);
    assert_eq!(code, 0, "{err}");
    let id = std::fs::read_dir(sessions_dir(m.dir.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .and_then(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .unwrap();
    let pairs: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--sessions"], vec!["sessions", "list"]),
        (vec!["--export", &id], vec!["sessions", "export", &id]),
        (
            vec!["--export", &id, "--format", "json"],
            vec!["sessions", "export", &id, "--format", "json"],
        ),
        (vec!["--export", &id], vec!["sessions", "show", &id]),
        (vec!["--list-profiles"], vec!["profiles", "list"]),
        (
            vec!["--show-profile", "concise"],
            vec!["profiles", "show", "concise"],
        ),
        (vec!["--list-themes"], vec!["themes", "list"]),
        (vec!["--show-theme"], vec!["themes", "show"]),
        (
            vec!["--show-theme", "light"],
            vec!["themes", "show", "light"],
        ),
    ];
    for (alias, command) in pairs {
        let a = bare(&m, &alias);
        let c = bare(&m, &command);
        assert_eq!(a.0, 0, "{alias:?}: {}", a.2);
        assert!(!a.1.is_empty(), "{alias:?}");
        assert_eq!(a, c, "{alias:?} and {command:?}");
    }
    // Saving: the same file, but for its name.
    let (code, a, err) = bare(&m, &["--save-profile", "one", "--temperature", "0.2"]);
    assert_eq!(code, 0, "{err}");
    let (code, c, err) = bare(&m, &["profiles", "save", "two", "--temperature", "0.2"]);
    assert_eq!(code, 0, "{err}");
    let read = |p: &str| std::fs::read_to_string(p.trim()).unwrap();
    assert_eq!(read(&a).replace("one", "two"), read(&c));
    assert!(read(&c).contains("temperature = 0.2"), "{}", read(&c));
    // Errors name what the user typed.
    let (code, _, err) = bare(&m, &["profiles", "show", "consice"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("reflect: profiles show consice: "), "{err}");
    let (code, _, err) = bare(&m, &["profiles", "save", "a/b"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("profiles save: 'a/b' cannot be a profile name"),
        "{err}"
    );
}

#[test]
fn sessions_rm_and_prune_delete_and_say_so() {
    let m = model(reflection_script());
    for q in ["first", "second", "third"] {
        let (code, _, err) = run(&m, &[q]);
        assert_eq!(code, 0, "{err}");
    }
    let dir = sessions_dir(m.dir.path());
    // By question: ids made in the same second do not sort by time.
    let asked = |p: &std::path::Path| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["turns"][0]["prompt"].as_str().unwrap().to_string()
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort_by_key(|p| {
        ["first", "second", "third"]
            .iter()
            .position(|q| *q == asked(p))
    });
    assert_eq!(files.len(), 3);

    let (code, _, err) = bare(&m, &["sessions", "rm", "nosuch"]);
    assert_eq!(code, 2, "an unknown id is a usage error: {err}");
    assert!(
        err.contains("sessions rm: no saved session 'nosuch'")
            && err.contains("`reflect sessions list` lists them"),
        "{err}"
    );
    let id = files[0].file_stem().unwrap().to_str().unwrap();
    let (code, _, err) = bare(&m, &["sessions", "rm", id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("removed session {id} (first)")),
        "{err}"
    );
    assert!(!files[0].exists());

    // One session last updated long ago.
    let text = std::fs::read_to_string(&files[1]).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["updated"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&files[1], serde_json::to_string(&v).unwrap()).unwrap();
    let (code, _, err) = bare(&m, &["sessions", "prune", "--older-than", "30d"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("removed 1 session last updated more than 30 days ago"),
        "{err}"
    );
    assert!(!files[1].exists() && files[2].exists());
    let (code, _, err) = bare(&m, &["sessions", "prune", "--older-than", "2w"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed 0 sessions"), "{err}");

    for (args, want) in [
        (
            &["sessions", "prune", "--older-than", "30"][..],
            "'30' has no unit",
        ),
        (
            &["sessions", "prune", "--older-than", "0d"][..],
            "would match every session",
        ),
        (&["sessions", "prune"][..], "--older-than <DURATION>"),
        (&["sessions", "rm"][..], "<ID>"),
        (
            &["sessions", "export", "x", "--format", "jsonl"][..],
            "[possible values: md, json]",
        ),
    ] {
        let (code, out, err) = bare(&m, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty() && err.contains(want), "{args:?}: {err}");
    }
    assert!(files[2].exists(), "nothing else removed");
}

#[test]
fn the_short_help_is_one_screen_and_the_long_help_is_all_of_it() {
    let m = model(reflection_script());
    let (code, short, _) = bare(&m, &["-h"]);
    assert_eq!(code, 0);
    assert!(short.lines().count() <= 24, "{short}");
    assert!(
        short.contains("Usage: reflect [OPTIONS] [PROMPT]..."),
        "{short}"
    );
    assert!(short.contains("Examples:"), "{short}");
    assert!(!short.contains("--top-k"), "{short}");
    let (code, long, _) = bare(&m, &["--help"]);
    assert_eq!(code, 0);
    assert!(long.lines().count() > 100, "{long}");
    for want in [
        "--top-k",
        "--gpu-layers",
        "--no-save",
        "Exit codes:",
        "Examples:",
    ] {
        assert!(long.contains(want), "{want}: {long}");
    }
    for sub in subcommands() {
        assert!(short.contains(&sub) && long.contains(&sub), "{sub}");
    }
    for hidden in [
        "--sessions",
        "--export",
        "--list-profiles",
        "--show-profile",
        "--save-profile",
        "--list-themes",
        "--show-theme",
    ] {
        assert!(!long.contains(hidden), "{hidden} is hidden: {long}");
        assert!(!short.contains(hidden), "{hidden} is hidden: {short}");
    }
    // Subcommands keep their own help.
    let (code, out, _) = bare(&m, &["sessions", "-h"]);
    assert_eq!(code, 0);
    for sub in ["list", "show", "export", "rm", "prune"] {
        assert!(out.contains(sub), "{sub}: {out}");
    }
}

#[test]
fn completions_for_every_shell_list_every_subcommand() {
    use clap::ValueEnum;
    let m = model(reflection_script());
    for shell in clap_complete::Shell::value_variants() {
        let name = shell.to_possible_value().unwrap().get_name().to_string();
        let (code, out, err) = bare(&m, &["completions", &name]);
        assert_eq!(code, 0, "{name}: {err}");
        for sub in subcommands() {
            assert!(out.contains(&sub), "{name} completions lack {sub}");
        }
        assert!(out.contains("prune"), "{name}: nested subcommands too");
    }
}

/// The man page's text with roff's escapes and fonts undone.
fn man_text(roff: &str) -> String {
    roff.replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "")
        .replace("\\-", "-")
        .replace("\\(aq", "'")
        .replace("\\*(Aq", "'")
        .replace("\\&", "")
        .replace("\\e", "\\")
}

/// The lines of section `name` of a man page (`.SH name` to the next `.SH`).
fn man_section(roff: &str, name: &str) -> Vec<String> {
    let text = man_text(roff);
    let heading = |l: &str| {
        l.strip_prefix(".SH ")
            .map(|h| h.trim_matches('"').to_string())
    };
    text.lines()
        .skip_while(|l| heading(l).as_deref() != Some(name))
        .skip(1)
        .take_while(|l| heading(l).is_none())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_man_page_describes_every_subcommand_in_its_commands_section() {
    let m = model(reflection_script());
    let (code, out, err) = bare(&m, &["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(".TH reflect"), "roff: {out}");
    let commands = man_section(&out, "COMMANDS");
    for sub in subcommands() {
        let prefix = format!("reflect {sub}");
        let entry = commands
            .iter()
            .position(|l| l == &prefix || l.starts_with(&format!("{prefix} ")));
        let entry = entry.unwrap_or_else(|| panic!("COMMANDS lacks {sub}: {commands:#?}"));
        // Its description follows on the next line.
        assert!(
            commands.get(entry + 1).is_some_and(|l| !l.starts_with('.')),
            "{sub} has no description: {commands:#?}"
        );
    }
    assert!(
        man_section(&out, "EXIT STATUS")
            .concat()
            .contains("Exit codes: 0 answered"),
        "{out}"
    );
}

/// `reflect models info FILE` on scripted files whose facts are known.
#[test]
fn models_info_describes_a_file_without_loading_its_weights() {
    let info = |m: &Model| {
        let (code, out, err) = outcome({
            let mut c = reflect(m.dir.path());
            c.args(["models", "info"]).arg(&m.path);
            c
        });
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| {
                let (k, v) = l.split_at(15);
                (k.trim().to_string(), v.to_string())
            })
            .collect::<std::collections::HashMap<_, _>>()
    };
    // Reflection's six tags as special tokens, Llama 3's template.
    let m = model(reflection_script());
    let r = info(&m);
    assert_eq!(r["model"], "reflect-scripted (llama)");
    assert_eq!(r["chat template"], "llama3 (llama.cpp's built-in)");
    assert_eq!(
        r["tags as tokens"],
        "<thinking> </thinking> <reflection> </reflection> <output> </output>"
    );
    assert_eq!(r["profile"], "reflection (--profile reflection)");
    assert_eq!(r["context"], "4096 tokens trained; 4096 by default");
    assert!(
        r["weights"].starts_with("F32 (the most common tensor type"),
        "{r:?}"
    );
    assert!(r["memory"].starts_with("about "), "{r:?}");
    assert!(r["memory"].contains("at 4096 tokens: weights "), "{r:?}");
    // A 0.3 MiB file, in the unit `models list` uses too.
    assert!(r["file"].ends_with(" KiB)"), "{r:?}");

    // <think> tags, and no template at all.
    let mut sm =
        reflect::gguf::ScriptedModel::new(vec![s("<think>"), t("hm"), s("</think>"), t("4")]);
    sm.template = reflect::gguf::TemplateStyle::Missing;
    let m = write(sm);
    let r = info(&m);
    assert_eq!(r["tags as tokens"], "<think> </think>");
    assert_eq!(r["profile"], "think (--profile think)");
    assert_eq!(
        r["chat template"],
        "none (reflect uses the Llama 3 format, llama.cpp's llama3: the vocabulary has its header tokens)"
    );

    // Not a model: the pre-check's message, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.gguf");
    std::fs::write(&bad, "hello").unwrap();
    let (code, _, err) = outcome({
        let mut c = reflect(dir.path());
        c.args(["models", "info"]).arg(&bad);
        c
    });
    assert_eq!(code, 2);
    assert!(err.contains("notes.gguf: not a GGUF model file"), "{err}");
}

#[test]
fn a_q8_0_model_written_here_loads_and_is_described_as_q8_0() {
    let dir = Sandbox::new();
    let path = dir.path().join("q8.gguf");
    let spec = reflect::gguf::RandomModelSpec {
        weight_type: reflect::gguf::GgufType::Q8_0,
        ..reflect::gguf::RandomModelSpec::semantic()
    };
    reflect::gguf::write_random_model(&path, &spec).unwrap();
    let mut cmd = reflect(dir.path());
    cmd.args([
        "-m",
        path.to_str().unwrap(),
        "--profile",
        "plain",
        "--max-tokens",
        "8",
        "--format",
        "json",
        "hello",
    ]);
    let (code, out, err) = outcome(cmd);
    // A random model may end its turn at once (exit 3, no answer): it loaded and ran either way.
    assert!(code == 0 || code == 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0, "{v}");
    let mut cmd = reflect(dir.path());
    cmd.args(["models", "info", path.to_str().unwrap()]);
    let (code, info, _) = outcome(cmd);
    assert_eq!(code, 0);
    assert!(info.contains("weights        Q8_0"), "{info}");
}

/// The man page's synopsis gives each option with its value (`[-m|--model <PATH>]`), a
/// short-only flag without a stray space, and a line per command; the page refers to no page
/// that does not exist (there is one page, reflect(1)).
#[test]
fn the_man_page_synopsis_shows_option_values_and_no_missing_page_is_referred_to() {
    let m = model(reflection_script());
    let (code, out, err) = bare(&m, &["man"]);
    assert_eq!(code, 0, "{err}");
    let synopsis = man_section(&out, "SYNOPSIS").join("\n");
    for want in [
        "[-m|--model <PATH>]",
        "[--hf <ORG/REPO[:QUANT]>]",
        "[-h]",
        "[--show-thinking]",
        "reflect sessions show",
        "reflect sessions prune --older-than <DURATION>",
        "reflect completions <SHELL>",
        "reflect man",
    ] {
        assert!(synopsis.contains(want), "{want} not in {synopsis}");
    }
    assert!(!synopsis.contains("[-h ]"), "{synopsis}");
    assert!(!synopsis.contains("[-m|--model]"), "{synopsis}");
    let text = man_text(&out);
    assert!(
        !text.contains("(1)"),
        "no reference to another page: {text}"
    );
    for sub in subcommands() {
        assert!(!text.contains(&format!("reflect-{sub}")), "{sub}: {text}");
    }
    // groff reads it without a warning, where groff is installed.
    let groff = std::process::Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut child) = groff {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(out.as_bytes())
            .unwrap();
        let done = child.wait_with_output().unwrap();
        assert!(done.status.success(), "groff failed");
        let warnings = String::from_utf8_lossy(&done.stderr);
        assert!(warnings.trim().is_empty(), "groff: {warnings}");
    }
}

/// The sampling defaults are stated once (`SamplingSettings::DEFAULT`): `--help`, every
/// command's, and the README's flag table say what it says.
#[test]
fn help_and_readme_state_the_one_set_of_sampling_defaults() {
    let d = reflect::llm::SamplingSettings::DEFAULT;
    let shown = |v: f32| {
        let s = v.to_string();
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    };
    let want = [
        ("temperature", shown(d.temperature)),
        ("top_p", shown(d.top_p)),
        ("top_k", d.top_k.to_string()),
        ("min_p", shown(d.min_p)),
        ("repeat_penalty", shown(d.repeat_penalty)),
        ("seed", d.seed.map_or("random".into(), |s| s.to_string())),
    ];
    let cmd = reflect::cli::Args::command_line();
    let mut seen = Vec::new();
    for c in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
        for a in c.get_arguments() {
            let Some((id, value)) = want.iter().find(|(id, _)| a.get_id() == *id) else {
                continue;
            };
            let help = a.get_long_help().or(a.get_help()).map(|h| h.to_string());
            let help = help.unwrap_or_default();
            assert!(
                help.contains(&format!("else {value}]")),
                "{} --{id}: {help}",
                c.get_name()
            );
            seen.push(*id);
        }
    }
    for (id, _) in &want {
        assert!(seen.contains(id), "no --{id} in the help");
    }
    let readme = include_str!("../../README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `--temperature T`"))
        .expect("the README's sampling row");
    let values: Vec<&str> = want.iter().map(|(_, v)| v.as_str()).collect();
    assert!(row.contains(&format!("| {} |", values.join(", "))), "{row}");
}
