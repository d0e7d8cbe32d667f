//! The MCP client: the tools and prompts of Model Context Protocol servers, configured in
//! `mcp.json` (config directory) and a project's trusted `.mcp.json`, offered to the model as
//! `SERVER__TOOL` with the same approval as the built-in tools.
//!
//! [`Servers`] is the seam for the tool loops; [`commands`] are `reflect mcp list|call|trust`.

pub mod client;
pub mod commands;
pub mod config;
pub mod content;
pub mod group;
pub mod naming;
pub mod prompts;
pub mod servers;
pub mod sources;
pub mod trust;

pub use client::{Prompt, Tool};
pub use config::{ServerSpec, Transport};
pub use group::stop_all;
pub use servers::{Server, Servers, State};
pub use sources::Sources;
