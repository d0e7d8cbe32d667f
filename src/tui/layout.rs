//! The screen layout: a pure function of the terminal size, which panes are shown or
//! maximised, and how tall the banner and the input want to be. The view draws into these
//! rectangles and the reducer hit-tests the mouse and sizes pages against the same ones.
//!
//! Wide terminals (≥ [`WIDE`] columns) put the conversation on the left and thinking over
//! reflections on the right; narrower ones stack the panes; short ones (content under
//! [`STACK_MIN_ROWS`] rows) show only the conversation; below [`MIN_WIDTH`]×[`MIN_HEIGHT`] the
//! screen is a single "too small" line. Under [`BORDER_MIN_HEIGHT`] rows panes and input lose
//! their side borders and keep only a title row.

use ratatui::layout::Rect;

/// Narrowest and shortest terminal with a usable screen.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 6;
/// From this width on, the side panes sit beside the conversation.
pub const WIDE: u16 = 100;
/// Stacked side panes need at least this many content rows.
pub const STACK_MIN_ROWS: u16 = 14;
/// Full borders from this height on.
pub const BORDER_MIN_HEIGHT: u16 = 10;
/// The input box grows with its text up to this many lines.
pub const MAX_INPUT_LINES: u16 = 5;
/// The banner wraps to at most this many lines.
pub const MAX_BANNER_LINES: u16 = 3;

/// The three scrollable panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The conversation: the user's messages and the answers.
    Output,
    Thinking,
    Reflection,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Output, Pane::Thinking, Pane::Reflection];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which side panes are shown, and which pane (if any) fills the content area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaneSet {
    pub thinking: bool,
    pub reflection: bool,
    pub maximised: Option<Pane>,
}

impl Default for PaneSet {
    fn default() -> Self {
        PaneSet {
            thinking: true,
            reflection: true,
            maximised: None,
        }
    }
}

/// What the layout depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutParams {
    pub width: u16,
    pub height: u16,
    pub panes: PaneSet,
    /// Lines the banner wants (0: no banner).
    pub banner_lines: u16,
    /// Rows of text in the input box, wrapped at [`input_width`].
    pub input_lines: u16,
}

/// A framed region: the whole of it, and where its text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub outer: Rect,
    pub inner: Rect,
}

impl Area {
    fn new(outer: Rect, bordered: bool) -> Area {
        let inner = if bordered {
            Rect {
                x: outer.x.saturating_add(1),
                y: outer.y.saturating_add(1),
                width: outer.width.saturating_sub(2),
                height: outer.height.saturating_sub(2),
            }
        } else {
            Rect {
                y: outer.y.saturating_add(1),
                height: outer.height.saturating_sub(1),
                ..outer
            }
        };
        Area { outer, inner }
    }
}

/// The regions of a usable screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub banner: Option<Rect>,
    pub output: Area,
    pub thinking: Option<Area>,
    pub reflection: Option<Area>,
    pub input: Area,
    pub status: Rect,
    /// Side panes below the conversation rather than beside it.
    pub stacked: bool,
    /// Full borders (else a title row only).
    pub bordered: bool,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Area> {
        match pane {
            Pane::Output => Some(self.output),
            Pane::Thinking => self.thinking,
            Pane::Reflection => self.reflection,
        }
    }

    /// The pane whose frame holds the cell (column, row).
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        Pane::ALL.into_iter().find(|p| {
            self.pane(*p)
                .is_some_and(|a| contains(a.outer, column, row))
        })
    }

    pub fn input_at(&self, column: u16, row: u16) -> bool {
        contains(self.input.outer, column, row)
    }
}

fn contains(r: Rect, column: u16, row: u16) -> bool {
    column >= r.x
        && row >= r.y
        && u32::from(column) < u32::from(r.x) + u32::from(r.width)
        && u32::from(row) < u32::from(r.y) + u32::from(r.height)
}

/// A whole screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Too small for anything but one line saying so.
    TooSmall(Rect),
    Normal(Areas),
}

impl Screen {
    pub fn areas(&self) -> Option<&Areas> {
        match self {
            Screen::Normal(a) => Some(a),
            Screen::TooSmall(_) => None,
        }
    }
}

/// Whether the side panes are on screen, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SidePanes {
    Shown,
    /// Hidden by the user: F2 and F3 turned both off, or F4 maximised a pane.
    Off,
    /// Wanted but the terminal is too small for them: they come back from `rows` rows at this
    /// width (`None`: not at this width), or at [`WIDE`] columns.
    TooSmall {
        rows: Option<u16>,
    },
}

