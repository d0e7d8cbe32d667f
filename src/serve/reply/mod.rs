//! The split as clients read it, built from one job's engine events: thinking (reflections
//! included, in order) as `reasoning_content` and `reasoning`, each reflection also as
//! `reflection`, the answer as `content`, calls as `tool_calls`; the same text whether it is
//! streamed as deltas or answered whole. Pure: no server, no engine.

use super::stop::StopWatch;
use crate::llm::{Completion, EngineEvent, StopReason, Usage};
use crate::stream::Channel;
use serde_json::{json, Map, Value};

/// Separates blocks in the reasoning, and reflections in `reflection`.
const BREAK: &str = "\n\n";

/// One job's reply so far.
#[derive(Debug, Default)]
pub struct Reply {
    /// `reasoning_format: raw`: the model's text untouched, as the content, streamed as the
    /// engine's raw events come (the answer whole is the completion's text).
    raw: bool,
    stop: StopWatch,
    pub reasoning: String,
    pub reflection: String,
    pub content: String,
    /// A block ended or began: the next reasoning text starts after a break.
    reasoning_break: bool,
    /// A reflection began after another: its first text starts after a break.
    reflection_break: bool,
}

/// What one event adds: deltas to send, and whether the answer hit a stop string (the job
/// is then stopped and the reply finished).
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub deltas: Vec<Value>,
    pub stopped: bool,
}

impl Reply {
    pub fn new(raw: bool, stops: Vec<String>) -> Self {
        Reply {
            raw,
            stop: StopWatch::new(stops),
            ..Reply::default()
        }
    }

    /// Whether a stop string ended the answer.
    pub fn stopped(&self) -> bool {
        self.stop.stopped()
    }

    /// The deltas of one event (`Done` and `Error` are [`Reply::finish`]'s and the caller's).
    pub fn event(&mut self, event: &EngineEvent) -> Step {
        let mut step = Step::default();
        match event {
            EngineEvent::ReflectionStart { .. } => {
                self.reasoning_break = true;
                self.reflection_break = !self.reflection.is_empty();
            }
            EngineEvent::ReflectionEnd { .. } => self.reasoning_break = true,
            EngineEvent::Text { channel, text, .. } => {
                step.deltas.extend(self.text(*channel, text));
                step.stopped = self.stop.stopped();
            }
            EngineEvent::Raw { text, .. } if self.raw => {
                step.deltas.extend(self.answer(text));
                step.stopped = self.stop.stopped();
            }
            _ => {}
        }
        step
    }

    fn text(&mut self, channel: Channel, text: &str) -> Option<Value> {
        match channel {
            // Raw: the model's text, tags and all, is the content; nothing is sent twice.
            _ if self.raw => None,
            Channel::Output => self.answer(text),
            Channel::Thinking | Channel::Reflection => {
                let mut delta = Map::new();
                let mut reasoning = String::new();
                if std::mem::take(&mut self.reasoning_break) && !joined(&self.reasoning, text) {
                    reasoning.push_str(BREAK);
                }
                reasoning.push_str(text);
                self.reasoning.push_str(&reasoning);
                delta.insert("reasoning_content".into(), json!(reasoning));
                delta.insert("reasoning".into(), json!(reasoning));
                if channel == Channel::Reflection {
                    let mut reflection = String::new();
                    if std::mem::take(&mut self.reflection_break) && !joined(&self.reflection, text)
                    {
                        reflection.push_str(BREAK);
                    }
                    reflection.push_str(text);
                    self.reflection.push_str(&reflection);
                    delta.insert("reflection".into(), json!(reflection));
                }
                Some(Value::Object(delta))
            }
        }
    }

    fn answer(&mut self, text: &str) -> Option<Value> {
        let passed = self.stop.push(text);
        self.content.push_str(&passed);
        (!passed.is_empty()).then(|| json!({ "content": passed }))
    }

    /// The end: the last deltas (held answer text, the raw text, the calls) and the finish
    /// reason.
    pub fn finish(&mut self, done: &Completion) -> (Vec<Value>, &'static str) {
        let mut deltas = Vec::new();
        if !self.stopped() {
            let rest = self.stop.finish();
            deltas.extend(self.answer(&rest));
            if self.raw {
                // Whole, the answer is all the model wrote; streamed, the same text came
                // piece by piece.
                self.content.clone_from(&done.text);
            }
        }
        if !done.calls.is_empty() {
            deltas.push(json!({ "tool_calls": tool_calls(done, true) }));
        }
        (deltas, self.finish_reason(done))
    }

