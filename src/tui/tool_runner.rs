//! Runs the model's tool calls for the chat, off the UI thread: one call at a time on a thread
//! of its own, its time so far reported about once a second and its result sent back as
//! messages into the app loop. Cancelling sets the call's stop flag (`builtin::run` then kills
//! a command's whole process group; an MCP server's tool is cancelled on its server); the runner
//! waits for the last call when the chat ends.

use super::mcp_runner;
use super::msg::Msg;
use crate::mcp::Servers;
use crate::tools::{builtin, Outcome, ToolCall, Workspace};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a running call's time is reported.
const TICK: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct ToolRunner {
    stop: Option<Arc<AtomicBool>>,
    thread: Option<JoinHandle<()>>,
}

/// The servers, when `call` is an MCP server's tool (no built-in has its name).
fn mcp_of<'a>(call: &ToolCall, mcp: Option<&'a Arc<Servers>>) -> Option<&'a Arc<Servers>> {
    mcp.filter(|_| builtin::find(&call.name).is_none())
}

/// What the approval prompt shows of `call` (reads the file an edit would change; an MCP
/// tool's server and arguments).
pub fn preview(call: &ToolCall, workspace: &Path, mcp: Option<&Arc<Servers>>) -> String {
    if let Some(servers) = mcp_of(call, mcp) {
        return servers.preview(call);
    }
    match Workspace::new(workspace) {
        Ok(ws) => builtin::preview(call, &ws),
        Err(e) => format!("(this call will fail: {e})"),
    }
}

impl ToolRunner {
    /// Starts `call` in `workspace` (or on its MCP server among `mcp`); its progress and
    /// result come as `Msg::ToolProgress` and `Msg::ToolDone` on `tx`, after an MCP call
    /// where the servers stand (`Msg::Mcp`: one may have stopped).
    pub fn start(
        &mut self,
        call: ToolCall,
        workspace: &Path,
        mcp: Option<Arc<Servers>>,
        tx: Sender<Msg>,
    ) {
        self.finish();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = Some(stop.clone());
        let workspace = workspace.to_path_buf();
        self.thread = Some(std::thread::spawn(move || {
            let started = Instant::now();
            let id = call.id.clone();
            let (done_tx, done_rx) = mpsc::channel();
            let told = tx.clone();
            std::thread::spawn(move || {
                let outcome = match (mcp_of(&call, mcp.as_ref()), Workspace::new(&workspace)) {
                    (Some(servers), _) => {
                        let outcome = servers.call(&call, &stop);
                        let _ = told.send(Msg::Mcp(mcp_runner::update(servers)));
                        outcome
                    }
                    (None, Ok(ws)) => builtin::run(&call, &ws, &stop),
                    (None, Err(e)) => Outcome::failed(e),
                };
                let _ = done_tx.send(outcome);
            });
            let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let outcome = loop {
                match done_rx.recv_timeout(TICK) {
                    Ok(outcome) => break outcome,
                    Err(RecvTimeoutError::Timeout) => {
                        let progress = Msg::ToolProgress {
                            id: id.clone(),
                            elapsed_ms: ms(),
                        };
                        if tx.send(progress).is_err() {
                            return;
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        break Outcome::failed(
                            "the tool stopped without a result (a bug in reflect)",
                        )
                    }
                }
            };
            let _ = tx.send(Msg::ToolDone {
                id,
                outcome,
                elapsed_ms: ms(),
            });
        }));
    }

    /// Stops the running call, if any.
    pub fn cancel(&self) {
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::SeqCst);
        }
    }

    /// Stops the running call and waits until it has ended (its processes killed).
    pub fn finish(&mut self) {
        self.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.stop = None;
    }
}
