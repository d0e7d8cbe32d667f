//! The engine: owns llama.cpp on a dedicated thread. Front ends send it commands (generate,
//! cancel, render a prompt) and receive events (load progress, routed text, completion).
//!
//! The stream router runs here, on the engine thread, so that the engine can stop right after
//! `</output>` and count tokens per channel; front ends receive text already split by channel.

mod generate;
mod logs;
mod memo;
mod sampler;
mod sampling;
mod state;
mod template;
mod utf8;
mod worker;

pub use sampling::SamplingSettings;
pub use template::{render_llama3, ChatMessage, Role};
pub use utf8::Utf8Decoder;

use crate::stream::{Anomaly, Channel, RouterConfig, Summary, TagSet};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// llama.cpp's process-wide backend, started on first use with its logs sent to tracing. For
/// code that drives llama.cpp beside the engine in the same process (the tests' independent
/// reference decoder): llama.cpp can be started only once per process.
pub fn llama_backend() -> Result<&'static llama_cpp_2::llama_backend::LlamaBackend, String> {
    worker::backend()
}

/// How many layers to put on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuLayers {
    All,
    Count(u32),
}

impl GpuLayers {
    /// The default: all layers when a GPU back end is compiled in, none otherwise.
    pub fn default_for_build() -> Self {
        if gpu_backend().is_some() {
            GpuLayers::All
        } else {
            GpuLayers::Count(0)
        }
    }
}

/// The GPU back end this binary was built with, if any.
pub fn gpu_backend() -> Option<&'static str> {
    if cfg!(feature = "cuda") {
        Some("CUDA")
    } else if cfg!(feature = "vulkan") {
        Some("Vulkan")
    } else if cfg!(feature = "metal") {
        Some("Metal")
    } else {
        None
    }
}

/// Everything needed to load a model.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub model_path: PathBuf,
    pub gpu_layers: GpuLayers,
    /// Context size; default: the smaller of 8192 and the model's training context.
    pub ctx_size: Option<u32>,
    /// Threads; default: the number of physical cores.
    pub threads: Option<u32>,
    pub batch_size: Option<u32>,
    /// Tags whose single special tokens are recognised by id.
    pub tags: TagSet,
}

/// One generation.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    pub id: u64,
    pub messages: Vec<ChatMessage>,
    pub sampling: SamplingSettings,
    pub max_tokens: Option<u32>,
    pub router: RouterConfig,
}

pub enum Command {
    Generate(GenerateRequest),
    /// Render the prompt for these messages exactly as it would be sent; answered by `Prompt`.
    RenderPrompt(Vec<ChatMessage>),
    /// Keep the KV cache in this llama.cpp state file (`None`: stop): restored before the next
    /// generation when the cache is empty, written after each generation. A file that does not
    /// match the model or context is ignored (and the cache cleared).
    StateFile(Option<PathBuf>),
    Shutdown,
}

/// What the loaded model is.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    pub parameters: u64,
    pub size_bytes: u64,
    pub context_size: u32,
    pub context_train: u32,
    pub layers: u32,
    pub layers_offloaded: u32,
    pub backend: String,
    pub threads: u32,
    pub batch_size: u32,
    /// Tags recognised as single special tokens.
    pub tag_tokens: Vec<String>,
    pub load_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfTurn,
    OutputClosed,
    MaxTokens,
    Cancelled,
    ContextFull,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndOfTurn => "end_of_turn",
            StopReason::OutputClosed => "output_closed",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Cancelled => "cancelled",
            StopReason::ContextFull => "context_full",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub prompt_tokens_evaluated: u32,
    pub completion_tokens: u32,
    pub thinking_tokens: u32,
    pub reflection_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timings {
    pub load_ms: u64,
    pub prompt_ms: u64,
    pub first_token_ms: u64,
    pub generation_ms: u64,
    pub tokens_per_second: f64,
}

/// The end of a generation.
#[derive(Clone, Debug)]
pub struct Completion {
    pub id: u64,
    pub stop_reason: StopReason,
    pub summary: Summary,
    pub usage: Usage,
    pub timings: Timings,
    /// Everything generated, as the model wrote it: tags spelled out, the end-of-turn token
    /// left out. A conversation that shows earlier turns whole sends this back.
    pub text: String,
}

