//! Keys through the reducer: cancel, quit, history, copy, new conversation, help, panes.

use super::*;
use crate::conversation::TurnState;
use crate::tui::app::keymap::Focus;
use crate::tui::app::Level;
use crate::tui::layout::Pane;

fn cancels(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Cancel(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn quits(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Quit))
}

#[test]
fn esc_cancels_and_the_partial_answer_is_kept_as_interrupted() {
    let mut a = mid_stream();
    let fx = a.update(key(KeyCode::Esc));
    assert_eq!(cancels(&fx), [1]);
    assert!(a.turns()[0].cancel_requested);
    assert_eq!(a.phase(), crate::tui::app::Phase::Cancelling);
    a.update(done(1, StopReason::Cancelled));
    let t = &a.turns()[0];
    assert_eq!(t.state, TurnState::Interrupted);
    assert!(t.answer.starts_with("There are **three**"));
    assert!(!a.should_quit());
}

#[test]
fn ctrl_c_cancels_while_generating_even_with_text_typed() {
    let mut a = mid_stream();
    type_text(&mut a, "next");
    let fx = a.update(ctrl('c'));
    assert_eq!(cancels(&fx), [1]);
    assert!(!quits(&fx));
    assert_eq!(a.input_text(), "next");
}

#[test]
fn esc_while_loading_cancels_the_queued_message() {
    let mut a = app();
    send(&mut a, "early");
    let fx = a.update(key(KeyCode::Esc));
    assert!(fx.is_empty());
    assert_eq!(a.turns()[0].state, TurnState::Interrupted);
    let fx = a.update(loaded_msg());
    assert!(generate(&fx).is_none(), "nothing left to send");
}

#[test]
fn ctrl_c_clears_then_quits_and_ctrl_d_quits_on_empty_input() {
    let mut a = loaded();
    type_text(&mut a, "draft");
    let fx = a.update(ctrl('c'));
    assert!(fx.is_empty());
    assert!(a.input_text().is_empty());
    assert!(!a.should_quit());
    let fx = a.update(ctrl('c'));
    assert!(quits(&fx));
    assert!(a.should_quit());

    let mut a = loaded();
    type_text(&mut a, "ab");
    a.update(key(KeyCode::Home));
    let fx = a.update(ctrl('d'));
    assert!(!quits(&fx), "Ctrl+D on text deletes");
    assert_eq!(a.input_text(), "b");
    a.update(ctrl('c'));
    assert!(quits(&a.update(ctrl('d'))));
}

#[test]
fn ctrl_d_while_generating_stops_the_answer_and_quits_only_once_idle() {
    let mut a = mid_stream();
    let fx = a.update(ctrl('d'));
    assert_eq!(cancels(&fx), [1]);
    assert!(
        !quits(&fx),
        "the turn ends first, with its stop reason and usage"
    );
    a.update(done(1, StopReason::Cancelled));
    let t = &a.turns()[0];
    assert_eq!(t.state, crate::conversation::TurnState::Interrupted);
    assert_eq!(t.stop_reason, Some(StopReason::Cancelled));
    assert!(t.usage.is_some());
    assert!(quits(&a.update(ctrl('d'))));
}

#[test]
fn terminate_cancels_and_quits() {
    let mut a = mid_stream();
    let fx = a.update(Msg::Terminate);
    assert_eq!(cancels(&fx), [1]);
    assert!(quits(&fx));
    assert!(a.should_quit());
    let mut idle = loaded();
    let fx = idle.update(Msg::Terminate);
    assert!(cancels(&fx).is_empty());
    assert!(quits(&fx));
}

