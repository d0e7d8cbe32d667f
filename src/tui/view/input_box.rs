//! Draws the input box: a frame titled "Message" (with the number of queued messages) around
//! the editor's text, wrapped at the box's width as `app::input::rows` lays it out.

use super::panes::frame;
use crate::theme::Purpose;
use crate::tui::app::input::rows::{char_width, Row};
use crate::tui::app::keymap::Focus;
use crate::tui::app::App;
use crate::tui::layout::Area;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

pub fn draw(app: &App, area: Area, bordered: bool, buf: &mut Buffer) {
    if area.outer.width == 0 || area.outer.height == 0 {
        return;
    }
    let queued = app.turns().iter().filter(|t| t.is_queued()).count();
    let mut title = " Message ".to_string();
    if app.editing.is_some() {
        title.push_str("· editing the last message, Enter replaces it ");
    }
    if queued > 0 {
        title.push_str(&format!("· {queued} queued (/queue) "));
    }
    let focused = app.ui.focus == Focus::Input;
    frame(title, focused, bordered, app).render(area.outer, buf);
    if area.inner.width > 0 && area.inner.height > 0 {
        text(app, area.inner, buf);
    }
}

/// The wrapped text from the box's first shown row, the selection, and the cursor.
fn text(app: &App, r: Rect, buf: &mut Buffer) {
    let input = &app.input;
    let ta = input.area();
    let style = ta.style();
    if input.is_empty() {
        let placeholder = ta.placeholder_style().unwrap_or(style);
        // The cursor's cell first, then the hint.
        let room = usize::from(r.width - 1);
        let hint = fit_hint(ta.placeholder_text(), room);
        buf.set_stringn(r.x + 1, r.y, hint, room, placeholder);
        buf.set_style(Rect::new(r.x, r.y, 1, 1), ta.cursor_style());
        return;
    }
    let lines = ta.lines();
    let (rows, top, (cursor_row, cursor_x)) = input.view();
    let selection = ta.selection_range();
    let selected = |line: usize, col: usize| {
        selection.is_some_and(|(a, b)| (line, col) >= a && (line, col) < b)
    };
    for (y, row) in rows
        .iter()
        .skip(top)
        .take(usize::from(r.height))
        .enumerate()
    {
        let Row { line, start, end } = *row;
        let ry = r.y + y as u16;
        let mut x = 0usize;
        for (i, c) in lines[line]
            .chars()
            .enumerate()
            .skip(start)
            .take(end - start)
        {
            let w = char_width(c, x);
            if x + w > usize::from(r.width) {
                break;
            }
            let st = if selected(line, i) {
                style.patch(crate::tui::text::style::of(app.theme(), Purpose::Selection))
            } else {
                style
            };
            let cell = Rect::new(r.x + x as u16, ry, w as u16, 1);
            if c == '\t' {
                buf.set_style(cell, st);
            } else {
                buf.set_stringn(cell.x, ry, c.to_string(), w, st);
            }
            x += w;
        }
        if top + y == cursor_row {
            let cx = r.x + (cursor_x.min(usize::from(r.width) - 1)) as u16;
            buf.set_style(
                Rect::new(cx, ry, 1, 1),
                Style::default().patch(ta.cursor_style()),
            );
        }
    }
}

/// The start of the box's hint that fits in `room` columns, never cut inside a word: whole
/// " · " segments, else whole words of the first one, else nothing.
pub fn fit_hint(hint: &str, room: usize) -> &str {
    let fits = |end: usize| crate::tui::text::wrap::width(&hint[..end]) <= room;
    let ends = |sep: &str| {
        hint.match_indices(sep)
            .map(|(i, _)| i)
            .chain([hint.len()])
            .collect::<Vec<_>>()
    };
    let segments = ends(" · ");
    if let Some(end) = segments.iter().rev().find(|e| fits(**e)) {
        return &hint[..*end];
    }
    let first = &hint[..segments[0]];
    let end = first
        .match_indices(' ')
        .map(|(i, _)| i)
        .rfind(|e| fits(*e))
        .unwrap_or(0);
    &hint[..end]
}

#[cfg(test)]
mod tests {
    use super::fit_hint;

    #[test]
    fn the_hint_drops_whole_segments_then_whole_words_never_part_of_one() {
        let hint = "Ask anything · Enter sends · Alt+Enter new line · F1 help";
        let table = [
            (80, hint),
            (57, hint),
            (56, "Ask anything · Enter sends · Alt+Enter new line"),
            (38, "Ask anything · Enter sends"),
            (26, "Ask anything · Enter sends"),
            (25, "Ask anything"),
            (12, "Ask anything"),
            (11, "Ask"),
            (2, ""),
            (0, ""),
        ];
        for (room, want) in table {
            assert_eq!(fit_hint(hint, room), want, "{room} columns");
        }
    }
}
