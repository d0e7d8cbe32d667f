//! A chat completion request as clients send it, read and checked: every field reflect knows
//! is taken with its type checked (a wrong type is a 400 naming the field), every other field
//! is ignored (clients send many). Pure: no server, no engine.

use super::errors::ApiError;
use crate::llm::{ChatMessage, Role};
use crate::tools::ToolCall;
use serde_json::{Map, Value};

/// The largest request body taken (413 above it).
pub const BODY_LIMIT: usize = 4 << 20;

/// What a request asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatParams {
    /// The model named, when not absent or empty.
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the usage.
    pub include_usage: bool,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i32>,
    pub min_p: Option<f32>,
    pub seed: Option<u32>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    /// Where the answer ends (`stop`, a string or a list).
    pub stop: Vec<String>,
    /// `thinking_budget_tokens`: reflect's thinking budget.
    pub thinking_budget: Option<u32>,
    pub tools: Vec<Value>,
    /// `reasoning_format` "raw" (or llama-server's "none"): the model's text untouched in
    /// `content`.
    pub raw: bool,
}

/// Reads a request body.
pub fn parse(body: &[u8]) -> Result<ChatParams, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(
            "the request body must be a JSON object ({\"messages\": [...], ...})",
        ));
    };
    let f = Fields(&map);
    if let Some(n) = f.int("n")? {
        if n != 1 {
            return Err(ApiError::field(
                "n",
                "n: only 1 choice per request is served",
            ));
        }
    }
    let stream_options = f.object("stream_options")?;
    let include_usage = match stream_options {
        Some(o) => Fields(o).boolean_at("include_usage", "stream_options.include_usage")?,
        None => None,
    };
    let max_tokens = match f.count("max_completion_tokens", 1)? {
        Some(n) => Some(n),
        None => f.count("max_tokens", 1)?,
    };
    Ok(ChatParams {
        model: f.string("model")?.filter(|m| !m.is_empty()),
        messages: messages(&map)?,
        stream: f.boolean("stream")?.unwrap_or(false),
        include_usage: include_usage.unwrap_or(false),
        temperature: f.number("temperature", 0.0, f32::MAX)?,
        top_p: f.number("top_p", 0.0, 1.0)?,
        top_k: f.count("top_k", 0)?.map(|k| k.min(i32::MAX as u32) as i32),
        min_p: f.number("min_p", 0.0, 1.0)?,
        seed: f.int("seed")?.map(|s| s as u32),
        max_tokens,
        stop: stop(&map)?,
        thinking_budget: f.count("thinking_budget_tokens", 0)?,
        tools: tools(&map)?,
        raw: matches!(
            f.string("reasoning_format")?.as_deref(),
            Some("raw" | "none")
        ),
    })
}

/// Typed access to an object's members; `null` is absent.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.get(name)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong(name, "a string", v))
            })
            .transpose()
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.boolean_at(name, name)
    }

    fn boolean_at(&self, name: &str, path: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| v.as_bool().ok_or_else(|| wrong(path, "true or false", v)))
            .transpose()
    }

    fn object(&self, name: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        self.get(name)
            .map(|v| v.as_object().ok_or_else(|| wrong(name, "an object", v)))
            .transpose()
    }

    /// A number from `min` to `max`.
    fn number(&self, name: &str, min: f32, max: f32) -> Result<Option<f32>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let x = v.as_f64().ok_or_else(|| wrong(name, "a number", v))? as f32;
        if !(min..=max).contains(&x) {
            let range = if max == f32::MAX {
                format!("{min} or more")
            } else {
                format!("from {min} to {max}")
            };
            return Err(ApiError::field(
                name,
                format!("{name} must be {range}, not {v}"),
            ));
        }
        Ok(Some(x))
    }

    /// An integer (any size; a seed keeps its low 32 bits).
    fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.as_i64()
                    .or_else(|| v.as_u64().map(|u| u as i64))
                    .ok_or_else(|| wrong(name, "an integer", v))
            })
            .transpose()
    }

    /// A whole number, `min` or more.
    fn count(&self, name: &str, min: u32) -> Result<Option<u32>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.as_u64() {
            Some(n) if n >= u64::from(min) => Ok(Some(n.min(u64::from(u32::MAX)) as u32)),
            _ if v.is_i64() || v.is_u64() => Err(ApiError::field(
                name,
                format!("{name} must be {min} or more, not {v}"),
            )),
            _ => Err(wrong(name, "a whole number", v)),
        }
    }
}

/// The 400 of a field of the wrong type.
fn wrong(path: &str, want: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::field(path, format!("{path} must be {want}, not {kind}"))
}

/// The most stop strings a request may give, and the longest one (each is looked for in every
/// piece of the answer).
const MOST_STOPS: usize = 16;
const LONGEST_STOP: usize = 1024;

