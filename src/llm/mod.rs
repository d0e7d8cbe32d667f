//! The backend-neutral vocabulary between front ends and backends: messages, the request,
//! commands, events, the completion with its usage and timings, and what the model is. The
//! llama.cpp engine and the HTTP client both speak it (`engine::Engine` starts either), and
//! both send their text through one path ([`Generation`]) to the router, the events and the
//! per-channel counts. Nothing here names llama.cpp.

pub mod budget;
mod generation;
mod message;
mod sampling;
mod utf8;

pub use budget::{BudgetReport, BudgetSettings, BudgetStep, ForcedBy};
pub use generation::Generation;
pub use message::{drop_oldest_turn, ChatMessage, Role};
pub use sampling::{SamplingOverrides, SamplingSettings};
pub use utf8::Utf8Decoder;

use crate::stream::{Anomaly, Channel, RouterConfig, Summary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// One generation.
#[derive(Clone, Debug, Default)]
pub struct GenerateRequest {
    pub id: u64,
    pub messages: Vec<ChatMessage>,
    pub sampling: SamplingSettings,
    pub max_tokens: Option<u32>,
    pub router: RouterConfig,
    /// How much the model may think, and how little.
    pub budget: BudgetSettings,
    /// The tools offered, in the OpenAI function shape (`{"type": "function", "function":
    /// {name, description, parameters}}`); empty: none. With tools, the answer channel is read
    /// for calls ([`Completion::calls`]) in the model's own format.
    pub tools: Vec<serde_json::Value>,
}

// One command a generation: boxing the request would save nothing worth an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    Generate(GenerateRequest),
    /// llama.cpp only: these generations, `at_once` at a time, as sequences of one context
    /// decoded in one batch (`reflect eval --parallel`), each with its own sampler seeded as
    /// alone. Each sends its events under its own id and ends with its `Done` (`Cancelled`
    /// for one cancelled before it started); an `Error` ends them all. Thinking budgets are not
    /// supported here. Other backends answer with [`EngineError::Unsupported`].
    GenerateMany {
        requests: Vec<GenerateRequest>,
        at_once: u32,
    },
    /// Render the prompt for this request (its messages, and its tools when it offers some)
    /// exactly as it would be sent; answered by `Prompt`.
    RenderPrompt(GenerateRequest),
    /// llama.cpp only: keep the KV cache in this state file (`None`: stop): restored before the
    /// next generation when the cache is empty, written after each generation. A file that does
    /// not match the model or context is ignored (and the cache cleared). Other backends answer
    /// with [`EngineError::Unsupported`].
    StateFile(Option<PathBuf>),
    /// llama.cpp only (`reflect serve`): run the jobs that arrive on `jobs`, up to `slots` at
    /// once, until the channel closes; the engine takes no other command meanwhile. Each job's
    /// events go to its own sender and end with its `Done` or `Error`. Other backends answer
    /// with [`EngineError::Unsupported`].
    Serve {
        slots: u32,
        jobs: std::sync::mpsc::Receiver<ServeJob>,
    },
    Shutdown,
}

/// One request of `Command::Serve`.
pub struct ServeJob {
    pub request: GenerateRequest,
    /// Cancels the job when set to its request id or above (`u64::MAX`): the client left.
    pub cancel: Arc<std::sync::atomic::AtomicU64>,
    /// Where this job's events go; the last is its `Done` or `Error`.
    pub events: EventSender,
}

impl std::fmt::Debug for ServeJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeJob")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// What the model is and where it runs.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    pub name: String,
    /// Where it runs: "CPU", "CUDA", … for llama.cpp; the endpoint's name or host for a server.
    pub backend: String,
    /// The context size in tokens; 0 when the server does not say.
    pub context_size: u32,
    /// Tags recognised as single special tokens.
    pub tag_tokens: Vec<String>,
    pub load_ms: u64,
    /// Facts only a model loaded in this process has.
    pub local: Option<LocalModel>,
}

