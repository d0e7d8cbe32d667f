//! The tool loop in the chat, pure: a step's calls are decided one by one, in the order the
//! model wrote them (run, ask the user, or deny); each runs off the UI thread through an
//! effect; once every call of the step has its result the next step is sent, until the model
//! answers or `--max-steps` stops it. Esc denies the call asked about (or stops the running
//! one) and ends the turn.

use super::{App, Level};
use crate::conversation::{unreadable_only, TurnState};
use crate::llm::{Command, StopReason};
use crate::tools::approval::{denied_by_user, Verdict};
use crate::tools::builtin;
use crate::tools::{CallStatus, Outcome, ToolCall};
use crate::tui::msg::Effect;
use crate::tui::tool_flow::Asking;

/// What a call the user's Esc stopped before it ran gives back.
pub const NOT_RUN: &str = "cancelled: the user stopped the turn before this call ran";

/// The user's answer to the approval prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `y`: run this call.
    Once,
    /// `a`: run it, and every later call to this tool in this session.
    Always,
    /// `n`: do not run it (a reason may follow).
    No,
}

impl App {
    /// The running turn's step ended with `calls`: decide them in order.
    pub(super) fn on_step_calls(&mut self, calls: Vec<ToolCall>) -> Vec<Effect> {
        self.tools.queue.extend(calls);
        let Some(i) = self.conv.running() else {
            self.tools.queue.clear();
            return Vec::new();
        };
        // Esc came while the step was ending: none of its calls runs.
        if self.conv.turns[i].cancel_requested {
            return self.end_cancelled(i, NOT_RUN);
        }
        // Results no step could read: the calls do not run, and the turn ends.
        if let Err(notice) = self.tools.steps.begin_next() {
            return self.end_at_limit(i, notice);
        }
        let mut effects = vec![Effect::SaveSession];
        effects.extend(self.next_call());
        effects
    }

    /// Decides the next waiting call: runs it, asks about it, or denies it and goes on; with
    /// none left, sends the next step.
    fn next_call(&mut self) -> Vec<Effect> {
        let Some(i) = self.conv.running() else {
            self.tools.queue.clear();
            return Vec::new();
        };
        while let Some(call) = self.tools.queue.pop_front() {
            if let Some(why) = self.not_offered(&call.name) {
                self.conv.turns[i].call_result(&call.id, CallStatus::Failed, &why, 0);
                continue;
            }
            match self
                .tools
                .approval
                .verdict(&call.name, &builtin::shown(&call))
            {
                Verdict::Run => return self.run_call(call),
                Verdict::Ask => {
                    self.conv.turns[i].call_result(&call.id, CallStatus::Asking, "", 0);
                    self.tools.asking = Some(Asking {
                        call: call.clone(),
                        preview: None,
                        reason_draft: None,
                        armed: false,
                        arm_seq: 0,
                    });
                    self.dirty = true;
                    let workspace = self.settings.tools.workspace.clone();
                    return vec![Effect::PreviewTool { call, workspace }];
                }
                Verdict::Deny { to_model, .. } => {
                    self.conv.turns[i].call_result(&call.id, CallStatus::Denied, &to_model, 0);
                }
            }
        }
        self.dirty = true;
        self.next_step(i)
    }

    /// Why a call to `name` cannot run at all (no such tool, or one this chat does not offer).
    fn not_offered(&self, name: &str) -> Option<String> {
        let offered = &self.settings.tools.offered;
        if self.tools.mcp.offers(name) {
            None
        } else if builtin::find(name).is_none() {
            Some(builtin::unknown(name))
        } else if !offered.iter().any(|o| o == name) {
            Some(format!(
                "{name} is not offered in this chat; the tools offered are: {}",
                offered.join(", ")
            ))
        } else {
            None
        }
    }

    fn run_call(&mut self, call: ToolCall) -> Vec<Effect> {
        if let Some(i) = self.conv.running() {
            self.conv.turns[i].call_result(&call.id, CallStatus::Running, "", 0);
        }
        self.tools.running = Some(call.id.clone());
        self.dirty = true;
        let workspace = self.settings.tools.workspace.clone();
        vec![Effect::RunTool { call, workspace }]
    }

