//! Pipe mode with tools, end to end: the binary on the scripted tool-calling models
//! (`reflect::gguf::agent`) in a temporary workspace. Allowed calls run and the answer comes
//! after their results; calls that need approval are denied (stderr says how to allow them) and
//! the model goes on; `--allow` and `--yes`; paths that lead out of the workspace refused; a
//! call inside the thinking never runs; a runaway loop stopped by `--max-steps`; the JSON and
//! jsonl shapes; sessions saving every step and `--continue` after a tool turn; the same loop
//! over an endpoint (llama-server `--jinja`).

use crate::common::*;
use reflect::gguf::agent::{self, Call, Format, Script};
use serde_json::{json, Value};
use std::path::PathBuf;

const QUESTION: &str = "What does notes.txt say?";

/// A tool-calling model (with room for the tool list: ~9,500 byte tokens) and a workspace
/// beside it holding notes.txt ("hello").
struct Agent {
    m: Model,
    ws: PathBuf,
}

fn agent(format: Format, script: Script) -> Agent {
    let mut sm = agent::model(format, script);
    sm.context_length = 16384;
    let m = write(sm);
    let ws = m.dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    std::fs::write(ws.join("notes.txt"), "hello\n").unwrap();
    Agent { m, ws }
}

fn reads_notes() -> Agent {
    agent(
        Format::Llama3Json,
        Script::Answer(Call::read_file("notes.txt")),
    )
}

fn writes(path: &str) -> Agent {
    let call = Call::new("write_file", json!({"path": path, "content": "written"}));
    agent(Format::Llama3Json, Script::Answer(call))
}

/// `reflect -m MODEL --tools --workspace WS --ctx-size 16384 ARGS QUESTION`.
fn ask(a: &Agent, args: &[&str]) -> (i32, String, String) {
    let ws = a.ws.to_str().unwrap();
    let mut all = vec!["--tools", "--workspace", ws, "--ctx-size", "16384"];
    all.extend_from_slice(args);
    all.push(QUESTION);
    run(&a.m, &all)
}

/// [`ask`] with `--format json`, parsed.
fn ask_json(a: &Agent, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = ask(a, &all);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v, err)
}

