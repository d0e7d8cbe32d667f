//! The TUI's state and its reducer: [`App::update`] turns a [`Msg`] into a new state and the
//! [`Effect`]s the runtime must run. Pure: no I/O, no clock, no terminal.
//!
//! `keymap` maps keys to actions and `actions` applies them; `download` follows the model's
//! download before the engine starts; `engine_events` applies what the engine reports; `commands` parses slash commands and `slash` runs them (the turns themselves live in
//! `crate::conversation`); `input` is the editor and prompt history;
//! `layout` is the pure screen layout shared with the view; `scroll` a pane's position;
//! `phase` what the status bar says the app is doing; `profile_ops` profiles ⇄ settings;
//! `tool_loop` the model's tool calls: approval, running, the next step; `mcp` the MCP
//! servers' start and tools.

mod actions;
pub mod commands;
mod download;
mod engine_events;
pub mod input;
pub mod keymap;
mod mcp;
mod mouse;
pub mod profile_ops;
mod redo;
mod slash;
#[cfg(test)]
pub(crate) mod tests;
pub mod tool_loop;

use crate::conversation::{Conversation, Turn, TurnState};
use crate::llm::{Command, ModelInfo};
use crate::settings::RunSettings;
use crate::theme::{Purpose, Theme};
use crate::tui::layout::{self, LayoutParams, Pane, PaneSet, Screen, SidePanes};
use crate::tui::msg::{Effect, Msg};
pub use crate::tui::notice::{Level, Notice};
pub use crate::tui::phase::{self, Load, Phase};
use crate::tui::scroll::Scroll;
use input::Input;
use keymap::{Focus, KeyContext};

/// The help overlay's sections: every key, then every slash command.
pub const HELP_SECTIONS: [crate::tui::text::help::Section<'static>; 2] = [
    ("Keys", keymap::HELP),
    ("Slash commands", commands::COMMANDS),
];

/// What the TUI starts from.
pub struct AppInit {
    /// Engine config, sampling, router, max_tokens, system, think_carefully, profile name,
    /// history.
    pub settings: RunSettings,
    pub theme: Theme,
    pub theme_name: String,
    /// A config/profile/theme error to show in the banner (the TUI fell back to defaults).
    pub startup_error: Option<String>,
    /// Terminal columns, rows.
    pub size: (u16, u16),
    /// Prompts typed in earlier runs, oldest first: Up recalls them.
    pub prompt_history: Vec<String>,
}

/// Focus, panes, scrolling, selection, overlays: what the user arranged.
#[derive(Clone, Debug)]
pub struct Ui {
    pub focus: Focus,
    pub panes: PaneSet,
    /// Indexed by [`Pane::index`].
    pub scroll: [Scroll; 3],
    /// An earlier turn shown in the side panes; `None`: the live (latest) turn.
    pub selected: Option<usize>,
    /// The help overlay is open, scrolled by this many lines.
    pub help: Option<u16>,
    pub banner: Option<Notice>,
    pub size: (u16, u16),
    /// Turns whose tool call blocks show their whole results (Enter on the conversation).
    pub expanded: std::collections::BTreeSet<usize>,
}

/// The whole state of the TUI.
pub struct App {
    pub(crate) settings: RunSettings,
    pub(crate) theme: Theme,
    pub(crate) theme_name: String,
    /// Bumped when the theme changes (cached lines carry the old styles).
    pub(crate) theme_rev: u64,
    pub(crate) load: Load,
    /// A Hugging Face model downloading before it loads (`--hf`).
    pub(crate) download: Option<crate::hub::Progress>,
    pub(crate) model: Option<ModelInfo>,
    /// The engine thread stopped: nothing more can be generated.
    pub(crate) engine_gone: bool,
    pub(crate) conv: Conversation,
    pub(crate) input: Input,
    pub(crate) ui: Ui,
    /// The turn whose message is back in the box (`/edit`, Up): sending replaces it.
    pub(crate) editing: Option<usize>,
    /// Tokens per second of the last finished turn.
    pub(crate) last_speed: Option<f64>,
    /// With speculative decoding: the share of drafts the last generation accepted.
    pub(crate) last_acceptance: Option<f64>,
    /// The text layout's memos (wrapped lines per block, growing answers, long lines, code):
    /// derived data the measuring and the drawing share, not state.
    pub(crate) caches: crate::tui::text::Caches,
    /// The tool loop: approvals, the running call, the step count.
    pub(crate) tools: crate::tui::tool_flow::ToolFlow,
    dirty: bool,
    quit: bool,
}

