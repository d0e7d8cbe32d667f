use super::*;
use crate::llm::Timings;

fn text(channel: Channel, t: &str) -> EngineEvent {
    EngineEvent::Text {
        id: 1,
        channel,
        text: t.into(),
    }
}

fn done(reason: StopReason, text: &str) -> Completion {
    Completion {
        id: 1,
        stop_reason: reason,
        summary: Default::default(),
        usage: Usage {
            prompt_tokens: 10,
            prompt_tokens_evaluated: 4,
            completion_tokens: 9,
            thinking_tokens: 3,
            reflection_tokens: 2,
            output_tokens: 4,
            ..Usage::default()
        },
        timings: Timings::default(),
        text: text.into(),
        cost: None,
        seed: None,
        budget: None,
        calls: Vec::new(),
        malformed: Vec::new(),
    }
}

/// Thinking, a reflection, thinking again, a second reflection, the answer.
fn events() -> Vec<EngineEvent> {
    vec![
        text(Channel::Thinking, "I add."),
        EngineEvent::ReflectionStart { id: 1, n: 1 },
        text(Channel::Reflection, "Check it."),
        EngineEvent::ReflectionEnd { id: 1, n: 1 },
        text(Channel::Thinking, "So 4."),
        EngineEvent::ReflectionStart { id: 1, n: 2 },
        text(Channel::Reflection, "Sure."),
        EngineEvent::ReflectionEnd { id: 1, n: 2 },
        text(Channel::Output, "The answer "),
        text(Channel::Output, "is 4."),
    ]
}

fn field(deltas: &[Value], name: &str) -> String {
    deltas.iter().filter_map(|d| d[name].as_str()).collect()
}

#[test]
fn thinking_and_reflections_stream_in_order_and_add_up_to_the_whole_message() {
    let mut r = Reply::new(false, Vec::new());
    let mut deltas: Vec<Value> = events().iter().flat_map(|e| r.event(e).deltas).collect();
    let d = done(StopReason::OutputClosed, "");
    let (last, finish) = r.finish(&d);
    deltas.extend(last);
    assert_eq!(finish, "stop");
    let reasoning = "I add.\n\nCheck it.\n\nSo 4.\n\nSure.";
    assert_eq!(field(&deltas, "reasoning_content"), reasoning);
    assert_eq!(field(&deltas, "reasoning"), reasoning);
    assert_eq!(field(&deltas, "reflection"), "Check it.\n\nSure.");
    assert_eq!(field(&deltas, "content"), "The answer is 4.");
    // A reflection's delta carries it in all three fields; thinking in two.
    assert_eq!(
        deltas[1],
        json!({"reasoning_content": "\n\nCheck it.", "reasoning": "\n\nCheck it.",
            "reflection": "Check it."})
    );
    assert_eq!(
        deltas[0],
        json!({"reasoning_content": "I add.", "reasoning": "I add."})
    );
    let m = r.message(&d);
    assert_eq!(
        m,
        json!({"role": "assistant", "content": "The answer is 4.",
            "reasoning_content": reasoning, "reasoning": reasoning,
            "reflection": "Check it.\n\nSure."})
    );
}

#[test]
fn a_stop_string_ends_the_answer_there() {
    let mut r = Reply::new(false, vec!["is".into()]);
    let steps: Vec<Step> = events().iter().map(|e| r.event(e)).collect();
    assert!(steps.last().unwrap().stopped);
    assert!(!steps[8].stopped);
    let (last, finish) = r.finish(&done(StopReason::Cancelled, ""));
    assert!(last.is_empty(), "{last:?}");
    assert_eq!(finish, "stop");
    assert_eq!(r.content, "The answer ");
}

fn raw(t: &str) -> EngineEvent {
    EngineEvent::Raw {
        id: 1,
        text: t.into(),
    }
}

const WHOLE: &str = "<thinking>I add.</thinking><output>The answer is 4.</output>";

/// [`WHOLE`] as the engine's raw events, split mid-tag.
fn raw_events() -> Vec<EngineEvent> {
    [
        "<thinking>",
        "I add.",
        "</thi",
        "nking><output>The ",
        "answer is 4.",
        "</output>",
    ]
    .into_iter()
    .map(raw)
    .collect()
}

#[test]
fn raw_streams_the_models_text_piece_by_piece_as_the_content() {
    let mut r = Reply::new(true, Vec::new());
    let deltas: Vec<Value> = raw_events()
        .iter()
        .flat_map(|e| r.event(e).deltas)
        .collect();
    assert_eq!(deltas.len(), 6, "one delta a piece: {deltas:?}");
    assert_eq!(field(&deltas, "content"), WHOLE);
    let (last, finish) = r.finish(&done(StopReason::OutputClosed, WHOLE));
    assert!(last.is_empty(), "{last:?}");
    assert_eq!(finish, "stop");
    assert_eq!(
        r.message(&done(StopReason::OutputClosed, WHOLE))["content"],
        WHOLE
    );
}

