//! `Command::Serve` on the real engine (issue #28, the engine side of `reflect serve`): jobs
//! decoded together in one context. Each job gives what it gives alone (the semantic model
//! notices a wrong cache, the scripted ones a wrong budget or guard), jobs start while others
//! decode, a cancel ends one job and frees its slot, a slot's cache is reused for a shared
//! prefix, a prompt too long for its slot fails alone, and closing the channel hands the engine
//! back. The order of events, never time, says what ran when.

use crate::common::*;
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::gguf::{write_random_model, RandomModelSpec, ScriptItem};
use reflect::llm::{
    BudgetReport, BudgetSettings, BudgetStep, ChatMessage, Command, Completion, EngineError,
    EngineEvent, EventSender, ForcedBy, GenerateRequest, Role, SamplingSettings, ServeJob,
    StopReason, Usage,
};
use reflect::stream::{Channel, RouterConfig, TagSet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// An engine on `m`; `batch` 1 decodes prompts a token at a time, so that every comparison
/// with the semantic model is between the same float operations (as in `semantic.rs`).
fn start(m: &Model, ctx: u32, batch: u32) -> (Engine, Events) {
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(ctx),
        threads: Some(2),
        batch_size: Some(batch),
        tags: TagSet::default(),
        vocab_only: false,
        checked: None,
        chat_template: None,
        speculation: Default::default(),
    });
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Loaded(_) => return (engine, events),
            EngineEvent::Error(e) => panic!("load failed: {e}"),
            _ => {}
        }
    }
}

fn semantic() -> Model {
    let dir = Sandbox::new();
    let path = dir.path().join("semantic.gguf");
    write_random_model(&path, &RandomModelSpec::semantic()).expect("write the semantic model");
    Model { dir, path }
}

fn msg(role: Role, text: &str) -> ChatMessage {
    ChatMessage::new(role, text)
}

fn request(
    id: u64,
    messages: Vec<ChatMessage>,
    sampling: SamplingSettings,
    max: u32,
) -> GenerateRequest {
    GenerateRequest {
        id,
        messages,
        sampling,
        max_tokens: Some(max),
        router: RouterConfig::default(),
        budget: BudgetSettings::default(),
        tools: Vec::new(),
        raw: false,
    }
}

fn greedy() -> SamplingSettings {
    SamplingSettings {
        temperature: 0.0,
        ..SamplingSettings::default()
    }
}

fn seeded(seed: u32) -> SamplingSettings {
    SamplingSettings {
        temperature: 1.0,
        seed: Some(seed),
        ..SamplingSettings::default()
    }
}

// ---------------------------------------------------------------------------------------------
// A serving engine and the one log of all its jobs' events, in the order they were sent.

/// One event of job `.0` (its request id).
type Logged = (u64, EngineEvent);

struct Serving {
    jobs: Option<mpsc::Sender<ServeJob>>,
    log_tx: mpsc::Sender<Logged>,
    log: mpsc::Receiver<Logged>,
    /// Every event seen so far, in order, as (job, kind).
    seen: Vec<(u64, &'static str)>,
    /// What each job streamed.
    streamed: HashMap<u64, Streamed>,
    /// Jobs that ended, not yet asked for.
    ended: Vec<(u64, Outcome)>,
}

impl Serving {
    fn start(engine: &Engine, slots: u32) -> Serving {
        let (jobs_tx, jobs_rx) = mpsc::channel();
        engine
            .send(Command::Serve {
                slots,
                jobs: jobs_rx,
            })
            .expect("engine alive");
        let (log_tx, log) = mpsc::channel();
        Serving {
            jobs: Some(jobs_tx),
            log_tx,
            log,
            seen: Vec::new(),
            streamed: HashMap::new(),
            ended: Vec::new(),
        }
    }

    /// Sends `req` as a job; its cancel flag.
    fn send(&self, request: GenerateRequest) -> Arc<AtomicU64> {
        let tx = self.log_tx.clone();
        let id = request.id;
        self.send_with(request, EventSender::new(move |e| tx.send((id, e)).is_ok()))
    }

    /// Sends `req` as a job whose first text holds the engine until `gate` opens (what the
    /// test does meanwhile happens between two steps of the engine); its cancel flag.
    fn send_gated(&self, request: GenerateRequest, gate: mpsc::Receiver<()>) -> Arc<AtomicU64> {
        let tx = self.log_tx.clone();
        let id = request.id;
        let gate = Mutex::new(Some(gate));
        let events = EventSender::new(move |e| {
            let text = matches!(e, EngineEvent::Text { .. });
            let sent = tx.send((id, e)).is_ok();
            if let Some(g) = text.then(|| gate.lock().unwrap().take()).flatten() {
                let _ = g.recv();
            }
            sent
        });
        self.send_with(request, events)
    }

