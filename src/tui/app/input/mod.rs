//! The input box: a multi-line editor (tui-textarea) whose long lines wrap at the box's width
//! (`rows`), and the prompts sent earlier, which Up and Down recall while the box is empty or
//! shows an unedited recalled prompt.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use tui_textarea::{CursorMove, TextArea};

pub mod rows;

/// The input box's state.
#[derive(Clone, Debug)]
pub struct Input {
    area: TextArea<'static>,
    /// Sent prompts, oldest first, without consecutive duplicates.
    history: Vec<String>,
    /// The history entry shown, while unedited.
    recall: Option<usize>,
    /// The box's text columns and rows, as the layout last gave them.
    width: u16,
    height: u16,
    /// The first wrapped row shown.
    top: usize,
}

impl Default for Input {
    fn default() -> Self {
        Input::new()
    }
}

fn empty_area() -> TextArea<'static> {
    let mut area = TextArea::default();
    area.set_cursor_line_style(Style::default());
    area.set_placeholder_text("Ask anything · Enter sends · Alt+Enter new line · F1 help");
    area
}

impl Input {
    pub fn new() -> Input {
        Input {
            area: empty_area(),
            history: Vec::new(),
            recall: None,
            width: 80,
            height: 1,
            top: 0,
        }
    }

    /// An empty box whose Up recalls `history` (oldest first).
    pub fn with_history(history: Vec<String>) -> Input {
        Input {
            history,
            ..Input::new()
        }
    }

