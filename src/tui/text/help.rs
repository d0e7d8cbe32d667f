//! The help overlay's text and geometry: the sections of keys and slash commands (the app
//! gives them: its keymap's and its commands' tables), wrapped beside or below their keys,
//! and the box centred on the screen; the reducer scrolls by [`max_scroll`], the view draws.

use super::wrap::{self, Logical};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// A titled table of (key, what it does).
pub type Section<'a> = (&'a str, &'a [(&'a str, &'a str)]);

pub const GAP: &str = "  ";

fn rows<'a: 'b, 'b>(
    sections: &'b [Section<'a>],
) -> impl Iterator<Item = &'a (&'a str, &'a str)> + 'b {
    sections.iter().flat_map(|s| s.1.iter())
}

fn key_width(sections: &[Section<'_>]) -> usize {
    rows(sections)
        .map(|(k, _)| wrap::width(k))
        .max()
        .unwrap_or(0)
}

/// Descriptions narrower than this do not go beside the keys: each key then has a line of its
/// own, its description indented below, so that a small terminal still shows the keys.
const MIN_DESCRIPTION: usize = 16;

/// The overlay's lines at `width`: `key`, `text` and `head`(ings) styled.
pub fn lines(
    sections: &[Section<'_>],
    key: Style,
    text: Style,
    head: Style,
    width: usize,
) -> Vec<Line<'static>> {
    let kw = key_width(sections);
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
    for (i, (title, rows)) in sections.iter().enumerate() {
        if i > 0 {
            out.push(Line::default());
        }
        section(title, rows, &mut out);
    }
    out
}

/// Where the overlay goes on a screen `area`, and the width of its text.
pub fn geometry(
    sections: &[Section<'_>],
    area: Rect,
    line_count: impl Fn(usize) -> usize,
) -> Option<(Rect, usize)> {
    let widest = key_width(sections)
        + GAP.len()
        + rows(sections)
            .map(|(_, d)| wrap::width(d))
            .max()
            .unwrap_or(0);
    let width = (widest as u16).saturating_add(4).min(area.width);
    let inner_w = usize::from(width.saturating_sub(4));
    if inner_w == 0 || area.height < 3 {
        return None;
    }
    let height = (line_count(inner_w) as u16)
        .saturating_add(2)
        .min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Some((popup, inner_w))
}

/// How far the overlay can scroll on a `width` × `height` screen.
pub fn max_scroll(sections: &[Section<'_>], width: u16, height: u16) -> u16 {
    let s = Style::default();
    let count = |w| lines(sections, s, s, s, w).len();
    match geometry(sections, Rect::new(0, 0, width, height), count) {
        Some((popup, w)) => (count(w).saturating_sub(usize::from(popup.height - 2))) as u16,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::HELP_SECTIONS as SECTIONS;

    #[test]
    fn a_narrow_overlay_puts_each_key_on_a_line_of_its_own() {
        let s = Style::default();
        let text = |w| {
            lines(&SECTIONS, s, s, s, w)
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
        assert_eq!(max_scroll(&SECTIONS, 100, 30), 0);
        assert!(max_scroll(&SECTIONS, 50, 20) > 0);
        assert_eq!(max_scroll(&SECTIONS, 2, 2), 0);
    }
}
