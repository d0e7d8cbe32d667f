//! Draws a pane: its frame and title (focus shown by the border style, "↓ N more" while held
//! above the end), and the rows of its window.

use crate::theme::Purpose;
use crate::tui::app::keymap::Focus;
use crate::tui::app::App;
use crate::tui::layout::{Area, Pane};
use crate::tui::text::pane_lines;
use crate::tui::text::style;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

fn title(app: &App, pane: Pane) -> String {
    let turn = app
        .ui
        .selected
        .map(|i| format!(" · turn {} of {}", i + 1, app.turns().len()))
        .unwrap_or_default();
    match pane {
        Pane::Output => " Conversation ".into(),
        Pane::Thinking => format!(" Thinking{turn} "),
        Pane::Reflection => {
            let n = app
                .shown_turn()
                .map_or(0, |t| app.turns()[t].reflections.len());
            if n == 0 {
                format!(" Reflections{turn} ")
            } else {
                format!(" Reflections ({n}){turn} ")
            }
        }
    }
}

/// The frame of a region: rounded borders, or only a title row on short terminals.
pub fn frame<'a>(title: String, focused: bool, bordered: bool, app: &App) -> Block<'a> {
    let theme = &app.theme;
    let border = style::of(
        theme,
        if focused {
            Purpose::BorderFocused
        } else {
            Purpose::BorderUnfocused
        },
    );
    let title_style = if focused {
        border.add_modifier(Modifier::BOLD)
    } else {
        border
    };
    Block::default()
        .borders(if bordered { Borders::ALL } else { Borders::TOP })
        .border_type(BorderType::Rounded)
        .border_style(border)
        .style(style::of(theme, Purpose::Text))
        .title(Line::styled(title, title_style))
}

pub fn draw(app: &App, pane: Pane, area: Area, bordered: bool, buf: &mut Buffer) {
    if area.outer.width == 0 || area.outer.height == 0 {
        return;
    }
    let focused = app.ui.focus == Focus::of(pane);
    let inner = area.inner;
    let window = pane_lines::window(
        &app.text_source(),
        pane,
        app.ui.scroll(pane),
        inner.width,
        inner.height,
    );
    let mut block = frame(title(app, pane), focused, bordered, app);
    if window.below > 0 {
        let more = Line::styled(
            format!(" ↓ {} more ", window.below),
            style::of(&app.theme, Purpose::Muted),
        )
        .right_aligned();
        block = block.title(more);
    }
    block.render(area.outer, buf);
    for (i, row) in window.rows.iter().enumerate() {
        let Some(line) = row.lines.get(row.index) else {
            continue;
        };
        let y = inner.y + i as u16;
        buf.set_line(inner.x, y, line, inner.width);
    }
}
