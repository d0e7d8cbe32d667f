//! The engine: one backend on a thread of its own, behind the commands and events of
//! [`crate::llm`]. Front ends start it with a [`BackendConfig`] (llama.cpp in this process, or
//! an OpenAI-compatible server), send it commands and receive routed text; which backend runs
//! is decided once, here.
//!
//! The stream router runs on the engine thread ([`crate::llm::Generation`]), so that the engine
//! can stop right after `</output>` and count tokens per channel; front ends receive text
//! already split by channel.

pub mod llama;
pub mod openai;

pub use llama::{gpu_backend, llama_backend, DraftModel, GpuLayers, LlamaConfig, Speculation};
pub use openai::{ApiKey, Price, RemoteConfig};

use crate::llm::{Command, EngineError, EngineEvent, EventSender};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Which backend serves the front end.
#[derive(Clone, Debug)]
pub enum BackendConfig {
    /// A GGUF file, loaded by llama.cpp in this process.
    Llama(LlamaConfig),
    /// An OpenAI-compatible server (vLLM, llama-server, Ollama, a hosted API).
    Remote(RemoteConfig),
}

impl BackendConfig {
    /// The local model file, for a llama.cpp backend.
    pub fn model_path(&self) -> Option<&std::path::Path> {
        match self {
            BackendConfig::Llama(c) => Some(&c.model_path),
            BackendConfig::Remote(_) => None,
        }
    }

    /// The llama.cpp settings, for a llama.cpp backend.
    pub fn llama(&self) -> Option<&LlamaConfig> {
        match self {
            BackendConfig::Llama(c) => Some(c),
            BackendConfig::Remote(_) => None,
        }
    }

    /// The endpoint as a session records it: its config name, else its URL (without any
    /// credentials in it). `None` for llama.cpp.
    pub fn endpoint(&self) -> Option<String> {
        match self {
            BackendConfig::Llama(_) => None,
            BackendConfig::Remote(r) => Some(r.name.clone().unwrap_or_else(|| r.public_url())),
        }
    }

    /// A name for the model before it has loaded: the file's stem, or the model id asked for.
    pub fn display_name(&self) -> String {
        match self {
            BackendConfig::Llama(c) => c
                .model_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            BackendConfig::Remote(r) => r.model.clone().unwrap_or_else(|| r.label()),
        }
    }

    /// The tags whose single special tokens the backend recognises (or warns about).
    pub fn set_tags(&mut self, tags: crate::stream::TagSet) {
        match self {
            BackendConfig::Llama(c) => c.tags = tags,
            BackendConfig::Remote(r) => r.tags = tags,
        }
    }
}

/// The front ends' side of the engine.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    /// Generations with an id up to this value are cancelled.
    cancel_upto: Arc<AtomicU64>,
    /// Generations with an id up to this value end their thinking now ("answer now").
    answer_now_upto: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine thread, which loads the model (or reaches the server) at once and then
    /// waits for commands.
    pub fn start(config: impl Into<BackendConfig>) -> (Engine, UnboundedReceiver<EngineEvent>) {
        let (tx, rx) = unbounded_channel();
        let engine = Engine::start_with(config, move |e| tx.send(e).is_ok());
        (engine, rx)
    }

    /// Like [`Engine::start`], but each event is handed to `deliver` on the engine thread
    /// (which returns `false` once nobody listens). It must not block.
    pub fn start_with(
        config: impl Into<BackendConfig>,
        deliver: impl Fn(EngineEvent) -> bool + Send + Sync + 'static,
    ) -> Engine {
        let config = config.into();
        let events = EventSender::new(deliver);
        let (commands, command_rx) = mpsc::channel();
        let cancel_upto = Arc::new(AtomicU64::new(0));
        let cancel = cancel_upto.clone();
        let answer_now_upto = Arc::new(AtomicU64::new(0));
        let answer_now = answer_now_upto.clone();
        let thread = std::thread::Builder::new()
            .name("reflect-engine".into())
            .spawn(move || match config {
                BackendConfig::Llama(c) => llama::run(c, command_rx, events, cancel, answer_now),
                BackendConfig::Remote(c) => openai::run(c, command_rx, events, cancel, answer_now),
            })
            .ok();
        Engine {
            commands,
            cancel_upto,
            answer_now_upto,
            thread,
        }
    }

    pub fn send(&self, command: Command) -> Result<(), EngineError> {
        self.commands.send(command).map_err(|_| EngineError::Gone)
    }

    /// Cancels generation `id` (and any earlier one); takes effect between two tokens.
    pub fn cancel(&self, id: u64) {
        self.cancel_upto.fetch_max(id, Ordering::SeqCst);
    }

    /// Asks generation `id` to end its thinking and answer, at the next token (llama.cpp forces
    /// the end into its cache; a server's stream is closed and continued).
    pub fn answer_now(&self, id: u64) {
        self.answer_now_upto.fetch_max(id, Ordering::SeqCst);
    }

    /// A handle that can cancel from another thread (e.g. a signal handler thread).
    pub fn canceller(&self) -> Canceller {
        Canceller(self.cancel_upto.clone())
    }
}

impl From<LlamaConfig> for BackendConfig {
    fn from(c: LlamaConfig) -> Self {
        BackendConfig::Llama(c)
    }
}

impl From<RemoteConfig> for BackendConfig {
    fn from(c: RemoteConfig) -> Self {
        BackendConfig::Remote(c)
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