/// A model file loaded by llama.cpp in this process.
#[derive(Clone, Debug, Serialize)]
pub struct LocalModel {
    pub path: PathBuf,
    pub parameters: u64,
    pub size_bytes: u64,
    pub context_train: u32,
    pub layers: u32,
    pub layers_offloaded: u32,
    pub threads: u32,
    pub batch_size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfTurn,
    OutputClosed,
    MaxTokens,
    Cancelled,
    ContextFull,
    /// The server's stream ended before the answer did (connection lost, server gone): what
    /// came is kept.
    StreamCut,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndOfTurn => "end_of_turn",
            StopReason::OutputClosed => "output_closed",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Cancelled => "cancelled",
            StopReason::ContextFull => "context_full",
            StopReason::StreamCut => "stream_cut",
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
    /// The per-channel counts are estimates (a server without a tokenizer at hand), not exact.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// `prompt_tokens` is an estimate (the stream was closed before the server's usage came).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prompt_estimated: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timings {
    pub load_ms: u64,
    pub prompt_ms: u64,
    pub first_token_ms: u64,
    pub generation_ms: u64,
    pub tokens_per_second: f64,
    /// Speculative decoding only: the tokens drafted, and how many of them the model accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft_accepted: Option<u32>,
}

impl Timings {
    /// With speculative decoding: the share of drafted tokens the model accepted (0 to 1;
    /// 0 when nothing was drafted).
    pub fn acceptance(&self) -> Option<f64> {
        let drafted = self.draft_tokens?;
        let accepted = self.draft_accepted.unwrap_or(0);
        Some(if drafted == 0 {
            0.0
        } else {
            f64::from(accepted) / f64::from(drafted)
        })
    }

    /// With speculative decoding, the line `--show-thinking` ends with.
    pub fn speculation_line(&self) -> Option<String> {
        let share = self.acceptance()?;
        Some(format!(
            "speculation: {} of {} drafted tokens accepted ({:.0}%)",
            self.draft_accepted.unwrap_or(0),
            self.draft_tokens.unwrap_or(0),
            share * 100.0
        ))
    }
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
    /// What this generation cost in USD, for a server with prices (its own figure when it
    /// reports one).
    pub cost: Option<f64>,
    /// The seed the draw used (the one asked for, or the one chosen); `None` when greedy or
    /// unknown (a server without a seed asked for).
    pub seed: Option<u32>,
    /// What the thinking spent, when a budget or minimum was set or thinking was cut short.
    pub budget: Option<BudgetReport>,
    /// The calls the answer made (tools were offered), each with its id: the turn goes on
    /// once their results are sent back. Calls written in the thinking are never here.
    pub calls: Vec<crate::tools::ToolCall>,
    /// Answer text plainly meant as a call that could not be read, and why: the model is told.
    pub malformed: Vec<String>,
}

/// Why the engine could not do what it was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {message}")]
    Load { path: PathBuf, message: String },
    /// The draft model cannot draft for the model (another vocabulary): the user's to fix.
    #[error("{path}: {message}")]
    Draft { path: PathBuf, message: String },
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
    /// A command this backend cannot carry out (e.g. a KV state file on a server).
    #[error("{0}")]
    Unsupported(String),
    /// A server could not be reached or refused the request.
    #[error("{endpoint}: {message}")]
    Remote {
        endpoint: String,
        kind: RemoteErrorKind,
        message: String,
    },
    #[error("the engine stopped unexpectedly")]
    Gone,
}

/// What went wrong with a server, for the exit code: the user's to fix (2) or not (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteErrorKind {
    /// Connection refused, unknown host, TLS, timeouts.
    Connect,
    /// 401 / 403: the API key.
    Auth,
    /// No such model (404), or several to choose from.
    Model,
    /// The prompt does not fit the server's context.
    ContextExceeded,
    /// 429 after the retries.
    RateLimited,
    /// 5xx, or an error object in the stream.
    Server,
    /// Another 4xx: the request itself.
    Request,
    /// Not the protocol: malformed JSON, a missing field.
    Protocol,
}

impl RemoteErrorKind {
    /// Whether the user's input or configuration is at fault (exit code 2).
    pub fn is_usage(self) -> bool {
        matches!(
            self,
            RemoteErrorKind::Auth
                | RemoteErrorKind::Model
                | RemoteErrorKind::ContextExceeded
                | RemoteErrorKind::Request
        )
    }
}

