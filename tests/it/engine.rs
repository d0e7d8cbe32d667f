//! Engine-level tests: the real llama.cpp engine on its own thread, driven through its command
//! and event types as the front ends drive it.

use crate::common::*;
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::gguf::ScriptedModel;
use reflect::llm::{
    ChatMessage, Command, Completion, EngineError, EngineEvent, GenerateRequest, ModelInfo, Role,
    SamplingSettings, StopReason,
};
use reflect::stream::{Channel, RouterConfig, TagSet};
use tokio::sync::mpsc::UnboundedReceiver;

fn config(m: &Model) -> LlamaConfig {
    LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(2048),
        threads: Some(2),
        batch_size: Some(64),
        tags: TagSet::default(),
        vocab_only: false,
        checked: None,
        chat_template: None,
        speculation: Default::default(),
    }
}

fn request(id: u64, question: &str) -> GenerateRequest {
    GenerateRequest {
        id,
        messages: vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, question),
        ],
        sampling: SamplingSettings::default(),
        max_tokens: None,
        router: RouterConfig {
            stop_after_output: true,
            ..RouterConfig::default()
        },
        budget: Default::default(),
        tools: Vec::new(),
        raw: false,
    }
}

fn loaded(events: &mut UnboundedReceiver<EngineEvent>) -> (ModelInfo, Vec<f32>) {
    let mut progress = Vec::new();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::LoadProgress(p) => progress.push(p),
            EngineEvent::Loaded(info) => return (*info, progress),
            EngineEvent::Error(e) => panic!("load failed: {e}"),
            _ => {}
        }
    }
}

/// Collects a generation's output text and its completion.
fn finish(events: &mut UnboundedReceiver<EngineEvent>) -> (String, Completion) {
    let mut output = String::new();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text {
                channel: Channel::Output,
                text,
                ..
            } => output.push_str(&text),
            EngineEvent::Done(done) => return (output, *done),
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

#[test]
fn loading_reports_progress_and_model_facts() {
    let m = model(reflection_script());
    let (_engine, mut events) = Engine::start(config(&m));
    let (info, progress) = loaded(&mut events);
    assert!(
        !progress.is_empty(),
        "llama.cpp's progress callback is forwarded"
    );
    assert_eq!(progress.last().copied(), Some(1.0));
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(info.name, "reflect-scripted");
    assert_eq!(info.context_size, 2048);
    let local = info.local.as_ref().expect("a local model");
    assert_eq!(local.context_train, 4096);
    assert_eq!(local.layers, 1);
    assert_eq!(local.threads, 2);
    assert_eq!(info.backend, "CPU");
    assert_eq!(local.layers_offloaded, 0);
    assert!(local.parameters > 0);
    let mut tags = info.tag_tokens.clone();
    tags.sort();
    assert_eq!(
        tags,
        [
            "</output>",
            "</reflection>",
            "</thinking>",
            "<output>",
            "<reflection>",
            "<thinking>"
        ]
    );
}

#[test]
fn usage_and_timings_are_filled_and_the_cache_is_reused() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(config(&m));
    loaded(&mut events);
    engine
        .send(Command::Generate(request(1, "What is 2+2?")))
        .unwrap();
    let (output, done) = finish(&mut events);
    assert_eq!(output, "The answer is 4.");
    assert_eq!(done.stop_reason, StopReason::OutputClosed);
    let u = done.usage;
    assert_eq!(
        u.prompt_tokens, u.prompt_tokens_evaluated,
        "first turn decodes everything"
    );
    assert_eq!(u.completion_tokens, 10);
    assert_eq!(
        u.thinking_tokens + u.reflection_tokens + u.output_tokens,
        10
    );
    assert!(done.timings.tokens_per_second > 0.0);
    assert!(done.timings.first_token_ms >= done.timings.prompt_ms);

    // Same system prompt, different question: only the differing suffix is decoded.
    engine
        .send(Command::Generate(request(2, "What is 3+3?")))
        .unwrap();
    let (_, second) = finish(&mut events);
    assert!(
        second.usage.prompt_tokens_evaluated < second.usage.prompt_tokens / 2,
        "{:?}",
        second.usage
    );
    assert!(second.usage.prompt_tokens_evaluated >= 1);
}

#[test]
fn raw_events_add_up_to_the_completions_text_alone_and_batched() {
    for (name, script) in [
        ("special-token tags", reflection_script()),
        ("plain-text tags", plain_tag_script()),
    ] {
        let m = model(script);
        let (engine, mut events) = Engine::start(config(&m));
        loaded(&mut events);
        let raw = |id| GenerateRequest {
            raw: true,
            ..request(id, "q")
        };
        engine.send(Command::Generate(raw(1))).unwrap();
        let alone = raw_texts(&mut events, 1);
        let requests = vec![raw(1), raw(2)];
        engine
            .send(Command::GenerateMany {
                requests,
                at_once: 2,
            })
            .unwrap();
        let batched = raw_texts(&mut events, 2);
        for (text, done) in alone.iter().chain(&batched) {
            assert!(text.starts_with("<thinking>"), "{name}: {text:?}");
            assert_eq!(text, &done.text, "{name}: generation {}", done.id);
        }
        // Not asked: none sent.
        engine.send(Command::Generate(request(1, "q"))).unwrap();
        loop {
            match events.blocking_recv().expect("engine alive") {
                EngineEvent::Raw { .. } => panic!("{name}: raw text not asked for"),
                EngineEvent::Done(_) => break,
                _ => {}
            }
        }
    }
}

