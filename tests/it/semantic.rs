//! Tests whose model notices a wrong KV cache or a wrong sampler. The scripted models are
//! bigrams with a logit margin of 100: their output depends on the last token only and hides
//! every sampling setting. Here a small random-weight model (`RandomModelSpec::semantic`),
//! whose every token depends on the whole context, is compared with references computed in
//! the test, never assumed:
//! - a fresh engine given the same full prompt (for KV-cache reuse, within a process and across
//!   processes through the state file);
//! - an independent decoder written here straight on llama-cpp-2, with its own argmax (for
//!   greedy decoding) and its own arithmetic of llama.cpp's documented samplers (for the
//!   distribution that top_k, top_p, min_p and the temperature leave, in llama.cpp's order).

use crate::common::*;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use reflect::engine::{llama_backend, Engine, GpuLayers, LlamaConfig};
use reflect::gguf::{write_random_model, RandomModelSpec, Value};
use reflect::llm::{
    ChatMessage, Command, Completion, EngineEvent, GenerateRequest, Role, SamplingSettings,
    StopReason,
};
use reflect::stream::{RouterConfig, TagSet};
use std::collections::HashMap;
use std::num::NonZeroU32;

/// The semantic model, with extra metadata keys, in a sandbox of its own.
fn semantic(metadata: Vec<(String, Value)>) -> Model {
    let dir = Sandbox::new();
    let path = dir.path().join("semantic.gguf");
    let spec = RandomModelSpec {
        metadata,
        ..RandomModelSpec::semantic()
    };
    write_random_model(&path, &spec).expect("write the semantic model");
    Model { dir, path }
}

// ---------------------------------------------------------------------------------------------
// The engine under test, in process.