/// The exit code and message an engine error ends a pipe or eval run with: a prompt too long
/// for the context and a server refusing the user's input or configuration are usage errors
/// (2); the rest, runtime errors (1).
impl From<EngineError> for crate::exit::Failure {
    fn from(e: EngineError) -> Self {
        use crate::exit::Failure;
        match e {
            EngineError::PromptTooLong { .. } | EngineError::MessageTooLong { .. } => {
                Failure::usage(e.to_string())
            }
            EngineError::Load { .. } => Failure::runtime(format!("cannot load the model: {e}")),
            EngineError::Draft { .. } => Failure::usage(format!("cannot use the draft model: {e}")),
            EngineError::Remote { kind, .. } if kind.is_usage() => Failure::usage(e.to_string()),
            _ => Failure::runtime(e.to_string()),
        }
    }
}

pub enum EngineEvent {
    /// Loading progress, 0.0 to 1.0, from llama.cpp's own callback.
    LoadProgress(f32),
    Loaded(Box<ModelInfo>),
    /// Something the user should know that does not stop the work (e.g. template fallback).
    Warning(String),
    /// Answer to `Command::RenderPrompt`.
    Prompt(String),
    /// Prompt decoding progress: `done` of the `total` tokens that had to be decoded (the
    /// rest came from the cache). Sent after each micro-batch of a prompt longer than one.
    PromptProgress {
        id: u64,
        done: u32,
        total: u32,
    },
    /// The thinking budget moved (sent only while one is watched): what is spent, and what was
    /// just done about it.
    Budget {
        id: u64,
        report: BudgetReport,
        step: Option<BudgetStep>,
    },
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

/// A cost in USD as people read it: cents for a cent or more, else enough digits to see it.
pub fn format_usd(c: f64) -> String {
    if c >= 0.01 {
        format!("${c:.2}")
    } else if c > 0.0 {
        format!("${c:.5}")
    } else {
        "$0".to_string()
    }
}

/// Where a backend's events go: a channel, or a function of the front end's that puts them
/// straight into its own message channel, so that each token crosses one channel and wakes one
/// thread.
#[derive(Clone)]
pub struct EventSender(Arc<dyn Fn(EngineEvent) -> bool + Send + Sync>);

impl EventSender {
    pub fn new(deliver: impl Fn(EngineEvent) -> bool + Send + Sync + 'static) -> Self {
        EventSender(Arc::new(deliver))
    }

    /// Delivers an event; `false` when nobody listens any more.
    pub fn send(&self, event: EngineEvent) -> bool {
        (self.0)(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{code, Failure};

    #[test]
    fn engine_errors_map_to_the_documented_exit_codes() {
        let remote = |kind| EngineError::Remote {
            endpoint: "http://h".into(),
            kind,
            message: "no".into(),
        };
        let table = [
            (
                EngineError::PromptTooLong {
                    prompt_tokens: 9,
                    n_ctx: 4,
                },
                code::USAGE,
            ),
            (
                EngineError::MessageTooLong {
                    bytes: 9,
                    at_least: 9,
                    n_ctx: 4,
                },
                code::USAGE,
            ),
            (remote(RemoteErrorKind::Auth), code::USAGE),
            (remote(RemoteErrorKind::Connect), code::RUNTIME),
            (EngineError::Decode("x".into()), code::RUNTIME),
            (EngineError::Gone, code::RUNTIME),
        ];
        for (e, want) in table {
            let shown = e.to_string();
            let f = Failure::from(e);
            assert_eq!((f.code, f.message.as_str()), (want, shown.as_str()));
        }
        let load = Failure::from(EngineError::Load {
            path: "m.gguf".into(),
            message: "bad magic".into(),
        });
        assert_eq!(load.code, code::RUNTIME);
        assert_eq!(load.message, "cannot load the model: m.gguf: bad magic");
        let draft = Failure::from(EngineError::Draft {
            path: "d.gguf".into(),
            message: "its vocabulary differs".into(),
        });
        assert_eq!(
            draft.code,
            code::USAGE,
            "another vocabulary is the user's to fix"
        );
        assert_eq!(
            draft.message,
            "cannot use the draft model: d.gguf: its vocabulary differs"
        );
    }
}
