//! The chat in a pseudo-terminal, for what only a real terminal shows: input that arrives in
//! one burst without bracketed paste (as from scripts, `tmux send-keys`, remote sessions), and
//! the bytes Ctrl+Y's OSC 52 copy puts on the terminal. Helpers come from `tui_pty`.

use crate::common::*;
use crate::tui_pty::{start, Session};
use std::io::Write;
use std::time::{Duration, Instant};

/// `n` bytes of words, ending in `TAIL` (no `?` or control character: plain typing).
fn burst(n: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < n {
        text.push_str(&format!("w{i} "));
        i += 1;
    }
    text.truncate(n - 4);
    text.push_str("TAIL");
    text
}

type Writer = Box<dyn Write + Send>;

/// Writes `bytes` to the terminal in one plain write, on a thread of its own: a chat that
/// stopped reading would block the write, and the test is to fail, not hang. [`give_back`]
/// returns the writer to the session.
fn write_burst(s: &mut Session, bytes: Vec<u8>) -> std::thread::JoinHandle<Writer> {
    let mut writer = std::mem::replace(&mut s.writer, Box::new(std::io::sink()));
    std::thread::spawn(move || {
        writer.write_all(&bytes).unwrap();
        writer.flush().unwrap();
        writer
    })
}

fn give_back(s: &mut Session, writing: std::thread::JoinHandle<Writer>) {
    s.writer = writing.join().unwrap();
}

/// The prompts the chat kept in its history file (one JSON string a line).
fn history(m: &Model) -> Vec<String> {
    let file = m.dir.path().join("data/reflect/history.jsonl");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn eight_thousand_bytes_without_bracketed_paste_land_in_the_box_without_another_key() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    let writing = write_burst(&mut s, burst(8000).into_bytes());
    // The end of the text shows in the message box; no other key is pressed.
    s.wait_text("TAIL");
    give_back(&mut s, writing);
    // Ctrl+C clears the box, and Ctrl+C quits.
    s.send(b"\x03");
    s.wait_for("the box to clear", |t| !t.contains("TAIL"));
    s.send(b"\x03");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn enter_right_after_a_large_burst_sends_all_of_it_at_once() {
    // A context that holds the 8,000 bytes (about 11,500 tokens of this vocabulary).
    let mut sm = reflect::gguf::ScriptedModel::new(reflection_script());
    sm.context_length = 16384;
    let m = write(sm);
    let mut s = start(&m, &["--ctx-size", "16384"]);
    s.wait_text("reflect-scripted");
    let text = burst(8000);
    let mut bytes = text.clone().into_bytes();
    bytes.push(b'\r');
    let writing = write_burst(&mut s, bytes);
    let deadline = Instant::now() + Duration::from_secs(60);
    while history(&m).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the message was not sent; screen:\n{}",
            s.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    give_back(&mut s, writing);
    assert_eq!(history(&m), [text], "the whole burst, as one message");
    s.wait_text("The answer is 4.");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

/// Standard base64, decoded (the OSC 52 payload).
fn unbase64(text: &str) -> Vec<u8> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ABC.iter().position(|a| *a == c).expect("a base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn ctrl_y_copies_the_stand_ins_not_the_models_escape_sequences() {
    let m = model(vec![
        s("<output>"),
        t("Safe \u{1b}]0;pwned\u{7} title \u{1b}[2J \u{1b}]52;c;aGk=\u{7} done."),
        s("</output>"),
    ]);
    let mut sess = start(&m, &[]);
    sess.wait_text("reflect-scripted");
    sess.send(b"hi\r");
    sess.wait_text("done.");
    sess.send(b"\x19"); // Ctrl+Y
    let deadline = Instant::now() + Duration::from_secs(60);
    let payload = loop {
        let raw = String::from_utf8_lossy(&sess.screen.lock().unwrap().raw).into_owned();
        if let Some(at) = raw.find("\x1b]52;c;") {
            let rest = &raw[at + 7..];
            if let Some(end) = rest.find('\x07') {
                break rest[..end].to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no OSC 52 copy; screen:\n{}",
            sess.contents()
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    let copied = String::from_utf8(unbase64(&payload)).expect("UTF-8");
    assert_eq!(
        copied,
        "Safe \u{241b}]0;pwned\u{2407} title \u{241b}[2J \u{241b}]52;c;aGk=\u{2407} done."
    );
    assert!(!copied.chars().any(char::is_control), "{copied:?}");
    sess.quit();
    assert_eq!(sess.wait_exit(), 0);
    sess.assert_restored();
}

/// At 40x12 the side panes cannot show: the status line says so and what brings them back,
/// F2 and F4 say why instead of changing hidden state, and widening the window again shows
/// the panes, not a conversation left maximised by the F4 pressed while they were hidden.
#[test]
fn a_window_too_small_for_the_side_panes_says_why_and_widening_brings_them_back() {
    let m = model(reflection_script());
    let mut s = start(&m, &[]);
    s.wait_text("reflect-scripted");
    assert!(s.contents().contains("Thinking"), "{}", s.contents());
    s.resize(12, 40);
    s.wait_text("panes hidden: need 18 rows");
    s.send(b"\x1bOQ"); // F2
    s.wait_text("Side panes hidden: 40×12 is too small");
    s.send(b"\x1bOS"); // F4
    s.resize(30, 110);
    let shown = s.wait_for("the side panes again", |t| {
        t.contains("╭ Thinking") && !t.contains("panes hidden")
    });
    assert!(!shown.contains("maximised"), "{shown}");
    s.quit();
    assert_eq!(s.wait_exit(), 0);
}
