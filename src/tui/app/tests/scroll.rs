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

#[test]
fn home_from_the_message_box_goes_to_the_top_as_end_follows() {
    let mut a = long_conversation(3);
    a.update(key(KeyCode::PageUp));
    a.update(key(KeyCode::Home));
    assert_eq!(
        a.ui().scroll(Pane::Output),
        Scroll::TOP,
        "Home on an empty box"
    );
    a.update(key(KeyCode::End));
    assert!(a.ui().scroll(Pane::Output).follow);
    // With text, Home moves the cursor.
    type_text(&mut a, "draft");
    a.update(key(KeyCode::Home));
    assert!(a.ui().scroll(Pane::Output).follow, "Home moved the cursor");
    type_text(&mut a, "a ");
    assert_eq!(a.input_text(), "a draft");
}

/// A loaded app whose turn 1 thinks (no reflection yet) and writes a long answer while
/// `queued` more messages wait.
fn running_with_queued(queued: usize) -> App {
    let mut a = long_conversation(1);
    send(&mut a, "the running question");
    a.update(text(2, Channel::Thinking, "running thoughts"));
    let answer: Vec<String> = (0..30).map(|l| format!("running line {l}")).collect();
    a.update(text(2, Channel::Output, &answer.join("\n\n")));
    for i in 0..queued {
        send(
            &mut a,
            &format!("waiting message {i}\n{}", "more\n".repeat(12)),
        );
    }
    a
}

/// The conversation's rows on screen now, as text.
fn conversation_rows(a: &App) -> Vec<String> {
    let inner = a.screen().areas().expect("usable").output.inner;
    let w = pane_lines::window(
        &a.text_source(),
        Pane::Output,
        a.ui().scroll(Pane::Output),
        inner.width,
        inner.height,
    );
    w.rows
        .iter()
        .map(|r| {
            r.lines
                .get(r.index)
                .map(|l| l.to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_queued_message_leaves_the_side_panes_and_the_conversation_on_the_running_turn() {
    let mut a = running_with_queued(2);
    assert_eq!(
        a.shown_turn(),
        Some(1),
        "the running turn, not the queued one"
    );
    let thinking = pane_lines::blocks(&a.text_source(), Pane::Thinking);
    assert_eq!(thinking[0].turn, Some(1));
    // Its newest text stays in view, the queued messages below it as far as they fit.
    a.update(text(2, Channel::Output, "\n\nthe newest line"));
    let rows = conversation_rows(&a);
    assert!(
        rows.iter().any(|r| r.contains("the newest line")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("waiting message 0")),
        "{rows:#?}"
    );
    // Scrolling down shows the rest of the queue; End follows the running turn again.
    a.update(key(KeyCode::PageDown));
    a.update(key(KeyCode::PageDown));
    let rows = conversation_rows(&a);
    assert!(
        rows.iter().any(|r| r.contains("waiting message 1")),
        "{rows:#?}"
    );
    a.update(key(KeyCode::End));
    let rows = conversation_rows(&a);
    assert!(
        rows.iter().any(|r| r.contains("the newest line")),
        "{rows:#?}"
    );
    // Selecting another turn moves the side panes; back to live, the running one.
    a.update(alt(KeyCode::Up));
    assert_eq!(a.shown_turn(), Some(0));
    a.update(alt(KeyCode::Down));
    assert_eq!(a.ui().selected, None);
    assert_eq!(a.shown_turn(), Some(1));
    // Once it ends, the next one runs and the panes follow it.
    a.update(done(2, StopReason::OutputClosed));
    assert_eq!(a.shown_turn(), Some(2));
}

#[test]
fn reflections_say_none_yet_while_the_turn_runs() {
    let note = |a: &App| match pane_lines::blocks(&a.text_source(), Pane::Reflection)[0].kind {
        crate::tui::text::display_block::Kind::Note(n) => n,
        _ => "(reflections)",
    };
    let mut a = loaded();
    send(&mut a, "q");
    assert_eq!(note(&a), "No reflections yet.");
    a.update(text(1, Channel::Thinking, "hmm"));
    assert_eq!(note(&a), "No reflections yet.");
    a.update(done(1, StopReason::OutputClosed));
    assert_eq!(note(&a), "No reflections in this turn.");
}
