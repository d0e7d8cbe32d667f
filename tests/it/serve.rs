//! `reflect serve` end to end: the binary serving scripted models over HTTP, asked with raw
//! HTTP/1.1 (tests/it/serve_client.rs asks with the `openai` package): the split in streamed
//! and whole answers, stop strings, raw text, reflect's own `--endpoint` client against it, a
//! client that leaves mid-stream, SIGTERM, /health while loading, a model that cannot load.

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `reflect serve` process on a free port, its stderr read line by line.
pub(crate) struct Served {
    child: Child,
    pub port: u16,
    lines: mpsc::Receiver<String>,
    /// Every stderr line so far.
    pub seen: Vec<String>,
}

impl Served {
    /// Starts `reflect serve -m MODEL --port 0 ARGS` and waits until it listens.
    pub(crate) fn start(m: &Model, args: &[&str]) -> Served {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reflect"));
        seal(&mut cmd, m.dir.path());
        let mut child = cmd
            .arg("serve")
            .arg("-m")
            .arg(&m.path)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn reflect serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Served {
            child,
            port: 0,
            lines,
            seen: Vec::new(),
        };
        let line = s.wait_for(|l| l.contains("listening on http://"));
        let port = line.rsplit(':').next().unwrap();
        s.port = port.split(' ').next().unwrap().parse().expect("port");
        s
    }

    /// Starts it and waits until the model has loaded.
    pub(crate) fn ready(m: &Model, args: &[&str]) -> Served {
        let mut s = Served::start(m, args);
        s.wait_for(|l| l.starts_with("reflect serve: ready"));
        s
    }

    /// The next stderr line that `want` accepts (panics when stderr ends first).
    pub(crate) fn wait_for(&mut self, want: impl Fn(&str) -> bool) -> String {
        loop {
            let Ok(line) = self.lines.recv() else {
                panic!("stderr ended; it said: {:#?}", self.seen);
            };
            self.seen.push(line.clone());
            if want(&line) {
                return line;
            }
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Sends SIGTERM and waits: the exit code, and the rest of stderr.
    fn terminate(self) -> (Option<i32>, Vec<String>) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.exit()
    }

    /// Waits for it to exit (signalled already: a second signal would stop it at once): the
    /// exit code, and the rest of stderr.
    fn exit(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.child.wait().unwrap();
        let mut seen = std::mem::take(&mut self.seen);
        seen.extend(self.lines.iter());
        (status.code(), seen)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `data:` payloads of an event stream, `[DONE]` included as a string.
    pub(crate) fn events(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.into())))
            .collect()
    }
}

/// One request over a fresh connection (`Connection: close`), read to its end.
pub(crate) fn http(port: u16, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A body over the limit may be refused before it is all sent.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    let status = head[9..12].parse().unwrap();
    Answer { status, head, body }
}

/// A chunked body's bytes.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 4 + size..];
    }
    out
}

pub(crate) fn chat(port: u16, body: &Value) -> Answer {
    http(
        port,
        "POST",
        "/v1/chat/completions",
        &[],
        body.to_string().as_bytes(),
    )
}

