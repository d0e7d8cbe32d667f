//! The one-line status of pipe mode on a terminal ("thinking… 312 tokens, 1 reflection"): what
//! the model is doing while nothing reaches stdout, rewritten in place at a bounded rate and
//! erased before anything else is written. Only when stderr is a terminal and the thinking is
//! not shown itself.

use std::io::{self, Write};
use std::time::{Duration, Instant};

/// The status is redrawn at most this often: a terminal is not written once per token.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Goes to the start of the line and erases it.
const ERASE: &str = "\r\x1b[2K";

/// What the status says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the prompt: percent done.
    Prompt(u64),
    /// Thinking: tokens so far, reflections so far.
    Thinking { tokens: u32, reflections: usize },
    /// A tool call runs (the built-in tool's name).
    Tool(&'static str),
}

impl Phase {
    /// Another phase, or another reflection: worth drawing at once.
    fn news(self, before: Phase) -> bool {
        match (self, before) {
            (Phase::Prompt(_), Phase::Prompt(_)) => false,
            (
                Phase::Thinking { reflections, .. },
                Phase::Thinking {
                    reflections: then, ..
                },
            ) => reflections != then,
            _ => true,
        }
    }

    pub fn line(self) -> String {
        match self {
            Phase::Prompt(pct) => format!("reading the prompt… {pct}%"),
            Phase::Tool(name) => format!("running {name}…"),
            Phase::Thinking {
                tokens,
                reflections,
            } => format!(
                "thinking… {tokens} token{}, {reflections} reflection{}",
                if tokens == 1 { "" } else { "s" },
                if reflections == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The status line's state: whether it is on screen, and what was drawn when.
#[derive(Debug)]
pub struct Status {
    enabled: bool,
    /// The terminal's width, asked at each draw (the window may be resized).
    columns: fn() -> Option<usize>,
    shown: bool,
    drawn: Option<(Instant, Phase)>,
}

impl Status {
    /// `enabled`: stderr is a terminal and the thinking is not written there.
    pub fn new(enabled: bool) -> Self {
        Status {
            enabled,
            columns: crate::term_size::stderr_columns,
            shown: false,
            drawn: None,
        }
    }

    /// Shows `phase`, unless the line was drawn less than [`INTERVAL`] before `now` and
    /// `phase` brings no news (another phase, another reflection).
    pub fn update(&mut self, phase: Phase, now: Instant, w: &mut impl Write) -> io::Result<()> {
        let recent = |(at, before): (Instant, Phase)| {
            now.saturating_duration_since(at) < INTERVAL && !phase.news(before)
        };
        if !self.enabled || self.drawn.is_some_and(recent) {
            return Ok(());
        }
        self.drawn = Some((now, phase));
        self.shown = true;
        let line = phase.line();
        let line = crate::term_size::fit(&line, (self.columns)());
        write!(w, "{ERASE}\x1b[2m{line}\x1b[22m")?;
        w.flush()
    }

    /// Erases the line if it is shown: before the answer, a note, an error, or the exit. The
    /// next update draws at once.
    pub fn clear(&mut self, w: &mut impl Write) -> io::Result<()> {
        self.drawn = None;
        if std::mem::take(&mut self.shown) {
            w.write_all(ERASE.as_bytes())?;
            w.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thinking(tokens: u32, reflections: usize) -> Phase {
        Phase::Thinking {
            tokens,
            reflections,
        }
    }

    #[test]
    fn a_running_tool_is_named_and_drawn_at_once() {
        assert_eq!(Phase::Tool("run_command").line(), "running run_command…");
        assert!(Phase::Tool("search").news(thinking(3, 0)));
        assert!(Phase::Tool("search").news(Phase::Tool("read_file")));
    }

    #[test]
    fn the_line_counts_tokens_and_reflections() {
        assert_eq!(
            thinking(312, 1).line(),
            "thinking… 312 tokens, 1 reflection"
        );
        assert_eq!(thinking(1, 0).line(), "thinking… 1 token, 0 reflections");
        assert_eq!(Phase::Prompt(34).line(), "reading the prompt… 34%");
    }

    #[test]
    fn in_a_narrow_terminal_the_line_is_cut_so_that_it_cannot_wrap() {
        let mut s = Status::new(true);
        s.columns = || Some(12);
        let mut out = Vec::new();
        s.update(thinking(312, 1), Instant::now(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\r\x1b[2K\x1b[2mthinking… 3\x1b[22m");
    }

    #[test]
    fn it_is_drawn_at_a_bounded_rate_and_erased_once() {
        let mut s = Status::new(true);
        let mut out = Vec::new();
        let t0 = Instant::now();
        for n in 0..1000 {
            s.update(thinking(n, 0), t0, &mut out).unwrap();
        }
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(text.matches("thinking…").count(), 1, "{text:?}");
        assert!(text.contains("thinking… 0 tokens"), "{text:?}");
        s.update(thinking(1000, 2), t0 + INTERVAL, &mut out)
            .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.ends_with("thinking… 1000 tokens, 2 reflections\x1b[22m"));
        // A new phase or a new reflection is drawn at once.
        s.update(thinking(1001, 3), t0 + INTERVAL, &mut out)
            .unwrap();
        s.update(thinking(1002, 3), t0 + INTERVAL, &mut out)
            .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.ends_with("thinking… 1001 tokens, 3 reflections\x1b[22m"));
        out.clear();
        s.clear(&mut out).unwrap();
        s.clear(&mut out).unwrap();
        assert_eq!(out, ERASE.as_bytes(), "erased once");
    }

    #[test]
    fn the_prompt_then_the_thinking_are_both_drawn_however_fast() {
        let mut s = Status::new(true);
        let mut out = Vec::new();
        let t0 = Instant::now();
        s.update(Phase::Prompt(50), t0, &mut out).unwrap();
        s.update(Phase::Prompt(100), t0, &mut out).unwrap();
        s.update(thinking(1, 0), t0, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches(ERASE).count(), 2, "{text:?}");
        assert!(text.contains("reading the prompt… 50%") && text.contains("thinking… 1 token"));
    }

    #[test]
    fn disabled_it_writes_nothing() {
        let mut s = Status::new(false);
        let mut out = Vec::new();
        s.update(thinking(5, 1), Instant::now(), &mut out).unwrap();
        s.clear(&mut out).unwrap();
        assert!(out.is_empty());
    }
}
