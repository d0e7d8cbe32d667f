//! Answers as Markdown (pulldown-cmark): headings, emphasis, strike-through, lists, block
//! quotes, links, rules, tables, inline code and fenced code blocks with syntax highlighting,
//! wrapped to the pane's width. Unfinished Markdown (mid-stream) renders as far as it goes.
//! It also says where a text can be cut so that `md_memo` renders a growing answer piecewise.

use super::highlight::highlight;
use super::wrap::{self, Logical};
use super::wrap_memo;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// The styles Markdown is drawn with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MdStyles {
    /// Ordinary answer text.
    pub base: Style,
    pub code: Style,
    /// Bullets, quote bars, rules, link targets.
    pub muted: Style,
    /// Colour syntax highlighting (off for colourless themes).
    pub color: bool,
}

/// Indentation of code block lines.
const CODE_INDENT: &str = "  ";

struct Prefix {
    first: Vec<Span<'static>>,
    rest: Vec<Span<'static>>,
    used: bool,
}

#[derive(Default)]
struct Table {
    rows: Vec<(bool, Vec<Vec<Span<'static>>>)>,
    row: Vec<Vec<Span<'static>>>,
    head: bool,
}

/// The memos markdown renders with (none: everything from scratch).
#[derive(Clone, Copy, Debug, Default)]
pub struct Memos<'m> {
    pub wrap: Option<&'m super::wrap_memo::WrapMemo>,
    pub code: Option<&'m super::highlight::CodeMemo>,
}

impl Memos<'_> {
    pub const NONE: Memos<'static> = Memos {
        wrap: None,
        code: None,
    };
}

struct Md<'m> {
    memos: Memos<'m>,
    width: usize,
    st: MdStyles,
    before: Before,
    out: Vec<Line<'static>>,
    cur: Vec<Span<'static>>,
    styles: Vec<Style>,
    prefixes: Vec<Prefix>,
    lists: Vec<Option<u64>>,
    code: Option<(String, String)>,
    table: Option<Table>,
    /// Link targets, and where each link's text starts in `cur`.
    links: Vec<(String, usize)>,
}

/// What comes before the Markdown being rendered, for the blank line between blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Before {
    Nothing,
    /// Lines, the last of them not blank.
    Text,
    /// Lines, the last of them blank.
    Blank,
}

impl Before {
    /// What lines ending in `last` make of the text after them.
    pub fn of(last: Option<&Line<'_>>) -> Before {
        match last {
            None => Before::Nothing,
            Some(l) if l.width() == 0 => Before::Blank,
            Some(_) => Before::Text,
        }
    }
}

/// Markdown rendered after what came [`Before`] it.
#[derive(Debug)]
pub struct Part {
    /// The lines, trailing blank lines kept (text after them may need them).
    pub lines: Vec<Line<'static>>,
    /// The last place where text appended later cannot change what comes before: the start
    /// of the last top-level block that follows a blank line and whose first line is complete,
    /// as (byte offset, lines before it). The text from there renders after those lines as it
    /// does here, whatever follows it.
    pub cut: Option<(usize, usize)>,
    /// The text defines link references, which can change how text before them renders.
    pub defines: bool,
}

