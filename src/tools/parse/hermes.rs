//! Hermes, Qwen 2.5 and Qwen 3: `<tool_call>{"name": …, "arguments": {…}}</tool_call>`,
//! anywhere in the answer, several in a row.

use super::scan::text_before_marker;
use super::{Step, ToolCall};

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

pub(super) fn step(s: &str, end: bool) -> Step {
    match s.find(OPEN) {
        Some(0) => {
            let body = &s[OPEN.len()..];
            match body.find(CLOSE) {
                Some(i) => Step::Call(
                    OPEN.len() + i + CLOSE.len(),
                    ToolCall::parse_json(&body[..i]),
                ),
                // The generation stopped before the closing tag (a stop word ate it): a
                // complete call still counts.
                None if end => Step::Call(
                    s.len(),
                    ToolCall::parse_json(body)
                        .map_err(|e| format!("{e}; the <tool_call> was never closed")),
                ),
                None => Step::Wait,
            }
        }
        Some(i) => Step::Text(i),
        None => text_before_marker(s, OPEN, end),
    }
}