impl App {
    pub fn new(init: AppInit) -> App {
        let tools = crate::tui::tool_flow::ToolFlow::new(&init.settings.tools);
        let mut app = App {
            tools,
            settings: init.settings,
            theme: init.theme,
            theme_name: init.theme_name,
            theme_rev: 0,
            load: Load::Loading(0.0),
            download: None,
            model: None,
            engine_gone: false,
            conv: Conversation::default(),
            input: Input::with_history(init.prompt_history),
            ui: Ui {
                focus: Focus::Input,
                panes: PaneSet::default(),
                scroll: [Scroll::FOLLOW; 3],
                selected: None,
                help: None,
                banner: init.startup_error.map(|text| Notice {
                    level: Level::Error,
                    text,
                    until_done: None,
                    while_too_small: false,
                }),
                size: init.size,
                expanded: Default::default(),
            },
            editing: None,
            last_speed: None,
            last_acceptance: None,
            caches: crate::tui::text::Caches::default(),
            dirty: true,
            quit: false,
        };
        app.restyle_input();
        app.fit_input();
        app
    }

    /// The reducer: pure (no I/O, no clock, no terminal). Returns effects for the runtime.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let edits = matches!(
            msg,
            Msg::Key(_) | Msg::Paste(_) | Msg::Typed(_) | Msg::Mouse(_) | Msg::Resize(..)
        );
        let effects = self.reduce(msg);
        self.expire_banner();
        if edits {
            self.fit_input();
            // An emptied box edits nothing any more.
            if self.input.is_empty() {
                self.editing = None;
            }
        }
        effects
    }

    /// Tells the input box its size, so that it wraps there and keeps the cursor in view.
    fn fit_input(&mut self) {
        if let Some(a) = self.screen().areas() {
            self.input.fit(a.input.inner.width, a.input.inner.height);
        }
    }

    fn reduce(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Paste(text) => {
                self.ui.help = None;
                self.set_focus(Focus::Input);
                self.input.paste(&text);
                self.dirty = true;
                Vec::new()
            }
            Msg::Typed(text) => self.on_typed(&text),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.ui.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            Msg::Engine(event) => self.on_engine(event),
            Msg::Download(progress) => self.on_download(progress),
            Msg::Downloaded(result) => self.on_downloaded(result),
            Msg::ProfileLoaded(r) => self.on_profile(r),
            Msg::ThemeLoaded(r) => self.on_theme(r),
            Msg::Notice { text, error } => {
                let level = if error { Level::Error } else { Level::Info };
                self.notify(level, text);
                Vec::new()
            }
            Msg::Terminate => self.quit_effects(),
            Msg::ToolPreview { id, text } => self.on_tool_preview(&id, text),
            Msg::ApprovalArmed { id, seq } => self.on_approval_armed(&id, seq),
            Msg::ToolProgress { id, elapsed_ms } => self.on_tool_progress(&id, elapsed_ms),
            Msg::ToolDone {
                id,
                outcome,
                elapsed_ms,
            } => self.on_tool_done(&id, outcome, elapsed_ms),
            Msg::Mcp(update) => self.on_mcp(update),
            Msg::McpPrompt(text) => self.on_mcp_prompt(text),
        }
    }

    /// True when something visible changed since the last `mark_drawn()`.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The id of the generation in flight, if any.
    pub fn generating(&self) -> Option<u64> {
        self.conv.running().map(|i| self.conv.turns[i].id)
    }

    pub fn phase(&self) -> Phase {
        phase::phase(&self.load, &self.conv)
    }

    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn theme_name(&self) -> &str {
        &self.theme_name
    }

    pub fn model(&self) -> Option<&ModelInfo> {
        self.model.as_ref()
    }

    pub fn turns(&self) -> &[Turn] {
        &self.conv.turns
    }

    pub fn banner(&self) -> Option<&Notice> {
        self.ui.banner.as_ref()
    }

    pub fn ui(&self) -> &Ui {
        &self.ui
    }

    pub fn input_text(&self) -> String {
        self.input.text()
    }

    /// The turn the side panes show: the selected one, else the latest.
    pub fn shown_turn(&self) -> Option<usize> {
        self.text_source().shown_turn()
    }

    /// What the panes' text is laid out from.
    pub fn text_source(&self) -> crate::tui::text::pane_lines::Source<'_> {
        crate::tui::text::pane_lines::Source {
            turns: &self.conv.turns,
            load: &self.load,
            // Only the welcome text, before the first turn, says where thinking shows.
            side_panes: if self.conv.turns.is_empty() {
                self.side_panes()
            } else {
                SidePanes::Shown
            },
            selected: self.ui.selected,
            theme: &self.theme,
            theme_rev: self.theme_rev,
            caches: &self.caches,
            asking: self.tools.asking.as_ref(),
            expanded: &self.ui.expanded,
        }
    }

    /// Context tokens in use: the latest turn that reached the engine.
    pub fn context_used(&self) -> u32 {
        self.conv
            .turns
            .iter()
            .rev()
            .find(|t| t.prompt_tokens.is_some() || t.usage.is_some())
            .map_or(0, Turn::context_used)
    }

    /// What the layout for a terminal of `width` × `height` depends on.
    fn layout_params(&self, width: u16, height: u16) -> LayoutParams {
        let banner_lines = self
            .ui
            .banner
            .as_ref()
            .map_or(0, |n| crate::tui::text::banner::line_count(n, width));
        LayoutParams {
            width,
            height,
            panes: self.ui.panes,
            banner_lines,
            input_lines: u16::try_from(self.input.row_count(layout::input_width(width, height)))
                .unwrap_or(u16::MAX),
        }
    }

    /// The layout for a terminal of `width` × `height`.
    pub fn screen_for(&self, width: u16, height: u16) -> Screen {
        layout::layout(&self.layout_params(width, height))
    }

    /// Whether the side panes are on screen now, and if not, why.
    pub fn side_panes(&self) -> SidePanes {
        layout::side_panes(&self.layout_params(self.ui.size.0, self.ui.size.1))
    }

    /// The layout at the current terminal size.
    pub fn screen(&self) -> Screen {
        self.screen_for(self.ui.size.0, self.ui.size.1)
    }

    fn key_context(&self) -> KeyContext {
        KeyContext {
            focus: self.ui.focus,
            input_empty: self.input.is_empty(),
            busy: self.conv.running().is_some() || self.conv.queued() > 0,
            help: self.ui.help.is_some(),
            recalling: self.input.recalling(),
            can_edit: self.editing.is_none()
                && !self.conv.turns.is_empty()
                && self.conv.running().is_none()
                && self.conv.queued() == 0,
            selected: self.ui.selected.is_some(),
            banner: self.ui.banner.is_some(),
            asking: match &self.tools.asking {
                None => None,
                Some(a) if a.reason_draft.is_some() => Some(keymap::Ask::Reason),
                Some(_) => Some(keymap::Ask::Choose),
            },
        }
    }

    pub(crate) fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.ui.banner = Some(Notice {
            level,
            text: text.into(),
            until_done: None,
            while_too_small: false,
        });
        self.dirty = true;
    }

    /// A notice about the generation under way (or, when none runs, the next to start): it goes
    /// when that generation ends.
    pub(crate) fn notify_while_busy(&mut self, level: Level, text: impl Into<String>) {
        self.notify(level, text);
        let running = self.conv.running();
        if let Some(b) = &mut self.ui.banner {
            b.until_done = Some(crate::tui::notice::Generation { turn: running });
        }
    }

    /// Drops a notice about a generation once that generation has ended.
    fn expire_banner(&mut self) {
        let running = self.conv.running();
        let idle = running.is_none() && self.conv.queued() == 0;
        let fits = !matches!(self.side_panes(), SidePanes::TooSmall { .. });
        let ended = self.ui.banner.as_mut().is_some_and(|b| {
            (b.while_too_small && fits)
                || b.until_done
                    .as_mut()
                    .is_some_and(|g| g.ended(running, idle))
        });
        if ended {
            self.ui.banner = None;
            self.dirty = true;
        }
    }

    fn set_focus(&mut self, focus: Focus) {
        if self.ui.focus != focus {
            self.ui.focus = focus;
            self.restyle_input();
        }
    }

    fn restyle_input(&mut self) {
        let text = crate::tui::text::style::of(&self.theme, Purpose::Text);
        let muted = crate::tui::text::style::of(&self.theme, Purpose::Muted);
        self.input
            .restyle(text, muted, self.ui.focus == Focus::Input);
    }

    /// Sends the first queued turn when the engine is free.
    fn dispatch_next(&mut self) -> Vec<Effect> {
        if self.load != Load::Ready || self.engine_gone || self.conv.running().is_some() {
            return Vec::new();
        }
        let Some(i) = self.conv.turns.iter().position(Turn::is_queued) else {
            return Vec::new();
        };
        let id = self.conv.next_id;
        self.conv.next_id += 1;
        let s = &self.settings;
        let sent = s.to_send(&self.conv.turns[i].prompt);
        let seed = self.conv.turns[i].seed;
        let request = s.request(id, &self.conv.turns[..i], &sent, seed);
        let turn = &mut self.conv.turns[i];
        turn.id = id;
        turn.sent = sent;
        turn.state = TurnState::Running;
        self.tools.begin_turn(self.settings.tools.max_steps);
        self.dirty = true;
        vec![Effect::Engine(Command::Generate(request))]
    }

    /// Asks the engine to stop the running generation; between two steps of a tool turn, the
    /// call asked about is denied, or the running call stopped.
    fn cancel_running(&mut self) -> Vec<Effect> {
        if self.tools.busy() {
            return self.cancel_tools();
        }
        let Some(i) = self.conv.running() else {
            return Vec::new();
        };
        let turn = &mut self.conv.turns[i];
        turn.cancel_requested = true;
        self.dirty = true;
        vec![Effect::Cancel(turn.id)]
    }

    fn quit_effects(&mut self) -> Vec<Effect> {
        let mut effects = self.cancel_running();
        self.quit = true;
        effects.push(Effect::Quit);
        effects
    }

    /// Continues a saved conversation: its turns come first, as if answered in this chat.
    pub fn resume(&mut self, turns: Vec<Turn>, note: impl Into<String>) {
        self.conv.turns.splice(0..0, turns);
        self.caches.clear();
        self.notify(Level::Info, note);
    }

    /// The loaded model's name.
    pub fn model_name(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.name.as_str())
    }

    /// Drops the conversation (cancelling what runs) and starts afresh.
    fn new_conversation(&mut self) -> Vec<Effect> {
        let mut effects = self.cancel_running();
        // The old conversation is saved as it stands (a running turn as interrupted).
        effects.push(Effect::NewSession(std::mem::take(&mut self.conv.turns)));
        self.tools.begin_turn(self.settings.tools.max_steps);
        self.ui.expanded.clear();
        self.editing = None;
        self.ui.selected = None;
        self.ui.scroll = [Scroll::FOLLOW; 3];
        self.caches.clear();
        self.notify(Level::Info, "New conversation");
        effects
    }
}

impl Ui {
    /// The scroll state of `pane`.
    pub fn scroll(&self, pane: Pane) -> Scroll {
        self.scroll[pane.index()]
    }
}
