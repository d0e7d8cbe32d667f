//! Reading one leg of the stream: chunks, with at most `first_byte_timeout` between two;
//! their SSE events; each `data:` payload into the router (reasoning a server split off goes
//! to Thinking, so that a `<reflection>` inside it is still split out), the finish reason and
//! usage noted; and the budget shown each piece, which may force the end of thinking and so
//! end the leg.

use super::http::cancellable;
use super::job::{Answer, Job, Seen, CONTINUE};
use super::redact;
use super::sse::{Event, SseParser};
use super::usage::merged;
use super::wire::{chunk_of, error_of, strip_end_of_turn};
use crate::llm::budget::{Act, Token as BudgetToken};
use crate::llm::{EngineError, EngineEvent, Generation, RemoteErrorKind, StopReason};
use crate::stream::{Channel, TagToken};
use serde_json::Value;
use std::time::Instant;

/// How a leg ended.
pub(super) enum LegEnd {
    /// The answer is over.
    Stop(StopReason),
    /// The budget forces this text (the end of thinking): the answer goes on after it.
    Force(String),
}

impl Job<'_> {
    /// Reads the stream until the answer is over or the budget forces the end of thinking.
    pub(super) async fn leg(
        &self,
        a: &mut Answer,
        response: &mut reqwest::Response,
        parser: &mut SseParser,
        cancelled: &impl Fn() -> bool,
        refused: &[String],
    ) -> Result<LegEnd, EngineError> {
        loop {
            let (events, ended) = match self.read(response, parser, &a.seen, cancelled).await {
                Ok(read) => read,
                Err(stop) => return Ok(LegEnd::Stop(stop)),
            };
            if let Some(end) = self.take(a, events, refused)? {
                return Ok(end);
            }
            if ended {
                return Ok(LegEnd::Stop(a.seen.end()));
            }
        }
    }

    /// The next chunk's events, and whether the stream ended with them; how the leg ends when
    /// it was cancelled, stalled or broke off.
    async fn read(
        &self,
        response: &mut reqwest::Response,
        parser: &mut SseParser,
        seen: &Seen,
        cancelled: &impl Fn() -> bool,
    ) -> Result<(Vec<Event>, bool), StopReason> {
        // The first chunk may take as long as the first byte; then the same again at most
        // between two chunks (a stalled server, a connection gone half-open).
        let wait = tokio::time::timeout(self.config.first_byte_timeout, response.chunk());
        let next = match cancellable(wait, cancelled).await {
            None => return Err(StopReason::Cancelled),
            Some(Err(_)) => {
                let _ = self.events.send(EngineEvent::Warning(format!(
                    "{}: no data for {} s (first_byte_timeout); the stream was closed",
                    self.client.label,
                    self.config.first_byte_timeout.as_secs()
                )));
                return Err(seen.end());
            }
            Some(Ok(n)) => n,
        };
        match next {
            Ok(Some(bytes)) => Ok((parser.push(&bytes), false)),
            Ok(None) => {
                let mut last = parser.finish();
                // A stream may end without the blank line after its last event.
                last.extend(parser.push(b"\n\n"));
                Ok((last, true))
            }
            Err(e) => {
                let _ = self.events.send(EngineEvent::Warning(format!(
                    "{}: the stream broke off: {}",
                    self.client.label,
                    redact(&e.to_string())
                )));
                Err(seen.end())
            }
        }
    }

    /// The events into the answer, the budget shown each piece of text; where the leg ends,
    /// if it does.
    fn take(
        &self,
        a: &mut Answer,
        events: Vec<Event>,
        refused: &[String],
    ) -> Result<Option<LegEnd>, EngineError> {
        for ev in events {
            let before = a.raw.len();
            if let Some(stop) = self.event(&ev.data, a)? {
                return Ok(Some(LegEnd::Stop(stop)));
            }
            if a.raw.len() == before {
                continue;
            }
            // One streamed piece is one token on llama-server (an estimate elsewhere).
            let channel = a.gen.channel();
            if !a.asked && (self.answer_now)() {
                a.asked = true;
                a.budget.answer_now(channel);
            }
            let act = a.budget.after(BudgetToken {
                channel,
                in_reflection: channel == Channel::Reflection,
                char_complete: true,
                line_end: a.raw.ends_with('\n'),
            });
            if let Act::Force(text) = act {
                if refused.iter().any(|f| f == CONTINUE) {
                    // Said when it was refused: this server's answers are not cut.
                    continue;
                }
                return Ok(Some(LegEnd::Force(text)));
            }
            if channel != Channel::Output && a.budget.settings().active() {
                self.report(&a.budget, None);
            }
        }
        Ok(None)
    }

    /// One `data:` payload. Returns the stop reason when the stream is over for reflect.
    fn event(&self, data: &str, a: &mut Answer) -> Result<Option<StopReason>, EngineError> {
        let Answer {
            gen,
            raw,
            seen,
            calls,
            ..
        } = a;
        let thinking = self.req.router.tags.thinking.first();
        let data = data.trim();
        if data == "[DONE]" {
            seen.done_marker = true;
            return Ok(Some(seen.end()));
        }
        if data.is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            let short: String = data.chars().take(120).collect();
            self.client.error(
                RemoteErrorKind::Protocol,
                format!("the stream held malformed JSON ({e}): {short}"),
            )
        })?;
        if let Some(e) = error_of(&v) {
            let kind = if e.context_exceeded() {
                RemoteErrorKind::ContextExceeded
            } else {
                RemoteErrorKind::Server
            };
            let why = match super::wire::tool_parser_failed(&e.message) {
                Some(why) => format!(": {why}"),
                None => String::new(),
            };
            return Err(self.client.error(
                kind,
                format!(
                    "the server reported an error mid-stream: {}{why}",
                    e.message
                ),
            ));
        }
        let chunk = chunk_of(&v);
        if let Some(r) = &chunk.reasoning {
            self.reasoning(r, chunk.reflection, gen, raw, seen);
        }
        if let Some(c) = &chunk.content {
            end_reasoning(seen, gen, raw, thinking);
            let c = strip_end_of_turn(c);
            if !c.is_empty() {
                seen.first_text.get_or_insert_with(Instant::now);
                gen.text(c);
                raw.push_str(c);
                gen.count(1);
            }
        }
        if let Some(fragments) = &chunk.tool_calls {
            // The server read a call from the answer: the thinking, if it was split off, is over.
            end_reasoning(seen, gen, raw, thinking);
            calls.push(fragments);
            gen.count(1);
        }
        if chunk.finish.is_some() {
            seen.finish = chunk.finish;
        }
        if let Some(u) = chunk.usage {
            seen.usage = Some(merged(seen.usage, u));
        }
        if gen.answer_done() {
            return Ok(Some(StopReason::OutputClosed));
        }
        Ok(None)
    }

    /// A piece of the server's reasoning: the thinking opens at the first, and a reflection
    /// `reflect serve` marked (`delta.reflection`) opens and closes where the mark changes.
    fn reasoning(
        &self,
        r: &str,
        reflection: bool,
        gen: &mut Generation,
        raw: &mut String,
        seen: &mut Seen,
    ) {
        let thinking = self.req.router.tags.thinking.first();
        if !seen.in_reasoning {
            seen.in_reasoning = true;
            gen.tag(TagToken::open(Channel::Thinking));
            if let Some(t) = thinking {
                raw.push_str(&format!("<{t}>"));
            }
        }
        if reflection != seen.in_reflection {
            seen.in_reflection = reflection;
            let tag = match reflection {
                true => TagToken::open(Channel::Reflection),
                false => TagToken::close(Channel::Reflection),
            };
            gen.tag(tag);
            raw.push_str(&self.req.router.tags.canonical(tag));
        }
        seen.first_text.get_or_insert_with(Instant::now);
        gen.reasoning(r);
        raw.push_str(r);
        gen.count(1);
    }
}

/// The thinking, if the server split it off, is over: the answer or a call began.
fn end_reasoning(
    seen: &mut Seen,
    gen: &mut Generation,
    raw: &mut String,
    thinking: Option<&String>,
) {
    if seen.in_reasoning {
        seen.in_reasoning = false;
        gen.tag(TagToken::close(Channel::Thinking));
        if let Some(t) = thinking {
            raw.push_str(&format!("</{t}>"));
        }
    }
}
