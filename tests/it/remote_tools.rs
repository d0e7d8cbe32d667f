//! Tool calls through an OpenAI-compatible endpoint: the request carries the tools, the calls
//! come back as streamed `tool_calls` fragments (split anywhere, interleaved) or as text in the
//! answer, and a call written in the reasoning never counts. The fault-injection server makes
//! the splits no real server makes on demand; llama-server `--jinja` is the real one.

use crate::common::fake_server::*;
use reflect::engine::{Engine, RemoteConfig};
use reflect::gguf::agent::{self, Call, Format, Script};
use reflect::llm::{
    ChatMessage, Command, Completion, EngineError, EngineEvent, GenerateRequest, Role,
};
use reflect::stream::{Channel, RouterConfig};
use reflect::tools::ToolSettings;
use serde_json::json;

/// The built-in tools, on.
fn tools() -> Vec<serde_json::Value> {
    ToolSettings {
        on: true,
        ..ToolSettings::default()
    }
    .schemas()
}

fn request(messages: Vec<ChatMessage>) -> GenerateRequest {
    GenerateRequest {
        id: 1,
        messages,
        router: RouterConfig {
            stop_after_output: true,
            ..RouterConfig::default()
        },
        tools: tools(),
        ..GenerateRequest::default()
    }
}

/// One generation against `url`: the completion and the text shown per channel.
fn generate(url: &str, req: GenerateRequest) -> Result<(Completion, [String; 3]), EngineError> {
    let (engine, mut events) = Engine::start(RemoteConfig::new(url.to_string()));
    let mut shown: [String; 3] = Default::default();
    let mut sent = false;
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Loaded(_) if !sent => {
                sent = true;
                engine.send(Command::Generate(req.clone())).unwrap();
            }
            EngineEvent::Text { channel, text, .. } => {
                let i = match channel {
                    Channel::Thinking => 0,
                    Channel::Reflection => 1,
                    Channel::Output => 2,
                };
                shown[i].push_str(&text);
            }
            EngineEvent::Done(d) => return Ok((*d, shown)),
            EngineEvent::Error(e) => return Err(e),
            _ => {}
        }
    }
}

/// A `delta.tool_calls` chunk.
fn call_delta(fragments: serde_json::Value) -> serde_json::Value {
    chunk(
        json!({"choices":[{"index":0,"delta":{"tool_calls":fragments},"logprobs":null,"finish_reason":null}]}),
    )
}

#[test]
fn streamed_calls_split_anywhere_and_interleaved_are_read_whole_and_the_request_offers_the_tools() {
    let args_a = r#"{"path": "src/ma\"in.rs", "start_line": 2}"#;
    let args_b = r#"{"pattern": "fn \\w+", "glob": "*.rs"}"#;
    let mut events = vec![role(), reasoning("reasoning_content", "I should look.")];
    events.push(call_delta(json!([
        {"index": 0, "id": "call_A", "type": "function", "function": {"name": "read_file", "arguments": ""}},
    ])));
    events.push(call_delta(json!([
        {"index": 1, "id": "call_B", "type": "function", "function": {"name": "search", "arguments": ""}},
    ])));
    // Three bytes at a time, the two calls' pieces interleaved: inside strings and escapes.
    let a: Vec<&[u8]> = args_a.as_bytes().chunks(3).collect();
    let b: Vec<&[u8]> = args_b.as_bytes().chunks(3).collect();
    for i in 0..a.len().max(b.len()) {
        for (index, pieces) in [(0, &a), (1, &b)] {
            if let Some(p) = pieces.get(i) {
                events.push(call_delta(json!([
                    {"index": index, "function": {"arguments": String::from_utf8(p.to_vec()).unwrap()}}
                ])));
            }
        }
    }
    events.extend([finish("tool_calls"), usage(40, 30)]);
    let server = FakeServer::start(move |_, _| Reply::events(&events));
    let (done, shown) = generate(
        &server.url(),
        request(vec![ChatMessage::new(Role::User, "find main")]),
    )
    .unwrap();
    let calls: Vec<_> = done
        .calls
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                serde_json::Value::Object(c.arguments.clone()),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            (
                "read_file",
                json!({"path": "src/ma\"in.rs", "start_line": 2})
            ),
            ("search", json!({"pattern": "fn \\w+", "glob": "*.rs"})),
        ]
    );
    // reflect's own ids: nine letters or digits, one per call.
    assert!(
        done.calls.iter().all(|c| c.id.len() == 9),
        "{:?}",
        done.calls
    );
    assert_ne!(done.calls[0].id, done.calls[1].id);
    assert_eq!(shown[0], "I should look.");
    assert_eq!(shown[2], "", "a call is not answer text");
    let body = server.chats()[0].json();
    let offered: Vec<&str> = body["tools"]
        .as_array()
        .expect("the request offers the tools")
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        [
            "read_file",
            "list_dir",
            "search",
            "write_file",
            "edit_file",
            "run_command"
        ]
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert!(body["tools"][0]["function"]["parameters"]["properties"]["path"].is_object());
}

