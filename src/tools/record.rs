//! One call as a turn keeps it: what was asked, what became of it and what it gave back. The
//! chat draws it as a block, pipe mode's JSON lists it, and sessions save it.

use super::ToolCall;
use serde::{Deserialize, Serialize};

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Waiting for the user's answer (the chat's approval prompt).
    Asking,
    /// Approved (or allowed), not finished.
    Running,
    /// Ran and succeeded.
    Done,
    /// Ran and failed (bad arguments, a refused path, a non-zero exit…): the result says why.
    Failed,
    /// Did not run: a policy, pipe mode, or the user said no.
    Denied,
    /// Stopped by the user (Esc) while running or asking.
    Cancelled,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Asking => "asking",
            CallStatus::Running => "running",
            CallStatus::Done => "done",
            CallStatus::Failed => "failed",
            CallStatus::Denied => "denied",
            CallStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the call is over (its result is final).
    pub fn is_final(self) -> bool {
        !matches!(self, CallStatus::Asking | CallStatus::Running)
    }
}

/// One call of a turn and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    #[serde(flatten)]
    pub call: ToolCall,
    pub status: CallStatus,
    /// What went back to the model (capped), or why it was denied.
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub elapsed_ms: u64,
    /// The step (1-based generation of the turn) that made the call.
    #[serde(default)]
    pub step: u32,
}

impl CallRecord {
    /// A call just read from step `step`'s answer.
    pub fn new(call: ToolCall, step: u32) -> CallRecord {
        CallRecord {
            call,
            status: CallStatus::Running,
            result: String::new(),
            elapsed_ms: 0,
            step,
        }
    }
}
