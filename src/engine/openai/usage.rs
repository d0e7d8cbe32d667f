//! Counts, cost and timings of a finished answer: the server's usage where it reported one (a
//! later partial report completes an earlier one; after a forced end of thinking the legs'
//! completions add up), exact per-channel counts with a tokenizer.json, estimates otherwise;
//! the cost from the server or the configured price; and whether an answer that should have
//! had the profile's tags had none.

use super::job::{Answer, Job};
use super::wire::ServerUsage;
use crate::llm::{ChatMessage, Completion, StopReason, Timings};
use crate::stream::{Channel, TagSet, TagToken};
use crate::tools::call::call_id;
use crate::tools::deltas::CallDeltas;
use std::time::{Duration, Instant};

/// A later, partial usage object completes an earlier one; it does not erase it.
pub(super) fn merged(old: Option<ServerUsage>, new: ServerUsage) -> ServerUsage {
    let old = old.unwrap_or_default();
    ServerUsage {
        prompt_tokens: new.prompt_tokens.or(old.prompt_tokens),
        completion_tokens: new.completion_tokens.or(old.completion_tokens),
        cached_tokens: new.cached_tokens.or(old.cached_tokens),
        cost: new.cost.or(old.cost),
    }
}

/// The usage of an answer written in legs, from the server's report of the last one: its
/// completion is added to the `earlier` legs' tokens, and the prompt (which held the earlier
/// text) is counted afresh, as is the cost.
fn over_legs(usage: ServerUsage, earlier: u32) -> ServerUsage {
    ServerUsage {
        prompt_tokens: None,
        completion_tokens: usage.completion_tokens.map(|n| n + earlier),
        cached_tokens: None,
        cost: None,
    }
}

/// The timings of an answer that `started`, whose stream opened at `prompt_done`, whose first
/// text came at `first_text` and which `ended`: the rate leaves out the first token, which
/// waited for the prompt.
fn timings(
    started: Instant,
    prompt_done: Instant,
    first_text: Option<Instant>,
    ended: Instant,
    completion_tokens: u32,
) -> Timings {
    let ms = |d: Duration| d.as_millis() as u64;
    let first = first_text.unwrap_or(ended);
    let generating = ended.saturating_duration_since(first);
    Timings {
        load_ms: 0,
        prompt_ms: ms(first.saturating_duration_since(started)),
        first_token_ms: first_text.map_or(0, |t| ms(t - started)),
        generation_ms: ms(ended - prompt_done),
        tokens_per_second: if generating.as_secs_f64() > 0.0 && completion_tokens > 1 {
            f64::from(completion_tokens - 1) / generating.as_secs_f64()
        } else {
            0.0
        },
        ..Timings::default()
    }
}

/// The prompt's tokens where nothing counted them: four bytes a token, eight bytes of headers
/// a message.
fn estimated_prompt(messages: &[ChatMessage]) -> u32 {
    let bytes: usize = messages.iter().map(|m| m.content.len() + 8).sum();
    (bytes as u32).div_ceil(4)
}

/// Whether an answer that ran its course, written by a profile with tags, had none of them.
fn tagless(tags: &TagSet, stop: StopReason, raw: &str) -> bool {
    let tags = tags.tags();
    !tags.is_empty()
        && matches!(stop, StopReason::EndOfTurn | StopReason::MaxTokens)
        && !tags.iter().any(|(text, _)| raw.contains(text.as_str()))
        && !raw.trim().is_empty()
}

