//! A pane's content as a list of blocks, and the window of wrapped lines a frame shows. When
//! following, blocks are wrapped from the bottom up only until the window is full; when held,
//! the lines above come from the memo. The reducer measures with the same functions
//! ([`total_lines`], [`turn_first_line`], [`turn_at`]) so that scrolling and clicks agree with
//! what is drawn.

use super::call_block::CallView;
use super::display_block::Kind;
use super::line_cache::{Key, Lines};
use super::Caches;
use crate::conversation::{ThinkingPart, Turn};
use crate::theme::Theme;
use crate::tui::layout::{Pane, SidePanes};
use crate::tui::phase::Load;
use crate::tui::scroll::Scroll;
use ratatui::layout::Rect;

/// What the panes are laid out from: explicit inputs (the app's state gives them, tests and
/// benchmarks can too).
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub turns: &'a [Turn],
    pub load: &'a Load,
    /// Whether the side panes are on screen (for the welcome text).
    pub side_panes: SidePanes,
    /// The turn the side panes show, when not the live one.
    pub selected: Option<usize>,
    pub theme: &'a Theme,
    /// Bumped when the theme changes (memoised lines carry the old styles).
    pub theme_rev: u64,
    pub caches: &'a Caches,
    /// The tool call waiting for the user's approval, if one is.
    pub asking: Option<&'a crate::tui::tool_flow::Asking>,
    /// Turns whose call blocks show their whole results.
    pub expanded: &'a std::collections::BTreeSet<usize>,
}

impl Source<'_> {
    /// The turn the side panes show: the selected one, else the one being generated (messages
    /// queued after it wait their turn), else the latest.
    pub fn shown_turn(&self) -> Option<usize> {
        self.selected
            .filter(|i| *i < self.turns.len())
            .or_else(|| self.live_turn())
    }

    /// The turn the side panes follow when none is selected: the running one, else the latest.
    pub fn live_turn(&self) -> Option<usize> {
        self.turns
            .iter()
            .rposition(Turn::is_running)
            .or_else(|| self.turns.len().checked_sub(1))
    }
}

/// A block, where it belongs, and how to draw it.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    pub key: Key,
    /// The conversation turn it belongs to, if any.
    pub turn: Option<usize>,
    pub kind: Kind<'a>,
}

/// The blocks of `pane`, top to bottom.
pub fn blocks<'a>(src: &Source<'a>, pane: Pane) -> Vec<Block<'a>> {
    match pane {
        Pane::Output => output_blocks(src),
        Pane::Thinking => thinking_blocks(src),
        Pane::Reflection => reflection_blocks(src),
    }
}

fn output_blocks<'a>(src: &Source<'a>) -> Vec<Block<'a>> {
    let turns = src.turns;
    if turns.is_empty() {
        return vec![Block {
            key: Key::new(0, 0, 0, 0),
            turn: None,
            kind: Kind::Welcome {
                load: src.load,
                side_panes: src.side_panes,
            },
        }];
    }
    let ready = *src.load == Load::Ready;
    let mut out = Vec::with_capacity(turns.len() * 2);
    for (i, turn) in turns.iter().enumerate() {
        out.push(Block {
            key: Key::new(0, i, 1, 0),
            turn: Some(i),
            kind: Kind::User {
                turn,
                selected: src.selected == Some(i),
                gap: i > 0,
            },
        });
        out.extend(call_blocks(src, i, turn));
        out.push(Block {
            key: Key::new(0, i, 2, 0),
            turn: Some(i),
            kind: Kind::Answer { turn, ready },
        });
    }
    out
}

/// Turn `i`'s tool calls, one block each, in the order the model made them.
fn call_blocks<'a>(src: &Source<'a>, i: usize, turn: &'a Turn) -> Vec<Block<'a>> {
    let current = crate::tui::phase::current_call(turn).map(|c| c.call.id.as_str());
    let expanded = src.expanded.contains(&i);
    turn.calls
        .iter()
        .enumerate()
        .map(|(ci, rec)| {
            let id = rec.call.id.as_str();
            Block {
                key: Key::new(0, i, 3 + ci, 0),
                turn: Some(i),
                kind: Kind::Call(CallView {
                    rec,
                    current: current == Some(id),
                    expanded,
                    asking: src
                        .asking
                        .filter(|a| current == Some(id) && a.call.id == id),
                }),
            }
        })
        .collect()
}

