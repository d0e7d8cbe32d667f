//! Tool calls on the real llama.cpp engine, on scripted models that call tools
//! (`reflect::gguf::agent`): the calls come out of the answer only, in each model family's own
//! format; a call written inside the thinking never does; a second step after the tool result
//! answers, decoding only its new tokens; prompts without tools render exactly as before.

use crate::common::*;
use reflect::conversation::Turn;
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::gguf::agent::{self, Call, Format, Script};
use reflect::gguf::ScriptedModel;
use reflect::llm::{
    ChatMessage, Command, Completion, EngineEvent, GenerateRequest, Role, StopReason,
};
use reflect::stream::{Channel, RouterConfig, TagSet};
use reflect::tools::{builtin::BUILTINS, CallStatus};
use serde_json::{json, Value};

fn config(m: &Model, vocab_only: bool) -> LlamaConfig {
    LlamaConfig {
        model_path: m.path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(4096),
        threads: Some(2),
        batch_size: Some(512),
        tags: TagSet::default(),
        vocab_only,
        checked: None,
        chat_template: None,
        speculation: Default::default(),
    }
}

/// Two of the built-in tools (all six make a prompt of some 9000 byte tokens with these
/// vocabularies).
fn tools() -> Vec<Value> {
    BUILTINS
        .iter()
        .filter(|b| ["read_file", "edit_file"].contains(&b.name))
        .map(|b| b.schema())
        .collect()
}

fn question() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(Role::System, "Be brief."),
        ChatMessage::new(Role::User, "What is in notes.txt?"),
    ]
}

fn request(id: u64, messages: Vec<ChatMessage>, tools: Vec<Value>) -> GenerateRequest {
    GenerateRequest {
        id,
        messages,
        router: RouterConfig {
            stop_after_output: true,
            ..RouterConfig::default()
        },
        tools,
        ..GenerateRequest::default()
    }
}

/// Starts the engine on `m` and waits for the load; the warnings said on the way.
fn start(m: &Model, vocab_only: bool) -> (Engine, Events, Vec<String>) {
    start_with(config(m, vocab_only))
}

fn start_with(config: LlamaConfig) -> (Engine, Events, Vec<String>) {
    let (engine, mut events) = Engine::start(config);
    let mut warnings = Vec::new();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Loaded(_) => return (engine, events, warnings),
            EngineEvent::Warning(w) => warnings.push(w),
            EngineEvent::Error(e) => panic!("load failed: {e}"),
            _ => {}
        }
    }
}

/// What one generation showed and how it ended.
struct Step {
    thinking: String,
    output: String,
    warnings: Vec<String>,
    done: Completion,
}

fn generate(engine: &Engine, events: &mut Events, req: GenerateRequest) -> Step {
    engine.send(Command::Generate(req)).expect("engine alive");
    let (mut thinking, mut output, mut warnings) = (String::new(), String::new(), Vec::new());
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Text { channel, text, .. } => match channel {
                Channel::Output => output.push_str(&text),
                _ => thinking.push_str(&text),
            },
            EngineEvent::Warning(w) => warnings.push(w),
            EngineEvent::Done(done) => {
                return Step {
                    thinking,
                    output,
                    warnings,
                    done: *done,
                }
            }
            EngineEvent::Error(e) => panic!("generation failed: {e}"),
            _ => {}
        }
    }
}

fn rendered(engine: &Engine, events: &mut Events, req: GenerateRequest) -> String {
    engine
        .send(Command::RenderPrompt(req))
        .expect("engine alive");
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Prompt(p) => return p,
            EngineEvent::Error(e) => panic!("render failed: {e}"),
            _ => {}
        }
    }
}

fn agent_model(format: Format, script: Script) -> Model {
    write(agent::model(format, script))
}

