//! A memo of long wrapped lines, so that a paragraph streamed without a break is not wrapped
//! from its start every frame: a line that begins as one wrapped before keeps that one's rows
//! up to the last row start that the common beginning decided (a [`Mark`]), and only the rest
//! is wrapped. Word wrapping is greedy, so those rows cannot differ; graphemes after a boundary
//! inside the common text are the same too. The memo is derived data (owned by the app's state
//! in [`super::Caches`], keyed by the text itself), so a hit returns exactly what wrapping from
//! scratch would.

use super::wrap::{wrap_from, Logical, Mark, Pos};
use ratatui::text::{Line, Span};
use std::cell::{Cell, RefCell};

/// [`wrap`](super::wrap::wrap), keeping long lines in `memo` (when given) so that a line that
/// grows is wrapped again only from its last rows.
pub fn wrap_with(
    memo: Option<&WrapMemo>,
    l: &Logical<'_>,
    width: usize,
    out: &mut Vec<Line<'static>>,
) {
    if width == 0 {
        return;
    }
    match memo {
        Some(m) if m.applies(l) => wrap(m, l, width, out),
        _ => wrap_from(l, width, None, &mut Vec::new(), out),
    }
}

/// Lines shorter than this (in bytes) are wrapped from scratch: cheap, and not worth a copy.
/// Small under test, so that the property tests exercise the memo with short texts.
const LONG: usize = if cfg!(test) { 24 } else { 512 };

/// Lines remembered.
const ENTRIES: usize = 16;

struct Entry {
    first: Vec<Span<'static>>,
    rest: Vec<Span<'static>>,
    hard: bool,
    width: usize,
    spans: Vec<Span<'static>>,
    rows: Vec<Line<'static>>,
    marks: Vec<Mark>,
}

/// The memo: the lines wrapped lately, and a switch that turns it off (a reference for tests,
/// the old way for benchmarks).
#[derive(Default)]
pub struct WrapMemo {
    entries: RefCell<Vec<Entry>>,
    off: Cell<bool>,
}

impl std::fmt::Debug for WrapMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.try_borrow().map_or(0, |e| e.len());
        write!(f, "WrapMemo({n} lines)")
    }
}

impl WrapMemo {
    /// Runs `f` without the memo: every line wrapped from scratch.
    pub fn without<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.off, self.off.replace(true));
        f()
    }

    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.try_borrow_mut() {
            e.clear();
        }
    }

    /// Whether `l` is long enough for the memo (and the memo is on).
    pub(super) fn applies(&self, l: &Logical<'_>) -> bool {
        !self.off.get() && l.spans.iter().map(|s| s.content.len()).sum::<usize>() >= LONG
    }
}

/// Where `b` first differs from `a`: all spans before it are equal, and so is the text of its
/// span before `byte` (a character boundary), in the same style.
fn common_start(a: &[Span<'_>], b: &[Span<'_>]) -> Pos {
    for (span, (x, y)) in a.iter().zip(b).enumerate() {
        if x.style != y.style {
            return Pos { span, byte: 0 };
        }
        if x.content != y.content {
            let (x, y): (&str, &str) = (&x.content, &y.content);
            let mut byte = common_len(x.as_bytes(), y.as_bytes());
            // Equal bytes before it, so a boundary of one is a boundary of the other.
            while !x.is_char_boundary(byte) {
                byte -= 1;
            }
            return Pos { span, byte };
        }
    }
    Pos {
        span: a.len().min(b.len()),
        byte: 0,
    }
}

/// The length of the longest common start of `a` and `b` (compared a block at a time).
fn common_len(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let blocks = a
        .chunks(BLOCK)
        .zip(b.chunks(BLOCK))
        .take_while(|(x, y)| x == y)
        .count();
    let at = (blocks * BLOCK).min(a.len()).min(b.len());
    at + a[at..]
        .iter()
        .zip(&b[at..])
        .take_while(|(p, q)| p == q)
        .count()
}