/// Renders Markdown to lines of `width` columns.
pub fn render(text: &str, st: MdStyles, width: usize, memos: Memos<'_>) -> Vec<Line<'static>> {
    let mut lines = render_part(text, st, width, Before::Nothing, memos).lines;
    trim_end(&mut lines);
    lines
}

/// Drops trailing blank lines.
pub fn trim_end(lines: &mut Vec<Line<'static>>) {
    while lines.last().is_some_and(|l| l.width() == 0) {
        lines.pop();
    }
}

/// Renders Markdown that follows `before`, and finds where it can be cut (see [`Part`]).
pub fn render_part(
    text: &str,
    st: MdStyles,
    width: usize,
    before: Before,
    memos: Memos<'_>,
) -> Part {
    let mut md = Md {
        memos,
        width,
        st,
        before,
        out: Vec::new(),
        cur: Vec::new(),
        styles: Vec::new(),
        prefixes: Vec::new(),
        lists: Vec::new(),
        code: None,
        table: None,
        links: Vec::new(),
    };
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let parser = Parser::new_ext(text, options);
    let defines = parser.reference_definitions().iter().next().is_some();
    let (mut depth, mut cut) = (0usize, None);
    for (event, range) in parser.into_offset_iter() {
        if depth == 0 && matches!(event, Event::Start(_) | Event::Rule) && md.idle() {
            if let Some(at) = cut_at(text, range.start) {
                cut = Some((at, md.out.len()));
            }
        }
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        md.event(event);
    }
    md.flush(false);
    if let Some((lang, code)) = md.code.take() {
        md.code_block(&lang, &code);
    }
    Part {
        lines: md.out,
        cut,
        defines,
    }
}

/// The start of the line of a top-level block starting at `start`, if the block can be cut
/// from what precedes it: only indentation before it on its line, a blank line before that
/// (so the block before is closed whatever follows: not by an interruption that more text on
/// this line could undo), and its first line complete (so that it cannot turn into a
/// continuation of a list before it).
fn cut_at(text: &str, start: usize) -> Option<usize> {
    let line = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t');
    if line == 0 || !blank(&text[line..start]) || !text[start..].contains('\n') {
        return None;
    }
    let above = &text[..line - 1];
    let from = above.rfind('\n').map_or(0, |i| i + 1);
    blank(&above[from..]).then_some(line)
}

impl Md<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or(self.st.base)
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn text(&mut self, t: &str, style: Style) {
        let mut lines = t.split('\n');
        if let Some(first) = lines.next() {
            if !first.is_empty() {
                self.cur.push(Span::styled(first.to_string(), style));
            }
        }
        for line in lines {
            self.flush(false);
            if !line.is_empty() {
                self.cur.push(Span::styled(line.to_string(), style));
            }
        }
    }

    fn prefix_spans(&mut self) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
        let (mut first, mut rest) = (Vec::new(), Vec::new());
        for p in &mut self.prefixes {
            if p.used {
                first.extend(p.rest.iter().cloned());
            } else {
                first.extend(p.first.iter().cloned());
                p.used = true;
            }
            rest.extend(p.rest.iter().cloned());
        }
        (first, rest)
    }

    fn emit(&mut self, spans: &[Span<'static>], hard: bool) {
        let (first, rest) = self.prefix_spans();
        wrap_memo::wrap_with(
            self.memos.wrap,
            &Logical {
                first: &first,
                rest: &rest,
                spans,
                hard,
            },
            self.width,
            &mut self.out,
        );
    }

    /// Ends the current line.
    fn flush(&mut self, hard: bool) {
        if self.cur.is_empty() {
            return;
        }
        let spans = std::mem::take(&mut self.cur);
        self.emit(&spans, hard);
    }

    /// Nothing open: between top-level blocks.
    fn idle(&self) -> bool {
        self.cur.is_empty()
            && self.styles.is_empty()
            && self.prefixes.is_empty()
            && self.lists.is_empty()
            && self.code.is_none()
            && self.table.is_none()
            && self.links.is_empty()
    }

    /// A blank line between blocks (none at the start, none doubled, none inside lists).
    fn block_start(&mut self) {
        self.flush(false);
        if !self.lists.is_empty() {
            return;
        }
        let before = self.out.last().map_or(self.before, |l| Before::of(Some(l)));
        if before != Before::Text {
            return;
        }
        let bars: Vec<Span<'static>> = self
            .prefixes
            .iter()
            .flat_map(|p| p.rest.iter().cloned())
            .map(|s| Span::styled(s.content.trim_end().to_string(), s.style))
            .collect();
        self.out.push(Line::from(bars));
    }

    fn event(&mut self, event: Event<'_>) {
        if let Some((_, code)) = self.code.as_mut() {
            match event {
                Event::Text(t) => code.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((lang, code)) = self.code.take() {
                        self.code_block(&lang, &code);
                    }
                }
                _ => {}
            }
            return;
        }
        if self.table.is_some() && self.table_event(&event) {
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t, self.style()),
            Event::Code(t) => {
                let s = self.st.code;
                self.cur.push(Span::styled(t.to_string(), s));
            }
            Event::Html(t) | Event::InlineHtml(t) => self.text(&t, self.style()),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, self.st.code),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]"), self.st.muted),
            Event::SoftBreak => self.cur.push(Span::styled(" ", self.style())),
            Event::HardBreak => self.flush(false),
            Event::Rule => {
                self.block_start();
                let (first, _) = self.prefix_spans();
                let used: usize = first.iter().map(|s| wrap::width(&s.content)).sum();
                let rule = "─".repeat(self.width.saturating_sub(used));
                let mut spans = first;
                spans.push(Span::styled(rule, self.st.muted));
                self.out.push(Line::from(spans));
            }
            Event::TaskListMarker(done) => {
                let mark = if done { "[x] " } else { "[ ] " };
                self.cur.push(Span::styled(mark, self.st.muted));
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                self.push_style(|s| {
                    let s = s.add_modifier(Modifier::BOLD);
                    match level {
                        HeadingLevel::H1 => s.add_modifier(Modifier::UNDERLINED),
                        HeadingLevel::H2 => s,
                        _ => s.add_modifier(Modifier::ITALIC),
                    }
                });
            }
            Tag::BlockQuote(_) => {
                self.block_start();
                let bar = vec![Span::styled("│ ", self.st.muted)];
                self.prefixes.push(Prefix {
                    first: bar.clone(),
                    rest: bar,
                    used: false,
                });
                self.push_style(|s| s.add_modifier(Modifier::ITALIC));
            }
            Tag::CodeBlock(kind) => {
                self.block_start();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([' ', ',', '{']).next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.block_start();
                } else {
                    self.flush(false);
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush(false);
                let depth = self.lists.len();
                let bullet = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ if depth > 1 => "◦ ".to_string(),
                    _ => "• ".to_string(),
                };
                let hang = " ".repeat(wrap::width(&bullet));
                self.prefixes.push(Prefix {
                    first: vec![Span::styled(bullet, self.st.muted)],
                    rest: vec![Span::raw(hang)],
                    used: false,
                });
            }
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.links.push((dest_url.to_string(), self.cur.len()));
                self.push_style(|s| s.add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { dest_url, .. } => {
                self.cur.push(Span::styled("[image: ", self.st.muted));
                self.links.push((dest_url.to_string(), self.cur.len()));
                self.push_style(|s| s);
            }
            Tag::Table(_) => {
                self.block_start();
                self.table = Some(Table::default());
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.flush(false),
            TagEnd::Heading(_) => {
                self.flush(false);
                self.styles.pop();
            }
            TagEnd::BlockQuote(_) => {
                self.flush(false);
                self.prefixes.pop();
                self.styles.pop();
            }
            TagEnd::List(_) => {
                self.flush(false);
                self.lists.pop();
            }
            TagEnd::Item => {
                self.flush(false);
                self.prefixes.pop();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link => {
                self.styles.pop();
                if let Some((dest, start)) = self.links.pop() {
                    let text: String = self
                        .cur
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .map(|s| s.content.as_ref())
                        .collect();
                    let bare = dest.strip_prefix("mailto:").unwrap_or(&dest);
                    if !dest.is_empty() && text != dest && text != bare {
                        self.cur
                            .push(Span::styled(format!(" ({dest})"), self.st.muted));
                    }
                }
            }
            TagEnd::Image => {
                self.styles.pop();
                self.links.pop();
                self.cur.push(Span::styled("]", self.st.muted));
            }
            _ => {}
        }
    }

    /// Table events; returns whether the event was one.
    fn table_event(&mut self, event: &Event<'_>) -> bool {
        let Some(table) = self.table.as_mut() else {
            return false;
        };
        match event {
            Event::Start(Tag::TableHead) => table.head = true,
            Event::Start(Tag::TableRow) | Event::Start(Tag::TableCell) => {}
            Event::End(TagEnd::TableCell) => {
                let cell = std::mem::take(&mut self.cur);
                table.row.push(cell);
            }
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                let row = std::mem::take(&mut table.row);
                table.rows.push((table.head, row));
                table.head = false;
            }
            Event::End(TagEnd::Table) => {
                if let Some(t) = self.table.take() {
                    self.render_table(t);
                }
            }
            _ => return false,
        }
        true
    }

    fn render_table(&mut self, t: Table) {
        let columns = t.rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let cell_width = |c: &[Span<'_>]| c.iter().map(|s| wrap::width(&s.content)).sum::<usize>();
        let mut widths = vec![0; columns];
        for (_, row) in &t.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell_width(cell));
            }
        }
        let sep = Span::styled(" │ ", self.st.muted);
        for (head, row) in t.rows {
            let mut spans = Vec::new();
            for (i, cell) in row.into_iter().enumerate() {
                if i > 0 {
                    spans.push(sep.clone());
                }
                let pad = widths[i].saturating_sub(cell_width(&cell));
                for s in cell {
                    let style = if head {
                        s.style.add_modifier(Modifier::BOLD)
                    } else {
                        s.style
                    };
                    spans.push(Span::styled(s.content, style));
                }
                if pad > 0 && i + 1 < columns {
                    spans.push(Span::raw(" ".repeat(pad)));
                }
            }
            self.emit(&spans, false);
            if head {
                let line: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                let rule = [Span::styled(line.join("─┼─"), self.st.muted)];
                self.emit(&rule, true);
            }
        }
    }

    fn code_block(&mut self, lang: &str, code: &str) {
        let code = code.strip_suffix('\n').unwrap_or(code);
        let st = self.st;
        let lines =
            highlight(code, lang, st.code, st.color, self.memos.code).unwrap_or_else(|| {
                code.split('\n')
                    .map(|l| vec![Span::styled(l.to_string(), st.code)])
                    .collect()
            });
        for mut spans in lines {
            spans.insert(0, Span::styled(CODE_INDENT, st.code));
            self.emit(&spans, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn styles() -> MdStyles {
        MdStyles {
            base: Style::default(),
            code: Style::default().fg(Color::Green),
            muted: Style::default().fg(Color::DarkGray),
            color: true,
        }
    }

    fn text(md: &str, width: usize) -> Vec<String> {
        render(md, styles(), width, Memos::NONE)
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn blocks_render_as_text() {
        let md = "# Title\n\nSome *emphasis* and `code`.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quoted words\n\n---\n\n```rust\nfn x() {}\n```";
        assert_eq!(
            text(md, 30),
            [
                "Title",
                "",
                "Some emphasis and code.",
                "",
                "• one",
                "• two",
                "  ◦ nested",
                "",
                "1. first",
                "2. second",
                "",
                "│ quoted words",
                "",
                "──────────────────────────────",
                "",
                "  fn x() {}",
            ]
        );
    }

    #[test]
    fn inline_styles_are_applied() {
        let lines = render("**bold** _it_ `c` ~~x~~", styles(), 40, Memos::NONE);
        let spans = &lines[0].spans;
        let style_of = |t: &str| {
            spans
                .iter()
                .find(|s| s.content == t)
                .map(|s| s.style)
                .unwrap_or_else(|| panic!("{t} in {spans:?}"))
        };
        assert!(style_of("bold").add_modifier.contains(Modifier::BOLD));
        assert!(style_of("it").add_modifier.contains(Modifier::ITALIC));
        assert_eq!(style_of("c").fg, Some(Color::Green));
        assert!(style_of("x").add_modifier.contains(Modifier::CROSSED_OUT));
    }

    #[test]
    fn long_list_items_hang_under_their_bullet() {
        assert_eq!(
            text("- alpha beta gamma delta", 14),
            ["• alpha beta", "  gamma delta"]
        );
    }

    #[test]
    fn links_show_their_target_and_tables_align() {
        assert_eq!(
            text("[docs](https://x.io) <https://y.io>", 60),
            ["docs (https://x.io) https://y.io"]
        );
        assert_eq!(
            text("| a | bb |\n|---|---|\n| ccc | d |", 40),
            ["a   │ bb", "────┼───", "ccc │ d"]
        );
    }

    #[test]
    fn an_unfinished_stream_renders_what_it_has() {
        assert_eq!(
            text("Here:\n\n```python\nprint(1)\nprint(", 30),
            ["Here:", "", "  print(1)", "  print("]
        );
        assert_eq!(text("**not yet bold", 30), ["**not yet bold"]);
    }

    #[test]
    fn code_is_highlighted_and_hard_wrapped() {
        let lines = render(
            "```rust\nlet averyveryverylongname = 1;\n```",
            styles(),
            12,
            Memos::NONE,
        );
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.width() <= 12));
        assert!(lines[0]
            .spans
            .iter()
            .any(|s| s.content == "let" && s.style.fg == Some(Color::Magenta)));
    }
}
