//! The endpoint client against a fault-injection server (tests/it/common/fake_server.rs) on
//! loopback: the faults and field variants no real server produces on demand. What a real
//! server does is tested against llama-server itself (tests/it/remote.rs).

use crate::common::fake_server::*;
use crate::common::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Runs `reflect --endpoint URL ARGS` in a sandbox with `env`; returns (code, stdout, stderr).
fn ask(base: &Sandbox, url: &str, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = reflect(base.path());
    cmd.arg("--endpoint").arg(url);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args);
    outcome(cmd)
}

/// Writes the sandbox's config.toml.
fn write_config(base: &Sandbox, text: &str) {
    let config = base.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), text).unwrap();
}

fn json_of(out: &str, err: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"))
}

/// A Reflection answer as a server that kept the tags would stream it, one token per event.
fn reflection_events() -> Vec<serde_json::Value> {
    [
        "<thinking>",
        "\nI add",
        " 2 and 2.",
        "<reflection>",
        "\nCheck: fine.",
        "</reflection>",
        "\nSo 4.\n",
        "</thinking>",
        "<output>",
        "\nThe answer is 4.\n",
        "</output>",
    ]
    .iter()
    .map(|t| content(t))
    .chain([finish("stop"), usage(30, 11)])
    .collect()
}

#[test]
fn sse_edge_cases_give_the_same_answer_as_a_plain_stream() {
    // Every event of a plain stream, then the same bytes written the hard ways: CR, CRLF,
    // comments and keep-alives, `data:` without its space, one event split over many writes
    // (mid-character too), several events in one write, and no [DONE] at the end.
    let events = reflection_events();
    let plain = {
        let events = events.clone();
        FakeServer::start(move |_, _| Reply::events(&events))
    };
    let base = Sandbox::new();
    let (code, out, err) = ask(
        &base,
        &plain.url(),
        &[],
        &["--format", "json", "--no-save", "q"],
    );
    assert_eq!(code, 0, "{err}");
    let want = json_of(&out, &err);
    assert_eq!(want["output"], "The answer is 4.");
    assert_eq!(want["thinking"], "I add 2 and 2.\nSo 4.");
    assert_eq!(want["reflections"], json!(["Check: fine."]));

    let mut bytes = b": keep-alive\r\n\r\n".to_vec();
    for (i, e) in events.iter().enumerate() {
        let text = e.to_string();
        let line = match i % 3 {
            0 => format!("data:{text}\r\n\r\n"),
            1 => format!("data: {text}\r\r: ping\r\r"),
            _ => format!("event: message\ndata: {text}\n\n"),
        };
        bytes.extend_from_slice(line.as_bytes());
    }
    // A multi-byte character in the stream, to be split across writes.
    let accented = content(" Café.");
    bytes.splice(0..0, format!("data: {accented}\n\n").into_bytes());
    let mut pieces = Vec::new();
    let mut at = 0;
    let mut size = 1;
    while at < bytes.len() {
        let end = (at + size).min(bytes.len());
        pieces.push((Duration::from_millis(1), bytes[at..end].to_vec()));
        at = end;
        size = size % 97 + 7;
    }
    let hard = FakeServer::start(move |_, _| Reply::Stream(pieces.clone()));
    let (code, out, err) = ask(
        &base,
        &hard.url(),
        &[],
        &["--format", "json", "--no-save", "q"],
    );
    assert_eq!(code, 0, "{err}");
    let got = json_of(&out, &err);
    assert_eq!(got["thinking"], want["thinking"]);
    assert_eq!(got["reflections"], want["reflections"]);
    // Text before the first tag is the answer too; then the <output> block.
    assert_eq!(got["output"], "Café.\n\nThe answer is 4.");
    assert_eq!(got["stop_reason"], "output_closed");
}

