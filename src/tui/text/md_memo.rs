//! The Markdown of an answer while it streams, rendered piecewise: the lines of the top-level
//! blocks that later text can no longer change are kept (up to a `markdown::Part::cut`), and
//! each frame renders only the text after them and shares the kept lines (as `lines::Run`s)
//! instead of copying them; without this, every frame rendered the whole answer again. The
//! memo is derived data (owned by the app's state in [`super::Caches`], keyed by the text
//! itself), and the result equals rendering
//! the whole text: tests check it for many texts cut at many points.

use super::lines::Run;
use super::markdown::{self, Before, MdStyles, Memos};
use crate::term_safe::neutralise;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

/// Texts remembered (the answer streaming now, and a few at other widths).
const ENTRIES: usize = 4;

struct Entry {
    st: MdStyles,
    width: usize,
    /// The start of a text, as given (before `neutralise`).
    head: String,
    /// Its lines, trailing blank lines kept, in runs of decreasing length (so at most about
    /// log2(lines) runs, each line copied about as often when runs merge).
    runs: Vec<Run>,
}

/// The memo of answers rendered lately.
#[derive(Default)]
pub struct MdMemo {
    entries: RefCell<Vec<Entry>>,
}

impl std::fmt::Debug for MdMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.try_borrow().map_or(0, |e| e.len());
        write!(f, "MdMemo({n} texts)")
    }
}

impl MdMemo {
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.try_borrow_mut() {
            e.clear();
        }
    }
}

/// The lines of `markdown::render(&neutralise(text), st, width)`, as runs: those of the start
/// of an earlier text that this one begins with are shared, not rendered again.
/// `memos` are those the rendering itself uses (long lines, code blocks).
pub fn render(m: &MdMemo, text: &str, st: MdStyles, width: usize, memos: Memos<'_>) -> Vec<Run> {
    {
        let memo = &m.entries;
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return vec![Arc::new(markdown::render(
                &neutralise(text),
                st,
                width,
                memos,
            ))];
        };
        let best = memo
            .iter()
            .enumerate()
            .filter(|(_, e)| e.st == st && e.width == width && text.starts_with(e.head.as_str()))
            .max_by_key(|(_, e)| e.head.len())
            .map(|(i, _)| i);
        let mut e = match best {
            Some(i) => memo.remove(i),
            None => Entry {
                st,
                width,
                head: String::new(),
                runs: Vec::new(),
            },
        };
        let raw = &text[e.head.len()..];
        let tail = neutralise(raw);
        let last = e.runs.iter().rev().find_map(|r| r.last());
        let part = markdown::render_part(&tail, st, width, Before::of(last), memos);
        if part.defines {
            // A link reference defined here could change the kept lines: render it all.
            let mut lines = if e.head.is_empty() {
                part.lines
            } else {
                markdown::render(&neutralise(text), st, width, memos)
            };
            markdown::trim_end(&mut lines);
            if !e.head.is_empty() {
                memo.push(e);
            }
            return vec![Arc::new(lines)];
        }
        let mut lines = part.lines;
        // Cut only where the text is as given, so that offsets in it are offsets in `text`.
        if let (Some((at, n)), Cow::Borrowed(_)) = (part.cut, &tail) {
            e.head.push_str(&raw[..at]);
            let rest = lines.split_off(n);
            e.runs.push(Arc::new(std::mem::replace(&mut lines, rest)));
            merge(&mut e.runs);
        }
        let mut runs = e.runs.clone();
        runs.push(Arc::new(lines));
        trim_end(&mut runs);
        if !e.head.is_empty() {
            memo.push(e);
            if memo.len() > ENTRIES {
                memo.remove(0);
            }
        }
        runs
    }
}

/// Merges the last runs while the one before is not longer than the last.
fn merge(runs: &mut Vec<Run>) {
    while runs.len() >= 2 && runs[runs.len() - 2].len() <= runs[runs.len() - 1].len() {
        let (b, a) = (runs.pop(), runs.pop());
        let mut joined = Vec::new();
        for run in [a, b].into_iter().flatten() {
            match Arc::try_unwrap(run) {
                Ok(lines) if joined.is_empty() => joined = lines,
                Ok(lines) => joined.extend(lines),
                Err(shared) => joined.extend_from_slice(&shared),
            }
        }
        runs.push(Arc::new(joined));
    }
}

