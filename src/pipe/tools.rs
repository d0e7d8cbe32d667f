//! Pipe mode's tool loop, after each step: the calls the answer made → each one's verdict (pipe
//! mode cannot ask, so what needs approval is denied and stderr says how to allow it) → the
//! allowed ones run → their results go into the turn for the next step; until the model answers
//! without a call, `--max-steps` stops it, or a signal does. A call of an MCP server's tool
//! (`SERVER__TOOL`) goes through the same approval and runs on its server.

use super::output::Output;
use crate::conversation::{sum_usage, unreadable_only, Turn};
use crate::llm::{Completion, StopReason};
use crate::mcp::Servers;
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
    /// The MCP servers whose tools are offered beside the built-ins.
    mcp: Option<Arc<Servers>>,
    /// The servers whose failure stderr already told.
    reported: Vec<String>,
}

impl ToolLoop {
    pub fn new(tools: &ToolSettings, stop: Arc<AtomicBool>, mcp: Option<Arc<Servers>>) -> ToolLoop {
        ToolLoop {
            approval: Approval::new(tools.policies.clone(), false),
            steps: Steps::new(tools.max_steps),
            tools: tools.clone(),
            stop,
            write_failed: None,
            mcp,
            reported: Vec::new(),
        }
    }

    /// One stderr line for each MCP server that failed (to start, or since: a crash mid-call)
    /// and was not told of yet: `reflect: MCP server NAME: WHY`.
    pub fn report_mcp_failures(&mut self, out: &mut Output) {
        let Some(servers) = self.mcp.clone() else {
            return;
        };
        for (name, why) in servers.failures() {
            if !self.reported.contains(&name) {
                let r = out.notice(&format!("reflect: MCP server {name}: {why}"));
                self.check(r);
                self.reported.push(name);
            }
        }
    }

