//! What each block of a pane looks like: the welcome text, a user message, an answer (Markdown
//! plus its state: queued, working, interrupted, failed, cut short), a paragraph of thinking,
//! a reflection marker in the thinking flow, a numbered reflection, a placeholder note.
//! All model text passes through `term_safe::neutralise` here (answers in `md_memo`), before
//! any buffer sees it.

use super::call_block::{self, CallView};
use super::lines::Lines;
use super::markdown::{MdStyles, Memos};
use super::md_memo;
use super::style;
use super::wrap::{self, Logical};
use super::wrap_memo;
use super::Caches;
use crate::conversation::{Reflection, ThinkingPart, Turn, TurnState};
use crate::llm::ForcedBy;
use crate::llm::StopReason;
use crate::term_safe::neutralise;
use crate::theme::{Purpose, Theme};
use crate::tui::layout::{SidePanes, WIDE};
use crate::tui::phase::{self, Load};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// A block of a pane, borrowing what it shows.
#[derive(Clone, Copy, Debug)]
pub enum Kind<'a> {
    Welcome {
        load: &'a Load,
        side_panes: SidePanes,
    },
    User {
        turn: &'a Turn,
        selected: bool,
        /// A blank line above (not for the first turn).
        gap: bool,
    },
    Answer {
        turn: &'a Turn,
        ready: bool,
    },
    Thinking {
        text: &'a str,
        gap: bool,
    },
    Marker {
        n: usize,
        gap: bool,
    },
    /// Where the thinking budget acted: an extension, a forced end.
    BudgetMark {
        part: &'a ThinkingPart,
        gap: bool,
    },
    Reflection {
        r: &'a Reflection,
        gap: bool,
    },
    /// A tool call of a turn (and its approval prompt while it asks).
    Call(CallView<'a>),
    Note(&'static str),
}

fn hash(h: impl Hash) -> u64 {
    let mut s = DefaultHasher::new();
    h.hash(&mut s);
    s.finish()
}

fn state_code(t: &Turn) -> u8 {
    match t.state {
        TurnState::Queued => 0,
        TurnState::Running => 1,
        TurnState::Done => 2,
        TurnState::Interrupted => 3,
        TurnState::Failed(_) => 4,
    }
}

impl Kind<'_> {
    /// Changes whenever the block's lines would.
    pub fn fingerprint(&self) -> u64 {
        match self {
            Kind::Welcome { load, side_panes } => hash((
                match load {
                    Load::Loading(_) => 0,
                    Load::Ready => 1,
                    Load::Failed(_) => 2,
                },
                side_panes,
            )),
            Kind::User {
                turn,
                selected,
                gap,
            } => hash((turn.prompt.len(), selected, gap)),
            Kind::Answer { turn, ready } => hash((
                turn.answer.len(),
                state_code(turn),
                phase::of_turn(turn).label(),
                turn.stop_reason.map(|s| s.as_str()),
                turn.sent.is_empty(),
                ready,
            )),
            Kind::Thinking { text, gap } => hash((text.len(), gap)),
            Kind::Marker { n, gap } => hash((n, gap)),
            Kind::BudgetMark { part, gap } => hash((format!("{part:?}"), gap)),
            Kind::Reflection { r, gap } => hash((r.n, r.text.len(), r.open, gap)),
            Kind::Call(v) => hash((
                v.rec.status.as_str(),
                v.rec.result.len(),
                v.rec.elapsed_ms,
                v.current,
                v.expanded,
                v.asking.map(|a| {
                    (
                        a.preview.as_ref().map(String::len),
                        a.reason_draft.is_some(),
                        a.armed,
                    )
                }),
            )),
            Kind::Note(s) => hash(s),
        }
    }

    /// The block's lines at `width` columns, rendered with the memos of `caches`.
    pub fn render(&self, theme: &Theme, width: usize, caches: &Caches) -> Lines {
        let of = |p| style::of(theme, p);
        let mut out = Vec::new();
        match *self {
            Kind::Welcome { load, side_panes } => welcome(load, side_panes, theme, width, &mut out),
            Kind::User {
                turn,
                selected,
                gap,
            } => {
                if gap {
                    out.push(Line::default());
                }
                let (mark, mark_style) = if selected {
                    ("▶ ", of(Purpose::Selection))
                } else {
                    ("› ", of(Purpose::UserMessage))
                };
                let first = [Span::styled(mark, mark_style)];
                let rest = [Span::raw("  ")];
                let text = neutralise(&turn.prompt);
                for (i, line) in text.split('\n').enumerate() {
                    let spans = [Span::styled(line.to_string(), of(Purpose::UserMessage))];
                    let l = Logical {
                        first: if i == 0 { &first } else { &rest },
                        rest: &rest,
                        spans: &spans,
                        hard: false,
                    };
                    wrap_memo::wrap_with(Some(&caches.wrap), &l, width, &mut out);
                }
            }
            Kind::Answer { turn, ready } => return answer(turn, ready, theme, width, caches),
            Kind::Thinking { text, gap } => {
                if gap {
                    out.push(Line::default());
                }
                wrap::plain(&neutralise(text), of(Purpose::Thinking), width, &mut out);
            }
            Kind::Marker { n, gap } => {
                if gap {
                    out.push(Line::default());
                }
                let s = of(Purpose::Reflection).add_modifier(Modifier::BOLD);
                wrap::plain(&format!("↺ reflection {n}"), s, width, &mut out);
            }
            Kind::BudgetMark { part, gap } => {
                if gap {
                    out.push(Line::default());
                }
                let text = match part {
                    ThinkingPart::Extended(n) => format!("⟳ thinking extended ({n}): too short"),
                    ThinkingPart::Forced(ForcedBy::Budget) => {
                        "⏹ thinking ended: the budget is spent".to_string()
                    }
                    ThinkingPart::Forced(ForcedBy::User) => {
                        "⏹ thinking ended: you asked for the answer".to_string()
                    }
                    ThinkingPart::Forced(ForcedBy::NoThinking) => {
                        "⏹ no thinking: budget 0".to_string()
                    }
                    ThinkingPart::Text(_) | ThinkingPart::Reflection(_) => String::new(),
                };
                let s = of(Purpose::Warning).add_modifier(Modifier::BOLD);
                wrap::plain(&text, s, width, &mut out);
            }
            Kind::Reflection { r, gap } => {
                if gap {
                    out.push(Line::default());
                }
                let s = of(Purpose::Reflection);
                let more = if r.open { " …" } else { "" };
                let head = format!("↺ reflection {}{more}", r.n);
                wrap::plain(&head, s.add_modifier(Modifier::BOLD), width, &mut out);
                if !r.text.is_empty() {
                    wrap::plain(&neutralise(&r.text), s, width, &mut out);
                }
            }
            Kind::Call(v) => call_block::render(&v, theme, width, &mut out),
            Kind::Note(text) => {
                let s = of(Purpose::Muted).add_modifier(Modifier::ITALIC);
                wrap::plain(text, s, width, &mut out);
            }
        }
        out.into()
    }
}

