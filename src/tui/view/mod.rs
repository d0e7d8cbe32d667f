//! The views: draw the app's state into a ratatui frame, reading it only; nothing but the
//! runtime (and the benchmarks) imports this module. The layout comes from `tui::layout` (the
//! same one the reducer hit-tests against) and the panes' text from `tui::text` (the same lines
//! the reducer scrolls by); panes draw only the rows their window shows.
//!
//! `panes`, `input_box`, `status`, `banner` and `help` draw the regions of the screen.

pub mod banner;
pub mod help;
pub mod input_box;
pub mod panes;
pub mod status;

#[cfg(test)]
mod call_snapshots;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod tests;

use crate::theme::Purpose;
use crate::tui::app::App;
use crate::tui::layout::{Pane, Screen};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Frame;

/// What the screen says when it is below the minimum size.
pub const TOO_SMALL: &str = "Terminal too small";

/// Draws the whole screen. Reads the state only (the line memo aside).
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    draw(app, area, frame.buffer_mut());
}

/// Draws into a buffer region (what [`view`] does with the frame's).
pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let areas = match app.screen_for(area.width, area.height) {
        Screen::TooSmall(_) => {
            let s = crate::tui::text::style::of(&app.theme, Purpose::Warning);
            buf.set_stringn(area.x, area.y, TOO_SMALL, usize::from(area.width), s);
            return;
        }
        Screen::Normal(a) => a,
    };
    if let Some(b) = areas.banner {
        banner::draw(app, b, buf);
    }
    for pane in Pane::ALL {
        if let Some(p) = areas.pane(pane) {
            panes::draw(app, pane, p, areas.bordered, buf);
        }
    }
    input_box::draw(app, areas.input, areas.bordered, buf);
    status::draw(app, areas.status, buf);
    if app.ui.help.is_some() {
        help::draw(app, area, buf);
    }
}

/// Loads what the first code block would otherwise load mid-stream (syntax definitions); the
/// runtime may call this on a background thread at start.
pub fn preload() {
    crate::tui::text::highlight::preload();
}