    /// Turn `i` used its steps (`--max-steps`) and its last step called tools: the calls do
    /// not run (no step could read their results), and the turn ends with `notice`.
    fn end_at_limit(&mut self, i: usize, notice: String) -> Vec<Effect> {
        let turn = &mut self.conv.turns[i];
        let not_run = format!("not run: {notice}");
        for call in self.tools.queue.drain(..) {
            turn.call_result(&call.id, CallStatus::Cancelled, &not_run, 0);
        }
        turn.state = TurnState::Failed(notice.clone());
        self.notify(Level::Warning, notice);
        let mut effects = vec![Effect::SaveSession];
        effects.extend(self.dispatch_next());
        effects
    }

    /// A step whose only calls could not be read: the model is told why and writes them again,
    /// in a step of the turn (counted); `None` when the step is not one, was stopped, or no
    /// step is left (the turn then ends as usual, with a notice).
    pub(super) fn retry_unreadable(
        &mut self,
        done: &crate::llm::Completion,
    ) -> Option<Vec<Effect>> {
        let i = self.conv.running()?;
        let turn = &self.conv.turns[i];
        if turn.id != done.id || turn.cancel_requested || !unreadable_only(done) {
            return None;
        }
        self.tools.steps.begin_next().ok()?;
        self.conv.turns[i].retry_unreadable(done);
        let problems = done.malformed.join("; ");
        let problem = crate::term_safe::neutralise(&problems);
        self.notify(
            Level::Warning,
            format!("The model's tool call could not be read ({problem}); it was told, and writes it again."),
        );
        Some(self.next_step(i))
    }

    /// Every call of turn `i`'s step has its result: the next step (counted when the step's
    /// calls came).
    fn next_step(&mut self, i: usize) -> Vec<Effect> {
        let id = self.conv.next_id;
        self.conv.next_id += 1;
        let turn = &self.conv.turns[i];
        let request = self
            .settings
            .request_step(id, &self.conv.turns[..i], turn, turn.seed);
        let turn = &mut self.conv.turns[i];
        turn.id = id;
        // The new step reads its prompt first; its text starts a paragraph of its own.
        turn.channel = None;
        turn.prompt_tokens = None;
        turn.prompt_progress = None;
        new_paragraph(&mut turn.answer);
        if let Some(crate::conversation::ThinkingPart::Text(t)) = turn.thinking.last_mut() {
            new_paragraph(t);
        }
        vec![
            Effect::SaveSession,
            Effect::Engine(Command::Generate(request)),
        ]
    }

    /// `y`, `a` or `n` on the approval prompt.
    pub(super) fn answer_call(&mut self, answer: Answer) -> Vec<Effect> {
        let Some(asking) = self.tools.asking.as_mut() else {
            return Vec::new();
        };
        if !asking.armed {
            // Typed before the prompt could be read: not an answer.
            return self.hold_approval();
        }
        match answer {
            Answer::No => {
                // The reason is typed in the message box; what it held waits.
                asking.reason_draft = Some(self.input.text());
                self.input.clear();
                self.set_focus(super::Focus::Input);
                Vec::new()
            }
            Answer::Once | Answer::Always => {
                let call = self.tools.asking.take().map(|a| a.call);
                let Some(call) = call else {
                    return Vec::new();
                };
                if answer == Answer::Always {
                    self.tools.approval.always_allow(&call.name);
                }
                self.run_call(call)
            }
        }
    }

    /// Enter after `n`: the call is denied with the reason typed (none when the box is empty).
    pub(super) fn deny_with_reason(&mut self) -> Vec<Effect> {
        let Some(asking) = self.tools.asking.take() else {
            return Vec::new();
        };
        let reason = self.input.text();
        self.input
            .put_back(asking.reason_draft.as_deref().unwrap_or(""));
        if let Some(i) = self.conv.running() {
            let result = denied_by_user(Some(&reason));
            self.conv.turns[i].call_result(&asking.call.id, CallStatus::Denied, &result, 0);
        }
        self.next_call()
    }

    /// Esc (or quitting, or a new conversation) between two steps: the call asked about is
    /// denied and the turn ends; a running call is stopped, and the turn ends when it has.
    pub(super) fn cancel_tools(&mut self) -> Vec<Effect> {
        let Some(i) = self.conv.running() else {
            return Vec::new();
        };
        if let Some(asking) = self.tools.asking.take() {
            if let Some(draft) = asking.reason_draft {
                self.input.put_back(&draft);
            }
            let result = denied_by_user(None);
            self.conv.turns[i].call_result(&asking.call.id, CallStatus::Denied, &result, 0);
            return self.end_cancelled(i, NOT_RUN);
        }
        if self.tools.running.is_some() {
            self.conv.turns[i].cancel_requested = true;
            self.dirty = true;
            return vec![Effect::CancelTool];
        }
        Vec::new()
    }

