//! Speculative decoding in the batched slots (`Command::Serve` with slots, `eval --parallel`):
//! each slot drafts for its own job (prompt lookup over its own text, a draft model's context
//! of its own) and verifies its drafts in the shared batch; a rejected draft leaves that slot's
//! cache alone. On the semantic model (every token depends on the whole context) concurrent
//! greedy jobs answer token for token as plain decoding alone, with the budget's forced end
//! too; seeded ones repeat their answer; a scripted thinking that lookup drafts whole has its
//! forced end land among a slot's pending drafts, which leave the slot first. In each, drafts
//! were accepted, which only speculation in the slots does.

use crate::common::*;
use crate::speculative::{
    drafting, lookup, request, sampling, semantic, small_draft, start, start_ctx, stream, user,
    Streamed, PROMPTS,
};
use reflect::engine::{Engine, Speculation};
use reflect::llm::{
    BudgetSettings, Command, Completion, EngineEvent, EventSender, GenerateRequest, ServeJob,
};
use reflect::stream::RouterConfig;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};

/// Slots of the batched engine; its context is this many times the reference's.
const SLOTS: u32 = 4;

/// `reqs` served together in `slots` slots on `engine`: what each streamed and its completion,
/// in the order of `reqs`. The jobs' channel closes after them (the engine is handed back).
fn served(engine: &Engine, slots: u32, reqs: &[GenerateRequest]) -> Vec<(Streamed, Completion)> {
    let (jobs_tx, jobs) = mpsc::channel();
    engine
        .send(Command::Serve { slots, jobs })
        .expect("engine alive");
    let (tx, rx) = mpsc::channel::<(usize, EngineEvent)>();
    for (k, request) in reqs.iter().cloned().enumerate() {
        let tx = tx.clone();
        let events = EventSender::new(move |e| tx.send((k, e)).is_ok());
        let cancel = Arc::new(AtomicU64::new(0));
        let job = ServeJob {
            request,
            cancel,
            events,
        };
        jobs_tx.send(job).expect("serving");
    }
    drop(tx);
    let mut out: Vec<(Streamed, Option<Completion>)> =
        reqs.iter().map(|_| (Streamed::default(), None)).collect();
    let mut left = reqs.len();
    while left > 0 {
        let (k, e) = rx.recv().expect("engine alive");
        match e {
            EngineEvent::Text { channel, text, .. } => out[k].0.text.push((channel, text)),
            EngineEvent::Budget {
                step: Some(step), ..
            } => out[k].0.steps.push(step),
            EngineEvent::Done(d) => {
                out[k].1 = Some(*d);
                left -= 1;
            }
            EngineEvent::Error(e) => panic!("job {k} failed: {e}"),
            _ => {}
        }
    }
    out.into_iter()
        .map(|(s, c)| (s, c.expect("done")))
        .collect()
}

/// Each request alone, without drafts, on an engine of its own (its prompt decoded from the
/// start, as in a fresh slot); then all of them served together in [`SLOTS`] slots drafting as
/// `spec` says: each streams and ends exactly as alone. The batched completions.
fn served_as_plain_alone(
    m: &Model,
    spec: Speculation,
    reqs: &[GenerateRequest],
) -> Vec<Completion> {
    let want: Vec<(Streamed, Completion)> = reqs
        .iter()
        .map(|r| {
            let (plain, mut events) = start(m, Speculation::default());
            stream(&plain, &mut events, r.clone())
        })
        .collect();
    let (fast, _events) = start_ctx(m, 1024 * SLOTS, spec);
    let got = served(&fast, SLOTS, reqs);
    for (k, ((gs, g), (ws, w))) in got.iter().zip(&want).enumerate() {
        assert_eq!(gs, ws, "job {k} streamed otherwise than plain alone");
        assert_eq!(
            (&g.text, g.stop_reason, g.usage.completion_tokens, g.seed),
            (&w.text, w.stop_reason, w.usage.completion_tokens, w.seed),
            "job {k} ended otherwise than plain alone"
        );
        assert_eq!(w.timings.draft_tokens, None, "no speculation, no counts");
        assert!(g.timings.draft_tokens.is_some(), "job {k}: drafts counted");
    }
    got.into_iter().map(|(_, c)| c).collect()
}

/// The repetitive prompts (lookup finds drafts in them), one job each.
fn repetitive(sampling: impl Fn(u32) -> reflect::llm::SamplingSettings) -> Vec<GenerateRequest> {
    [1, 2, 3, 5]
        .iter()
        .enumerate()
        .map(|(k, &p)| request(k as u64 + 1, &user(PROMPTS[p]), sampling(k as u32), 64))
        .collect()
}

/// (drafted, accepted) of each completion.
fn counts(done: &[Completion]) -> Vec<(u32, u32)> {
    done.iter()
        .map(|c| {
            let t = &c.timings;
            (t.draft_tokens.unwrap_or(0), t.draft_accepted.unwrap_or(0))
        })
        .collect()
}

#[test]
fn concurrent_greedy_jobs_with_prompt_lookup_give_token_for_token_plain_greedy() {
    let m = semantic();
    let done = served_as_plain_alone(&m, lookup(8), &repetitive(|_| sampling(0.0, 1)));
    let counts = counts(&done);
    let accepted: u32 = counts.iter().map(|c| c.1).sum();
    assert!(accepted > 0, "the slots accepted drafts: {counts:?}");
    // Each slot rolled back on its own: several jobs had drafts rejected, at their own points
    // (one after accepting some), and every job is still exact.
    let rejected = counts.iter().filter(|(d, a)| a < d).count();
    let both = counts.iter().filter(|(d, a)| *a > 0 && a < d).count();
    assert!(
        rejected >= 2 && both >= 1,
        "rejections in several slots: {counts:?}"
    );
}