/// An engine on `m` that decodes prompts one token at a time. Every comparison here is between
/// two computations of the same tokens: decoding each token alone makes them the same float
/// operations whatever was cached before (batches of different sizes sum in other orders, and
/// a near-tie between two tokens could then flip a greedy choice).
fn start(m: &Model) -> (Engine, Events) {
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(1024),
        threads: Some(2),
        batch_size: Some(1),
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

fn greedy() -> SamplingSettings {
    SamplingSettings {
        temperature: 0.0,
        ..SamplingSettings::default()
    }
}

fn msg(role: Role, text: &str) -> ChatMessage {
    ChatMessage::new(role, text)
}

fn request(
    id: u64,
    messages: &[ChatMessage],
    sampling: SamplingSettings,
    max: u32,
) -> GenerateRequest {
    GenerateRequest {
        id,
        messages: messages.to_vec(),
        sampling,
        max_tokens: Some(max),
        router: RouterConfig::default(),
        budget: Default::default(),
        tools: Vec::new(),
        raw: false,
    }
}

/// Waits for the end of the current generation.
fn done(events: &mut Events) -> Completion {
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Done(d) => return *d,
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

fn generate(engine: &Engine, events: &mut Events, req: GenerateRequest) -> Completion {
    engine.send(Command::Generate(req)).expect("engine alive");
    done(events)
}

/// The prompt exactly as the engine would decode it (begin-of-text included).
fn rendered(engine: &Engine, events: &mut Events, messages: &[ChatMessage]) -> String {
    engine
        .send(Command::RenderPrompt(GenerateRequest {
            messages: messages.to_vec(),
            ..GenerateRequest::default()
        }))
        .expect("engine alive");
    loop {
        if let EngineEvent::Prompt(p) = events.blocking_recv().expect("engine alive") {
            return p;
        }
    }
}

/// A fresh engine's answer to the whole conversation: the reference for cache reuse.
fn fresh(m: &Model, messages: &[ChatMessage], max: u32) -> Completion {
    let (engine, mut events) = start(m);
    let c = generate(&engine, &mut events, request(1, messages, greedy(), max));
    assert_eq!(
        c.usage.prompt_tokens_evaluated, c.usage.prompt_tokens,
        "a fresh engine decodes the whole prompt"
    );
    c
}

// ---------------------------------------------------------------------------------------------
// The independent reference: llama.cpp driven directly, no code of reflect's engine.

struct Reference {
    model: LlamaModel,
}

impl Reference {
    fn load(m: &Model) -> Self {
        let backend = llama_backend().expect("llama.cpp backend");
        let params = LlamaModelParams::default().with_n_gpu_layers(0);
        let model = LlamaModel::load_from_file(backend, &m.path, &params).expect("load");
        Reference { model }
    }

    /// Decodes `prompt` (rendered text, begin-of-text included) a token at a time, as the
    /// engine under test does; then calls `step(logits)` for the next token, which returns the
    /// token to decode next (or `None` to stop).
    fn run(&self, prompt: &str, mut step: impl FnMut(&[f32]) -> Option<LlamaToken>) -> usize {
        let backend = llama_backend().expect("llama.cpp backend");
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(1024))
            .with_n_batch(1024)
            .with_n_threads(2)
            .with_n_threads_batch(2);
        let mut ctx = self.model.new_context(backend, params).expect("context");
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), false, true);
        let mut batch = LlamaBatch::new(1, 1);
        for (i, t) in tokens.iter().enumerate() {
            batch.clear();
            batch.add(*t, i as i32, &[0], true).unwrap();
            ctx.decode(&mut batch).expect("decode the prompt");
        }
        let mut pos = tokens.len();
        let mut last = 0;
        while let Some(next) = step(ctx.get_logits_ith(last)) {
            batch.clear();
            batch.add(next, pos as i32, &[0], true).unwrap();
            ctx.decode(&mut batch).expect("decode");
            pos += 1;
            last = 0;
        }
        tokens.len()
    }

    /// The next-token logits after `prompt`.
    fn logits(&self, prompt: &str) -> Vec<f32> {
        let mut out = Vec::new();
        self.run(prompt, |l| {
            out = l.to_vec();
            None
        });
        out
    }

    /// The text of a token as the engine reports it (control tokens spelled out).
    fn piece(&self, t: LlamaToken) -> Vec<u8> {
        let vocab = self.model.vocab();
        let mut buf = Vec::new();
        vocab.token_to_piece_into(t, &mut buf, true, None);
        buf
    }

    /// Greedy decoding, written here: the highest logit each step, until the end of the turn
    /// or `max` tokens. Returns the text and the prompt's token count.
    fn greedy(&self, prompt: &str, max: usize) -> (String, usize) {
        let vocab = self.model.vocab();
        let mut text = Vec::new();
        let mut n = 0;
        let prompt_tokens = self.run(prompt, |logits| {
            if n == max {
                return None;
            }
            let best = argmax(logits);
            let t = LlamaToken(best as i32);
            if vocab.is_eog(t) {
                return None;
            }
            n += 1;
            text.extend_from_slice(&self.piece(t));
            Some(t)
        });
        (String::from_utf8_lossy(&text).into_owned(), prompt_tokens)
    }

    /// What the engine reports for a one-token answer `t`: its text, or "" at the end of turn.
    fn reported(&self, t: usize) -> String {
        let t = LlamaToken(t as i32);
        if self.model.vocab().is_eog(t) {
            String::new()
        } else {
            String::from_utf8_lossy(&self.piece(t)).into_owned()
        }
    }
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Sampler settings in llama.cpp's terms (`top_k` 0 and `top_p` 1 and `min_p` 0 are off).
#[derive(Clone, Copy, Debug)]
struct Cut {
    top_k: usize,
    top_p: f64,
    min_p: f64,
    temperature: f64,
}

