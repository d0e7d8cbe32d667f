//! View tests beyond snapshots: colours of chosen cells, untrusted text, wide characters, and
//! every terminal size down to nothing.

use super::snapshot_tests::render;
use crate::conversation::ThinkingPart;
use crate::llm::EngineEvent;
use crate::llm::{BudgetStep, ForcedBy};
use crate::stream::Channel;
use crate::tui::app::tests::budget::budget;
use crate::tui::app::tests::{loaded, mid_stream, send, text};
use crate::tui::app::App;
use crate::tui::msg::Msg;
use crate::tui::view::status::budget_gauge;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

/// Row `y` as text, with the cells hidden behind wide characters left out, and the column
/// of each character.
fn row(buf: &Buffer, y: u16) -> (String, Vec<u16>) {
    let (mut text, mut columns) = (String::new(), Vec::new());
    let mut x = 0;
    while x < buf.area.width {
        let symbol = buf[(x, y)].symbol();
        for _ in symbol.chars() {
            columns.push(x);
        }
        text.push_str(symbol);
        x += (crate::tui::text::wrap::width(symbol) as u16).max(1);
    }
    (text, columns)
}

/// The position of the first cell of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| {
        let (text, columns) = row(buf, y);
        let byte = text.find(needle)?;
        let chars = text[..byte].chars().count();
        Some((columns[chars], y))
    })
}

fn screen(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| row(buf, y).0)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn thinking_is_muted_reflections_highlighted_and_the_status_bar_coloured() {
    let t = render(&mid_stream(), 100, 30);
    let buf = t.backend().buffer();
    // The dark theme: thinking 110 italic, reflection 179 italic, status bar on 236.
    let (x, y) = find(buf, "Let me count").expect("thinking shown");
    assert!(x >= 60, "in the side pane");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(110));
    assert!(buf[(x, y)].modifier.contains(Modifier::ITALIC));
    let (x, y) = find(buf, "Wait, I missed").expect("reflection shown");
    assert!(y >= 15, "in the reflection pane");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(179));
    let (x, y) = find(buf, "↺ reflection 1").expect("numbered reflection");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(179));
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(0, 29)].bg, Color::Indexed(236));
    assert_eq!(buf[(99, 29)].bg, Color::Indexed(236));
    // The user's message and the answer.
    let (x, y) = find(buf, "How many r's").expect("question shown");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(117));
    let (x, y) = find(buf, "three").expect("answer shown");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(255));
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD), "**three**");
    // The focused input's border.
    assert_eq!(buf[(0, 26)].fg, Color::Indexed(75));
    assert_eq!(buf[(0, 0)].fg, Color::Indexed(240));
}

#[test]
fn code_blocks_use_the_code_style_with_syntax_colours() {
    let mut a = loaded();
    send(&mut a, "code");
    a.update(text(1, Channel::Output, "```rust\nlet x = 1;\n```"));
    let t = render(&a, 100, 30);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "let x").expect("code shown");
    assert_eq!(buf[(x, y)].bg, Color::Indexed(235));
    assert_eq!(buf[(x, y)].fg, Color::Magenta);
}

#[test]
fn escape_sequences_in_model_text_never_reach_the_buffer_raw() {
    let mut a = loaded();
    send(&mut a, "q");
    a.update(text(1, Channel::Thinking, "think \u{1b}[2J\u{202e}evil"));
    a.update(text(
        1,
        Channel::Output,
        "answer \u{1b}]52;c;aGk=\u{7} done",
    ));
    let t = render(&a, 100, 30);
    let s = screen(&t);
    assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s}");
    assert!(!s.contains('\u{202e}'));
    assert!(s.contains("␛[2J"), "{s}");
    assert!(s.contains("<U+202E>evil"));
    assert!(s.contains("␛]52;c;aGk=␇ done"));
}

#[test]
fn wide_characters_keep_the_frame_intact() {
    let mut a = loaded();
    send(&mut a, "日本語で答えて 🎉");
    a.update(text(
        1,
        Channel::Output,
        &"東京は日本の首都です。🎌🎌 ".repeat(12),
    ));
    for width in [100, 50, 31, 20] {
        let t = render(&a, width, 30);
        let buf = t.backend().buffer();
        for y in 1..24 {
            let right = buf[(width - 1, y)].symbol();
            assert!(
                right == "│" || right == "╮" || right == "╯" || right == "╰" || right == " ",
                "{width}: row {y} ends with {right:?}\n{}",
                screen(&t)
            );
        }
        assert!(find(buf, "東京").is_some(), "{width}");
    }
}

