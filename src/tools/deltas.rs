//! Assembles the calls an OpenAI-compatible server streams as `delta.tool_calls` fragments:
//! the first fragment of each call carries its `index`, `id` and name, later ones carry pieces
//! of the arguments' JSON that may split anywhere (inside a string, inside an escape), and
//! several calls may interleave. Pure: fragments in, calls out when the stream ends.

use super::ToolCall;
use serde_json::Value;

/// One call being assembled.
#[derive(Debug, Clone, Default, PartialEq)]
struct Partial {
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

/// A call as the server sent it: its id (for the result message), and the call or why it
/// cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedCall {
    pub id: String,
    pub call: Result<ToolCall, String>,
}

/// The calls of one streamed message.
#[derive(Debug, Clone, Default)]
pub struct CallDeltas {
    calls: Vec<Partial>,
}

impl CallDeltas {
    /// Takes one chunk's `delta.tool_calls` value (a list of fragments).
    pub fn push(&mut self, fragments: &Value) {
        let Some(list) = fragments.as_array() else {
            return;
        };
        for f in list {
            let index = match f.get("index").and_then(Value::as_u64) {
                Some(i) => i,
                // Servers that send each call whole, without an index: a call of its own.
                None => self.calls.iter().map(|c| c.index + 1).max().unwrap_or(0),
            };
            let at = match self.calls.iter().position(|c| c.index == index) {
                Some(at) => at,
                None => {
                    self.calls.push(Partial {
                        index,
                        ..Partial::default()
                    });
                    self.calls.len() - 1
                }
            };
            let c = &mut self.calls[at];
            if let Some(id) = f.get("id").and_then(Value::as_str) {
                if c.id.is_empty() {
                    c.id = id.to_string();
                }
            }
            let function = f.get("function");
            if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                c.name.push_str(name);
            }
            match function.and_then(|f| f.get("arguments")) {
                Some(Value::String(piece)) => c.arguments.push_str(piece),
                // Some servers send the arguments as an object, whole.
                Some(v @ Value::Object(_)) => c.arguments.push_str(&v.to_string()),
                _ => {}
            }
        }
    }

    /// Whether any call has begun.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls, in index order; ids made up (`call_N`) where the server gave none.
    pub fn finish(mut self) -> Vec<StreamedCall> {
        self.calls.sort_by_key(|c| c.index);
        self.calls
            .into_iter()
            .map(|c| {
                let id = if c.id.is_empty() {
                    format!("call_{}", c.index)
                } else {
                    c.id
                };
                let arguments = if c.arguments.trim().is_empty() {
                    Value::Object(Default::default())
                } else {
                    match serde_json::from_str::<Value>(&c.arguments) {
                        Ok(v) => v,
                        Err(e) => {
                            let why =
                                format!("the arguments of '{}' are not valid JSON ({e})", c.name);
                            return StreamedCall { id, call: Err(why) };
                        }
                    }
                };
                let call = ToolCall::from_json(&serde_json::json!({
                    "name": c.name,
                    "arguments": arguments,
                }));
                StreamedCall { id, call }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn names_and_args(calls: &[StreamedCall]) -> Vec<(String, String, String)> {
        calls
            .iter()
            .map(|c| match &c.call {
                Ok(call) => (
                    c.id.clone(),
                    call.name.clone(),
                    Value::Object(call.arguments.clone()).to_string(),
                ),
                Err(e) => (c.id.clone(), "ERR".into(), e.clone()),
            })
            .collect()
    }

    #[test]
    fn interleaved_fragments_make_whole_calls_in_index_order() {
        let mut d = CallDeltas::default();
        for chunk in [
            json!([{"index": 1, "id": "call_b", "type": "function", "function": {"name": "list_dir", "arguments": ""}}]),
            json!([{"index": 0, "id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": "{\"pa"}}]),
            json!([{"index": 1, "function": {"arguments": "{}"}}]),
            json!([{"index": 0, "function": {"arguments": "th\": \"a\\"}}]),
            json!([{"index": 0, "function": {"arguments": "\"b\"}"}}]),
        ] {
            d.push(&chunk);
        }
        assert_eq!(
            names_and_args(&d.finish()),
            [
                (
                    "call_a".into(),
                    "read_file".into(),
                    r#"{"path":"a\"b"}"#.into()
                ),
                ("call_b".into(), "list_dir".into(), "{}".into()),
            ]
        );
    }

    #[test]
    fn whole_calls_without_index_or_id_and_broken_arguments() {
        let mut d = CallDeltas::default();
        d.push(&json!([{"function": {"name": "f", "arguments": {"a": 1}}}]));
        d.push(&json!([{"function": {"name": "g", "arguments": "{\"a\": "}}]));
        d.push(&json!([{"index": 5, "function": {"name": "no.dots"}}]));
        let got = names_and_args(&d.finish());
        assert_eq!(got[0], ("call_0".into(), "f".into(), r#"{"a":1}"#.into()));
        assert_eq!(got[1].0, "call_1");
        assert!(
            got[1]
                .2
                .starts_with("the arguments of 'g' are not valid JSON"),
            "{}",
            got[1].2
        );
        assert!(
            got[2].2.contains("'no.dots' is not a tool name"),
            "{}",
            got[2].2
        );
    }

    proptest! {
        /// However the server cuts the arguments, the call is the same.
        #[test]
        fn any_split_of_the_arguments_gives_the_same_call(cuts in prop::collection::vec(0usize..60, 0..8)) {
            let args = r#"{"path": "dir/é \"q\" \\ x", "start_line": 3}"#;
            let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c <= args.len() && args.is_char_boundary(c)).collect();
            bounds.extend([0, args.len()]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut d = CallDeltas::default();
            d.push(&json!([{"index": 0, "id": "x", "function": {"name": "read_file", "arguments": ""}}]));
            for w in bounds.windows(2) {
                d.push(&json!([{"index": 0, "function": {"arguments": &args[w[0]..w[1]]}}]));
            }
            let got = d.finish();
            let want: Value = serde_json::from_str(args).unwrap();
            prop_assert_eq!(Value::Object(got[0].call.clone().unwrap().arguments), want);
        }
    }
}
