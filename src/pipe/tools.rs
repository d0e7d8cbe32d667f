//! Pipe mode's tool loop, after each step: the calls the answer made → each one's verdict (pipe
//! mode cannot ask, so what needs approval is denied and stderr says how to allow it) → the
//! allowed ones run → their results go into the turn for the next step; until the model answers
//! without a call, `--max-steps` stops it, or a signal does.

use super::output::Output;
use crate::conversation::{sum_usage, Turn};
use crate::llm::{Completion, StopReason};
use crate::tools::approval::{Approval, Steps, Verdict};
use crate::tools::{builtin, CallRecord, CallStatus, ToolCall, ToolSettings, Workspace};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What comes after a step.
pub enum Next {
    /// The calls ran (or were denied): their results go back in the next step.
    Again,
    /// The turn is over (answered, cut short, or stopped by a signal); this is how it ended.
    Done(Box<Completion>),
    /// `--max-steps` ended it before its last calls ran: how it ended, and the notice.
    Stopped(Box<Completion>, String),
}

/// The state of one turn's tool loop.
pub struct ToolLoop {
    approval: Approval,
    steps: Steps,
    tools: ToolSettings,
    /// Set by Ctrl+C / SIGTERM / SIGHUP: a running command's process group is killed, and no
    /// other call runs.
    stop: Arc<AtomicBool>,
    write_failed: Option<io::Error>,
}

impl ToolLoop {
    pub fn new(tools: &ToolSettings, stop: Arc<AtomicBool>) -> ToolLoop {
        ToolLoop {
            approval: Approval::new(tools.policies.clone(), false),
            steps: Steps::new(tools.max_steps),
            tools: tools.clone(),
            stop,
            write_failed: None,
        }
    }

    /// A signal came, or stdout is gone: no other call runs.
    fn halted(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.write_failed.is_some()
    }

    /// The first write that failed (stdout closed): the turn was ended there.
    pub fn write_failed(&mut self) -> Option<io::Error> {
        self.write_failed.take()
    }

    /// Keeps the first failed write; nothing else runs after it.
    fn check(&mut self, written: io::Result<()>) {
        if let Err(e) = written {
            self.write_failed.get_or_insert(e);
        }
    }

    /// Takes step `done` into `turn`, and runs its calls when the turn goes on.
    pub fn after_step(
        &mut self,
        turn: &mut Turn,
        mut done: Box<Completion>,
        out: &mut Output,
    ) -> Next {
        for why in &done.malformed {
            let r = out.notice(&format!(
                "reflect: warning: the model wrote a call that could not be read: {why}"
            ));
            self.check(r);
        }
        let cut = matches!(
            done.stop_reason,
            StopReason::Cancelled | StopReason::StreamCut
        );
        if !done.calls.is_empty() && !cut && self.halted() {
            // Stopped as the step ended: none of its calls runs.
            done.stop_reason = StopReason::Cancelled;
        }
        if done.calls.is_empty() || cut || self.halted() {
            turn.step_done(&done);
            return Next::Done(done);
        }
        if let Err(notice) = self.steps.begin_next() {
            return Next::Stopped(stop_at_limit(turn, done, &notice), notice);
        }
        for call in turn.step_done(&done) {
            let step = turn.steps.len() as u32;
            let r = out.tool_call(&call, step);
            self.check(r);
            let (status, result, elapsed_ms, notice) = self.decide_and_run(&call);
            if let Some(notice) = notice {
                let r = out.notice(&notice);
                self.check(r);
            }
            turn.call_result(&call.id, status, &result, elapsed_ms);
            if let Some(rec) = turn.calls.iter().rev().find(|r| r.call.id == call.id) {
                let r = out.tool_result(rec);
                self.check(r);
            }
        }
        if self.halted() {
            return Next::Done(interrupted(turn, done));
        }
        Next::Again
    }

    /// One call's verdict, and its outcome: status, the result the model reads, milliseconds,
    /// and what stderr says (a denial and how to allow the call).
    fn decide_and_run(&self, call: &ToolCall) -> (CallStatus, String, u64, Option<String>) {
        if self.halted() {
            let why = "cancelled: reflect was stopped".to_string();
            return (CallStatus::Cancelled, why, 0, None);
        }
        if !self.tools.offered.iter().any(|t| *t == call.name) {
            let offered = self.tools.offered.join(", ");
            let why = format!(
                "there is no tool named '{}' here; the tools are: {offered}",
                call.name
            );
            return (CallStatus::Failed, why, 0, None);
        }
        let shown = format!("{} {}", call.name, builtin::summary(call));
        match self.approval.verdict(&call.name, shown.trim_end()) {
            Verdict::Run => {
                let (status, result, ms) = self.run(call);
                (status, result, ms, None)
            }
            Verdict::Deny { to_model, to_user } => (
                CallStatus::Denied,
                to_model,
                0,
                Some(format!("reflect: {to_user}")),
            ),
            // Pipe mode's approval never asks; were it to, no one could answer.
            Verdict::Ask => (
                CallStatus::Denied,
                "denied: no one could be asked".into(),
                0,
                None,
            ),
        }
    }

    /// Runs an allowed call in the workspace.
    fn run(&self, call: &ToolCall) -> (CallStatus, String, u64) {
        let ws = match Workspace::new(&self.tools.workspace) {
            Ok(ws) => ws,
            Err(why) => return (CallStatus::Failed, why, 0),
        };
        let started = Instant::now();
        let outcome = builtin::run(call, &ws, &self.stop);
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let status = match (self.halted(), outcome.ok) {
            (true, _) => CallStatus::Cancelled,
            (false, true) => CallStatus::Done,
            (false, false) => CallStatus::Failed,
        };
        (status, outcome.text, ms)
    }
}

/// The turn ends at `--max-steps`: step `done`'s calls are kept, marked as not run (their
/// results would reach no one), and the turn is finished.
fn stop_at_limit(turn: &mut Turn, done: Box<Completion>, notice: &str) -> Box<Completion> {
    let step = turn.steps.len() as u32 + 1;
    let mut last = done.clone();
    last.calls.clear();
    turn.step_done(&last);
    for call in &done.calls {
        turn.calls.push(CallRecord {
            status: CallStatus::Cancelled,
            result: format!("not run: {notice}"),
            ..CallRecord::new(call.clone(), step)
        });
    }
    last
}

/// A signal stopped the turn while its calls ran: finished as interrupted, its usage the sum
/// of its steps.
fn interrupted(turn: &mut Turn, done: Box<Completion>) -> Box<Completion> {
    let mut last = done;
    last.stop_reason = StopReason::Cancelled;
    last.calls.clear();
    turn.finish(&last);
    let mut total = sum_usage(&turn.steps);
    total.prompt_tokens = last.usage.prompt_tokens;
    turn.usage = Some(total);
    last
}