    fn send_with(&self, request: GenerateRequest, events: EventSender) -> Arc<AtomicU64> {
        let cancel = Arc::new(AtomicU64::new(0));
        let job = ServeJob {
            request,
            cancel: cancel.clone(),
            events,
        };
        self.jobs
            .as_ref()
            .expect("open")
            .send(job)
            .expect("serving");
        cancel
    }

    fn close(&mut self) {
        self.jobs = None;
    }

    /// The next event of any job.
    fn next(&mut self) -> Logged {
        let (id, e) = self.log.recv().expect("engine alive");
        self.seen.push((id, kind(&e)));
        self.streamed.entry(id).or_default().see(&e);
        (id, e)
    }

    /// Events until job `id` ends: its outcome. Other jobs' ends are kept for later.
    fn until_end(&mut self, id: u64) -> Outcome {
        if let Some(at) = self.ended.iter().position(|(i, _)| *i == id) {
            return self.ended.remove(at).1;
        }
        loop {
            match self.next() {
                (i, EngineEvent::Done(d)) if i == id => return Outcome::Done(*d),
                (i, EngineEvent::Error(e)) if i == id => return Outcome::Failed(e),
                (i, EngineEvent::Done(d)) => self.ended.push((i, Outcome::Done(*d))),
                (i, EngineEvent::Error(e)) => self.ended.push((i, Outcome::Failed(e))),
                _ => {}
            }
        }
    }

    /// Waits for every job in `ids` to end: their completions, in the order of `ids`.
    fn all(&mut self, ids: &[u64]) -> Vec<Completion> {
        ids.iter()
            .map(|&id| match self.until_end(id) {
                Outcome::Done(d) => d,
                Outcome::Failed(e) => panic!("job {id} failed: {e}"),
            })
            .collect()
    }

    /// Where the first event of `kind` for job `id` is in the log.
    fn at(&self, id: u64, kind: &str) -> usize {
        self.seen
            .iter()
            .position(|&(i, k)| i == id && k == kind)
            .unwrap_or_else(|| panic!("no {kind} for job {id}: {:?}", self.seen))
    }
}

/// What one job streamed: each channel's text and the budget's steps.
#[derive(Default, Debug, PartialEq)]
struct Streamed {
    thinking: String,
    reflection: String,
    output: String,
    steps: Vec<BudgetStep>,
    texts: usize,
}

impl Streamed {
    fn see(&mut self, e: &EngineEvent) {
        match e {
            EngineEvent::Text { channel, text, .. } => {
                self.texts += 1;
                match channel {
                    Channel::Thinking => self.thinking.push_str(text),
                    Channel::Reflection => self.reflection.push_str(text),
                    Channel::Output => self.output.push_str(text),
                }
            }
            EngineEvent::Budget { step, .. } => self.steps.extend(*step),
            _ => {}
        }
    }
}

// A test's handful of outcomes: boxing the completion would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Outcome {
    Done(Completion),
    Failed(EngineError),
}

fn kind(e: &EngineEvent) -> &'static str {
    match e {
        EngineEvent::PromptProcessed { .. } => "prompt",
        EngineEvent::Text { .. } => "text",
        EngineEvent::Done(_) => "done",
        EngineEvent::Error(_) => "error",
        EngineEvent::Budget { .. } => "budget",
        EngineEvent::PromptProgress { .. } => "progress",
        _ => "other",
    }
}

/// `req` alone on `engine` (the single-generation path): its completion.
fn alone(engine: &Engine, events: &mut Events, req: GenerateRequest) -> Completion {
    alone_streamed(engine, events, req).1
}