/// The distribution llama.cpp's documented chain leaves: top_k keeps the k highest logits;
/// top_p the fewest most probable tokens whose probabilities (softmax of what is left) add up
/// to at least p; min_p the tokens whose probability is at least p times the highest one's;
/// then the temperature divides the logits, and the draw follows their softmax. Returns
/// (token, probability), most probable first.
fn expected(logits: &[f32], c: Cut) -> Vec<(usize, f64)> {
    let mut v: Vec<(usize, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, l)| (i, f64::from(*l)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    if c.top_k > 0 {
        v.truncate(c.top_k);
    }
    if c.top_p < 1.0 {
        let p = softmax(&v);
        let mut cum = 0.0;
        let keep = p
            .iter()
            .position(|x| {
                cum += x;
                cum >= c.top_p
            })
            .map_or(v.len(), |i| i + 1);
        v.truncate(keep);
    }
    if c.min_p > 0.0 {
        let floor = v[0].1 + c.min_p.ln();
        v.retain(|(_, l)| *l >= floor);
    }
    let tempered: Vec<(usize, f64)> = v.iter().map(|(i, l)| (*i, l / c.temperature)).collect();
    let p = softmax(&tempered);
    tempered.iter().map(|(i, _)| *i).zip(p).collect()
}

fn softmax(v: &[(usize, f64)]) -> Vec<f64> {
    let max = v.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x.1 - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// Probabilities of the whole vocabulary at temperature 1, most probable first.
fn plain_probabilities(logits: &[f32]) -> Vec<f64> {
    let all = Cut {
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        temperature: 1.0,
    };
    expected(logits, all).into_iter().map(|(_, p)| p).collect()
}

// ---------------------------------------------------------------------------------------------
// KV-cache reuse: the answer after reuse equals a fresh engine's on the same full prompt.

fn conversation_start() -> Vec<ChatMessage> {
    vec![
        msg(Role::System, "You answer in words."),
        msg(Role::User, "Tell me about the sea."),
    ]
}

#[test]
fn turn_two_after_cache_reuse_equals_a_fresh_engine_on_the_whole_conversation() {
    let m = semantic(Vec::new());
    let (engine, mut events) = start(&m);
    let mut messages = conversation_start();
    let first = generate(&engine, &mut events, request(1, &messages, greedy(), 24));
    assert_eq!(first.stop_reason, StopReason::MaxTokens, "{first:?}");
    messages.push(msg(Role::Assistant, &first.text));
    messages.push(msg(Role::User, "And the mountains?"));
    let second = generate(&engine, &mut events, request(2, &messages, greedy(), 24));
    assert!(
        second.usage.prompt_tokens_evaluated < second.usage.prompt_tokens / 2,
        "turn 2 reuses the cache: {:?}",
        second.usage
    );
    let reference = fresh(&m, &messages, 24);
    assert_eq!(
        second.text, reference.text,
        "the answer after cache reuse differs from a fresh engine's"
    );
    // The model really reads the context: without turn 1 the answer is another.
    let alone = fresh(&m, &[msg(Role::User, "And the mountains?")], 24);
    assert_ne!(alone.text, reference.text, "the model ignores its context");
}

#[test]
fn a_cancelled_turn_then_a_new_one_equals_a_fresh_engine() {
    let m = semantic(Vec::new());
    let (engine, mut events) = start(&m);
    let mut messages = conversation_start();
    // Cancelled mid-answer: the cache holds the prompt and some generated tokens.
    engine
        .send(Command::Generate(request(1, &messages, greedy(), 100_000)))
        .unwrap();
    let partial = loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text { .. } => engine.cancel(1),
            EngineEvent::Done(d) => break *d,
            EngineEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    assert_eq!(partial.stop_reason, StopReason::Cancelled, "{partial:?}");
    messages.push(msg(Role::Assistant, &partial.text));
    messages.push(msg(Role::User, "And the mountains?"));
    let next = generate(&engine, &mut events, request(2, &messages, greedy(), 24));
    assert!(
        next.usage.prompt_tokens_evaluated < next.usage.prompt_tokens,
        "{:?}",
        next.usage
    );
    assert_eq!(next.text, fresh(&m, &messages, 24).text);

    // Cancelled before its prompt was decoded at all, then a new question.
    engine.cancel(3);
    let skipped = generate(&engine, &mut events, request(3, &messages, greedy(), 24));
    assert_eq!(skipped.stop_reason, StopReason::Cancelled);
    messages.push(msg(Role::Assistant, &next.text));
    messages.push(msg(Role::User, "Which is older?"));
    let after = generate(&engine, &mut events, request(4, &messages, greedy(), 24));
    assert_eq!(after.text, fresh(&m, &messages, 24).text);
}

/// `reflect --format json ARGS` in `base`, greedy and short, on the plain profile.
fn ask(m: &Model, base: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = reflect(base)
        .arg("-m")
        .arg(&m.path)
        .args([
            "--format",
            "json",
            "--profile",
            "plain",
            "--temperature",
            "0",
            "--max-tokens",
            "24",
            "--batch-size",
            "1",
        ])
        .args(args)
        .output()
        .expect("run reflect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {err}"))
}

fn usage(v: &serde_json::Value, key: &str) -> u64 {
    v["usage"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn continue_in_a_new_process_restores_the_cache_and_answers_as_a_fresh_one_would() {
    let m = semantic(Vec::new());
    let base = m.dir.path();
    let first = ask(&m, base, &["Tell me about the sea."]);
    // The same session, to be continued where no state file exists: everything is decoded.
    let clean = Sandbox::new();
    let from = sessions_dir(base);
    let to = sessions_dir(clean.path());
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }

    let restored = ask(&m, base, &["--continue", "And the mountains?"]);
    let reused = usage(&restored, "prompt_tokens") - usage(&restored, "prompt_tokens_evaluated");
    assert!(
        reused + 1 >= usage(&first, "prompt_tokens"),
        "the state file was restored, with turn 1's prompt: {} after {}",
        restored["usage"],
        first["usage"]
    );
    let reference = ask(&m, clean.path(), &["--continue", "And the mountains?"]);
    assert_eq!(
        usage(&reference, "prompt_tokens_evaluated"),
        usage(&reference, "prompt_tokens")
    );
    assert_eq!(
        usage(&restored, "prompt_tokens"),
        usage(&reference, "prompt_tokens"),
        "the same prompt"
    );
    assert_eq!(
        restored["output"], reference["output"],
        "the answer after restoring the KV cache differs from a fresh decode ({} vs {})",
        restored["usage"], reference["usage"]
    );
    let alone = ask(&m, clean.path(), &["--no-save", "And the mountains?"]);
    assert_ne!(
        alone["output"], reference["output"],
        "the model ignores its context"
    );
}

// ---------------------------------------------------------------------------------------------
// Sampling.

fn question() -> Vec<ChatMessage> {
    vec![msg(Role::User, "Name a colour.")]
}

#[test]
fn temperature_zero_and_top_k_one_equal_greedy_decoding_computed_independently() {
    let m = semantic(Vec::new());
    let (engine, mut events) = start(&m);
    let messages = conversation_start();
    let prompt = rendered(&engine, &mut events, &messages);
    let (want, prompt_tokens) = Reference::load(&m).greedy(&prompt, 32);
    assert!(want.len() > 32, "a real answer: {want:?}");

    let zero = generate(&engine, &mut events, request(1, &messages, greedy(), 32));
    assert_eq!(
        zero.usage.prompt_tokens as usize, prompt_tokens,
        "same prompt"
    );
    assert_eq!(zero.text, want, "temperature 0");
    for (id, seed) in [(2, 1), (3, 99)] {
        let top1 = SamplingSettings {
            temperature: 1.0,
            top_k: 1,
            top_p: 1.0,
            min_p: 0.0,
            seed: Some(seed),
            ..SamplingSettings::default()
        };
        let c = generate(&engine, &mut events, request(id, &messages, top1, 32));
        assert_eq!(c.text, want, "top_k 1 with seed {seed}");
    }
}

/// Runs `reflect --format json --profile plain ARGS` on the model and returns the answer.
fn answer(m: &Model, args: &[&str]) -> String {
    let out = reflect(m.dir.path())
        .arg("-m")
        .arg(&m.path)
        .args([
            "--format",
            "json",
            "--profile",
            "plain",
            "--no-save",
            "--batch-size",
            "1",
        ])
        .args(args)
        .output()
        .expect("run reflect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["output"].as_str().unwrap().to_string()
}

#[test]
fn the_same_seed_repeats_and_other_seeds_differ_at_temperature_one() {
    let m = semantic(Vec::new());
    let run = |seed: &str| {
        answer(
            &m,
            &[
                "--temperature",
                "1",
                "--max-tokens",
                "24",
                "--seed",
                seed,
                "Name a colour.",
            ],
        )
    };
    let a = run("11");
    assert_eq!(a, run("11"), "the same seed gives the same text");
    let others: Vec<String> = ["12", "13", "14"].iter().map(|s| run(s)).collect();
    for (seed, other) in ["12", "13", "14"].iter().zip(&others) {
        assert_ne!(
            &a, other,
            "seed {seed} drew the same {} tokens as seed 11",
            24
        );
    }
}

/// Draws one token `n` times (seeds 1..=n) and counts what the engine reports.
fn draws(
    engine: &Engine,
    events: &mut Events,
    messages: &[ChatMessage],
    base: &SamplingSettings,
    n: u32,
    first_id: u64,
) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for i in 0..n {
        let s = SamplingSettings {
            seed: Some(i + 1),
            ..base.clone()
        };
        let c = generate(
            engine,
            events,
            request(first_id + u64::from(i), messages, s, 1),
        );
        *counts.entry(c.text).or_insert(0) += 1;
    }
    counts
}

/// The observed frequencies match the expected distribution: no text outside it was drawn,
/// and each expected text's frequency lies within five standard deviations.
fn assert_matches(
    what: &str,
    reference: &Reference,
    want: &[(usize, f64)],
    got: &HashMap<String, u32>,
    n: u32,
) {
    let mut p: HashMap<String, f64> = HashMap::new();
    for (t, q) in want {
        *p.entry(reference.reported(*t)).or_insert(0.0) += q;
    }
    for (text, count) in got {
        assert!(
            p.contains_key(text),
            "{what}: drew {text:?} ({count}×), which the documented cut leaves out; allowed: {p:?}"
        );
    }
    let n = f64::from(n);
    for (text, q) in &p {
        let f = f64::from(got.get(text).copied().unwrap_or(0)) / n;
        let sd = (q * (1.0 - q) / n).sqrt();
        assert!(
            (f - q).abs() <= 5.0 * sd + 1.0 / n,
            "{what}: {text:?} drawn with frequency {f:.3}, expected {q:.3} (±{:.3}); all: {got:?}",
            5.0 * sd
        );
    }
}

/// A threshold halfway between the k-th and (k+1)-th values of `v`.
fn between(v: &[f64], k: usize) -> f64 {
    (v[k - 1] + v[k]) / 2.0
}

#[test]
fn top_p_and_min_p_keep_the_documented_tokens_at_the_documented_frequencies() {
    const N: u32 = 1500;
    let m = semantic(Vec::new());
    let (engine, mut events) = start(&m);
    let reference = Reference::load(&m);
    let messages = question();
    let logits = reference.logits(&rendered(&engine, &mut events, &messages));
    let p = plain_probabilities(&logits);
    // Enough spread for the cuts to matter: the top three share some, not all, of the mass.
    let top3: f64 = p[..3].iter().sum();
    assert!(p[0] < 0.8 && top3 < 0.9, "too peaked: {:?}", &p[..5]);

    let cum: Vec<f64> = p
        .iter()
        .scan(0.0, |c, x| {
            *c += x;
            Some(*c)
        })
        .collect();
    // top_p halfway between the 2nd and 3rd cumulative probabilities keeps exactly 3 tokens;
    // min_p halfway between the 3rd and 4th probability ratios keeps exactly 3 too.
    let top_p = between(&cum, 2);
    let ratios: Vec<f64> = p.iter().map(|x| x / p[0]).collect();
    let min_p = between(&ratios, 3);
    let mut id = 1;
    for (name, cut, settings) in [
        (
            "top_p",
            Cut {
                top_k: 0,
                top_p,
                min_p: 0.0,
                temperature: 1.0,
            },
            SamplingSettings {
                temperature: 1.0,
                top_k: 0,
                top_p: top_p as f32,
                min_p: 0.0,
                ..SamplingSettings::default()
            },
        ),
        (
            "min_p",
            Cut {
                top_k: 0,
                top_p: 1.0,
                min_p,
                temperature: 1.0,
            },
            SamplingSettings {
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
                min_p: min_p as f32,
                ..SamplingSettings::default()
            },
        ),
    ] {
        let want = expected(&logits, cut);
        assert_eq!(want.len(), 3, "{name}: {want:?}");
        let got = draws(&engine, &mut events, &messages, &settings, N, id);
        id += u64::from(N);
        assert_matches(name, &reference, &want, &got, N);
    }
}

#[test]
fn the_sampler_chain_cuts_before_the_temperature_as_llama_cpp_does() {
    const N: u32 = 1500;
    let m = semantic(Vec::new());
    let (engine, mut events) = start(&m);
    let reference = Reference::load(&m);
    let messages = question();
    let logits = reference.logits(&rendered(&engine, &mut events, &messages));
    // top_p sees the probabilities of what top_k 40 left.
    let top40 = Cut {
        top_k: 40,
        top_p: 1.0,
        min_p: 0.0,
        temperature: 1.0,
    };
    let p: Vec<f64> = expected(&logits, top40)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let cum: Vec<f64> = p
        .iter()
        .scan(0.0, |c, x| {
            *c += x;
            Some(*c)
        })
        .collect();
    let top_p = between(&cum, 2);
    let temperature = 3.0;
    // llama.cpp: top_k, top_p, min_p on the model's own probabilities, then the temperature.
    let cut = Cut {
        top_k: 40,
        top_p,
        min_p: 0.0,
        temperature,
    };
    let want = expected(&logits, cut);
    assert_eq!(want.len(), 3);
    // Were the temperature applied first, the flatter distribution would keep more tokens:
    // the order is observable.
    let flat: Vec<f32> = logits.iter().map(|l| l / temperature as f32).collect();
    let wrong = expected(
        &flat,
        Cut {
            temperature: 1.0,
            ..cut
        },
    );
    assert!(wrong.len() > 3, "the order would not show: {wrong:?}");

    let settings = SamplingSettings {
        temperature: temperature as f32,
        top_k: 40,
        top_p: top_p as f32,
        min_p: 0.0,
        ..SamplingSettings::default()
    };
    let got = draws(&engine, &mut events, &messages, &settings, N, 1);
    assert_matches(
        "top_k, top_p, then temperature 3",
        &reference,
        &want,
        &got,
        N,
    );
}

#[test]
fn the_model_files_sampling_defaults_apply_end_to_end() {
    let key = |k: &str| format!("general.sampling.{k}");
    let args = |extra: &[&'static str]| {
        let mut a = vec!["--max-tokens", "24"];
        a.extend_from_slice(extra);
        a.push("Name a colour.");
        a
    };
    // Reference: greedy decoding computed here.
    let plain = semantic(Vec::new());
    let (engine, mut events) = start(&plain);
    let prompt = rendered(&engine, &mut events, &question());
    drop(engine);
    let (greedy_text, _) = Reference::load(&plain).greedy(&prompt, 24);
    let greedy_text = greedy_text.trim().to_string();

    // Without defaults in the file, reflect samples (temperature 0.7): seeds differ.
    assert_ne!(
        answer(&plain, &args(&["--seed", "1"])),
        answer(&plain, &args(&["--seed", "2"]))
    );
    // general.sampling.top_k = 1: greedy whatever the seed.
    let top1 = semantic(vec![(key("top_k"), Value::I32(1))]);
    for seed in ["1", "2"] {
        assert_eq!(answer(&top1, &args(&["--seed", seed])), greedy_text);
    }
    // general.sampling.temp = 0: greedy.
    let temp0 = semantic(vec![(key("temp"), Value::F32(0.0))]);
    assert_eq!(answer(&temp0, &args(&["--seed", "3"])), greedy_text);
    // A flag still beats the file.
    assert_ne!(
        answer(&temp0, &args(&["--temperature", "1", "--seed", "3"])),
        greedy_text
    );
    // general.sampling.seed: the same draw on every run, as with --seed.
    let seeded = semantic(vec![
        (key("seed"), Value::U32(1234)),
        (key("temp"), Value::F32(1.0)),
    ]);
    let first = answer(&seeded, &args(&[]));
    assert_eq!(first, answer(&seeded, &args(&[])));
    assert_eq!(
        first,
        answer(&plain, &args(&["--seed", "1234", "--temperature", "1"]))
    );
}
