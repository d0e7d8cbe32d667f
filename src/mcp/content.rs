//! A tool result as the model gets it: text content as text; images, audio and resources
//! named, never dumped; `isError` a failure; the whole capped like every tool's result.

use crate::tools::Outcome;
use serde_json::Value;

/// The [`Outcome`] of a `tools/call` result (`{"content": [...], "isError": bool, ...}`).
pub fn outcome(result: &Value) -> Outcome {
    let parts: Vec<String> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(block).collect())
        .unwrap_or_default();
    let mut text = parts.join("\n");
    if text.is_empty() {
        if let Some(s) = result.get("structuredContent").filter(|s| !s.is_null()) {
            text = s.to_string();
        }
    }
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        Outcome::failed(if text.is_empty() {
            "the tool failed (no details given)".into()
        } else {
            text
        })
    } else {
        Outcome::ok(text)
    }
}

/// One content block: text itself, anything else a bracketed line naming it.
pub(super) fn block(b: &Value) -> String {
    let field = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("");
    let size = |k: &str| {
        // base64: three bytes in four characters.
        b.get(k)
            .and_then(Value::as_str)
            .map(|d| d.len() / 4 * 3)
            .unwrap_or(0)
    };
    match field("type") {
        "text" => field("text").to_string(),
        "image" => format!(
            "[image: {}, {} bytes, not shown]",
            field("mimeType"),
            size("data")
        ),
        "audio" => format!(
            "[audio: {}, {} bytes, not shown]",
            field("mimeType"),
            size("data")
        ),
        "resource_link" => format!("[resource link: {} ({})]", field("uri"), field("name")),
        "resource" => {
            let r = b.get("resource").cloned().unwrap_or_default();
            let uri = r.get("uri").and_then(Value::as_str).unwrap_or("");
            match r.get("text").and_then(Value::as_str) {
                Some(t) => format!("[resource {uri}]\n{t}"),
                None => format!("[resource {uri}: binary, not shown]"),
            }
        }
        other => format!(
            "[{} content, not shown]",
            if other.is_empty() { "unknown" } else { other }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::result::RESULT_CAP;
    use serde_json::json;

    #[test]
    fn results_become_outcomes() {
        let table = [
            (
                json!({"content": [{"type": "text", "text": "hi"}]}),
                true,
                "hi".to_string(),
            ),
            (
                json!({"content": [{"type": "text", "text": "a"}, {"type": "image", "data": "AAAA", "mimeType": "image/png"}]}),
                true,
                "a\n[image: image/png, 3 bytes, not shown]".into(),
            ),
            (
                json!({"content": [{"type": "audio", "data": "", "mimeType": "audio/wav"}]}),
                true,
                "[audio: audio/wav, 0 bytes, not shown]".into(),
            ),
            (
                json!({"content": [{"type": "resource_link", "uri": "file:///a", "name": "a"}]}),
                true,
                "[resource link: file:///a (a)]".into(),
            ),
            (
                json!({"content": [{"type": "resource", "resource": {"uri": "u", "text": "body"}}]}),
                true,
                "[resource u]\nbody".into(),
            ),
            (
                json!({"content": [{"type": "resource", "resource": {"uri": "u", "blob": "AAAA"}}]}),
                true,
                "[resource u: binary, not shown]".into(),
            ),
            (
                json!({"content": [{"type": "text", "text": "no"}], "isError": true}),
                false,
                "no".into(),
            ),
            (
                json!({"content": [], "isError": true}),
                false,
                "the tool failed (no details given)".into(),
            ),
            (
                json!({"content": [], "structuredContent": {"n": 1}}),
                true,
                "{\"n\":1}".into(),
            ),
            (
                json!({"content": [{"type": "video"}]}),
                true,
                "[video content, not shown]".into(),
            ),
        ];
        for (result, ok, text) in table {
            let o = outcome(&result);
            assert_eq!((o.ok, o.text.as_str()), (ok, text.as_str()), "{result}");
        }
    }

    #[test]
    fn huge_results_are_capped() {
        let o =
            outcome(&json!({"content": [{"type": "text", "text": "x".repeat(RESULT_CAP * 2)}]}));
        assert!(o.text.len() < RESULT_CAP + 100);
        assert!(o.text.contains("[cut: "));
    }
}