fn note(pane: u8, text: &'static str) -> Vec<Block<'static>> {
    vec![Block {
        key: Key::new(pane, usize::MAX, 0, 0),
        turn: None,
        kind: Kind::Note(text),
    }]
}

fn thinking_blocks<'a>(src: &Source<'a>) -> Vec<Block<'a>> {
    let Some(t) = src.shown_turn() else {
        return note(1, "The model's thinking streams here while it works.");
    };
    let turn = &src.turns[t];
    let mut out = Vec::new();
    for (pi, part) in turn.thinking.iter().enumerate() {
        match part {
            ThinkingPart::Text(text) => {
                // Paragraph by paragraph, so that streaming re-wraps only the last one.
                let mut start = 0;
                for piece in text.split("\n\n") {
                    let offset = start;
                    start += piece.len() + 2;
                    if piece.trim().is_empty() {
                        continue;
                    }
                    for (i, (at, lines)) in chunks(piece).enumerate() {
                        let gap = i == 0 && !out.is_empty();
                        out.push(Block {
                            key: Key::new(1, t, pi, offset + at),
                            turn: Some(t),
                            kind: Kind::Thinking { text: lines, gap },
                        });
                    }
                }
            }
            ThinkingPart::Reflection(n) => {
                let gap = !out.is_empty();
                out.push(Block {
                    key: Key::new(1, t, pi, 0),
                    turn: Some(t),
                    kind: Kind::Marker { n: *n, gap },
                });
            }
            ThinkingPart::Extended(_) | ThinkingPart::Forced(_) => {
                let gap = !out.is_empty();
                out.push(Block {
                    key: Key::new(1, t, pi, 0),
                    turn: Some(t),
                    kind: Kind::BudgetMark { part, gap },
                });
            }
        }
    }
    if out.is_empty() {
        return note(
            1,
            if turn.is_running() || turn.is_queued() {
                "Waiting for the model's thinking…"
            } else {
                "No thinking in this turn."
            },
        );
    }
    out
}

/// Bytes after which a long paragraph of thinking is split at its next newline.
const CHUNK: usize = 2048;

/// A paragraph of thinking as runs of whole lines of about [`CHUNK`] bytes, with their offsets:
/// plain text wraps line by line, so the runs render as the paragraph does, and a paragraph
/// streamed line by line without a blank line re-wraps only its last run. Where a run ends
/// depends only on the text before, so it does not move as text is added.
fn chunks(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let at = start?;
        let end = text.as_bytes()[at..]
            .iter()
            .skip(CHUNK)
            .position(|&b| b == b'\n')
            .map(|p| at + CHUNK + p);
        start = end.map(|e| e + 1);
        Some((at, &text[at..end.unwrap_or(text.len())]))
    })
}

fn reflection_blocks<'a>(src: &Source<'a>) -> Vec<Block<'a>> {
    let Some(t) = src.shown_turn() else {
        return note(2, "Reflections (self-corrections) appear here, numbered.");
    };
    let turn = &src.turns[t];
    if turn.reflections.is_empty() {
        // "none" only once the turn can no longer reflect.
        return note(
            2,
            if turn.is_running() || turn.is_queued() {
                "No reflections yet."
            } else {
                "No reflections in this turn."
            },
        );
    }
    turn.reflections
        .iter()
        .enumerate()
        .map(|(i, r)| Block {
            key: Key::new(2, t, i, 0),
            turn: Some(t),
            kind: Kind::Reflection { r, gap: i > 0 },
        })
        .collect()
}

/// The wrapped lines of one block.
pub fn lines_of(src: &Source<'_>, block: &Block<'_>, width: u16) -> Lines {
    src.caches.lines.get(
        block.key,
        block.kind.fingerprint(),
        width,
        src.theme_rev,
        || block.kind.render(src.theme, usize::from(width), src.caches),
    )
}

/// One row of a window: a line of a block's lines.
#[derive(Clone, Debug)]
pub struct Row {
    pub lines: Lines,
    pub index: usize,
    pub turn: Option<usize>,
}

/// What a pane shows.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub rows: Vec<Row>,
    /// Lines hidden below the window (when following, the queued messages' lines that
    /// [`follow_below`] leaves out).
    pub below: usize,
    /// Lines hidden above, when known (not computed while following).
    pub above: Option<usize>,
}