#[test]
fn calls_in_the_answer_are_read_in_each_format_and_not_shown_as_answer() {
    let call = Call::new(
        "edit_file",
        json!({"path": "a.txt", "old": "hello", "new": "bye"}),
    );
    for format in Format::ALL {
        let m = agent_model(format, Script::Answer(call.clone()));
        let (engine, mut events, _) = start(&m, false);
        let step = generate(&engine, &mut events, request(1, question(), tools()));
        let done = &step.done;
        assert_eq!(done.calls.len(), 1, "{format:?}: {:?}", done.calls);
        assert_eq!(done.calls[0].name, "edit_file", "{format:?}");
        assert_eq!(
            Value::Object(done.calls[0].arguments.clone()),
            call.arguments,
            "{format:?}"
        );
        assert_eq!(done.calls[0].id.len(), 9, "{format:?}");
        assert!(
            done.malformed.is_empty(),
            "{format:?}: {:?}",
            done.malformed
        );
        assert_eq!(
            step.output.trim(),
            "",
            "{format:?}: the call is not answer text"
        );
        assert!(
            !done.text.contains("edit_file"),
            "{format:?}: the call is taken out of the text: {}",
            done.text
        );
        assert_eq!(step.thinking, agent::THINKING.trim(), "{format:?}");
        for marker in ["<|python_tag|>", "[TOOL_CALLS]"] {
            assert!(
                !done.text.contains(marker),
                "{format:?}: the marker reached the parser and went with the call: {}",
                done.text
            );
        }
        let want = match format {
            // <|eom_id|> ends the message that waits for the result.
            Format::Llama3PythonTag => StopReason::EndOfTurn,
            _ => StopReason::OutputClosed,
        };
        assert_eq!(done.stop_reason, want, "{format:?}");
    }
}

#[test]
fn a_call_inside_the_thinking_never_runs_and_is_shown_as_thinking() {
    for format in Format::ALL {
        let m = agent_model(format, Script::InThinking(Call::read_file("notes.txt")));
        let (engine, mut events, _) = start(&m, false);
        let step = generate(&engine, &mut events, request(1, question(), tools()));
        assert!(
            step.done.calls.is_empty(),
            "{format:?}: {:?}",
            step.done.calls
        );
        assert!(step.done.malformed.is_empty(), "{format:?}");
        assert_eq!(step.output, agent::PLAIN_ANSWER, "{format:?}");
        let call_text = Call::read_file("notes.txt").text(format);
        assert!(
            step.thinking.contains(&call_text),
            "{format:?}: the call-shaped text, markers included, is thinking: {:?}",
            step.thinking
        );
    }
}

/// Step 1 through the turn (its calls, their results), then step 2 on the turn's exchange.
fn two_steps(format: Format, script: Script) -> (Step, Step) {
    let m = agent_model(format, script);
    let (engine, mut events, _) = start(&m, false);
    let first = generate(&engine, &mut events, request(1, question(), tools()));
    let mut turn = Turn::queued("What is in notes.txt?");
    let calls = turn.step_done(&first.done);
    assert_eq!(calls.len(), 1, "{format:?}: {:?}", first.done);
    turn.call_result(&calls[0].id, CallStatus::Done, "hello", 3);
    let mut messages = question();
    messages.extend(turn.exchange.iter().cloned());
    let second = generate(&engine, &mut events, request(2, messages, tools()));
    (first, second)
}

#[test]
fn after_the_tool_result_the_second_step_answers_and_decodes_only_its_new_tokens() {
    for format in Format::ALL {
        let (first, second) = two_steps(format, Script::Answer(Call::read_file("notes.txt")));
        let done = &second.done;
        assert!(done.calls.is_empty(), "{format:?}: {:?}", done.calls);
        assert_eq!(second.output, agent::ANSWER, "{format:?}");
        assert_eq!(second.thinking, "The tool answered.", "{format:?}");
        assert_eq!(done.stop_reason, StopReason::OutputClosed, "{format:?}");
        // The system prompt, the tools and the question are in the cache from step 1: step 2
        // decodes the call as the template renders it, the result and the new header.
        let u = done.usage;
        assert!(
            u.prompt_tokens > first.done.usage.prompt_tokens,
            "{format:?}: {u:?}"
        );
        assert!(
            u.prompt_tokens_evaluated * 5 < u.prompt_tokens,
            "{format:?}: step 2 evaluated {} of {} prompt tokens",
            u.prompt_tokens_evaluated,
            u.prompt_tokens
        );
    }
}

