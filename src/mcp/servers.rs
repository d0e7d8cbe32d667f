//! All configured MCP servers, started together: the seam the tool loops use. Blocking calls
//! on a runtime of its own (so a caller needs none): [`Servers::start`] starts every server in
//! parallel; [`Servers::schemas`] gives the running servers' tools in the OpenAI function shape
//! for `GenerateRequest.tools`; [`Servers::call`] runs one call. A server that failed to start
//! or stopped (a crash mid-call) has its tools withdrawn; the others go on.

use super::client::{self, Connection, Ended, Prompt, Tool};
use super::config::ServerSpec;
use crate::tools::{Outcome, ToolCall};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long the servers have to end on their own when reflect stops them.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Where a server stands.
#[derive(Clone)]
pub enum State {
    Running(Arc<Connection>),
    /// Did not start, or stopped: why.
    Failed(String),
}

/// One configured server and where it stands.
pub struct Server {
    pub spec: ServerSpec,
    state: Mutex<State>,
}

impl Server {
    pub fn state(&self) -> State {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fail(&self, why: String) {
        tracing::warn!(target: "reflect::mcp", "{}: {why}", self.spec.name);
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Failed(why);
    }

    /// The connection, while it lasts (a server that exited since is marked failed now).
    fn running(&self) -> Option<Arc<Connection>> {
        match self.state() {
            State::Running(c) if c.is_closed() => {
                self.fail("stopped (its tools are withdrawn)".into());
                None
            }
            State::Running(c) => Some(c),
            State::Failed(_) => None,
        }
    }
}

/// The servers, and the runtime their connections live on.
pub struct Servers {
    servers: Vec<Server>,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Servers {
    /// Starts every server, in parallel; returns once each started or failed (each within
    /// its own start timeout).
    pub fn start(specs: Vec<ServerSpec>) -> Result<Servers, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mcp")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the MCP runtime: {e}"))?;
        let started = runtime.block_on(async {
            let tasks: Vec<_> = specs
                .iter()
                .map(|s| {
                    let s = s.clone();
                    tokio::spawn(async move { client::connect(&s).await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap_or_else(|e| Err(format!("failed: {e}"))));
            }
            out
        });
        let servers = specs
            .into_iter()
            .zip(started)
            .map(|(spec, r)| {
                let state = match r {
                    Ok(c) => State::Running(Arc::new(c)),
                    Err(why) => {
                        tracing::warn!(target: "reflect::mcp", "{}: {why}", spec.name);
                        State::Failed(why)
                    }
                };
                Server {
                    spec,
                    state: Mutex::new(state),
                }
            })
            .collect();
        Ok(Servers {
            servers,
            runtime: Some(runtime),
        })
    }

    /// [`start`](Self::start) on a thread of its own, so that starting never blocks typing: the
    /// receiver hears once every server started or failed.
    pub fn start_in_background(specs: Vec<ServerSpec>) -> mpsc::Receiver<Result<Servers, String>> {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("mcp-start".into()).spawn({
            let tx = tx.clone();
            move || {
                let _ = tx.send(Servers::start(specs));
            }
        });
        if let Err(e) = spawned {
            let _ = tx.send(Err(format!("cannot start the MCP servers: {e}")));
        }
        rx
    }

    /// The servers that did not start or stopped, with why: one banner (chat) or one stderr
    /// line (pipe mode) each, e.g. `MCP server fs: did not start within 30 s`.
    pub fn failures(&self) -> Vec<(String, String)> {
        self.servers
            .iter()
            .filter_map(|s| match s.state() {
                State::Failed(why) => Some((s.spec.name.clone(), why)),
                State::Running(_) => None,
            })
            .collect()
    }

    /// For the status bar and `/tools`: `MCP 2/3 servers, 27 tools`.
    pub fn summary(&self) -> String {
        let running = self
            .servers
            .iter()
            .filter(|s| s.running().is_some())
            .count();
        let tools = self.tools().len();
        format!(
            "MCP {running}/{} servers, {tools} tools",
            self.servers.len()
        )
    }

    /// What the approval prompt shows for a call of an MCP tool: the server, the tool's own
    /// name and the whole arguments (reflect cannot know what they mean).
    pub fn preview(&self, call: &ToolCall) -> String {
        let args = serde_json::to_string_pretty(&call.arguments).unwrap_or_default();
        match self.find(&call.name) {
            Some((server, tool)) => format!("MCP server {server}, tool {}:\n{args}", tool.original),
            None => format!("{}:\n{args}", call.name),
        }
    }

    /// Every configured server, in order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The running servers' tools, in the OpenAI function shape (`GenerateRequest.tools`).
    pub fn schemas(&self) -> Vec<Value> {
        self.tools()
            .iter()
            .map(|(_, t)| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.schema,
                }})
            })
            .collect()
    }

    /// Every running server's tools, with the server's name.
    pub fn tools(&self) -> Vec<(String, Tool)> {
        self.servers
            .iter()
            .filter_map(|s| s.running().map(|c| (s, c)))
            .flat_map(|(s, c)| {
                c.tools
                    .iter()
                    .map(|t| (s.spec.name.clone(), t.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every running server's prompts, with the server's name.
    pub fn prompts(&self) -> Vec<(String, Prompt)> {
        self.servers
            .iter()
            .filter_map(|s| s.running().map(|c| (s, c)))
            .flat_map(|(s, c)| {
                c.prompts
                    .iter()
                    .map(|p| (s.spec.name.clone(), p.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The running tool offered as `name` (`SERVER__TOOL`), with its server's name.
    pub fn find(&self, name: &str) -> Option<(String, Tool)> {
        self.tools().into_iter().find(|(_, t)| t.name == name)
    }

    /// The text of `server`'s prompt `name` with `arguments` (`/SERVER:PROMPT k=v` in the
    /// chat fills the message box with it): an error says what failed, for a banner.
    pub fn prompt(
        &self,
        server: &str,
        name: &str,
        arguments: std::collections::BTreeMap<String, String>,
    ) -> Result<String, String> {
        let found = self.servers.iter().find(|s| s.spec.name == server);
        let found = found.ok_or_else(|| format!("no MCP server '{server}'"))?;
        let limit = found.spec.call_timeout;
        let conn = found
            .running()
            .ok_or_else(|| format!("MCP server '{server}' is not running"))?;
        if !conn.prompts.iter().any(|p| p.name == name) {
            return Err(format!("MCP server '{server}' has no prompt '{name}'"));
        }
        let name = name.to_string();
        let runtime = self
            .runtime
            .as_ref()
            .ok_or("the MCP servers were stopped")?;
        let (done, result) = mpsc::channel();
        runtime.spawn(async move {
            let text = tokio::time::timeout(limit, conn.get_prompt(&name, &arguments)).await;
            let late = || format!("no answer within {} s", client::secs(limit));
            let _ = done.send(text.unwrap_or_else(|_| Err(late())));
        });
        let text = result
            .recv()
            .map_err(|_| "the prompt request was lost".to_string())?;
        text.map_err(|e| format!("{server}: {e}"))
    }

    /// Runs `call` (a tool [`find`](Self::find) knows), blocking until it ends, times out
    /// (its server's `tool_timeout_sec`) or `stop` is set; both of the latter cancel it on the
    /// server. A server that stopped during the call is withdrawn.
    pub fn call(&self, call: &ToolCall, stop: &AtomicBool) -> Outcome {
        self.call_within(call, stop, None)
    }

    /// [`call`](Self::call) with another time limit.
    pub fn call_within(
        &self,
        call: &ToolCall,
        stop: &AtomicBool,
        limit: Option<Duration>,
    ) -> Outcome {
        let found = self.servers.iter().find_map(|s| {
            let c = s.running()?;
            let t = c.tools.iter().find(|t| t.name == call.name)?.clone();
            Some((s, c, t))
        });
        let Some((server, conn, tool)) = found else {
            return Outcome::failed(format!("unknown tool '{}'", call.name));
        };
        let limit = limit.unwrap_or(server.spec.call_timeout);
        let flag = Arc::new(AtomicBool::new(false));
        let (done, ended) = mpsc::channel();
        let (args, task_flag, task_conn, original) = (
            call.arguments.clone(),
            flag.clone(),
            conn.clone(),
            tool.original.clone(),
        );
        let Some(runtime) = &self.runtime else {
            return Outcome::failed("the MCP servers were stopped");
        };
        runtime.spawn(async move {
            let _ = done.send(task_conn.call(&original, args, limit, task_flag).await);
        });
        // The caller's flag is a borrow: copied into the task's own while waiting.
        let ended = loop {
            match ended.recv_timeout(Duration::from_millis(20)) {
                Ok(e) => break e,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if stop.load(Ordering::SeqCst) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Ended::Failed {
                        message: "the call was lost".into(),
                        closed: false,
                    }
                }
            }
        };
        if matches!(ended, Ended::Failed { closed: true, .. }) || conn.is_closed() {
            server.fail("stopped (its tools are withdrawn)".into());
        }
        client::outcome(&server.spec.name, &tool.original, ended, limit)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // Each server is asked to end (stdin closed) and given a moment; then the connections
        // (and their process groups: SIGTERM, SIGKILL) go, then the runtime, without waiting
        // for its tasks (a drop may happen inside another runtime).
        let running: Vec<_> = self.servers.iter().filter_map(Server::running).collect();
        running.iter().for_each(|c| c.begin_close());
        let deadline = std::time::Instant::now() + CLOSE_GRACE;
        while running.iter().any(|c| c.process_alive()) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(running);
        self.servers.clear();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
