//! Draws the input box: a frame titled "Message" (with the number of queued messages) around
//! the editor.

use super::panes::frame;
use crate::tui::app::keymap::Focus;
use crate::tui::app::layout::Area;
use crate::tui::app::App;
use ratatui::buffer::Buffer;
use ratatui::widgets::Widget;

pub fn draw(app: &App, area: Area, bordered: bool, buf: &mut Buffer) {
    if area.outer.width == 0 || area.outer.height == 0 {
        return;
    }
    let queued = app.turns().iter().filter(|t| t.is_queued()).count();
    let title = if queued > 0 {
        format!(" Message · {queued} queued ")
    } else {
        " Message ".to_string()
    };
    let focused = app.ui.focus == Focus::Input;
    frame(title, focused, bordered, app).render(area.outer, buf);
    if area.inner.width > 0 && area.inner.height > 0 {
        app.input.area().render(area.inner, buf);
    }
}