#[test]
fn reasoning_fields_of_vllm_ollama_and_llama_server_go_to_thinking_through_the_router() {
    for field in ["reasoning", "reasoning_content"] {
        let events = vec![
            reasoning(field, "Let me see."),
            reasoning(field, " <reflection>No, wait.</reflection> Right."),
            content("It is 4."),
            finish("stop"),
            usage(12, 5),
        ];
        let server = FakeServer::start(move |_, _| Reply::events(&events));
        let base = Sandbox::new();
        let (code, out, err) = ask(
            &base,
            &server.url(),
            &[],
            &["--format", "json", "--no-save", "q"],
        );
        assert_eq!(code, 0, "{field}: {err}");
        let v = json_of(&out, &err);
        // The reflection is cut out of the thinking, the spaces around it stay.
        assert_eq!(v["thinking"], "Let me see.  Right.", "{field}");
        assert_eq!(v["reflections"], json!(["No, wait."]), "{field}");
        assert_eq!(v["output"], "It is 4.", "{field}");
        assert_eq!(v["usage"]["prompt_tokens"], 12);
        assert_eq!(v["usage"]["completion_tokens"], 5);
        assert_eq!(v["usage"]["estimated"], true, "not llama-server: estimated");
        assert!(!err.contains("none of the profile's tags"), "{err}");
    }
}

#[test]
fn the_request_carries_the_profile_and_flags_and_the_key_only_in_its_header() {
    let server = FakeServer::start(|_, _| Reply::events(&reflection_events()));
    let base = Sandbox::new();
    write_config(&base, &format!(
            "[endpoints.fake]\nurl = \"{}\"\nmodel = \"fake-model\"\napi_key_env = \"FAKE_TOKEN\"\nprice = {{ input = 0.35, output = 0.40 }}\nspecial_tokens = true\n",
            server.url()
        ));
    let key = "sekrit-123";
    let (code, out, err) = ask(
        &base,
        "fake",
        &[("FAKE_TOKEN", key)],
        &[
            "--format",
            "json",
            "--temperature",
            "0.3",
            "--seed",
            "7",
            "--max-tokens",
            "50",
            "q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v = json_of(&out, &err);
    assert_eq!(v["endpoint"], "fake");
    // The stream was closed after </output>, before the server's usage: the prompt is
    // estimated, and the cost is the tokens at $0.35 / $0.40 per million.
    let cost = v["cost"].as_f64().unwrap();
    let u = &v["usage"];
    assert_eq!(u["estimated"], true);
    assert_eq!(u["prompt_estimated"], true);
    assert_eq!(u["completion_tokens"], 11, "one token per event");
    let tokens = |k: &str| u[k].as_f64().unwrap();
    assert!(
        (cost - (tokens("prompt_tokens") * 0.35 + tokens("completion_tokens") * 0.40) / 1e6).abs()
            < 1e-12,
        "{cost}"
    );
    let chat = &server.chats()[0];
    assert_eq!(chat.header("authorization"), Some("Bearer sekrit-123"));
    let body = chat.json();
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["top_p"], 0.95);
    assert_eq!(body["seed"], 7);
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["skip_special_tokens"], false);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "q Think carefully.");

    // The key is nowhere but in that header: not in the session, not in --print-prompt.
    let sessions = sessions_dir(base.path());
    for e in std::fs::read_dir(&sessions).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(!text.contains(key), "{text}");
    }
    let session =
        std::fs::read_to_string(sessions.join(format!("{}.json", v["session"].as_str().unwrap())))
            .unwrap();
    assert!(session.contains("\"endpoint\": \"fake\""), "{session}");
    let (code, out, err) = ask(
        &base,
        "fake",
        &[("FAKE_TOKEN", key)],
        &["--print-prompt", "q"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"fake-model\"") && !out.contains(key),
        "{out}"
    );
    // The session list shows the cost.
    let out = reflect(base.path()).arg("--sessions").output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let shown = reflect::llm::format_usd(cost);
    assert!(list.contains(&format!("1 turn {shown}")), "{list}");
}

#[test]
fn a_server_reported_cost_is_preferred() {
    let server = FakeServer::start(|_, _| {
        Reply::events(&[
            content("Hi."),
            finish("stop"),
            json!({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"cost":0.0125}}),
        ])
    });
    let base = Sandbox::new();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--format", "json", "--profile", "plain", "q"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_of(&out, &err)["cost"], 0.0125);
}

