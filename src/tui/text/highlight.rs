//! Syntax highlighting of fenced code blocks with syntect (pure-Rust regexes, its bundled
//! syntaxes). Scopes map onto the 16 ANSI colours, which follow the terminal's own palette and
//! so suit dark and light themes alike; a theme without colours (monochrome) gets only bold
//! keywords and italic comments. The code block's own style (the theme's `code`) is the base.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use std::cell::RefCell;
use std::str::FromStr;
use std::sync::OnceLock;
use syntect::highlighting::{
    Color as SynColor, FontStyle, HighlightIterator, HighlightState, Highlighter, ScopeSelectors,
    StyleModifier, Theme, ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Loads the syntax definitions now; otherwise the first code block loads them (tens of ms).
pub fn preload() {
    let _ = syntaxes();
}

/// Scope selectors and the ANSI colour (0-15) they get; `bold`/`italic` also apply without
/// colour.
const RULES: &[(&str, u8, bool, bool)] = &[
    ("comment", 8, false, true),
    ("string", 2, false, false),
    (
        "constant.numeric, constant.language, constant.character",
        6,
        false,
        false,
    ),
    ("keyword, storage", 5, true, false),
    (
        "entity.name.type, entity.name.class, support.type, support.class",
        3,
        false,
        false,
    ),
    ("entity.name.function, support.function", 4, false, false),
];

/// Marks a colour as "ANSI index in `r`" (alpha 0); alpha 1 means "the base colour".
const BASE: SynColor = SynColor {
    r: 0,
    g: 0,
    b: 0,
    a: 1,
};

fn theme(color: bool) -> &'static Theme {
    static COLOR: OnceLock<Theme> = OnceLock::new();
    static MONO: OnceLock<Theme> = OnceLock::new();
    let build = move || Theme {
        settings: ThemeSettings {
            foreground: Some(BASE),
            ..ThemeSettings::default()
        },
        scopes: RULES
            .iter()
            .filter_map(|(sel, ansi, bold, italic)| {
                let mut font = FontStyle::empty();
                font.set(FontStyle::BOLD, *bold);
                font.set(FontStyle::ITALIC, *italic);
                let foreground = color.then_some(SynColor {
                    r: *ansi,
                    g: 0,
                    b: 0,
                    a: 0,
                });
                Some(ThemeItem {
                    scope: ScopeSelectors::from_str(sel).ok()?,
                    style: StyleModifier {
                        foreground,
                        background: None,
                        font_style: Some(font),
                    },
                })
            })
            .collect(),
        ..Theme::default()
    };
    if color {
        COLOR.get_or_init(build)
    } else {
        MONO.get_or_init(build)
    }
}

fn ansi(i: u8) -> Color {
    match i {
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        8 => Color::DarkGray,
        i => Color::Indexed(i),
    }
}

/// Highlighting state after each complete line of a code block seen before: a block that
/// grows while streaming resumes after its last complete line instead of starting over.
struct Memo {
    lang: String,
    color: bool,
    base: Style,
    lines: Vec<String>,
    out: Vec<Vec<Span<'static>>>,
    states: Vec<(ParseState, HighlightState)>,
}

/// Code blocks remembered.
const MEMOS: usize = 8;

/// The memo of highlighted code blocks: a block that grows is highlighted again only from its
/// last complete line. Derived data, owned by the app's state in [`super::Caches`].
#[derive(Default)]
pub struct CodeMemo {
    memos: RefCell<Vec<Memo>>,
}

impl std::fmt::Debug for CodeMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.memos.try_borrow().map_or(0, |m| m.len());
        write!(f, "CodeMemo({n} blocks)")
    }
}

impl CodeMemo {
    pub fn clear(&self) {
        if let Ok(mut m) = self.memos.try_borrow_mut() {
            m.clear();
        }
    }
}

fn line_spans(
    line: &str,
    ps: &mut ParseState,
    hs: &mut HighlightState,
    highlighter: &Highlighter<'_>,
    base: Style,
) -> Vec<Span<'static>> {
    let text = line.trim_end_matches(['\n', '\r']);
    let Ok(ops) = ps.parse_line(line, syntaxes()) else {
        return vec![Span::styled(text.to_string(), base)];
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (s, piece) in HighlightIterator::new(hs, &ops, line, highlighter) {
        let piece = piece.trim_end_matches(['\n', '\r']);
        if piece.is_empty() {
            continue;
        }
        let mut style = base;
        if s.foreground.a == 0 {
            style = style.fg(ansi(s.foreground.r));
        }
        if s.font_style.contains(FontStyle::BOLD) {
            style = style.add_modifier(Modifier::BOLD);
        }
        if s.font_style.contains(FontStyle::ITALIC) {
            style = style.add_modifier(Modifier::ITALIC);
        }
        match spans.last_mut() {
            Some(last) if last.style == style => last.content.to_mut().push_str(piece),
            _ => spans.push(Span::styled(piece.to_string(), style)),
        }
    }
    spans
}

