use super::*;
use serde_json::json;

fn parse_json(v: Value) -> Result<ChatParams, ApiError> {
    parse(v.to_string().as_bytes())
}

fn base() -> Value {
    json!({"messages": [{"role": "user", "content": "hi"}]})
}

#[test]
fn every_known_field_read_with_its_type() {
    let p = parse_json(json!({
        "model": "m", "stream": true, "stream_options": {"include_usage": true},
        "temperature": 0.5, "top_p": 0.9, "top_k": 7, "min_p": 0.1, "seed": 4294967297u64,
        "max_tokens": 10, "max_completion_tokens": 20, "stop": ["a", ""],
        "thinking_budget_tokens": 30, "reasoning_format": "raw", "n": 1,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "messages": [
            {"role": "developer", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}
        ],
        "frequency_penalty": 0, "user": "someone", "logit_bias": {}
    }))
    .unwrap();
    assert_eq!(p.model.as_deref(), Some("m"));
    assert!(p.stream && p.include_usage && p.raw);
    assert_eq!(
        (p.temperature, p.top_p, p.top_k, p.min_p),
        (Some(0.5), Some(0.9), Some(7), Some(0.1))
    );
    assert_eq!(p.seed, Some(1), "a seed keeps its low 32 bits");
    assert_eq!(p.max_tokens, Some(20), "max_completion_tokens wins");
    assert_eq!(p.stop, ["a"]);
    assert_eq!(p.thinking_budget, Some(30));
    assert_eq!(p.tools.len(), 1);
    let roles: Vec<Role> = p.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::Tool]
    );
    assert_eq!(p.messages[1].content, "ab");
    assert_eq!(p.messages[2].tool_calls[0].arguments["x"], 1);
    assert_eq!(p.messages[3].tool_call_id.as_deref(), Some("c1"));
    let plain = parse_json(json!({"model": "", "stop": "x",
        "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    assert_eq!(plain.model, None, "an empty model is the served one");
    assert_eq!(plain.stop, ["x"]);
    assert!(!plain.stream && !plain.raw);
}

#[test]
fn a_wrong_type_or_value_is_a_400_naming_the_field() {
    let table: &[(&str, Value, &str)] = &[
        ("model", json!(3), "model"),
        ("stream", json!("yes"), "stream"),
        (
            "stream_options",
            json!({"include_usage": 1}),
            "stream_options.include_usage",
        ),
        ("stream_options", json!([]), "stream_options"),
        ("temperature", json!("hot"), "temperature"),
        ("temperature", json!(-1), "temperature"),
        ("top_p", json!(2), "top_p"),
        ("stop", json!(vec!["x"; 17]), "stop"),
        ("stop", json!(["x".repeat(1025)]), "stop[0]"),
        ("top_k", json!(1.5), "top_k"),
        ("min_p", json!(true), "min_p"),
        ("seed", json!("s"), "seed"),
        ("max_tokens", json!(0), "max_tokens"),
        ("max_tokens", json!("10"), "max_tokens"),
        ("max_completion_tokens", json!(-3), "max_completion_tokens"),
        ("stop", json!(5), "stop"),
        ("stop", json!(["a", 1]), "stop[1]"),
        (
            "thinking_budget_tokens",
            json!("lots"),
            "thinking_budget_tokens",
        ),
        ("tools", json!({}), "tools"),
        ("tools", json!([{"type": "function"}]), "tools[0]"),
        ("reasoning_format", json!(1), "reasoning_format"),
        ("n", json!(2), "n"),
        ("messages", json!("hi"), "messages"),
        ("messages", json!([]), "messages"),
        ("messages", json!([3]), "messages[0]"),
        ("messages", json!([{"content": "x"}]), "messages[0].role"),
        (
            "messages",
            json!([{"role": "king", "content": "x"}]),
            "messages[0].role",
        ),
        (
            "messages",
            json!([{"role": "user", "content": 1}]),
            "messages[0].content",
        ),
        (
            "messages",
            json!([{"role": "user", "content": [{"type": "image_url"}]}]),
            "messages[0].content[0]",
        ),
        (
            "messages",
            json!([{"role": "assistant", "tool_calls": [{"function": {}}]}]),
            "messages[0].tool_calls[0]",
        ),
        (
            "messages",
            json!([{"role": "tool", "tool_call_id": 1, "content": ""}]),
            "messages[0].tool_call_id",
        ),
    ];
    for (name, value, param) in table {
        let mut body = base();
        body[*name] = value.clone();
        let e = parse_json(body).expect_err(param);
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{param}");
        assert_eq!(e.param.as_deref(), Some(*param), "{name} = {value}");
        assert!(e.message.contains(param), "{param}: {}", e.message);
    }
}

#[test]
fn a_body_that_is_not_a_json_object_is_a_400() {
    for body in [&b"{\"messages\": ["[..], b"", b"[1]", b"\xff"] {
        let e = parse(body).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(e.kind, "invalid_request_error");
    }
    assert!(parse(b"{}")
        .unwrap_err()
        .message
        .contains("messages is required"));
}