fn ask(extra: Value) -> Value {
    let mut body = json!({"messages": [{"role": "user", "content": "What is 2+2?"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The deltas' `field` added up.
fn streamed(events: &[Value], field: &str) -> String {
    events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"][field].as_str())
        .collect()
}

#[test]
fn whole_and_streamed_answers_split_thinking_reflections_and_answer_alike() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &[]);
    let whole = chat(s.port, &ask(json!({})));
    assert_eq!(
        whole.status,
        200,
        "{}",
        String::from_utf8_lossy(&whole.body)
    );
    let v = whole.json();
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], "The answer is 4.");
    let reasoning = msg["reasoning_content"].as_str().unwrap();
    assert_eq!(msg["reasoning"], reasoning);
    let at = |t: &str| {
        reasoning
            .find(t)
            .unwrap_or_else(|| panic!("{t} in {reasoning}"))
    };
    assert!(
        at("I add 2 and 2.") < at("Check: 2+2 is 4, not 5.") && at("Check") < at("So it is 4.")
    );
    assert_eq!(msg["reflection"], "Check: 2+2 is 4, not 5.");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let u = &v["usage"];
    let reasoning_tokens =
        u["thinking_tokens"].as_u64().unwrap() + u["reflection_tokens"].as_u64().unwrap();
    assert!(reasoning_tokens > 0, "{u}");
    assert_eq!(
        u["completion_tokens_details"]["reasoning_tokens"],
        reasoning_tokens
    );
    assert_eq!(
        u["completion_tokens"].as_u64().unwrap(),
        reasoning_tokens + u["output_tokens"].as_u64().unwrap()
    );
    assert_eq!(v["model"], "model");

    let stream = chat(
        s.port,
        &ask(json!({"stream": true, "stream_options": {"include_usage": true}})),
    );
    assert_eq!(stream.status, 200);
    assert!(stream.head.contains("text/event-stream"), "{}", stream.head);
    let events = stream.events();
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    for field in ["content", "reasoning_content", "reasoning", "reflection"] {
        assert_eq!(
            streamed(&events, field),
            msg[field].as_str().unwrap(),
            "{field}"
        );
    }
    let n = events.len();
    assert_eq!(events[n - 1], "[DONE]");
    assert_eq!(events[n - 2]["choices"], json!([]));
    // The same counts (the prompt now mostly from the cache).
    for k in [
        "prompt_tokens",
        "completion_tokens",
        "thinking_tokens",
        "reflection_tokens",
    ] {
        assert_eq!(events[n - 2]["usage"][k], v["usage"][k], "{k}");
    }
    assert!(events[n - 2]["usage"]["prompt_tokens_details"]["cached_tokens"].as_u64() > Some(0));
    assert_eq!(events[n - 3]["choices"][0]["finish_reason"], "stop");
    // Without include_usage, no usage chunk.
    let plain = chat(s.port, &ask(json!({"stream": true}))).events();
    assert!(plain.iter().all(|e| e.get("usage").is_none()));
}

#[test]
fn a_stop_string_ends_the_answer_and_raw_keeps_the_models_text() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &[]);
    let v = chat(s.port, &ask(json!({"stop": "is 4"}))).json();
    assert_eq!(v["choices"][0]["message"]["content"], "The answer ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let events = chat(s.port, &ask(json!({"stop": ["4."], "stream": true}))).events();
    assert_eq!(streamed(&events, "content"), "The answer is ");
    let raw = chat(s.port, &ask(json!({"reasoning_format": "raw"}))).json();
    let text = raw["choices"][0]["message"]["content"].as_str().unwrap();
    for tag in [
        "<thinking>",
        "<reflection>",
        "</reflection>",
        "<output>",
        "</output>",
    ] {
        assert!(text.contains(tag), "{tag} in {text:?}");
    }
    let raw_stream = chat(
        s.port,
        &ask(json!({"reasoning_format": "raw", "stream": true})),
    );
    assert_eq!(streamed(&raw_stream.events(), "content"), text);
    // max_tokens cuts it: "length".
    let cut = chat(s.port, &ask(json!({"max_tokens": 2}))).json();
    assert_eq!(cut["choices"][0]["finish_reason"], "length");
    assert_eq!(cut["usage"]["completion_tokens"], 2);
}

#[test]
fn raw_text_streams_piece_by_piece_and_adds_up_to_the_whole_answer() {
    for (name, script) in [
        ("special-token tags", reflection_script()),
        ("plain-text tags", plain_tag_script()),
    ] {
        let m = model(script);
        let s = Served::ready(&m, &[]);
        let whole = chat(s.port, &ask(json!({"reasoning_format": "raw"}))).json();
        let text = whole["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            text.starts_with("<thinking>") && text.contains("</reflection>"),
            "{name}: {text:?}"
        );
        let body = ask(json!({"reasoning_format": "raw", "stream": true}));
        let events = chat(s.port, &body).events();
        let pieces = events
            .iter()
            .filter(|e| e["choices"][0]["delta"]["content"].as_str() > Some(""))
            .count();
        assert!(
            pieces > 3,
            "{name}: streamed in {pieces} pieces: {events:?}"
        );
        assert_eq!(streamed(&events, "content"), text, "{name}");
        let mut stop = body.clone();
        stop["stop"] = json!("</reflection>");
        let cut = &text[..text.find("</reflection>").unwrap()];
        let events = chat(s.port, &stop).events();
        assert_eq!(streamed(&events, "content"), cut, "{name}");
    }
}

#[test]
fn a_stop_string_in_the_raw_stream_ends_the_job_early() {
    let m = slow_thinker("w", 300);
    let s = Served::ready(&m, &[]);
    let body = ask(
        json!({"reasoning_format": "raw", "stream": true, "stop": " w5 ",
        "stream_options": {"include_usage": true}}),
    );
    let events = chat(s.port, &body).events();
    assert_eq!(streamed(&events, "content"), "<thinking> w0 w1 w2 w3 w4");
    let n = events.len();
    assert_eq!(events[n - 3]["choices"][0]["finish_reason"], "stop");
    let used = events[n - 2]["usage"]["completion_tokens"]
        .as_u64()
        .unwrap();
    assert!(used < 100, "{used} tokens of 300 words: the job went on");
}