#[test]
fn up_and_down_recall_prompts_when_the_input_is_empty() {
    let mut a = loaded();
    send(&mut a, "first");
    a.update(done(1, StopReason::EndOfTurn));
    send(&mut a, "second\nline");
    a.update(done(2, StopReason::EndOfTurn));
    a.update(key(KeyCode::Up));
    assert_eq!(a.input_text(), "second\nline");
    a.update(key(KeyCode::Up));
    assert_eq!(a.input_text(), "first");
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Down));
    assert_eq!(a.input_text(), "");
    type_text(&mut a, "typed");
    a.update(key(KeyCode::Up));
    assert_eq!(a.input_text(), "typed", "Up moves the cursor in typed text");
}

#[test]
fn newlines_do_not_send() {
    let mut a = loaded();
    type_text(&mut a, "a");
    a.update(alt(KeyCode::Enter));
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT)));
    type_text(&mut a, "b");
    assert_eq!(a.input_text(), "a\n\nb");
    assert!(a.turns().is_empty());
    a.update(Msg::Paste("c\r\nd".into()));
    assert_eq!(a.input_text(), "a\n\nbc\nd");
}

#[test]
fn ctrl_y_copies_the_last_answer() {
    let mut a = mid_stream();
    a.update(done(1, StopReason::OutputClosed));
    let fx = a.update(ctrl('y'));
    let copied: Vec<&str> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Copy(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1);
    assert!(copied[0].starts_with("There are **three** r's"));
    let mut empty = loaded();
    assert!(empty.update(ctrl('y')).is_empty());
    assert_eq!(empty.banner().map(|b| b.level), Some(Level::Info));
}

#[test]
fn ctrl_y_copies_the_stand_ins_the_screen_shows_never_control_characters() {
    let mut a = loaded();
    send(&mut a, "q");
    a.update(text(
        1,
        Channel::Output,
        "Safe \u{1b}]52;c;aGk=\u{7} \u{1b}[2J \u{1b}]0;t\u{7}\r\u{9b}1m\tok\ndone",
    ));
    a.update(done(1, StopReason::OutputClosed));
    let fx = a.update(ctrl('y'));
    let Some(Effect::Copy(copied)) = fx.iter().find(|e| matches!(e, Effect::Copy(_))) else {
        panic!("nothing copied")
    };
    assert_eq!(
        copied,
        "Safe \u{241b}]52;c;aGk=\u{2407} \u{241b}[2J \u{241b}]0;t\u{2407}\u{240d}<U+009B>1m\tok\ndone"
    );
    assert!(
        !copied
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{copied:?}"
    );
}

#[test]
fn ctrl_n_starts_over_and_cancels_what_runs() {
    let mut a = mid_stream();
    let fx = a.update(ctrl('n'));
    assert_eq!(cancels(&fx), [1]);
    assert!(a.turns().is_empty());
    assert_eq!(a.generating(), None);
    // The old generation's late events change nothing; new ids keep increasing.
    a.update(text(1, Channel::Output, "late"));
    let fx = send(&mut a, "fresh");
    assert_eq!(generate(&fx).map(|r| r.id), Some(2));
    assert_eq!(generate(&fx).map(|r| r.messages.len()), Some(2));
}

#[test]
fn ctrl_t_toggles_think_carefully() {
    let mut a = loaded();
    assert!(a.settings().think_carefully);
    a.update(ctrl('t'));
    assert!(!a.settings().think_carefully);
    let fx = send(&mut a, "plain");
    assert_eq!(
        generate(&fx)
            .and_then(|r| r.messages.last())
            .map(|m| m.content.as_str()),
        Some("plain")
    );
}

#[test]
fn help_opens_on_f1_or_question_mark_and_any_key_closes_it() {
    let mut a = loaded();
    a.update(key(KeyCode::Char('?')));
    assert_eq!(a.ui().help, Some(0));
    assert!(a.input_text().is_empty());
    a.update(key(KeyCode::Down));
    assert_eq!(a.ui().help, Some(0), "it fits: nothing to scroll");
    a.update(Msg::Resize(50, 20));
    a.update(key(KeyCode::Down));
    assert_eq!(a.ui().help, Some(1));
    a.update(key(KeyCode::Char('x')));
    assert_eq!(a.ui().help, None);
    assert!(a.input_text().is_empty(), "the closing key is consumed");
    a.update(key(KeyCode::F(1)));
    assert!(a.ui().help.is_some());
    a.update(key(KeyCode::Esc));
    assert!(a.ui().help.is_none());
    type_text(&mut a, "why?");
    assert_eq!(a.input_text(), "why?");
}

