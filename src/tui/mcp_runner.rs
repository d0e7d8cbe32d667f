//! The chat's MCP servers, for the runtime: read from mcp.json and a trusted project
//! `.mcp.json`, started on a thread of their own (typing never waits for them), and held for
//! the tool runner. What the state needs to know comes as `Msg::Mcp` (and notices: a broken
//! file, a project file not trusted yet).

use super::mcp_state::McpUpdate;
use super::msg::Msg;
use crate::mcp::{Servers, Sources};
use crate::settings::Context;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

/// The servers once started.
#[derive(Default)]
pub struct McpRunner {
    slot: Arc<Mutex<Option<Arc<Servers>>>>,
    asked: bool,
}

/// What the state hears of `servers`.
pub fn update(servers: &Servers) -> McpUpdate {
    let tools = servers.tools();
    McpUpdate {
        summary: if servers.servers().is_empty() {
            String::new()
        } else {
            servers.summary()
        },
        tools: tools.into_iter().map(|(_, t)| t.name).collect(),
        schemas: servers.schemas(),
        failures: servers.failures(),
    }
}

impl McpRunner {
    /// Starts the servers configured for `workspace` (once a chat): a broken file or an
    /// untrusted project file is a notice; the servers' tools come as `Msg::Mcp` when they
    /// all started or failed.
    pub fn start(&mut self, ctx: &Context, workspace: &Path, tx: &Sender<Msg>) {
        if std::mem::replace(&mut self.asked, true) {
            return;
        }
        let env = &ctx.env;
        let loaded = Sources::load(
            env.config_dir.as_deref(),
            env.data_dir.as_deref(),
            workspace,
        );
        let sources = match loaded {
            Ok(s) => s,
            Err(e) => {
                let text = format!("MCP servers not started: {e}");
                let _ = tx.send(Msg::Notice { text, error: true });
                let _ = tx.send(Msg::Mcp(McpUpdate::default()));
                return;
            }
        };
        if let Some(p) = sources.untrusted() {
            let text = format!(
                "{} names MCP servers that start only once you trust it: run `reflect mcp trust` \
                 in {}, then restart the chat",
                p.file.display(),
                workspace.display()
            );
            let _ = tx.send(Msg::Notice { text, error: false });
        }
        let started = Servers::start_in_background(sources.to_start());
        let (slot, tx) = (self.slot.clone(), tx.clone());
        std::thread::spawn(move || {
            let text = match started.recv() {
                Ok(Ok(servers)) => {
                    let msg = Msg::Mcp(update(&servers));
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(servers));
                    let _ = tx.send(msg);
                    return;
                }
                Ok(Err(text)) => text,
                Err(_) => "the MCP servers' start was lost".into(),
            };
            let _ = tx.send(Msg::Notice { text, error: true });
            let _ = tx.send(Msg::Mcp(McpUpdate::default()));
        });
    }

    /// The servers, once started.
    pub fn servers(&self) -> Option<Arc<Servers>> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Gets `server`'s prompt on a thread of its own; its text (or why not) comes as
    /// `Msg::McpPrompt`.
    pub fn prompt(
        &self,
        server: String,
        prompt: String,
        arguments: std::collections::BTreeMap<String, String>,
        tx: &Sender<Msg>,
    ) {
        let servers = self.servers();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let text = match servers {
                Some(s) => s.prompt(&server, &prompt, arguments),
                None => Err("no MCP server is running".into()),
            };
            let _ = tx.send(Msg::McpPrompt(text));
        });
    }

    /// The chat ends: the servers are stopped (their process groups), and any still starting
    /// are killed.
    pub fn finish(&mut self) {
        let servers = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(servers);
        if self.asked {
            crate::mcp::stop_all();
        }
    }
}
