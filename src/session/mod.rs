//! Saved conversations: every finished turn is written to `<data dir>/sessions/<id>.json`, so
//! that a chat can be resumed, continued from a script, listed and exported.
//!
//! The file format ([`Session`], version 1) is separate from the chat's live [`Turn`] so that it
//! can stay stable while the chat's state changes (fields added since, such as each turn's
//! model, are optional: older files read as they are); `store` reads and writes files (atomic,
//! owner-only), `export` writes Markdown and JSON, `kv` names the llama.cpp state files that let
//! a continued session skip re-reading its earlier turns.

pub mod age;
mod export;
mod follow;
pub mod kv;
mod listing;
mod store;
#[cfg(test)]
mod tests;

pub use crate::conversation::AnsweredBy;
pub use export::{markdown, ExportFormat};
pub use follow::use_session_model;
pub use listing::listing;
pub use store::{Listed, Pruned, SessionError, Store};

use crate::conversation::{Reflection, ThinkingPart, Turn, TurnState};
use crate::llm::{StopReason, Timings, Usage};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::SystemTime;

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// One saved conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub version: u32,
    /// Also the file name (`<id>.json`); the file name wins when they differ.
    pub id: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub updated: String,
    /// The model's name when the session was last saved: the one that answered last, and the
    /// one a follow-up uses unless told otherwise (each turn names its own in `turns`).
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
    /// The server it ran on: an endpoint's config name or its URL (never a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub profile: String,
    pub turns: Vec<SavedTurn>,
}

/// One question and its answer, as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTurn {
    /// As typed.
    pub prompt: String,
    /// As sent to the model ("Think carefully." applied); the prompt when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sent: String,
    /// The thinking flow: `{"text": …}` pieces and `{"reflection": n}` markers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thinking: Vec<ThinkingPart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reflections: Vec<SavedReflection>,
    #[serde(default)]
    pub answer: String,
    pub state: SavedState,
    /// Why a failed turn failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// USD, on an endpoint with prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// What the thinking spent against its budget, when one was watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::llm::BudgetReport>,
    /// Everything the model generated, tags included, as it wrote it: what a full history
    /// sends back (older files lack it; the history is then rebuilt from the parts above).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw: String,
    /// The model that answered (older files lack it: it was the session's model then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<AnsweredBy>,
    /// The tool steps before the answer, as sent back to the model: each step's message with
    /// its calls, then their results (what a follow-up sends again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchange: Vec<crate::llm::ChatMessage>,
    /// Every call of the turn and what became of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<crate::tools::CallRecord>,
    /// Each step's usage, when the turn called tools (`usage` is their sum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Usage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReflection {
    pub n: usize,
    pub text: String,
}

/// How a saved turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedState {
    Done,
    /// Cancelled, or cut off when reflect was stopped: the text is what came before.
    Interrupted,
    Failed,
}

/// The result of a call that was not over when its turn was saved.
const NOT_FINISHED: &str = "not run to the end: reflect stopped before the call finished";

impl SavedTurn {
    /// A finished turn as saved; `None` for turns not sent or still queued. A running turn is
    /// saved as interrupted (reflect is stopping).
    pub fn from_turn(t: &Turn) -> Option<SavedTurn> {
        let (state, error) = match &t.state {
            TurnState::Queued => return None,
            TurnState::Done => (SavedState::Done, None),
            TurnState::Running | TurnState::Interrupted => (SavedState::Interrupted, None),
            TurnState::Failed(why) => (SavedState::Failed, Some(why.clone())),
        };
        if t.sent.is_empty() && state == SavedState::Failed && t.answer.is_empty() {
            // Never reached the model (e.g. the model did not load): nothing to keep.
            return None;
        }
        let mut closed = Turn::queued("");
        closed.calls.clone_from(&t.calls);
        closed.exchange.clone_from(&t.exchange);
        closed.steps.clone_from(&t.steps);
        closed.usage = t.usage;
        closed.close_open_calls(NOT_FINISHED);
        Some(SavedTurn {
            prompt: t.prompt.clone(),
            sent: if t.sent == t.prompt {
                String::new()
            } else {
                t.sent.clone()
            },
            thinking: t.thinking.clone(),
            reflections: t
                .reflections
                .iter()
                .map(|r| SavedReflection {
                    n: r.n,
                    text: r.text.clone(),
                })
                .collect(),
            answer: t.answer.clone(),
            state,
            error,
            stop_reason: t.stop_reason,
            usage: closed.usage,
            timings: t.timings,
            cost: t.cost,
            budget: t.budget.clone(),
            raw: t.raw.clone(),
            model: t.model.clone(),
            exchange: closed.exchange,
            calls: closed.calls,
            steps: closed.steps,
        })
    }

    /// The turn as the chat and the conversation builder see it.
    pub fn to_turn(&self) -> Turn {
        let mut t = Turn::queued(self.prompt.clone());
        t.sent = if self.sent.is_empty() {
            self.prompt.clone()
        } else {
            self.sent.clone()
        };
        t.thinking = self.thinking.clone();
        t.reflections = self
            .reflections
            .iter()
            .map(|r| Reflection {
                n: r.n,
                text: r.text.clone(),
                open: false,
            })
            .collect();
        t.answer = self.answer.clone();
        t.state = match self.state {
            SavedState::Done => TurnState::Done,
            SavedState::Interrupted => TurnState::Interrupted,
            SavedState::Failed => {
                TurnState::Failed(self.error.clone().unwrap_or_else(|| "failed".into()))
            }
        };
        t.stop_reason = self.stop_reason;
        t.usage = self.usage;
        t.timings = self.timings;
        t.cost = self.cost;
        t.budget.clone_from(&self.budget);
        t.raw = self.raw.clone();
        t.model.clone_from(&self.model);
        t.exchange.clone_from(&self.exchange);
        t.calls.clone_from(&self.calls);
        t.steps.clone_from(&self.steps);
        // A file written while a call was still asked about or running.
        t.close_open_calls(NOT_FINISHED);
        t
    }