/// The code's lines as styled spans, or `None` when the language is unknown (or empty); with
/// `memo`, the lines a remembered block shares with this one are not highlighted again.
pub fn highlight(
    code: &str,
    lang: &str,
    base: Style,
    color: bool,
    memo: Option<&CodeMemo>,
) -> Option<Vec<Vec<Span<'static>>>> {
    let lang = lang.trim();
    if lang.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set
        .find_syntax_by_token(lang)
        .or_else(|| set.find_syntax_by_extension(lang))?;
    let highlighter = Highlighter::new(theme(color));
    let lines: Vec<&str> = LinesWithEndings::from(code).collect();
    let scratch = CodeMemo::default();
    {
        let memo = &memo.unwrap_or(&scratch).memos;
        let Ok(mut memos) = memo.try_borrow_mut() else {
            let mut ps = ParseState::new(syntax);
            let mut hs = HighlightState::new(&highlighter, ScopeStack::new());
            return Some(
                lines
                    .iter()
                    .map(|l| line_spans(l, &mut ps, &mut hs, &highlighter, base))
                    .collect(),
            );
        };
        // The remembered block sharing the most complete lines with this one.
        let shared = |m: &Memo| {
            if m.lang != lang || m.color != color || m.base != base {
                return None;
            }
            let k = m
                .lines
                .iter()
                .zip(&lines)
                .take_while(|(a, b)| a.as_str() == **b && b.ends_with('\n'))
                .count();
            (k > 0).then_some(k)
        };
        let best = memos
            .iter()
            .enumerate()
            .filter_map(|(i, m)| shared(m).map(|k| (k, i)))
            .max();
        let (k, mut m) = match best {
            Some((k, i)) => (k, memos.remove(i)),
            None => {
                if memos.len() >= MEMOS {
                    memos.remove(0);
                }
                let m = Memo {
                    lang: lang.to_string(),
                    color,
                    base,
                    lines: Vec::new(),
                    out: Vec::new(),
                    states: Vec::new(),
                };
                (0, m)
            }
        };
        m.lines.truncate(k);
        m.out.truncate(k);
        m.states.truncate(k);
        let (mut ps, mut hs) = match m.states.last() {
            Some(state) => state.clone(),
            None => (
                ParseState::new(syntax),
                HighlightState::new(&highlighter, ScopeStack::new()),
            ),
        };
        let mut out = m.out.clone();
        for line in &lines[k..] {
            let spans = line_spans(line, &mut ps, &mut hs, &highlighter, base);
            if line.ends_with('\n') {
                m.lines.push(line.to_string());
                m.out.push(spans.clone());
                m.states.push((ps.clone(), hs.clone()));
            }
            out.push(spans);
        }
        memos.push(m);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_keywords_strings_and_comments_get_ansi_colours() {
        let lines = highlight(
            "fn main() {\n    let s = \"hi\"; // greet\n}\n",
            "rust",
            Style::default(),
            true,
            None,
        )
        .expect("rust is known");
        assert_eq!(lines.len(), 3);
        let find = |text: &str| {
            lines
                .iter()
                .flatten()
                .find(|s| s.content.contains(text))
                .map(|s| s.style)
                .unwrap_or_else(|| panic!("{text} in {lines:?}"))
        };
        assert_eq!(find("fn").fg, Some(Color::Magenta));
        assert_eq!(find("\"hi").fg, Some(Color::Green));
        assert_eq!(find("greet").fg, Some(Color::DarkGray));
        assert!(find("greet").add_modifier.contains(Modifier::ITALIC));
        let text: String = lines[1].iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "    let s = \"hi\"; // greet");
    }

    #[test]
    fn without_colour_only_attributes_and_unknown_languages_are_plain() {
        let lines =
            highlight("fn x() {}", "rs", Style::default(), false, None).expect("rs is rust");
        assert!(lines[0].iter().all(|s| s.style.fg.is_none()));
        assert!(lines[0]
            .iter()
            .any(|s| s.style.add_modifier.contains(Modifier::BOLD)));
        assert!(highlight("x", "no-such-language", Style::default(), true, None).is_none());
        assert!(highlight("x", "", Style::default(), true, None).is_none());
    }

    #[test]
    fn a_growing_block_highlights_as_if_from_scratch() {
        let full = "/* a\nlong comment */\nfn f() -> &'static str {\n    \"s\"\n}\n";
        let whole = highlight(full, "rust", Style::default(), true, None);
        let memo = CodeMemo::default();
        let mut last = None;
        for end in (1..=full.len()).filter(|e| full.is_char_boundary(*e)) {
            last = highlight(&full[..end], "rust", Style::default(), true, Some(&memo));
        }
        assert_eq!(last, whole);
        // A different block of the same language does not reuse the first one's state.
        let other = highlight("let s = 1;\n", "rust", Style::default(), true, Some(&memo));
        assert_eq!(
            other,
            highlight("let s = 1;\n", "rust", Style::default(), true, None)
        );
    }
}