#[test]
fn lookup_decoding_answers_the_same_and_its_timings_carry_the_drafts() {
    // The thinking repeats the question: lookup drafts it from the prompt.
    // One letter a token, as the prompt's text is tokenized too.
    let words = ["q", "r", "s", "t", "u", "v", "w", "x", "y", "z"];
    let mut script = vec![s("<thinking>")];
    script.extend(words.iter().map(|w| t(w)));
    script.extend([s("</thinking>"), s("<output>"), t("Done."), s("</output>")]);
    let m = model(script);
    let body = json!({"messages": [{"role": "user", "content": words.concat()}]});
    let plain = Served::ready(&m, &[]);
    let want = chat(plain.port, &body).json();
    assert!(want["timings"].get("draft_n").is_none(), "{want}");
    // One sequence, and the batched slots: each drafts for its own request.
    for args in [
        &["--lookup", "8"][..],
        &["--lookup", "8", "--parallel", "4"],
    ] {
        let fast = Served::ready(&m, args);
        let got = chat(fast.port, &body).json();
        assert_eq!(got["choices"], want["choices"], "{args:?}");
        assert_eq!(got["usage"], want["usage"], "{args:?}");
        let drafted = got["timings"]["draft_n"].as_u64().expect("draft_n");
        let accepted = got["timings"]["draft_n_accepted"]
            .as_u64()
            .expect("accepted");
        assert!(
            accepted > 0 && accepted <= drafted,
            "{args:?}: {}",
            got["timings"]
        );
    }
}

