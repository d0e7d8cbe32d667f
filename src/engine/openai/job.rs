//! One generation's parts, which the rest of the backend works on: the [`Job`] (the server,
//! the request, where events go), the [`Answer`] written so far across its legs, what the
//! stream said besides text ([`Seen`]), and how tokens of text are counted.

use super::connect::Server;
use super::http::Client;
use super::wire::ServerUsage;
use super::RemoteConfig;
use crate::llm::budget::{Budget, BudgetStep};
use crate::llm::{EngineEvent, EventSender, GenerateRequest, Generation, StopReason};
use crate::tools::deltas::CallDeltas;
use std::time::Instant;

/// One generation against the server.
pub(super) struct Job<'a> {
    pub client: &'a Client,
    pub server: &'a Server,
    pub config: &'a RemoteConfig,
    pub req: &'a GenerateRequest,
    pub events: &'a EventSender,
    /// The engine was dropped: stop whatever is waiting.
    pub gone: Box<dyn Fn() -> bool + 'a>,
    /// The user asked for the answer now.
    pub answer_now: Box<dyn Fn() -> bool + 'a>,
}

/// The answer so far, across the requests (legs) that write it.
pub(super) struct Answer {
    pub gen: Generation,
    pub budget: Budget,
    /// The text as the model wrote it, tags spelled: the completion's text, and the assistant
    /// message a continuation sends.
    pub raw: String,
    pub seen: Seen,
    /// Tokens of the legs before the current one (the server reports the last leg's only).
    pub earlier: u32,
    /// A request continued the answer: the server's usage covers the last leg alone.
    pub continued: bool,
    /// The answer was asked for now (once is enough).
    pub asked: bool,
    /// The calls the server streamed as `delta.tool_calls`.
    pub calls: CallDeltas,
}

/// What the stream said, besides text.
#[derive(Default)]
pub(super) struct Seen {
    pub finish: Option<String>,
    pub usage: Option<ServerUsage>,
    pub done_marker: bool,
    pub in_reasoning: bool,
    /// In a reflection that `reflect serve` marked (`delta.reflection`) in the reasoning.
    pub in_reflection: bool,
    pub first_text: Option<Instant>,
}

impl Seen {
    /// How the stream ended when it ended: as the server said, or cut short.
    pub fn end(&self) -> StopReason {
        match self.finish.as_deref() {
            Some("length") => StopReason::MaxTokens,
            Some(_) => StopReason::EndOfTurn,
            None if self.done_marker => StopReason::EndOfTurn,
            None => StopReason::StreamCut,
        }
    }
}

/// The field that asks a server to continue the last assistant message.
pub(super) const CONTINUE: &str = "continue_final_message";

impl Job<'_> {
    /// The budget's state to the front ends, with the step just taken if any.
    pub(super) fn report(&self, budget: &Budget, step: Option<BudgetStep>) {
        let _ = self.events.send(EngineEvent::Budget {
            id: self.req.id,
            report: budget.report().clone(),
            step,
        });
    }
}

/// Tokens of text (the history to fit, forced text): exact with a tokenizer.json or from
/// llama-server, else a cautious estimate (three bytes a token).
pub(super) async fn count(job: &Job<'_>, text: &str, cancelled: &impl Fn() -> bool) -> u32 {
    if let Some(n) = job.server.tokens(text) {
        return n;
    }
    if job.server.llama_server {
        if let Some(n) = job.client.count_tokens(text, cancelled).await {
            return n;
        }
    }
    (text.len() as u32).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_ends_as_the_server_said_else_cut_short() {
        let cases = [
            // (finish reason, [DONE] seen, how it ended)
            (Some("length"), false, StopReason::MaxTokens),
            (Some("length"), true, StopReason::MaxTokens),
            (Some("stop"), false, StopReason::EndOfTurn),
            (Some("tool_calls"), false, StopReason::EndOfTurn),
            (None, true, StopReason::EndOfTurn),
            (None, false, StopReason::StreamCut),
        ];
        for (finish, done_marker, want) in cases {
            let seen = Seen {
                finish: finish.map(str::to_string),
                done_marker,
                ..Seen::default()
            };
            assert_eq!(seen.end(), want, "{finish:?}, [DONE]: {done_marker}");
        }
    }
}