#[test]
fn http_errors_are_one_line_with_the_documented_exit_code() {
    let table: Vec<(Reply, i32, &str)> = vec![
        (
            Reply::error(
                401,
                "Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            2,
            "put a valid key in REFLECT_API_KEY",
        ),
        (
            Reply::error(
                401,
                "Invalid API Key",
                "authentication_error",
                Some("invalid_api_key"),
            ),
            2,
            "put a valid key in REFLECT_API_KEY",
        ),
        (
            Reply::error(
                403,
                "You are not allowed to sample from this model",
                "invalid_request_error",
                None,
            ),
            2,
            "HTTP 403",
        ),
        (
            Reply::error(
                404,
                "The model `fake-model` does not exist or you do not have access to it.",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            2,
            "the server has: fake-model",
        ),
        (
            Reply::error(500, "CUDA out of memory", "server_error", None),
            1,
            "HTTP 500, the server failed: CUDA out of memory",
        ),
        (
            Reply::json(
                400,
                json!({"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens","type":"BadRequestError","code":400}),
            ),
            2,
            "maximum context length is 8192",
        ),
        (
            Reply::json(429, json!({"error":{"message":"slow down"}})),
            1,
            "HTTP 429, too many requests",
        ),
        (
            Reply::Stream(vec![(Duration::ZERO, b"data: {not json\n\n".to_vec())]),
            1,
            "malformed JSON",
        ),
        (
            Reply::events(&[
                content("Partial"),
                json!({"error":{"message":"engine crashed"}}),
            ]),
            1,
            "mid-stream: engine crashed",
        ),
    ];
    let reference = reference(&Sandbox::new());
    for (reply, want_code, want) in table {
        let reply = std::sync::Mutex::new(Some(reply));
        let server = FakeServer::start(move |_, n| {
            if n > 0 {
                // 429 again: with Retry-After 0 the client retries at once.
                return Reply::Body(429, vec![("Retry-After", "0".into())], "{}".into());
            }
            match reply.lock().unwrap().take() {
                Some(Reply::Body(429, _, b)) => {
                    Reply::Body(429, vec![("Retry-After", "0".into())], b)
                }
                Some(r) => r,
                None => Reply::Hangup,
            }
        });
        let base = Sandbox::new();
        let ((code, out, err), took) =
            timed(|| ask(&base, &server.url(), &[], &["--no-save", "q"]));
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(code, want_code, "{want}: {err}");
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(!err.contains("panicked"), "{err}");
        // Retry-After 0 is retried at once: no back-off waited.
        let limit = bound(reference, Duration::ZERO);
        assert!(took < limit, "{want}: took {took:?}, more than {limit:?}");
        let _ = out;
    }
}

#[test]
fn a_429_is_retried_after_its_retry_after_then_answered() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Body(429, vec![("Retry-After", "1".into())], "{}".into()),
        _ => Reply::events(&[content("Fine."), finish("stop")]),
    });
    let base = Sandbox::new();
    let started = Instant::now();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--profile", "plain", "--no-save", "q"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Fine.\n");
    assert_eq!(server.chats().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[test]
fn a_refused_field_is_named_and_the_request_sent_without_it() {
    let server = FakeServer::start(|req, _| {
        if req.json().get("top_k").is_some() {
            return Reply::error(
                400,
                "Unrecognized request argument supplied: top_k",
                "invalid_request_error",
                None,
            );
        }
        Reply::events(&[content("Ok."), finish("stop")])
    });
    let base = Sandbox::new();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--profile", "plain", "--no-save", "q"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Ok.\n");
    assert!(
        err.contains("does not take top_k, so it is not applied"),
        "{err}"
    );
    assert_eq!(server.chats().len(), 2);
}

#[test]
fn a_cut_stream_keeps_the_partial_answer_and_exits_1() {
    // A body that ends before the answer did, and a server that dies mid-body (its chunked
    // body never finished).
    type Serve = fn(Vec<(Duration, Vec<u8>)>) -> Reply;
    let cases: [(&str, Serve); 2] = [("ended", Reply::Stream), ("died", Reply::Cut)];
    for (case, reply) in cases {
        let server = FakeServer::start(move |_, _| {
            reply(
                [role(), content("<output>Half an"), content(" answer")]
                    .iter()
                    .map(|c| (Duration::ZERO, format!("data: {c}\n\n").into_bytes()))
                    .collect(),
            )
        });
        let base = Sandbox::new();
        let (code, out, err) = ask(&base, &server.url(), &[], &["--format", "json", "q"]);
        assert_eq!(code, 1, "{case}: {err}");
        let v = json_of(&out, &err);
        assert_eq!(v["output"], "Half an answer", "{case}");
        assert_eq!(v["stop_reason"], "stream_cut", "{case}");
        assert!(
            err.contains("the stream ended before the answer did"),
            "{case}: {err}"
        );
        let saved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                sessions_dir(base.path()).join(format!("{}.json", v["session"].as_str().unwrap())),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(saved["turns"][0]["state"], "interrupted", "{case}");
    }
}

