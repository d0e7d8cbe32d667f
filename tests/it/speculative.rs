//! Speculative decoding changes only the speed: on the semantic model (every token depends on
//! the whole context, `RandomModelSpec::semantic`), an engine that drafts by prompt lookup
//! answers token for token as one that does not, greedy and sampled with the same seed, over
//! many prompts, across turns (KV-cache reuse), at the token limit and the budget's forced end.

use crate::common::*;
use reflect::engine::{DraftModel, Engine, GpuLayers, LlamaConfig, Speculation};
use reflect::gguf::{write_random_model, RandomModelSpec};
use reflect::llm::{
    BudgetSettings, BudgetStep, ChatMessage, Command, Completion, EngineEvent, GenerateRequest,
    Role, SamplingSettings,
};
use reflect::stream::{Channel, RouterConfig, TagSet};
use std::collections::HashMap;

pub(crate) fn semantic() -> Model {
    let dir = Sandbox::new();
    let path = dir.path().join("semantic.gguf");
    write_random_model(&path, &RandomModelSpec::semantic()).expect("write the semantic model");
    Model { dir, path }
}

/// An engine on `m`, drafting as `speculation` says. Both engines of a comparison decode
/// prompts in batches of the same size, so that their prompts' keys and values are the same.
pub(crate) fn start(m: &Model, speculation: Speculation) -> (Engine, Events) {
    start_ctx(m, 1024, speculation)
}

/// [`start`] with a context of `ctx` tokens.
pub(crate) fn start_ctx(m: &Model, ctx: u32, speculation: Speculation) -> (Engine, Events) {
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(ctx),
        threads: Some(2),
        batch_size: Some(32),
        tags: TagSet::default(),
        vocab_only: false,
        checked: None,
        chat_template: None,
        speculation,
    });
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Loaded(_) => return (engine, events),
            EngineEvent::Error(e) => panic!("load failed: {e}"),
            _ => {}
        }
    }
}

pub(crate) fn lookup(n: u32) -> Speculation {
    Speculation {
        lookup: n,
        ..Speculation::default()
    }
}

pub(crate) fn sampling(temperature: f32, seed: u32) -> SamplingSettings {
    SamplingSettings {
        temperature,
        seed: Some(seed),
        ..SamplingSettings::default()
    }
}

pub(crate) fn request(
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
        budget: BudgetSettings::default(),
        tools: Vec::new(),
        raw: false,
    }
}

/// The generation's routed text, in order, and its completion.
fn generate(engine: &Engine, events: &mut Events, req: GenerateRequest) -> (String, Completion) {
    engine.send(Command::Generate(req)).expect("engine alive");
    let mut text = String::new();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text { text: t, .. } => text.push_str(&t),
            EngineEvent::Done(d) => return (text, *d),
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

pub(crate) fn user(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new(Role::User, text)]
}

/// Prompts, some of them repetitive so that lookup finds drafts in them.
pub(crate) const PROMPTS: &[&str] = &[
    "Tell me about the sea.",
    "one two three one two three one two three one two three one two",
    "abc abc abc abc abc abc abc abc",
    "The cat sat on the mat. The cat sat on the mat. The cat sat on the",
    "Why is the sky blue?",
    "Count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12",
];

/// Each prompt answered by `plain` and by `spec`: the same text, stop reason and counts.
/// Returns the drafted and accepted totals.
fn compare(
    m: &Model,
    spec: Speculation,
    sampling: impl Fn(usize) -> SamplingSettings,
) -> (u32, u32) {
    let (plain, mut plain_events) = start(m, Speculation::default());
    let (fast, mut fast_events) = start(m, spec);
    let (mut drafted, mut accepted) = (0, 0);
    for (i, prompt) in PROMPTS.iter().enumerate() {
        let id = i as u64 + 1;
        let (want, w) = generate(
            &plain,
            &mut plain_events,
            request(id, &user(prompt), sampling(i), 64),
        );
        let (got, g) = generate(
            &fast,
            &mut fast_events,
            request(id, &user(prompt), sampling(i), 64),
        );
        assert_eq!(got, want, "prompt {prompt:?}: the routed text");
        assert_eq!(g.text, w.text, "prompt {prompt:?}");
        assert_eq!(g.stop_reason, w.stop_reason, "prompt {prompt:?}");
        assert_eq!(g.usage, w.usage, "prompt {prompt:?}");
        assert_eq!(w.timings.draft_tokens, None, "no speculation, no counts");
        drafted += g.timings.draft_tokens.expect("counted");
        accepted += g.timings.draft_accepted.expect("counted");
    }
    (drafted, accepted)
}