#[test]
fn every_size_down_to_nothing_renders_without_panic() {
    let mut a = mid_stream();
    let sizes = (0..=45u16).flat_map(|w| (0..=16u16).map(move |h| (w, h)));
    let big = [(1, 1), (200, 60), (120, 12), (99, 40), (100, 9), (300, 5)];
    for (w, h) in sizes.chain(big) {
        for help in [false, true] {
            if help != a.ui().help.is_some() {
                let k = if help { KeyCode::F(1) } else { KeyCode::Esc };
                a.update(Msg::Key(KeyEvent::new(k, KeyModifiers::NONE)));
            }
            a.update(Msg::Resize(w, h));
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("backend");
            t.draw(|f| super::view(&a, f)).expect("draw");
            if (w, h) != (0, 0) && (w < 20 || h < 6) && w > 0 && h > 0 {
                let first = screen(&t);
                let want: String = super::TOO_SMALL.chars().take(usize::from(w)).collect();
                assert!(first.starts_with(&want), "{w}x{h}: {first:?}");
            }
        }
    }
}

#[test]
fn the_view_draws_only_what_state_says() {
    // Drawing twice gives the same screen and does not mark the app dirty.
    let mut a: App = mid_stream();
    a.mark_drawn();
    let one = screen(&render(&a, 80, 24));
    let two = screen(&render(&a, 80, 24));
    assert_eq!(one, two);
    assert!(!a.is_dirty());
    a.update(Msg::Engine(EngineEvent::LoadProgress(0.3)));
    assert!(!a.is_dirty(), "progress after loading changes nothing");
}

/// A loaded app holding `turns` finished turns of about 20 lines each, then one streaming.
fn big_conversation(turns: usize) -> App {
    let mut a = loaded();
    for i in 1..=turns {
        send(&mut a, &format!("question number {i}: tell me about it"));
        let id = i as u64;
        a.update(text(id, Channel::Thinking, "Some thinking."));
        let para = "A paragraph of *answer* text, long enough to wrap once or twice in a pane of ordinary width.";
        let answer: Vec<&str> = (0..8).map(|_| para).collect();
        a.update(text(id, Channel::Output, &answer.join("\n\n")));
        a.update(crate::tui::app::tests::done(
            id,
            crate::llm::StopReason::EndOfTurn,
        ));
    }
    a
}

#[test]
fn streaming_rewraps_only_the_last_message() {
    use crate::tui::layout::Pane;
    use crate::tui::text::pane_lines;
    let mut a = big_conversation(3);
    send(&mut a, "last");
    a.update(text(4, Channel::Output, "Growing"));
    render(&a, 100, 30);
    let before: Vec<_> = pane_lines::blocks(&a.text_source(), Pane::Output)
        .iter()
        .map(|b| pane_lines::lines_of(&a.text_source(), b, 58))
        .collect();
    a.update(text(4, Channel::Output, " answer"));
    render(&a, 100, 30);
    let after: Vec<_> = pane_lines::blocks(&a.text_source(), Pane::Output)
        .iter()
        .map(|b| pane_lines::lines_of(&a.text_source(), b, 58))
        .collect();
    let rewrapped: Vec<usize> = before
        .iter()
        .zip(&after)
        .enumerate()
        .filter(|(_, (x, y))| !crate::tui::text::lines::Lines::ptr_eq(x, y))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rewrapped, [after.len() - 1], "only the streaming answer");
}

