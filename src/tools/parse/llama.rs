//! Llama 3.1 / 3.2 / 3.3: a JSON object `{"name": …, "parameters": {…}}` as the answer (where
//! the answer begins; several may follow, `;` between them), or a call after `<|python_tag|>`,
//! which runs to the end of the message.

use super::scan::{json_end, text_before_marker};
use super::{Step, ToolCall};

const TAG: &str = "<|python_tag|>";

pub(super) fn step(s: &str, at_start: bool, end: bool) -> Step {
    if at_start {
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        let ws = s.len() - t.len();
        if t.is_empty() {
            return if end { Step::Text(s.len()) } else { Step::Wait };
        }
        if t.starts_with('{') {
            return match json_end(t) {
                Some(e) => match bare_call(&t[..e]) {
                    Some(result) => Step::Call(ws + e, result),
                    None => Step::Text(ws + e),
                },
                None if end && looks_like_call(t) => {
                    Step::Call(s.len(), Err("the call was cut off before it closed".into()))
                }
                None if end => Step::Text(s.len()),
                None => Step::Wait,
            };
        }
    }
    match s.find(TAG) {
        Some(0) => tagged(s, end),
        Some(i) => Step::Text(i),
        None => text_before_marker(s, TAG, end),
    }
}

/// A JSON object that is a call: it names a tool and gives `parameters` (or `arguments`).
/// Other JSON is an answer like any other.
fn bare_call(json: &str) -> Option<Result<Vec<ToolCall>, String>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let o = value.as_object()?;
    let is_call =
        o.contains_key("name") && (o.contains_key("parameters") || o.contains_key("arguments"));
    is_call.then(|| ToolCall::from_json(&value).map(|c| vec![c]))
}

/// Whether unfinished JSON begins like a call (`{"name"`).
fn looks_like_call(t: &str) -> bool {
    t[1..].trim_start().starts_with("\"name\"")
}

/// `<|python_tag|>` and what follows: a JSON call, or (built-in tools, code) text reflect
/// cannot run.
fn tagged(s: &str, end: bool) -> Step {
    let body = s[TAG.len()..].trim_start();
    let at = s.len() - body.len();
    if body.starts_with('{') || body.starts_with('[') {
        if let Some(e) = json_end(body) {
            return Step::Call(at + e, ToolCall::parse_json(&body[..e]));
        }
    }
    if !end {
        return Step::Wait;
    }
    let problem = if body.starts_with('{') || body.starts_with('[') {
        "the call after <|python_tag|> was cut off before it closed".to_string()
    } else {
        "<|python_tag|> is followed by a built-in tool call or code, not a JSON call: only the \
         tools offered can be called, as {\"name\": …, \"parameters\": {…}}"
            .to_string()
    };
    Step::Call(s.len(), Err(problem))
}