/// Whether the layout for `p` shows the side panes, and if not, why.
pub fn side_panes(p: &LayoutParams) -> SidePanes {
    let shown = |p: &LayoutParams| match layout(p) {
        Screen::Normal(a) => a.thinking.is_some() || a.reflection.is_some(),
        Screen::TooSmall(_) => false,
    };
    if shown(p) {
        return SidePanes::Shown;
    }
    if p.panes.maximised.is_some() || !(p.panes.thinking || p.panes.reflection) {
        return SidePanes::Off;
    }
    // Without a banner (a notice comes and goes; Esc dismisses it). Rows count up by one; a few
    // dozen more than now always suffice when any do.
    let rows = (p.height..=p.height.saturating_add(64)).find(|h| {
        shown(&LayoutParams {
            height: *h,
            banner_lines: 0,
            ..*p
        })
    });
    SidePanes::TooSmall { rows }
}

/// The text columns of the input box on a `width` × `height` terminal: what its text wraps at.
pub fn input_width(width: u16, height: u16) -> u16 {
    if height >= BORDER_MIN_HEIGHT {
        width.saturating_sub(2)
    } else {
        width
    }
}

/// Splits `total` in two, the first part `num/den` of it.
fn split(total: u16, num: u32, den: u32) -> (u16, u16) {
    let first = (u32::from(total) * num / den) as u16;
    (first, total - first)
}

/// The layout for `p`.
pub fn layout(p: &LayoutParams) -> Screen {
    let (w, h) = (p.width, p.height);
    if w < MIN_WIDTH || h < MIN_HEIGHT {
        return Screen::TooSmall(Rect::new(0, 0, w, h));
    }
    let bordered = h >= BORDER_MIN_HEIGHT;
    let chrome: u16 = if bordered { 2 } else { 1 };
    let mut banner = p.banner_lines.min(MAX_BANNER_LINES);
    let mut input_lines = p.input_lines.clamp(1, MAX_INPUT_LINES);
    // Rows left for the panes once status, input and banner have theirs; give up input lines
    // first, then banner lines, to keep a few lines of conversation.
    let rest = |input_lines: u16, banner: u16| -> i32 {
        i32::from(h) - 1 - i32::from(input_lines + chrome) - i32::from(banner)
    };
    while rest(input_lines, banner) < i32::from(chrome + 3) {
        if input_lines > 1 {
            input_lines -= 1;
        } else if banner > 1 {
            banner -= 1;
        } else {
            break;
        }
    }
    if rest(input_lines, banner) < i32::from(chrome + 1) {
        banner = 0;
    }
    let content_h = rest(input_lines, banner).max(0) as u16;
    let status = Rect::new(0, h - 1, w, 1);
    let input = Area::new(
        Rect::new(0, banner + content_h, w, input_lines + chrome),
        bordered,
    );
    let content = Rect::new(0, banner, w, content_h);
    let banner = (banner > 0).then(|| Rect::new(0, 0, w, banner));
    let stacked = w < WIDE;

    let (output, thinking, reflection) = panes(content, p.panes, stacked);
    let area = |r: Rect| Area::new(r, bordered);
    Screen::Normal(Areas {
        banner,
        output: area(output),
        thinking: thinking.map(area),
        reflection: reflection.map(area),
        input,
        status,
        stacked,
        bordered,
    })
}