    /// The MCP server's tool offered as `name`, if any.
    fn mcp_tool(&self, name: &str) -> Option<&Servers> {
        self.mcp.as_deref().filter(|s| s.find(name).is_some())
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
        if unreadable_only(&done) && !self.halted() && self.steps.begin_next().is_ok() {
            // The model is told why and writes its call again.
            turn.retry_unreadable(&done);
            return Next::Again;
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
            let r = out
                .tool_call(&call, step)
                .and_then(|()| out.tool_running(&call.name));
            self.check(r);
            let (status, result, elapsed_ms, notice) = self.decide_and_run(&call);
            if let Some(notice) = notice {
                let r = out.notice(&notice);
                self.check(r);
            }
            self.report_mcp_failures(out);
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
        if self.mcp_tool(&call.name).is_none() && !self.tools.offered.contains(&call.name) {
            let why = format!(
                "there is no tool named '{}' here; the tools are: {}",
                call.name,
                self.offered().join(", ")
            );
            return (CallStatus::Failed, why, 0, None);
        }
        match self.approval.verdict(&call.name, &builtin::shown(call)) {
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

    /// The names of the tools offered: the built-ins, then the MCP servers'.
    fn offered(&self) -> Vec<String> {
        let mcp = self.mcp.as_deref().map(Servers::tools).unwrap_or_default();
        let mcp = mcp.into_iter().map(|(_, t)| t.name);
        self.tools.offered.iter().cloned().chain(mcp).collect()
    }

    /// Runs an allowed call: a built-in in the workspace, an MCP tool on its server.
    fn run(&self, call: &ToolCall) -> (CallStatus, String, u64) {
        let started = Instant::now();
        let outcome = match self.mcp_tool(&call.name) {
            Some(servers) => servers.call(call, &self.stop),
            None => match Workspace::new(&self.tools.workspace) {
                Ok(ws) => builtin::run(call, &ws, &self.stop),
                Err(why) => return (CallStatus::Failed, why, 0),
            },
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Format;
    use crate::tools::Policies;
    use serde_json::json;

    /// A step's end that made these calls (ids given).
    fn step(calls: &[(&str, serde_json::Value)]) -> Box<Completion> {
        let calls = calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall {
                id: format!("c{i}"),
                ..ToolCall::new(*name, args.as_object().unwrap().clone())
            })
            .collect();
        Box::new(Completion {
            id: 1,
            stop_reason: StopReason::EndOfTurn,
            summary: Default::default(),
            usage: crate::llm::Usage {
                prompt_tokens: 10,
                completion_tokens: 4,
                ..Default::default()
            },
            timings: Default::default(),
            text: String::new(),
            cost: None,
            seed: None,
            budget: None,
            calls,
            malformed: Vec::new(),
        })
    }

    /// Tools on in a workspace holding a.txt ("hi"), these policies, `max_steps`.
    fn settings(ws: &std::path::Path, policies: Policies, max_steps: u32) -> ToolSettings {
        std::fs::write(ws.join("a.txt"), "hi").unwrap();
        ToolSettings {
            on: true,
            policies,
            workspace: ws.to_path_buf(),
            max_steps,
            ..ToolSettings::default()
        }
    }

    fn running() -> Turn {
        let mut t = Turn::queued("q");
        t.sent = "q".into();
        t.state = crate::conversation::TurnState::Running;
        t
    }

    /// What became of each call: (tool, status, result).
    fn outcomes(t: &Turn) -> Vec<(String, CallStatus, String)> {
        t.calls
            .iter()
            .map(|r| (r.call.name.clone(), r.status, r.result.clone()))
            .collect()
    }

    #[test]
    fn allowed_calls_run_those_needing_approval_are_denied_and_the_turn_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let tools = settings(dir.path(), crate::tools::builtin::policies(), 10);
        let mut l = ToolLoop::new(&tools, Arc::default(), None);
        let mut out = Output::new(Format::Json, false, false);
        let mut t = running();
        let done = step(&[
            ("read_file", json!({"path": "a.txt"})),
            ("write_file", json!({"path": "b.txt", "content": "x"})),
            ("delete_all", json!({})),
        ]);
        assert!(matches!(l.after_step(&mut t, done, &mut out), Next::Again));
        let got = outcomes(&t);
        assert_eq!(got[0], ("read_file".into(), CallStatus::Done, "hi".into()));
        assert_eq!(got[1].1, CallStatus::Denied);
        assert_eq!(
            got[1].2,
            "denied: write_file needs the user's approval, and no one could be asked"
        );
        assert_eq!(got[2].1, CallStatus::Failed);
        assert!(got[2].2.starts_with(
            "there is no tool named 'delete_all' here; the tools are: read_file, list_dir"
        ));
        assert!(!dir.path().join("b.txt").exists());
        // Every call answered in the exchange: the calls' message and three results.
        assert_eq!(t.exchange.len(), 4);
        assert!(t.is_running(), "the next step follows");
        // The answer without a call ends the turn.
        let answered = step(&[]);
        assert!(matches!(
            l.after_step(&mut t, answered, &mut out),
            Next::Done(_)
        ));
        assert_eq!(t.state, crate::conversation::TurnState::Done);
        assert_eq!(t.usage.unwrap().completion_tokens, 8, "both steps");
    }

    #[test]
    fn a_tool_the_run_does_not_offer_is_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut tools = settings(dir.path(), crate::tools::builtin::policies(), 10);
        tools.offered = vec!["list_dir".into()];
        let mut l = ToolLoop::new(&tools, Arc::default(), None);
        let mut out = Output::new(Format::Json, false, false);
        let mut t = running();
        l.after_step(
            &mut t,
            step(&[("read_file", json!({"path": "a.txt"}))]),
            &mut out,
        );
        assert_eq!(
            outcomes(&t)[0],
            (
                "read_file".into(),
                CallStatus::Failed,
                "there is no tool named 'read_file' here; the tools are: list_dir".into()
            )
        );
    }

    #[test]
    fn max_steps_ends_the_turn_before_the_last_calls_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut yes = crate::tools::builtin::policies();
        yes.yes_to_all();
        let tools = settings(dir.path(), yes, 2);
        let mut l = ToolLoop::new(&tools, Arc::default(), None);
        let mut out = Output::new(Format::Json, false, false);
        let mut t = running();
        let write = || step(&[("write_file", json!({"path": "b.txt", "content": "x"}))]);
        assert!(matches!(
            l.after_step(&mut t, write(), &mut out),
            Next::Again
        ));
        std::fs::remove_file(dir.path().join("b.txt")).unwrap();
        let Next::Stopped(done, notice) = l.after_step(&mut t, write(), &mut out) else {
            panic!("stopped at the limit");
        };
        assert!(notice.starts_with("stopped after 2 steps"), "{notice}");
        assert!(
            !dir.path().join("b.txt").exists(),
            "the last call never ran"
        );
        assert!(done.calls.is_empty());
        let got = outcomes(&t);
        assert_eq!(got[1].1, CallStatus::Cancelled);
        assert_eq!(got[1].2, format!("not run: {notice}"));
        assert_eq!(t.calls[1].step, 2);
        assert_eq!(t.state, crate::conversation::TurnState::Done);
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.usage.unwrap().completion_tokens, 8);
    }

    #[test]
    fn once_a_signal_came_no_call_runs_and_the_turn_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let mut yes = crate::tools::builtin::policies();
        yes.yes_to_all();
        let tools = settings(dir.path(), yes, 10);
        let stop = Arc::new(AtomicBool::new(true));
        let mut l = ToolLoop::new(&tools, stop, None);
        let mut out = Output::new(Format::Json, false, false);
        let mut t = running();
        let done = step(&[("write_file", json!({"path": "b.txt", "content": "x"}))]);
        let Next::Done(done) = l.after_step(&mut t, done, &mut out) else {
            panic!("the turn ends");
        };
        assert_eq!(done.stop_reason, StopReason::Cancelled);
        assert_eq!(t.state, crate::conversation::TurnState::Interrupted);
        assert!(!dir.path().join("b.txt").exists());
        assert!(t.calls.is_empty(), "the step's calls were never taken up");
    }
}