    /// The editor, for drawing.
    pub fn area(&self) -> &TextArea<'static> {
        &self.area
    }

    /// Styles the editor: text, placeholder, and a visible cursor only when focused.
    pub fn restyle(&mut self, text: Style, placeholder: Style, focused: bool) {
        self.area.set_style(text);
        self.area.set_placeholder_style(placeholder);
        self.area.set_cursor_style(if focused {
            text.add_modifier(Modifier::REVERSED)
        } else {
            text
        });
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.area.lines().iter().all(|l| l.is_empty())
    }

    /// Logical lines (separated by line breaks).
    pub fn line_count(&self) -> usize {
        self.area.lines().len()
    }

    /// Screen rows the text takes at `width` columns, wrapped.
    pub fn row_count(&self, width: u16) -> usize {
        rows::rows(self.area.lines(), width).len()
    }

    /// The wrapped rows at the box's width, the first one shown, and the cursor's row and
    /// column: what the view draws.
    pub fn view(&self) -> (Vec<rows::Row>, usize, (usize, usize)) {
        let rs = rows::rows(self.area.lines(), self.width);
        let cursor = rows::cursor_cell(self.area.lines(), &rs, self.width, self.area.cursor());
        (rs, self.top, cursor)
    }

    /// The box is `width` × `height` now: scrolls so that the cursor's row is shown.
    pub fn fit(&mut self, width: u16, height: u16) {
        self.width = width.max(1);
        self.height = height.max(1);
        let (rs, _, (row, _)) = self.view();
        let height = usize::from(self.height);
        if row < self.top {
            self.top = row;
        } else if row >= self.top + height {
            self.top = row + 1 - height;
        }
        self.top = self.top.min(rs.len().saturating_sub(height));
    }

    /// Whether the box shows a recalled prompt, unedited.
    pub fn recalling(&self) -> bool {
        self.recall
            .and_then(|i| self.history.get(i))
            .is_some_and(|h| *h == self.text())
    }

    fn replace(&mut self, text: &str) {
        let (style, placeholder, cursor) = (
            self.area.style(),
            self.area.placeholder_style(),
            self.area.cursor_style(),
        );
        self.area = empty_area();
        self.area.set_style(style);
        if let Some(p) = placeholder {
            self.area.set_placeholder_style(p);
        }
        self.area.set_cursor_style(cursor);
        if !text.is_empty() {
            self.area.insert_str(text);
        }
    }

    pub fn clear(&mut self) {
        self.replace("");
        self.recall = None;
    }

    /// Takes the text out, clearing the box and remembering it as a sent prompt.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if self.history.last() != Some(&text) && !text.trim().is_empty() {
            self.history.push(text.clone());
        }
        self.clear();
        text
    }

    /// Passes an editing key to the editor; returns whether anything visible changed (the
    /// text or the cursor). Up and Down move by screen rows of wrapped text; Ctrl+U deletes
    /// to the start of the line, as readline does, and Alt+U undoes.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        let cursor = self.area.cursor();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let changed = match key.code {
            KeyCode::Char('u') if ctrl && !alt => self.area.delete_line_by_head(),
            KeyCode::Char('u') if alt && !ctrl => self.area.undo(),
            KeyCode::Up | KeyCode::Down if !ctrl && !alt => {
                self.move_row(
                    key.code == KeyCode::Up,
                    key.modifiers.contains(KeyModifiers::SHIFT),
                );
                false
            }
            _ => self.area.input(key),
        };
        if changed {
            self.recall = None;
        }
        changed || self.area.cursor() != cursor
    }

    /// Moves the cursor one wrapped row up or down, keeping its column; `select` extends the
    /// selection (Shift).
    fn move_row(&mut self, up: bool, select: bool) {
        let lines = self.area.lines();
        let rs = rows::rows(lines, self.width);
        let (row, x) = rows::cursor_cell(lines, &rs, self.width, self.area.cursor());
        let target = if up {
            row.checked_sub(1)
        } else {
            Some(row + 1)
        };
        let Some(target) = target.filter(|t| *t < rs.len()) else {
            return;
        };
        let (line, col) = rows::char_at(lines, &rs, target, x);
        if select && !self.area.is_selecting() {
            self.area.start_selection();
        } else if !select {
            self.area.cancel_selection();
        }
        let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        self.area
            .move_cursor(CursorMove::Jump(clamp(line), clamp(col)));
        // The editor's jump takes 16-bit columns: a longer line (a pasted blob) is walked the
        // rest of the way.
        for _ in usize::from(u16::MAX)..col {
            self.area.move_cursor(CursorMove::Forward);
        }
    }

    pub fn newline(&mut self) {
        self.area.insert_newline();
        self.recall = None;
    }

    /// Inserts pasted text as typed text: line endings normalised, and control characters
    /// shown, not kept. Tabs stay tabs (Makefiles, TSV and Go code reach the model as they
    /// were); the editor draws them as spaces to the next tab stop.
    pub fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = crate::term_safe::neutralise(&text);
        self.area.insert_str(text.as_ref());
        self.recall = None;
    }

    /// Types `text` (plain characters, no line break) at the cursor, as its keys would.
    pub fn type_str(&mut self, text: &str) {
        self.area.insert_str(text);
        self.recall = None;
    }

    /// Puts `text` (an earlier message) back in the box for editing; Up then goes on to the
    /// prompts before it.
    pub fn put_back(&mut self, text: &str) {
        self.replace(text);
        self.recall = self.history.iter().rposition(|h| h == text);
    }

    /// Shows the previous (older) prompt; returns whether anything changed.
    pub fn recall_prev(&mut self) -> bool {
        let i = match self.recall {
            Some(i) if self.recalling() => i.saturating_sub(1),
            _ if self.history.is_empty() => return false,
            _ => self.history.len() - 1,
        };
        self.show(i)
    }

    /// Shows the next (newer) prompt, or an empty box after the newest.
    pub fn recall_next(&mut self) -> bool {
        match self.recall {
            Some(i) if self.recalling() && i + 1 < self.history.len() => self.show(i + 1),
            Some(_) if self.recalling() => {
                self.clear();
                true
            }
            _ => false,
        }
    }

    fn show(&mut self, i: usize) -> bool {
        let Some(text) = self.history.get(i).cloned() else {
            return false;
        };
        self.replace(&text);
        self.recall = Some(i);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn typed(input: &mut Input, s: &str) {
        for c in s.chars() {
            input.edit(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn up_and_down_walk_the_sent_prompts() {
        let mut i = Input::new();
        assert!(!i.recall_prev(), "nothing sent yet");
        for p in ["one", "two", "two", "three"] {
            typed(&mut i, p);
            i.take();
        }
        assert!(i.recall_prev());
        assert_eq!(i.text(), "three");
        i.recall_prev();
        assert_eq!(i.text(), "two", "consecutive duplicates kept once");
        i.recall_prev();
        i.recall_prev();
        assert_eq!(i.text(), "one", "stops at the oldest");
        i.recall_next();
        assert_eq!(i.text(), "two");
        i.recall_next();
        i.recall_next();
        assert!(i.is_empty(), "after the newest: empty");
        assert!(!i.recall_next());
    }

    #[test]
    fn editing_a_recalled_prompt_ends_recall() {
        let mut i = Input::new();
        typed(&mut i, "hello");
        i.take();
        i.recall_prev();
        assert!(i.recalling());
        typed(&mut i, "!");
        assert!(!i.recalling());
        assert_eq!(i.text(), "hello!");
    }

    #[test]
    fn paste_normalises_line_ends_and_neutralises_controls() {
        let mut i = Input::new();
        i.paste("a\r\nb\tc\u{1b}[2J");
        assert_eq!(i.text(), "a\nb\tc\u{241b}[2J", "the tab is kept");
        assert_eq!(i.line_count(), 2);
        i.newline();
        assert_eq!(i.line_count(), 3);
    }
}