#[test]
fn greedy_decoding_with_prompt_lookup_is_token_for_token_plain_greedy() {
    let m = semantic();
    let (drafted, accepted) = compare(&m, lookup(8), |_| sampling(0.0, 1));
    assert!(
        accepted > 0,
        "the repetitive prompts accept drafts: {accepted} of {drafted}"
    );
    assert!(accepted <= drafted);
}

/// The pieces each generation routed, one per text event, for `n` seeds from `first`.
fn pieces(
    engine: &Engine,
    events: &mut Events,
    prompt: &str,
    temperature: f32,
    first: u32,
    n: u32,
) -> (Vec<Vec<String>>, u32) {
    let mut all = Vec::new();
    let mut accepted = 0;
    for seed in first..first + n {
        let req = request(
            u64::from(seed),
            &user(prompt),
            sampling(temperature, seed),
            12,
        );
        engine.send(Command::Generate(req)).expect("engine alive");
        let mut got = Vec::new();
        loop {
            match events.blocking_recv().expect("engine alive") {
                EngineEvent::Text { text, .. } => got.push(text),
                EngineEvent::Done(d) => {
                    accepted += d.timings.draft_accepted.unwrap_or(0);
                    break;
                }
                EngineEvent::Error(e) => panic!("generation failed: {e}"),
                _ => {}
            }
        }
        all.push(got);
    }
    (all, accepted)
}

/// How often each piece comes at each place.
fn frequencies(runs: &[Vec<String>]) -> HashMap<(usize, String), f64> {
    let mut out = HashMap::new();
    for run in runs {
        for (i, p) in run.iter().enumerate() {
            *out.entry((i, p.clone())).or_insert(0.0) += 1.0 / runs.len() as f64;
        }
    }
    out
}

/// Each piece that plain sampling drew at a place at least 10 times in `n` runs comes there
/// as often with drafts, within 5 standard deviations of the difference.
fn assert_same_frequencies(
    want: &HashMap<(usize, String), f64>,
    got: &HashMap<(usize, String), f64>,
    n: u32,
) {
    let mut compared = 0;
    for (key, p) in want {
        if *p * f64::from(n) < 10.0 {
            continue;
        }
        compared += 1;
        let q = got.get(key).copied().unwrap_or(0.0);
        let sd = (p * (1.0 - p) * 2.0 / f64::from(n)).sqrt();
        assert!(
            (p - q).abs() <= 5.0 * sd,
            "{key:?}: {p:.3} plain, {q:.3} with drafts"
        );
    }
    assert!(compared >= 12, "enough pieces to compare: {compared}");
}

#[test]
fn sampling_with_prompt_lookup_draws_from_the_distribution_plain_sampling_draws_from() {
    let m = semantic();
    let (plain, mut plain_events) = start(&m, Speculation::default());
    let (fast, mut fast_events) = start(&m, lookup(8));
    // A prompt whose answers at this temperature repeat enough for lookup to be accepted.
    let (prompt, temperature) = (PROMPTS[4], 0.5);
    let n = 300;
    // Other seeds on each side: the same distribution, not the same draws.
    let (want, _) = pieces(&plain, &mut plain_events, prompt, temperature, 1, n);
    let (got, accepted) = pieces(&fast, &mut fast_events, prompt, temperature, 10_001, n);
    assert!(
        accepted > n / 2,
        "drafts are accepted: {accepted} in {n} runs"
    );
    assert_same_frequencies(&frequencies(&want), &frequencies(&got), n);
}

#[test]
fn the_seed_repeats_the_answer_with_prompt_lookup() {
    let m = semantic();
    let (fast, mut events) = start(&m, lookup(8));
    for seed in [1, 2, 3] {
        let first = pieces(&fast, &mut events, PROMPTS[1], 0.7, seed, 1);
        let again = pieces(&fast, &mut events, PROMPTS[1], 0.7, seed, 1);
        assert_eq!(first.0, again.0, "seed {seed}");
    }
}

/// What one generation streamed: each text event with its channel, the budget's steps.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Streamed {
    pub text: Vec<(Channel, String)>,
    pub steps: Vec<BudgetStep>,
}

