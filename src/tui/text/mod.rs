//! Lays out and measures the chat's text: the conversation, thinking and reflections as wrapped,
//! styled lines, the banner's and the help's lines. It sits below both the reducer (`app`, which
//! scrolls and hit-tests by these measures) and the view (which draws them), and takes explicit
//! inputs (the turns, the theme, the width) plus the caches the state owns ([`Caches`]).
//!
//! `style` maps the theme onto ratatui; `wrap` wraps styled text by display width; `markdown`
//! and `highlight` render answers; `display_block` says what each block looks like (`call_block` a tool call's) and
//! `pane_lines` which rows a pane shows; `line_cache` memoises wrapped lines per block, as
//! shared runs (`lines`); `md_memo` and `wrap_memo` keep the finished part of a growing answer
//! or paragraph, so that a frame renders only the rest; `banner` and `help` lay out those.

pub mod banner;
pub mod call_block;
pub mod display_block;
pub mod help;
pub mod highlight;
pub mod line_cache;
pub mod lines;
pub mod markdown;
pub mod md_memo;
pub mod pane_lines;
pub mod style;
pub mod wrap;
pub mod wrap_memo;

/// The memos the text is laid out with, owned by the app's state. Each keeps derived data
/// only (interior mutability lets measuring and drawing fill them through `&`); dropping one
/// changes nothing but speed.
#[derive(Debug, Default)]
pub struct Caches {
    pub lines: line_cache::LineCache,
    pub markdown: md_memo::MdMemo,
    pub wrap: wrap_memo::WrapMemo,
    pub code: highlight::CodeMemo,
}

impl Caches {
    pub fn clear(&self) {
        self.lines.clear();
        self.markdown.clear();
        self.wrap.clear();
        self.code.clear();
    }
}
