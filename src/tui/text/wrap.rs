//! Wrapping styled text to a width, by grapheme and display width (CJK and emoji take two
//! columns and are never split), at word boundaries or anywhere (code). A logical line may
//! carry a prefix for its first row and another for the rows it wraps onto (list bullets,
//! quote bars, indentation).

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Columns a tab takes.
const TAB: &str = "    ";

/// One line of text before wrapping.
#[derive(Clone, Copy, Debug)]
pub struct Logical<'a> {
    /// Prefix of the first row.
    pub first: &'a [Span<'static>],
    /// Prefix of the rows it wraps onto.
    pub rest: &'a [Span<'static>],
    pub spans: &'a [Span<'static>],
    /// Break anywhere and keep every space (code), instead of at word boundaries.
    pub hard: bool,
}

/// Display width of a string.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// A place in a logical line's spans: a span and a byte offset in its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub span: usize,
    pub byte: usize,
}

/// Where a row (not the first) starts, from which a line that begins the same way can be wrapped
/// again without the rows before it (see `wrap_memo`).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    /// Rows before it.
    pub row: usize,
    /// Where the row's text starts.
    pub at: Pos,
    /// The end of the text that decided the rows so far: a line that has the same spans up to
    /// past this point has the same rows before `at`.
    pub seen: Pos,
}

/// A grapheme of the input: its text, columns, which span it came from and where in it.
struct G<'a> {
    s: &'a str,
    w: usize,
    span: usize,
    /// Byte range of the source grapheme in its span (a tab's four pieces share it).
    at: usize,
    end: usize,
    /// A tab's second to fourth piece.
    piece: bool,
    space: bool,
}

impl G<'_> {
    fn at(&self) -> Pos {
        Pos {
            span: self.span,
            byte: self.at,
        }
    }

    fn end(&self) -> Pos {
        Pos {
            span: self.span,
            byte: self.end,
        }
    }
}

/// The graphemes of `spans` from `from` (a grapheme boundary) on.
fn graphemes<'a>(spans: &'a [Span<'static>], from: Pos) -> Vec<G<'a>> {
    let mut out = Vec::new();
    for (i, span) in spans.iter().enumerate().skip(from.span) {
        let skip = if i == from.span { from.byte } else { 0 };
        let text = span.content.get(skip..).unwrap_or_default();
        for (at, g) in text.grapheme_indices(true) {
            let (at, end) = (skip + at, skip + at + g.len());
            if g == "\t" {
                out.extend(TAB.split_inclusive(' ').enumerate().map(|(k, s)| G {
                    s,
                    w: 1,
                    span: i,
                    at,
                    end,
                    piece: k > 0,
                    space: true,
                }));
            } else if g.chars().any(char::is_control) {
                continue;
            } else {
                out.push(G {
                    s: g,
                    w: width(g),
                    span: i,
                    at,
                    end,
                    piece: false,
                    space: g.chars().all(char::is_whitespace),
                });
            }
        }
    }
    out
}

/// Wraps `l` to `width` columns, appending the rows to `out` (at least one row).
pub fn wrap(l: &Logical<'_>, width: usize, out: &mut Vec<Line<'static>>) {
    if width > 0 {
        wrap_from(l, width, None, &mut Vec::new(), out);
    }
}

/// Wraps `l` (`width` > 0) from the start, or only the rows from `from` on (a mark of a line
/// that began the same way), appending the rows to `out` and the marks found to `marks`.
pub(super) fn wrap_from<'a>(
    l: &Logical<'a>,
    width: usize,
    from: Option<&Mark>,
    marks: &mut Vec<Mark>,
    out: &mut Vec<Line<'static>>,
) {
    // A prefix that leaves no room for text is dropped.
    let fit = |p: &'a [Span<'static>]| {
        let w = spans_width(p);
        if w < width {
            (p, w)
        } else {
            (&[][..], 0)
        }
    };
    let (first, first_w) = fit(l.first);
    let (rest, rest_w) = fit(l.rest);
    let (at, before) = from.map_or((Pos::default(), 0), |m| (m.at, m.row));
    let g = graphemes(l.spans, at);
    let avail = (width - first_w, width - rest_w);
    let rows = if l.hard {
        hard_rows(&g, avail, before, marks)
    } else {
        word_rows(&g, avail, before, marks)
    };
    for (i, (start, end)) in rows.into_iter().enumerate() {
        let mut spans: Vec<Span<'static>> = if i == 0 && before == 0 {
            first.to_vec()
        } else {
            rest.to_vec()
        };
        let mut k = start;
        while k < end {
            let span = g[k].span;
            let mut text = String::new();
            while k < end && g[k].span == span {
                text.push_str(g[k].s);
                k += 1;
            }
            spans.push(Span::styled(text, l.spans[span].style));
        }
        out.push(Line::from(spans));
    }
}