    fn finish_reason(&self, done: &Completion) -> &'static str {
        if !done.calls.is_empty() {
            "tool_calls"
        } else if self.stopped() {
            "stop"
        } else if matches!(
            done.stop_reason,
            StopReason::MaxTokens | StopReason::ContextFull
        ) {
            "length"
        } else {
            "stop"
        }
    }

    /// The whole message of a reply not streamed (after [`Reply::finish`]).
    pub fn message(&self, done: &Completion) -> Value {
        let mut m = Map::new();
        m.insert("role".into(), json!("assistant"));
        let content = if self.content.is_empty() && !done.calls.is_empty() {
            Value::Null
        } else {
            json!(self.content)
        };
        m.insert("content".into(), content);
        if !self.reasoning.is_empty() {
            m.insert("reasoning_content".into(), json!(self.reasoning));
            m.insert("reasoning".into(), json!(self.reasoning));
        }
        if !self.reflection.is_empty() {
            m.insert("reflection".into(), json!(self.reflection));
        }
        if !done.calls.is_empty() {
            m.insert("tool_calls".into(), json!(tool_calls(done, false)));
        }
        Value::Object(m)
    }
}

/// Whether `next` can follow `before` without a break: nothing before it, or a line break
/// already between them.
fn joined(before: &str, next: &str) -> bool {
    before.is_empty() || before.ends_with('\n') || next.starts_with('\n')
}

/// The calls in the OpenAI shape, the arguments as JSON text; `indexed` for deltas.
fn tool_calls(done: &Completion, indexed: bool) -> Vec<Value> {
    done.calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut call = json!({
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": Value::Object(c.arguments.clone()).to_string(),
                },
            });
            if indexed {
                call["index"] = json!(i);
            }
            call
        })
        .collect()
}

/// `usage`, with the thinking count where clients look for it and reflect's per channel.
pub fn usage(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
        "prompt_tokens_details": {
            "cached_tokens": u.prompt_tokens.saturating_sub(u.prompt_tokens_evaluated),
        },
        "completion_tokens_details": {
            "reasoning_tokens": u.thinking_tokens + u.reflection_tokens,
        },
        "thinking_tokens": u.thinking_tokens,
        "reflection_tokens": u.reflection_tokens,
        "output_tokens": u.output_tokens,
    })
}

/// What every chunk and answer of one request carries.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub id: String,
    pub created: u64,
    pub model: String,
}

impl Envelope {
    /// A streamed chunk of `delta`, with its finish reason on the last.
    pub fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish,
            }],
        })
    }

    /// The chunk `stream_options.include_usage` asks for: no choices, the usage and timings.
    pub fn usage_chunk(&self, done: &Completion) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage(&done.usage),
            "timings": timings(done),
        })
    }

    /// The answer of a request not streamed.
    pub fn completion(&self, message: Value, finish: &str, done: &Completion) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish,
            }],
            "usage": usage(&done.usage),
            "timings": timings(done),
        })
    }
}

/// llama-server's `timings`: the prompt tokens decoded (the rest came from the cache) and the
/// tokens generated, with their times; with speculative decoding (--lookup, a draft model),
/// the tokens drafted and accepted, under llama-server's names.
pub fn timings(done: &Completion) -> Value {
    let (u, t) = (&done.usage, &done.timings);
    let mut v = json!({
        "cache_n": u.prompt_tokens.saturating_sub(u.prompt_tokens_evaluated),
        "prompt_n": u.prompt_tokens_evaluated,
        "prompt_ms": t.prompt_ms,
        "predicted_n": u.completion_tokens,
        "predicted_ms": t.generation_ms,
        "predicted_per_second": t.tokens_per_second,
    });
    if let Some(drafted) = t.draft_tokens {
        v["draft_n"] = json!(drafted);
        v["draft_n_accepted"] = json!(t.draft_accepted.unwrap_or(0));
    }
    v
}

#[cfg(test)]
mod tests;