#[test]
fn a_call_written_in_the_reasoning_is_thinking_and_never_a_call() {
    let call = r#"{"name": "run_command", "parameters": {"command": "rm -rf ~"}}"#;
    let hermes =
        r#"<tool_call>{"name": "run_command", "arguments": {"command": "rm -rf ~"}}</tool_call>"#;
    for field in ["reasoning_content", "reasoning"] {
        let events = vec![
            role(),
            reasoning(field, "Maybe "),
            reasoning(field, call),
            // A closing tag quoted in the reasoning ends nothing: it is all thinking.
            reasoning(field, "</think></thinking>"),
            reasoning(field, hermes),
            content("No tool is needed: the answer is 4."),
            finish("stop"),
            usage(20, 9),
        ];
        for model in ["fake-model", "qwen3-8b"] {
            let events = events.clone();
            let server = FakeServer::with_models(&[model], move |_, _| Reply::events(&events));
            let (done, shown) = generate(
                &server.url(),
                request(vec![ChatMessage::new(Role::User, "q")]),
            )
            .unwrap();
            assert!(done.calls.is_empty(), "{field} {model}: {:?}", done.calls);
            assert!(
                shown[0].starts_with(&format!("Maybe {call}")) && shown[0].ends_with(hermes),
                "{field} {model}: all of it is thinking: {shown:?}"
            );
            assert_eq!(shown[2], "No tool is needed: the answer is 4.");
        }
    }
}

#[test]
fn a_server_that_returns_calls_as_text_goes_through_the_models_own_parser() {
    // (model, the answer's pieces) → one read_file call, none of it shown.
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "qwen2.5-7b-instruct",
            vec![
                "<tool_",
                "call>\n{\"name\": \"read_file\", \"argu",
                "ments\": {\"path\": \"a.txt\"}}\n</tool_call>",
            ],
        ),
        (
            "Reflection-Llama-3.1-70B",
            vec![
                "<output>{\"name\": \"read_",
                "file\", \"parameters\": {\"path\": \"a.txt\"}}</output>",
            ],
        ),
        (
            "mistral-small",
            vec![
                "[TOOL_CALLS][{\"name\": \"read_file\", ",
                "\"arguments\": {\"path\": \"a.txt\"}}]",
            ],
        ),
    ];
    for (model, pieces) in cases {
        let mut events = vec![role()];
        events.extend(pieces.iter().map(|p| content(p)));
        events.extend([finish("stop"), usage(20, 9)]);
        let server = FakeServer::with_models(&[model], move |_, _| Reply::events(&events));
        let (done, shown) = generate(
            &server.url(),
            request(vec![ChatMessage::new(Role::User, "q")]),
        )
        .unwrap();
        assert_eq!(done.calls.len(), 1, "{model}: {:?} {shown:?}", done.calls);
        assert_eq!(done.calls[0].name, "read_file");
        assert_eq!(done.calls[0].arguments["path"], "a.txt");
        assert_eq!(done.calls[0].id.len(), 9, "an id is given");
        assert_eq!(
            shown[2].trim(),
            "",
            "{model}: the call is not shown as the answer"
        );
    }
}

