//! The chat's MCP servers in its state: asked to start (once) when tools are on, at startup or
//! with `/tools on` or a profile; their tools offered beside the built-ins once they are there;
//! a server that did not start, or stopped, a banner.

use super::{App, Level};
use crate::tui::mcp_state::{McpUpdate, McpView};
use crate::tui::msg::Effect;

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
}
