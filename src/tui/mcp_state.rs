//! The chat's MCP servers as its state holds them: plain values that the runtime sends once
//! the servers started and after each call of theirs (`Msg::Mcp`), read by the tool loop (which
//! names are MCP tools), the status bar and `/tools`.

use serde_json::Value;

/// What the runtime says of the servers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct McpUpdate {
    /// `MCP 2/3 servers, 27 tools`; empty when no server is configured.
    pub summary: String,
    /// Each running tool's offered name (`SERVER__TOOL`), in the servers' order.
    pub tools: Vec<String>,
    /// Their schemas in the OpenAI function shape, for the requests.
    pub schemas: Vec<Value>,
    /// The servers that did not start or stopped since: (name, why).
    pub failures: Vec<(String, String)>,
}

/// Where the chat's servers stand.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum McpView {
    /// Not asked for (tools have been off so far).
    #[default]
    Idle,
    /// Starting in the background: typing goes on.
    Starting,
    /// Started (or none configured: an empty update).
    Ready(McpUpdate),
}

impl McpView {
    /// Whether `name` is a running MCP server's tool.
    pub fn offers(&self, name: &str) -> bool {
        self.tools().iter().any(|t| t == name)
    }

    /// The running servers' tools.
    pub fn tools(&self) -> &[String] {
        match self {
            McpView::Ready(u) => &u.tools,
            McpView::Idle | McpView::Starting => &[],
        }
    }

    /// The status bar's segment: `MCP starting…`, the summary, or nothing (no server).
    pub fn label(&self) -> Option<String> {
        match self {
            McpView::Idle => None,
            McpView::Starting => Some("MCP starting…".into()),
            McpView::Ready(u) => (!u.summary.is_empty()).then(|| u.summary.clone()),
        }
    }
}