fn stop(map: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let stops = stop_strings(map)?;
    if stops.len() > MOST_STOPS {
        return Err(ApiError::field(
            "stop",
            format!(
                "stop holds {} strings; at most {MOST_STOPS} are taken",
                stops.len()
            ),
        ));
    }
    if let Some((i, s)) = stops
        .iter()
        .enumerate()
        .find(|(_, s)| s.len() > LONGEST_STOP)
    {
        return Err(ApiError::field(
            &format!("stop[{i}]"),
            format!(
                "stop[{i}] is {} bytes; at most {LONGEST_STOP} are taken",
                s.len()
            ),
        ));
    }
    Ok(stops)
}

fn stop_strings(map: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match map.get("stop") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong(&format!("stop[{i}]"), "a string", v))
            })
            .filter(|s| !matches!(s, Ok(s) if s.is_empty()))
            .collect(),
        Some(v) => Err(wrong("stop", "a string or a list of strings", v)),
    }
}

fn tools(map: &Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    match map.get("tools") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            for (i, t) in items.iter().enumerate() {
                let name = t.pointer("/function/name");
                if !t.is_object() || !name.is_some_and(Value::is_string) {
                    return Err(ApiError::field(
                        &format!("tools[{i}]"),
                        format!(
                            "tools[{i}] must be {{\"type\": \"function\", \"function\": \
                             {{\"name\": ..., \"parameters\": ...}}}}"
                        ),
                    ));
                }
            }
            Ok(items.clone())
        }
        Some(v) => Err(wrong("tools", "a list of tools", v)),
    }
}

fn messages(map: &Map<String, Value>) -> Result<Vec<ChatMessage>, ApiError> {
    let items = match map.get("messages") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(ApiError::field("messages", "messages must not be empty"))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                "messages",
                "messages is required: a list of {\"role\", \"content\"}",
            ))
        }
        Some(v) => return Err(wrong("messages", "a list of messages", v)),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| message(&format!("messages[{i}]"), m))
        .collect()
}

fn message(at: &str, m: &Value) -> Result<ChatMessage, ApiError> {
    let Value::Object(o) = m else {
        return Err(wrong(at, "an object", m));
    };
    let f = Fields(o);
    let role_at = format!("{at}.role");
    let role = match f.get("role") {
        Some(Value::String(r)) => match r.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            other => {
                return Err(ApiError::field(
                    &role_at,
                    format!("{role_at} must be system, user, assistant or tool, not '{other}'"),
                ))
            }
        },
        Some(v) => return Err(wrong(&role_at, "a string", v)),
        None => return Err(ApiError::field(&role_at, format!("{role_at} is required"))),
    };
    let mut out = ChatMessage::new(role, content(&format!("{at}.content"), f.get("content"))?);
    if role == Role::Assistant {
        out.tool_calls = tool_calls(&format!("{at}.tool_calls"), f.get("tool_calls"))?;
    }
    if role == Role::Tool {
        out.tool_call_id = string_at(o, "tool_call_id", at)?;
        out.name = string_at(o, "name", at)?;
    }
    Ok(out)
}

fn string_at(o: &Map<String, Value>, name: &str, at: &str) -> Result<Option<String>, ApiError> {
    Fields(o)
        .string(name)
        .map_err(|e| ApiError::field(&format!("{at}.{name}"), format!("{at}.{}", e.message)))
}

/// A message's content: a string, or a list of text parts (joined).
fn content(at: &str, v: Option<&Value>) -> Result<String, ApiError> {
    match v {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (i, p) in parts.iter().enumerate() {
                match p.get("text").and_then(Value::as_str) {
                    Some(t) if p.get("type").and_then(Value::as_str) == Some("text") => {
                        text.push_str(t)
                    }
                    _ => {
                        return Err(ApiError::field(
                            &format!("{at}[{i}]"),
                            format!(
                                "{at}[{i}] must be a text part ({{\"type\": \"text\", \"text\": \
                                 ...}}): this server takes text only"
                            ),
                        ))
                    }
                }
            }
            Ok(text)
        }
        Some(v) => Err(wrong(at, "a string or a list of text parts", v)),
    }
}

/// An assistant's earlier calls, `arguments` a JSON text of an object.
fn tool_calls(at: &str, v: Option<&Value>) -> Result<Vec<ToolCall>, ApiError> {
    let items = match v {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(v) => return Err(wrong(at, "a list of calls", v)),
    };
    let mut calls = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = c.pointer("/function/name").and_then(Value::as_str);
        let args = match c.pointer("/function/arguments") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(Value::Object(o)) => Some(Value::Object(o.clone())),
            None | Some(Value::Null) => Some(Value::Object(Map::new())),
            _ => None,
        };
        let (Some(name), Some(Value::Object(arguments))) = (name, args) else {
            return Err(ApiError::field(
                &here,
                format!(
                    "{here} must be {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \
                     \"arguments\": a JSON object as text}}}}"
                ),
            ));
        };
        calls.push(ToolCall {
            id: c
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: name.to_string(),
            arguments,
        });
    }
    Ok(calls)
}

#[cfg(test)]
mod tests;