#[test]
fn raw_events_are_ignored_unless_raw_was_asked() {
    let mut r = Reply::new(false, Vec::new());
    assert!(raw_events().iter().all(|e| r.event(e).deltas.is_empty()));
}

#[test]
fn a_stop_string_in_the_raw_text_stops_the_job_where_it_comes() {
    let mut cut = Reply::new(true, vec!["</thinking>".into()]);
    let steps: Vec<Step> = raw_events().iter().map(|e| cut.event(e)).collect();
    let stopped_at = steps.iter().position(|s| s.stopped);
    assert_eq!(
        stopped_at,
        Some(3),
        "stopped when the stop string completed"
    );
    let deltas: Vec<Value> = steps.into_iter().flat_map(|s| s.deltas).collect();
    assert_eq!(field(&deltas, "content"), "<thinking>I add.");
    let (last, finish) = cut.finish(&done(StopReason::Cancelled, WHOLE));
    assert!(last.is_empty(), "{last:?}");
    assert_eq!(finish, "stop");
    assert_eq!(
        cut.message(&done(StopReason::Cancelled, WHOLE))["content"],
        "<thinking>I add."
    );
}

#[test]
fn a_block_that_starts_on_a_new_line_gets_no_second_break() {
    let mut r = Reply::new(false, Vec::new());
    for e in [
        text(Channel::Thinking, "a"),
        EngineEvent::ReflectionStart { id: 1, n: 1 },
        text(Channel::Reflection, "\nb"),
        EngineEvent::ReflectionEnd { id: 1, n: 1 },
        text(Channel::Thinking, "c\n"),
        EngineEvent::ReflectionStart { id: 1, n: 2 },
        text(Channel::Reflection, "d"),
    ] {
        r.event(&e);
    }
    assert_eq!(r.reasoning, "a\nb\n\nc\nd");
    assert_eq!(r.reflection, "\nb\n\nd");
}

#[test]
fn finish_reasons_and_calls() {
    let table = [
        (StopReason::EndOfTurn, "stop"),
        (StopReason::OutputClosed, "stop"),
        (StopReason::MaxTokens, "length"),
        (StopReason::ContextFull, "length"),
        (StopReason::Cancelled, "stop"),
    ];
    for (reason, want) in table {
        let mut r = Reply::new(false, Vec::new());
        assert_eq!(r.finish(&done(reason, "")).1, want, "{reason:?}");
    }
    let mut d = done(StopReason::EndOfTurn, "");
    d.calls.push(crate::tools::ToolCall {
        id: "abc123def".into(),
        name: "get_weather".into(),
        arguments: json!({"city": "Paris"}).as_object().unwrap().clone(),
    });
    let mut r = Reply::new(false, Vec::new());
    let (deltas, finish) = r.finish(&d);
    assert_eq!(finish, "tool_calls");
    let want = json!({"index": 0, "id": "abc123def", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}});
    assert_eq!(deltas, vec![json!({ "tool_calls": [want] })]);
    let m = r.message(&d);
    assert_eq!(m["content"], Value::Null);
    assert_eq!(m["tool_calls"][0]["function"]["name"], "get_weather");
    assert!(m["tool_calls"][0].get("index").is_none());
}

#[test]
fn usage_counts_reasoning_where_clients_look_and_each_channel() {
    let d = done(StopReason::EndOfTurn, "");
    let u = d.usage;
    assert_eq!(
        usage(&u),
        json!({"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19,
            "prompt_tokens_details": {"cached_tokens": 6},
            "completion_tokens_details": {"reasoning_tokens": 5},
            "thinking_tokens": 3, "reflection_tokens": 2, "output_tokens": 4})
    );
    let e = Envelope {
        id: "chatcmpl-1".into(),
        created: 5,
        model: "m".into(),
    };
    let c = e.chunk(json!({"content": "x"}), None);
    assert_eq!(c["object"], "chat.completion.chunk");
    assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
    let uc = e.usage_chunk(&d);
    assert_eq!(uc["choices"], json!([]));
    assert_eq!(uc["usage"]["total_tokens"], 19);
    assert_eq!(
        (
            uc["timings"]["cache_n"].as_u64(),
            uc["timings"]["prompt_n"].as_u64()
        ),
        (Some(6), Some(4))
    );
    assert_eq!(uc["timings"]["predicted_n"], 9);
}

#[test]
fn raw_sends_the_thinking_once_in_the_content_not_again_as_reasoning() {
    // The engine sends its routed text beside the raw text: only the raw text goes out.
    let mut r = Reply::new(true, Vec::new());
    let deltas: Vec<Value> = raw_events()
        .iter()
        .chain(&events())
        .flat_map(|e| r.event(e).deltas)
        .collect();
    assert_eq!(field(&deltas, "content"), WHOLE);
    assert_eq!(field(&deltas, "reasoning_content"), "");
    assert_eq!(field(&deltas, "reflection"), "");
}