/// `reqs` as `eval --parallel` runs them (`GenerateMany`: all queued up front, `at_once` at a
/// time): their completions, in the order of `reqs`.
fn many(
    engine: &Engine,
    events: &mut Events,
    reqs: &[GenerateRequest],
    at_once: u32,
) -> Vec<Completion> {
    let requests = reqs.to_vec();
    engine
        .send(Command::GenerateMany { requests, at_once })
        .expect("engine alive");
    let mut done: Vec<Option<Completion>> = reqs.iter().map(|_| None).collect();
    while done.iter().any(Option::is_none) {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Done(d) => {
                let k = reqs.iter().position(|r| r.id == d.id).expect("a job's id");
                done[k] = Some(*d);
            }
            EngineEvent::Error(e) => panic!("batched generation failed: {e}"),
            _ => {}
        }
    }
    done.into_iter().map(|d| d.expect("done")).collect()
}

#[test]
fn concurrent_seeded_jobs_with_prompt_lookup_repeat_their_answer_for_the_seed() {
    let m = semantic();
    let (fast, mut events) = start(&m, lookup(8));
    // Sampled, but close enough to greedy that the repetitive answers repeat and drafts are
    // accepted.
    let reqs = repetitive(|k| sampling(0.1, 7 + k));
    let first = many(&fast, &mut events, &reqs, SLOTS);
    let again = many(&fast, &mut events, &reqs, SLOTS);
    for ((a, b), r) in first.iter().zip(&again).zip(&reqs) {
        assert_eq!(
            (&a.text, a.stop_reason, a.seed),
            (&b.text, b.stop_reason, r.sampling.seed),
            "job {}",
            r.id
        );
    }
    let accepted: u32 = counts(&first).iter().map(|c| c.1).sum();
    assert!(
        accepted > 0,
        "the slots accepted drafts: {:?}",
        counts(&first)
    );
}

#[test]
fn concurrent_greedy_jobs_with_a_draft_model_give_token_for_token_plain_greedy() {
    let m = semantic();
    let reqs = repetitive(|_| sampling(0.0, 1));
    // The model drafting for itself: nearly every draft accepted, in every slot.
    let done = served_as_plain_alone(&m, drafting(&m.path, 0.0), &reqs);
    for (k, (drafted, accepted)) in counts(&done).into_iter().enumerate() {
        assert!(accepted * 2 > drafted, "job {k}: {accepted} of {drafted}");
    }
    // A small random model of the same vocabulary: most rejected, the same answers.
    let small = small_draft(&m.dir);
    let done = served_as_plain_alone(&m, drafting(&small, 0.0), &reqs);
    let (drafted, accepted) = counts(&done)
        .into_iter()
        .fold((0, 0), |(d, a), (x, y)| (d + x, a + y));
    assert!(drafted > 0 && accepted < drafted, "{accepted} of {drafted}");
}

#[test]
fn the_budgets_forced_end_in_speculating_slots_is_as_plain_alone() {
    let m = semantic();
    let thinking = RouterConfig {
        start_in_thinking: true,
        ..RouterConfig::default()
    };
    let budget = BudgetSettings {
        limit: Some(24),
        grace: 0,
        ..BudgetSettings::default()
    };
    let reqs: Vec<GenerateRequest> = repetitive(|_| sampling(0.0, 1))
        .into_iter()
        .map(|r| GenerateRequest {
            router: thinking.clone(),
            budget: budget.clone(),
            ..r
        })
        .collect();
    let done = served_as_plain_alone(&m, lookup(8), &reqs);
    let forced = (done.iter())
        .filter(|d| d.budget.as_ref().and_then(|b| b.forced_by).is_some())
        .count();
    assert!(forced > 0, "the budget forced the end of thinking");
    let accepted: u32 = counts(&done).iter().map(|c| c.1).sum();
    assert!(accepted > 0, "drafts were accepted: {:?}", counts(&done));
}

/// A thinking of letters that the prompt spells (lookup drafts all of it from there, in
/// batches of 8), then a short answer.
fn spelled_thinking() -> (Model, String) {
    use reflect::gguf::ScriptItem::Byte;
    let thinking = "abcdefghijklmnopqrstuvwxyz";
    let mut items = vec![s("<thinking>")];
    items.extend(thinking.bytes().map(Byte));
    items.extend([s("</thinking>"), s("<output>")]);
    items.extend("OK".bytes().map(Byte));
    items.push(s("</output>"));
    let spelled = format!("<thinking>{thinking}</thinking><output>OK</output>");
    (model(items), spelled)
}

#[test]
fn the_budgets_forced_end_drops_a_slots_pending_drafts_as_plain_alone() {
    let (m, spelled) = spelled_thinking();
    // Each job's limit falls inside a batch of accepted drafts, at another place.
    let reqs: Vec<GenerateRequest> = (1..=4u32)
        .map(|k| GenerateRequest {
            budget: BudgetSettings {
                limit: Some(4 + 3 * k),
                grace: 0,
                ..BudgetSettings::default()
            },
            ..request(k.into(), &user(&spelled), sampling(0.0, 1), 64)
        })
        .collect();
    let done = served_as_plain_alone(&m, lookup(8), &reqs);
    for d in &done {
        let forced = d.budget.as_ref().and_then(|b| b.forced_by);
        assert!(forced.is_some(), "job {}: {:?}", d.id, d.budget);
        assert!(
            d.timings.draft_accepted > Some(0),
            "job {}: {:?}",
            d.id,
            d.timings
        );
    }
}