pub(crate) fn stream(
    engine: &Engine,
    events: &mut Events,
    req: GenerateRequest,
) -> (Streamed, Completion) {
    engine.send(Command::Generate(req)).expect("engine alive");
    let mut seen = Streamed::default();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text { channel, text, .. } => seen.text.push((channel, text)),
            EngineEvent::Budget {
                step: Some(step), ..
            } => seen.steps.push(step),
            EngineEvent::Done(d) => return (seen, *d),
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

#[test]
fn the_budgets_forced_end_and_the_next_turn_are_the_same_with_prompt_lookup() {
    let m = semantic();
    let (plain, mut plain_events) = start(&m, Speculation::default());
    let (fast, mut fast_events) = start(&m, lookup(8));
    let thinking = RouterConfig {
        start_in_thinking: true,
        ..RouterConfig::default()
    };
    let budget = BudgetSettings {
        limit: Some(24),
        grace: 0,
        ..BudgetSettings::default()
    };
    let (mut accepted, mut forced) = (0, 0);
    for (i, prompt) in PROMPTS.iter().enumerate() {
        let mut messages = user(prompt);
        for turn in 0..2 {
            let id = (i * 2 + turn) as u64 + 1;
            let req = GenerateRequest {
                router: thinking.clone(),
                budget: budget.clone(),
                ..request(id, &messages, sampling(0.0, 1), 48)
            };
            let (want, w) = stream(&plain, &mut plain_events, req.clone());
            let (got, g) = stream(&fast, &mut fast_events, req);
            assert_eq!(got, want, "prompt {prompt:?}, turn {turn}");
            assert_eq!(
                (g.text.as_str(), g.stop_reason),
                (w.text.as_str(), w.stop_reason)
            );
            // The memo and the cache hold what was generated, drafts left out: the next turn
            // reuses as much of the cache as without lookup.
            assert_eq!(g.usage, w.usage, "prompt {prompt:?}, turn {turn}");
            accepted += g.timings.draft_accepted.expect("counted");
            forced += usize::from(!want.steps.is_empty());
            messages.push(ChatMessage::new(Role::Assistant, &w.text));
            messages.push(ChatMessage::new(Role::User, *prompt));
        }
    }
    assert!(forced > 0, "the budget forced the end of thinking");
    assert!(accepted > 0, "drafts were accepted");
}

/// A Reflection-style answer of tags (control tokens) and byte tokens, and a prompt that
/// spells it, which tokenizes to the same tokens: lookup drafts the whole answer from the
/// prompt, past its `</output>`.
fn reflection_model() -> (Model, String) {
    use reflect::gguf::ScriptItem::Byte;
    let bytes = |text: &str| text.bytes().map(Byte).collect::<Vec<_>>();
    let mut items = vec![s("<thinking>")];
    items.extend(bytes("Think"));
    items.extend([s("</thinking>"), s("<output>")]);
    items.extend(bytes("OK"));
    items.push(s("</output>"));
    items.extend(bytes("!?"));
    let spelled = "<thinking>Think</thinking><output>OK</output>!?".to_string();
    (model(items), spelled)
}

#[test]
fn nothing_after_the_closed_output_is_routed_though_lookup_drafted_past_it() {
    let (m, spelled) = reflection_model();
    let (plain, mut plain_events) = start(&m, Speculation::default());
    let (fast, mut fast_events) = start(&m, lookup(8));
    let stop = RouterConfig {
        stop_after_output: true,
        ..RouterConfig::default()
    };
    for max in [3, 6, 12, 100] {
        let req = GenerateRequest {
            router: stop.clone(),
            ..request(max.into(), &user(&spelled), sampling(0.0, 1), max)
        };
        let (want, w) = stream(&plain, &mut plain_events, req.clone());
        let (got, g) = stream(&fast, &mut fast_events, req);
        assert_eq!(got, want, "max_tokens {max}");
        assert_eq!(
            (g.stop_reason, g.usage),
            (w.stop_reason, w.usage),
            "max_tokens {max}"
        );
        assert!(g.usage.completion_tokens <= max);
        if max == 100 {
            assert!(
                !got.text.iter().any(|(_, t)| t.contains("Anything")),
                "{got:?}"
            );
            assert!(
                g.timings.draft_accepted.expect("counted") >= 5,
                "{:?}",
                g.timings
            );
        }
    }
}

#[test]
fn lookup_from_the_flag_or_config_prints_the_same_and_reports_its_drafts() {
    let (m, spelled) = reflection_model();
    let greedy = ["--temperature", "0"];
    let (code, plain, _) = run_json(&m, &[&spelled, greedy[0], greedy[1]]);
    assert_eq!(code, 0);
    assert!(plain["timings"].get("draft_tokens").is_none(), "{plain}");
    let (code, fast, _) = run_json(&m, &[&spelled, greedy[0], greedy[1], "--lookup", "8"]);
    assert_eq!(code, 0);
    for key in ["output", "thinking", "stop_reason", "usage"] {
        assert_eq!(fast[key], plain[key], "{key}");
    }
    let accepted = fast["timings"]["draft_accepted"]
        .as_u64()
        .expect("accepted");
    let drafted = fast["timings"]["draft_tokens"].as_u64().expect("drafted");
    assert!(accepted > 0 && accepted <= drafted, "{}", fast["timings"]);

    // config.toml's `lookup`, and the flag's 0 over it.
    let config = m.dir.path().join("config").join("reflect");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "lookup = 8\n").unwrap();
    let (_, from_config, _) = run_json(&m, &[&spelled, greedy[0], greedy[1]]);
    assert_eq!(from_config["timings"]["draft_accepted"], accepted);
    let (_, off, _) = run_json(&m, &[&spelled, greedy[0], greedy[1], "--lookup", "0"]);
    assert!(off["timings"].get("draft_tokens").is_none(), "{off}");

    // --show-thinking ends with the share accepted, on stderr.
    let (code, out, err) = run(&m, &[&spelled, greedy[0], greedy[1], "--show-thinking"]);
    assert_eq!(code, 0);
    assert_eq!(out, "OK\n");
    let line = format!("speculation: {accepted} of {drafted} drafted tokens accepted (");
    assert!(err.contains(&line), "{err}");
}