/// Why the engine could not do what it was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("the prompt is {prompt_tokens} tokens but the context holds {n_ctx}; shorten the prompt or raise --ctx-size")]
    PromptTooLong { prompt_tokens: u32, n_ctx: u32 },
    /// Found before tokenizing: even at the vocabulary's longest token this many bytes need
    /// more tokens than the context holds.
    #[error("the message is {bytes} bytes, at least {at_least} tokens, but the context holds {n_ctx}; shorten it or raise --ctx-size")]
    MessageTooLong {
        bytes: u64,
        at_least: u64,
        n_ctx: u32,
    },
    #[error("decoding failed: {0}")]
    Decode(String),
    #[error("the engine stopped unexpectedly")]
    Gone,
}

pub enum EngineEvent {
    /// Loading progress, 0.0 to 1.0, from llama.cpp's own callback.
    LoadProgress(f32),
    Loaded(Box<ModelInfo>),
    /// Something the user should know that does not stop the work (e.g. template fallback).
    Warning(String),
    /// Answer to `Command::RenderPrompt`.
    Prompt(String),
    /// The prompt was decoded; generation begins.
    PromptProcessed {
        id: u64,
        prompt_tokens: u32,
        evaluated: u32,
    },
    Text {
        id: u64,
        channel: Channel,
        text: String,
    },
    ReflectionStart {
        id: u64,
        n: usize,
    },
    ReflectionEnd {
        id: u64,
        n: usize,
    },
    Anomaly {
        id: u64,
        anomaly: Anomaly,
    },
    Done(Box<Completion>),
    Error(EngineError),
}

/// Where the engine's events go: a channel ([`Engine::start`]), or a function of the front
/// end's ([`Engine::start_with`]) that puts them straight into its own message channel, so that
/// each token crosses one channel and wakes one thread.
#[derive(Clone)]
pub struct EventSender(Arc<dyn Fn(EngineEvent) -> bool + Send + Sync>);

impl EventSender {
    /// Delivers an event; `false` when nobody listens any more.
    pub fn send(&self, event: EngineEvent) -> bool {
        (self.0)(event)
    }
}

/// The front ends' side of the engine.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    /// Generations with an id up to this value are cancelled.
    cancel_upto: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine thread, which loads the model at once and then waits for commands.
    pub fn start(config: EngineConfig) -> (Engine, UnboundedReceiver<EngineEvent>) {
        let (tx, rx) = unbounded_channel();
        let engine = Engine::start_with(config, move |e| tx.send(e).is_ok());
        (engine, rx)
    }

    /// Like [`Engine::start`], but each event is handed to `deliver` on the engine thread
    /// (which returns `false` once nobody listens). It must not block.
    pub fn start_with(
        config: EngineConfig,
        deliver: impl Fn(EngineEvent) -> bool + Send + Sync + 'static,
    ) -> Engine {
        let events = EventSender(Arc::new(deliver));
        let (commands, command_rx) = mpsc::channel();
        let cancel_upto = Arc::new(AtomicU64::new(0));
        let cancel = cancel_upto.clone();
        let thread = std::thread::Builder::new()
            .name("reflect-engine".into())
            .spawn(move || worker::run(config, command_rx, events, cancel))
            .ok();
        Engine {
            commands,
            cancel_upto,
            thread,
        }
    }

    pub fn send(&self, command: Command) -> Result<(), EngineError> {
        self.commands.send(command).map_err(|_| EngineError::Gone)
    }

    /// Cancels generation `id` (and any earlier one); takes effect between two decode calls.
    pub fn cancel(&self, id: u64) {
        self.cancel_upto.fetch_max(id, Ordering::SeqCst);
    }

    /// A handle that can cancel from another thread (e.g. a signal handler thread).
    pub fn canceller(&self) -> Canceller {
        Canceller(self.cancel_upto.clone())
    }
}

/// Cancels generations from anywhere.
#[derive(Clone)]
pub struct Canceller(Arc<AtomicU64>);

impl Canceller {
    pub fn cancel(&self, id: u64) {
        self.0.fetch_max(id, Ordering::SeqCst);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel_upto.store(u64::MAX, Ordering::SeqCst);
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