/// The rows `pane` shows in a `width` × `height` window scrolled to `scroll`.
pub fn window(src: &Source<'_>, pane: Pane, scroll: Scroll, width: u16, height: u16) -> Window {
    let height = usize::from(height);
    if width == 0 || height == 0 {
        return Window::default();
    }
    let blocks = blocks(src, pane);
    if scroll.follow {
        // From the bottom up, only as far as the window reaches.
        let below = follow_below(src, pane, width, height);
        let mut skip = below;
        let mut rows = Vec::with_capacity(height);
        for b in blocks.iter().rev() {
            let lines = lines_of(src, b, width);
            let shown = lines.len().saturating_sub(skip);
            skip -= lines.len() - shown;
            for index in (0..shown).rev() {
                rows.push(Row {
                    lines: lines.clone(),
                    index,
                    turn: b.turn,
                });
                if rows.len() == height {
                    break;
                }
            }
            if rows.len() == height {
                break;
            }
        }
        rows.reverse();
        return Window {
            rows,
            below,
            above: None,
        };
    }
    let all: Vec<(Lines, Option<usize>)> = blocks
        .iter()
        .map(|b| (lines_of(src, b, width), b.turn))
        .collect();
    let total: usize = all.iter().map(|(l, _)| l.len()).sum();
    let first = scroll.first_line(total, height);
    let mut rows = Vec::with_capacity(height);
    let mut at = 0;
    for (lines, turn) in all {
        let n = lines.len();
        if at + n > first {
            let from = first.saturating_sub(at);
            for index in from..n {
                if rows.len() == height {
                    break;
                }
                rows.push(Row {
                    lines: lines.clone(),
                    index,
                    turn,
                });
            }
        }
        at += n;
        if rows.len() == height {
            break;
        }
    }
    Window {
        below: total.saturating_sub(first + rows.len()),
        above: Some(first),
        rows,
    }
}

/// Lines of the conversation that following leaves below a `height`-row window: while a turn
/// is generated, the messages queued after it may take at most half the window, so that the
/// running answer stays in view. 0 for the side panes, and when nothing waits.
pub fn follow_below(src: &Source<'_>, pane: Pane, width: u16, height: usize) -> usize {
    let Some(running) = src.turns.iter().rposition(Turn::is_running) else {
        return 0;
    };
    if pane != Pane::Output || running + 1 == src.turns.len() || width == 0 {
        return 0;
    }
    let after: usize = blocks(src, pane)
        .iter()
        .filter(|b| b.turn.is_some_and(|t| t > running))
        .map(|b| lines_of(src, b, width).len())
        .sum();
    after.saturating_sub(height / 2)
}

/// All lines of `pane` at `width`.
pub fn total_lines(src: &Source<'_>, pane: Pane, width: u16) -> usize {
    if width == 0 {
        return 0;
    }
    blocks(src, pane)
        .iter()
        .map(|b| lines_of(src, b, width).len())
        .sum()
}

/// The line where turn `turn` starts in the conversation at `width`.
pub fn turn_first_line(src: &Source<'_>, turn: usize, width: u16) -> usize {
    if width == 0 {
        return 0;
    }
    blocks(src, Pane::Output)
        .iter()
        .take_while(|b| b.turn.is_some_and(|t| t < turn))
        .map(|b| lines_of(src, b, width).len())
        .sum()
}

/// The turn drawn on screen row `row` of the conversation's text area `inner`, scrolled to
/// `scroll`.
pub fn turn_at(src: &Source<'_>, scroll: Scroll, inner: Rect, row: u16) -> Option<usize> {
    let offset = row.checked_sub(inner.y)?;
    if offset >= inner.height {
        return None;
    }
    let w = window(src, Pane::Output, scroll, inner.width, inner.height);
    w.rows.get(usize::from(offset)).and_then(|r| r.turn)
}

#[cfg(test)]
mod tests {
    use super::{chunks, CHUNK};
    use crate::tui::text::wrap;
    use ratatui::style::Style;

    #[test]
    fn thinking_runs_are_whole_lines_that_stay_put_and_wrap_as_the_whole() {
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let runs: Vec<(usize, &str)> = chunks(&text).collect();
        assert!(runs.len() > 5 && runs.iter().all(|(_, r)| r.len() < CHUNK + 20));
        for (at, run) in &runs {
            assert_eq!(&text[*at..*at + run.len()], *run);
        }
        let joined: Vec<&str> = runs.iter().map(|(_, r)| *r).collect();
        assert_eq!(joined.join("\n"), text);
        // As the text grows, the runs before the last stay as they were.
        for end in (0..text.len()).step_by(101) {
            let grown: Vec<(usize, &str)> = chunks(&text[..end]).collect();
            assert_eq!(grown[..grown.len() - 1], runs[..grown.len() - 1]);
        }
        let wrapped = |t: &str| {
            let mut out = Vec::new();
            wrap::plain(t, Style::default(), 9, &mut out);
            out
        };
        let pieces: Vec<_> = runs.iter().flat_map(|(_, r)| wrapped(r)).collect();
        assert_eq!(pieces, wrapped(&text));
    }
}
