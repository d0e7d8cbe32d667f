//! The OpenAI-compatible wire format: the chat request reflect sends, and what it reads back
//! (stream chunks, usage, error objects, the model list), with the field variants of vLLM,
//! llama-server, Ollama and OpenRouter. Pure: no I/O.

use crate::llm::{ChatMessage, GenerateRequest};
use serde_json::{json, Map, Value};

/// Sampling fields that not every server takes; a server that refuses one by name is asked
/// again without it, and the user is told which were not honoured.
pub const OPTIONAL_FIELDS: &[&str] = &[
    "top_k",
    "min_p",
    "repeat_penalty",
    "repetition_penalty",
    "seed",
    "skip_special_tokens",
    "stream_options",
];

/// Messages as the API takes them: an assistant's calls as `tool_calls` (arguments as a JSON
/// text), a tool result with its `tool_call_id`.
pub fn messages_json(messages: &[ChatMessage]) -> Value {
    Value::Array(messages.iter().map(message_json).collect())
}

fn message_json(m: &ChatMessage) -> Value {
    m.json(true)
}

/// The request body for a streamed chat completion.
pub fn chat_body(
    model: &str,
    messages: &[ChatMessage],
    req: &GenerateRequest,
    keep_special_tokens: bool,
    left_out: &[String],
) -> Value {
    let s = &req.sampling;
    // f32 settings as the decimals they were written as (0.7, not 0.699999988).
    let num = |x: f32| json!((f64::from(x) * 1e6).round() / 1e6);
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), messages_json(messages));
    if !req.tools.is_empty() {
        body.insert("tools".into(), Value::Array(req.tools.clone()));
        body.insert("tool_choice".into(), json!("auto"));
    }
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    // Always sent: Ollama's /v1 sets temperature and top_p to 1.0 when they are missing.
    body.insert("temperature".into(), num(s.temperature.max(0.0)));
    body.insert("top_p".into(), num(s.top_p));
    if s.top_k > 0 {
        body.insert("top_k".into(), json!(s.top_k));
    }
    if s.min_p > 0.0 {
        body.insert("min_p".into(), num(s.min_p));
    }
    if s.repeat_penalty != 1.0 {
        // llama-server's name, and vLLM's.
        body.insert("repeat_penalty".into(), num(s.repeat_penalty));
        body.insert("repetition_penalty".into(), num(s.repeat_penalty));
    }
    if let Some(seed) = s.seed {
        body.insert("seed".into(), json!(seed));
    }
    if let Some(max) = req.max_tokens {
        body.insert("max_tokens".into(), json!(max));
    }
    if keep_special_tokens {
        // vLLM drops special tokens from the text by default: Reflection's tags are such.
        body.insert("skip_special_tokens".into(), json!(false));
    }
    for f in left_out {
        body.remove(f);
    }
    Value::Object(body)
}

/// One parsed stream chunk.
#[derive(Debug, Default, PartialEq)]
pub struct Chunk {
    /// `delta.reasoning` (vLLM ≥ 0.11, Ollama, OpenRouter) or `delta.reasoning_content`
    /// (llama-server, older vLLM, DeepSeek).
    pub reasoning: Option<String>,
    /// The reasoning is a reflection's (`delta.reflection`, `reflect serve`'s extension).
    pub reflection: bool,
    pub content: Option<String>,
    /// `finish_reason`: "stop", "length", "tool_calls", …
    pub finish: Option<String>,
    pub usage: Option<ServerUsage>,
    /// `delta.tool_calls`: fragments of the calls the server read from the answer.
    pub tool_calls: Option<Value>,
}

/// What the server reports of a request's size and price.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerUsage {
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    /// llama-server: prompt tokens taken from its cache.
    pub cached_tokens: Option<u32>,
    /// USD: `usage.cost` (OpenRouter) or `usage.estimated_cost` (DeepInfra).
    pub cost: Option<f64>,
}

/// An error the server reported, in the body of an HTTP error or as a stream event.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerError {
    pub message: String,
    pub kind: String,
    pub code: Option<u64>,
    /// llama-server's `n_prompt_tokens` / `n_ctx`, when the prompt is too long.
    pub prompt_tokens: Option<u64>,
    pub n_ctx: Option<u64>,
}

