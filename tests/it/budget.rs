//! The thinking budget on the real engine (issue #15): scripted models that think for 1,000+
//! tokens, capped, cut inside a reflection and inside a character, with no thinking at all, in
//! the `<think>` format, told to answer now, extended when they stop too soon; and the next
//! turn after a forced stop decodes exactly its new tokens.

use crate::common::*;
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::gguf::ScriptItem;
use reflect::llm::{
    BudgetReport, BudgetSettings, BudgetStep, ChatMessage, Command, Completion, EngineEvent,
    ForcedBy, GenerateRequest, Role, SamplingSettings, StopReason,
};
use reflect::stream::{Channel, RouterConfig, TagSet};
use tokio::sync::mpsc::UnboundedReceiver;

/// `n` distinct words of thinking, as one token each.
fn words(prefix: &str, n: usize) -> Vec<ScriptItem> {
    let text: String = (0..n).map(|i| format!(" {prefix}{i}")).collect();
    let mut items = Vec::new();
    reflect::gguf::push_prose(&text, &mut Default::default(), &mut items);
    assert_eq!(items.len(), n);
    items
}

/// Thinks `before` words, reflects `inside` words, thinks `after` words, then answers.
fn long_thinker(before: usize, inside: usize, after: usize) -> Model {
    let mut items = vec![s("<thinking>")];
    items.extend(words("a", before));
    if inside > 0 {
        items.push(s("<reflection>"));
        items.extend(words("r", inside));
        items.push(s("</reflection>"));
    }
    items.extend(words("b", after));
    items.push(s("</thinking>"));
    items.push(s("<output>"));
    items.push(t("\nThe answer is 4."));
    items.push(s("</output>"));
    model(items)
}

fn start(m: &Model, tags: TagSet) -> (Engine, UnboundedReceiver<EngineEvent>) {
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(4096),
        threads: Some(2),
        batch_size: Some(512),
        tags,
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

fn reflection_router() -> RouterConfig {
    RouterConfig {
        stop_after_output: true,
        ..RouterConfig::default()
    }
}

fn request(
    id: u64,
    messages: Vec<ChatMessage>,
    router: RouterConfig,
    budget: BudgetSettings,
) -> GenerateRequest {
    GenerateRequest {
        id,
        messages,
        sampling: SamplingSettings::default(),
        max_tokens: Some(3000),
        router,
        budget,
        tools: Vec::new(),
    }
}

fn ask(q: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new(Role::User, q)]
}

fn capped(limit: u32, grace: u32) -> BudgetSettings {
    BudgetSettings {
        limit: Some(limit),
        grace,
        ..BudgetSettings::default()
    }
}

/// What one generation streamed.
#[derive(Default, Debug)]
struct Seen {
    thinking: String,
    reflection: String,
    output: String,
    reflections_ended: usize,
    steps: Vec<BudgetStep>,
    /// The live reports, in order.
    reports: Vec<BudgetReport>,
    evaluated: u32,
}