#[test]
fn an_allowed_call_runs_and_the_answer_after_its_result_is_all_stdout_gets() {
    for format in Format::ALL {
        let a = agent(format, Script::Answer(Call::read_file("notes.txt")));
        let (code, out, err) = ask(&a, &[]);
        assert_eq!(code, 0, "{format:?}: {err}");
        assert_eq!(out, format!("{}\n", agent::ANSWER), "{format:?}: {err}");
    }
    let (code, v, err) = ask_json(&reads_notes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], agent::ANSWER);
    assert_eq!(
        v["thinking"],
        format!("{}\n\nThe tool answered.", agent::THINKING.trim()),
        "each step's thinking a paragraph of its own"
    );
    let calls = v["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(calls.len(), 1, "{v}");
    let c = &calls[0];
    assert_eq!(c["name"], "read_file");
    assert_eq!(c["arguments"], json!({"path": "notes.txt"}));
    assert_eq!(c["status"], "done");
    assert_eq!(c["result"], "hello\n");
    assert_eq!(c["step"], 1);
    assert!(c["elapsed_ms"].is_u64(), "{c}");
    let steps = v["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "one usage per step: {v}");
    let sum: u64 = steps
        .iter()
        .map(|s| s["completion_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(v["usage"]["completion_tokens"], sum, "usage sums the steps");
    let thought = v["usage"]["thinking_tokens"].as_u64().unwrap();
    assert_eq!(v["budget"]["used"], thought, "the thinking of every step");
}

#[test]
fn a_call_that_needs_approval_is_denied_the_model_told_and_stderr_says_how_to_allow_it() {
    let a = writes("out.txt");
    let (code, v, err) = ask_json(&a, &[]);
    assert_eq!(code, 0, "the model goes on: {err}");
    assert!(!a.ws.join("out.txt").exists(), "nothing was written");
    assert!(
        err.contains(
            "reflect: denied write_file content=written path=out.txt: it needs approval, and \
             pipe mode cannot ask; allow it with --allow write_file, or every tool with --yes"
        ),
        "{err}"
    );
    let c = &v["tool_calls"][0];
    assert_eq!(c["status"], "denied");
    assert_eq!(
        c["result"],
        "denied: write_file needs the user's approval, and no one could be asked"
    );
    assert_eq!(v["output"], agent::ANSWER, "the answer after the denial");
}

#[test]
fn allow_and_yes_let_a_call_that_needs_approval_run() {
    for flags in [&["--allow", "write_file"][..], &["--yes"][..]] {
        let a = writes("out.txt");
        let (code, v, err) = ask_json(&a, flags);
        assert_eq!(code, 0, "{flags:?}: {err}");
        assert_eq!(v["tool_calls"][0]["status"], "done", "{flags:?}: {v}");
        assert_eq!(
            std::fs::read_to_string(a.ws.join("out.txt")).unwrap(),
            "written",
            "{flags:?}"
        );
        assert!(!err.contains("denied"), "{flags:?}: {err}");
    }
    // --allow names one tool: the others still need approval.
    let a = writes("out.txt");
    let (_, v, err) = ask_json(&a, &["--allow", "edit_file"]);
    assert_eq!(v["tool_calls"][0]["status"], "denied", "{err}");
}

#[test]
fn paths_that_lead_out_of_the_workspace_are_refused_and_nothing_is_read() {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    let outside = secret.to_str().unwrap().to_string();
    for (path, link) in [
        ("../secret.txt", false),
        (outside.as_str(), false),
        ("link.txt", true),
    ] {
        let a = agent(Format::Llama3Json, Script::Answer(Call::read_file(path)));
        std::fs::copy(&secret, a.m.dir.path().join("secret.txt")).unwrap();
        if link {
            std::os::unix::fs::symlink(&secret, a.ws.join("link.txt")).unwrap();
        }
        let (code, v, err) = ask_json(&a, &["--yes"]);
        assert_eq!(code, 0, "{path}: {err}");
        let c = &v["tool_calls"][0];
        assert_eq!(c["status"], "failed", "{path}: {c}");
        let result = c["result"].as_str().unwrap();
        assert!(
            result.starts_with(&format!("{path}: refused, ")),
            "{path}: {result}"
        );
        assert!(!v.to_string().contains("TOP SECRET"), "{path}: {v}");
    }
}

#[test]
fn a_call_inside_the_thinking_never_runs() {
    let call = Call::new("run_command", json!({"command": "touch pwned"}));
    let a = agent(Format::Llama3Json, Script::InThinking(call));
    let (code, v, err) = ask_json(&a, &["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], agent::PLAIN_ANSWER);
    assert_eq!(v["tool_calls"], json!([]));
    assert!(
        v["thinking"].as_str().unwrap().contains("touch pwned"),
        "{v}"
    );
    assert!(!a.ws.join("pwned").exists(), "the command never ran");
    assert_eq!(v["steps"].as_array().unwrap().len(), 1);
}

#[test]
fn a_runaway_loop_is_stopped_by_max_steps_with_a_notice_and_exit_code_3() {
    let a = agent(
        Format::Llama3Json,
        Script::Runaway(Call::read_file("notes.txt")),
    );
    let (code, v, err) = ask_json(&a, &["--max-steps", "3"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "reflect: stopped after 3 steps: the model kept calling tools (--max-steps 3)"
        ),
        "{err}"
    );
    let statuses: Vec<&str> = v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["done", "done", "cancelled"], "{v}");
    assert!(v["tool_calls"][2]["result"]
        .as_str()
        .unwrap()
        .starts_with("not run: stopped after 3 steps"));
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);
    // The default is 10 steps.
    let (code, v, _) = ask_json(&a, &[]);
    assert_eq!(code, 3);
    assert_eq!(v["steps"].as_array().unwrap().len(), 10);
}

#[test]
fn jsonl_has_a_tool_call_and_a_tool_result_event_per_call() {
    let (code, out, err) = ask(&reads_notes(), &["--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|k| *k != "delta")
        .collect();
    assert_eq!(kinds, ["tool_call", "tool_result", "done"], "{out}");
    let call = events.iter().find(|e| e["type"] == "tool_call").unwrap();
    let id = call["id"].as_str().unwrap();
    assert_eq!(id.len(), 9, "{call}");
    assert_eq!(
        call,
        &json!({"type": "tool_call", "id": id, "name": "read_file",
                "arguments": {"path": "notes.txt"}, "step": 1})
    );
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["id"], id);
    assert_eq!(result["status"], "done");
    assert_eq!(result["result"], "hello\n");
    // The answer's deltas come after the result; none carries the call.
    let at = |k: &str| events.iter().position(|e| e["type"] == k).unwrap();
    let answer: String = events[at("tool_result")..]
        .iter()
        .filter(|e| e["type"] == "delta" && e["channel"] == "output")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(answer.trim(), agent::ANSWER);
    assert!(
        !out.contains("\"channel\":\"output\",\"text\":\"{\\\"name\\\""),
        "{out}"
    );
    assert_eq!(events.last().unwrap()["tool_calls"][0]["status"], "done");
}

#[test]
fn show_thinking_prints_each_call_and_its_result_on_stderr() {
    let a = reads_notes();
    let (code, out, err) = ask(&a, &["--show-thinking"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", agent::ANSWER));
    let call = err.find("⚙ read_file path=notes.txt").expect(&err);
    let result = err.find("↳ done (").expect(&err);
    assert!(call < result, "{err}");
    assert!(err[result..].contains("hello"), "{err}");
    // A denial is a line of its own between the call and its result.
    let (code, _, err) = ask(&writes("out.txt"), &["--show-thinking"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "\n⚙ write_file content=written path=out.txt\nreflect: denied write_file \
             content=written path=out.txt: it needs approval"
        ),
        "{err}"
    );
    assert!(
        err.contains("--yes\n↳ denied (0 ms):\ndenied: write_file needs"),
        "{err}"
    );
}

#[test]
fn a_tool_turn_is_saved_whole_and_continue_goes_on_after_it() {
    let a = reads_notes();
    let (code, v, err) = ask_json(&a, &[]);
    assert_eq!(code, 0, "{err}");
    let id = v["session"].as_str().unwrap().to_string();
    let file = sessions_dir(a.m.dir.path()).join(format!("{id}.json"));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let turn = &saved["turns"][0];
    assert_eq!(turn["calls"][0]["status"], "done");
    assert_eq!(turn["steps"].as_array().unwrap().len(), 2);
    let roles: Vec<&str> = turn["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["assistant", "tool"], "{turn}");
    assert_eq!(turn["exchange"][1]["content"], "hello\n");
    // sessions show renders the call and its result.
    let mut show = reflect(a.m.dir.path());
    show.args(["sessions", "show", &id]);
    let (code, md, err) = outcome(show);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("### Tool call 1: read_file (done,"), "{md}");
    assert!(md.contains("```text\nhello\n```"), "{md}");
    // The follow-up's prompt carries the earlier exchange: the call and its result.
    let (code, prompt, err) = ask(&a, &["--continue", "--print-prompt"]);
    assert_eq!(code, 0, "{err}");
    assert!(prompt.contains("hello"), "the tool result: {prompt}");
    assert!(prompt.contains("notes.txt"), "the call: {prompt}");
    // And the follow-up itself runs its own tool steps and is saved as a second turn.
    let (code, v, err) = ask_json(&a, &["--continue"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["session"], id.as_str());
    assert_eq!(v["output"], agent::ANSWER);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["turns"].as_array().unwrap().len(), 2);
}

#[test]
fn tool_flags_that_cannot_work_are_usage_errors() {
    let a = reads_notes();
    let missing = a.m.dir.path().join("nowhere");
    let cases: [(Vec<&str>, String); 4] = [
        (
            vec!["--tools", "--workspace", missing.to_str().unwrap(), "q"],
            format!("--workspace {}: cannot use", missing.display()),
        ),
        (
            vec!["--tools", "--allow", "rm", "q"],
            "possible values: read_file, list_dir, search, write_file, edit_file, run_command"
                .into(),
        ),
        (
            vec!["--yes", "q"],
            "--yes: tools are off; turn them on with --tools".into(),
        ),
        (
            vec!["--tools", "--max-steps", "0", "q"],
            "0 is not in 1..".into(),
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(&a.m, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(&want), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
    }
}

#[test]
fn profiles_list_and_show_the_agent_profile() {
    let sandbox = Sandbox::new();
    let mut list = reflect(sandbox.path());
    list.args(["profiles", "list"]);
    let (code, out, err) = outcome(list);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("agent ") && l.contains("bundled")),
        "{out}"
    );
    let mut show = reflect(sandbox.path());
    show.args(["profiles", "show", "agent"]);
    let (code, out, err) = outcome(show);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "tools = [\"read_file\", \"list_dir\", \"search\", \"write_file\", \"edit_file\", \"run_command\"]"
        ),
        "{out}"
    );
    assert!(out.contains("inside <output> and only there"), "{out}");
}

#[test]
fn the_agent_profile_turns_tools_on_in_pipe_mode() {
    let a = reads_notes();
    let ws = a.ws.to_str().unwrap();
    let (code, out, err) = run(
        &a.m,
        &[
            "--profile",
            "agent",
            "--workspace",
            ws,
            "--ctx-size",
            "16384",
            QUESTION,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", agent::ANSWER));
}

/// The workspace's notes, for the endpoint test (a server-side model, a local workspace).
fn over_endpoint(a: &Agent, url: &str, args: &[&str]) -> (i32, Value, String) {
    let ws = a.ws.to_str().unwrap();
    let mut cmd = reflect(a.m.dir.path());
    cmd.args([
        "--endpoint",
        url,
        "--tools",
        "--workspace",
        ws,
        "--format",
        "json",
    ])
    .args(args)
    .arg(QUESTION);
    let (code, out, err) = outcome(cmd);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v, err)
}

#[test]
fn over_an_endpoint_the_same_loop_runs_the_call_and_sends_its_result() {
    let Some(bin) = crate::remote::server_binary() else {
        return;
    };
    let a = reads_notes();
    let server = crate::remote::Server::start(&bin, &a.m, &["--jinja", "-c", "16384"]);
    let (code, v, err) = over_endpoint(&a, &server.url(), &[]);
    assert_eq!(code, 0, "{err}");
    // Without --special, llama-server drops the tags: step 1's thinking comes as answer text,
    // and step 2's answer follows it as a paragraph of its own.
    assert_eq!(
        v["output"],
        format!("{}\n\n{}", agent::THINKING.trim(), agent::ANSWER),
        "{v}"
    );
    assert_eq!(v["tool_calls"][0]["status"], "done", "{v}");
    assert_eq!(v["tool_calls"][0]["result"], "hello\n");
    let writer = writes("out.txt");
    let server = crate::remote::Server::start(&bin, &writer.m, &["--jinja", "-c", "16384"]);
    let (code, v, err) = over_endpoint(&writer, &server.url(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["tool_calls"][0]["status"], "denied", "{v}");
    assert!(err.contains("--allow write_file"), "{err}");
    assert!(!writer.ws.join("out.txt").exists());
}

/// The pid a command wrote into `path`, once it has.
fn pid_in(path: &std::path::Path) -> i32 {
    let started = std::time::Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{} was never written",
            path.display()
        );
        std::thread::yield_now();
    }
}

#[test]
fn ctrl_c_kills_a_running_command_and_saves_the_turn_interrupted() {
    use std::io::Read;
    let call = Call::new(
        "run_command",
        json!({"command": "echo $$ > started.pid; exec sleep 120"}),
    );
    let a = agent(Format::Llama3Json, Script::Answer(call));
    let ws = a.ws.to_str().unwrap();
    let args = [
        "--tools",
        "--workspace",
        ws,
        "--ctx-size",
        "16384",
        "--yes",
        "--format",
        "json",
        QUESTION,
    ];
    let mut child = spawn_piped(&a.m, &args);
    let pid = pid_in(&a.ws.join("started.pid"));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{err}");
    // SAFETY: signal 0 only asks whether the process (group) still exists.
    assert_eq!(
        unsafe { libc::kill(-pid, 0) },
        -1,
        "the command's process group is gone"
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(v["stop_reason"], "cancelled");
    assert_eq!(v["tool_calls"][0]["status"], "cancelled", "{v}");
    let id = v["session"].as_str().unwrap();
    let file = sessions_dir(a.m.dir.path()).join(format!("{id}.json"));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(saved["turns"][0]["state"], "interrupted");
    assert_eq!(saved["turns"][0]["calls"][0]["status"], "cancelled");
}

#[test]
fn on_a_terminal_escape_sequences_in_calls_and_results_are_shown_neutralised() {
    let ws_args = |a: &Agent| -> Vec<String> {
        let m = a.m.path.to_str().unwrap().to_string();
        let ws = a.ws.to_str().unwrap().to_string();
        [
            "-m",
            &m,
            "--tools",
            "--workspace",
            &ws,
            "--ctx-size",
            "16384",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // A result with escape sequences, shown by --show-thinking.
    let a = reads_notes();
    std::fs::write(a.ws.join("notes.txt"), "bad \x1b[2J\x1b]0;owned\x07 end\n").unwrap();
    let mut args = ws_args(&a);
    args.extend(["--show-thinking".to_string(), QUESTION.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, screen) = run_in_pty(&a.m, &args, 24, 200);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("bad ␛[2J"), "{screen:?}");
    assert!(
        !screen.contains("\x1b[2J") && !screen.contains("\x1b]0;"),
        "{screen:?}"
    );
    // A denied call whose arguments hold them, named on stderr.
    let call = Call::new(
        "write_file",
        json!({"path": "x.txt", "content": "\u{1b}]0;owned\u{7}"}),
    );
    let a = agent(Format::Llama3Json, Script::Answer(call));
    let mut args = ws_args(&a);
    args.push(QUESTION.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, screen) = run_in_pty(&a.m, &args, 24, 200);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("reflect: denied write_file content=␛]0;owned"),
        "{screen:?}"
    );
    assert!(!screen.contains("\x1b]0;"), "{screen:?}");
}

#[test]
fn on_a_terminal_the_status_line_names_the_running_tool() {
    let call = Call::new("run_command", json!({"command": "echo ran"}));
    let a = agent(Format::Llama3Json, Script::Answer(call));
    let (m, ws) = (a.m.path.to_str().unwrap(), a.ws.to_str().unwrap());
    let args = [
        "-m",
        m,
        "--tools",
        "--workspace",
        ws,
        "--ctx-size",
        "16384",
        "--yes",
        QUESTION,
    ];
    let (code, screen) = run_in_pty(&a.m, &args, 24, 200);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("running run_command…"), "{screen:?}");
    assert!(screen.contains(agent::ANSWER), "{screen:?}");
}

#[test]
fn a_server_failing_after_a_call_ran_keeps_the_turn_with_its_call() {
    use crate::common::fake_server::*;
    // Step 1 calls read_file; the server fails step 2: the run fails (exit 1), and the
    // session keeps the turn, marked failed, with the call that ran and its result.
    let first = vec![
        role(),
        chunk(json!({"choices":[{"index":0,"delta":{"tool_calls":[
            {"index": 0, "id": "c", "type": "function",
             "function": {"name": "read_file", "arguments": "{\"path\": \"notes.txt\"}"}}
        ]},"finish_reason":null}]})),
        finish("tool_calls"),
    ];
    let server = FakeServer::start(move |_, n| match n {
        0 => Reply::events(&first),
        _ => Reply::error(500, "the GPU fell over", "server_error", None),
    });
    let a = reads_notes();
    let ws = a.ws.to_str().unwrap();
    let mut cmd = reflect(a.m.dir.path());
    cmd.args([
        "--endpoint",
        &server.url(),
        "--tools",
        "--workspace",
        ws,
        QUESTION,
    ]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the GPU fell over"), "{err}");
    let dir = sessions_dir(a.m.dir.path());
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("the turn was saved");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let turn = &saved["turns"][0];
    assert_eq!(turn["state"], "failed", "{turn}");
    assert_eq!(turn["calls"][0]["status"], "done");
    assert_eq!(turn["calls"][0]["result"], "hello\n");
}

#[test]
fn a_call_that_cannot_be_read_is_told_to_the_model_which_writes_again() {
    use crate::common::fake_server::*;
    // Step 1's call is cut short (its JSON never ends); the model reads why, and step 2
    // answers. Nothing ran.
    let first = vec![
        role(),
        content("<output>{\"name\": \"read_file\", \"parameters\": {\"path\": "),
        content("</output>"),
        finish("stop"),
    ];
    let second = vec![
        role(),
        content("<output>I will answer without it.</output>"),
        finish("stop"),
    ];
    let server = FakeServer::start(move |_, n| match n {
        0 => Reply::events(&first),
        _ => Reply::events(&second),
    });
    let a = reads_notes();
    let ws = a.ws.to_str().unwrap();
    let mut cmd = reflect(a.m.dir.path());
    cmd.args(["--endpoint", &server.url(), "--tools", "--workspace", ws]);
    cmd.args(["--format", "json", "--no-save", QUESTION]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["output"].as_str().unwrap().lines().last(),
        Some("I will answer without it.")
    );
    assert_eq!(v["tool_calls"], json!([]), "nothing ran");
    assert_eq!(v["steps"].as_array().unwrap().len(), 2);
    let chats = server.chats();
    assert_eq!(chats.len(), 2);
    let told = chats[1].json()["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(told["role"], "user");
    assert!(
        told["content"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{told}"
    );
}