impl ServerError {
    /// The prompt does not fit the server's context.
    pub fn context_exceeded(&self) -> bool {
        let m = self.message.to_lowercase();
        self.kind == "exceed_context_size_error"
            || m.contains("maximum context length")
            || m.contains("context length")
            || m.contains("exceeds the available context")
            || m.contains("context window")
    }
}

fn u32_of(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn text_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An error object, OpenAI-style (`{"error": {...}}` or `{"error": "text"}`) or vLLM-style
/// (`{"object": "error", "message": ...}`).
pub fn error_of(v: &Value) -> Option<ServerError> {
    let e = match v.get("error") {
        Some(Value::String(s)) => {
            return Some(ServerError {
                message: s.clone(),
                kind: String::new(),
                code: None,
                prompt_tokens: None,
                n_ctx: None,
            })
        }
        Some(e @ Value::Object(_)) => e,
        _ if v.get("object").and_then(Value::as_str) == Some("error") => v,
        _ => return None,
    };
    Some(ServerError {
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)")
            .to_string(),
        kind: e
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        code: e.get("code").and_then(Value::as_u64),
        prompt_tokens: e.get("n_prompt_tokens").and_then(Value::as_u64),
        n_ctx: e.get("n_ctx").and_then(Value::as_u64),
    })
}

/// Reads one `data:` payload of a chat stream.
pub fn chunk_of(v: &Value) -> Chunk {
    let choice = v.get("choices").and_then(|c| c.get(0));
    let delta = choice.and_then(|c| c.get("delta"));
    let reasoning = delta
        .and_then(|d| text_of(d.get("reasoning")).or_else(|| text_of(d.get("reasoning_content"))));
    let usage = v
        .get("usage")
        .filter(|u| u.is_object())
        .map(|u| ServerUsage {
            prompt_tokens: u.get("prompt_tokens").and_then(u32_of),
            completion_tokens: u.get("completion_tokens").and_then(u32_of),
            cached_tokens: u
                .get("prompt_tokens_details")
                .and_then(|d| d.get("cached_tokens"))
                .and_then(u32_of),
            cost: u
                .get("cost")
                .and_then(Value::as_f64)
                .or_else(|| u.get("estimated_cost").and_then(Value::as_f64)),
        });
    Chunk {
        reasoning,
        reflection: delta.is_some_and(|d| text_of(d.get("reflection")).is_some()),
        content: delta.and_then(|d| text_of(d.get("content"))),
        finish: text_of(choice.and_then(|c| c.get("finish_reason"))),
        usage,
        tool_calls: delta
            .and_then(|d| d.get("tool_calls"))
            .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
            .cloned(),
    }
}

/// What to say when the server's own tool-call parser could not read the model's output
/// (llama-server: "does not match the expected … format"), e.g. because the model wrote
/// call-shaped text in its reasoning: nothing ran, and why.
pub fn tool_parser_failed(message: &str) -> Option<&'static str> {
    message.contains("does not match the expected").then_some(
        "the server's tool-call parser could not read the model's output (a call-shaped text \
         in its reasoning trips it); nothing was run. Run the model in reflect itself (-m \
         FILE), which reads calls from the answer only, or turn tools off",
    )
}

/// The format a server that returns calls as text in `content` writes them in, guessed from
/// the model's name: Qwen and Hermes models write `<tool_call>`, Mistral's `[TOOL_CALLS]`, the
/// rest (Llama 3.x and its fine-tunes, such as Reflection) a JSON object.
pub fn text_call_format(model: &str) -> crate::tools::CallFormat {
    use crate::tools::CallFormat;
    let m = model.to_lowercase();
    if ["qwen", "hermes", "qwq"].iter().any(|k| m.contains(k)) {
        CallFormat::Hermes
    } else if ["mistral", "mixtral", "ministral", "devstral", "magistral"]
        .iter()
        .any(|k| m.contains(k))
    {
        CallFormat::Mistral
    } else {
        CallFormat::Llama3
    }
}

/// A model the server lists, with its context length when it says (vLLM's `max_model_len`,
/// llama-server's `meta.n_ctx`).
#[derive(Clone, Debug, PartialEq)]
pub struct ListedModel {
    pub id: String,
    pub context: Option<u32>,
    pub owned_by: String,
}

