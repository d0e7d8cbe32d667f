//! Snapshots (insta) of the chat's tool calls: the approval prompt, the call blocks in each
//! status, a running call in the status bar, and untrusted tool output drawn harmless.

use super::snapshot_tests::render;
use crate::llm::StopReason;
use crate::stream::Channel;
use crate::tools::Outcome;
use crate::tui::app::tests::tools::{answer, arm, asked, call, read, step, write};
use crate::tui::app::tests::{done, key, text, type_text};
use crate::tui::app::App;
use crate::tui::msg::Msg;
use ratatui::crossterm::event::KeyCode;
use serde_json::json;

fn screen_text(a: &App, w: u16, h: u16) -> String {
    let t = render(a, w, h);
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect::<Vec<String>>()
        .join("\n")
}

fn finish(a: &mut App, id: &str, ok: bool, text: &str, ms: u64) {
    a.update(Msg::ToolDone {
        id: id.into(),
        outcome: if ok {
            Outcome::ok(text)
        } else {
            Outcome::failed(text)
        },
        elapsed_ms: ms,
    });
}

#[test]
fn the_approval_prompt_of_a_command() {
    let mut a = asked();
    a.update(text(1, Channel::Output, "I will list the files first."));
    let ls = call("c1", "run_command", json!({"command": "ls -la src"}));
    a.update(step(1, vec![ls]));
    a.update(Msg::ToolPreview {
        id: "c1".into(),
        text: "$ ls -la src".into(),
    });
    arm(&mut a);
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn the_approval_prompt_of_an_edit_shows_its_diff() {
    let mut a = asked();
    let edit = call(
        "c1",
        "edit_file",
        json!({"path": "notes.txt", "old": "hello", "new": "bye"}),
    );
    a.update(step(1, vec![edit]));
    a.update(Msg::ToolPreview {
        id: "c1".into(),
        text: "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,2 +1,2 @@\n-hello\n+bye\n world".into(),
    });
    arm(&mut a);
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn the_approval_prompt_asking_for_a_reason() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt")]));
    a.update(Msg::ToolPreview {
        id: "c1".into(),
        text: "1 lines, 6 bytes:\nhello".into(),
    });
    answer(&mut a, 'n');
    type_text(&mut a, "not there");
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn call_blocks_done_failed_denied_and_running() {
    let mut a = asked();
    let many: String = (1..=7).map(|i| format!("line {i}\n")).collect();
    a.update(step(
        1,
        vec![
            read("c1", "notes.txt"),
            read("c2", "missing.txt"),
            write("c3", "a.txt"),
            call("c4", "list_dir", json!({})),
        ],
    ));
    finish(&mut a, "c1", true, &many, 3);
    finish(
        &mut a,
        "c2",
        false,
        "missing.txt: no such file in the workspace",
        1,
    );
    answer(&mut a, 'n');
    a.update(key(KeyCode::Enter));
    a.update(Msg::ToolProgress {
        id: "c4".into(),
        elapsed_ms: 2100,
    });
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn expanded_call_blocks_show_the_whole_result() {
    let mut a = asked();
    let many: String = (1..=7).map(|i| format!("line {i}\n")).collect();
    a.update(step(1, vec![read("c1", "notes.txt")]));
    finish(&mut a, "c1", true, &many, 1500);
    a.update(text(2, Channel::Output, "The notes have seven lines."));
    a.update(done(2, StopReason::EndOfTurn));
    let folded = screen_text(&a, 100, 30);
    assert!(
        folded.contains("line 4") && !folded.contains("line 5"),
        "{folded}"
    );
    assert!(folded.contains("… 3 more lines"), "{folded}");
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Enter));
    insta::assert_snapshot!(render(&a, 100, 30).backend());
}

#[test]
fn tool_output_escape_sequences_are_drawn_harmless() {
    let mut a = asked();
    a.update(step(1, vec![read("c1", "evil.txt")]));
    finish(&mut a, "c1", true, "\x1b]52;c;aGk=\x07\x1b[2Jred\x1b[0m", 5);
    let s = screen_text(&a, 100, 30);
    assert!(s.contains("␛]52;c;aGk=␇␛[2Jred␛[0m"), "{s}");
    let t = render(&a, 100, 30);
    let raw = t.backend().buffer();
    let has_esc = raw.content().iter().any(|c| c.symbol().contains('\x1b'));
    assert!(!has_esc, "no escape character reaches the terminal");
}
