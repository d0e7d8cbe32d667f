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

/// Descriptions narrower than this do not go beside the keys: each key then has a line of its
/// own, its description indented below, so that a small terminal still shows the keys.
const MIN_DESCRIPTION: usize = 16;

fn lines(key: Style, text: Style, head: Style, width: usize) -> Vec<Line<'static>> {
    let kw = key_width();
    let stacked = width < kw + GAP.len() + MIN_DESCRIPTION;
    let mut out = Vec::new();
    let section = |title: &str, rows: &[(&str, &str)], out: &mut Vec<Line<'static>>| {
        out.push(Line::styled(title.to_string(), head));
        for (k, d) in rows {
            if stacked {
                let key_spans = [Span::styled(k.to_string(), key)];
                let indent = [Span::raw(GAP)];
                let spans = [Span::styled(d.to_string(), text)];
                let keyline = Logical {
                    first: &[],
                    rest: &[],
                    spans: &key_spans,
                    hard: false,
                };
                wrap::wrap(&keyline, width, out);
                let description = Logical {
                    first: &indent,
                    rest: &indent,
                    spans: &spans,
                    hard: false,
                };
                wrap::wrap(&description, width, out);
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_overlay_puts_each_key_on_a_line_of_its_own() {
        let s = Style::default();
        let text = |w| {
            lines(s, s, s, w)
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
        };
        let narrow = text(26);
        let i = narrow
            .iter()
            .position(|l| l == "Enter")
            .expect("the key alone");
        assert!(
            narrow[i + 1].starts_with("  send the message"),
            "{narrow:?}"
        );
        assert!(narrow.iter().all(|l| wrap::width(l) <= 26), "{narrow:?}");
        let wide = text(96);
        assert!(wide
            .iter()
            .any(|l| l.starts_with("Enter ") && l.contains("send the message")));
    }

    #[test]
    fn the_overlay_scrolls_only_when_it_does_not_fit() {
        assert_eq!(max_scroll(100, 30), 0);
        assert!(max_scroll(50, 20) > 0);
        assert_eq!(max_scroll(2, 2), 0);
    }
}
