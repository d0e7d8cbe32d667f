//! Multi-turn reuse of the KV cache (issue #8, item 3) on the real engine: a 10-turn
//! conversation built as the chat builds it, where from turn 2 on each turn evaluates only what
//! the cache cannot hold, so turn 10 costs what turn 2 does.

use crate::common::*;
use reflect::conversation::{messages, Turn, TurnState};
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::llm::{
    ChatMessage, Command, EngineEvent, GenerateRequest, SamplingSettings, StopReason, Usage,
};
use reflect::profile::History;
use reflect::prompt::{think_carefully, REFLECTION_SYSTEM_PROMPT};
use reflect::stream::{RouterConfig, TagSet};
use tokio::sync::mpsc::UnboundedReceiver;

const TURNS: u64 = 10;

fn start(m: &Model) -> (Engine, UnboundedReceiver<EngineEvent>) {
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(4096),
        threads: Some(2),
        batch_size: Some(64),
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

/// Questions of the same length, so that each costs the same number of tokens.
fn question(k: u64) -> String {
    format!("Question {k:02}: what comes next?")
}

/// The messages the chat would send for question `k` after `earlier`.
fn request_messages(history: History, earlier: &[Turn], k: u64) -> (String, Vec<ChatMessage>) {
    let sent = think_carefully(&question(k));
    let m = messages(
        Some(REFLECTION_SYSTEM_PROMPT),
        history,
        &TagSet::default(),
        earlier,
        &sent,
    );
    (sent, m)
}

/// Sends question `k` as the chat does and fills its turn from the engine's events.
fn ask(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    history: History,
    earlier: &[Turn],
    k: u64,
) -> Turn {
    let (sent, msgs) = request_messages(history, earlier, k);
    let mut turn = Turn::queued(question(k));
    turn.id = k;
    turn.sent = sent;
    turn.state = TurnState::Running;
    engine
        .send(Command::Generate(GenerateRequest {
            id: k,
            messages: msgs,
            sampling: SamplingSettings::default(),
            max_tokens: None,
            router: RouterConfig {
                stop_after_output: true,
                ..RouterConfig::default()
            },
            budget: Default::default(),
            tools: Vec::new(),
        }))
        .unwrap();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Warning(w) => panic!("turn {k}: unexpected warning: {w}"),
            EngineEvent::PromptProcessed {
                id,
                prompt_tokens,
                evaluated,
            } => {
                assert_eq!(id, k);
                assert!(evaluated <= prompt_tokens);
                turn.prompt_tokens = Some(prompt_tokens);
            }
            EngineEvent::Text { channel, text, .. } => turn.push_text(channel, &text),
            EngineEvent::ReflectionStart { n, .. } => turn.reflection_start(n),
            EngineEvent::ReflectionEnd { n, .. } => turn.reflection_end(n),
            EngineEvent::Done(done) => {
                assert_eq!(done.id, k);
                turn.finish(&done);
                return turn;
            }
            EngineEvent::Error(e) => panic!("turn {k}: {e}"),
            _ => {}
        }
    }
}

/// The prompt exactly as the engine renders it (with the begin-of-text token).
fn rendered(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    m: Vec<ChatMessage>,
) -> String {
    engine
        .send(Command::RenderPrompt(reflect::llm::GenerateRequest {
            messages: m,
            ..Default::default()
        }))
        .unwrap();
    loop {
        if let EngineEvent::Prompt(p) = events.blocking_recv().expect("engine alive") {
            return p;
        }
    }
}

/// The text the prompt of question `k` adds to the prompt of question `k − 1`.
fn added_text(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    history: History,
    turns: &[Turn],
    k: u64,
) -> String {
    let earlier = &turns[..k as usize - 1];
    let before = rendered(
        engine,
        events,
        request_messages(history, &earlier[..earlier.len() - 1], k - 1).1,
    );
    let now = rendered(engine, events, request_messages(history, earlier, k).1);
    now.strip_prefix(&before)
        .unwrap_or_else(|| panic!("turn {k}: the previous prompt is not a prefix"))
        .to_string()
}

/// What follows the previous answer in the prompt of question `k`: the end of that turn, the
/// question and the open assistant header.
fn next_question(k: u64) -> String {
    format!(
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n",
        think_carefully(&question(k))
    )
}

/// A finished conversation, with its engine still running (fields drop in order: the engine
/// before the model file's directory).
struct Run {
    engine: Engine,
    events: UnboundedReceiver<EngineEvent>,
    turns: Vec<Turn>,
    usage: Vec<Usage>,
    _model: Model,
}

/// Runs the 10-turn conversation with the standard Reflection script.
fn conversation(history: History) -> Run {
    let m = model(reflection_script());
    let (engine, mut events) = start(&m);
    let mut turns: Vec<Turn> = Vec::new();
    for k in 1..=TURNS {
        let turn = ask(&engine, &mut events, history, &turns, k);
        assert_eq!(turn.stop_reason, Some(StopReason::OutputClosed), "turn {k}");
        assert_eq!(turn.answer, "The answer is 4.", "turn {k}");
        assert_eq!(turn.reflections.len(), 1, "turn {k}");
        turns.push(turn);
    }
    let usage = turns.iter().map(|t| t.usage.unwrap()).collect();
    Run {
        engine,
        events,
        turns,
        usage,
        _model: m,
    }
}

