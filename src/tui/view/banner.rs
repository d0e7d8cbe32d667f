//! Draws the banner above the panes: the latest error, warning or notice (errors such as a
//! model that failed to load, a full context, a bad profile), at most three lines of
//! `text::banner`'s.

use crate::tui::app::App;
use crate::tui::text::banner::lines;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(n) = app.banner() else {
        return;
    };
    let all = lines(n, Some(&app.theme), area.width);
    let shown = usize::from(area.height);
    for (i, line) in all.iter().take(shown).enumerate() {
        let mut line = line.clone();
        if i + 1 == shown && all.len() > shown {
            line.spans.push(Span::raw("…"));
        }
        buf.set_line(area.x, area.y + i as u16, &line, area.width);
    }
}
