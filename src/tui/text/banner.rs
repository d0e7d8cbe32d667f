//! The banner's lines: the latest notice with its icon and hint, wrapped to the width; the
//! reducer sizes the layout by their count, the view draws them.

use super::style;
use super::wrap::{self, Logical};
use crate::term_safe::neutralise;
use crate::theme::{Purpose, Theme};
use crate::tui::layout::MAX_BANNER_LINES;
use crate::tui::notice::{Level, Notice};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const HINT: &str = "  (Esc dismisses)";

/// The notice's lines at `width`, styled by `theme` (unstyled without one: for measuring).
pub fn lines(n: &Notice, theme: Option<&Theme>, width: u16) -> Vec<Line<'static>> {
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
