//! The banner above the panes: the latest error, warning or notice (errors such as a model
//! that failed to load, a full context, a bad profile), wrapped to at most three lines.

use super::style;
use super::wrap::{self, Logical};
use crate::term_safe::neutralise;
use crate::theme::{Purpose, Theme};
use crate::tui::app::layout::MAX_BANNER_LINES;
use crate::tui::app::{App, Level, Notice};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const HINT: &str = "  (Esc dismisses)";

fn lines(n: &Notice, theme: Option<&Theme>, width: u16) -> Vec<Line<'static>> {
    let of = |p| theme.map_or(Style::default(), |t| style::of(t, p));
    let (icon, s) = match n.level {
        Level::Error => ("✗ ", of(Purpose::Error)),
        Level::Warning => ("⚠ ", of(Purpose::Warning)),
        Level::Info => ("ℹ ", of(Purpose::Text)),
    };
    let first = [Span::styled(icon, s)];
    let rest = [Span::raw("  ")];
    let text = neutralise(&n.text).replace('\n', " ");
    let spans = [
        Span::styled(text, s),
        Span::styled(HINT, of(Purpose::Muted)),
    ];
    let mut out = Vec::new();
    wrap::wrap(
        &Logical {
            first: &first,
            rest: &rest,
            spans: &spans,
            hard: false,
        },
        usize::from(width),
        &mut out,
    );
    out
}

/// Lines the banner wants at `width` (at most three).
pub fn line_count(n: &Notice, width: u16) -> u16 {
    (lines(n, None, width).len() as u16).min(MAX_BANNER_LINES)
}

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