#[test]
fn max_tokens_limits_the_generation() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(config(&m));
    loaded(&mut events);
    engine
        .send(Command::Generate(GenerateRequest {
            max_tokens: Some(4),
            ..request(1, "q")
        }))
        .unwrap();
    let (_, done) = finish(&mut events);
    assert_eq!(done.stop_reason, StopReason::MaxTokens);
    assert_eq!(done.usage.completion_tokens, 4);
    assert!(done.summary.answer_missing);
}

#[test]
fn cancel_mid_generation_stops_within_a_few_tokens() {
    // A long script on a padded model (~ms per token), so the cancel lands mid-stream.
    let m = slow_words(400);
    let (engine, mut events) = Engine::start(config(&m));
    loaded(&mut events);
    engine.send(Command::Generate(request(1, "q"))).unwrap();
    // The tokens received when the cancel was sent, and the events already generated but not
    // yet received then (a test thread paused on a busy machine lets the engine run ahead):
    // the count must not move on by more than a few tokens after them.
    const AT_CANCEL: u32 = 5;
    let mut seen = 0u32;
    let mut queued = 0u32;
    let done = loop {
        match events.blocking_recv().unwrap() {
            EngineEvent::Text { .. } => {
                seen += 1;
                if seen == AT_CANCEL {
                    queued = events.len() as u32;
                    engine.cancel(1);
                }
            }
            EngineEvent::Done(done) => break *done,
            EngineEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    assert_eq!(done.stop_reason, StopReason::Cancelled);
    assert!(
        done.usage.completion_tokens <= AT_CANCEL + queued + 3,
        "generated {} tokens ({seen} received), cancelled when {AT_CANCEL} had been received \
         and {queued} more events were queued",
        done.usage.completion_tokens
    );

    // The engine is still usable, and its cache consistent, after a cancel.
    engine
        .send(Command::Generate(GenerateRequest {
            max_tokens: Some(3),
            ..request(2, "q")
        }))
        .unwrap();
    let (output, done) = finish(&mut events);
    assert_eq!(done.stop_reason, StopReason::MaxTokens);
    assert_eq!(output, "w0 w1 w2");
}

#[test]
fn a_prompt_that_does_not_fit_is_refused_with_numbers() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(LlamaConfig {
        ctx_size: Some(64),
        ..config(&m)
    });
    loaded(&mut events);
    engine
        .send(Command::Generate(request(1, &"many words ".repeat(50))))
        .unwrap();
    match events.blocking_recv().unwrap() {
        EngineEvent::Error(EngineError::PromptTooLong {
            prompt_tokens,
            n_ctx,
        }) => {
            assert!(prompt_tokens > n_ctx, "{prompt_tokens} vs {n_ctx}");
        }
        _ => panic!("expected PromptTooLong"),
    }
}

#[test]
fn generation_reaching_the_end_of_the_context_stops_cleanly() {
    let items: Vec<_> = (0..300).map(|i| t(&format!("t{i} "))).collect();
    let m = model(items);
    let (engine, mut events) = Engine::start(LlamaConfig {
        ctx_size: Some(256),
        ..config(&m)
    });
    loaded(&mut events);
    let req = GenerateRequest {
        messages: vec![ChatMessage::new(Role::User, "q")],
        ..request(1, "q")
    };
    engine.send(Command::Generate(req)).unwrap();
    let (output, done) = finish(&mut events);
    assert_eq!(done.stop_reason, StopReason::ContextFull);
    assert_eq!(done.usage.prompt_tokens + done.usage.completion_tokens, 256);
    assert!(output.starts_with("t0 t1"));
}

#[test]
fn old_turns_are_left_out_when_the_conversation_outgrows_the_context() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(LlamaConfig {
        ctx_size: Some(512),
        ..config(&m)
    });
    loaded(&mut events);
    let mut messages = vec![ChatMessage::new(Role::System, "Be brief.")];
    for i in 0..12 {
        messages.push(ChatMessage::new(
            Role::User,
            format!("question {i}: {}", "padding words ".repeat(8)),
        ));
        messages.push(ChatMessage::new(
            Role::Assistant,
            format!("<output>answer {i}</output>"),
        ));
    }
    messages.push(ChatMessage::new(Role::User, "the current question"));
    engine
        .send(Command::Generate(GenerateRequest {
            messages,
            ..request(1, "unused")
        }))
        .unwrap();
    let mut warning = None;
    let done = loop {
        match events.blocking_recv().unwrap() {
            EngineEvent::Warning(w) => warning = Some(w),
            EngineEvent::Done(d) => break *d,
            EngineEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    let warning = warning.expect("the user is told");
    assert!(
        warning.contains("left out the") && warning.contains("oldest turns"),
        "{warning}"
    );
    assert_eq!(
        done.stop_reason,
        StopReason::OutputClosed,
        "and it still answers"
    );
    assert!(
        done.usage.prompt_tokens as usize + 512 / 4 <= 512,
        "{:?}",
        done.usage
    );
}

#[test]
fn once_cut_a_growing_conversation_keeps_its_cut_and_reuses_the_cache() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(LlamaConfig {
        ctx_size: Some(512),
        ..config(&m)
    });
    loaded(&mut events);
    let mut history = vec![ChatMessage::new(Role::System, "Be brief.")];
    let mut cuts = 0;
    let mut reused_after_a_cut = 0;
    for i in 0..24u64 {
        let mut messages = history.clone();
        messages.push(ChatMessage::new(Role::User, format!("question {i}")));
        engine
            .send(Command::Generate(GenerateRequest {
                messages: messages.clone(),
                ..request(i + 1, "unused")
            }))
            .unwrap();
        let mut cut = false;
        let done = loop {
            match events.blocking_recv().unwrap() {
                EngineEvent::Warning(w) if w.contains("left out") => cut = true,
                EngineEvent::Done(d) => break *d,
                EngineEvent::Error(e) => panic!("turn {i}: {e}"),
                _ => {}
            }
        };
        assert_eq!(done.stop_reason, StopReason::OutputClosed, "turn {i}");
        let u = done.usage;
        if cut {
            cuts += 1;
        } else if cuts > 0 {
            // Same start as the turn before: only the new tail is decoded.
            assert!(
                u.prompt_tokens_evaluated * 3 < u.prompt_tokens,
                "turn {i}: {u:?}"
            );
            reused_after_a_cut += 1;
        }
        history = messages;
        history.push(ChatMessage::new(
            Role::Assistant,
            format!("<output>answer {i}</output>"),
        ));
    }
    assert!(
        cuts >= 2,
        "the conversation outgrew the context: {cuts} cuts"
    );
    // Cutting one turn more every turn would make every turn after the first cut a cut
    // (and decode nearly everything); a quarter of the context to spare leaves room for more.
    assert!(
        reused_after_a_cut > cuts,
        "a cut leaves room for more turns: {cuts} cuts, {reused_after_a_cut} turns reused"
    );
}

#[test]
fn a_cyclic_script_streams_until_max_tokens() {
    let mut sm = ScriptedModel::from_texts(&["a ", "b ", "c "]);
    sm.cycle = true;
    let m = write(sm);
    let (engine, mut events) = Engine::start(config(&m));
    loaded(&mut events);
    engine
        .send(Command::Generate(GenerateRequest {
            max_tokens: Some(10),
            ..request(1, "q")
        }))
        .unwrap();
    let (output, done) = finish(&mut events);
    assert_eq!(done.stop_reason, StopReason::MaxTokens);
    assert_eq!(output, "a b c a b c a b c a");
}

/// A prompt longer than one micro-batch reports its progress after each (ubatch = n_batch = 64
/// here), ending at the number of tokens decoded; a prompt read from the cache, or shorter
/// than a micro-batch, reports none.
#[test]
fn a_long_prompt_reports_its_progress_after_each_micro_batch() {
    let m = model(reflection_script());
    let (engine, mut events) = Engine::start(config(&m));
    loaded(&mut events);
    let long = "tell me about the numbers one two three four five six seven eight ".repeat(12);
    let progress_of = |events: &mut UnboundedReceiver<EngineEvent>| {
        let mut seen = Vec::new();
        loop {
            match events.blocking_recv().expect("engine alive") {
                EngineEvent::PromptProgress { id, done, total } => seen.push((id, done, total)),
                EngineEvent::PromptProcessed { evaluated, .. } => return (seen, evaluated),
                EngineEvent::Error(e) => panic!("generation failed: {e}"),
                _ => {}
            }
        }
    };
    engine.send(Command::Generate(request(1, &long))).unwrap();
    let (seen, evaluated) = progress_of(&mut events);
    finish(&mut events);
    assert!(
        evaluated > 128,
        "the prompt spans several micro-batches: {evaluated}"
    );
    let expected: Vec<(u64, u32, u32)> = (1..)
        .map(|k| (1, (k * 64).min(evaluated), evaluated))
        .take(evaluated.div_ceil(64) as usize)
        .collect();
    assert_eq!(seen, expected);

    // The same prompt again: from the cache, one token decoded, nothing to report.
    engine.send(Command::Generate(request(2, &long))).unwrap();
    let (seen, evaluated) = progress_of(&mut events);
    finish(&mut events);
    assert!(evaluated < 64, "{evaluated}");
    assert_eq!(seen, []);
}
