//! The endpoint client against a real llama-server (llama.cpp's own, built from source by
//! `scripts/llama-server.sh`; `REFLECT_LLAMA_SERVER` names it), serving the project's scripted
//! models on 127.0.0.1: the same answer, channels and usage as the local engine, the tags lost
//! without `--special` and said so, cancel freeing the server's slot, `--continue`, jsonl, a
//! context the prompt does not fit, the chat in a pseudo-terminal, and the thinking budget and
//! answer-now cutting the stream and continuing the answer.
//!
//! In CI (`CI` set) a missing server fails these tests; elsewhere they are skipped with a note.

use crate::common::*;
use reflect::gguf::ScriptedModel;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn server_binary() -> Option<PathBuf> {
    match std::env::var_os("REFLECT_LLAMA_SERVER") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "REFLECT_LLAMA_SERVER={} is not a file",
                p.display()
            );
            Some(p)
        }
        None if std::env::var_os("CI").is_some() => {
            panic!(
                "llama-server is required in CI: .ci/run builds it and sets REFLECT_LLAMA_SERVER"
            )
        }
        None => {
            skip_note("set REFLECT_LLAMA_SERVER=\"$(bash scripts/llama-server.sh)\" to run the endpoint tests against llama-server");
            None
        }
    }
}

/// A llama-server child on 127.0.0.1, killed when dropped.
pub(crate) struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts llama-server on a port of its own choosing (`--port 0`: no port is picked here
    /// and handed over, which a parallel test could take meanwhile), read from its log line
    /// `listening on http://127.0.0.1:PORT`, and waits until it is healthy.
    pub(crate) fn start(bin: &PathBuf, model: &Model, args: &[&str]) -> Server {
        let log_path = model.dir.path().join("llama-server.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(bin)
            .arg("-m")
            .arg(&model.path)
            .args(["--host", "127.0.0.1", "--port", "0", "-np", "1"])
            .args(["--threads", "2", "--no-webui"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .env("HOME", model.dir.home())
            .spawn()
            .expect("start llama-server");
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(port) = listening_port(&log()) {
                break port;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("llama-server exited ({status}): {}", log());
            }
            assert!(
                Instant::now() < deadline,
                "llama-server did not say where it listens: {}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let s = Server { child, port };
        while !s.healthy() {
            assert!(
                Instant::now() < deadline,
                "llama-server did not start: {}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn healthy(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut s = String::new();
        let _ = c.read_to_string(&mut s);
        s.starts_with("HTTP/1.1 200")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

/// The port in llama-server's `listening on http://127.0.0.1:PORT` log line.
fn listening_port(log: &str) -> Option<u16> {
    let (_, rest) = log.split_once("listening on http://127.0.0.1:")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `reflect ARGS` in the model's sandbox: (code, stdout, stderr).
fn run_args(m: &Model, args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(m.dir.path());
    cmd.args(args);
    outcome(cmd)
}

fn json(out: &str, err: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"))
}

#[test]
fn the_same_answer_channels_and_usage_as_the_local_engine() {
    let Some(bin) = server_binary() else { return };
    let m = model(reflection_script());
    let server = Server::start(&bin, &m, &["--special", "-c", "2048"]);
    let (code, local, err) = run(&m, &["--format", "json", "--no-save", "What is 2+2?"]);
    assert_eq!(code, 0, "{err}");
    let local = json(&local, &err);
    let (code, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--format",
            "json",
            "--no-save",
            "What is 2+2?",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let remote = json(&out, &err);
    for key in ["output", "thinking", "reflections", "stop_reason"] {
        assert_eq!(remote[key], local[key], "{key}");
    }
    for key in [
        "prompt_tokens",
        "completion_tokens",
        "thinking_tokens",
        "reflection_tokens",
        "output_tokens",
    ] {
        assert_eq!(remote["usage"][key], local["usage"][key], "usage.{key}");
    }
    assert!(
        remote["usage"].get("estimated").is_none(),
        "exact from llama-server"
    );
    assert_eq!(remote["endpoint"], server.url());
    assert_eq!(remote["model"], m.path.display().to_string());
    assert!(err.is_empty(), "{err}");

    // jsonl: the deltas add up to the same channels.
    let (code, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--format",
            "jsonl",
            "--no-save",
            "What is 2+2?",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut output = String::new();
    let mut last = serde_json::Value::Null;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] == "delta" && v["channel"] == "output" {
            output.push_str(v["text"].as_str().unwrap());
        }
        last = v;
    }
    assert_eq!(output, "The answer is 4.");
    assert_eq!(last["type"], "done");
    assert_eq!(
        last["usage"]["completion_tokens"],
        local["usage"]["completion_tokens"]
    );
}

#[test]
fn without_special_the_tags_vanish_and_reflect_says_how_to_fix_it() {
    let Some(bin) = server_binary() else { return };
    let m = model(reflection_script());
    let server = Server::start(&bin, &m, &["-c", "2048"]);
    let (code, out, err) = run_args(&m, &["--endpoint", &server.url(), "--no-save", "q"]);
    assert_eq!(code, 0, "{err}");
    // Every piece of text, thinking included, came as the answer.
    assert!(
        out.contains("I add 2 and 2.") && out.contains("The answer is 4."),
        "{out}"
    );
    assert!(
        err.contains("none of the profile's tags") && err.contains("--special"),
        "{err}"
    );
}

#[test]
fn pipe_text_and_continue_against_the_server() {
    let Some(bin) = server_binary() else { return };
    let m = model(reflection_script());
    let server = Server::start(&bin, &m, &["--special", "-c", "2048"]);
    let (code, out, err) = run_args(&m, &["--endpoint", &server.url(), "first"]);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    let (code, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--continue",
            "--format",
            "json",
            "second",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out, &err);
    let file = sessions_dir(m.dir.path()).join(format!("{}.json", v["session"].as_str().unwrap()));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(saved["turns"].as_array().unwrap().len(), 2);
    assert_eq!(saved["endpoint"], server.url());
    assert!(saved.get("model_path").is_none(), "{saved}");
    // The second prompt held the first turn: it is longer than the first.
    assert!(
        v["usage"]["prompt_tokens"].as_u64().unwrap() > 60,
        "{}",
        v["usage"]
    );
}

#[test]
fn a_prompt_the_servers_context_cannot_hold_is_exit_2_with_the_numbers() {
    let Some(bin) = server_binary() else { return };
    let m = model(reflection_script());
    let server = Server::start(&bin, &m, &["--special", "-c", "256"]);
    let long = "word ".repeat(400);
    let (code, _, err) = run_args(&m, &["--endpoint", &server.url(), "--no-save", &long]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("but the context holds 256"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn cancel_closes_the_stream_and_frees_the_servers_slot() {
    let Some(bin) = server_binary() else { return };
    // A script that never ends, slow enough that a generation to the end of a 16k context
    // would take minutes: a slot still busy with it would hold the next request that long.
    let words: String = (0..400).map(|i| format!("w{i} ")).collect();
    let mut items = Vec::new();
    reflect::gguf::push_prose(&words, &mut Default::default(), &mut items);
    let mut sm = ScriptedModel::new(items);
    sm.cycle = true;
    sm.context_length = 16384;
    sm.padding = reflect::gguf::Padding {
        min_embd: 512,
        layers: 8,
    };
    let m = write(sm);
    let server = Server::start(&bin, &m, &["-c", "16384"]);
    // Three words, as the slot answers them when it is free: the reference for the request
    // after the cancel.
    let three_words = || {
        run_args(
            &m,
            &[
                "--endpoint",
                &server.url(),
                "--profile",
                "plain",
                "--max-tokens",
                "3",
                "--no-save",
                "again",
            ],
        )
    };
    let ((code, _, err), reference) = timed(three_words);
    assert_eq!(code, 0, "{err}");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, m.dir.path());
    let mut child = cmd
        .args([
            "--endpoint",
            &server.url(),
            "--profile",
            "plain",
            "--no-save",
            "go",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    use std::io::Read;
    let stdout = child.stdout.as_mut().unwrap();
    while !String::from_utf8_lossy(&seen).contains("w20 ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let ((code, out, err), took) = timed(three_words);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "w0 w1 w2\n");
    let limit = bound(reference, Duration::ZERO);
    assert!(
        took < limit,
        "the next request took {took:?}, more than {limit:?} ({reference:?} before the cancel): the slot was still generating"
    );
}

#[cfg(unix)]
#[test]
fn the_chat_in_a_pseudo_terminal_against_the_server() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    let Some(bin) = server_binary() else { return };
    let m = model(reflection_script());
    let server = Server::start(&bin, &m, &["--special", "-c", "2048"]);
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, m.dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.args(["--endpoint", &server.url()]);
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    let screen = Arc::new(Mutex::new(vt100::Parser::new(30, 120, 0)));
    let feed = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let wait = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = screen.lock().unwrap().screen().contents();
            if text.contains(what) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {what:?} on screen:\n{text}");
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let host = format!("127.0.0.1:{}", server.port);
    wait(&host);
    writer.write_all(b"what is 2+2?\r").unwrap();
    writer.flush().unwrap();
    wait("The answer is 4.");
    let screen_text = wait("Check: 2+2 is 4, not 5.");
    assert!(screen_text.contains("I add 2 and 2."), "{screen_text}");
    // Ctrl+D quits once the turn is over (while it finishes, it would cancel it).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen
        .lock()
        .unwrap()
        .screen()
        .contents()
        .lines()
        .any(|l| l.trim_start().starts_with("idle"))
    {
        assert!(Instant::now() < deadline, "the turn did not end");
        std::thread::sleep(Duration::from_millis(25));
    }
    writer.write_all(b"\x04").unwrap();
    writer.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.exit_code(), 0);
            break;
        }
        assert!(Instant::now() < deadline, "the chat did not quit");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The thinking budget against the real llama-server: when it runs out the stream is closed
/// and the answer continues in a request whose last assistant message ends with the forced
/// tags (`continue_final_message`); answer-now works the same way.
#[test]
fn a_thinking_budget_against_the_server_cuts_and_continues_the_answer() {
    let Some(bin) = server_binary() else { return };
    let m = model(thinker("w", 300));
    let server = Server::start(&bin, &m, &["--special", "-c", "2048"]);
    let (code, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--think-budget",
            "20",
            "--format",
            "json",
            "q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out, &err);
    assert_eq!(v["output"], "The answer is 4.", "{v}");
    let b = &v["budget"];
    assert_eq!(b["limit"], 20);
    assert_eq!(b["forced_by"], "budget");
    // The default grace: 32 more tokens for a line end that never comes.
    assert_eq!(b["used"], 52, "{b}");
    assert!(b["forced"].as_u64().unwrap() >= 2, "{b}");
    let thinking = v["thinking"].as_str().unwrap();
    assert!(thinking.ends_with("w50"), "{thinking}");
    assert!(!thinking.contains("w51"), "{thinking}");
    // Budget 0: the answer is asked for as the continuation of a forced `<output>`.
    let (code, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--think-budget",
            "0",
            "--format",
            "json",
            "q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out, &err);
    assert_eq!(
        (v["thinking"].as_str(), v["output"].as_str()),
        (Some(""), Some("The answer is 4.")),
        "{v}"
    );
    assert_eq!(v["budget"]["forced_by"], "no_thinking");
    // --max-tokens covers both requests: 60 in all, so the answer's continuation gets 8.
    let (_, out, err) = run_args(
        &m,
        &[
            "--endpoint",
            &server.url(),
            "--think-budget",
            "20",
            "--max-tokens",
            "60",
            "--format",
            "json",
            "q",
        ],
    );
    let v = json(&out, &err);
    assert!(
        v["usage"]["completion_tokens"].as_u64().unwrap() <= 60,
        "{}",
        v["usage"]
    );
    // --min-think cannot take back what a server sent: said plainly.
    let (code, _, err) = run_args(&m, &["--endpoint", &server.url(), "--min-think", "50", "q"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("--min-think is applied to local models only"),
        "{err}"
    );
}

/// Answer-now against the server: the stream is closed at the next piece and the answer
/// continues after the forced end of thinking.
#[test]
fn answer_now_against_the_server() {
    use reflect::engine::{Engine, RemoteConfig};
    use reflect::llm::{
        ChatMessage, Command, EngineEvent, ForcedBy, GenerateRequest, Role, SamplingSettings,
    };
    use reflect::stream::{Channel, RouterConfig};
    let Some(bin) = server_binary() else { return };
    let m = slow_thinker("w", 1500);
    let server = Server::start(&bin, &m, &["--special", "-c", "4096"]);
    let (engine, mut events) = Engine::start(RemoteConfig::new(server.url()));
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Loaded(_) => break,
            EngineEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
    engine
        .send(Command::Generate(GenerateRequest {
            id: 1,
            messages: vec![ChatMessage::new(Role::User, "q")],
            sampling: SamplingSettings::default(),
            max_tokens: Some(3000),
            router: RouterConfig {
                stop_after_output: true,
                ..RouterConfig::default()
            },
            budget: Default::default(),
            tools: Vec::new(),
            raw: false,
        }))
        .unwrap();
    let (mut thinking, mut output) = (0, String::new());
    let done = loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text {
                channel: Channel::Thinking,
                ..
            } => {
                thinking += 1;
                if thinking == 30 {
                    engine.answer_now(1);
                }
            }
            EngineEvent::Text {
                channel: Channel::Output,
                text,
                ..
            } => output.push_str(&text),
            EngineEvent::Done(d) => break d,
            EngineEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    let b = done.budget.expect("reported once forced");
    assert_eq!(b.forced_by, Some(ForcedBy::User));
    assert!(b.used >= 30 && b.used < 1500, "{b:?}");
    assert_eq!(output.trim(), "The answer is 4.");
}
