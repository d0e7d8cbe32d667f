//! A tool call as the conversation shows it: the tool and its short arguments, its status
//! (asking, waiting, running with the time so far, done, failed, denied, cancelled), the first
//! lines of its result (all of them once expanded), and, while it waits for the user, the
//! approval prompt with what the call would do. Tool output is untrusted: it passes through
//! `term_safe::neutralise` here, before any buffer sees it.

use super::style;
use super::wrap::{self, Logical};
use crate::term_safe::neutralise;
use crate::theme::{Purpose, Theme};
use crate::tools::{builtin, CallRecord, CallStatus};
use crate::tui::tool_flow::Asking;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Lines of a result a folded block shows.
pub const FOLDED_LINES: usize = 4;

/// One call block's inputs.
#[derive(Clone, Copy, Debug)]
pub struct CallView<'a> {
    pub rec: &'a CallRecord,
    /// The call the running turn is at (a later one of the same step waits).
    pub current: bool,
    /// Its whole result shows.
    pub expanded: bool,
    /// The approval prompt, when this call is the one asked about.
    pub asking: Option<&'a Asking>,
}

/// `850 ms`, `12.3 s`, `2m05s`.
pub fn elapsed(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

/// The status words and their style.
fn status(v: &CallView<'_>, theme: &Theme) -> (String, Style) {
    let of = |p| style::of(theme, p);
    let r = v.rec;
    match r.status {
        CallStatus::Asking => ("? asking".into(), of(Purpose::Warning)),
        CallStatus::Running if !v.current => ("⧗ waiting".into(), of(Purpose::Muted)),
        CallStatus::Running => (
            format!("⧗ running {}", elapsed(r.elapsed_ms)),
            of(Purpose::Muted),
        ),
        CallStatus::Done => (
            format!("✓ done in {}", elapsed(r.elapsed_ms)),
            of(Purpose::Muted),
        ),
        CallStatus::Failed => ("✗ failed".into(), of(Purpose::Error)),
        CallStatus::Denied => ("⊘ denied".into(), of(Purpose::Warning)),
        CallStatus::Cancelled => ("⏹ cancelled".into(), of(Purpose::Warning)),
    }
}

/// Untrusted text as lines to draw: escape sequences neutralised, tabs as spaces.
fn safe_lines(text: &str) -> Vec<String> {
    neutralise(text)
        .replace('\t', "    ")
        .lines()
        .map(str::to_string)
        .collect()
}

/// `text` wrapped under the bar `  │ `.
fn barred(text: &str, s: Style, bar: Style, width: usize, out: &mut Vec<Line<'static>>) {
    let prefix = [Span::styled("  │ ", bar)];
    let spans = [Span::styled(text.to_string(), s)];
    let l = Logical {
        first: &prefix,
        rest: &prefix,
        spans: &spans,
        hard: false,
    };
    wrap::wrap(&l, width, out);
}

/// The block's lines at `width` columns.
pub fn render(v: &CallView<'_>, theme: &Theme, width: usize, out: &mut Vec<Line<'static>>) {
    let of = |p| style::of(theme, p);
    let call = &v.rec.call;
    let (state, state_style) = status(v, theme);
    let head = [
        Span::styled("⚙ ", of(Purpose::Code)),
        Span::styled(
            neutralise(&call.name).into_owned(),
            of(Purpose::Code).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            match builtin::summary(call) {
                s if s.is_empty() => String::new(),
                s => format!(" {}", neutralise(&s)),
            },
            of(Purpose::Muted),
        ),
        Span::styled(format!("  {state}"), state_style),
    ];
    let indent = [Span::raw("  ")];
    let l = Logical {
        first: &[],
        rest: &indent,
        spans: &head,
        hard: false,
    };
    wrap::wrap(&l, width, out);
    if let Some(a) = v.asking {
        prompt(a, theme, width, out);
        return;
    }
    result(v, theme, width, out);
}

/// The first lines of the result (all when expanded), and how many more there are.
fn result(v: &CallView<'_>, theme: &Theme, width: usize, out: &mut Vec<Line<'static>>) {
    let of = |p| style::of(theme, p);
    let lines = safe_lines(&v.rec.result);
    let text = match v.rec.status {
        CallStatus::Failed => of(Purpose::Error),
        _ => of(Purpose::Text),
    };
    let shown = if v.expanded {
        lines.len()
    } else {
        lines.len().min(FOLDED_LINES)
    };
    for line in &lines[..shown] {
        barred(line, text, of(Purpose::Muted), width, out);
    }
    let note = of(Purpose::Muted).add_modifier(Modifier::ITALIC);
    if shown < lines.len() {
        let more = lines.len() - shown;
        let s = if more == 1 { "" } else { "s" };
        barred(
            &format!("… {more} more line{s} (Enter on the conversation shows them)"),
            note,
            of(Purpose::Muted),
            width,
            out,
        );
    } else if v.expanded && lines.len() > FOLDED_LINES {
        barred("(Enter folds it)", note, of(Purpose::Muted), width, out);
    }
}

/// The approval prompt: what the call would do, and the keys.
fn prompt(a: &Asking, theme: &Theme, width: usize, out: &mut Vec<Line<'static>>) {
    let of = |p| style::of(theme, p);
    let bar = of(Purpose::Warning);
    let name = neutralise(&a.call.name).into_owned();
    barred(
        &format!("Allow {name}?"),
        of(Purpose::Warning).add_modifier(Modifier::BOLD),
        bar,
        width,
        out,
    );
    match &a.preview {
        Some(p) => {
            for line in safe_lines(p) {
                let s = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => of(Purpose::Output),
                    Some('-') if !line.starts_with("---") => of(Purpose::Error),
                    _ => of(Purpose::Code),
                };
                barred(&line, s, bar, width, out);
            }
        }
        None => barred("…", of(Purpose::Muted), bar, width, out),
    }
    let keys = if a.reason_draft.is_some() {
        "Denied: type a reason for the model in the message box and press Enter (Enter alone: \
         no reason) · Esc: deny and stop the turn"
            .to_string()
    } else if !a.armed {
        // Keys typed before the prompt could be read answer nothing.
        "read the call: the keys come in a moment · Esc deny and stop the turn".to_string()
    } else {
        format!(
            "y run once · a always allow {name} in this session · n deny · Esc deny and stop the \
             turn"
        )
    };
    barred(
        &keys,
        of(Purpose::Text).add_modifier(Modifier::BOLD),
        bar,
        width,
        out,
    );
}