pub fn models_of(v: &Value) -> Vec<ListedModel> {
    v.get("data")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    Some(ListedModel {
                        id: m.get("id")?.as_str()?.to_string(),
                        context: m.get("max_model_len").and_then(u32_of).or_else(|| {
                            m.get("meta").and_then(|x| x.get("n_ctx")).and_then(u32_of)
                        }),
                        owned_by: m
                            .get("owned_by")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// End-of-turn control text that appears in the content once special tokens are not skipped.
const END_OF_TURN: &[&str] = &[
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<end_of_turn>",
    "</s>",
];

/// Removes end-of-turn control text from the end of a content delta (where a server that
/// keeps special tokens puts it); the same text inside an answer (an HTML `</s>`) stays.
pub fn strip_end_of_turn(text: &str) -> &str {
    let mut text = text;
    while let Some(t) = END_OF_TURN.iter().find(|t| text.ends_with(**t)) {
        text = &text[..text.len() - t.len()];
    }
    text
}

/// Which of `OPTIONAL_FIELDS` an error message names (a server refusing a field it does not
/// know, e.g. "Unrecognized request argument supplied: top_k").
pub fn refused_fields(message: &str, body: &Value) -> Vec<String> {
    OPTIONAL_FIELDS
        .iter()
        .filter(|f| body.get(**f).is_some() && names_field(message, f))
        .map(|f| f.to_string())
        .collect()
}

fn names_field(message: &str, field: &str) -> bool {
    message.match_indices(field).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + field.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Role, SamplingSettings};
    use crate::stream::RouterConfig;

    fn req() -> GenerateRequest {
        GenerateRequest {
            id: 1,
            messages: vec![ChatMessage::new(Role::User, "hi")],
            sampling: SamplingSettings {
                seed: Some(9),
                ..SamplingSettings::default()
            },
            max_tokens: Some(64),
            router: RouterConfig::default(),
            budget: Default::default(),
            tools: Vec::new(),
            raw: false,
        }
    }

    #[test]
    fn the_request_carries_the_profile_sampling_and_asks_for_usage() {
        let r = req();
        let b = chat_body("m", &r.messages, &r, true, &[]);
        assert_eq!(b["model"], "m");
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert_eq!(b["temperature"].as_f64(), Some(0.7));
        assert_eq!(b["top_p"].as_f64(), Some(0.95));
        assert_eq!(b["top_k"], 40);
        assert_eq!(b["seed"], 9);
        assert_eq!(b["max_tokens"], 64);
        assert_eq!(b["skip_special_tokens"], false);
        assert!(b.get("repeat_penalty").is_none(), "1.0 is not sent");
        assert_eq!(b["messages"][0]["role"], "user");
        let without = chat_body("m", &r.messages, &r, false, &["top_k".into()]);
        assert!(without.get("top_k").is_none() && without.get("skip_special_tokens").is_none());
    }

    #[test]
    fn chunks_of_each_server() {
        let table = [
            (
                json!({"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}),
                Chunk {
                    content: Some("hi".into()),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[{"delta":{"reasoning":"hm"}}]}),
                Chunk {
                    reasoning: Some("hm".into()),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[{"delta":{"reasoning_content":"hm","content":null}}]}),
                Chunk {
                    reasoning: Some("hm".into()),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[{"delta":{"reasoning":"no","reasoning_content":"no",
                    "reflection":"no"}}]}),
                Chunk {
                    reasoning: Some("no".into()),
                    reflection: true,
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[{"delta":{},"finish_reason":"length"}]}),
                Chunk {
                    finish: Some("length".into()),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[],"usage":{"prompt_tokens":25,"completion_tokens":3,
                    "prompt_tokens_details":{"cached_tokens":24}}}),
                Chunk {
                    usage: Some(ServerUsage {
                        prompt_tokens: Some(25),
                        completion_tokens: Some(3),
                        cached_tokens: Some(24),
                        cost: None,
                    }),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0.5}}),
                Chunk {
                    usage: Some(ServerUsage {
                        prompt_tokens: Some(1),
                        completion_tokens: Some(2),
                        cached_tokens: None,
                        cost: Some(0.5),
                    }),
                    ..Chunk::default()
                },
            ),
            (
                json!({"choices":[],"usage":{"prompt_tokens":1,"estimated_cost":0.25}}),
                Chunk {
                    usage: Some(ServerUsage {
                        prompt_tokens: Some(1),
                        cost: Some(0.25),
                        ..ServerUsage::default()
                    }),
                    ..Chunk::default()
                },
            ),
        ];
        for (v, want) in table {
            assert_eq!(chunk_of(&v), want, "{v}");
        }
    }

    #[test]
    fn error_objects_of_each_shape() {
        let openai =
            json!({"error":{"message":"bad key","type":"invalid_request_error","code":401}});
        assert_eq!(error_of(&openai).unwrap().message, "bad key");
        let vllm = json!({"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens","type":"BadRequestError","code":400});
        assert!(error_of(&vllm).unwrap().context_exceeded());
        let llama = json!({"error":{"code":400,"message":"request (21020 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":21020,"n_ctx":2048}});
        let e = error_of(&llama).unwrap();
        assert!(e.context_exceeded());
        assert_eq!((e.prompt_tokens, e.n_ctx), (Some(21020), Some(2048)));
        assert_eq!(error_of(&json!({"error":"boom"})).unwrap().message, "boom");
        assert!(error_of(&json!({"choices":[]})).is_none());
    }

    #[test]
    fn models_with_their_context() {
        let v = json!({"data":[{"id":"a","max_model_len":8192,"owned_by":"vllm"},
            {"id":"b","meta":{"n_ctx":2048},"owned_by":"llamacpp"},{"id":"c"},{"x":1}]});
        let m = models_of(&v);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].context, m[0].owned_by.as_str()), (Some(8192), "vllm"));
        assert_eq!(m[1].context, Some(2048));
        assert_eq!(m[2].context, None);
    }

    #[test]
    fn end_of_turn_text_is_removed_and_refused_fields_are_named() {
        assert_eq!(strip_end_of_turn("done.<|eot_id|>"), "done.");
        assert_eq!(strip_end_of_turn("<|eot_id|>"), "");
        assert_eq!(strip_end_of_turn("a <b> c"), "a <b> c");
        assert_eq!(strip_end_of_turn("<s>old</s> new"), "<s>old</s> new");
        let r = req();
        let b = chat_body("m", &r.messages, &r, true, &[]);
        assert_eq!(
            refused_fields("Unrecognized request argument supplied: top_k", &b),
            ["top_k"]
        );
        assert_eq!(
            refused_fields("extra fields not permitted: skip_special_tokens, seed", &b),
            ["seed", "skip_special_tokens"]
        );
        assert!(refused_fields("top_kk is odd", &b).is_empty());
    }

    #[test]
    fn the_text_call_format_follows_the_model_family() {
        use crate::tools::CallFormat;
        for (model, want) in [
            ("Qwen/Qwen3-8B", CallFormat::Hermes),
            ("NousResearch/Hermes-3-Llama-3.1-8B", CallFormat::Hermes),
            ("mistralai/Mistral-Small-3.1", CallFormat::Mistral),
            ("devstral-small", CallFormat::Mistral),
            ("Reflection-Llama-3.1-70B", CallFormat::Llama3),
            ("gpt-oss-20b", CallFormat::Llama3),
        ] {
            assert_eq!(text_call_format(model), want, "{model}");
        }
    }

    #[test]
    fn a_chunk_carries_its_tool_call_fragments_and_an_empty_list_is_none() {
        let v = json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}}]});
        assert_eq!(
            chunk_of(&v).tool_calls,
            Some(json!([{"index":0,"function":{"arguments":"{\"a"}}]))
        );
        let empty = json!({"choices":[{"index":0,"delta":{"content":"x","tool_calls":[]}}]});
        assert_eq!(chunk_of(&empty).tool_calls, None);
    }

    #[test]
    fn without_tools_the_request_offers_none() {
        let r = req();
        let b = chat_body("m", &r.messages, &r, true, &[]);
        assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
        let with = GenerateRequest {
            tools: vec![json!({"type": "function", "function": {"name": "f"}})],
            ..req()
        };
        let b = chat_body("m", &with.messages, &with, true, &[]);
        assert_eq!(b["tools"][0]["function"]["name"], "f");
        assert_eq!(b["tool_choice"], "auto");
    }
}
