//! The mouse: the wheel scrolls the pane under the pointer; a click focuses a pane or the
//! input, and a click on the conversation selects the turn clicked.

use super::keymap::Focus;
use super::App;
use crate::tui::layout::Pane;
use crate::tui::msg::Effect;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

/// Lines one wheel notch scrolls.
const WHEEL_LINES: isize = 3;

impl App {
    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if self.ui.help.is_some() {
            if let MouseEventKind::Down(_) = m.kind {
                self.ui.help = None;
                self.dirty = true;
            }
            return Vec::new();
        }
        let screen = self.screen();
        let Some(areas) = screen.areas().copied() else {
            return Vec::new();
        };
        let pane = areas.pane_at(m.column, m.row);
        match (m.kind, pane) {
            (MouseEventKind::ScrollUp, Some(p)) => {
                self.scroll_by(p, -WHEEL_LINES);
                self.dirty = true;
            }
            (MouseEventKind::ScrollDown, Some(p)) => {
                self.scroll_by(p, WHEEL_LINES);
                self.dirty = true;
            }
            (MouseEventKind::Down(MouseButton::Left), Some(p)) => {
                self.set_focus(Focus::of(p));
                if p == Pane::Output {
                    if let Some(turn) = crate::tui::text::pane_lines::turn_at(
                        &self.text_source(),
                        self.ui.scroll(Pane::Output),
                        areas.output.inner,
                        m.row,
                    ) {
                        if Some(turn) == self.text_source().live_turn() {
                            self.select_live();
                        } else {
                            self.select(turn, false);
                        }
                    }
                }
                self.dirty = true;
            }
            (MouseEventKind::Down(MouseButton::Left), None) if areas.input_at(m.column, m.row) => {
                self.set_focus(Focus::Input);
                self.dirty = true;
            }
            _ => {}
        }
        Vec::new()
    }
}
