//! The line breaks of the thinking that `--show-thinking` writes on stderr: the model's own
//! newlines around a reflection, a budget note or the end of thinking are replaced by one break
//! of a known size, so that a reflection is set off by exactly one blank line however many
//! newlines the model wrote around it.

#[derive(Debug)]
pub struct Spacing {
    /// Text was written since the start (or the last [`Spacing::close`]).
    started: bool,
    /// Newlines at the end of the last text, held back until more text comes.
    held: usize,
    /// A break of this many newlines goes before the next text, whose own leading newlines
    /// are dropped.
    pending: Option<usize>,
}

impl Default for Spacing {
    fn default() -> Self {
        Spacing {
            started: false,
            held: 0,
            // The thinking's first line starts at once.
            pending: Some(0),
        }
    }
}

impl Spacing {
    /// What to write for `text`: its trailing newlines held back, the pending break (or the
    /// newlines held from before) in front.
    pub fn text(&mut self, text: &str) -> String {
        let text = if self.pending.is_some() {
            text.trim_start_matches('\n')
        } else {
            text
        };
        let body = text.trim_end_matches('\n');
        if body.is_empty() {
            self.held += text.len();
            return String::new();
        }
        let before = match self.pending.take() {
            Some(n) if self.started => n,
            Some(_) => 0,
            None => self.held,
        };
        self.held = text.len() - body.len();
        self.started = true;
        let mut out = "\n".repeat(before);
        out.push_str(body);
        out
    }

    /// What comes next starts after a break of `newlines` (at least), whatever newlines the
    /// text before ended with or the text after starts with.
    pub fn brk(&mut self, newlines: usize) {
        self.held = 0;
        self.pending = Some(self.pending.unwrap_or(0).max(newlines));
    }

    /// Text written next follows at once, its leading newlines dropped (after a marker such
    /// as "↺ reflection 1: ").
    pub fn glue(&mut self) {
        self.held = 0;
        self.pending = Some(0);
    }

    /// The thinking ends here: what is held is dropped (the caller writes the end).
    pub fn close(&mut self) {
        *self = Spacing::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps: `T(text)` a text, `B(n)` a break, `G` glue.
    enum Step {
        T(&'static str),
        B(usize),
        G,
    }
    use Step::*;

    fn run(steps: &[Step]) -> String {
        let mut s = Spacing::default();
        let mut out = String::new();
        for step in steps {
            match step {
                T(t) => out.push_str(&s.text(t)),
                B(n) => s.brk(*n),
                G => s.glue(),
            }
        }
        out
    }

    #[test]
    fn breaks_replace_the_models_own_newlines() {
        let cases: Vec<(Vec<Step>, &str)> = vec![
            (vec![T("\nabc\n")], "abc"),
            (vec![T("a\n"), T("b")], "a\nb"),
            (vec![T("a"), T("\n"), T("\n"), T("b")], "a\n\nb"),
            (vec![T("a\n"), B(2), T("\nb")], "a\n\nb"),
            (vec![T("a\n\n\n"), B(2), T("\n\n\nb")], "a\n\nb"),
            (
                vec![T("a"), B(2), T("x: "), G, T("\nr\n"), B(2), T("\nb\n")],
                "a\n\nx: r\n\nb",
            ),
            (vec![B(2), T("\n\na")], "a"),
            (vec![T("a"), B(1), B(2), T("b")], "a\n\nb"),
            (vec![T("a"), B(2), T("\n"), T("b")], "a\n\nb"),
        ];
        for (steps, want) in cases {
            assert_eq!(run(&steps), want);
        }
    }

    #[test]
    fn close_drops_what_is_held_and_starts_afresh() {
        let mut s = Spacing::default();
        assert_eq!(s.text("a\n\n"), "a");
        s.close();
        assert_eq!(s.text("\nb"), "b");
    }
}