#[test]
fn an_earlier_tool_exchange_without_tools_offered_is_rendered_but_never_read_for_calls() {
    let m = agent_model(
        Format::Llama3Json,
        Script::Runaway(Call::read_file("notes.txt")),
    );
    let (engine, mut events, _) = start(&m, false);
    let first = generate(&engine, &mut events, request(1, question(), tools()));
    let call = first.done.calls[0].clone();
    let mut messages = question();
    messages.extend([
        ChatMessage::calls(first.done.text.clone(), vec![call.clone()]),
        ChatMessage::tool_result(&call, "hello"),
    ]);
    // Tools are off now: the exchange still renders through the Jinja template (its result
    // leads the model to its second script), and what looks like a call is answer text.
    let second = generate(&engine, &mut events, request(2, messages, Vec::new()));
    assert!(second.done.calls.is_empty(), "{:?}", second.done.calls);
    assert!(
        second.output.contains(r#"{"name": "read_file""#),
        "{:?}",
        second.output
    );
}

#[test]
fn a_chat_template_file_that_takes_tools_is_used_and_a_name_falls_back_to_the_family() {
    let mut sm = ScriptedModel::new(reflection_script());
    sm.chat_tokens = reflect::gguf::ChatTokens::ChatMl;
    sm.template = reflect::gguf::TemplateStyle::Missing;
    let m = write(sm);
    let file = m.dir.path().join("hermes.jinja");
    std::fs::write(&file, agent::template(reflect::jinja::Family::Hermes)).unwrap();
    // (--chat-template, a warning with tools)
    for (chosen, warned) in [
        (file.to_string_lossy().into_owned(), false),
        ("chatml".into(), true),
    ] {
        let (engine, mut events, _) = start_with(LlamaConfig {
            chat_template: Some(chosen.clone()),
            ..config(&m, false)
        });
        let step = generate(&engine, &mut events, request(1, question(), tools()));
        assert_eq!(
            step.warnings.len(),
            usize::from(warned),
            "{chosen}: {:?}",
            step.warnings
        );
        if warned {
            assert!(
                step.warnings[0].contains("the --chat-template given does not take tools")
                    && step.warnings[0].contains("<tool_call>"),
                "{:?}",
                step.warnings
            );
        }
        let prompt = rendered(&engine, &mut events, request(2, question(), tools()));
        assert!(
            prompt.contains("<tools> {\"type\": \"function\""),
            "{chosen}: {prompt}"
        );
    }
}

#[test]
fn a_runaway_model_calls_again_after_every_result() {
    let (_, second) = two_steps(
        Format::Llama3Json,
        Script::Runaway(Call::read_file("notes.txt")),
    );
    assert_eq!(second.done.calls.len(), 1, "{:?}", second.done);
    assert_eq!(second.done.calls[0].name, "read_file");
    assert_eq!(second.output, "");
}

#[test]
fn the_family_template_stands_in_for_one_without_tools_and_says_so_once() {
    // The reflection model's own template is Llama 3's plain one: it never reads `tools`.
    let m = model(reflection_script());
    let (engine, mut events, _) = start(&m, false);
    let first = generate(&engine, &mut events, request(1, question(), tools()));
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    assert!(
        first.warnings[0].contains("does not take tools")
            && first.warnings[0].contains("Llama 3.1"),
        "{:?}",
        first.warnings
    );
    assert!(first.done.calls.is_empty());
    let again = generate(&engine, &mut events, request(2, question(), tools()));
    assert!(again.warnings.is_empty(), "said once: {:?}", again.warnings);
    let prompt = rendered(&engine, &mut events, request(3, question(), tools()));
    assert!(
        prompt.starts_with(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
        ) && prompt.contains("\"name\": \"edit_file\"")
            && !prompt[1..].contains("<|begin_of_text|>"),
        "the tools prompt, the begin token once: {prompt}"
    );
}

#[test]
fn two_calls_in_one_step_reach_llama_3_one_at_a_time() {
    // Llama 3.1's template takes one call per message: each goes in a message of its own.
    let m = agent_model(Format::Llama3Json, Script::Answer(Call::read_file("a")));
    let (engine, mut events, _) = start(&m, false);
    let mut two = vec![
        reflect::tools::ToolCall::new("read_file", Default::default()),
        reflect::tools::ToolCall::new("list_dir", Default::default()),
    ];
    two[0].id = "aaaaaaaaa".into();
    two[1].id = "bbbbbbbbb".into();
    let mut messages = question();
    messages.push(ChatMessage::calls("", two.clone()));
    messages.push(ChatMessage::tool_result(&two[0], "A"));
    messages.push(ChatMessage::tool_result(&two[1], "B"));
    engine
        .send(Command::Generate(request(1, messages, tools())))
        .unwrap();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Error(e) => panic!("{e}"),
            EngineEvent::Done(d) => {
                assert!(d.calls.is_empty(), "the answer after the results: {d:?}");
                break;
            }
            _ => {}
        }
    }
}