    /// The thinking text without reflection markers.
    pub fn thinking_text(&self) -> String {
        crate::conversation::thinking_text(&self.thinking)
    }
}

impl Session {
    /// A new, empty session with a fresh id.
    /// What the whole conversation cost in USD, if any turn has a cost.
    pub fn cost(&self) -> Option<f64> {
        self.turns
            .iter()
            .filter_map(|t| t.cost)
            .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
    }

    pub fn new(model: &str, model_path: Option<PathBuf>, profile: &str) -> Session {
        let now = SystemTime::now();
        let stamp = timestamp(now);
        Session {
            version: VERSION,
            id: new_id(now),
            created: stamp.clone(),
            updated: stamp,
            model: model.to_string(),
            model_path,
            endpoint: None,
            profile: profile.to_string(),
            turns: Vec::new(),
        }
    }

    /// The finished turns of `turns` as saved; those that do not name their model were
    /// answered by the session's (set with [`Session::answered_by`] first).
    pub fn saved_turns<'a>(&self, turns: impl IntoIterator<Item = &'a Turn>) -> Vec<SavedTurn> {
        turns
            .into_iter()
            .filter_map(SavedTurn::from_turn)
            .map(|t| self.stamped(t))
            .collect()
    }

    /// Replaces the turns with the finished ones of `turns` and stamps the time.
    pub fn set_turns<'a>(&mut self, turns: impl IntoIterator<Item = &'a Turn>) {
        self.turns = self.saved_turns(turns);
        self.touch();
    }

    /// Adds one turn (answered by the session's model unless it names its own) and stamps the
    /// time.
    pub fn push(&mut self, turn: SavedTurn) {
        let turn = self.stamped(turn);
        self.turns.push(turn);
        self.touch();
    }

    /// `turn`, naming the session's model when it names none.
    fn stamped(&self, mut turn: SavedTurn) -> SavedTurn {
        if turn.model.is_none() {
            turn.model = self.model_ref();
        }
        turn
    }

    /// The session's model (the one that answered last), when it names one.
    pub fn model_ref(&self) -> Option<AnsweredBy> {
        let m = AnsweredBy {
            name: self.model.clone(),
            path: self.model_path.clone(),
            endpoint: self.endpoint.clone(),
        };
        (!m.is_unknown()).then_some(m)
    }

    /// The model that answers from now on: the turns saved so far keep theirs (those without
    /// one are given the session's first), and the session names `m`.
    pub fn answered_by(&mut self, m: AnsweredBy) {
        self.pin_turn_models();
        self.model = m.name;
        self.model_path = m.path;
        self.endpoint = m.endpoint;
    }

    /// Turns saved before turns named their model were answered by the session's.
    pub(crate) fn pin_turn_models(&mut self) {
        if let Some(m) = self.model_ref() {
            for t in self.turns.iter_mut().filter(|t| t.model.is_none()) {
                t.model = Some(m.clone());
            }
        }
    }

    fn touch(&mut self) {
        self.updated = timestamp(SystemTime::now());
    }

    /// The turns as the conversation builder sees them.
    pub fn live_turns(&self) -> Vec<Turn> {
        self.turns.iter().map(SavedTurn::to_turn).collect()
    }

    /// The first message's first line, shortened: what `--sessions` shows.
    pub fn title(&self) -> String {
        let first = self.turns.first().map(|t| t.prompt.as_str()).unwrap_or("");
        let line = first
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("(empty)");
        shorten(line, 60)
    }
}

/// The model a run's settings name, before it loads: its file (made absolute, so that a
/// follow-up from another directory finds it) or its server and the model id asked for.
pub fn planned_model(engine: &crate::engine::BackendConfig) -> AnsweredBy {
    match engine {
        crate::engine::BackendConfig::Llama(c) => AnsweredBy {
            name: String::new(),
            path: Some(std::path::absolute(&c.model_path).unwrap_or_else(|_| c.model_path.clone())),
            endpoint: None,
        },
        crate::engine::BackendConfig::Remote(r) => AnsweredBy {
            name: r.model.clone().unwrap_or_default(),
            path: None,
            endpoint: engine.endpoint(),
        },
    }
}

/// Whether `planned` ([`planned_model`]) is the model `saved` names: the same file, or the same
/// server and (when the run asks for one) the same model id.
pub fn same_model(saved: &AnsweredBy, planned: &AnsweredBy) -> bool {
    let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    match (&saved.path, &planned.path) {
        (Some(a), Some(b)) => real(a) == real(b),
        (None, None) => {
            saved.endpoint == planned.endpoint
                && (planned.name.is_empty() || planned.name == saved.name)
        }
        _ => false,
    }
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// RFC 3339 in UTC, to the second.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `YYYYMMDD-HHMMSS-xxxx`: sorts by creation time; the last part (from the clock's
/// nanoseconds and the process id) keeps two sessions started in the same second apart.
pub fn new_id(t: SystemTime) -> String {
    let stamp = timestamp(t);
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let nanos = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let salt = (nanos ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("{}-{}-{salt:04x}", &digits[..8], &digits[8..14])
}
