//! Draws the help overlay: every key and every slash command (`App::HELP_SECTIONS`, laid out
//! by `text::help`), centred over the screen; it scrolls when the terminal is too small.

use crate::theme::Purpose;
use crate::tui::app::{App, HELP_SECTIONS};
use crate::tui::text::help::{geometry, lines};
use crate::tui::text::{style, wrap};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let text = style::of(theme, Purpose::Text);
    let key = style::of(theme, Purpose::UserMessage);
    let head = text.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let count = |w| lines(&HELP_SECTIONS, key, text, head, w).len();
    let Some((popup, inner_w)) = geometry(&HELP_SECTIONS, area, count) else {
        return;
    };
    let all = lines(&HELP_SECTIONS, key, text, head, inner_w);
    let shown = usize::from(popup.height - 2);
    let overflow = all.len() > shown;
    let top = usize::from(app.ui.help.unwrap_or(0)).min(all.len().saturating_sub(shown));
    let border = style::of(theme, Purpose::BorderFocused);
    // The longest hint that fits the bottom border whole.
    let room = usize::from(popup.width.saturating_sub(2));
    let hint = [
        " any key closes · ↑↓ PgUp PgDn scroll ",
        " ↑↓ scroll · any key closes ",
        " any key closes ",
        " any key ",
    ]
    .into_iter()
    .filter(|h| overflow || !h.contains('↑'))
    .find(|h| wrap::width(h) <= room)
    .unwrap_or("");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .style(text)
        .title(Line::styled(" Help ", border.add_modifier(Modifier::BOLD)))
        .title_bottom(Line::styled(hint, style::of(theme, Purpose::Muted)).right_aligned());
    Clear.render(popup, buf);
    block.render(popup, buf);
    for (i, line) in all.iter().skip(top).take(shown).enumerate() {
        buf.set_line(popup.x + 2, popup.y + 1 + i as u16, line, popup.width - 4);
    }
}