/// Every line of every pane at `width`, block after block.
fn all_lines(a: &App, width: u16) -> Vec<ratatui::text::Line<'static>> {
    use crate::tui::layout::Pane;
    Pane::ALL
        .iter()
        .flat_map(|p| crate::tui::text::pane_lines::blocks(&a.text_source(), *p))
        .flat_map(|b| {
            let lines = crate::tui::text::pane_lines::lines_of(&a.text_source(), &b, width);
            lines.iter().cloned().collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_streamed_turn_renders_as_if_it_came_at_once() {
    // Long enough for every memo: a thinking paragraph of many lines, a long paragraph, a list
    // and code in the answer. ASCII, so that any byte is a place to cut.
    let thinking: String = (0..300).map(|i| format!("thought {i} goes on\n")).collect();
    let words: String = (0..300).map(|i| format!("w{i} ")).collect();
    let code: String = (0..40).map(|i| format!("let x{i} = {i}; // n\n")).collect();
    let answer =
        format!("# Title\n\n{words}\n\n- a *b*\n- c\n\n```rust\n{code}```\n\n{words}and `end`.");
    let mut streamed = loaded();
    send(&mut streamed, "q");
    let mut frame = 0;
    for (channel, all, step) in [
        (Channel::Thinking, &thinking, 97),
        (Channel::Output, &answer, 13),
    ] {
        for piece in all.as_bytes().chunks(step) {
            let piece = std::str::from_utf8(piece).expect("ascii");
            streamed.update(text(1, channel, piece));
            frame += 1;
            // Now and then at another width, as when the terminal is resized mid-stream.
            let width = if frame % 7 == 0 { 80 } else { 100 };
            render(&streamed, width, 30);
        }
    }
    let fresh = || {
        // A new app: its memos start empty.
        let mut a = loaded();
        send(&mut a, "q");
        a.update(text(1, Channel::Thinking, &thinking));
        a.update(text(1, Channel::Output, &answer));
        a
    };
    // The reference wraps every line from scratch.
    let reference = |a: &App, width| a.caches.wrap.without(|| all_lines(a, width));
    for width in [58, 37, 58] {
        assert_eq!(all_lines(&streamed, width), reference(&fresh(), width));
    }
    let finish = |a: &mut App| {
        a.update(crate::tui::app::tests::done(
            1,
            crate::llm::StopReason::EndOfTurn,
        ))
    };
    finish(&mut streamed);
    let mut whole = fresh();
    finish(&mut whole);
    assert_eq!(all_lines(&streamed, 58), reference(&whole, 58));
    let whole_screen = whole
        .caches
        .wrap
        .without(|| screen(&render(&whole, 100, 30)));
    assert_eq!(screen(&render(&streamed, 100, 30)), whole_screen);
}

#[test]
fn a_pasted_tab_is_drawn_as_spaces_and_sent_as_a_tab() {
    let mut a = loaded();
    a.update(Msg::Paste("col1\tcol2".into()));
    assert_eq!(a.input_text(), "col1\tcol2");
    let t = render(&a, 80, 20);
    let shown = screen(&t);
    assert!(!shown.contains('\t'), "no raw tab in a cell");
    let line = shown
        .lines()
        .find(|l| l.contains("col1"))
        .expect("the input shows the text");
    let gap = &line[line.find("col1").unwrap() + 4..line.find("col2").unwrap()];
    assert!(!gap.is_empty() && gap.chars().all(|c| c == ' '), "{line:?}");
}

#[test]
fn the_help_overlay_at_30x10_shows_keys_first_and_a_whole_footer() {
    let mut a = loaded();
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)));
    let t = render(&a, 30, 10);
    let shown = screen(&t);
    assert!(shown.contains("│ Keys"), "{shown}");
    assert!(
        shown.contains("│ Enter "),
        "the key column is there:\n{shown}"
    );
    assert!(
        shown.contains("↑↓ scroll · any key closes"),
        "a whole footer:\n{shown}"
    );
}

#[test]
fn the_status_bar_shows_how_much_of_the_prompt_is_read() {
    let mut a = loaded();
    send(&mut a, "a long question");
    let t = render(&a, 100, 30);
    assert!(find(t.backend().buffer(), "reading the prompt ").is_some());
    assert!(
        find(t.backend().buffer(), "%").is_none(),
        "no number before the engine says"
    );
    a.update(Msg::Engine(EngineEvent::PromptProgress {
        id: 1,
        done: 1024,
        total: 3000,
    }));
    let t = render(&a, 100, 30);
    assert!(find(t.backend().buffer(), "reading the prompt 34%").is_some());
    a.update(Msg::Engine(EngineEvent::PromptProgress {
        id: 2,
        done: 3000,
        total: 3000,
    }));
    let t = render(&a, 100, 30);
    assert!(
        find(t.backend().buffer(), "reading the prompt 34%").is_some(),
        "another generation's progress is not this one's"
    );
}