#[test]
fn a_template_that_refuses_the_conversation_is_an_error_that_says_why() {
    let mut sm = agent::model(Format::Llama3Json, Script::Answer(Call::read_file("a")));
    sm.chat_template = Some(
        "{% if tools %}{{ raise_exception('this template takes no system message') }}{% endif %}"
            .into(),
    );
    let m = write(sm);
    let (engine, mut events, _) = start(&m, false);
    engine
        .send(Command::Generate(request(1, question(), tools())))
        .unwrap();
    loop {
        match events.blocking_recv().expect("engine alive") {
            EngineEvent::Error(e) => {
                let e = e.to_string();
                assert!(
                    e.contains("the prompt with tools could not be rendered")
                        && e.contains("this template takes no system message"),
                    "{e}"
                );
                break;
            }
            EngineEvent::Done(d) => panic!("rendered: {d:?}"),
            _ => {}
        }
    }
}

#[test]
fn batched_jobs_read_calls_in_each_format_as_a_generation_alone() {
    let call = Call::new(
        "edit_file",
        json!({"path": "a.txt", "old": "hello", "new": "bye"}),
    );
    for format in Format::ALL {
        let m = agent_model(format, Script::Answer(call.clone()));
        let (engine, mut events, _) = start(&m, false);
        let alone = generate(&engine, &mut events, request(1, question(), tools())).done;
        assert_eq!(alone.calls.len(), 1, "{format:?}: {:?}", alone.calls);
        // Two at once in one context: the same call read, the same text, the same end.
        engine
            .send(Command::GenerateMany {
                requests: vec![
                    request(2, question(), tools()),
                    request(3, question(), tools()),
                ],
                at_once: 2,
            })
            .unwrap();
        let mut batched = Vec::new();
        while batched.len() < 2 {
            match events.blocking_recv().expect("engine alive") {
                EngineEvent::Done(d) => batched.push(*d),
                EngineEvent::Error(e) => panic!("{format:?}: {e}"),
                _ => {}
            }
        }
        // Call ids are fresh for every call: the rest is the same.
        let calls = |d: &Completion| -> Vec<(String, serde_json::Map<String, Value>)> {
            d.calls
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone()))
                .collect()
        };
        for d in batched {
            assert_eq!(
                (calls(&d), &d.text, d.stop_reason),
                (calls(&alone), &alone.text, alone.stop_reason),
                "{format:?}: job {}",
                d.id
            );
        }
    }
}

/// The prompt llama.cpp itself renders for `messages` with `template` (the model's own when
/// `None`), the begin-of-text token first: what reflect rendered before tools existed.
fn llama_cpp_prompt(
    path: &std::path::Path,
    template: Option<&str>,
    messages: &[ChatMessage],
) -> String {
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
    let backend = reflect::engine::llama_backend().expect("llama.cpp backend");
    let params = LlamaModelParams::default().with_vocab_only(true);
    let model = LlamaModel::load_from_file(backend, path, &params).expect("load");
    let t = match template {
        Some(name) => LlamaChatTemplate::new(name).unwrap(),
        None => model.chat_template(None).expect("own template"),
    };
    let msgs: Vec<_> = messages
        .iter()
        .map(|m| LlamaChatMessage::new(m.role.as_str().into(), m.content.clone()).unwrap())
        .collect();
    let bos = model
        .vocab()
        .token_to_piece(model.vocab().bos(), true, None);
    let mut out = String::from_utf8_lossy(&bos).into_owned();
    out.push_str(&model.apply_chat_template(&t, &msgs, true).unwrap());
    out
}

