//! The tool loop's state in the chat: the session's approval rules (`a` lasts the session),
//! the running turn's step count, the calls of a step still waiting their turn, the call the
//! user is asked about and the call that runs. Plain values; `tool_loop` changes them.

use super::mcp_state::McpView;
use crate::tools::approval::{Approval, Steps};
use crate::tools::{ToolCall, ToolSettings};
use std::collections::VecDeque;

/// The approval prompt of one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Asking {
    pub call: ToolCall,
    /// What the prompt shows of the call (the diff of an edit, the whole command); `None`
    /// until the runtime has read what it needs.
    pub preview: Option<String>,
    /// `n` was pressed: the user types a reason in the message box. Holds what the box held
    /// before, put back once the reason is sent.
    pub reason_draft: Option<String>,
    /// The prompt takes `y`, `a`, `n`: its preview is shown and no key came for a moment
    /// ([`ARM_DELAY`]), so that typing meant for the message box never answers it.
    pub armed: bool,
    /// Counts the waits for that moment: only the latest one arms the prompt.
    pub arm_seq: u32,
}

/// How long the approval prompt must be on screen, with its preview and without a keypress,
/// before `y`, `a` or `n` answer it.
pub const ARM_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Where the tool loop stands.
#[derive(Clone, Debug)]
pub struct ToolFlow {
    pub(crate) approval: Approval,
    pub(crate) steps: Steps,
    /// The step's calls not decided yet, in the order the model wrote them.
    pub(crate) queue: VecDeque<ToolCall>,
    pub(crate) asking: Option<Asking>,
    /// The id of the call running now.
    pub(crate) running: Option<String>,
    /// The MCP servers: not asked for, starting, or their tools.
    pub(crate) mcp: McpView,
}

impl ToolFlow {
    /// One chat session's loop: its policies, no call under way.
    pub fn new(tools: &ToolSettings) -> ToolFlow {
        ToolFlow {
            approval: Approval::new(tools.policies.clone(), true),
            steps: Steps::new(tools.max_steps),
            queue: VecDeque::new(),
            asking: None,
            running: None,
            mcp: McpView::Idle,
        }
    }

    /// A new turn starts: its steps are counted afresh (what `a` allowed stays).
    pub fn begin_turn(&mut self, max_steps: u32) {
        self.steps = Steps::new(max_steps);
        self.queue.clear();
        self.asking = None;
        self.running = None;
    }

    /// Whether a call waits for the user or runs (the turn is between two generations).
    pub fn busy(&self) -> bool {
        self.asking.is_some() || self.running.is_some()
    }

    /// Whether the user is typing the reason for a denial.
    pub fn typing_reason(&self) -> bool {
        self.asking
            .as_ref()
            .is_some_and(|a| a.reason_draft.is_some())
    }
}
