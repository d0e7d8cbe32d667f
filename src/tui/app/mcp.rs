//! The chat's MCP servers in its state: asked to start (once) when tools are on, at startup or
//! with `/tools on` or a profile; their tools offered beside the built-ins once they are there;
//! a server that did not start, or stopped, a banner; `/SERVER:PROMPT k=v` fills the message
//! box with a server's prompt.

use super::{App, Level};
use crate::tui::mcp_state::{McpUpdate, McpView};
use crate::tui::msg::Effect;
use std::collections::BTreeMap;

impl App {
    /// What the chat does as it opens: start the MCP servers when tools are on.
    pub fn startup(&mut self) -> Vec<Effect> {
        self.want_mcp()
    }

    /// Tools are on and the servers were not asked for yet: they start, in the background.
    pub(super) fn want_mcp(&mut self) -> Vec<Effect> {
        if !self.settings.tools.on || self.tools.mcp != McpView::Idle {
            return Vec::new();
        }
        self.tools.mcp = McpView::Starting;
        self.dirty = true;
        let workspace = self.settings.tools.workspace.clone();
        vec![Effect::StartMcp { workspace }]
    }

    /// `Msg::Mcp`: the servers' tools are offered from the next request on; each server that
    /// failed since the last update is named in a banner.
    pub(super) fn on_mcp(&mut self, update: McpUpdate) -> Vec<Effect> {
        let before = match &self.tools.mcp {
            McpView::Ready(u) => u.failures.clone(),
            McpView::Idle | McpView::Starting => Vec::new(),
        };
        let failed: Vec<String> = update
            .failures
            .iter()
            .filter(|f| !before.contains(f))
            .map(|(name, why)| format!("MCP server {name}: {why}"))
            .collect();
        if !failed.is_empty() {
            self.notify(Level::Error, failed.join("; "));
        }
        self.settings.tools.mcp.clone_from(&update.schemas);
        self.tools.mcp = McpView::Ready(update);
        self.dirty = true;
        Vec::new()
    }

    /// `/SERVER:PROMPT k=v`: asks the server for the prompt's text, once the servers are there.
    pub(super) fn mcp_prompt(
        &mut self,
        server: String,
        prompt: String,
        arguments: BTreeMap<String, String>,
    ) -> Vec<Effect> {
        let why = match &self.tools.mcp {
            McpView::Ready(_) => {
                return vec![Effect::McpPrompt {
                    server,
                    prompt,
                    arguments,
                }]
            }
            McpView::Starting => "the MCP servers are still starting: try again in a moment",
            McpView::Idle => "the MCP servers start with the tools: /tools on starts them",
        };
        self.notify(Level::Error, format!("/{server}:{prompt}: {why}"));
        Vec::new()
    }

    /// `Msg::McpPrompt`: the prompt's text fills the message box (what it held is replaced),
    /// ready to edit and send; a failure is a banner.
    pub(super) fn on_mcp_prompt(&mut self, text: Result<String, String>) -> Vec<Effect> {
        match text {
            Ok(text) => {
                self.input.put_back(&text);
                self.set_focus(super::Focus::Input);
                self.dirty = true;
            }
            Err(why) => self.notify(Level::Error, why),
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::tests::app;
    use crate::tui::msg::Msg;
    use serde_json::json;

    fn update(tools: &[&str], failures: &[(&str, &str)]) -> McpUpdate {
        McpUpdate {
            summary: format!("MCP 1/2 servers, {} tools", tools.len()),
            tools: tools.iter().map(|t| t.to_string()).collect(),
            schemas: tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t}}))
                .collect(),
            failures: failures
                .iter()
                .map(|(n, w)| (n.to_string(), w.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_servers_start_once_when_tools_come_on_and_their_tools_join_the_requests() {
        let mut a = app();
        assert!(a.startup().is_empty(), "tools are off: nothing starts");
        let started = a.run_slash(crate::tui::app::commands::Slash::Tools(Some(true)));
        assert!(matches!(started[..], [Effect::StartMcp { .. }]));
        assert_eq!(a.tools.mcp.label().as_deref(), Some("MCP starting…"));
        assert!(a.want_mcp().is_empty(), "asked once");

        a.update(Msg::Mcp(update(
            &["every__echo"],
            &[("bad", "did not start")],
        )));
        assert_eq!(
            a.ui.banner.as_ref().unwrap().text,
            "MCP server bad: did not start"
        );
        assert!(a.tools.mcp.offers("every__echo"));
        let names: Vec<_> = a
            .settings
            .tools
            .schemas()
            .iter()
            .map(|s| s["function"]["name"].clone())
            .collect();
        assert!(names.contains(&json!("every__echo")), "{names:?}");
        assert!(names.contains(&json!("read_file")), "beside the built-ins");
        assert_eq!(
            a.tools.mcp.label().as_deref(),
            Some("MCP 1/2 servers, 1 tools")
        );

        // After a call: the same failure is not told again; a new one is, its tools withdrawn.
        a.ui.banner = None;
        a.update(Msg::Mcp(update(
            &["every__echo"],
            &[("bad", "did not start")],
        )));
        assert!(a.ui.banner.is_none());
        a.update(Msg::Mcp(update(
            &[],
            &[("bad", "did not start"), ("every", "stopped")],
        )));
        assert_eq!(
            a.ui.banner.as_ref().unwrap().text,
            "MCP server every: stopped"
        );
        assert!(!a.tools.mcp.offers("every__echo"));
        assert_eq!(a.settings.tools.schemas().len(), 6, "the built-ins alone");
    }

    #[test]
    fn a_server_prompt_is_asked_for_once_the_servers_are_there_and_fills_the_box() {
        let mut a = app();
        let ask = |a: &mut App| a.mcp_prompt("every".into(), "p".into(), BTreeMap::new());
        assert!(ask(&mut a).is_empty());
        assert!(a
            .ui
            .banner
            .as_ref()
            .unwrap()
            .text
            .contains("/tools on starts them"));
        a.tools.mcp = McpView::Starting;
        assert!(ask(&mut a).is_empty());
        assert!(a
            .ui
            .banner
            .as_ref()
            .unwrap()
            .text
            .contains("still starting"));
        a.update(Msg::Mcp(update(&[], &[])));
        assert!(matches!(
            &ask(&mut a)[..],
            [Effect::McpPrompt { server, prompt, .. }] if server == "every" && prompt == "p"
        ));
        a.input.put_back("draft");
        a.update(Msg::McpPrompt(Ok("What is the weather?".into())));
        assert_eq!(a.input.text(), "What is the weather?");
        a.update(Msg::McpPrompt(Err("every: no such prompt".into())));
        assert_eq!(a.ui.banner.as_ref().unwrap().text, "every: no such prompt");
        assert_eq!(
            a.input.text(),
            "What is the weather?",
            "the box is left alone"
        );
    }
}