fn finish(events: &mut UnboundedReceiver<EngineEvent>) -> (Seen, Completion) {
    let mut seen = Seen::default();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text { channel, text, .. } => match channel {
                Channel::Thinking => seen.thinking.push_str(&text),
                Channel::Reflection => seen.reflection.push_str(&text),
                Channel::Output => seen.output.push_str(&text),
            },
            EngineEvent::ReflectionEnd { .. } => seen.reflections_ended += 1,
            EngineEvent::Budget { report, step, .. } => {
                seen.steps.extend(step);
                seen.reports.push(report);
            }
            EngineEvent::PromptProcessed { evaluated, .. } => seen.evaluated = evaluated,
            EngineEvent::Done(done) => return (seen, *done),
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

/// One question to a fresh engine on `m` under `budget`, in the Reflection format.
fn think(m: &Model, budget: BudgetSettings) -> (Seen, Completion) {
    let (engine, mut events) = start(m, TagSet::default());
    engine
        .send(Command::Generate(request(
            1,
            ask("q"),
            reflection_router(),
            budget,
        )))
        .unwrap();
    finish(&mut events)
}

#[test]
fn a_budget_of_100_charges_exactly_100_tokens_then_the_answer_comes() {
    let m = long_thinker(1200, 0, 0);
    let (seen, done) = think(&m, capped(100, 0));
    let b = done.budget.expect("a budget report");
    assert_eq!(b.limit, Some(100));
    assert_eq!(b.used, 100, "the opening tag and 99 words");
    assert_eq!(b.forced_by, Some(ForcedBy::Budget));
    assert_eq!(b.reflection, 0);
    assert!(b.forced >= 2, "at least the two tags: {b:?}");
    assert_eq!(seen.steps, [BudgetStep::Forced(ForcedBy::Budget)]);
    assert!(
        seen.thinking.trim_end().ends_with("a98"),
        "{}",
        &seen.thinking[seen.thinking.len() - 40..]
    );
    assert!(!seen.thinking.contains("a99"));
    assert_eq!(seen.output.trim(), "The answer is 4.");
    assert_eq!(done.stop_reason, StopReason::OutputClosed);
    assert!(done.summary.open_blocks.is_empty(), "{:?}", done.summary);
    // The live reports count up to the limit and no further.
    let used: Vec<u32> = seen.reports.iter().map(|r| r.used).collect();
    assert_eq!(used.iter().max(), Some(&100));
    assert!(used.windows(2).all(|w| w[0] <= w[1]), "{used:?}");
    // Forced tokens are in the usage as generated ones (they are in the context), not in the
    // budget: 100 charged, the forced ones, the answer's text and `</output>`.
    assert_eq!(done.usage.completion_tokens, 100 + b.forced + 2);
}

#[test]
fn the_grace_lets_the_line_end_before_forcing() {
    // Words 0..8, a line break at word 8, then more words: budget 5, grace 10 → forced after
    // the word that ends the line.
    let mut items = vec![s("<thinking>")];
    items.extend(words("a", 7));
    items.push(t(" end.\n"));
    items.extend(words("b", 1000));
    items.extend([s("</thinking>"), s("<output>"), t("\nOK"), s("</output>")]);
    let m = model(items);
    let (seen, done) = think(&m, capped(5, 10));
    let b = done.budget.unwrap();
    assert_eq!(b.used, 9, "<thinking>, 7 words and the line's end");
    assert!(
        seen.thinking.trim_end().ends_with("end."),
        "{:?}",
        seen.thinking
    );
    assert_eq!(seen.output.trim(), "OK");
}

#[test]
fn inside_a_reflection_the_reflection_is_closed_first_and_counted() {
    let m = long_thinker(50, 1000, 10);
    let (seen, done) = think(&m, capped(80, 0));
    let b = done.budget.unwrap();
    assert_eq!(b.used, 80);
    assert_eq!(b.reflection, 80 - 51, "the <reflection> tag and 28 words");
    assert_eq!(seen.reflections_ended, 1, "closed before the thinking");
    assert!(
        seen.reflection.trim_end().ends_with("r27"),
        "{:?}",
        seen.reflection
    );
    assert_eq!(seen.output.trim(), "The answer is 4.");
    assert!(done.summary.open_blocks.is_empty(), "{:?}", done.summary);
}

#[test]
fn a_character_split_across_tokens_is_finished_before_forcing() {
    let mut items = vec![s("<thinking>")];
    items.extend(words("a", 8));
    // "€" as three byte tokens: the budget of 10 runs out after its first byte.
    items.extend([
        ScriptItem::Byte(0xE2),
        ScriptItem::Byte(0x82),
        ScriptItem::Byte(0xAC),
    ]);
    items.extend(words("b", 1000));
    items.extend([s("</thinking>"), s("<output>"), t("\nOK"), s("</output>")]);
    let m = model(items);
    let (seen, done) = think(&m, capped(10, 0));
    assert_eq!(done.budget.unwrap().used, 12, "the character's three bytes");
    assert!(
        seen.thinking.trim_end().ends_with('€'),
        "{:?}",
        seen.thinking
    );
    assert!(!seen.thinking.contains('\u{FFFD}'));
    assert_eq!(seen.output.trim(), "OK");
}

#[test]
fn budget_zero_answers_without_thinking() {
    let m = long_thinker(1200, 0, 0);
    let (seen, done) = think(&m, capped(0, 0));
    let b = done.budget.unwrap();
    assert_eq!(
        (b.used, b.forced_by, b.forced),
        (0, Some(ForcedBy::NoThinking), 1)
    );
    assert_eq!(seen.thinking, "");
    assert_eq!(seen.output.trim(), "The answer is 4.");
    assert_eq!(
        done.usage.completion_tokens, 3,
        "<output>, the answer, </output>"
    );
}

#[test]
fn think_formats_are_cut_at_their_own_tag() {
    let mut items = vec![s("<think>")];
    items.extend(words("a", 1200));
    items.extend([s("</think>"), t("\n\nFour.")]);
    let m = model(items);
    let router = RouterConfig {
        tags: TagSet::think(),
        ..RouterConfig::default()
    };
    let (engine, mut events) = start(&m, TagSet::think());
    engine
        .send(Command::Generate(request(
            1,
            ask("q"),
            router,
            capped(30, 0),
        )))
        .unwrap();
    let (seen, done) = finish(&mut events);
    let b = done.budget.unwrap();
    assert_eq!((b.used, b.forced_by), (30, Some(ForcedBy::Budget)));
    assert_eq!(seen.output.trim(), "Four.");
    assert_eq!(done.stop_reason, StopReason::EndOfTurn);
    assert!(
        !seen.output.contains("<output>"),
        "no output tag in this format"
    );
}

#[test]
fn answer_now_forces_the_end_at_the_next_token() {
    let m = slow_thinker("a", 1500);
    let (engine, mut events) = start(&m, TagSet::default());
    engine
        .send(Command::Generate(request(
            1,
            ask("q"),
            reflection_router(),
            BudgetSettings::default(),
        )))
        .unwrap();
    // Let it think a while, then ask for the answer.
    let mut thinking = 0;
    while thinking < 20 {
        if let EngineEvent::Text {
            channel: Channel::Thinking,
            ..
        } = events.blocking_recv().unwrap()
        {
            thinking += 1;
        }
    }
    engine.answer_now(1);
    let (seen, done) = finish(&mut events);
    let b = done.budget.expect("reported once forced");
    assert_eq!(b.forced_by, Some(ForcedBy::User));
    assert_eq!(b.limit, None);
    assert!(b.used < 200, "stopped within a few tokens: {}", b.used);
    assert_eq!(seen.steps, [BudgetStep::Forced(ForcedBy::User)]);
    assert_eq!(seen.output.trim(), "The answer is 4.");
}

#[test]
fn a_model_that_stops_thinking_early_is_extended_up_to_the_maximum() {
    // It thinks "a0," and ends. This vocabulary spells the default extension ("Wait,", after
    // a line break) in byte tokens, and the byte "," leads to the end again: so it is
    // extended until the maximum.
    let m = model(vec![
        s("<thinking>"),
        t(" a0"),
        ScriptItem::Byte(b','),
        s("</thinking>"),
        s("<output>"),
        t("\nOK"),
        s("</output>"),
    ]);
    let (engine, mut events) = start(&m, TagSet::default());
    let budget = BudgetSettings {
        min_thinking: Some(1000),
        max_extensions: 3,
        ..BudgetSettings::default()
    };
    engine
        .send(Command::Generate(request(
            1,
            ask("q"),
            reflection_router(),
            budget,
        )))
        .unwrap();
    let (seen, done) = finish(&mut events);
    let b = done.budget.clone().unwrap();
    assert_eq!(b.extensions, 3, "{seen:?}");
    assert_eq!(
        seen.steps,
        [
            BudgetStep::Extended(1),
            BudgetStep::Extended(2),
            BudgetStep::Extended(3)
        ]
    );
    assert_eq!(seen.thinking, "a0,\nWait,\nWait,\nWait,");
    assert_eq!(b.used, 3, "forced text is not charged");
    assert_eq!(b.forced, 18, "a line break and five bytes, three times");
    assert_eq!(seen.output.trim(), "OK");
    assert_eq!(done.stop_reason, StopReason::OutputClosed);
}

#[test]
fn the_next_turn_after_a_forced_stop_decodes_only_its_new_tokens() {
    let m = long_thinker(1200, 0, 0);
    let (engine, mut events) = start(&m, TagSet::default());
    let first = ask("first question");
    engine
        .send(Command::Generate(request(
            1,
            first.clone(),
            reflection_router(),
            capped(100, 0),
        )))
        .unwrap();
    let (_, one) = finish(&mut events);
    assert_eq!(
        one.budget.as_ref().unwrap().forced_by,
        Some(ForcedBy::Budget)
    );
    // The whole turn goes back, forced tags included, as a full history sends it.
    let mut second = first;
    second.push(ChatMessage::new(Role::Assistant, one.text.clone()));
    second.push(ChatMessage::new(Role::User, "second question"));
    engine
        .send(Command::Generate(request(
            2,
            second,
            reflection_router(),
            capped(100, 0),
        )))
        .unwrap();
    let (seen, two) = finish(&mut events);
    // The cache held the first prompt and everything generated or forced, less the closing
    // `</output>` (routed, never decoded).
    let cached = one.usage.prompt_tokens + one.usage.completion_tokens - 1;
    assert_eq!(
        seen.evaluated,
        two.usage.prompt_tokens - cached,
        "{:?} then {:?}",
        one.usage,
        two.usage
    );
    assert!(seen.evaluated > 0);
}

// The binary end to end: flags, a profile's keys, JSON, jsonl, stderr notes, the session file.

#[test]
fn think_budget_in_pipe_mode_json_jsonl_show_thinking_and_the_session() {
    let m = long_thinker(1200, 0, 0);
    let (code, v, err) = run_json(&m, &["q", "--think-budget", "100"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["output"], "The answer is 4.");
    assert_eq!(v["stop_reason"], "output_closed");
    let b = &v["budget"];
    // The default grace: 32 more tokens for a line end that never comes in this model.
    assert_eq!(
        (b["limit"].as_u64(), b["used"].as_u64()),
        (Some(100), Some(132)),
        "{b}"
    );
    assert_eq!(b["forced_by"], "budget");
    assert_eq!(b["extensions"], 0);
    assert!(b["forced"].as_u64().unwrap() >= 2);
    // The session file keeps it.
    let id = v["session"].as_str().unwrap();
    let file = sessions_dir(m.dir.path()).join(format!("{id}.json"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(saved["turns"][0]["budget"], *b);

    let (code, out, err) = run(&m, &["q", "--think-budget", "100", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let done: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(done["type"], "done");
    assert_eq!(done["budget"]["used"], 132);

    let (code, out, err) = run(&m, &["q", "--think-budget", "100", "--show-thinking"]);
    assert_eq!((code, out.as_str()), (0, "The answer is 4.\n"), "{err}");
    assert!(
        err.contains("⏹ thinking ended: the budget of 100 tokens is spent (132 used)"),
        "{err}"
    );
    assert!(err.find(" a130").unwrap() < err.find("⏹").unwrap(), "{err}");
}

#[test]
fn budget_zero_and_a_profiles_budget_through_the_binary() {
    let m = long_thinker(1200, 0, 0);
    let (code, v, err) = run_json(&m, &["q", "--think-budget", "0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["thinking"], "");
    assert_eq!(v["output"], "The answer is 4.");
    assert_eq!(v["budget"]["forced_by"], "no_thinking");
    // A profile's budget, and a flag over it.
    let dir = m.dir.path().join("config/reflect/prompts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("brief.toml"),
        "extends = \"reflection\"\nthinking_budget = 40\nbudget_grace = 0\n",
    )
    .unwrap();
    let (code, v, err) = run_json(&m, &["q", "--profile", "brief"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["budget"]["used"], 40);
    let (_, v, _) = run_json(&m, &["q", "--profile", "brief", "--think-budget", "none"]);
    assert_eq!(v["budget"]["limit"], serde_json::Value::Null);
    assert!(
        v["budget"]["used"].as_u64().unwrap() > 1000,
        "{}",
        v["budget"]
    );
}

#[test]
fn min_think_extends_an_end_of_thinking_written_in_pieces() {
    // Tags as plain text: "</thin" + "king>" spell the end. Each time, the two are taken back
    // out of the cache and "Wait," (in byte tokens, the last of which leads to "</thin" again)
    // goes in instead, until the three extensions are spent.
    let m = model(vec![
        t("<thinking>"),
        t(" a0"),
        ScriptItem::Byte(b','),
        t("</thin"),
        t("king>"),
        t("<output>OK</output>"),
    ]);
    let (code, v, err) = run_json(&m, &["q", "--min-think", "1000"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["thinking"], "a0,\nWait,\nWait,\nWait,", "{v}");
    assert_eq!(v["output"], "OK");
    let b = &v["budget"];
    assert_eq!(
        (b["extensions"].as_u64(), b["used"].as_u64()),
        (Some(3), Some(4)),
        "{b}"
    );
    // Once a run ends without extending, the held text is the answer as written.
    let (_, v, _) = run_json(&m, &["q", "--min-think", "2"]);
    assert_eq!(v["budget"]["extensions"], 0);
    assert_eq!(v["thinking"], "a0,");
    assert_eq!(v["output"], "OK");
}
