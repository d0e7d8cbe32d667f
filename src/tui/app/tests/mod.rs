//! Reducer tests: messages in, state and effects out. Shared fixtures live here.

pub(crate) mod budget;
mod download;
mod keys;
mod redo;
mod scroll;
mod send;
mod session;
mod slash;
mod stream;
pub(crate) mod tools;

use crate::engine::{GpuLayers, LlamaConfig};
use crate::llm::{
    Command, Completion, EngineEvent, GenerateRequest, ModelInfo, SamplingSettings, StopReason,
    Timings, Usage,
};
use crate::profile::{History, Profile};
use crate::settings::RunSettings;
use crate::stream::{Channel, Summary};
use crate::theme::{self, Theme};
use crate::tui::app::{App, AppInit};
use crate::tui::msg::{Effect, Msg};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The reflection profile's settings, on a made-up model path.
pub(crate) fn settings() -> RunSettings {
    let p = Profile::builtin();
    RunSettings {
        engine: LlamaConfig {
            model_path: "/models/Reflection-Llama-3.1-70B.Q4_K_M.gguf".into(),
            gpu_layers: GpuLayers::All,
            ctx_size: None,
            threads: None,
            batch_size: None,
            tags: p.tags.clone(),
            vocab_only: false,
            checked: None,
            chat_template: None,
            speculation: Default::default(),
        }
        .into(),
        sampling: SamplingSettings::default(),
        router: p.router(),
        max_tokens: None,
        system: p.system.clone(),
        think_carefully: true,
        profile: p.name.clone(),
        history: History::Answer,
        overrides: p.sampling.clone(),
        budget: Default::default(),
        tools: Default::default(),
    }
}

pub(crate) fn dark() -> Theme {
    theme::load_spec(&theme::catalog(None), "dark", None).expect("the bundled dark theme")
}

pub(crate) fn init(width: u16, height: u16) -> AppInit {
    AppInit {
        settings: settings(),
        theme: dark(),
        theme_name: "dark".into(),
        startup_error: None,
        size: (width, height),
        prompt_history: Vec::new(),
    }
}

pub(crate) fn app_sized(width: u16, height: u16) -> App {
    App::new(init(width, height))
}

/// A 100×30 app, still loading.
pub(crate) fn app() -> App {
    app_sized(100, 30)
}

pub(crate) fn model_info() -> ModelInfo {
    ModelInfo {
        name: "Reflection Llama 3.1 70B".into(),
        backend: "CUDA".into(),
        context_size: 8192,
        tag_tokens: vec![],
        load_ms: 2100,
        local: Some(crate::llm::LocalModel {
            path: "/models/Reflection-Llama-3.1-70B.Q4_K_M.gguf".into(),
            parameters: 70_000_000_000,
            size_bytes: 42_000_000_000,
            context_train: 131072,
            layers: 80,
            layers_offloaded: 81,
            threads: 16,
            batch_size: 2048,
        }),
    }
}

pub(crate) fn loaded_msg() -> Msg {
    Msg::Engine(EngineEvent::Loaded(Box::new(model_info())))
}

/// A 100×30 app with its model loaded.
pub(crate) fn loaded() -> App {
    let mut a = app();
    a.update(loaded_msg());
    a.mark_drawn();
    a
}

pub(crate) fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(crate) fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub(crate) fn alt(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::ALT))
}

/// Types `s` into the input, key by key.
pub(crate) fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// Types `s` and presses Enter; returns the effects of Enter.
/// Types `s` and presses Enter; the effects, less the `RememberPrompt` every sent line asks
/// for (tested on its own in `send.rs`).
pub(crate) fn send(app: &mut App, s: &str) -> Vec<Effect> {
    type_text(app, s);
    app.update(key(KeyCode::Enter))
        .into_iter()
        .filter(|e| !matches!(e, Effect::RememberPrompt(_)))
        .collect()
}

pub(crate) fn text(id: u64, channel: Channel, s: &str) -> Msg {
    Msg::Engine(EngineEvent::Text {
        id,
        channel,
        text: s.into(),
    })
}

pub(crate) fn reflection(id: u64, n: usize, start: bool) -> Msg {
    Msg::Engine(if start {
        EngineEvent::ReflectionStart { id, n }
    } else {
        EngineEvent::ReflectionEnd { id, n }
    })
}

pub(crate) fn done(id: u64, stop: StopReason) -> Msg {
    Msg::Engine(EngineEvent::Done(Box::new(Completion {
        id,
        stop_reason: stop,
        summary: Summary::default(),
        usage: Usage {
            prompt_tokens: 100,
            prompt_tokens_evaluated: 100,
            completion_tokens: 50,
            ..Usage::default()
        },
        timings: Timings {
            generation_ms: 2500,
            tokens_per_second: 20.0,
            ..Timings::default()
        },
        text: String::new(),
        cost: None,
        seed: None,
        budget: None,
        calls: Vec::new(),
        malformed: Vec::new(),
    })))
}

/// The Generate request among `effects`, if any.
pub(crate) fn generate(effects: &[Effect]) -> Option<&GenerateRequest> {
    effects.iter().find_map(|e| match e {
        Effect::Engine(Command::Generate(r)) => Some(r),
        _ => None,
    })
}

/// A loaded app that streamed a turn with a reflection and is still answering (id 1).
pub(crate) fn mid_stream() -> App {
    let mut a = loaded();
    send(&mut a, "How many r's are in strawberry?");
    a.update(Msg::Engine(EngineEvent::PromptProcessed {
        id: 1,
        prompt_tokens: 97,
        evaluated: 97,
    }));
    a.update(text(
        1,
        Channel::Thinking,
        "Let me count the letters: s-t-r-a-w-b-e-r-r-y. I see two r's.",
    ));
    a.update(reflection(1, 1, true));
    a.update(text(
        1,
        Channel::Reflection,
        "Wait, I missed one: r appears in \"str\" and twice in \"rry\".",
    ));
    a.update(reflection(1, 1, false));
    a.update(text(1, Channel::Thinking, "So there are three r's."));
    a.update(text(
        1,
        Channel::Output,
        "There are **three** r's in *strawberry*:\n\n- s**t**r\n- be**rr**y",
    ));
    a
}

#[test]
fn the_app_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<App>();
}