    /// Turn `i` stopped between two steps: the calls it did not reach are cancelled (`why`
    /// their result), and it ends as interrupted.
    fn end_cancelled(&mut self, i: usize, why: &str) -> Vec<Effect> {
        let turn = &mut self.conv.turns[i];
        for call in self.tools.queue.drain(..) {
            turn.call_result(&call.id, CallStatus::Cancelled, why, 0);
        }
        turn.state = TurnState::Interrupted;
        turn.stop_reason = Some(StopReason::Cancelled);
        turn.cancel_requested = false;
        self.dirty = true;
        let mut effects = vec![Effect::SaveSession];
        effects.extend(self.dispatch_next());
        effects
    }

    /// `Msg::ToolPreview`: shown, and the prompt takes an answer after a quiet moment.
    pub(super) fn on_tool_preview(&mut self, id: &str, text: String) -> Vec<Effect> {
        if let Some(a) = self.tools.asking.as_mut().filter(|a| a.call.id == id) {
            a.preview = Some(text);
            self.dirty = true;
            return self.hold_approval();
        }
        Vec::new()
    }

    /// A key while the prompt waits (or its preview just came): the prompt takes no answer
    /// until [`crate::tui::tool_flow::ARM_DELAY`] passes without another.
    pub(super) fn hold_approval(&mut self) -> Vec<Effect> {
        let Some(a) = self.tools.asking.as_mut() else {
            return Vec::new();
        };
        a.armed = false;
        a.arm_seq += 1;
        self.dirty = true;
        match a.preview {
            Some(_) => vec![Effect::ArmApproval {
                id: a.call.id.clone(),
                seq: a.arm_seq,
            }],
            // The preview's arrival starts the wait.
            None => Vec::new(),
        }
    }

    /// `Msg::ApprovalArmed`: the quiet moment passed, unless a key came since.
    pub(super) fn on_approval_armed(&mut self, id: &str, seq: u32) -> Vec<Effect> {
        if let Some(a) = self.tools.asking.as_mut() {
            if a.call.id == id && a.arm_seq == seq && a.preview.is_some() {
                a.armed = true;
                self.dirty = true;
            }
        }
        Vec::new()
    }

    /// `Msg::ToolProgress`: the running call's elapsed time.
    pub(super) fn on_tool_progress(&mut self, id: &str, elapsed_ms: u64) -> Vec<Effect> {
        if self.tools.running.as_deref() != Some(id) {
            return Vec::new();
        }
        if let Some(i) = self.conv.running() {
            self.conv.turns[i].call_result(id, CallStatus::Running, "", elapsed_ms);
            self.dirty = true;
        }
        Vec::new()
    }

    /// `Msg::ToolDone`: the call's result; the next call, or the turn ends if it was stopped.
    pub(super) fn on_tool_done(&mut self, id: &str, outcome: Outcome, ms: u64) -> Vec<Effect> {
        if self.tools.running.as_deref() != Some(id) {
            return Vec::new();
        }
        self.tools.running = None;
        let Some(i) = self.conv.running() else {
            return Vec::new();
        };
        let turn = &mut self.conv.turns[i];
        self.dirty = true;
        if turn.cancel_requested {
            turn.call_result(id, CallStatus::Cancelled, &outcome.text, ms);
            return self.end_cancelled(i, NOT_RUN);
        }
        let status = if outcome.ok {
            CallStatus::Done
        } else {
            CallStatus::Failed
        };
        turn.call_result(id, status, &outcome.text, ms);
        self.next_call()
    }

    /// Enter on the conversation pane: the selected (else the latest) turn's call blocks
    /// show their whole results, or fold back to their first lines. Without calls there,
    /// Enter goes back to the message box.
    pub(super) fn toggle_calls(&mut self) {
        let shown = self.shown_turn();
        match shown.filter(|i| !self.conv.turns[*i].calls.is_empty()) {
            Some(i) => {
                if !self.ui.expanded.remove(&i) {
                    self.ui.expanded.insert(i);
                }
            }
            None => self.set_focus(super::Focus::Input),
        }
    }
}

/// Ends `text` with a blank line, so that what follows starts a paragraph (nothing when empty).
fn new_paragraph(text: &mut String) {
    if text.trim().is_empty() {
        return;
    }
    while !text.ends_with("\n\n") {
        text.push('\n');
    }
}
