//! One generation against the server: fit the history (`fit`), open the stream (leaving out
//! the optional fields the server refuses, and saying so once), read it (`stream`), and when
//! the thinking budget forces the end of thinking, close the connection, so that the server
//! stops, and continue the answer in a second request whose last assistant message is the
//! text so far with the end of thinking forced (`continue_final_message`, which llama-server
//! and vLLM take); a server that refuses it is said to, and the answer ends there.

use super::http::{Refusal, Stop};
use super::job::{count, Answer, Job, Seen, CONTINUE};
use super::sse::SseParser;
use super::stream::LegEnd;
use super::wire::{chat_body, text_call_format};
use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy};
use crate::llm::{
    ChatMessage, Completion, EngineError, EngineEvent, Generation, RemoteErrorKind, Role,
    StopReason, Timings,
};
use crate::stream::{Channel, TagToken};
use crate::tools::deltas::CallDeltas;
use serde_json::Value;
use std::time::Instant;

/// The fields of a request that continues the last assistant message, with what is left of
/// `max_tokens`.
fn continuation(max_tokens: Option<u32>) -> Vec<(&'static str, Value)> {
    let mut extra = vec![
        (CONTINUE, Value::Bool(true)),
        ("add_generation_prompt", Value::Bool(false)),
    ];
    if let Some(m) = max_tokens {
        extra.push(("max_tokens", Value::from(m)));
    }
    extra
}

/// Why a stream did not open.
enum Opened {
    Failed(EngineError),
    /// The server refused a field the request needs (named), with what it said.
    Refused(String, String),
}