/// Drops trailing blank lines (copying a shared run only if it has one at its end).
fn trim_end(runs: &mut Vec<Run>) {
    while let Some(last) = runs.last_mut() {
        if last.is_empty() {
            runs.pop();
        } else if last.last().is_some_and(|l| l.width() == 0) {
            markdown::trim_end(Arc::make_mut(last));
        } else {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::text::wrap_memo::WrapMemo;

    thread_local! {
        static MEMO: MdMemo = MdMemo::default();
        static WRAP: WrapMemo = WrapMemo::default();
    }

    fn clear() {
        MEMO.with(MdMemo::clear);
        WRAP.with(WrapMemo::clear);
    }
    use proptest::prelude::*;
    use ratatui::style::{Color, Style};
    use ratatui::text::Line;

    fn styles(color: bool) -> MdStyles {
        MdStyles {
            base: Style::default(),
            code: Style::default().fg(Color::Green),
            muted: Style::default().fg(Color::DarkGray),
            color,
        }
    }

    /// What `render` gives, as one list.
    fn memo(text: &str, st: MdStyles, width: usize) -> Vec<Line<'static>> {
        let runs = MEMO.with(|m| {
            WRAP.with(|w| {
                let memos = Memos {
                    wrap: Some(w),
                    code: None,
                };
                render(m, text, st, width, memos)
            })
        });
        runs.iter().flat_map(|r| r.iter().cloned()).collect()
    }

    /// The reference: the whole text, every line wrapped from scratch.
    fn whole(text: &str, st: MdStyles, width: usize) -> Vec<Line<'static>> {
        markdown::render(&neutralise(text), st, width, Memos::NONE)
    }

    /// Pieces of Markdown whose meaning depends on what comes before or after them.
    fn pieces() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "\n",
                "\n",
                "\n\n",
                "\n\n",
                "para ",
                "word ",
                "more words here ",
                "x",
                "- ",
                "* ",
                "1. ",
                "2. ",
                "1) ",
                "  ",
                "    ",
                "\t",
                "> ",
                "# ",
                "## ",
                "#",
                "---",
                "***",
                "===",
                "```",
                "```rust\n",
                "~~~",
                "`",
                "*",
                "**",
                "_",
                "~~",
                "[a]",
                "[link](http://x.io)",
                "[a]: /url",
                "[a]:",
                "<div>",
                "</div>",
                "<!--",
                "-->",
                "<http://y.io>",
                "| a | b |",
                "|---|---|",
                "| c | d |",
                "- [ ] ",
                "\\",
                "&amp;",
                "fn f() {}",
                "let s = \"x\";",
                "/* c",
                "*/",
                "日本語",
                "e\u{301}",
                "🇫🇷",
                "\u{1b}[31m",
                "\r",
            ]),
            0..40,
        )
        .prop_map(|v| v.concat())
    }

    /// Lines: indentation, a block marker, inline pieces, and an end (or none, mid-line).
    fn lines() -> impl Strategy<Value = String> {
        let line = (
            prop::sample::select(vec!["", "", "", " ", "  ", "   ", "    ", "\t"]),
            prop::sample::select(vec![
                "",
                "",
                "",
                "",
                "- ",
                "* ",
                "+ ",
                "-",
                "1. ",
                "2. ",
                "1) ",
                "1.",
                "> ",
                ">",
                "# ",
                "## ",
                "#",
                "---",
                "***",
                "* * *",
                "===",
                "```",
                "```rust",
                "````",
                "~~~",
                "    ",
                "| a | b |",
                "|---|---|",
                "|-|",
                "| - |",
                "<div>",
                "</div>",
                "<!--",
                "-->",
                "<pre>",
                "</pre>",
                "[a]: /url",
                "[a]:",
                "[a]",
                "- [ ] ",
                "- [x] ",
            ]),
            prop::collection::vec(
                prop::sample::select(vec![
                    "word ",
                    "x",
                    "more words here ",
                    "`",
                    "*",
                    "**",
                    "_",
                    "~~",
                    "[a]",
                    "[l](http://x.io)",
                    "<http://y.io>",
                    "|",
                    "|x",
                    "\\",
                    "&amp;",
                    "fn f() {}",
                    "/* c",
                    "*/",
                    "日本語",
                    "e\u{301}",
                    "🇫🇷",
                    "\u{1b}[31m",
                    "-",
                    "=",
                    "#",
                    "`x`",
                ]),
                0..4,
            ),
            prop::sample::select(vec!["\n", "\n", "\n", "\n\n", "\n\n", " \n", "\n \n"]),
        )
            .prop_map(|(indent, marker, inline, end)| {
                [indent, marker, &inline.concat(), end].concat()
            });
        prop::collection::vec(line, 0..12).prop_map(|v| v.concat())
    }

    fn markdown_text() -> impl Strategy<Value = String> {
        prop_oneof![pieces(), lines()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// An answer streamed in pieces renders, at every step, as the whole text does.
        #[test]
        fn a_growing_answer_renders_as_the_whole_text(
            text in markdown_text(),
            steps in prop::collection::vec(1usize..20, 1..30),
            width in 4usize..40,
            color in any::<bool>(),
        ) {
            clear();
            let st = styles(color);
            let mut end: usize = 0;
            for step in steps.iter().chain(std::iter::once(&usize::MAX)) {
                end = end.saturating_add(*step).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                let prefix = &text[..end];
                prop_assert_eq!(memo(prefix, st, width), whole(prefix, st, width), "{:?}", prefix);
            }
            // Again, at another width and in other styles, then as before.
            prop_assert_eq!(memo(&text, st, width + 7), whole(&text, st, width + 7));
            prop_assert_eq!(memo(&text, styles(!color), width), whole(&text, styles(!color), width));
            prop_assert_eq!(memo(&text, st, width), whole(&text, st, width));
        }

        /// The same, one character at a time: every prefix of the text.
        #[test]
        fn every_prefix_renders_as_the_whole_text(text in lines(), width in 4usize..30) {
            clear();
            let st = styles(true);
            for end in (0..=text.len()).filter(|e| text.is_char_boundary(*e)) {
                let prefix = &text[..end];
                prop_assert_eq!(memo(prefix, st, width), whole(prefix, st, width), "{:?}", prefix);
            }
        }

        /// Two answers streaming in turn (the memo holds both) each render as their whole text.
        #[test]
        fn answers_in_turn_do_not_mix(
            a in markdown_text(),
            b in markdown_text(),
            cut in 0usize..200,
        ) {
            clear();
            let st = styles(true);
            let mid = |t: &str| {
                let mut k = cut.min(t.len());
                while !t.is_char_boundary(k) {
                    k += 1;
                }
                k
            };
            for t in [&a[..mid(&a)], &b[..mid(&b)], a.as_str(), b.as_str()] {
                prop_assert_eq!(memo(t, st, 30), whole(t, st, 30), "{:?}", t);
            }
        }
    }

    /// Cases the property tests found when a condition of `markdown::cut_at` was left out: a
    /// table's delimiter row undone by the rest of its line, and an item of the list above.
    #[test]
    fn blocks_that_later_text_changes_are_not_kept() {
        let st = styles(true);
        for text in [
            "word \n| a | b |\n|---|---|word \n",
            "1) \n\n1) word \n",
            "1. a\n\n2\n\n2. b\n",
        ] {
            clear();
            for end in (0..=text.len()).filter(|e| text.is_char_boundary(*e)) {
                let prefix = &text[..end];
                assert_eq!(memo(prefix, st, 4), whole(prefix, st, 4), "{prefix:?}");
            }
        }
    }

    #[test]
    fn kept_lines_are_shared_between_frames_in_few_runs() {
        clear();
        let st = styles(true);
        let text: String = (0..500).map(|i| format!("Paragraph {i}.\n\n")).collect();
        let mut runs = Vec::new();
        for end in (0..text.len() - 10).step_by(5) {
            runs = MEMO.with(|m| render(m, &text[..end], st, 30, Memos::NONE));
        }
        let lines: usize = runs.iter().map(|r| r.len()).sum();
        assert!(
            lines > 900 && runs.len() <= 2 + lines.ilog2() as usize,
            "{}",
            runs.len()
        );
        let next = MEMO.with(|m| render(m, &text[..text.len() - 7], st, 30, Memos::NONE));
        assert!(
            Arc::ptr_eq(&runs[0], &next[0]),
            "the first run is not copied again"
        );
    }

    #[test]
    fn the_kept_part_grows_only_past_closed_blocks() {
        clear();
        let st = styles(true);
        let text = "# Title\n\nA paragraph.\n\n- one\n- two\n\n```rust\nfn x() {}\n\nfn y() {}\n```\n\nEnd";
        for end in 0..=text.len() {
            let prefix = &text[..end];
            assert_eq!(memo(prefix, st, 30), whole(prefix, st, 30), "{prefix:?}");
        }
        let kept = MEMO.with(|m| m.entries.borrow().last().map(|e| e.head.clone()));
        // Up to the code block: "End" may still go on on its line.
        assert_eq!(kept.as_deref(), text.find("```").map(|i| &text[..i]));
        // A reference defined at the end changes a link above it.
        let text = "See [a].\n\nMore.\n\n[a]: http://x.io\n";
        for end in 0..=text.len() {
            let prefix = &text[..end];
            assert_eq!(memo(prefix, st, 30), whole(prefix, st, 30), "{prefix:?}");
        }
    }
}
