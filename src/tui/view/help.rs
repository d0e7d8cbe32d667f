//! The help overlay: every key (from the keymap's table) and every slash command, centred over
//! the screen; it scrolls when the terminal is too small to show it all.

use super::style;
use super::wrap::{self, Logical};
use crate::theme::Purpose;
use crate::tui::app::commands::COMMANDS;
use crate::tui::app::keymap::HELP;
use crate::tui::app::App;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

const GAP: &str = "  ";

fn key_width() -> usize {
    HELP.iter()
        .chain(COMMANDS)
        .map(|(k, _)| wrap::width(k))
        .max()
        .unwrap_or(0)
}

fn lines(key: Style, text: Style, head: Style, width: usize) -> Vec<Line<'static>> {
    let kw = key_width();
    let mut out = Vec::new();
    let section = |title: &str, rows: &[(&str, &str)], out: &mut Vec<Line<'static>>| {
        out.push(Line::styled(title.to_string(), head));
        for (k, d) in rows {
            let pad = kw.saturating_sub(wrap::width(k));
            let first = [Span::styled(format!("{k}{}{GAP}", " ".repeat(pad)), key)];
            let rest = [Span::raw(" ".repeat(kw + GAP.len()))];
            let spans = [Span::styled(d.to_string(), text)];
            wrap::wrap(
                &Logical {
                    first: &first,
                    rest: &rest,
                    spans: &spans,
                    hard: false,
                },
                width,
                out,
            );
        }
    };
    section("Keys", HELP, &mut out);
    out.push(Line::default());
    section("Slash commands", COMMANDS, &mut out);
    out
}

/// Where the overlay goes on a screen `area`, and the width of its text.
fn geometry(area: Rect, rows: impl Fn(usize) -> usize) -> Option<(Rect, usize)> {
    let widest = key_width()
        + GAP.len()
        + HELP
            .iter()
            .chain(COMMANDS)
            .map(|(_, d)| wrap::width(d))
            .max()
            .unwrap_or(0);
    let width = (widest as u16).saturating_add(4).min(area.width);
    let inner_w = usize::from(width.saturating_sub(4));
    if inner_w == 0 || area.height < 3 {
        return None;
    }
    let height = (rows(inner_w) as u16).saturating_add(2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Some((popup, inner_w))
}

/// How far the overlay can scroll on a `width` × `height` screen.
pub fn max_scroll(width: u16, height: u16) -> u16 {
    let s = Style::default();
    let count = |w| lines(s, s, s, w).len();
    match geometry(Rect::new(0, 0, width, height), count) {
        Some((popup, w)) => (count(w).saturating_sub(usize::from(popup.height - 2))) as u16,
        None => 0,
    }
}

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let text = style::of(theme, Purpose::Text);
    let key = style::of(theme, Purpose::UserMessage);
    let head = text.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let count = |w| lines(key, text, head, w).len();
    let Some((popup, inner_w)) = geometry(area, count) else {
        return;
    };
    let all = lines(key, text, head, inner_w);
    let shown = usize::from(popup.height - 2);
    let overflow = all.len() > shown;
    let top = usize::from(app.ui.help.unwrap_or(0)).min(all.len().saturating_sub(shown));
    let border = style::of(theme, Purpose::BorderFocused);
    let hint = if overflow {
        " any key closes · ↑↓ PgUp PgDn scroll "
    } else {
        " any key closes "
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_scrolls_only_when_it_does_not_fit() {
        assert_eq!(max_scroll(100, 30), 0);
        assert!(max_scroll(50, 20) > 0);
        assert_eq!(max_scroll(2, 2), 0);
    }
}