impl Job<'_> {
    /// Sends the request and streams the answer, in legs where the budget forces the end of
    /// thinking; returns the completion and whether a reply that should have had tags had
    /// none.
    pub(super) async fn run(
        &self,
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<(Completion, bool), EngineError> {
        let started = Instant::now();
        let messages = self.fit(cancelled).await;
        let mut gen = Generation::new(self.req, self.events).keep_text();
        if !self.req.tools.is_empty() {
            // A server that does not read calls itself returns them as text in the answer.
            gen = gen.read_calls(text_call_format(&self.server.model));
        }
        let mut a = Answer {
            gen,
            budget: Budget::new(self.req.budget.clone(), &self.req.router),
            raw: String::new(),
            seen: Seen::default(),
            earlier: 0,
            continued: false,
            asked: false,
            calls: CallDeltas::default(),
        };
        let (opening, extra) = self.opening(&mut a, &messages, cancelled, refused).await;
        a.continued = !extra.is_empty();
        let response = match self.open(&opening, &extra, cancelled, refused).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                let done = a.gen.finish(StopReason::Cancelled, Timings::default(), String::new());
                return Ok((done, false));
            }
            Err(Opened::Failed(e)) => return Err(e),
            Err(Opened::Refused(field, said)) => {
                return Err(self.client.error(
                    RemoteErrorKind::Server,
                    format!("it cannot continue a message ({field}: {said}), which --think-budget 0 needs; lift the budget or use another server"),
                ))
            }
        };
        let _ = self.events.send(EngineEvent::PromptProcessed {
            id: self.req.id,
            prompt_tokens: 0,
            evaluated: 0,
        });
        let prompt_done = Instant::now();
        let stop = self
            .legs(&mut a, response, &messages, cancelled, refused)
            .await?;
        Ok(self.finish(a, &messages, stop, started, prompt_done).await)
    }

    /// The messages the first request sends, and the fields it adds. A budget of 0: the
    /// answer is asked for as the continuation of the forced opening.
    async fn opening(
        &self,
        a: &mut Answer,
        messages: &[ChatMessage],
        cancelled: &impl Fn() -> bool,
        refused: &[String],
    ) -> (Vec<ChatMessage>, Vec<(&'static str, Value)>) {
        let mut opening = messages.to_vec();
        let Act::Force(text) = a.budget.at_start() else {
            return (opening, Vec::new());
        };
        if refused.iter().any(|f| f == CONTINUE) {
            let _ = self.events.send(EngineEvent::Warning(format!(
                "{} cannot continue a message, so --think-budget 0 cannot stop it thinking",
                self.client.label
            )));
            return (opening, Vec::new());
        }
        self.report(&a.budget, Some(BudgetStep::Forced(ForcedBy::NoThinking)));
        a.gen.text(&text);
        a.raw.push_str(&text);
        a.budget.forced(count(self, &text, cancelled).await);
        opening.push(ChatMessage::new(Role::Assistant, a.raw.clone()));
        (opening, continuation(None))
    }

    /// Reads the stream leg by leg: where the budget forces the end of thinking, the answer
    /// goes on in a new request. How it ended.
    async fn legs(
        &self,
        a: &mut Answer,
        mut response: reqwest::Response,
        messages: &[ChatMessage],
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<StopReason, EngineError> {
        loop {
            let mut parser = SseParser::new();
            let text = match self
                .leg(a, &mut response, &mut parser, cancelled, refused)
                .await?
            {
                LegEnd::Stop(stop) => return Ok(stop),
                LegEnd::Force(text) => text,
            };
            // Closing the connection stops the server; the forced end is routed as text.
            drop(response);
            response = match self.force_end(a, &text, messages, cancelled, refused).await {
                Ok(r) => r,
                Err(stop) => return Ok(stop),
            };
        }
    }

    /// The forced end of thinking into the answer, then the request that continues it: its
    /// stream, or how the answer ends (the token limit reached, cancelled, or the server could
    /// not continue: what was written so far is kept).
    async fn force_end(
        &self,
        a: &mut Answer,
        text: &str,
        messages: &[ChatMessage],
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<reqwest::Response, StopReason> {
        let by = a.budget.report().forced_by.unwrap_or(ForcedBy::Budget);
        self.report(&a.budget, Some(BudgetStep::Forced(by)));
        if a.seen.in_reasoning {
            // The server was splitting the reasoning off: its block is closed as it was
            // opened, structurally, and the answer's tag (if the format has one) opened.
            a.seen.in_reasoning = false;
            a.gen.tag(TagToken::close(Channel::Thinking));
            let output = self
                .req
                .router
                .tags
                .canonical(TagToken::open(Channel::Output));
            if text.ends_with(&output) {
                a.gen.tag(TagToken::open(Channel::Output));
            }
        } else {
            a.gen.text(text);
        }
        a.raw.push_str(text);
        a.budget.forced(count(self, text, cancelled).await);
        self.report(&a.budget, None);
        // The tokens so far (counted as they streamed, and the forced ones): the server will
        // report only the next leg's.
        a.earlier = a.gen.usage.completion_tokens + a.budget.report().forced;
        let left = self.req.max_tokens.map(|m| m.saturating_sub(a.earlier));
        if left == Some(0) {
            return Err(StopReason::MaxTokens);
        }
        let mut continued = messages.to_vec();
        continued.push(ChatMessage::new(Role::Assistant, a.raw.clone()));
        a.seen.finish = None;
        a.seen.done_marker = false;
        a.continued = true;
        match self
            .open(&continued, &continuation(left), cancelled, refused)
            .await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(StopReason::Cancelled),
            Err(Opened::Failed(e)) => {
                let _ = self.events.send(EngineEvent::Warning(format!(
                    "{}: continuing the answer after the forced end of thinking failed: {e}",
                    self.client.label
                )));
                Err(StopReason::StreamCut)
            }
            Err(Opened::Refused(field, said)) => {
                refused.push(field.clone());
                let _ = self.events.send(EngineEvent::Warning(format!(
                    "{} cannot continue a message ({field}: {said}), so after the forced \
                     end of thinking the answer could not be written; it ends here, and \
                     later answers on this server are not cut",
                    self.client.label
                )));
                Err(StopReason::StreamCut)
            }
        }
    }

    /// Opens the stream for `body`, leaving out (and saying so, once) the fields the server
    /// refuses; `None` when cancelled before it answered.
    async fn open(
        &self,
        messages: &[ChatMessage],
        extra: &[(&str, Value)],
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<Option<reqwest::Response>, Opened> {
        loop {
            let mut body = chat_body(
                &self.server.model,
                messages,
                self.req,
                self.server.keep_special_tokens,
                refused,
            );
            for (k, v) in extra {
                if !refused.iter().any(|f| f == k) {
                    body[*k] = v.clone();
                }
            }
            match self.client.stream(&body, cancelled).await {
                Ok(r) => return Ok(Some(r)),
                Err(Refusal::Fields(fields, said)) => {
                    if let Some(f) = fields.iter().find(|f| extra.iter().any(|(k, _)| k == *f)) {
                        return Err(Opened::Refused(f.clone(), said));
                    }
                    let _ = self.events.send(EngineEvent::Warning(format!(
                        "{} does not take {}, so {} not applied (it said: {said})",
                        self.client.label,
                        fields.join(", "),
                        if fields.len() == 1 {
                            "it is"
                        } else {
                            "they are"
                        }
                    )));
                    refused.extend(fields);
                }
                Err(Refusal::Stop(Stop::Cancelled)) => return Ok(None),
                Err(Refusal::Stop(Stop::Failed(e))) => {
                    return Err(Opened::Failed(self.not_found(e, cancelled).await))
                }
            }
        }
    }

    /// A 404 names the models the server has.
    async fn not_found(&self, e: EngineError, cancelled: &impl Fn() -> bool) -> EngineError {
        match e {
            EngineError::Remote {
                kind: RemoteErrorKind::Model,
                endpoint,
                message,
            } => {
                let list = match self.client.models(cancelled).await {
                    Ok(m) if !m.is_empty() => format!(
                        "; the server has: {}",
                        m.iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => String::new(),
                };
                EngineError::Remote {
                    endpoint,
                    kind: RemoteErrorKind::Model,
                    message: format!("{message} (model '{}'){list}", self.server.model),
                }
            }
            other => other,
        }
    }
}