/// Places the panes in the content area.
fn panes(content: Rect, set: PaneSet, stacked: bool) -> (Rect, Option<Rect>, Option<Rect>) {
    match set.maximised {
        Some(Pane::Output) => return (content, None, None),
        Some(Pane::Thinking) => {
            return (
                Rect {
                    height: 0,
                    ..content
                },
                Some(content),
                None,
            )
        }
        Some(Pane::Reflection) => {
            return (
                Rect {
                    height: 0,
                    ..content
                },
                None,
                Some(content),
            )
        }
        None => {}
    }
    let side = set.thinking || set.reflection;
    if !side || (stacked && content.height < STACK_MIN_ROWS) {
        return (content, None, None);
    }
    let (output, side_area) = if stacked {
        let (top, bottom) = split(content.height, 1, 2);
        (
            Rect {
                height: top,
                ..content
            },
            Rect::new(content.x, content.y + top, content.width, bottom),
        )
    } else {
        let (left, right) = split(content.width, 3, 5);
        (
            Rect {
                width: left,
                ..content
            },
            Rect::new(content.x + left, content.y, right, content.height),
        )
    };
    let (thinking, reflection) = match (set.thinking, set.reflection) {
        (true, true) => {
            let (a, b) = split(side_area.height, 3, 5);
            (
                Some(Rect {
                    height: a,
                    ..side_area
                }),
                Some(Rect::new(side_area.x, side_area.y + a, side_area.width, b)),
            )
        }
        (true, false) => (Some(side_area), None),
        _ => (None, Some(side_area)),
    };
    (output, thinking, reflection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(width: u16, height: u16) -> LayoutParams {
        LayoutParams {
            width,
            height,
            panes: PaneSet::default(),
            banner_lines: 0,
            input_lines: 1,
        }
    }

    fn within(r: Rect, w: u16, h: u16) -> bool {
        u32::from(r.x) + u32::from(r.width) <= u32::from(w)
            && u32::from(r.y) + u32::from(r.height) <= u32::from(h)
    }

    #[test]
    fn wide_terminals_put_side_panes_beside_the_conversation() {
        let Screen::Normal(a) = layout(&params(100, 30)) else {
            panic!("usable")
        };
        assert!(!a.stacked && a.bordered);
        assert_eq!(a.output.outer, Rect::new(0, 0, 60, 26));
        assert_eq!(a.thinking.map(|t| t.outer), Some(Rect::new(60, 0, 40, 15)));
        assert_eq!(
            a.reflection.map(|t| t.outer),
            Some(Rect::new(60, 15, 40, 11))
        );
        assert_eq!(a.input.outer, Rect::new(0, 26, 100, 3));
        assert_eq!(a.input.inner, Rect::new(1, 27, 98, 1));
        assert_eq!(a.status, Rect::new(0, 29, 100, 1));
        assert_eq!(a.pane_at(70, 20), Some(Pane::Reflection));
        assert_eq!(a.pane_at(10, 2), Some(Pane::Output));
        assert!(a.input_at(5, 27));
    }

    #[test]
    fn narrow_terminals_stack_and_short_ones_show_only_the_conversation() {
        let Screen::Normal(a) = layout(&params(50, 30)) else {
            panic!("usable")
        };
        assert!(a.stacked);
        assert_eq!(a.output.outer, Rect::new(0, 0, 50, 13));
        assert_eq!(a.thinking.map(|t| t.outer.y), Some(13));
        let Screen::Normal(a) = layout(&params(50, 12)) else {
            panic!("usable")
        };
        assert!(a.thinking.is_none() && a.reflection.is_none());
    }

    #[test]
    fn maximised_and_hidden_panes() {
        let mut p = params(100, 30);
        p.panes.thinking = false;
        let Screen::Normal(a) = layout(&p) else {
            panic!()
        };
        assert!(a.thinking.is_none());
        assert_eq!(a.reflection.map(|r| r.outer.height), Some(26));
        p.panes.maximised = Some(Pane::Thinking);
        let Screen::Normal(a) = layout(&p) else {
            panic!()
        };
        assert_eq!(a.thinking.map(|t| t.outer), Some(Rect::new(0, 0, 100, 26)));
        assert_eq!(a.pane_at(5, 5), Some(Pane::Thinking));
    }

    #[test]
    fn banner_and_input_give_way_on_short_terminals() {
        let mut p = params(80, 12);
        p.banner_lines = 3;
        p.input_lines = 5;
        let Screen::Normal(a) = layout(&p) else {
            panic!()
        };
        assert!(a.output.inner.height >= 3, "{a:?}");
        assert_eq!(a.input.inner.height, 1);
    }

    #[test]
    fn side_panes_say_why_they_are_hidden_and_what_brings_them_back() {
        let at = |w, h| side_panes(&params(w, h));
        assert_eq!(at(100, 30), SidePanes::Shown);
        assert_eq!(at(100, 8), SidePanes::Shown, "side by side at any height");
        assert_eq!(at(40, 18), SidePanes::Shown);
        assert_eq!(at(40, 12), SidePanes::TooSmall { rows: Some(18) });
        assert_eq!(at(80, 17), SidePanes::TooSmall { rows: Some(18) });
        assert_eq!(at(19, 40), SidePanes::TooSmall { rows: None });
        let mut p = params(40, 12);
        p.banner_lines = 2;
        assert_eq!(side_panes(&p), SidePanes::TooSmall { rows: Some(18) });
        p.panes.maximised = Some(Pane::Output);
        assert_eq!(side_panes(&p), SidePanes::Off);
        let mut p = params(100, 30);
        p.panes.thinking = false;
        p.panes.reflection = false;
        assert_eq!(side_panes(&p), SidePanes::Off);
    }

    #[test]
    fn every_size_is_safe() {
        for w in 0..=120 {
            for h in 0..=40 {
                for banner in [0, 3] {
                    let mut p = params(w, h);
                    p.banner_lines = banner;
                    p.input_lines = 9;
                    match layout(&p) {
                        Screen::TooSmall(r) => {
                            assert!(w < MIN_WIDTH || h < MIN_HEIGHT);
                            assert_eq!((r.width, r.height), (w, h));
                        }
                        Screen::Normal(a) => {
                            let mut rects = vec![a.output.outer, a.input.outer, a.status];
                            rects.extend(a.banner);
                            rects.extend(a.thinking.map(|t| t.outer));
                            rects.extend(a.reflection.map(|t| t.outer));
                            for r in rects {
                                assert!(within(r, w, h), "{w}x{h}: {r:?}");
                            }
                            assert!(a.output.inner.height >= 1, "{w}x{h}");
                            assert!(a.input.inner.height >= 1, "{w}x{h}");
                        }
                    }
                }
            }
        }
    }
}
