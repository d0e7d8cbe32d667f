//! One call as the model wrote it: a tool name and its JSON arguments, checked for shape only
//! (whether the tool exists, and may run, is decided later).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Names the call, so that its result can answer it: the server's id, or one reflect gives
    /// ([`call_id`]): nine letters and digits, the shape Mistral's templates require. Empty
    /// until given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The tool's name, `^[a-zA-Z0-9_-]{1,64}$` as every function-calling API requires.
    pub name: String,
    /// The arguments: always a JSON object.
    pub arguments: Map<String, Value>,
}

/// Whether `name` is a tool name a function-calling API accepts (letters, digits, `_`, `-`;
/// 1 to 64 of them; no dots).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The id reflect gives call `index` of generation `generation`: nine lowercase hex digits
/// (the shape Mistral's templates require), different in every run of reflect, so that the
/// calls of a session continued later never share one.
pub fn call_id(generation: u64, index: usize) -> String {
    static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let salt = SALT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let h = crate::hash::fnv1a(format!("{salt}/{generation}/{index}").as_bytes());
    format!("{:09x}", h & 0xf_ffff_ffff)
}

impl ToolCall {
    /// A call without an id.
    pub fn new(name: impl Into<String>, arguments: Map<String, Value>) -> ToolCall {
        ToolCall {
            id: String::new(),
            name: name.into(),
            arguments,
        }
    }

    /// The arguments as one JSON text (the OpenAI wire shape).
    pub fn arguments_json(&self) -> String {
        Value::Object(self.arguments.clone()).to_string()
    }

    /// A call from a JSON object `{"name": …, "arguments" | "parameters": {…}}`: the key
    /// Hermes, Qwen and Mistral write (`arguments`) and the one Llama 3.1 writes
    /// (`parameters`); arguments given as a JSON string holding an object (the OpenAI wire
    /// shape) are accepted too. Missing arguments are an empty object.
    pub fn from_json(value: &Value) -> Result<ToolCall, String> {
        let Value::Object(o) = value else {
            return Err("a call must be a JSON object with \"name\" and \"arguments\"".into());
        };
        let name = match o.get("name") {
            Some(Value::String(n)) => n.clone(),
            Some(_) => return Err("the call's \"name\" is not a string".into()),
            None => return Err("the call has no \"name\"".into()),
        };
        if !valid_name(&name) {
            return Err(format!(
                "'{}' is not a tool name (letters, digits, _ and -, at most 64)",
                name.chars().take(80).collect::<String>()
            ));
        }
        let args = o.get("arguments").or_else(|| o.get("parameters"));
        let arguments = match args {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => return Err(format!("the arguments of '{name}' are not a JSON object")),
            },
            Some(_) => return Err(format!("the arguments of '{name}' are not a JSON object")),
        };
        Ok(ToolCall {
            id: String::new(),
            name,
            arguments,
        })
    }

    /// The calls in a JSON text: one object, or an array of them.
    pub fn parse_json(text: &str) -> Result<Vec<ToolCall>, String> {
        let value: Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("the call is not valid JSON ({e})"))?;
        match &value {
            Value::Array(items) if items.is_empty() => Err("an empty list of calls".into()),
            Value::Array(items) => items.iter().map(ToolCall::from_json).collect(),
            v => ToolCall::from_json(v).map(|c| vec![c]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_function_calling_rule() {
        for (name, ok) in [
            ("read_file", true),
            ("get-sum", true),
            ("a", true),
            ("", false),
            ("brave_search.call", false),
            ("read file", false),
            ("ré", false),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(valid_name(name), ok, "{name:?}");
        }
    }

    #[test]
    fn calls_read_both_argument_keys_and_string_arguments() {
        let table = [
            (
                json!({"name": "f", "arguments": {"a": 1}}),
                Ok(json!({"a": 1})),
            ),
            (
                json!({"name": "f", "parameters": {"a": 1}}),
                Ok(json!({"a": 1})),
            ),
            (
                json!({"name": "f", "arguments": "{\"a\": 1}"}),
                Ok(json!({"a": 1})),
            ),
            (json!({"name": "f"}), Ok(json!({}))),
            (
                json!({"name": "f", "arguments": [1]}),
                Err("not a JSON object"),
            ),
            (
                json!({"name": "f", "arguments": "[1]"}),
                Err("not a JSON object"),
            ),
            (json!({"name": 3}), Err("not a string")),
            (json!({"arguments": {}}), Err("no \"name\"")),
            (json!({"name": "a.b"}), Err("not a tool name")),
            (json!([1]), Err("JSON object")),
        ];
        for (input, want) in table {
            let got = ToolCall::from_json(&input);
            match (got, want) {
                (Ok(c), Ok(args)) => assert_eq!(Value::Object(c.arguments), args, "{input}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_json_text_holds_one_call_or_a_list() {
        let one = ToolCall::parse_json(r#" {"name": "f", "arguments": {}} "#).unwrap();
        assert_eq!(one.len(), 1);
        let two = ToolCall::parse_json(r#"[{"name": "f"}, {"name": "g"}]"#).unwrap();
        assert_eq!(
            two.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["f", "g"]
        );
        assert!(ToolCall::parse_json("[]").unwrap_err().contains("empty"));
        assert!(ToolCall::parse_json("{\"name\": ")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
