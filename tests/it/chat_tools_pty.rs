//! The chat's tool calls end to end: the real binary in a pseudo-terminal, working in a
//! workspace of its own. Its model is mostly the fault-injection server as an endpoint, playing
//! a model that calls the tools a test names (one a step) and then answers with the last tool
//! result it was given; and the `gguf::agent` scripted models on the real llama.cpp engine.
//! The approval prompt (y, a, n with a reason, Esc), cancelling a running command, the call
//! block, and a call inside the thinking that never asks.

use crate::common::fake_server::*;
use crate::common::*;
use crate::tui_pty::{saved_sessions, start_at, wait_idle, Session};
use reflect::gguf::agent;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// A `delta.tool_calls` chunk.
fn call_delta(fragments: Value) -> Value {
    chunk(
        json!({"choices":[{"index":0,"delta":{"tool_calls":fragments},"logprobs":null,"finish_reason":null}]}),
    )
}

/// The tool results of the turn a request continues (after its last user message).
pub(crate) fn results(req: &Request) -> Vec<String> {
    let body = req.json();
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let from = msgs.iter().rposition(|m| m["role"] == "user").unwrap_or(0);
    msgs[from..]
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A model that makes `calls`, one a step, then answers `Model saw: <the last result>`.
pub(crate) fn agent(calls: Vec<(&'static str, Value)>) -> FakeServer {
    FakeServer::start(move |req, _| {
        let got = results(req);
        match calls.get(got.len()) {
            Some((name, args)) => Reply::events(&[
                reasoning("reasoning_content", "A tool will tell."),
                call_delta(json!([{
                    "index": 0,
                    "id": format!("call_{}", got.len()),
                    "type": "function",
                    "function": {"name": name, "arguments": args.to_string()},
                }])),
                finish("tool_calls"),
                usage(40, 10),
            ]),
            None => {
                let last = got.last().map_or("nothing", String::as_str);
                // One line: what the chat shows is easy to find.
                let said = last.replace('\n', " ");
                Reply::events(&[
                    content(&format!("Model saw: {said}")),
                    finish("stop"),
                    usage(50, 5),
                ])
            }
        }
    })
}

/// The chat on `server`, in workspace `ws`, with tools turned on.
fn chat(server: &FakeServer, ws: &Path) -> (Model, Session) {
    let m = model(reflection_script());
    let url = server.url();
    let mut s = start_at(&m, &["--endpoint", &url], &[], Some(ws));
    wait_idle(&s);
    s.send(b"/tools on\r");
    s.wait_text("Tools on");
    (m, s)
}

fn workspace() -> Sandbox {
    Sandbox::new()
}

/// Waits until `pred` holds, failing after a minute (a hang guard, not a speed limit).
fn eventually(what: &str, pred: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn end(mut s: Session) {
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn y_runs_the_write_only_after_the_keypress() {
    let ws = workspace();
    let out = ws.path().join("out.txt");
    let server = agent(vec![(
        "write_file",
        json!({"path": "out.txt", "content": "hi\n"}),
    )]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"write hi to out.txt\r");
    let screen = s.wait_text("Allow write_file?");
    assert!(screen.contains("⚙ write_file"), "{screen}");
    assert!(screen.contains("3 bytes"), "the preview: {screen}");
    assert!(!out.exists(), "nothing runs before the keypress");
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"y");
    let screen = s.wait_text("Model saw:");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hi\n");
    assert!(screen.contains("✓ done"), "{screen}");
    assert_eq!(server.chats().len(), 2, "the model's next step came");
    end(s);
}

#[test]
fn a_lets_the_second_call_run_without_asking() {
    let ws = workspace();
    let server = agent(vec![
        ("write_file", json!({"path": "a.txt", "content": "a"})),
        ("write_file", json!({"path": "b.txt", "content": "b"})),
    ]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"write two files\r");
    s.wait_text("Allow write_file?");
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"a");
    // No other key: the second write runs by itself and the model answers.
    s.wait_text("Model saw:");
    assert!(ws.path().join("a.txt").exists() && ws.path().join("b.txt").exists());
    assert_eq!(server.chats().len(), 3);
    end(s);
}

#[test]
fn n_with_a_reason_denies_and_the_model_reads_the_reason() {
    let ws = workspace();
    let server = agent(vec![(
        "write_file",
        json!({"path": "out.txt", "content": "hi"}),
    )]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"write it\r");
    s.wait_text("Allow write_file?");
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"n");
    s.wait_text("type a reason");
    s.send(b"use notes.md\r");
    let screen = s.wait_text("Model saw: denied by the user: use notes.md");
    assert!(screen.contains("⊘ denied"), "{screen}");
    assert!(!ws.path().join("out.txt").exists());
    end(s);
}

#[test]
fn esc_on_the_prompt_denies_and_stops_the_turn() {
    let ws = workspace();
    let server = agent(vec![(
        "write_file",
        json!({"path": "out.txt", "content": "hi"}),
    )]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"write it\r");
    s.wait_text("Allow write_file?");
    s.send(b"\x1b");
    let screen = s.wait_text("⏹ interrupted");
    assert!(screen.contains("⊘ denied"), "{screen}");
    wait_idle(&s);
    assert!(!ws.path().join("out.txt").exists());
    assert_eq!(server.chats().len(), 1, "no next step");
    end(s);
}

#[test]
fn esc_stops_a_running_command_and_its_process_is_gone() {
    let ws = workspace();
    let pid_file = ws.path().join("sleep.pid");
    let server = agent(vec![(
        "run_command",
        json!({"command": "echo $$ > sleep.pid; exec sleep 600"}),
    )]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"sleep\r");
    let screen = s.wait_text("Allow run_command?");
    assert!(
        screen.contains("$ echo $$ > sleep.pid; exec sleep 600"),
        "{screen}"
    );
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"y");
    s.wait_text("running run_command");
    eventually("the command's pid", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim().parse::<i32>().is_ok())
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    s.send(b"\x1b");
    let screen = s.wait_text("⏹ interrupted");
    assert!(screen.contains("cancelled"), "{screen}");
    // SAFETY: signal 0 only asks whether the process exists.
    eventually(
        "the sleep to be gone",
        || unsafe { libc::kill(pid, 0) } != 0,
    );
    assert_eq!(server.chats().len(), 1, "no next step");
    end(s);
}