impl Job<'_> {
    /// Counts, cost and timings; the completion, and whether it lacked the tags it should
    /// have had.
    pub(super) async fn finish(
        &self,
        a: Answer,
        messages: &[ChatMessage],
        stop: StopReason,
        started: Instant,
        prompt_done: Instant,
    ) -> (Completion, bool) {
        let Answer {
            mut gen,
            budget,
            raw,
            seen,
            earlier,
            continued,
            calls,
            ..
        } = a;
        if seen.in_reasoning {
            gen.tag(TagToken::close(Channel::Thinking));
        }
        let usage = seen
            .usage
            .map(|u| if continued { over_legs(u, earlier) } else { u });
        let usage = usage.unwrap_or_default();
        // Tokens were counted per channel as they streamed, one per event: exact for
        // llama-server, which sends each token as it is sampled; an estimate elsewhere, unless
        // the model's tokenizer.json counts each channel's text.
        gen.usage.estimated = !self.server.llama_server;
        if self.server.tokenizer.is_some() {
            let [t, r, o] = gen.kept_text().map(|text| self.server.tokens(text));
            if let (Some(t), Some(r), Some(o)) = (t, r, o) {
                gen.usage.thinking_tokens = t;
                gen.usage.reflection_tokens = r;
                gen.usage.output_tokens = o;
                gen.usage.estimated = false;
            }
        }
        if let Some(n) = usage.completion_tokens {
            gen.usage.completion_tokens = n;
        }
        match usage.prompt_tokens {
            Some(p) => {
                gen.usage.prompt_tokens = p;
                gen.usage.prompt_tokens_evaluated =
                    p.saturating_sub(usage.cached_tokens.unwrap_or(0));
            }
            // The stream was closed before its usage came (after </output>, or cancelled).
            None if self.server.llama_server => {
                // Bounded, and abandoned when the engine is dropped (the user quit).
                let counted = tokio::time::timeout(
                    Duration::from_secs(5),
                    self.client.prompt_tokens(messages, &self.gone),
                );
                if let Ok(Some(p)) = counted.await {
                    gen.usage.prompt_tokens = p;
                    gen.usage.prompt_tokens_evaluated = p;
                }
            }
            None => {
                gen.usage.prompt_tokens = estimated_prompt(messages);
                gen.usage.prompt_tokens_evaluated = gen.usage.prompt_tokens;
                gen.usage.prompt_estimated = true;
            }
        }
        let cost = usage.cost.or_else(|| {
            self.config
                .price
                .map(|p| p.cost(gen.usage.prompt_tokens, gen.usage.completion_tokens))
        });
        let timings = timings(
            started,
            prompt_done,
            seen.first_text,
            Instant::now(),
            gen.usage.completion_tokens,
        );
        let mut tagless = tagless(&self.req.router.tags, stop, &raw);
        let mut done = gen.finish(stop, timings, raw);
        add_streamed_calls(&mut done, calls, self.req.id);
        tagless &= done.calls.is_empty();
        done.cost = cost;
        done.seed = self
            .req
            .sampling
            .seed
            .filter(|_| self.req.sampling.temperature > 0.0);
        done.budget = budget.active().then(|| budget.report().clone());
        (done, tagless)
    }
}

