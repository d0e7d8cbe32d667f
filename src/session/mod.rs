//! Saved conversations: every finished turn is written to `<data dir>/sessions/<id>.json`, so
//! that a chat can be resumed, continued from a script, listed and exported.
//!
//! The file format ([`Session`], version 1) is separate from the chat's live [`Turn`] so that it
//! can stay stable while the chat's state changes; `store` reads and writes files (atomic,
//! owner-only), `export` writes Markdown and JSON, `kv` names the llama.cpp state files that let
//! a continued session skip re-reading its earlier turns.

pub mod age;
mod export;
pub mod kv;
mod listing;
mod store;
#[cfg(test)]
mod tests;

pub use export::{markdown, ExportFormat};
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
    /// The model's name when the session was last saved.
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
            usage: t.usage,
            timings: t.timings,
            cost: t.cost,
            budget: t.budget.clone(),
            raw: t.raw.clone(),
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

    /// Replaces the turns with the finished ones of `turns` and stamps the time.
    pub fn set_turns<'a>(&mut self, turns: impl IntoIterator<Item = &'a Turn>) {
        self.turns = turns.into_iter().filter_map(SavedTurn::from_turn).collect();
        self.touch();
    }

    /// Adds one turn and stamps the time.
    pub fn push(&mut self, turn: SavedTurn) {
        self.turns.push(turn);
        self.touch();
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