/// Like [`super::wrap::wrap`] (`width` > 0), from the memo where it can.
pub(super) fn wrap(m: &WrapMemo, l: &Logical<'_>, width: usize, out: &mut Vec<Line<'static>>) {
    {
        let memo = &m.entries;
        let Ok(mut memo) = memo.try_borrow_mut() else {
            wrap_from(l, width, None, &mut Vec::new(), out);
            return;
        };
        // The remembered line whose kept rows reach furthest into this one.
        let best = memo
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.width == width && e.hard == l.hard && e.first == l.first && e.rest == l.rest
            })
            .filter_map(|(i, e)| {
                let common = common_start(&e.spans, l.spans);
                if e.spans.len() == l.spans.len()
                    && common
                        == (Pos {
                            span: l.spans.len(),
                            byte: 0,
                        })
                {
                    return Some((usize::MAX, i));
                }
                let usable = e.marks.partition_point(|m| m.seen < common);
                (usable > 0).then_some((usable, i))
            })
            .max();
        let from = out.len();
        let entry = match best {
            Some((usize::MAX, i)) => {
                let e = memo.remove(i);
                out.extend_from_slice(&e.rows);
                e
            }
            Some((usable, i)) => {
                let mut e = memo.remove(i);
                e.marks.truncate(usable);
                let mark = e.marks[usable - 1];
                e.rows.truncate(mark.row);
                out.extend_from_slice(&e.rows);
                wrap_from(l, width, Some(&mark), &mut e.marks, out);
                e.rows.extend_from_slice(&out[from + mark.row..]);
                e.spans = l.spans.to_vec();
                e
            }
            None => {
                let mut marks = Vec::new();
                wrap_from(l, width, None, &mut marks, out);
                Entry {
                    first: l.first.to_vec(),
                    rest: l.rest.to_vec(),
                    hard: l.hard,
                    width,
                    spans: l.spans.to_vec(),
                    rows: out[from..].to_vec(),
                    marks,
                }
            }
        };
        memo.push(entry);
        if memo.len() > ENTRIES {
            memo.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::style::{Color, Style};

    fn fresh(l: &Logical<'_>, width: usize) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        wrap_from(l, width, None, &mut Vec::new(), &mut out);
        out
    }

    thread_local! {
        static MEMO: WrapMemo = WrapMemo::default();
    }

    fn clear() {
        MEMO.with(WrapMemo::clear);
    }

    fn memo(l: &Logical<'_>, width: usize) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        MEMO.with(|m| wrap(m, l, width, &mut out));
        out
    }

    /// Words, spaces, tabs, wide and combining characters, flags and controls.
    fn pieces() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "w",
                "word",
                "a",
                "longerwordthanarow",
                " ",
                "  ",
                "\t",
                "日本",
                "é",
                "e\u{301}",
                "\u{301}",
                "🇫🇷",
                "🇫",
                "👩\u{200d}💻",
                "\u{200d}",
                "\u{7}",
                "x",
            ]),
            1..60,
        )
        .prop_map(|v| v.concat())
    }

    /// Splits `text` into spans at the given points, alternating two styles.
    fn spans_of(text: &str, cuts: &[usize]) -> Vec<Span<'static>> {
        let mut points: Vec<usize> = cuts
            .iter()
            .map(|c| c % (text.len() + 1))
            .filter(|c| text.is_char_boundary(*c))
            .collect();
        points.extend([0, text.len()]);
        points.sort_unstable();
        points.dedup();
        points
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let style = if i % 2 == 0 {
                    Style::default()
                } else {
                    Style::default().fg(Color::Green)
                };
                Span::styled(text[w[0]..w[1]].to_string(), style)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// A line streamed a piece at a time wraps, at every step, as it does from scratch.
        #[test]
        fn a_growing_line_wraps_as_from_scratch(
            text in pieces(),
            cuts in prop::collection::vec(0usize..400, 0..4),
            steps in prop::collection::vec(1usize..12, 1..40),
            width in 1usize..14,
            hard in any::<bool>(),
            bullet in any::<bool>(),
        ) {
            clear();
            let spans = spans_of(&text, &cuts);
            let (first, rest): (Vec<Span<'static>>, Vec<Span<'static>>) = if bullet {
                (vec![Span::raw("• ")], vec![Span::raw("  ")])
            } else {
                (vec![], vec![])
            };
            // Grow the line through prefixes of its text, span by span: by the given steps, or
            // (no steps) a character at a time.
            let ends: Vec<usize> = if steps.len() < 4 {
                (0..=text.len()).filter(|e| text.is_char_boundary(*e)).collect()
            } else {
                let mut end: usize = 0;
                steps.iter().chain(std::iter::once(&usize::MAX)).map(|step| {
                    end = end.saturating_add(*step).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    end
                }).collect()
            };
            for end in ends {
                let mut prefix = Vec::new();
                let mut at = 0;
                for s in &spans {
                    if at >= end {
                        break;
                    }
                    let take = s.content.len().min(end - at);
                    prefix.push(Span::styled(s.content[..take].to_string(), s.style));
                    at += s.content.len();
                }
                let l = Logical { first: &first, rest: &rest, spans: &prefix, hard };
                prop_assert_eq!(memo(&l, width), fresh(&l, width), "{:?} at {}", text, end);
            }
        }
    }

    /// A case the property test found when marks were trusted up to where their row starts,
    /// not to all the text that decided it (a flag, then a joiner that joins the next word).
    #[test]
    fn a_row_start_decided_by_text_that_changes_is_not_reused() {
        clear();
        let text = " 🇫🇷  word \u{200d}日本www";
        for end in (0..=text.len()).filter(|e| text.is_char_boundary(*e)) {
            let spans = [Span::raw(text[..end].to_string())];
            let l = Logical {
                first: &[],
                rest: &[],
                spans: &spans,
                hard: false,
            };
            assert_eq!(memo(&l, 5), fresh(&l, 5), "{end}");
        }
    }

    #[test]
    fn common_len_finds_the_first_difference() {
        let a: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
        for n in [0, 1, 63, 64, 65, 128, 200, 299] {
            let mut b = a.clone();
            b[n] ^= 1;
            assert_eq!(common_len(&a, &b), n);
            assert_eq!(common_len(&a[..n], &a), n);
            assert_eq!(common_len(&a, &a[..n]), n);
        }
        assert_eq!(common_len(&a, &a), 300);
    }

    #[test]
    fn a_long_paragraph_keeps_its_rows_and_changes_are_not_missed() {
        clear();
        let words: String = (0..200).map(|i| format!("w{i} ")).collect();
        let l = |s: &str| vec![Span::raw(s.to_string())];
        let (a, b) = (l(&words[..500]), l(&words[..520]));
        let line = |spans| Logical {
            first: &[],
            rest: &[],
            spans,
            hard: false,
        };
        assert_eq!(memo(&line(&a), 20), fresh(&line(&a), 20));
        assert_eq!(memo(&line(&b), 20), fresh(&line(&b), 20));
        // The same start in another style, and a change early on.
        let styled = vec![Span::styled(
            words[..520].to_string(),
            Style::default().fg(Color::Red),
        )];
        assert_eq!(memo(&line(&styled), 20), fresh(&line(&styled), 20));
        let changed = l(&words[..520].replacen("w3 ", "w3333333 ", 1));
        assert_eq!(memo(&line(&changed), 20), fresh(&line(&changed), 20));
    }
}
