//! The input box: a multi-line editor (tui-textarea) and the prompts sent earlier, which Up and
//! Down recall while the box is empty or shows an unedited recalled prompt.

use ratatui::crossterm::event::KeyEvent;
use ratatui::style::{Modifier, Style};
use tui_textarea::TextArea;

/// The input box's state.
#[derive(Clone, Debug)]
pub struct Input {
    area: TextArea<'static>,
    /// Sent prompts, oldest first, without consecutive duplicates.
    history: Vec<String>,
    /// The history entry shown, while unedited.
    recall: Option<usize>,
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

    pub fn line_count(&self) -> usize {
        self.area.lines().len()
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
    /// text or the cursor).
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        let cursor = self.area.cursor();
        let changed = self.area.input(key);
        if changed {
            self.recall = None;
        }
        changed || self.area.cursor() != cursor
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