#[test]
fn tab_cycles_visible_panes_and_side_panes_hide_and_maximise() {
    let mut a = loaded();
    let mut seen = vec![a.ui().focus];
    for _ in 0..4 {
        a.update(key(KeyCode::Tab));
        seen.push(a.ui().focus);
    }
    assert_eq!(
        seen,
        [
            Focus::Input,
            Focus::Output,
            Focus::Thinking,
            Focus::Reflection,
            Focus::Input
        ]
    );
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    assert_eq!(a.ui().focus, Focus::Reflection);
    a.update(key(KeyCode::F(3)));
    assert!(!a.ui().panes.reflection);
    assert_eq!(a.ui().focus, Focus::Input, "focus leaves a hidden pane");
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Tab));
    assert_eq!(a.ui().focus, Focus::Thinking);
    a.update(key(KeyCode::F(4)));
    assert_eq!(a.ui().panes.maximised, Some(Pane::Thinking));
    a.update(ctrl('z'));
    assert_eq!(a.ui().panes.maximised, None);
    a.update(key(KeyCode::F(2)));
    assert!(!a.ui().panes.thinking);
    a.update(key(KeyCode::F(4)));
    assert_eq!(
        a.ui().panes.maximised,
        Some(Pane::Output),
        "from the input: the conversation"
    );
}

#[test]
fn typing_on_a_pane_goes_to_the_input() {
    let mut a = loaded();
    a.update(key(KeyCode::Tab));
    assert_eq!(a.ui().focus, Focus::Output);
    type_text(&mut a, "hi");
    assert_eq!(a.ui().focus, Focus::Input);
    assert_eq!(a.input_text(), "hi");
}

#[test]
fn redraws_are_asked_for_only_after_visible_changes() {
    let mut a = loaded();
    assert!(!a.is_dirty());
    a.update(Msg::Key(KeyEvent::new(KeyCode::F(12), KeyModifiers::NONE)));
    assert!(
        !a.is_dirty(),
        "an unbound key on the input… is an edit the editor ignores"
    );
    a.update(Msg::Engine(EngineEvent::Prompt("p".into())));
    assert!(!a.is_dirty());
    a.update(key(KeyCode::Char('x')));
    assert!(a.is_dirty());
    a.mark_drawn();
    assert!(!a.is_dirty());
    a.update(Msg::Resize(80, 24));
    assert!(a.is_dirty());
}

#[test]
fn ctrl_u_deletes_to_the_start_of_the_line_and_alt_u_undoes() {
    let mut a = loaded();
    type_text(&mut a, "first line");
    a.update(alt(KeyCode::Enter));
    type_text(&mut a, "second line");
    a.update(ctrl('u'));
    assert_eq!(
        a.input_text(),
        "first line\n",
        "only the cursor's line, up to the cursor"
    );
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::ALT,
    )));
    assert_eq!(a.input_text(), "first line\nsecond line", "Alt+U undoes");
}

#[test]
fn up_and_down_move_by_wrapped_rows_and_recall_only_from_an_empty_box() {
    // 40 columns: the box's text is 38 wide.
    let mut a = app_sized(40, 20);
    a.update(loaded_msg());
    send(&mut a, "an earlier prompt");
    let long = "alpha bravo charlie delta echo foxtrot golf hotel india juliet";
    type_text(&mut a, long);
    assert!(
        a.screen().areas().unwrap().input.inner.height >= 2,
        "the box grew"
    );
    a.update(key(KeyCode::Up));
    assert_eq!(
        a.input_text(),
        long,
        "Up moved the cursor, it did not recall"
    );
    type_text(&mut a, "X");
    let at = a.input_text().find('X').unwrap();
    assert!(at < 38, "the cursor went up one row, to column {at}");
    a.update(key(KeyCode::Down));
    type_text(&mut a, "Y");
    let y = a.input_text().find('Y').unwrap();
    assert!(y > 38, "and Down back to the second row ({y})");
}

