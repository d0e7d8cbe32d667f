//! Applies keymap actions to the state: sending, editing, focus, scrolling, selection,
//! panes, overlays.

use super::commands::{self, Line};
use super::keymap::{self, Action, Focus};
use super::{App, Level, Load, Phase};
use crate::conversation::{Turn, TurnState};
use crate::tui::layout::{Pane, SidePanes, WIDE};
use crate::tui::msg::Effect;
use crate::tui::scroll::Scroll;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let action = keymap::action(key, &self.key_context());
        self.act(action)
    }

    /// A run of plain characters: each as its key while one may do more than type (the first
    /// closes the help, focuses the box, or `?` on an empty box opens the help), then the rest
    /// of the run into the box at once, as those keys would type it.
    pub(super) fn on_typed(&mut self, text: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut rest = text.chars();
        // While a call is asked about, each character is a key of its own (typing holds the
        // prompt; y / a / n answer it only after a pause).
        while self.ui.focus != Focus::Input
            || self.ui.help.is_some()
            || self.input.is_empty()
            || self.tools.asking.is_some()
        {
            let Some(c) = rest.next() else {
                return effects;
            };
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            effects.extend(self.on_key(key));
        }
        if !rest.as_str().is_empty() {
            self.input.type_str(rest.as_str());
            self.dirty = true;
        }
        effects
    }

    /// Applies one action.
    pub(crate) fn act(&mut self, action: Action) -> Vec<Effect> {
        if let Action::Edit(key) = action {
            if self.input.edit(key) {
                self.dirty = true;
            }
            return Vec::new();
        }
        if action == Action::Nothing {
            return Vec::new();
        }
        self.dirty = true;
        if !matches!(action, Action::HelpScroll(_) | Action::ShowHelp) {
            self.ui.help = None;
        }
        match action {
            Action::Send => return self.send(),
            Action::Newline => {
                self.set_focus(Focus::Input);
                self.input.newline();
            }
            Action::TypeInInput(key) => {
                self.set_focus(Focus::Input);
                self.input.edit(key);
            }
            Action::HistoryPrev => {
                self.editing = None;
                self.input.recall_prev();
            }
            Action::HistoryNext => {
                self.editing = None;
                self.input.recall_next();
            }
            Action::EditLast => self.edit_last(),
            Action::AnswerNow => return self.answer_now(),
            Action::FocusNext | Action::FocusPrev => {
                self.cycle_focus(if action == Action::FocusNext { 1 } else { -1 });
                // Tab reaches only the conversation: say where the other panes went.
                self.too_small_for_side_panes();
            }
            Action::FocusInput => self.set_focus(Focus::Input),
            Action::ScrollLines(n) => self.scroll_by(self.target_pane(), n),
            Action::ScrollPages(n) => {
                let pane = self.target_pane();
                let page = self.pane_height(pane).saturating_sub(1).max(1);
                self.scroll_by(pane, n.saturating_mul(page as isize));
            }
            Action::ScrollTop => self.ui.scroll[self.target_pane().index()] = Scroll::TOP,
            Action::Follow => {
                self.ui.scroll[self.target_pane().index()] = Scroll::FOLLOW;
                if self.ui.selected.is_some() {
                    self.select_live();
                }
            }
            Action::Cancel => return self.cancel(),
            Action::Quit => return self.quit_effects(),
            Action::ClearInput => self.input.clear(),
            Action::ToggleThink => {
                let on = !self.settings.think_carefully;
                self.settings.think_carefully = on;
                let state = if on { "on" } else { "off" };
                self.notify(Level::Info, format!("Think carefully: {state}"));
            }
            Action::ShowHelp => self.ui.help = Some(0),
            Action::CloseHelp => self.ui.help = None,
            Action::HelpScroll(n) => self.help_scroll(n),
            Action::Copy => return self.copy(),
            Action::NewConversation => return self.new_conversation(),
            Action::SelectPrev => self.select_step(-1),
            Action::SelectNext => self.select_step(1),
            Action::SelectLive => self.select_live(),
            // Too small for side panes, F2, F3 and F4 would change only what a larger window
            // shows: they say why instead.
            Action::TogglePane(pane) => {
                if !self.too_small_for_side_panes() {
                    self.toggle_pane(pane);
                }
            }
            Action::Maximise => {
                // (A maximised pane leaves the side panes `Off`: F4 restores it.)
                if !self.too_small_for_side_panes() {
                    let pane = self.target_pane();
                    let panes = &mut self.ui.panes;
                    panes.maximised = (panes.maximised != Some(pane)).then_some(pane);
                }
            }
            Action::DismissBanner => self.ui.banner = None,
            Action::Answer(answer) => return self.answer_call(answer),
            Action::HoldApproval => return self.hold_approval(),
            Action::ToggleCalls => self.toggle_calls(),
            Action::Edit(_) | Action::Nothing => {}
        }
        Vec::new()
    }

    /// Scrolls the help overlay by `n` lines, within its length.
    fn help_scroll(&mut self, n: isize) {
        let at = self.ui.help.unwrap_or(0);
        let (w, h) = self.ui.size;
        let max = crate::tui::text::help::max_scroll(&super::HELP_SECTIONS, w, h);
        let to = at
            .saturating_add_signed(n.clamp(-1000, 1000) as i16)
            .min(max);
        self.ui.help = Some(to);
    }

    /// Enter: a message to queue and send, or a command to run.
    fn send(&mut self) -> Vec<Effect> {
        if self.tools.typing_reason() {
            return self.deny_with_reason();
        }
        let text = self.input.text();
        if text.trim().is_empty() {
            return Vec::new();
        }
        let mut effects = match commands::parse(&text) {
            Line::Message(message) => self.send_message(message),
            Line::Command(c) => {
                self.editing = None;
                self.input.take();
                self.run_slash(c)
            }
            Line::Error(e) => {
                self.editing = None;
                // As after a command that fails later: the box is cleared, and Up brings the
                // command back to fix it.
                self.input.take();
                self.notify(Level::Error, format!("{e} (Up brings the command back)"));
                Vec::new()
            }
        };
        // Kept for later runs once it left the box (a message that could not be sent stays).
        if self.input.text().is_empty() {
            effects.push(Effect::RememberPrompt(text));
        }
        effects
    }

    fn send_message(&mut self, message: String) -> Vec<Effect> {
        if let Load::Failed(why) = &self.load {
            let text = format!("cannot send: the model did not load: {why}");
            self.notify(Level::Error, text);
            return Vec::new();
        }
        if self.engine_gone {
            self.notify(
                Level::Error,
                "cannot send: the engine stopped; restart reflect",
            );
            return Vec::new();
        }
        self.input.take();
        self.ui.banner = None;
        self.replace_edited();
        self.conv.turns.push(Turn::queued(message));
        self.select_live();
        self.dispatch_next()
    }

    /// Esc / Ctrl+C while busy: cancel the running generation (saying that the next queued
    /// message then starts), else the queued messages.
    fn cancel(&mut self) -> Vec<Effect> {
        if self.conv.running().is_some() {
            let queued = self.conv.queued();
            if queued > 0
                && !self
                    .conv
                    .running()
                    .is_some_and(|i| self.conv.turns[i].cancel_requested)
            {
                let more = if queued == 1 {
                    "the queued message".to_string()
                } else {
                    format!("the next of {queued} queued messages")
                };
                self.notify_while_busy(
                    Level::Info,
                    format!(
                        "Stopping this answer; {more} starts next (Esc again stops that too, \
                         /unqueue all empties the queue)"
                    ),
                );
            }
            return self.cancel_running();
        }
        for t in self.conv.turns.iter_mut().filter(|t| t.is_queued()) {
            t.state = TurnState::Interrupted;
        }
        Vec::new()
    }

    /// Ctrl+G / F5: the running answer stops thinking at the next token and answers. While it
    /// answers already there is nothing to end, and a hint says so.
    fn answer_now(&mut self) -> Vec<Effect> {
        let Some(i) = self.conv.running() else {
            self.notify(Level::Info, "Answer now: nothing is being answered");
            return Vec::new();
        };
        let turn = &self.conv.turns[i];
        let id = turn.id;
        match crate::tui::phase::of_turn(turn) {
            Phase::Answering => {
                self.notify(
                    Level::Info,
                    "Already answering: answer now (Ctrl+G) ends the thinking only",
                );
                Vec::new()
            }
            Phase::Cancelling => Vec::new(),
            _ => {
                self.notify_while_busy(
                    Level::Info,
                    "Answering now: the thinking ends at the next token",
                );
                vec![Effect::AnswerNow(id)]
            }
        }
    }

    /// Ctrl+Y: the selected turn's answer, else the last one, as the screen shows it.
    fn copy(&mut self) -> Vec<Effect> {
        let answer = match self.ui.selected.and_then(|i| self.conv.turns.get(i)) {
            Some(t) => Some(t.answer.trim()).filter(|a| !a.is_empty()),
            None => self.conv.last_answer(),
        };
        // What the screen shows: the model's control characters as their stand-ins, so that
        // pasting the copy cannot replay an escape sequence.
        match answer.map(|a| crate::term_safe::neutralise(a).into_owned()) {
            Some(text) => {
                let n = text.chars().count();
                self.notify(Level::Info, format!("Copied the answer ({n} characters)"));
                vec![Effect::Copy(text)]
            }
            None => {
                self.notify(Level::Info, "No answer to copy yet");
                Vec::new()
            }
        }
    }

    /// The pane scroll keys act on: the focused one, the conversation from the input.
    fn target_pane(&self) -> Pane {
        self.ui.focus.pane().unwrap_or(Pane::Output)
    }

    /// Panes that are on screen now, in focus order.
    fn visible_panes(&self) -> Vec<Pane> {
        let screen = self.screen();
        let Some(areas) = screen.areas() else {
            return Vec::new();
        };
        Pane::ALL
            .into_iter()
            .filter(|p| areas.pane(*p).is_some_and(|a| a.inner.height > 0))
            .collect()
    }

    fn cycle_focus(&mut self, step: isize) {
        let mut order = vec![Focus::Input];
        order.extend(self.visible_panes().into_iter().map(Focus::of));
        let at = order.iter().position(|f| *f == self.ui.focus).unwrap_or(0) as isize;
        let next = (at + step).rem_euclid(order.len() as isize) as usize;
        self.set_focus(order[next]);
    }

    /// Text rows of `pane` on screen now (0 when hidden).
    pub(crate) fn pane_height(&self, pane: Pane) -> usize {
        self.screen()
            .areas()
            .and_then(|a| a.pane(pane))
            .map_or(0, |a| usize::from(a.inner.height))
    }

    fn pane_width(&self, pane: Pane) -> u16 {
        self.screen()
            .areas()
            .and_then(|a| a.pane(pane))
            .map_or(0, |a| a.inner.width)
    }

    pub(crate) fn scroll_by(&mut self, pane: Pane, delta: isize) {
        let height = self.pane_height(pane);
        if height == 0 {
            return;
        }
        let (src, width) = (self.text_source(), self.pane_width(pane));
        let total = crate::tui::text::pane_lines::total_lines(&src, pane, width);
        let below = crate::tui::text::pane_lines::follow_below(&src, pane, width, height);
        self.ui.scroll[pane.index()].by_to(delta, total, total - below, height);
    }

    /// Alt+Up / Alt+Down: an earlier or later turn; at the live one (the running turn, else the
    /// latest) or past the latest, the live turn.
    fn select_step(&mut self, step: isize) {
        let Some(last) = self.conv.turns.len().checked_sub(1) else {
            return;
        };
        let live = self.text_source().live_turn().unwrap_or(last);
        let at = self.ui.selected.unwrap_or(live) as isize;
        let to = (at + step).clamp(0, last as isize) as usize;
        if to == live || (to == last && self.ui.selected == Some(last)) {
            self.select_live();
        } else {
            self.select(to, true);
        }
    }

    /// Shows turn `i` in the side panes (from their top); `reveal` scrolls the conversation to
    /// its question.
    pub(crate) fn select(&mut self, i: usize, reveal: bool) {
        if i >= self.conv.turns.len() {
            return;
        }
        self.ui.selected = Some(i);
        self.ui.scroll[Pane::Thinking.index()] = Scroll::TOP;
        self.ui.scroll[Pane::Reflection.index()] = Scroll::TOP;
        if reveal {
            let width = self.pane_width(Pane::Output);
            let line = crate::tui::text::pane_lines::turn_first_line(&self.text_source(), i, width);
            self.ui.scroll[Pane::Output.index()] = Scroll::hold(line);
        }
        self.dirty = true;
    }

    pub(crate) fn select_live(&mut self) {
        self.ui.selected = None;
        self.ui.scroll = [Scroll::FOLLOW; 3];
        self.dirty = true;
    }

    /// When the side panes are wanted but the window is too small for them, says so and what
    /// brings them back, and returns true.
    fn too_small_for_side_panes(&mut self) -> bool {
        let SidePanes::TooSmall { rows } = self.side_panes() else {
            return false;
        };
        let (w, h) = self.ui.size;
        let back = match rows {
            Some(rows) => format!("{rows} rows or {WIDE} columns"),
            None => format!("{WIDE} columns"),
        };
        self.notify(
            Level::Info,
            format!("Side panes hidden: {w}×{h} is too small; they show at {back}."),
        );
        if let Some(b) = &mut self.ui.banner {
            b.while_too_small = true;
        }
        true
    }

    fn toggle_pane(&mut self, pane: Pane) {
        let panes = &mut self.ui.panes;
        let shown = match pane {
            Pane::Thinking => &mut panes.thinking,
            Pane::Reflection => &mut panes.reflection,
            Pane::Output => return,
        };
        *shown = !*shown;
        let now_shown = *shown;
        if !now_shown {
            if panes.maximised == Some(pane) {
                panes.maximised = None;
            }
            if self.ui.focus == Focus::of(pane) {
                self.set_focus(Focus::Input);
            }
        }
    }
}