#[test]
fn the_status_bar_shows_the_share_of_drafts_accepted_with_speculative_decoding() {
    let mut a = mid_stream();
    a.update(crate::tui::app::tests::done(
        1,
        crate::llm::StopReason::EndOfTurn,
    ));
    let t = render(&a, 140, 30);
    assert!(
        find(t.backend().buffer(), "spec ").is_none(),
        "no speculation, no share"
    );
    send(&mut a, "again");
    let Msg::Engine(EngineEvent::Done(mut done)) =
        crate::tui::app::tests::done(2, crate::llm::StopReason::EndOfTurn)
    else {
        unreachable!()
    };
    done.timings.draft_tokens = Some(110);
    done.timings.draft_accepted = Some(80);
    a.update(Msg::Engine(EngineEvent::Done(done)));
    let t = render(&a, 140, 30);
    assert!(
        find(t.backend().buffer(), "spec 73%").is_some(),
        "{}",
        screen(&t)
    );
}

#[test]
fn the_budget_gauge_counts_up_and_changes_colour_at_80_and_100_percent() {
    let mut a = loaded();
    assert_eq!(budget_gauge(&a), None, "no budget, nothing shown");
    send(&mut a, "/budget 100");
    assert_eq!(budget_gauge(&a), Some(("budget 100".into(), None)));
    send(&mut a, "q");
    a.update(text(1, Channel::Thinking, "hm"));
    a.update(budget(1, 50, 0, None));
    assert_eq!(budget_gauge(&a), Some(("think 50/100".into(), None)));
    a.update(budget(1, 85, 12, None));
    assert_eq!(
        budget_gauge(&a),
        Some((
            "think 85/100 (↺ 12)".into(),
            Some(crate::theme::Purpose::Warning)
        ))
    );
    a.update(budget(
        1,
        100,
        12,
        Some(BudgetStep::Forced(ForcedBy::Budget)),
    ));
    assert_eq!(
        budget_gauge(&a),
        Some((
            "think 100/100 (↺ 12) ⏹".into(),
            Some(crate::theme::Purpose::Error)
        ))
    );
    let t = &a.turns()[0];
    assert_eq!(
        t.thinking.last(),
        Some(&ThinkingPart::Forced(ForcedBy::Budget)),
        "a marker where it was cut"
    );
    let bar = find(render(&a, 120, 30).backend().buffer(), "think 100/100");
    assert!(bar.is_some(), "in the status bar");
    a.update(crate::tui::app::tests::done(
        1,
        crate::llm::StopReason::OutputClosed,
    ));
    assert!(
        budget_gauge(&a).unwrap().0.starts_with("think 100/100"),
        "kept once done"
    );
    // An extension's marker shows in the thinking pane.
    send(&mut a, "again");
    a.update(text(2, Channel::Thinking, "short"));
    a.update(budget(2, 2, 0, Some(BudgetStep::Extended(1))));
    assert!(find(
        render(&a, 100, 30).backend().buffer(),
        "thinking extended (1)"
    )
    .is_some());
}

#[test]
fn a_download_shows_in_the_loading_phase_then_the_model_loads() {
    let mut a = crate::tui::app::tests::app();
    a.update(Msg::Download(crate::hub::Progress {
        file: "m-Q4_K_M.gguf".into(),
        done: 1 << 20,
        total: 4 << 20,
        rate: Some(f64::from(1u32 << 19)),
    }));
    let status = crate::tui::view::status::phase_text(&a);
    assert!(
        status.starts_with("Downloading m-Q4_K_M.gguf ▕")
            && status.contains(" 25% 1.0 MiB / 4.0 MiB · 512.0 KiB/s · ETA 6s"),
        "{status}"
    );
    let from_file = Box::new(crate::tui::app::tests::settings());
    a.update(Msg::Downloaded(Ok(from_file)));
    assert!(crate::tui::view::status::phase_text(&a).starts_with("Loading "));
    a.update(Msg::Engine(EngineEvent::LoadProgress(0.5)));
    assert!(crate::tui::view::status::phase_text(&a).starts_with("Loading "));
}
