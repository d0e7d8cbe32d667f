//! A server's prompts as chat slash commands: `/SERVER:PROMPT arg=value arg2="two words"` read
//! into its parts, and a `prompts/get` result made into the text that fills the message box.

use serde_json::Value;
use std::collections::BTreeMap;

/// A `/SERVER:PROMPT key=value …` line.
#[derive(Debug, PartialEq)]
pub struct Invocation {
    pub server: String,
    pub prompt: String,
    pub arguments: BTreeMap<String, String>,
}

/// Reads a slash command naming a server's prompt; `None` when `line` is not one
/// (`/help`, plain text); `Err` when its arguments are not `key=value` (the message says which).
pub fn parse(line: &str) -> Option<Result<Invocation, String>> {
    let rest = line.trim().strip_prefix('/')?;
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (server, prompt) = head.split_once(':')?;
    if server.is_empty() || prompt.is_empty() {
        return None;
    }
    Some(arguments(args).map(|arguments| Invocation {
        server: server.to_string(),
        prompt: prompt.to_string(),
        arguments,
    }))
}

/// `key=value` words; a value may be in double quotes to hold spaces.
fn arguments(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            return Err(format!("'{rest}': expected key=value"));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("'{key}': expected key=value"));
        }
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or(format!("{key}: the closing \" is missing"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_once(char::is_whitespace).unwrap_or((after, ""))
        };
        out.insert(key.to_string(), value.to_string());
        rest = next.trim_start();
    }
    Ok(out)
}

/// The text of a `prompts/get` result: its messages' text, one after the other (other content
/// named, as in tool results).
pub fn text(result: &Value) -> String {
    let messages = result["messages"].as_array().cloned().unwrap_or_default();
    let parts: Vec<String> = messages
        .iter()
        .map(|m| match &m["content"] {
            Value::Array(blocks) => blocks
                .iter()
                .map(super::content::block)
                .collect::<Vec<_>>()
                .join("\n"),
            block => super::content::block(block),
        })
        .collect();
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slash_commands_name_a_server_prompt_and_arguments() {
        let i = parse("/every:args-prompt city=Paris state=\"Ile de France\"")
            .unwrap()
            .unwrap();
        assert_eq!(
            (i.server.as_str(), i.prompt.as_str()),
            ("every", "args-prompt")
        );
        assert_eq!(i.arguments["city"], "Paris");
        assert_eq!(i.arguments["state"], "Ile de France");
        assert!(parse("/every:simple-prompt")
            .unwrap()
            .unwrap()
            .arguments
            .is_empty());
        assert_eq!(parse("/help"), None);
        assert_eq!(parse("hello /a:b"), None);
        assert_eq!(parse("/:b"), None);
        assert!(parse("/a:b city")
            .unwrap()
            .unwrap_err()
            .contains("expected key=value"));
        assert!(parse("/a:b k=\"open")
            .unwrap()
            .unwrap_err()
            .contains("closing"));
    }

    #[test]
    fn prompt_results_become_the_message_text() {
        let r = json!({"messages": [
            {"role": "user", "content": {"type": "text", "text": "What is the weather in Paris?"}},
            {"role": "user", "content": {"type": "resource", "resource": {"uri": "u", "text": "r"}}},
        ]});
        assert_eq!(text(&r), "What is the weather in Paris?\n\n[resource u]\nr");
        assert_eq!(text(&json!({})), "");
    }
}