#[test]
fn the_call_block_shows_the_first_lines_and_enter_shows_them_all() {
    let ws = workspace();
    let lines: String = (1..=10).map(|i| format!("note {i}\n")).collect();
    std::fs::write(ws.path().join("notes.txt"), lines).unwrap();
    let server = agent(vec![("read_file", json!({"path": "notes.txt"}))]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"read my notes\r");
    // read_file is allowed: it runs without asking.
    let screen = s.wait_text("Model saw:");
    assert!(screen.contains("⚙ read_file path=notes.txt"), "{screen}");
    assert!(screen.contains("✓ done"), "{screen}");
    assert!(screen.contains("│ note 1"), "{screen}");
    assert!(!screen.contains("│ note 10"), "folded: {screen}");
    assert!(screen.contains("more lines"), "{screen}");
    s.send(b"\t\r"); // the conversation, then Enter
    s.wait_text("│ note 10");
    end(s);
}

/// The chat on a local scripted model that calls tools, in workspace `ws`, with tools on.
fn local_chat(script: agent::Script, ws: &Path) -> (Model, Session) {
    let m = write(agent::model(agent::Format::Llama3Json, script));
    let path = m.path.to_str().unwrap().to_string();
    // All six tools make a prompt of some 9400 byte tokens with these vocabularies.
    let mut s = start_at(&m, &["-m", &path, "--ctx-size", "16384"], &[], Some(ws));
    wait_idle(&s);
    s.send(b"/tools on\r");
    s.wait_text("Tools on");
    (m, s)
}

