//! Fitting the history into the server's context: the oldest turns are left out (never the
//! system prompt or the current message) until the messages and room to answer fit, counting
//! tokens exactly where the server or a tokenizer.json can, else cautiously.

use super::job::{count, Job};
use crate::llm::{drop_oldest_turn, ChatMessage, EngineEvent};

/// The messages of `messages` that fit a context of `n_ctx` tokens with room to answer (as
/// much as `max_tokens`, at most a quarter of the context), and how many of the oldest turns
/// were left out. `count` gives the tokens of a text; each message costs a few tokens of
/// headers besides. When `cancelled`, what is left so far.
pub(super) async fn fit(
    mut messages: Vec<ChatMessage>,
    n_ctx: u32,
    max_tokens: Option<u32>,
    count: impl AsyncFn(&str) -> u32,
    cancelled: &impl Fn() -> bool,
) -> (Vec<ChatMessage>, u32) {
    let room = max_tokens.unwrap_or(u32::MAX).min(n_ctx / 4);
    let size = |m: &[ChatMessage]| {
        m.iter()
            .map(|x| x.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let overhead = |m: &[ChatMessage]| 8 * m.len() as u32;
    let mut dropped = 0;
    loop {
        if cancelled() {
            // Nothing is sent for a cancelled request: no notice of turns left out.
            return (messages, 0);
        }
        let need = count(&size(&messages)).await + overhead(&messages);
        if need.saturating_add(room) <= n_ctx || !drop_oldest_turn(&mut messages) {
            return (messages, dropped);
        }
        dropped += 1;
    }
}

impl Job<'_> {
    /// The request's messages that fit the server's context (all of them where its size is not
    /// known), with a notice when turns were left out, as llama.cpp in process does.
    pub(super) async fn fit(&self, cancelled: &impl Fn() -> bool) -> Vec<ChatMessage> {
        let messages = self.req.messages.clone();
        let Some(n_ctx) = self.server.context.filter(|n| *n > 0) else {
            return messages;
        };
        let counter = async |text: &str| count(self, text, cancelled).await;
        let (messages, dropped) =
            fit(messages, n_ctx, self.req.max_tokens, counter, cancelled).await;
        if dropped > 0 {
            let turns = if dropped == 1 { "turn" } else { "turns" };
            let _ = self.events.send(EngineEvent::Warning(format!(
                "the conversation no longer fits the context ({n_ctx} tokens): left out the {dropped} oldest {turns}"
            )));
        }
        messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    /// A system prompt, `turns` earlier turns of ten words each way, and the current message.
    fn conversation(turns: usize) -> Vec<ChatMessage> {
        let ten = "w ".repeat(10);
        let mut m = vec![ChatMessage::new(Role::System, "be brief")];
        for _ in 0..turns {
            m.push(ChatMessage::new(Role::User, ten.trim()));
            m.push(ChatMessage::new(Role::Assistant, ten.trim()));
        }
        m.push(ChatMessage::new(Role::User, "now"));
        m
    }

    fn run(messages: Vec<ChatMessage>, n_ctx: u32, max: Option<u32>, stop: bool) -> (usize, u32) {
        let words = async |text: &str| text.split_whitespace().count() as u32;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let (kept, dropped) = rt.block_on(fit(messages, n_ctx, max, words, &|| stop));
        (kept.len(), dropped)
    }

    #[test]
    fn leaves_out_the_oldest_turns_until_the_rest_fits() {
        // Each turn: 20 words + 2 × 8 tokens of headers = 36; the system prompt and the
        // current message: 3 words + 16 = 19. Room: max_tokens, at most n_ctx / 4.
        let cases = [
            // (turns, n_ctx, max_tokens, messages kept, turns left out)
            (0, 40, Some(1), 2, 0),
            (2, 100, Some(9), 6, 0),  // 91 + 9: fits exactly
            (2, 100, Some(10), 4, 1), // 91 + 10 does not; 55 + 10 does
            (1, 80, Some(100), 4, 0), // the room is at most a quarter: 55 + 20
            (3, 100, None, 4, 2),     // 127, 91, 55 (+ 25)
            (3, 10, None, 2, 3),      // never fits: every earlier turn out, the rest kept
        ];
        for (turns, n_ctx, max, kept, dropped) in cases {
            let got = run(conversation(turns), n_ctx, max, false);
            assert_eq!(
                got,
                (kept, dropped),
                "{turns} turns in {n_ctx} tokens, max {max:?}"
            );
        }
    }

    #[test]
    fn a_cancel_stops_fitting_with_what_is_left() {
        assert_eq!(run(conversation(3), 10, None, true), (8, 0));
    }
}
