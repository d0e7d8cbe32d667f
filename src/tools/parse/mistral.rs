//! Mistral: `[TOOL_CALLS][{"name": …, "arguments": {…}}, …]`, and the newer templates'
//! `[TOOL_CALLS]name[ARGS]{…}` (one call per marker).

use super::scan::{json_end, text_before_marker};
use super::{Step, ToolCall};

const MARK: &str = "[TOOL_CALLS]";
const ARGS: &str = "[ARGS]";
/// The longest tool name: a name must end (at `[ARGS]`) within this many bytes.
const NAME_MAX: usize = 64;

pub(super) fn step(s: &str, end: bool) -> Step {
    match s.find(MARK) {
        Some(0) => after_marker(s, end),
        Some(i) => Step::Text(i),
        None => text_before_marker(s, MARK, end),
    }
}

fn after_marker(s: &str, end: bool) -> Step {
    let body = &s[MARK.len()..];
    let rest = body.trim_start();
    let at = s.len() - rest.len();
    if rest.is_empty() {
        return if end {
            Step::Call(s.len(), Err("[TOOL_CALLS] with no call after it".into()))
        } else {
            Step::Wait
        };
    }
    if rest.starts_with('[') || rest.starts_with('{') {
        return match json_end(rest) {
            Some(e) => Step::Call(at + e, ToolCall::parse_json(&rest[..e])),
            None if end => Step::Call(s.len(), Err("the list of calls was cut off".into())),
            None => Step::Wait,
        };
    }
    match rest.find(ARGS).filter(|&a| a <= NAME_MAX) {
        Some(a) => named(s, at, a, end),
        None if end || rest.len() >= NAME_MAX + ARGS.len() => Step::Call(
            at,
            Err("[TOOL_CALLS] is followed by neither a JSON list nor NAME[ARGS]{…}".into()),
        ),
        None => Step::Wait,
    }
}

/// `name[ARGS]{…}`: the name is `s[at..at + a]`.
fn named(s: &str, at: usize, a: usize, end: bool) -> Step {
    let name = &s[at..at + a];
    let after = &s[at + a + ARGS.len()..];
    let json = after.trim_start();
    let j = s.len() - json.len();
    if !json.starts_with('{') {
        return match (json.is_empty(), end) {
            (true, false) => Step::Wait,
            _ => Step::Call(
                j,
                Err(format!("the arguments of '{name}' are not a JSON object")),
            ),
        };
    }
    match json_end(json) {
        Some(e) => {
            let call = serde_json::from_str::<serde_json::Value>(&json[..e])
                .map_err(|err| format!("the arguments of '{name}' are not valid JSON ({err})"))
                .and_then(|args| {
                    ToolCall::from_json(&serde_json::json!({"name": name, "arguments": args}))
                })
                .map(|c| vec![c]);
            Step::Call(j + e, call)
        }
        None if end => Step::Call(s.len(), Err(format!("the call to '{name}' was cut off"))),
        None => Step::Wait,
    }
}
