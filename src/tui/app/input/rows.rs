//! Soft-wraps the message box's lines to its width, and maps the cursor between text positions
//! (line, character) and screen positions (row, column). Pure: the reducer uses it to size the
//! box and move the cursor by screen rows, the view to draw the same rows.

use unicode_width::UnicodeWidthChar;

/// Columns between tab stops (tabs stay tabs in the text; they are drawn as spaces).
pub const TAB: usize = 4;

/// One screen row of the box: characters `start..end` of logical line `line`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

/// The width `c` takes when it starts at column `col` of a row.
pub fn char_width(c: char, col: usize) -> usize {
    if c == '\t' {
        TAB - col % TAB
    } else {
        c.width().unwrap_or(0)
    }
}

/// The rows of `lines` at `width` columns: words move whole to the next row when they fit
/// there, longer ones break anywhere. A row that fills the width exactly is followed by an
/// empty one, where the cursor goes after its last character.
pub fn rows(lines: &[String], width: u16) -> Vec<Row> {
    let width = usize::from(width.max(1));
    let mut out = Vec::new();
    for (line, text) in lines.iter().enumerate() {
        let chars: Vec<char> = text.chars().collect();
        let mut start = 0;
        let mut col = 0;
        // Where the row may break: after the last whitespace seen in it.
        let mut soft: Option<usize> = None;
        let mut i = 0;
        while i < chars.len() {
            let w = char_width(chars[i], col);
            if col + w > width && i > start {
                // A space that does not fit hangs off the row's end, as editors do.
                let end = if chars[i] == ' ' {
                    i + 1
                } else {
                    soft.filter(|s| *s > start).unwrap_or(i)
                };
                if end == i + 1 {
                    out.push(Row { line, start, end });
                    start = end;
                    col = 0;
                    soft = None;
                    i += 1;
                    continue;
                }
                out.push(Row { line, start, end });
                start = end;
                col = chars[start..i]
                    .iter()
                    .fold(0, |col, c| col + char_width(*c, col));
                soft = None;
                continue;
            }
            col += w;
            if chars[i].is_whitespace() {
                soft = Some(i + 1);
            }
            i += 1;
        }
        out.push(Row {
            line,
            start,
            end: chars.len(),
        });
        if col >= width {
            out.push(Row {
                line,
                start: chars.len(),
                end: chars.len(),
            });
        }
    }
    if out.is_empty() {
        out.push(Row {
            line: 0,
            start: 0,
            end: 0,
        });
    }
    out
}

/// The screen row and column of the cursor at character `col` of line `line`, inside a box
/// `width` columns wide (a hanging space or an over-wide character puts it on the last column).
pub fn cursor_cell(
    lines: &[String],
    rows: &[Row],
    width: u16,
    (line, col): (usize, usize),
) -> (usize, usize) {
    let at = rows
        .iter()
        .rposition(|r| r.line == line && r.start <= col)
        .unwrap_or(0);
    let r = rows[at];
    let text = lines.get(line).map_or("", String::as_str);
    let x = text
        .chars()
        .skip(r.start)
        .take(col.saturating_sub(r.start))
        .fold(0, |x, c| x + char_width(c, x));
    (at, x.min(usize::from(width.max(1)) - 1))
}

/// The character of row `row` that sits at (or just before) screen column `x`: where Up and
/// Down land.
pub fn char_at(lines: &[String], rows: &[Row], row: usize, x: usize) -> (usize, usize) {
    let r = rows[row.min(rows.len() - 1)];
    let text = lines.get(r.line).map_or("", String::as_str);
    let mut col = 0;
    let mut at = r.start;
    for c in text.chars().skip(r.start).take(r.end - r.start) {
        let w = char_width(c, col);
        if col + w > x {
            break;
        }
        col += w;
        at += 1;
    }
    // A row that breaks before `end` ends at its last character, not after it: the position
    // after it is the next row's first.
    let last_row_of_line = rows.get(row + 1).is_none_or(|n| n.line != r.line);
    if at == r.end && !last_row_of_line && at > r.start {
        at -= 1;
    }
    (r.line, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(text: &str) -> Vec<String> {
        text.split('\n').map(str::to_string).collect()
    }

    fn shown(text: &str, width: u16) -> Vec<String> {
        let ls = lines(text);
        rows(&ls, width)
            .iter()
            .map(|r| {
                ls[r.line]
                    .chars()
                    .skip(r.start)
                    .take(r.end - r.start)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, u16, &[&str])] = &[
            ("", 10, &[""]),
            ("short", 10, &["short"]),
            ("hello world again", 8, &["hello ", "world ", "again"]),
            ("hello world again", 11, &["hello world ", "again"]),
            ("hello world again", 5, &["hello ", "world ", "again", ""]),
            ("abcdefghij", 4, &["abcd", "efgh", "ij"]),
            ("abcd", 4, &["abcd", ""]),
            ("one\ntwo", 10, &["one", "two"]),
            ("a\tb", 3, &["a", "\t", "b"]),
            ("日本語です", 4, &["日本", "語で", "す"]),
            ("x", 0, &["x", ""]),
        ];
        for (text, width, want) in cases {
            assert_eq!(shown(text, *width), *want, "{text:?} at {width}");
        }
    }

    #[test]
    fn the_cursor_after_a_full_row_sits_on_the_next() {
        let ls = lines("abcd");
        let rs = rows(&ls, 4);
        assert_eq!(cursor_cell(&ls, &rs, 4, (0, 4)), (1, 0));
        assert_eq!(cursor_cell(&ls, &rs, 4, (0, 3)), (0, 3));
    }

    #[test]
    fn up_and_down_keep_the_column() {
        let ls = lines("hello world again");
        let rs = rows(&ls, 8);
        // "hello " / "world " / "again": column 3 of the second row is 'l' of world.
        assert_eq!(char_at(&ls, &rs, 1, 3), (0, 9));
        // Past the end of the first row: its last character, not the next row's first.
        assert_eq!(char_at(&ls, &rs, 0, 7), (0, 5));
        assert_eq!(char_at(&ls, &rs, 2, 99), (0, 17));
    }

    proptest! {
        /// Rows cover every character once, in order, and none is wider than the box
        /// (unless a single character is).
        #[test]
        fn rows_partition_the_text(text in "[a-z \t日\n]{0,60}", width in 1u16..12) {
            let ls = lines(&text);
            let rs = rows(&ls, width);
            let mut next = (0usize, 0usize);
            for r in &rs {
                if r.line != next.0 {
                    prop_assert_eq!(next.1, ls[next.0].chars().count());
                    prop_assert_eq!(r.line, next.0 + 1);
                    next = (r.line, 0);
                }
                prop_assert_eq!(r.start, next.1);
                prop_assert!(r.end >= r.start);
                let text: String = ls[r.line].chars().skip(r.start).take(r.end - r.start).collect();
                let body = if text.len() > 1 { text.strip_suffix(' ').unwrap_or(&text) } else { &text };
                let w = body.chars().fold(0, |x, c| x + char_width(c, x));
                prop_assert!(w <= usize::from(width) || body.chars().count() == 1, "{:?}", r);
                next.1 = r.end;
            }
            prop_assert_eq!(next.0, ls.len() - 1);
            // Every cursor position has a cell inside the box.
            for (l, t) in ls.iter().enumerate() {
                for c in 0..=t.chars().count() {
                    let (row, x) = cursor_cell(&ls, &rs, width, (l, c));
                    prop_assert!(row < rs.len());
                    prop_assert!(x < usize::from(width));
                }
            }
        }
    }
}
