//! Code-fence tracking for the Output channel, where text inside ``` or ~~~ blocks is literal.
//!
//! An answer that shows a code sample about `<thinking>` must keep it as content. The tracker
//! is a byte-at-a-time state machine that decides at the byte ending a marker run, with no
//! lookahead: a line that starts (after up to 3 spaces) with ≥3 backticks or tildes opens a
//! fence; a run of the same byte, at least as long, at a line start closes it. Text after the
//! marker on the same line (an info string, or anything after a closing run) is not checked.

/// Where the tracker is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// At a line start, after `indent` spaces.
    Start { indent: u8 },
    /// Inside a run of `len` marker bytes at a line start.
    Run { byte: u8, len: usize },
    /// Past the point where this line could be a fence marker.
    Mid,
}

/// Fence state of the Output channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fence {
    /// The open fence's marker byte and run length.
    open: Option<(u8, usize)>,
    line: Line,
}

impl Default for Fence {
    fn default() -> Self {
        Fence {
            open: None,
            line: Line::Start { indent: 0 },
        }
    }
}

impl Fence {
    /// Back to a line start outside any fence (a block boundary).
    pub(super) fn reset(&mut self) {
        *self = Fence::default();
    }

    /// Inside a fenced code block?
    pub(super) fn in_fence(&self) -> bool {
        self.open.is_some()
    }

    /// Past the start of the line, so only a newline can change the state.
    pub(super) fn mid_line(&self) -> bool {
        self.line == Line::Mid
    }

    /// A newline seen while mid-line (the fast path's shortcut for `step(b'\n')`).
    pub(super) fn newline(&mut self) {
        self.line = Line::Start { indent: 0 };
    }

    /// Feed one byte of Output text.
    pub(super) fn step(&mut self, b: u8) {
        self.line = match self.line {
            Line::Start { indent } => match b {
                b' ' if indent < 3 => Line::Start { indent: indent + 1 },
                b'`' | b'~' => Line::Run { byte: b, len: 1 },
                b'\n' => Line::Start { indent: 0 },
                _ => Line::Mid,
            },
            Line::Run { byte, len } if b == byte => Line::Run {
                byte,
                len: len.saturating_add(1),
            },
            Line::Run { byte, len } => {
                self.end_run(byte, len);
                if b == b'\n' {
                    Line::Start { indent: 0 }
                } else {
                    Line::Mid
                }
            }
            Line::Mid if b == b'\n' => Line::Start { indent: 0 },
            Line::Mid => Line::Mid,
        };
    }

    /// A marker run at a line start just ended: open or close a fence.
    fn end_run(&mut self, byte: u8, len: usize) {
        if len < 3 {
            return;
        }
        match self.open {
            None => self.open = Some((byte, len)),
            Some((open_byte, open_len)) if open_byte == byte && len >= open_len => {
                self.open = None;
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `text`, recording after each byte whether it is inside a fence.
    fn trace(text: &str) -> String {
        let mut f = Fence::default();
        text.bytes()
            .map(|b| {
                f.step(b);
                if f.in_fence() {
                    'F'
                } else {
                    '.'
                }
            })
            .collect()
    }

    fn ends_in_fence(text: &str) -> bool {
        trace(text).ends_with('F')
    }

    #[test]
    fn opens_at_byte_ending_the_run() {
        assert_eq!(trace("```x"), "...F");
        assert_eq!(trace("~~~\n"), "...F");
        assert_eq!(trace("``x"), "...");
    }

    #[test]
    fn closes_with_same_marker_at_least_as_long() {
        assert_eq!(trace("```\nab\n```\nc"), "...FFFFFFF..");
        assert!(ends_in_fence("````\n```\n"));
        assert!(ends_in_fence("```\n~~~\n"));
        assert!(!ends_in_fence("~~~\n~~~~\n"));
    }

    #[test]
    fn indentation_up_to_three_spaces() {
        assert!(ends_in_fence("   ```\n"));
        assert!(!ends_in_fence("    ```\n"));
        assert!(!ends_in_fence("\t```\n"));
    }

    #[test]
    fn only_at_line_start() {
        assert!(!ends_in_fence("text ```\n"));
        assert!(ends_in_fence("text\n```\n"));
        assert!(ends_in_fence("```\ncode ```\n"));
    }

    #[test]
    fn unfinished_run_decides_nothing() {
        let mut f = Fence::default();
        for b in "```".bytes() {
            f.step(b);
        }
        assert!(!f.in_fence());
        assert!(!f.mid_line());
    }

    #[test]
    fn reset_leaves_fence() {
        let mut f = Fence::default();
        for b in "```\n".bytes() {
            f.step(b);
        }
        assert!(f.in_fence());
        f.reset();
        assert_eq!(f, Fence::default());
    }
}