#[test]
fn each_turn_evaluates_only_what_the_previous_prompt_did_not_hold() {
    // The model's directory is bound first, so that it is dropped after the engine.
    let Run {
        _model,
        engine,
        mut events,
        turns,
        usage,
    } = conversation(History::Answer);

    let first = usage[0];
    assert_eq!(
        first.prompt_tokens_evaluated, first.prompt_tokens,
        "turn 1 starts from an empty cache"
    );
    for k in 2..=TURNS as usize {
        let (prev, cur) = (usage[k - 2], usage[k - 1]);
        // With the answer-only history the cache holds the previous prompt and then the
        // previous generation, whose first token (<thinking>) is where the history differs
        // (it shows the answer only): the common prefix is exactly the previous prompt.
        assert_eq!(
            cur.prompt_tokens_evaluated,
            cur.prompt_tokens - prev.prompt_tokens,
            "turn {k}: {cur:?} after {prev:?}"
        );
        // Every answer is the 10 scripted tokens, and the previous prompt is reused whole.
        assert_eq!(cur.completion_tokens, 10, "turn {k}");
        assert_eq!(
            cur.prompt_tokens - cur.prompt_tokens_evaluated,
            prev.prompt_tokens,
            "turn {k}"
        );
    }

    // What those evaluated tokens are: the previous answer as the history shows it, the new
    // question and the template's tokens around them, nothing else.
    for k in 2..=TURNS {
        assert_eq!(
            added_text(&engine, &mut events, History::Answer, &turns, k),
            format!("<output>\nThe answer is 4.\n</output>{}", next_question(k)),
            "turn {k}"
        );
    }

    // Same question length, same answer: turn 10 costs exactly what turn 2 does, though its
    // prompt is several times longer.
    let (second, tenth) = (usage[1], usage[TURNS as usize - 1]);
    assert_eq!(
        tenth.prompt_tokens_evaluated, second.prompt_tokens_evaluated,
        "turn 2 {second:?}, turn 10 {tenth:?}"
    );
    assert!(
        tenth.prompt_tokens > 2 * second.prompt_tokens,
        "the conversation grew: {second:?} → {tenth:?}"
    );

    // The engine tokenized only the new part of each prompt, reusing the previous prompt's
    // tokens up to where the new part starts with a control token (`<output>` here). A fresh
    // engine given the prompts from the last to the first tokenizes each whole (none starts
    // with the text of the one before it): the same tokens, so the same counts, turn by turn.
    let (fresh, mut fresh_events) = start(&_model);
    for k in (1..=TURNS).rev() {
        let i = k as usize - 1;
        let again = ask(&fresh, &mut fresh_events, History::Answer, &turns[..i], k)
            .usage
            .unwrap();
        assert_eq!(
            again.prompt_tokens, usage[i].prompt_tokens,
            "turn {k}: {again:?} {:?}",
            usage[i]
        );
    }
}

#[test]
fn full_history_sends_answers_back_as_generated_and_evaluates_only_the_new_message() {
    let Run {
        _model,
        engine,
        mut events,
        turns,
        usage,
    } = conversation(History::Full);
    // The text the script generates, tags included, exactly as the model wrote it.
    let generated = "<thinking>\nI add 2 and 2.<reflection>\nCheck: 2+2 is 4, not 5.</reflection>\
                     \nSo it is 4.\n</thinking><output>\nThe answer is 4.\n</output>";
    for (k, turn) in turns.iter().enumerate() {
        assert_eq!(turn.raw, generated, "turn {}", k + 1);
    }

    assert_eq!(usage[0].prompt_tokens_evaluated, usage[0].prompt_tokens);
    for k in 2..=TURNS as usize {
        let (prev, cur) = (usage[k - 2], usage[k - 1]);
        // The cache holds the previous prompt and everything generated after it but the last
        // token (`</output>`: generation stops right after sampling it). The new prompt
        // continues exactly that, with the generated tokens reused as they were (this
        // vocabulary would re-tokenize the answer's text into many byte tokens).
        assert_eq!(
            cur.prompt_tokens - cur.prompt_tokens_evaluated,
            prev.prompt_tokens + prev.completion_tokens - 1,
            "turn {k}: {cur:?} after {prev:?}"
        );
    }

    // The history shows the previous turn as it was generated, then the new question.
    for k in 2..=TURNS {
        assert_eq!(
            added_text(&engine, &mut events, History::Full, &turns, k),
            format!("{generated}{}", next_question(k)),
            "turn {k}"
        );
    }

    // Turn 10 costs what turn 2 does: the last answer token, the new message and the
    // template's tokens around it.
    let evaluated: Vec<u32> = usage[1..]
        .iter()
        .map(|u| u.prompt_tokens_evaluated)
        .collect();
    assert!(
        evaluated.windows(2).all(|w| w[0] == w[1]),
        "every later turn costs the same: {evaluated:?}"
    );
}