#[test]
fn prompts_without_tools_render_exactly_as_before_for_every_template_shape() {
    use reflect::gguf::{ChatTokens, TemplateStyle};
    let shaped = |chat: ChatTokens, arch: &str, style: TemplateStyle| {
        let mut sm = ScriptedModel::new(reflection_script());
        sm.chat_tokens = chat;
        sm.architecture = arch.into();
        sm.template = style;
        sm
    };
    // (model, the template llama.cpp renders it with: None = its own, "plain" = reflect's)
    let cases: Vec<(&str, ScriptedModel, Option<&str>)> = vec![
        (
            "llama3 own",
            shaped(ChatTokens::Llama3, "llama", TemplateStyle::Llama3),
            None,
        ),
        (
            "llama3 fallback",
            shaped(ChatTokens::Llama3, "llama", TemplateStyle::Missing),
            Some("llama3"),
        ),
        (
            "unrecognised",
            shaped(ChatTokens::Llama3, "llama", TemplateStyle::Unrecognised),
            Some("llama3"),
        ),
        (
            "chatml",
            shaped(ChatTokens::ChatMl, "llama", TemplateStyle::Missing),
            Some("chatml"),
        ),
        (
            "gemma",
            shaped(ChatTokens::Gemma, "gemma", TemplateStyle::Missing),
            Some("gemma"),
        ),
        (
            "plain",
            shaped(ChatTokens::Bare, "llama", TemplateStyle::Missing),
            Some("plain"),
        ),
        (
            "agent llama3",
            agent::model(Format::Llama3Json, Script::Answer(Call::read_file("a"))),
            None,
        ),
        (
            "agent hermes",
            agent::model(Format::Hermes, Script::Answer(Call::read_file("a"))),
            None,
        ),
        (
            "agent mistral",
            agent::model(Format::Mistral, Script::Answer(Call::read_file("a"))),
            None,
        ),
    ];
    let mut conversation = question();
    conversation.extend([
        ChatMessage::new(Role::Assistant, "It says hi."),
        ChatMessage::new(Role::User, "And now?"),
    ]);
    for (name, sm, template) in cases {
        let m = write(sm);
        let (engine, mut events, _) = start(&m, true);
        let without = rendered(
            &engine,
            &mut events,
            request(1, conversation.clone(), Vec::new()),
        );
        let before = match template {
            Some("plain") => format!("<s>{}", reflect::engine::llama::render_plain(&conversation)),
            _ => llama_cpp_prompt(&m.path, template, &conversation),
        };
        assert_eq!(without, before, "{name}");
        let with = rendered(
            &engine,
            &mut events,
            request(2, conversation.clone(), tools()),
        );
        assert!(
            with.contains("read_file") && with != without,
            "{name}: with tools, the tools prompt: {with}"
        );
    }
}

#[test]
fn the_thinking_budget_applies_to_each_step_on_its_own() {
    // A budget larger than one step's thinking but smaller than two steps' together: neither
    // step is cut, and each step's report counts its own thinking only.
    let m = agent_model(
        Format::Llama3Json,
        Script::Answer(Call::read_file("notes.txt")),
    );
    let (engine, mut events, _) = start(&m, false);
    let budgeted = |id, messages| {
        let mut r = request(id, messages, tools());
        r.budget.limit = Some(8);
        r
    };
    let first = generate(&engine, &mut events, budgeted(1, question()));
    let mut turn = Turn::queued("What is in notes.txt?");
    let calls = turn.step_done(&first.done);
    turn.call_result(&calls[0].id, CallStatus::Done, "hello", 3);
    let mut messages = question();
    messages.extend(turn.exchange.iter().cloned());
    let second = generate(&engine, &mut events, budgeted(2, messages));
    let (b1, b2) = (
        first.done.budget.clone().expect("watched"),
        second.done.budget.clone().expect("watched"),
    );
    assert_eq!(b1.used, first.done.usage.thinking_tokens, "{b1:?}");
    assert_eq!(b2.used, second.done.usage.thinking_tokens, "{b2:?}");
    assert!(
        b1.used + b2.used > 8,
        "together they pass the budget: {b1:?} {b2:?}"
    );
    assert!(
        b1.forced_by.is_none() && b2.forced_by.is_none(),
        "{b1:?} {b2:?}"
    );
    assert_eq!(second.output, agent::ANSWER);
}

#[test]
fn a_tool_template_that_opens_the_thinking_is_not_the_models_raw_text_alone_or_batched() {
    let mut sm = ScriptedModel::new(reflection_script());
    sm.chat_tokens = reflect::gguf::ChatTokens::ChatMl;
    sm.template = reflect::gguf::TemplateStyle::Missing;
    let m = write(sm);
    // Hermes' template with the assistant's turn opened inside the thinking (as QwQ's is).
    let file = m.dir.path().join("opens-thinking.jinja");
    let template = agent::template(reflect::jinja::Family::Hermes);
    std::fs::write(&file, format!("{template}<thinking>\n")).unwrap();
    let (engine, mut events, _) = start_with(LlamaConfig {
        chat_template: Some(file.to_string_lossy().into_owned()),
        ..config(&m, false)
    });
    let raw = |id| GenerateRequest {
        raw: true,
        ..request(id, question(), tools())
    };
    let prompt = rendered(&engine, &mut events, raw(1));
    assert!(prompt.trim_end().ends_with("<thinking>"), "{prompt}");
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
    // The prompt's tag is routed (the model starts in its thinking) but is not the model's
    // text: the raw text is what the model wrote, alone and in the slots alike.
    for (text, done) in alone.iter().chain(&batched) {
        assert_eq!(text, &done.text, "generation {}", done.id);
        assert_eq!(text, &alone[0].0, "generation {}", done.id);
    }
}
