//! Whole-screen snapshots (insta) of the real app rendered into ratatui's `TestBackend`.
//! Snapshots hold text only; `tests` asserts the colours of a few cells.

use crate::llm::{EngineError, EngineEvent, StopReason};
use crate::stream::Channel;
use crate::tui::app::tests::{
    alt, app, app_sized, done, loaded, mid_stream, send, text, type_text,
};
use crate::tui::app::App;
use crate::tui::msg::Msg;
use crate::tui::view::view;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

/// Renders `app` on a `width` × `height` test terminal.
pub(crate) fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    t.draw(|f| view(app, f)).expect("draw");
    t
}

#[test]
fn empty() {
    let a = loaded();
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn loading_with_a_queued_message() {
    let mut a = app();
    a.update(Msg::Engine(EngineEvent::LoadProgress(0.42)));
    send(&mut a, "What is 2+2?");
    type_text(&mut a, "and then?");
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn mid_stream_with_a_reflection() {
    let a = mid_stream();
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn error_banner() {
    let mut a = app();
    a.update(Msg::Engine(EngineEvent::Error(EngineError::Load {
        path: "/models/missing.gguf".into(),
        message: "no such file".into(),
    })));
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn narrow_terminal_stacks_the_panes() {
    let a = mid_stream();
    insta::assert_snapshot!(render(&a, 50, 30).backend());
}

#[test]
fn help_overlay() {
    let mut a = loaded();
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)));
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn tiny_terminals() {
    let a = mid_stream();
    insta::assert_snapshot!("tiny_19x5", render(&a, 19, 5).backend());
    insta::assert_snapshot!("tiny_20x6", render(&a, 20, 6).backend());
}

#[test]
fn interrupted_answer_and_an_earlier_turn_selected() {
    let mut a = mid_stream();
    a.update(done(1, StopReason::OutputClosed));
    send(&mut a, "And in raspberry?");
    a.update(text(2, Channel::Thinking, "r-a-s-p-b-e-r-r-y: two r's."));
    a.update(text(2, Channel::Output, "Two"));
    a.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    a.update(done(2, StopReason::Cancelled));
    a.update(alt(KeyCode::Up));
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn markdown_answer_with_code() {
    let mut a = loaded();
    send(&mut a, "Show me hello world in Rust");
    let answer = "## Hello\n\nRun this:\n\n```rust\nfn main() {\n    println!(\"hi\"); // greet\n}\n```\n\n> Note: needs `cargo`.\n\n1. build\n2. run";
    a.update(text(1, Channel::Output, answer));
    a.update(done(1, StopReason::OutputClosed));
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE)));
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(3), KeyModifiers::NONE)));
    insta::assert_snapshot!(render(&a, 60, 24).backend());
}

#[test]
fn small_app_sizes_match_their_terminal() {
    // The reducer's size and the frame's agree for the click/scroll maths.
    let a = app_sized(50, 30);
    assert_eq!(a.ui().size, (50, 30));
}

/// A long message wraps in the box, which grows to show it (up to its limit) with the cursor
/// at its end; nothing is cut off at the left.
#[test]
fn a_long_message_wraps_in_the_box() {
    let mut a = app_sized(60, 20);
    a.update(crate::tui::app::tests::loaded_msg());
    let words = "Summarise the following paragraph in one sentence, keeping every number: the \
                 quarterly report shows revenue of 4.2 million, up 12 percent, while costs \
                 rose 3 percent.";
    type_text(&mut a, words);
    let screen = render(&a, 60, 20);
    insta::assert_snapshot!(screen.backend());
    let rows: Vec<String> = (0..20)
        .map(|y| {
            (0..60)
                .map(|x| screen.backend().buffer()[(x, y)].symbol().to_string())
                .collect()
        })
        .collect();
    assert!(
        rows.iter().any(|r| r.contains("│Summarise the following")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("rose 3 percent.")),
        "{rows:#?}"
    );
}

/// At 40×12 the side panes do not fit: the welcome text does not promise them, the status bar
/// says what brings them back, F2 says why it changes nothing, and the box's hint is cut only
/// between its parts.
#[test]
fn a_40x12_terminal_says_why_the_side_panes_are_hidden() {
    let mut a = app_sized(40, 12);
    a.update(crate::tui::app::tests::loaded_msg());
    insta::assert_snapshot!("small_40x12", render(&a, 40, 12).backend());
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE)));
    insta::assert_snapshot!("small_40x12_after_f2", render(&a, 40, 12).backend());
}