/// Where the model's thinking and reflections show, as the side panes stand.
fn where_thinking_shows(side_panes: SidePanes) -> String {
    match side_panes {
        SidePanes::Shown => "Its thinking and reflections show in the side panes.".into(),
        SidePanes::Off => {
            "Its thinking and reflections have side panes, hidden now: F2, F3 (F4 when a pane \
             is maximised) bring them back."
                .into()
        }
        SidePanes::TooSmall { rows: Some(rows) } => format!(
            "Its thinking and reflections have side panes, hidden at this size: they show from \
             {rows} rows or {WIDE} columns."
        ),
        SidePanes::TooSmall { rows: None } => format!(
            "Its thinking and reflections have side panes, hidden at this size: they show from \
             {WIDE} columns."
        ),
    }
}

fn welcome(
    load: &Load,
    side_panes: SidePanes,
    theme: &Theme,
    width: usize,
    out: &mut Vec<Line<'static>>,
) {
    let text = style::of(theme, Purpose::Text);
    let muted = style::of(theme, Purpose::Muted);
    wrap::plain(
        "Welcome to reflect.",
        text.add_modifier(Modifier::BOLD),
        width,
        out,
    );
    wrap::plain(
        "Type a message and press Enter; Alt+Enter starts a new line; F1 lists every key.",
        text,
        width,
        out,
    );
    let state = match load {
        Load::Loading(_) => {
            "The model is loading. You can type now: a message sent early waits until it is ready."
                .to_string()
        }
        Load::Ready => format!("The model is ready. {}", where_thinking_shows(side_panes)),
        Load::Failed(_) => "The model did not load (see above); slash commands still work.".into(),
    };
    out.push(Line::default());
    wrap::plain(&state, muted, width, out);
}