#[test]
fn a_local_models_call_asks_runs_on_y_the_model_answers_and_the_session_keeps_the_call() {
    let ws = workspace();
    let call = agent::Call::new("write_file", json!({"path": "out.txt", "content": "hi"}));
    let (m, mut s) = local_chat(agent::Script::Answer(call), ws.path());
    s.send(b"write hi\r");
    let screen = s.wait_text("Allow write_file?");
    assert!(screen.contains("⚙ write_file"), "{screen}");
    assert!(!ws.path().join("out.txt").exists());
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"y");
    s.wait_text(agent::ANSWER);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out.txt")).unwrap(),
        "hi"
    );
    end(s);
    // The session keeps the call; resumed, its block shows again.
    let saved = saved_sessions(&m);
    let turn = &saved[0]["turns"][0];
    assert_eq!(turn["calls"][0]["name"], "write_file");
    assert_eq!(turn["calls"][0]["status"], "done");
    assert_eq!(turn["steps"].as_array().map(Vec::len), Some(2));
    let path = m.path.to_str().unwrap().to_string();
    let args = ["-m", &path, "--ctx-size", "16384", "--resume"];
    let s = start_at(&m, &args, &[], Some(ws.path()));
    s.wait_text("Resumed session");
    let screen = s.wait_text("✓ done");
    assert!(screen.contains("⚙ write_file"), "{screen}");
    end(s);
}

#[test]
fn a_call_in_a_local_models_thinking_is_shown_as_thinking_and_never_asks() {
    let ws = workspace();
    let call = agent::Call::new("run_command", json!({"command": "touch pwned"}));
    let (_m, mut s) = local_chat(agent::Script::InThinking(call), ws.path());
    s.send(b"hello\r");
    let screen = s.wait_text(agent::PLAIN_ANSWER);
    assert!(
        screen.contains("run_command"),
        "shown as thinking: {screen}"
    );
    assert!(!screen.contains("⚙"), "no call block: {screen}");
    assert!(!screen.contains("Allow run_command?"), "{screen}");
    wait_idle(&s);
    assert!(!ws.path().join("pwned").exists());
    end(s);
}

#[test]
fn an_edit_asks_with_its_diff_and_y_applies_it() {
    let ws = workspace();
    let notes = ws.path().join("notes.txt");
    std::fs::write(&notes, "hello\nworld\n").unwrap();
    let server = agent(vec![(
        "edit_file",
        json!({"path": "notes.txt", "old": "hello", "new": "bye"}),
    )]);
    let (_m, mut s) = chat(&server, ws.path());
    s.send(b"say bye\r");
    let screen = s.wait_text("Allow edit_file?");
    for line in ["│ -hello", "│ +bye", "│  world"] {
        assert!(screen.contains(line), "{line}: {screen}");
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "hello\nworld\n");
    s.wait_text("y run once"); // the prompt takes answers after a quiet moment
    s.send(b"y");
    s.wait_text("Model saw:");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "bye\nworld\n");
    end(s);
}

#[test]
fn the_tools_flags_reach_the_chat() {
    let ws = workspace();
    let server = agent(vec![(
        "run_command",
        json!({"command": "echo ran > ran.txt"}),
    )]);
    let m = model(reflection_script());
    let url = server.url();
    let args = ["--endpoint", &url, "--tools", "--allow", "run_command"];
    let mut s = start_at(&m, &args, &[], Some(ws.path()));
    wait_idle(&s);
    s.send(b"/tools\r");
    let screen = s.wait_text("Tools on");
    assert!(screen.contains("run_command (allowed)"), "{screen}");
    s.send(b"run it\r");
    s.wait_text("Model saw:");
    assert!(
        ws.path().join("ran.txt").exists(),
        "--allow: it ran unasked"
    );
    end(s);
}