/// `req` alone on `engine`: what it streamed, and its completion.
fn alone_streamed(
    engine: &Engine,
    events: &mut Events,
    req: GenerateRequest,
) -> (Streamed, Completion) {
    engine.send(Command::Generate(req)).expect("engine alive");
    let mut streamed = Streamed::default();
    loop {
        let e = events.blocking_recv().expect("engine alive");
        streamed.see(&e);
        match e {
            EngineEvent::Done(d) => return (streamed, *d),
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

fn questions() -> Vec<Vec<ChatMessage>> {
    [
        "Tell me about the sea.",
        "What do mountains look like?",
        "Write about a quiet town.",
        "Describe the night sky.",
    ]
    .iter()
    .map(|q| {
        vec![
            msg(Role::System, "You answer in words."),
            msg(Role::User, q),
        ]
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn concurrent_jobs_give_exactly_what_each_gives_alone() {
    let m = semantic();
    let samplings = [greedy(), seeded(7), greedy(), seeded(1234)];
    let reqs: Vec<GenerateRequest> = questions()
        .into_iter()
        .zip(samplings)
        .enumerate()
        .map(|(i, (q, s))| request(i as u64 + 1, q, s, 24))
        .collect();
    let (reference, mut ref_events) = start(&m, 1024, 1);
    let want: Vec<Completion> = reqs
        .iter()
        .map(|r| alone(&reference, &mut ref_events, r.clone()))
        .collect();
    let (engine, _events) = start(&m, 2048, 1);
    let mut serving = Serving::start(&engine, 4);
    for r in &reqs {
        serving.send(r.clone());
    }
    let got = serving.all(&[1, 2, 3, 4]);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g.text, g.stop_reason, g.usage.completion_tokens, g.seed),
            (&w.text, w.stop_reason, w.usage.completion_tokens, w.seed),
            "job {} batched differs from alone",
            g.id
        );
    }
    // They ran together: each job's prompt went in while the one before it was decoding
    // (one prompt at a time, beside the running streams).
    for id in 2..=4 {
        assert!(
            serving.at(id, "progress") < serving.at(id - 1, "done"),
            "{:?}",
            serving.seen
        );
    }
    // The answers differ from each other: the model reads its own prompt, not another slot's.
    assert_ne!(got[0].text, got[2].text);
}

/// `n` distinct words, one token each.
fn words(prefix: &str, n: usize) -> Vec<ScriptItem> {
    let text: String = (0..n).map(|i| format!(" {prefix}{i}")).collect();
    let mut items = Vec::new();
    reflect::gguf::push_prose(&text, &mut Default::default(), &mut items);
    assert_eq!(items.len(), n);
    items
}

fn ask(q: &str) -> Vec<ChatMessage> {
    vec![msg(Role::User, q)]
}

/// Events until job `id`'s first text.
fn first_text(serving: &mut Serving, id: u64) {
    loop {
        if let (i, EngineEvent::Text { .. }) = serving.next() {
            if i == id {
                return;
            }
        }
    }
}

#[test]
fn a_job_sent_while_another_decodes_starts_before_it_ends() {
    let m = model(words("w", 300));
    let (engine, _events) = start(&m, 4096, 512);
    let mut serving = Serving::start(&engine, 2);
    let (open, gate) = mpsc::channel();
    serving.send_gated(request(1, ask("q"), greedy(), 1000), gate);
    first_text(&mut serving, 1);
    // Job 1 has begun its answer: the second comes now.
    serving.send(request(2, ask("q"), greedy(), 5));
    open.send(()).unwrap();
    let done = serving.all(&[2, 1]);
    assert!(
        serving.at(2, "prompt") < serving.at(1, "done"),
        "{:?}",
        serving.seen
    );
    assert!(
        serving.at(2, "done") < serving.at(1, "done"),
        "{:?}",
        serving.seen
    );
    assert_eq!(done[0].stop_reason, StopReason::MaxTokens);
    assert_eq!(done[1].usage.completion_tokens, 300, "job 1 ran to its end");
}

/// Job 1 cancelled after its first text, with `slots` - 1 other long jobs running: it ends at
/// once, and its slot takes the next job while the others still run.
fn a_cancelled_job_ends_at_once_and_frees_its_slot(slots: u32) {
    let m = model(words("w", 300));
    let (engine, _events) = start(&m, 4096, 512);
    let mut serving = Serving::start(&engine, slots);
    let (open, gate) = mpsc::channel();
    let cancel = serving.send_gated(request(1, ask("q"), greedy(), 1000), gate);
    let others: Vec<u64> = (2..=u64::from(slots)).collect();
    for &id in &others {
        serving.send(request(id, ask("q"), greedy(), 1000));
    }
    first_text(&mut serving, 1);
    cancel.store(u64::MAX, Ordering::SeqCst);
    let next = u64::from(slots) + 1;
    serving.send(request(next, ask("q"), greedy(), 3));
    open.send(()).unwrap();
    let done = serving.all(&[1, next]);
    assert_eq!(done[0].stop_reason, StopReason::Cancelled);
    assert_eq!(serving.streamed[&1].texts, 1, "no text after the cancel");
    assert_eq!(done[1].stop_reason, StopReason::MaxTokens);
    let rest = serving.all(&others);
    for (id, d) in others.iter().zip(&rest) {
        assert_eq!(d.stop_reason, StopReason::EndOfTurn, "job {id}");
        assert!(
            serving.at(next, "done") < serving.at(*id, "done"),
            "the next job did not wait for job {id}: {:?}",
            serving.seen
        );
    }
}

#[test]
fn a_cancelled_job_ends_at_once_and_the_next_runs_in_one_slot() {
    a_cancelled_job_ends_at_once_and_frees_its_slot(1);
}

#[test]
fn a_cancelled_job_frees_its_slot_while_the_others_decode() {
    a_cancelled_job_ends_at_once_and_frees_its_slot(2);
}

#[test]
fn a_job_sharing_a_slots_prefix_evaluates_only_its_new_tokens_and_answers_as_fresh() {
    let m = semantic();
    let (engine, _events) = start(&m, 2048, 1);
    let mut serving = Serving::start(&engine, 2);
    let mut messages = questions().remove(0);
    serving.send(request(1, messages.clone(), greedy(), 24));
    let first = serving.all(&[1]).remove(0);
    // Another conversation meanwhile, sharing only the prompt's first tokens: it takes the
    // other slot, and the first stays cached.
    serving.send(request(3, ask("Write about a quiet town."), greedy(), 8));
    serving.all(&[3]);
    messages.push(msg(Role::Assistant, &first.text));
    messages.push(msg(Role::User, "And the mountains?"));
    serving.send(request(2, messages.clone(), greedy(), 24));
    let second = serving.all(&[2]).remove(0);
    let u = second.usage;
    assert!(
        u.prompt_tokens_evaluated <= u.prompt_tokens - first.usage.prompt_tokens,
        "the first prompt is kept in its slot: {u:?}"
    );
    let (reference, mut ref_events) = start(&m, 1024, 1);
    let fresh = alone(
        &reference,
        &mut ref_events,
        request(2, messages, greedy(), 24),
    );
    assert_eq!(
        fresh.usage.prompt_tokens_evaluated,
        fresh.usage.prompt_tokens
    );
    assert_eq!(
        second.text, fresh.text,
        "after reuse the answer differs from a fresh one"
    );
}

/// Each request alone on a fresh engine, then all of them together in `slots` slots: each
/// streams and ends exactly as alone. What they streamed, and their completions.
fn batched_as_alone(
    m: &Model,
    slots: u32,
    reqs: &[GenerateRequest],
) -> Vec<(Streamed, Completion)> {
    let (reference, mut ref_events) = start(m, 4096, 512);
    let want: Vec<(Streamed, Completion)> = reqs
        .iter()
        .map(|r| alone_streamed(&reference, &mut ref_events, r.clone()))
        .collect();
    let (engine, _events) = start(m, 4096 * slots, 512);
    let mut serving = Serving::start(&engine, slots);
    for r in reqs {
        serving.send(r.clone());
    }
    let ids: Vec<u64> = reqs.iter().map(|r| r.id).collect();
    let got = serving.all(&ids);
    // The reference engine reused its cache from one request to the next: all else is equal.
    let counts = |c: &Completion| Usage {
        prompt_tokens_evaluated: 0,
        ..c.usage
    };
    for ((id, g), (ws, w)) in ids.iter().zip(&got).zip(&want) {
        assert_eq!(
            &serving.streamed[id], ws,
            "job {id} streamed otherwise than alone"
        );
        assert!(ws.texts > 0, "job {id} streamed nothing");
        assert_eq!(
            (&g.text, g.stop_reason, counts(g), &g.budget),
            (&w.text, w.stop_reason, counts(w), &w.budget),
            "job {id} ended otherwise than alone"
        );
    }
    want
}

fn thinking_request(id: u64, budget: BudgetSettings) -> GenerateRequest {
    GenerateRequest {
        router: RouterConfig {
            stop_after_output: true,
            ..RouterConfig::default()
        },
        budget,
        ..request(id, ask("q"), SamplingSettings::default(), 3000)
    }
}

fn capped(limit: u32, grace: u32) -> BudgetSettings {
    BudgetSettings {
        limit: Some(limit),
        grace,
        ..BudgetSettings::default()
    }
}

#[test]
fn each_jobs_thinking_budget_is_kept_in_batched_mode_as_alone() {
    // Thinks 150 words, reflects 10, thinks 10 more, answers.
    let mut items = vec![s("<thinking>")];
    items.extend(words("a", 150));
    items.push(s("<reflection>"));
    items.extend(words("r", 10));
    items.push(s("</reflection>"));
    items.extend(words("b", 10));
    items.extend([
        s("</thinking>"),
        s("<output>"),
        t("\nThe answer is 4."),
        s("</output>"),
    ]);
    let m = model(items);
    let reqs = [
        thinking_request(1, capped(100, 0)),
        thinking_request(2, BudgetSettings::default()),
        thinking_request(3, capped(0, 0)),
        thinking_request(4, capped(155, 0)),
    ];
    let got = batched_as_alone(&m, 4, &reqs);
    // Each job had its own budget: capped in the thinking, none, no thinking at all, capped
    // inside the reflection (closed first).
    let b: Vec<Option<BudgetReport>> = got.iter().map(|(_, c)| c.budget.clone()).collect();
    assert_eq!(
        b[0].as_ref().map(|b| (b.used, b.forced_by)),
        Some((100, Some(ForcedBy::Budget)))
    );
    assert_eq!(b[1], None);
    assert_eq!(
        b[2].as_ref().and_then(|b| b.forced_by),
        Some(ForcedBy::NoThinking)
    );
    assert_eq!(
        b[3].as_ref().map(|b| (b.used, b.forced_by)),
        Some((155, Some(ForcedBy::Budget)))
    );
    assert_eq!(got[3].0.reflection.trim(), "r0 r1 r2", "{:?}", got[3].0);
    assert!(!got[0].0.thinking.contains("a100"));
    for (seen, _) in &got {
        assert_eq!(seen.output.trim(), "The answer is 4.");
    }
}

#[test]
fn a_minimum_extends_an_end_of_thinking_in_pieces_per_job_as_alone() {
    // Tags as plain text: "</thin" + "king>" spell the end, taken back out of the job's own
    // slot each time and replaced by the extension.
    let m = model(vec![
        t("<thinking>"),
        t(" a0"),
        ScriptItem::Byte(b','),
        t("</thin"),
        t("king>"),
        t("<output>OK</output>"),
    ]);
    let min = |n| BudgetSettings {
        min_thinking: Some(n),
        max_extensions: 3,
        ..BudgetSettings::default()
    };
    let reqs = [
        thinking_request(1, min(2)),
        thinking_request(2, min(1000)),
        thinking_request(3, min(1000)),
    ];
    // Job 2 runs in the second slot, beside job 1.
    let got = batched_as_alone(&m, 2, &reqs);
    assert_eq!(
        got[0].0.thinking, "a0,",
        "a minimum of 2 is met: no extension"
    );
    assert_eq!(got[1].0.thinking, "a0,\nWait,\nWait,\nWait,");
    assert_eq!(got[2].0.thinking, got[1].0.thinking);
}

#[test]
fn a_prompt_too_long_for_its_slot_fails_alone() {
    let m = model(reflection_script());
    // 512 tokens shared by two slots: 256 each.
    let (engine, _events) = start(&m, 512, 512);
    let mut serving = Serving::start(&engine, 2);
    serving.send(request(1, ask("2+2?"), greedy(), 1000));
    serving.send(request(2, ask(&"word ".repeat(300)), greedy(), 1000));
    serving.send(request(3, ask("3+3?"), greedy(), 1000));
    match serving.until_end(2) {
        Outcome::Failed(EngineError::PromptTooLong { n_ctx, .. }) => assert_eq!(n_ctx, 256),
        other => panic!("{other:?}"),
    }
    let mut rest = Vec::new();
    for id in [1, 3] {
        match serving.until_end(id) {
            Outcome::Done(d) => rest.push(d),
            other => panic!("job {id}: {other:?}"),
        }
    }
    for d in rest {
        assert_eq!(d.stop_reason, StopReason::EndOfTurn, "{d:?}");
        assert!(d.text.contains("The answer is 4"), "{}", d.text);
    }
}

/// The jobs' channel closes while a job runs: that job finishes, the command returns and the
/// engine takes the next command.
fn closing_the_channel_hands_the_engine_back(slots: u32) {
    let m = model(reflection_script());
    let (engine, mut events) = start(&m, 1024, 512);
    let mut serving = Serving::start(&engine, slots);
    serving.send(request(1, ask("2+2?"), greedy(), 1000));
    serving.close();
    let done = serving.all(&[1]).remove(0);
    assert_eq!(done.stop_reason, StopReason::EndOfTurn);
    let after = alone(
        &engine,
        &mut events,
        request(2, ask("2+2?"), greedy(), 1000),
    );
    assert_eq!(after.text, done.text);
}

#[test]
fn closing_the_channel_hands_the_engine_back_with_one_slot() {
    closing_the_channel_hands_the_engine_back(1);
}

#[test]
fn closing_the_channel_hands_the_engine_back_with_slots() {
    closing_the_channel_hands_the_engine_back(3);
}