/// The calls the server streamed; those read from the answer's text only when it streamed
/// none (a server may leave a streamed call's text in the answer too: one call, once). Each
/// gets reflect's own id (servers reuse `call_0` every step, and Mistral's templates need nine
/// letters or digits). One that cannot be read is a problem the model is told about.
fn add_streamed_calls(done: &mut Completion, calls: CallDeltas, generation: u64) {
    let mut all = Vec::new();
    for s in calls.finish() {
        match s.call {
            Ok(call) => all.push(call),
            Err(problem) => done.malformed.push(problem),
        }
    }
    if all.is_empty() {
        all.append(&mut done.calls);
    } else {
        done.calls.clear();
    }
    for (i, call) in all.iter_mut().enumerate() {
        call.id = call_id(generation, i);
    }
    done.calls = all;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    fn usage(prompt: Option<u32>, completion: Option<u32>, cost: Option<f64>) -> ServerUsage {
        ServerUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: None,
            cost,
        }
    }

    #[test]
    fn a_later_partial_usage_completes_an_earlier_one() {
        let cases = [
            // (earlier, later, merged)
            (None, usage(Some(5), None, None), usage(Some(5), None, None)),
            (
                Some(usage(Some(5), Some(7), Some(0.1))),
                usage(None, Some(9), None),
                usage(Some(5), Some(9), Some(0.1)),
            ),
            (
                Some(usage(Some(5), None, None)),
                usage(Some(6), Some(2), Some(0.2)),
                usage(Some(6), Some(2), Some(0.2)),
            ),
            (
                Some(usage(None, None, None)),
                usage(None, None, None),
                usage(None, None, None),
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(merged(old, new), want, "{old:?} then {new:?}");
        }
    }

    #[test]
    fn an_answer_in_legs_adds_the_earlier_legs_and_forgets_the_last_prompt() {
        let last = ServerUsage {
            cached_tokens: Some(30),
            ..usage(Some(40), Some(12), Some(0.5))
        };
        assert_eq!(over_legs(last, 20), usage(None, Some(32), None));
        assert_eq!(
            over_legs(usage(Some(40), None, None), 20),
            usage(None, None, None)
        );
    }

    #[test]
    fn timings_measure_from_the_start_and_rate_after_the_first_token() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let t = timings(t0, at(10), Some(at(50)), at(1050), 11);
        assert_eq!(
            (t.prompt_ms, t.first_token_ms, t.generation_ms),
            (50, 50, 1040)
        );
        assert!(
            (t.tokens_per_second - 10.0).abs() < 1e-9,
            "{}",
            t.tokens_per_second
        );
        // No text at all: the prompt lasted until the end, and there is no rate.
        let t = timings(t0, at(10), None, at(300), 0);
        assert_eq!(
            (t.prompt_ms, t.first_token_ms, t.generation_ms),
            (300, 0, 290)
        );
        assert_eq!(t.tokens_per_second, 0.0);
        // One token has no rate either: it only waited for the prompt.
        assert_eq!(
            timings(t0, at(10), Some(at(50)), at(90), 1).tokens_per_second,
            0.0
        );
    }

    #[test]
    fn an_uncounted_prompt_is_four_bytes_a_token_with_headers() {
        let m = [
            ChatMessage::new(Role::System, "1234"),
            ChatMessage::new(Role::User, "123456789"),
        ];
        assert_eq!(estimated_prompt(&m), 8); // (12 + 17) / 4, rounded up
        assert_eq!(estimated_prompt(&[]), 0);
    }

    #[test]
    fn tagless_only_when_tags_were_expected_and_the_answer_ran_its_course() {
        let tags = TagSet::default();
        let none = TagSet {
            thinking: Vec::new(),
            reflection: Vec::new(),
            output: Vec::new(),
        };
        let cases = [
            // (tags, stop, raw, tagless)
            (&tags, StopReason::EndOfTurn, "just an answer", true),
            (&tags, StopReason::MaxTokens, "just an answer", true),
            (
                &tags,
                StopReason::EndOfTurn,
                "<output>an answer</output>",
                false,
            ),
            (&tags, StopReason::EndOfTurn, "  \n", false),
            (&tags, StopReason::Cancelled, "just an answer", false),
            (&tags, StopReason::StreamCut, "just an answer", false),
            (&none, StopReason::EndOfTurn, "just an answer", false),
        ];
        for (tags, stop, raw, want) in cases {
            assert_eq!(tagless(tags, stop, raw), want, "{stop:?} {raw:?}");
        }
    }

    #[test]
    fn streamed_calls_win_over_their_text_and_every_call_gets_an_id_of_its_own() {
        use crate::tools::ToolCall;
        let finished = |text_calls: Vec<ToolCall>, deltas: CallDeltas| {
            let mut done = crate::llm::Generation::new(
                &Default::default(),
                &crate::llm::EventSender::new(|_| true),
            )
            .finish(StopReason::EndOfTurn, Timings::default(), String::new());
            done.calls = text_calls;
            add_streamed_calls(&mut done, deltas, 3);
            done
        };
        let mut deltas = CallDeltas::default();
        deltas.push(&serde_json::json!([
            {"index": 0, "id": "call_0", "function": {"name": "read_file", "arguments": "{}"}},
            {"index": 1, "id": "call_0", "function": {"name": "list_dir", "arguments": "{}"}},
            {"index": 2, "function": {"name": "search", "arguments": "{\"pattern\": "}},
        ]));
        let text_copy = vec![ToolCall::new("read_file", Default::default())];
        let done = finished(text_copy.clone(), deltas);
        let names: Vec<&str> = done.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["read_file", "list_dir"],
            "the text's copy is not a second call"
        );
        assert!(done.calls.iter().all(|c| c.id.len() == 9));
        assert_ne!(done.calls[0].id, done.calls[1].id);
        assert_eq!(
            done.malformed.len(),
            1,
            "the cut JSON: {:?}",
            done.malformed
        );
        // Without streamed calls, the answer's own calls stand.
        let done = finished(text_copy, CallDeltas::default());
        assert_eq!(done.calls.len(), 1);
        assert_eq!(done.calls[0].id.len(), 9);
    }
}
