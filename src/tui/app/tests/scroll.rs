//! Following, scrolling, selecting earlier turns, and the mouse.

use super::*;
use crate::tui::app::keymap::Focus;
use crate::tui::layout::Pane;
use crate::tui::scroll::Scroll;
use crate::tui::text::pane_lines;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

/// A loaded app with `n` finished turns whose answers are long enough to scroll.
fn long_conversation(n: usize) -> App {
    let mut a = loaded();
    for i in 1..=n {
        send(&mut a, &format!("question {i}"));
        let id = i as u64;
        a.update(text(id, Channel::Thinking, &format!("thinking about {i}")));
        let answer: Vec<String> = (0..10).map(|l| format!("answer {i} line {l}")).collect();
        a.update(text(id, Channel::Output, &answer.join("\n\n")));
        a.update(done(id, StopReason::OutputClosed));
    }
    a
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn panes_follow_until_scrolled_up_and_end_resumes() {
    let mut a = long_conversation(3);
    assert!(a.ui().scroll(Pane::Output).follow);
    a.update(key(KeyCode::PageUp));
    let s = a.ui().scroll(Pane::Output);
    assert!(!s.follow, "scrolling up pauses following");
    let held = s.top;
    // New text below does not move what is shown.
    send(&mut a, "more");
    a.update(text(4, Channel::Output, "new\n\nlines\n\nhere"));
    assert!(a.ui().scroll(Pane::Output).follow, "sending follows again");
    a.update(key(KeyCode::PageUp));
    let s = a.ui().scroll(Pane::Output);
    assert!(!s.follow);
    a.update(text(4, Channel::Output, "\n\neven more"));
    assert_eq!(a.ui().scroll(Pane::Output), s);
    assert!(held > 0);
    // End on the focused pane follows again.
    a.update(key(KeyCode::Tab));
    assert_eq!(a.ui().focus, Focus::Output);
    a.update(key(KeyCode::End));
    assert!(a.ui().scroll(Pane::Output).follow);
    a.update(key(KeyCode::Home));
    assert_eq!(a.ui().scroll(Pane::Output), Scroll::TOP);
    // Scrolling down to the bottom follows again.
    for _ in 0..100 {
        a.update(key(KeyCode::PageDown));
    }
    assert!(a.ui().scroll(Pane::Output).follow);
}

#[test]
fn end_from_the_message_box_follows_again() {
    let mut a = long_conversation(3);
    assert_eq!(a.ui().focus, Focus::Input);
    a.update(key(KeyCode::PageUp));
    assert!(!a.ui().scroll(Pane::Output).follow);
    // An empty message box: End follows.
    a.update(key(KeyCode::End));
    assert!(a.ui().scroll(Pane::Output).follow, "End on an empty input");
    // With text, End moves the cursor; Ctrl+End follows.
    a.update(key(KeyCode::PageUp));
    type_text(&mut a, "draft");
    a.update(key(KeyCode::Home));
    a.update(key(KeyCode::End));
    assert!(!a.ui().scroll(Pane::Output).follow, "End moved the cursor");
    a.update(Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::CONTROL)));
    assert!(a.ui().scroll(Pane::Output).follow, "Ctrl+End");
    assert_eq!(a.input_text(), "draft");
}

#[test]
fn alt_up_selects_an_earlier_turn_for_the_side_panes() {
    let mut a = long_conversation(3);
    assert_eq!(a.shown_turn(), Some(2));
    a.update(alt(KeyCode::Up));
    assert_eq!(a.ui().selected, Some(1));
    assert_eq!(a.shown_turn(), Some(1));
    let blocks = pane_lines::blocks(&a.text_source(), Pane::Thinking);
    assert_eq!(blocks[0].turn, Some(1));
    assert_eq!(a.ui().scroll(Pane::Thinking), Scroll::TOP);
    // The conversation shows the selected question at the top.
    let s = a.ui().scroll(Pane::Output);
    assert!(!s.follow);
    assert_eq!(s.top, pane_lines::turn_first_line(&a.text_source(), 1, 58));
    a.update(alt(KeyCode::Up));
    a.update(alt(KeyCode::Up));
    assert_eq!(a.ui().selected, Some(0), "stops at the first");
    a.update(alt(KeyCode::Down));
    assert_eq!(a.ui().selected, Some(1));
    a.update(alt(KeyCode::Down));
    assert_eq!(a.ui().selected, None, "back to the live turn");
    a.update(alt(KeyCode::Up));
    a.update(key(KeyCode::Esc));
    assert_eq!(a.ui().selected, None, "Esc returns to the live turn");
    assert!(a.ui().scroll(Pane::Output).follow);
}

#[test]
fn the_wheel_scrolls_the_pane_under_the_pointer() {
    let mut a = long_conversation(3);
    // The thinking pane is at columns 60.., rows 0..15 at 100×30; the conversation at 0..60.
    a.update(mouse(MouseEventKind::ScrollUp, 10, 5));
    assert!(!a.ui().scroll(Pane::Output).follow);
    assert!(a.ui().scroll(Pane::Thinking).follow);
    a.update(mouse(MouseEventKind::ScrollDown, 10, 5));
    assert!(a.ui().scroll(Pane::Output).follow);
}

#[test]
fn a_click_on_a_question_selects_its_turn() {
    let mut a = long_conversation(2);
    a.update(key(KeyCode::PageUp));
    a.update(key(KeyCode::PageUp));
    a.update(key(KeyCode::PageUp));
    let screen = a.screen();
    let inner = screen.areas().expect("usable").output.inner;
    let w = pane_lines::window(
        &a.text_source(),
        Pane::Output,
        a.ui().scroll(Pane::Output),
        inner.width,
        inner.height,
    );
    let row = w
        .rows
        .iter()
        .position(|r| r.turn == Some(0))
        .expect("turn 1 on screen") as u16;
    a.update(mouse(
        MouseEventKind::Down(MouseButton::Left),
        5,
        inner.y + row,
    ));
    assert_eq!(a.ui().selected, Some(0));
    assert_eq!(a.ui().focus, Focus::Output);
    // A click on the input focuses it.
    a.update(mouse(MouseEventKind::Down(MouseButton::Left), 5, 27));
    assert_eq!(a.ui().focus, Focus::Input);
}