/// A slow stream: the answer, then babble for a long time.
const BABBLE_PAUSE: Duration = Duration::from_millis(20);

fn babble_after(answer: &[&str]) -> Reply {
    let mut pieces: Vec<(Duration, Vec<u8>)> = std::iter::once(role())
        .chain(answer.iter().map(|t| content(t)))
        .map(|c| (BABBLE_PAUSE, format!("data: {c}\n\n").into_bytes()))
        .collect();
    for i in 0..1000 {
        pieces.push((
            BABBLE_PAUSE,
            format!("data: {}\n\n", content(&format!(" babble{i}"))).into_bytes(),
        ));
    }
    Reply::Stream(pieces)
}

fn wait_hung_up(server: &FakeServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hung_up() == 0 {
        assert!(Instant::now() < deadline, "the connection was not closed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn after_the_answer_closes_the_connection_is_closed() {
    let answer = ["<output>", "Done.", "</output>"];
    let server = FakeServer::start(move |_, _| babble_after(&answer));
    let base = Sandbox::new();
    let reference = reference(&base);
    let ((code, out, err), took) = timed(|| ask(&base, &server.url(), &[], &["--no-save", "q"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Done.\n");
    // The answer's pieces, and not the babble's thousand.
    let limit = bound(reference, BABBLE_PAUSE * (answer.len() as u32 + 1));
    assert!(
        took < limit,
        "babble was waited for: took {took:?}, more than {limit:?}"
    );
    wait_hung_up(&server);
}

#[cfg(unix)]
#[test]
fn ctrl_c_on_a_slow_drip_closes_the_connection_and_keeps_the_partial_answer() {
    let server = FakeServer::start(|_, _| babble_after(&["<output>", "Start"]));
    let base = Sandbox::new();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
    seal(&mut cmd, base.path());
    let mut child = cmd
        .args(["--endpoint", &server.url(), "q"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    use std::io::Read;
    let stdout = child.stdout.as_mut().unwrap();
    while !String::from_utf8_lossy(&seen).contains("babble3") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    wait_hung_up(&server);
    let files: Vec<_> = std::fs::read_dir(sessions_dir(base.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "the partial turn is saved: {files:?}");
    let saved = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        saved.contains("\"interrupted\"") && saved.contains("babble3"),
        "{saved}"
    );
}

#[test]
fn choosing_the_model_and_reaching_the_server() {
    let several = FakeServer::with_models(&["alpha", "beta"], |_, _| {
        Reply::events(&[content("Hi."), finish("stop")])
    });
    let base = Sandbox::new();
    let (code, _, err) = ask(&base, &several.url(), &[], &["--no-save", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("several models; choose one with -m: alpha, beta"),
        "{err}"
    );
    let (code, _, err) = ask(
        &base,
        &several.url(),
        &[],
        &["-m", "gamma", "--no-save", "q"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no model 'gamma'; it has: alpha, beta"),
        "{err}"
    );
    let (code, out, err) = ask(
        &base,
        &several.url(),
        &[],
        &["-m", "beta", "--profile", "plain", "--no-save", "q"],
    );
    assert_eq!((code, out.as_str()), (0, "Hi.\n"), "{err}");
    assert_eq!(several.chats()[0].json()["model"], "beta");

    // Nothing listens on this port, and no other test can take it meanwhile.
    let closed = ClosedPort::new();
    let url = format!("http://{}/v1", closed.addr());
    let (code, _, err) = ask(&base, &url, &[], &["--no-save", "q"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A name config.toml does not define.
    let (code, _, err) = ask(&base, "nowhere", &[], &["--no-save", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--endpoint nowhere: no such endpoint"),
        "{err}"
    );
}

#[test]
fn a_reply_without_the_profiles_tags_says_why_once() {
    let server = FakeServer::start(|_, _| {
        Reply::events(&[content("I add 2 and 2. The answer is 4."), finish("stop")])
    });
    let base = Sandbox::new();
    let (code, out, err) = ask(&base, &server.url(), &[], &["--no-save", "q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "I add 2 and 2. The answer is 4.\n");
    assert!(
        err.contains("none of the profile's tags") && err.contains("skip_special_tokens: false"),
        "{err}"
    );
    // The plain profile expects no tags: no warning.
    let (_, _, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--profile", "plain", "--no-save", "q"],
    );
    assert!(err.is_empty(), "{err}");
}

/// A tokenizer.json for the scripted Reflection model, and the tokenizer itself.
fn scripted_tokenizer(base: &Sandbox) -> (std::path::PathBuf, tokenizers::Tokenizer) {
    let path = base.path().join("tokenizer.json");
    reflect::gguf::ScriptedModel::new(reflection_script())
        .write_tokenizer(&path)
        .unwrap();
    let t = tokenizers::Tokenizer::from_file(&path).unwrap();
    (path, t)
}

#[test]
fn a_tokenizer_json_makes_the_channel_counts_exact() {
    let server = FakeServer::start(|_, _| Reply::events(&reflection_events()));
    let base = Sandbox::new();
    let (path, tokenizer) = scripted_tokenizer(&base);
    let count = |text: &str| tokenizer.encode(text, false).unwrap().len() as u64;
    let path = path.to_str().unwrap();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--tokenizer", path, "--format", "json", "--no-save", "q"],
    );
    assert_eq!(code, 0, "{err}");
    let v = json_of(&out, &err);
    let u = &v["usage"];
    assert!(u.get("estimated").is_none(), "{u}");
    // The router trims the channels' outer whitespace; the counts are of the text routed.
    assert_eq!(u["output_tokens"], count("The answer is 4."), "{u}");
    assert_eq!(u["reflection_tokens"], count("Check: fine."), "{u}");
    assert_eq!(u["thinking_tokens"], count("I add 2 and 2.\nSo 4."), "{u}");

    // The same file found as a repo id in the local Hugging Face cache ($HF_HOME/hub).
    let repo = base
        .path()
        .join("huggingface/hub/models--acme--reflect-70b");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::fs::copy(path, snapshot.join("tokenizer.json")).unwrap();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &[
            "--tokenizer",
            "acme/reflect-70b",
            "--format",
            "json",
            "--no-save",
            "q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_of(&out, &err)["usage"], *u);
    let (code, _, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--tokenizer", "acme/missing", "--no-save", "q"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--tokenizer acme/missing: not in the Hugging Face cache")
            && err.contains("models--acme--missing"),
        "{err}"
    );
    let (code, _, err) = ask(
        &base,
        &server.url(),
        &[],
        &[
            "--tokenizer",
            base.path().join("nope.json").to_str().unwrap(),
            "--no-save",
            "q",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn timeouts_and_tls_failures_are_one_line() {
    let stall_for = Duration::from_secs(30);
    let server = FakeServer::start(move |_, _| Reply::Stall(stall_for));
    let base = Sandbox::new();
    let reference = reference(&base);
    write_config(
        &base,
        &format!(
            "[endpoints.slow]\nurl = \"{}\"\nfirst_byte_timeout = 1\n",
            server.url()
        ),
    );
    let ((code, _, err), took) = timed(|| ask(&base, "slow", &[], &["--no-save", "q"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no answer within 1 s (first_byte_timeout)"),
        "{err}"
    );
    // Below the stall whatever the reference: a run that waited for the stall must fail.
    let limit = bound(reference, Duration::from_secs(1)).min(stall_for * 3 / 4);
    assert!(took < limit, "took {took:?}, more than {limit:?}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // https:// to a server that speaks plain HTTP: the TLS handshake fails.
    let plain = FakeServer::start(|_, _| Reply::events(&[content("x")]));
    let (code, _, err) = ask(
        &base,
        &format!("https://{}/v1", plain.addr),
        &[],
        &["--no-save", "q"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TLS failed"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_conversation_that_outgrows_the_servers_context_leaves_out_old_turns() {
    let answer = "word ".repeat(60);
    let server = FakeServer::start(move |_, _| Reply::events(&[content(&answer), finish("stop")]));
    let base = Sandbox::new();
    write_config(
        &base,
        &format!(
            "[endpoints.small]\nurl = \"{}\"\ncontext = 200\n",
            server.url()
        ),
    );
    let turn = |args: &[&str]| {
        let mut all = vec!["--profile", "plain"];
        all.extend_from_slice(args);
        let (code, _, err) = ask(&base, "small", &[], &all);
        assert_eq!(code, 0, "{err}");
        err
    };
    assert!(turn(&["first question"]).is_empty());
    assert!(turn(&["--continue", "second question"]).is_empty());
    let err = turn(&["--continue", "third question"]);
    assert!(
        err.contains("no longer fits the context (200 tokens): left out the 1 oldest turn"),
        "{err}"
    );
    let sent: Vec<Vec<String>> = server
        .chats()
        .iter()
        .map(|c| {
            c.json()["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(sent[1].len(), 3, "turn 2 holds turn 1");
    assert_eq!(sent[2].first().map(String::as_str), Some("second question"));
    assert_eq!(sent[2].last().map(String::as_str), Some("third question"));
}

/// How long a plain question takes against a fake server that answers at once: the
/// reference for this file's bounds on time (the slower of two runs).
fn reference(base: &Sandbox) -> Duration {
    let server = FakeServer::start(|_, _| Reply::events(&[content("Fine."), finish("stop")]));
    let once = || {
        let ((code, _, err), took) = timed(|| {
            ask(
                base,
                &server.url(),
                &[],
                &["--profile", "plain", "--no-save", "q"],
            )
        });
        assert_eq!(code, 0, "{err}");
        took
    };
    once().max(once())
}

#[test]
fn a_retry_after_that_is_not_a_number_gets_the_default_back_off() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Body(429, vec![("Retry-After", "nan".into())], "{}".into()),
        _ => Reply::events(&[content("Fine."), finish("stop")]),
    });
    let base = Sandbox::new();
    let (code, out, err) = ask(
        &base,
        &server.url(),
        &[],
        &["--profile", "plain", "--no-save", "q"],
    );
    assert_eq!((code, out.as_str()), (0, "Fine.\n"), "{err}");
    assert_eq!(server.chats().len(), 2, "retried once");
}

#[test]
fn a_stream_that_stalls_is_closed_after_first_byte_timeout_and_kept() {
    // The second piece would come only after the stall: the client must not wait for it.
    let stall_for = Duration::from_secs(20);
    let stall = FakeServer::start(move |_, _| {
        Reply::Stream(vec![
            (Duration::ZERO, format!("data: {}\n\n", role()).into_bytes()),
            (
                Duration::ZERO,
                format!("data: {}\n\n", content("Half")).into_bytes(),
            ),
            (
                stall_for,
                format!("data: {}\n\n", content(" more")).into_bytes(),
            ),
        ])
    });
    let base = Sandbox::new();
    let timeout = Duration::from_secs(1);
    write_config(
        &base,
        &format!(
            "[endpoints.stall]\nurl = \"{}\"\nfirst_byte_timeout = {}\n",
            stall.url(),
            timeout.as_secs()
        ),
    );
    let reference = reference(&base);
    let ((code, out, err), took) = timed(|| {
        ask(
            &base,
            "stall",
            &[],
            &["--profile", "plain", "--format", "json", "q"],
        )
    });
    assert_eq!(code, 1, "{err}");
    // Below the stall whatever the reference: a run that waited for the stall must fail.
    let limit = bound(reference, timeout).min(stall_for * 3 / 4);
    assert!(took < limit, "took {took:?}, more than {limit:?}");
    assert!(err.contains("no data for 1 s"), "{err}");
    let v = json_of(&out, &err);
    assert_eq!(
        (v["output"].as_str(), v["stop_reason"].as_str()),
        (Some("Half"), Some("stream_cut"))
    );
}

#[test]
fn a_url_without_v1_is_said_to_usually_end_in_v1() {
    let server = FakeServer::start(|_, _| Reply::events(&[content("Fine."), finish("stop")]));
    let base = Sandbox::new();
    // The base without /v1: the model list is a 404, and that is the URL's fault.
    let (code, _, err) = ask(
        &base,
        &format!("http://{}", server.addr),
        &[],
        &["--no-save", "q"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("usually ends in /v1"), "{err}");
}
