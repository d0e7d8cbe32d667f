//! Runs slash commands, and applies the answers to the ones that need the runtime (profiles,
//! themes).

use super::commands::Slash;
use super::profile_ops::{apply_profile, apply_setting, describe, profile_from_settings};
use super::{App, Level};
use crate::profile::Profile;
use crate::term_safe::neutralise;
use crate::theme::Theme;
use crate::tui::msg::Effect;
use crate::tui::tool_flow::ToolFlow;

impl App {
    pub(super) fn run_slash(&mut self, command: Slash) -> Vec<Effect> {
        self.dirty = true;
        match command {
            Slash::Profile(name) => return vec![Effect::LoadProfile(name)],
            Slash::Theme(name) => return vec![Effect::LoadTheme(name)],
            Slash::ListProfiles => return vec![Effect::ListProfiles],
            Slash::ListThemes => return vec![Effect::ListThemes],
            Slash::Think(on) => {
                let on = on.unwrap_or(!self.settings.think_carefully);
                self.settings.think_carefully = on;
                let state = if on { "on" } else { "off" };
                self.notify(Level::Info, format!("Think carefully: {state}"));
            }
            Slash::Set(setting) => {
                let now = apply_setting(&mut self.settings, &setting);
                self.notify(Level::Info, now);
            }
            Slash::ShowSettings => {
                let now = describe(&self.settings);
                self.notify(Level::Info, now);
            }
            Slash::System(None) => {
                let text = match &self.settings.system {
                    Some(s) => format!("System prompt: {s}"),
                    None => "No system prompt (/system TEXT sets one)".into(),
                };
                self.notify(Level::Info, text);
            }
            Slash::System(Some(text)) => {
                let said = if text.is_some() {
                    "System prompt replaced"
                } else {
                    "System prompt removed"
                };
                self.settings.system = text;
                self.notify(Level::Info, said);
            }
            Slash::SaveProfile(name) => {
                return vec![Effect::SaveProfile(profile_from_settings(
                    &self.settings,
                    &name,
                ))]
            }
            Slash::Budget(None) => {
                let text = match self.settings.budget.limit {
                    Some(0) => "Thinking budget: 0 (answers without thinking)".to_string(),
                    Some(n) => format!("Thinking budget: {n} tokens (/budget off lifts it)"),
                    None => "No thinking budget (/budget N sets one)".to_string(),
                };
                self.notify(Level::Info, text);
            }
            Slash::Budget(Some(limit)) => {
                self.settings.budget.limit = limit;
                let text = match limit {
                    Some(0) => "Thinking budget: 0, the next answers come without thinking".into(),
                    Some(n) => format!("Thinking budget: {n} tokens from the next message"),
                    None => "Thinking budget lifted".to_string(),
                };
                self.notify(Level::Info, text);
            }
            Slash::Tools(None) => {
                let text = tools_listing(&self.settings.tools, &self.tools);
                self.notify(Level::Info, text);
            }
            Slash::Tools(Some(on)) => {
                self.settings.tools.on = on;
                let text = if on {
                    "Tools on: the next messages offer the model its tools (/tools lists them)"
                } else {
                    "Tools off: the next messages offer no tools"
                };
                self.notify(Level::Info, text);
                return self.want_mcp();
            }
            Slash::Retry => return self.retry(),
            Slash::Edit => self.edit_last(),
            Slash::Queue => self.list_queue(),
            Slash::Unqueue(which) => self.unqueue(which),
            Slash::Clear => return self.new_conversation(),
            Slash::Help => self.ui.help = Some(0),
            Slash::Quit => return self.quit_effects(),
            Slash::McpPrompt {
                server,
                prompt,
                arguments,
            } => return self.mcp_prompt(server, prompt, arguments),
        }
        Vec::new()
    }

    /// The answer to `Effect::LoadProfile`.
    pub(super) fn on_profile(&mut self, loaded: Result<Profile, String>) -> Vec<Effect> {
        match loaded {
            Ok(p) => {
                let tools_were = self.settings.tools.on;
                apply_profile(&mut self.settings, &p);
                let name = neutralise(&p.name).into_owned();
                let tools = match (tools_were, self.settings.tools.on) {
                    (false, true) => "; tools on (/tools lists them)",
                    _ => "",
                };
                self.notify(Level::Info, format!("Profile {name} applied{tools}"));
                return self.want_mcp();
            }
            Err(e) => self.notify(Level::Error, neutralise(&e).into_owned()),
        }
        Vec::new()
    }

    /// The answer to `Effect::LoadTheme`.
    pub(super) fn on_theme(&mut self, loaded: Result<Theme, String>) -> Vec<Effect> {
        match loaded {
            Ok(theme) => {
                self.theme_name = theme.name.clone();
                self.theme = theme;
                self.theme_rev += 1;
                self.restyle_input();
                let name = neutralise(&self.theme_name).into_owned();
                self.notify(Level::Info, format!("Theme {name}"));
            }
            Err(e) => self.notify(Level::Error, neutralise(&e).into_owned()),
        }
        Vec::new()
    }
}

/// `/tools`: whether tools are on, and each tool with its policy (those not offered, and those
/// `a` allowed for the session, marked); then the MCP servers and their tools.
pub fn tools_listing(tools: &crate::tools::ToolSettings, flow: &ToolFlow) -> String {
    use crate::tools::Policy;
    let builtins = crate::tools::builtin::BUILTINS.iter().map(|b| b.name);
    let mcp = flow.mcp.tools().iter().map(String::as_str);
    let list: Vec<String> = builtins
        .chain(mcp)
        .map(|name| {
            let policy = tools.policies.get(name);
            if !tools.offered.iter().any(|o| o == name) && !flow.mcp.offers(name) {
                format!("{name} (not offered)")
            } else if policy == Policy::Ask && flow.approval.always_allowed(name) {
                format!("{name} (allowed this session)")
            } else {
                format!("{name} ({})", policy.as_str())
            }
        })
        .collect();
    let state = if tools.on {
        "Tools on (/tools off stops offering them)"
    } else {
        "Tools off (/tools on offers them)"
    };
    let servers = match flow.mcp.label() {
        Some(label) => format!(" · {label}"),
        None => String::new(),
    };
    format!("{state}{servers}: {}", list.join(", "))
}