#[test]
fn a_lookup_out_of_range_is_refused_as_usage() {
    let (m, _) = reflection_model();
    let (code, _, err) = run(&m, &["q", "--lookup", "65"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--lookup"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A draft model of the same vocabulary.

/// A draft model for the semantic model: a smaller random model of its vocabulary.
pub(crate) fn small_draft(dir: &Sandbox) -> std::path::PathBuf {
    let path = dir.path().join("draft.gguf");
    let spec = RandomModelSpec {
        n_embd: 64,
        n_layer: 1,
        n_ff: 128,
        n_head: 2,
        seed: 3,
        ..RandomModelSpec::semantic()
    };
    write_random_model(&path, &spec).expect("write the draft model");
    path
}

pub(crate) fn drafting(path: &std::path::Path, p_min: f32) -> Speculation {
    Speculation {
        lookup: 0,
        draft: Some(DraftModel {
            path: path.to_path_buf(),
            max: 8,
            p_min,
        }),
    }
}

#[test]
fn greedy_decoding_with_a_draft_model_is_token_for_token_plain_greedy() {
    let m = semantic();
    // The model drafting for itself: nearly every draft accepted.
    let (drafted, accepted) = compare(&m, drafting(&m.path, 0.0), |_| sampling(0.0, 1));
    assert!(
        accepted * 2 > drafted,
        "the model agrees with itself: {accepted} of {drafted}"
    );
    // A small random model: few accepted, the same answers.
    let small = small_draft(&m.dir);
    let (drafted, accepted) = compare(&m, drafting(&small, 0.0), |_| sampling(0.0, 1));
    assert!(drafted > 0 && accepted < drafted, "{accepted} of {drafted}");
}

#[test]
fn sampling_with_a_draft_model_draws_from_the_distribution_plain_sampling_draws_from() {
    let m = semantic();
    let (plain, mut plain_events) = start(&m, Speculation::default());
    let (fast, mut fast_events) = start(&m, drafting(&m.path, 0.0));
    let n = 300;
    let (want, _) = pieces(&plain, &mut plain_events, PROMPTS[0], 0.7, 1, n);
    let (got, accepted) = pieces(&fast, &mut fast_events, PROMPTS[0], 0.7, 10_001, n);
    assert!(accepted > n, "drafts are accepted: {accepted} in {n} runs");
    assert_same_frequencies(&frequencies(&want), &frequencies(&got), n);
}

#[test]
fn a_draft_model_with_another_vocabulary_is_refused_naming_the_first_token_that_differs() {
    let m = semantic();
    let (other, _) = reflection_model();
    let (code, _, err) = run(&m, &["q", "--model-draft", other.path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot use the draft model"), "{err}");
    assert!(
        err.contains(other.path.to_str().unwrap()),
        "names the file: {err}"
    );
    assert!(
        err.contains("its vocabulary differs from the model's: token "),
        "{err}"
    );
    assert!(err.contains(" in the model and "), "both pieces: {err}");
}

#[test]
fn a_draft_model_from_the_command_line_prints_the_same() {
    let m = semantic();
    let small = small_draft(&m.dir);
    let args = [
        "Why is the sky blue?",
        "--temperature",
        "0",
        "--max-tokens",
        "32",
    ];
    let (code, plain, _) = run_json(&m, &args);
    assert_eq!(code, 0);
    let mut with = args.to_vec();
    with.extend(["--model-draft", small.to_str().unwrap(), "--draft-max", "4"]);
    with.extend(["--draft-p-min", "0"]);
    let (code, fast, err) = run_json(&m, &with);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fast["output"], plain["output"]);
    assert_eq!(fast["usage"], plain["usage"]);
    assert!(
        fast["timings"]["draft_tokens"].as_u64().unwrap() > 0,
        "{fast}"
    );
}

/// Through the binary: a draft model whose drafts the model mostly rejects rolls its cache
/// back each time and never has to decode everything again (its debug log line "its cache
/// starts over"); the loop judges a batch a line, the first two drafts long.
#[test]
fn a_draft_models_cache_rolls_back_without_starting_over() {
    let m = semantic();
    let small = small_draft(&m.dir);
    let log = m.dir.path().join("draft.log");
    let mut cmd = reflect(m.dir.path());
    cmd.env("REFLECT_LOG_LEVEL", "debug")
        .arg("-m")
        .arg(&m.path)
        .args([
            "Why is the sky blue?",
            "--temperature",
            "0",
            "--max-tokens",
            "64",
        ])
        .args(["--model-draft", small.to_str().unwrap(), "--draft-max", "4"])
        .args(["--draft-p-min", "0", "--log-file"])
        .arg(&log);
    let (code, _, err) = outcome(cmd);
    assert_eq!(code, 0, "{err}");
    let log = std::fs::read_to_string(&log).expect("the log file");
    let judged: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("batch of drafts judged"))
        .collect();
    let rejected = judged.iter().filter(|l| l.contains("accepted=0")).count();
    assert!(
        judged.len() >= 4 && rejected >= 2,
        "{} batches judged, {rejected} rejected whole:\n{log}",
        judged.len()
    );
    assert!(
        judged[0].contains(" drafts=2 "),
        "the first batch is two drafts long: {}",
        judged[0]
    );
    assert!(
        !log.contains("starts over"),
        "the draft model started over:\n{log}"
    );
}

#[test]
fn eval_with_prompt_lookup_answers_as_without() {
    let (m, spelled) = reflection_model();
    let questions = m.dir.path().join("q.jsonl");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            serde_json::json!({"id": format!("q{i}"), "question": spelled, "answer": "OK"})
                .to_string()
        })
        .collect();
    std::fs::write(&questions, lines.join("\n") + "\n").unwrap();
    let answers = |out: &str, extra: &[&str]| {
        let path = m.dir.path().join(out);
        let mut cmd = reflect(m.dir.path());
        cmd.arg("eval")
            .arg(&questions)
            .arg("-m")
            .arg(&m.path)
            .args(["--temperature", "0", "--out"])
            .arg(&path)
            .args(extra);
        let (code, _, err) = outcome(cmd);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["id"].clone(), v["answer"].clone(), v["correct"].clone())
            })
            .collect::<Vec<_>>()
    };
    let plain = answers("plain.jsonl", &[]);
    assert_eq!(plain.len(), 3);
    assert!(plain.iter().all(|(_, _, c)| c == true), "{plain:?}");
    assert_eq!(answers("lookup.jsonl", &["--lookup", "8"]), plain);
    // Batched, each sequence drafting in its own slot.
    let batched = ["--lookup", "8", "--parallel", "2"];
    assert_eq!(answers("lookup_parallel.jsonl", &batched), plain);
}