/// Rows broken anywhere; `(first, rest)` are the columns of the first row and of the others;
/// `before` rows came before `g` (so its first row is not the line's first).
fn hard_rows(
    g: &[G<'_>],
    (first, rest): (usize, usize),
    before: usize,
    marks: &mut Vec<Mark>,
) -> Vec<(usize, usize)> {
    let mut rows = Vec::new();
    let (mut start, mut used) = (0, 0);
    let mut avail = if before > 0 { rest } else { first };
    for (k, gr) in g.iter().enumerate() {
        if used + gr.w > avail && used > 0 {
            rows.push((start, k));
            (start, used, avail) = (k, 0, rest);
            if !gr.piece {
                marks.push(Mark {
                    row: before + rows.len(),
                    at: gr.at(),
                    seen: gr.end(),
                });
            }
        }
        used += gr.w;
    }
    rows.push((start, g.len()));
    rows
}

/// Rows broken at word boundaries (long words anywhere); arguments as for [`hard_rows`].
fn word_rows(
    g: &[G<'_>],
    (first, rest): (usize, usize),
    before: usize,
    marks: &mut Vec<Mark>,
) -> Vec<(usize, usize)> {
    let trim_end = |start: usize, mut end: usize| {
        while end > start && g[end - 1].space {
            end -= 1;
        }
        end
    };
    // A row starts at `k` after a decision that looked as far as `g[j]`.
    let mark = |marks: &mut Vec<Mark>, rows: usize, k: usize, j: usize| {
        if j < g.len() {
            marks.push(Mark {
                row: before + rows,
                at: g[k].at(),
                seen: g[j].end(),
            });
        }
    };
    let mut rows = Vec::new();
    let (mut start, mut used) = (0, 0);
    let mut avail = if before > 0 { rest } else { first };
    let mut i = 0;
    while i < g.len() {
        let space = g[i].space;
        let mut j = i;
        let mut w = 0;
        while j < g.len() && g[j].space == space {
            w += g[j].w;
            j += 1;
        }
        if space {
            if used == 0 && (before > 0 || !rows.is_empty()) {
                start = j;
            } else if used + w <= avail {
                used += w;
            } else {
                rows.push((start, i));
                (start, used, avail) = (j, 0, rest);
                mark(marks, rows.len(), j, j);
            }
            i = j;
            continue;
        }
        if used + w <= avail {
            used += w;
            i = j;
            continue;
        }
        if used > 0 && w <= rest {
            rows.push((start, trim_end(start, i)));
            (start, used, avail) = (i, 0, rest);
            mark(marks, rows.len(), i, j);
            continue;
        }
        for (k, gr) in g.iter().enumerate().take(j).skip(i) {
            if used + gr.w > avail && used > 0 {
                rows.push((start, k));
                (start, used, avail) = (k, 0, rest);
            }
            used += gr.w;
        }
        i = j;
    }
    rows.push((start, g.len()));
    rows
}

/// Plain text in one style: each `\n`-separated line wrapped at words.
pub fn plain(text: &str, style: Style, width: usize, out: &mut Vec<Line<'static>>) {
    for line in text.split('\n') {
        let spans = [Span::styled(line.to_string(), style)];
        wrap(
            &Logical {
                first: &[],
                rest: &[],
                spans: &spans,
                hard: false,
            },
            width,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, width: usize) -> Vec<String> {
        let mut out = Vec::new();
        plain(text, Style::default(), width, &mut out);
        out.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn words_wrap_and_long_words_break() {
        assert_eq!(rows("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(rows("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(rows("a  b", 10), ["a  b"]);
        assert_eq!(rows("  indented text", 40), ["  indented text"]);
        assert_eq!(rows("one\n\ntwo", 10), ["one", "", "two"]);
        assert_eq!(rows("", 10), [""]);
        assert_eq!(rows("x", 0), Vec::<String>::new());
    }

    #[test]
    fn wide_characters_are_never_split() {
        let r = rows("日本語のテキスト", 5);
        assert_eq!(r, ["日本", "語の", "テキ", "スト"]);
        for row in &r {
            assert!(width(row) <= 5);
        }
        let r = rows("ok 🎉🎉🎉", 4);
        assert!(r.iter().all(|row| width(row) <= 4), "{r:?}");
        assert_eq!(r.concat().replace(' ', ""), "ok🎉🎉🎉");
    }

    #[test]
    fn prefixes_and_hard_wrapping() {
        let bullet = [Span::raw("• ")];
        let hang = [Span::raw("  ")];
        let text = [Span::raw("alpha beta gamma")];
        let mut out = Vec::new();
        wrap(
            &Logical {
                first: &bullet,
                rest: &hang,
                spans: &text,
                hard: false,
            },
            12,
            &mut out,
        );
        let got: Vec<String> = out.iter().map(|l| l.to_string()).collect();
        assert_eq!(got, ["• alpha beta", "  gamma"]);
        let code = [Span::raw("let  x = 1;")];
        out.clear();
        wrap(
            &Logical {
                first: &[],
                rest: &[],
                spans: &code,
                hard: true,
            },
            5,
            &mut out,
        );
        let got: Vec<String> = out.iter().map(|l| l.to_string()).collect();
        assert_eq!(got, ["let  ", "x = 1", ";"]);
    }

    #[test]
    fn tabs_become_spaces_and_controls_vanish() {
        assert_eq!(rows("a\tb\u{7}", 20), ["a    b"]);
    }
}