#[test]
fn reflects_own_endpoint_client_gets_what_the_local_engine_gives() {
    let m = model(reflection_script());
    let s = Served::ready(&m, &[]);
    let (code, local, err) = run_json(&m, &["--no-save", "What is 2+2?"]);
    assert_eq!(code, 0, "{err}");
    let mut cmd = reflect(m.dir.path());
    cmd.args([
        "--endpoint",
        &s.url(),
        "--format",
        "json",
        "--no-save",
        "What is 2+2?",
    ]);
    let (code, out, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let remote: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // (The stop reason differs: over HTTP the answer's closing tag is not seen, only "stop".)
    for key in ["output", "thinking", "reflections"] {
        assert_eq!(remote[key], local[key], "{key}");
    }
    assert_eq!(
        local["reflections"].as_array().map(Vec::len),
        Some(1),
        "{local}"
    );
    for key in ["prompt_tokens", "completion_tokens"] {
        assert_eq!(remote["usage"][key], local["usage"][key], "usage.{key}");
    }
}

/// A model that writes words for minutes (a long context, cycling), slowly enough to act
/// mid-stream.
fn endless() -> Model {
    let words: String = (0..400).map(|i| format!("w{i} ")).collect();
    let mut items = Vec::new();
    reflect::gguf::push_prose(&words, &mut Default::default(), &mut items);
    let mut sm = reflect::gguf::ScriptedModel::new(items);
    sm.cycle = true;
    sm.context_length = 16384;
    sm.padding = reflect::gguf::Padding {
        min_embd: 512,
        layers: 8,
    };
    write(sm)
}

/// Opens a stream of `body` and reads until `until` has come: the open connection.
fn open_stream(port: u16, body: &Value, until: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.to_string();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains(until) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

fn plain(extra: Value) -> Value {
    let mut body = json!({"messages": [{"role": "user", "content": "go"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[test]
fn a_client_that_leaves_mid_stream_frees_its_slot_at_once() {
    let m = endless();
    let log = m.dir.path().join("serve.log");
    let log_file = log.to_str().unwrap();
    let mut s = Served::ready(
        &m,
        &[
            "--parallel",
            "1",
            "--profile",
            "plain",
            "--log-file",
            log_file,
        ],
    );
    let three = || chat(s.port, &plain(json!({"max_tokens": 3})));
    let (first, reference) = timed(three);
    assert_eq!(first.json()["choices"][0]["message"]["content"], "w0 w1 w2");
    s.wait_for(|l| l.contains("POST /v1/chat/completions 200 prompt"));
    let port = s.port;
    let leaving = open_stream(port, &plain(json!({"stream": true})), "w5");
    drop(leaving);
    // The stream's end is logged once the server has seen the client go: that it left, and
    // what it cost until then (w0 to w5 had come).
    let left = s.wait_for(|l| l.contains("POST /v1/chat/completions 200"));
    assert!(left.contains(" 200 client left "), "{left}");
    let number = |after: &str| -> u64 {
        let rest = &left[left
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {left}"))
            + after.len()..];
        rest.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(number(" prompt ") > 0, "{left}");
    assert!(number(" completion ") >= 6, "{left}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&left[left.find(" POST").unwrap()..]),
        "{logged}"
    );
    let (next, took) = timed(|| chat(port, &plain(json!({"max_tokens": 3}))));
    assert_eq!(next.json()["choices"][0]["message"]["content"], "w0 w1 w2");
    let limit = bound(reference, Duration::ZERO);
    assert!(
        took < limit,
        "the next request took {took:?}, more than {limit:?} ({reference:?} before): the slot was still generating"
    );
}

#[test]
fn beyond_the_slots_and_the_queue_a_request_gets_503_with_retry_after() {
    let m = endless();
    let s = Served::ready(
        &m,
        &["--parallel", "1", "--queue", "0", "--profile", "plain"],
    );
    let holding = open_stream(s.port, &plain(json!({"stream": true})), "w3");
    let busy = chat(s.port, &plain(json!({"max_tokens": 3})));
    assert_eq!(busy.status, 503, "{}", String::from_utf8_lossy(&busy.body));
    assert!(
        busy.head.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        busy.head
    );
    let e = &busy.json()["error"];
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("unavailable_error"), Some("queue_full"))
    );
    drop(holding);
}

#[test]
fn sigterm_lets_a_running_stream_end_and_exits_0() {
    let m = endless();
    let mut s = Served::ready(&m, &["--profile", "plain"]);
    let mut stream = open_stream(s.port, &plain(json!({"stream": true})), "w3");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    s.wait_for(|l| l.contains("stopping"));
    // The stream runs on until the grace is over, then is cancelled and ends properly.
    let mut rest = String::new();
    stream.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("\"finish_reason\":\"stop\""), "{rest}");
    assert!(rest.contains("data: [DONE]"), "{rest}");
    let (code, said) = s.exit();
    assert_eq!(code, Some(0), "{said:#?}");
}

#[test]
fn a_second_signal_stops_at_once_cutting_off_the_running_stream() {
    let m = endless();
    let mut s = Served::ready(&m, &["--profile", "plain"]);
    let mut stream = open_stream(s.port, &plain(json!({"stream": true})), "w3");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGINT) };
    s.wait_for(|l| l.contains("stopping"));
    // SAFETY: as above.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    s.wait_for(|l| l.contains("stopped at once"));
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{:#?}", s.seen);
    // The stream was cut off, not finished: no finish reason, no [DONE].
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(!rest.contains("data: [DONE]"), "{rest}");
    assert!(!rest.contains("\"finish_reason\":\"stop\""), "{rest}");
}

#[test]
fn health_answers_503_while_the_model_loads_then_200() {
    let m = slow_thinker("t", 4);
    let log = m.dir.path().join("serve.log");
    let mut s = Served::start(&m, &["--log-file", log.to_str().unwrap()]);
    let loading = http(s.port, "GET", "/health", &[], b"");
    assert_eq!(
        (loading.status, loading.json()),
        (503, json!({"status": "loading"}))
    );
    let early = chat(s.port, &ask(json!({})));
    assert_eq!(early.status, 503);
    assert_eq!(early.json()["error"]["type"], "unavailable_error");
    s.wait_for(|l| l.starts_with("reflect serve: ready"));
    let ok = http(s.port, "GET", "/health", &[], b"");
    assert_eq!((ok.status, ok.json()), (200, json!({"status": "ok"})));
    let models = http(s.port, "GET", "/v1/models", &[], b"").json();
    assert_eq!(models["data"][0]["id"], "model");
    let (code, said) = s.terminate();
    assert_eq!(code, Some(0), "{said:#?}");
    // One line per request, on stderr and in the log file.
    let logged = std::fs::read_to_string(&log).unwrap();
    for line in [
        "GET /health 503",
        "POST /v1/chat/completions 503",
        "GET /health 200",
    ] {
        assert!(said.iter().any(|l| l.contains(line)), "{line}: {said:#?}");
        assert!(logged.contains(line), "{line}: {logged}");
    }
}

#[test]
fn a_model_that_cannot_load_exits_1_and_says_why() {
    let sandbox = Sandbox::new();
    let path = sandbox.path().join("broken.gguf");
    std::fs::write(&path, b"not a model at all").unwrap();
    let mut cmd = reflect(sandbox.path());
    cmd.args(["serve", "--port", "0", "-m"]).arg(&path);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("listening on"), "{err}");
    assert!(
        err.contains("cannot load the model") && err.contains("broken.gguf"),
        "{err}"
    );
    // Reachable from other machines without a key: said, before anything else happens.
    let mut cmd = reflect(sandbox.path());
    cmd.args(["serve", "--host", "0.0.0.0", "--port", "0", "-m"])
        .arg(&path);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("warning: 0.0.0.0 is reachable from other machines"),
        "{err}"
    );
    // --endpoint is not something serve can serve: a usage error.
    let mut cmd = reflect(sandbox.path());
    cmd.args(["serve", "--endpoint", "http://127.0.0.1:9/v1"]);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--endpoint"), "{err}");
    // So serve's help does not offer it, nor --tokenizer, which goes with it.
    let mut cmd = reflect(sandbox.path());
    cmd.args(["serve", "--help"]);
    let (code, help, _) = outcome(cmd);
    assert_eq!(code, 0);
    assert!(help.contains("--lookup <N>"), "{help}");
    for hidden in ["--endpoint <", "--tokenizer <"] {
        assert!(!help.contains(hidden), "{hidden} in {help}");
    }
}

#[test]
fn offered_tools_come_back_as_tool_calls_and_the_answer_follows_the_result() {
    use reflect::gguf::agent::{self, Call, Format, Script};
    let m = write(agent::model(
        Format::Hermes,
        Script::Answer(Call::read_file("notes.txt")),
    ));
    let s = Served::ready(&m, &[]);
    let tools = json!([{"type": "function", "function": {"name": "read_file",
        "description": "Read a text file", "parameters": {"type": "object",
        "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]);
    let question = json!({"role": "user", "content": "What do my notes say?"});
    let first = chat(s.port, &json!({"messages": [question], "tools": tools}));
    let v = first.json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{v}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "read_file");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"path": "notes.txt"}));
    assert_eq!(choice["message"]["content"], Value::Null);
    // Streamed: the same call as a delta, the same finish.
    let events = chat(
        s.port,
        &json!({"messages": [question], "tools": tools, "stream": true}),
    )
    .events();
    let streamed: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(streamed.len(), 1, "{events:?}");
    assert_eq!(streamed[0][0]["function"]["name"], "read_file");
    assert_eq!(streamed[0][0]["index"], 0);
    // The client ran it (serve never does) and sends the result back.
    let result = json!({"role": "tool", "tool_call_id": call["id"], "name": "read_file",
        "content": "hello"});
    let assistant = json!({"role": "assistant", "content": null, "tool_calls": [call]});
    let second = chat(
        s.port,
        &json!({"messages": [question, assistant, result], "tools": tools}),
    );
    let v = second.json();
    assert_eq!(v["choices"][0]["message"]["content"], agent::ANSWER, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

/// The resident memory of a process, in bytes (Linux's /proc).
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// Serving with slots holds one KV cache, not two: the single path's context lends its memory
/// to the slots' context. A random model whose KV cache (8 layers × 256 wide × 16,384
/// positions, f16 keys and values: 128 MiB) dwarfs its weights, served with one slot and with
/// two, each after answering one request: two slots hold the same cache split in two.
#[test]
fn serving_with_slots_holds_one_kv_cache_not_two() {
    use reflect::gguf::{write_random_model, RandomModelSpec};
    let dir = Sandbox::new();
    let path = dir.path().join("wide.gguf");
    let spec = RandomModelSpec {
        n_embd: 256,
        n_layer: 8,
        n_ff: 256,
        n_head: 4,
        n_vocab: 1024,
        context_length: 16384,
        ..RandomModelSpec::semantic()
    };
    write_random_model(&path, &spec).expect("write the model");
    let m = Model { dir, path };
    let kv: u64 = 8 * 256 * 16384 * 2 * 2;
    let resident = |slots: &str| {
        let s = Served::ready(&m, &["--ctx-size", "16384", "--parallel", slots]);
        let body = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
        let a = http(
            s.port,
            "POST",
            "/v1/chat/completions",
            &[],
            body.to_string().as_bytes(),
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        resident_bytes(s.child.id())
    };
    let one = resident("1");
    let two = resident("2");
    assert!(
        two < one + kv / 2,
        "two slots hold {two} bytes, one slot {one}: a second KV cache of {kv} bytes is kept"
    );
}