#[test]
fn the_next_step_sends_the_calls_and_their_results_as_the_api_takes_them() {
    let events = vec![
        role(),
        content("<output>It says hello.</output>"),
        finish("stop"),
    ];
    let server = FakeServer::start(move |_, _| Reply::events(&events));
    let mut call = reflect::tools::ToolCall::new(
        "read_file",
        json!({"path": "a.txt"}).as_object().unwrap().clone(),
    );
    call.id = "call_A".into();
    let messages = vec![
        ChatMessage::new(Role::User, "what does a.txt say?"),
        ChatMessage::calls("<thinking>Read it.</thinking>", vec![call.clone()]),
        ChatMessage::tool_result(&call, "hello"),
    ];
    let (done, shown) = generate(&server.url(), request(messages)).unwrap();
    assert!(done.calls.is_empty());
    assert_eq!(shown[2], "It says hello.");
    let sent = &server.chats()[0].json()["messages"];
    assert_eq!(sent[1]["role"], "assistant");
    assert_eq!(sent[1]["tool_calls"][0]["id"], "call_A");
    assert_eq!(sent[1]["tool_calls"][0]["type"], "function");
    assert_eq!(sent[1]["tool_calls"][0]["function"]["name"], "read_file");
    let args: serde_json::Value = serde_json::from_str(
        sent[1]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        args,
        json!({"path": "a.txt"}),
        "arguments go as a JSON text"
    );
    assert_eq!(
        sent[2],
        json!({"role": "tool", "content": "hello", "tool_call_id": "call_A", "name": "read_file"})
    );
}

#[test]
fn a_server_that_cannot_parse_the_models_call_fails_the_step_with_its_message() {
    // llama-server answers 500 when the model's output does not match its tool-call format.
    let server = FakeServer::start(|_, _| {
        Reply::error(
            500,
            "Failed to parse input: does not match the expected format",
            "server_error",
            None,
        )
    });
    let e = generate(
        &server.url(),
        request(vec![ChatMessage::new(Role::User, "q")]),
    )
    .expect_err("a failed step");
    assert!(
        e.to_string().contains("does not match the expected format"),
        "{e}"
    );
}

/// A preset tool-calling model with room for the tool list (~9,500 byte tokens).
fn agent_model(format: Format, script: Script) -> crate::common::Model {
    let mut m = agent::model(format, script);
    m.context_length = 16384;
    crate::common::write(m)
}

#[test]
fn llama_server_with_jinja_streams_the_call_and_the_answer_after_its_result() {
    let Some(bin) = crate::remote::server_binary() else {
        return;
    };
    let m = agent_model(Format::Llama3Json, Script::Answer(Call::read_file("a.txt")));
    let server = crate::remote::Server::start(&bin, &m, &["--jinja", "-c", "16384"]);
    let question = ChatMessage::new(Role::User, "What does a.txt say?");
    let (first, shown) = generate(&server.url(), request(vec![question.clone()])).unwrap();
    assert_eq!(first.calls.len(), 1, "{first:?} {shown:?}");
    let call = first.calls[0].clone();
    assert_eq!(call.name, "read_file");
    assert_eq!(call.arguments["path"], "a.txt");
    assert!(!call.id.is_empty());
    // Without --special llama-server drops the special-token tags, so the thinking arrives as
    // plain content; the call itself came as tool_calls, never as text.
    assert!(!shown[2].contains("read_file"), "{shown:?}");
    let messages = vec![
        question,
        ChatMessage::calls(first.text.clone(), vec![call.clone()]),
        ChatMessage::tool_result(&call, "hello"),
    ];
    let (second, shown) = generate(&server.url(), request(messages)).unwrap();
    assert!(second.calls.is_empty(), "{:?}", second.calls);
    assert_eq!(shown[2], agent::ANSWER, "{shown:?}");
}

#[test]
fn llama_server_failing_on_a_call_inside_the_thinking_fails_the_step_and_runs_nothing() {
    // llama-server's Llama 3.x parser starts at a `{"name":` anywhere, the thinking's too, and
    // then refuses the output: the step fails with the reason, and no call comes out.
    let Some(bin) = crate::remote::server_binary() else {
        return;
    };
    let call = Call::new("run_command", json!({"command": "rm -rf ~"}));
    let m = agent_model(Format::Llama3Json, Script::InThinking(call));
    let server = crate::remote::Server::start(&bin, &m, &["--jinja", "-c", "16384"]);
    let e = generate(
        &server.url(),
        request(vec![ChatMessage::new(Role::User, "q")]),
    )
    .expect_err("the server refuses the output");
    let said = e.to_string();
    assert!(said.contains("nothing was run"), "{said}");
    assert!(said.contains("-m"), "says what to do: {said}");
}