/// A blank line, the Markdown (its finished blocks a run shared with `md_memo`), and a note
/// on the turn's state where it needs one.
fn answer(turn: &Turn, ready: bool, theme: &Theme, width: usize, caches: &Caches) -> Lines {
    let of = |p| style::of(theme, p);
    let mut runs = vec![Arc::new(vec![Line::default()])];
    let body = turn.answer.trim();
    if !body.is_empty() {
        let st = MdStyles {
            base: of(Purpose::Output),
            code: of(Purpose::Code),
            muted: of(Purpose::Muted),
            color: style::has_color(theme),
        };
        let memos = Memos {
            wrap: Some(&caches.wrap),
            code: Some(&caches.code),
        };
        runs.extend(md_memo::render(&caches.markdown, body, st, width, memos));
    }
    let note = of(Purpose::Muted).add_modifier(Modifier::ITALIC);
    let (text, s): (String, Style) = match &turn.state {
        TurnState::Queued if ready => ("⧗ queued".into(), note),
        TurnState::Queued => ("⧗ queued: sent when the model is ready".into(), note),
        TurnState::Running if body.is_empty() => {
            (format!("… {}", phase::of_turn(turn).label()), note)
        }
        TurnState::Running => return Lines::from_runs(runs),
        // Never sent: a resumed turn has no generation id but was sent (its text says so).
        TurnState::Interrupted if turn.sent.is_empty() => (
            "⏹ cancelled before it was sent".into(),
            of(Purpose::Warning),
        ),
        TurnState::Interrupted => ("⏹ interrupted".into(), of(Purpose::Warning)),
        TurnState::Failed(why) => (format!("✗ {}", neutralise(why)), of(Purpose::Error)),
        TurnState::Done => match turn.stop_reason {
            Some(StopReason::ContextFull) => (
                "⚠ cut short: the context is full".into(),
                of(Purpose::Warning),
            ),
            Some(StopReason::MaxTokens) => ("⚠ stopped at max_tokens".into(), of(Purpose::Warning)),
            _ if body.is_empty() => ("(no answer)".into(), note),
            _ => return Lines::from_runs(runs),
        },
    };
    let mut out = Vec::new();
    wrap::plain(&text, s, width, &mut out);
    runs.push(Arc::new(out));
    Lines::from_runs(runs)
}

#[cfg(test)]
mod tests {
    use crate::session::Session;
    use crate::tui::app::tests::{app, key, loaded, send};
    use crate::tui::app::App;
    use ratatui::buffer::Buffer;
    use ratatui::crossterm::event::KeyCode;
    use ratatui::layout::Rect;

    /// The chat as drawn at 100×30, one line a row (cells behind wide characters left out).
    fn screen(app: &App) -> String {
        let area = Rect::new(0, 0, 100, 30);
        let mut buf = Buffer::empty(area);
        crate::tui::view::draw(app, area, &mut buf);
        (0..area.height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < area.width {
                    let symbol = buf[(x, y)].symbol();
                    row.push_str(symbol);
                    x += (crate::tui::text::wrap::width(symbol) as u16).max(1);
                }
                row
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_resumed_interrupted_turn_says_interrupted_as_its_file_does() {
        let file = r#"{"version": 1, "id": "20261206-100000-abcd", "created": "", "updated": "",
            "model": "m", "profile": "reflection", "turns": [{"prompt": "tell me a story",
            "answer": "Once upon a time", "state": "interrupted", "stop_reason": "cancelled"}]}"#;
        let session: Session = serde_json::from_str(file).unwrap();
        let mut a = loaded();
        a.resume(
            session.live_turns(),
            "Resumed session 20261206-100000-abcd (1 turn)",
        );
        let s = screen(&a);
        assert!(s.contains("Once upon a time"), "{s}");
        assert!(s.contains("⏹ interrupted"), "{s}");
        assert!(!s.contains("cancelled before it was sent"), "{s}");
    }

    #[test]
    fn a_message_cancelled_before_it_was_sent_still_says_so() {
        let mut a = app();
        send(&mut a, "queued while loading");
        a.update(key(KeyCode::Esc));
        let s = screen(&a);
        assert!(s.contains("⏹ cancelled before it was sent"), "{s}");
    }
}