/// A loaded 40×12 app: too small for the side panes.
fn small() -> App {
    let mut a = app_sized(40, 12);
    a.update(loaded_msg());
    a
}

#[test]
fn too_small_for_side_panes_f2_f3_f4_and_tab_say_why_and_change_nothing_hidden() {
    use crate::tui::layout::{PaneSet, SidePanes};
    let mut a = small();
    assert_eq!(a.side_panes(), SidePanes::TooSmall { rows: Some(18) });
    for k in [KeyCode::F(2), KeyCode::F(3), KeyCode::F(4), KeyCode::Tab] {
        a.update(key(KeyCode::Esc)); // dismiss the last notice
        a.update(key(k));
        let said = a.banner().map(|b| b.text.clone()).unwrap_or_default();
        assert!(
            said.contains("too small") && said.contains("18 rows or 100 columns"),
            "{k:?}: {said}"
        );
        assert_eq!(
            a.ui().panes,
            PaneSet::default(),
            "{k:?}: nothing hidden changed"
        );
    }
    // Widening shows the panes as they were, nothing maximised.
    a.update(Msg::Resize(120, 40));
    assert_eq!(a.side_panes(), SidePanes::Shown);
    let areas = *a.screen().areas().unwrap();
    assert!(areas.thinking.is_some() && areas.reflection.is_some());
    // Where they are shown, F2 and F4 act as before and say nothing.
    a.update(key(KeyCode::Esc));
    a.update(key(KeyCode::F(2)));
    assert!(!a.ui().panes.thinking);
    a.update(key(KeyCode::F(4)));
    assert_eq!(a.ui().panes.maximised, Some(Pane::Output));
    assert_eq!(a.banner(), None);
    // A pane maximised on a large window is restored by F4 on a small one.
    a.update(Msg::Resize(40, 12));
    a.update(key(KeyCode::F(4)));
    assert_eq!(a.ui().panes.maximised, None);
}

/// What a run of typed characters leaves: the box, the focus, the help, the banner.
fn after_typing(a: &App) -> (String, Focus, Option<u16>, Option<String>) {
    (
        a.input_text(),
        a.ui().focus,
        a.ui().help,
        a.banner().map(|b| b.text.clone()),
    )
}

#[test]
fn a_burst_of_typed_characters_ends_as_the_same_keys_one_by_one() {
    type Setup = fn(&mut App);
    let setups: [(&str, Setup); 5] = [
        ("empty box", |_| {}),
        ("text in the box", |a| type_text(a, "draft ")),
        ("a pane focused", |a| {
            a.update(key(KeyCode::Tab));
        }),
        ("the help open", |a| {
            a.update(key(KeyCode::F(1)));
        }),
        ("a recalled prompt", |a| {
            send(a, "earlier");
            a.update(done(1, StopReason::OutputClosed));
            a.update(key(KeyCode::Up));
            a.update(key(KeyCode::Up));
        }),
    ];
    for (what, setup) in setups {
        for burst in ["?Why not", "plain words, Upper Case", "x", "é✓ ünïcode"] {
            let (mut keys, mut typed) = (loaded(), loaded());
            setup(&mut keys);
            setup(&mut typed);
            type_text(&mut keys, burst);
            typed.update(Msg::Typed(burst.into()));
            assert_eq!(
                after_typing(&typed),
                after_typing(&keys),
                "{what}: {burst:?}"
            );
        }
    }
}
