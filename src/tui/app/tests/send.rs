//! Sending: queued while loading, sent on load; the request's messages and settings.

use super::*;
use crate::conversation::TurnState;
use crate::llm::Role;
use crate::tui::app::{Level, Phase};

#[test]
fn a_message_sent_while_loading_is_queued_then_sent_on_load() {
    let mut a = app();
    let fx = send(&mut a, "hello");
    assert!(fx.is_empty(), "nothing to send to yet");
    assert_eq!(a.turns().len(), 1);
    assert_eq!(a.turns()[0].state, TurnState::Queued);
    assert!(a.input_text().is_empty());
    assert!(matches!(a.phase(), Phase::Loading(_)));
    a.update(Msg::Engine(EngineEvent::LoadProgress(0.5)));
    assert_eq!(a.phase(), Phase::Loading(0.5));
    let fx = a.update(loaded_msg());
    let req = generate(&fx).expect("sent once loaded");
    assert_eq!(req.id, 1);
    let last = req.messages.last().expect("a user message");
    assert_eq!(
        (last.role, last.content.as_str()),
        (Role::User, "hello Think carefully.")
    );
    assert_eq!(req.messages[0].role, Role::System);
    assert_eq!(a.turns()[0].state, TurnState::Running);
    assert_eq!(a.turns()[0].sent, "hello Think carefully.");
    assert_eq!(a.generating(), Some(1));
    assert_eq!(a.phase(), Phase::Prompt(None));
}

#[test]
fn requests_carry_the_current_settings_and_earlier_answers() {
    let mut a = loaded();
    a.update(ctrl('t'));
    let fx = send(&mut a, "first");
    let req = generate(&fx).expect("sent");
    assert_eq!(
        req.messages.last().map(|m| m.content.as_str()),
        Some("first")
    );
    assert_eq!(req.sampling, SamplingSettings::default());
    assert_eq!(req.router.tags, settings().router.tags);
    a.update(text(1, Channel::Output, "one"));
    let fx = a.update(done(1, StopReason::OutputClosed));
    assert!(generate(&fx).is_none());
    let fx = send(&mut a, "second");
    let req = generate(&fx).expect("sent");
    assert_eq!(req.id, 2);
    let turns: Vec<(Role, &str)> = req
        .messages
        .iter()
        .skip(1)
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        turns,
        [
            (Role::User, "first"),
            (Role::Assistant, "<output>\none\n</output>"),
            (Role::User, "second")
        ]
    );
}

#[test]
fn a_message_sent_while_generating_waits_for_the_answer() {
    let mut a = loaded();
    send(&mut a, "one");
    let fx = send(&mut a, "two");
    assert!(generate(&fx).is_none());
    assert_eq!(a.turns()[1].state, TurnState::Queued);
    let fx = a.update(done(1, StopReason::EndOfTurn));
    assert_eq!(generate(&fx).map(|r| r.id), Some(2));
}

#[test]
fn blank_input_sends_nothing() {
    let mut a = loaded();
    let fx = send(&mut a, "   ");
    assert!(fx.is_empty());
    assert!(a.turns().is_empty());
}

#[test]
fn a_failed_load_shows_a_banner_and_keeps_the_app_usable() {
    let mut a = app();
    send(&mut a, "early");
    a.update(Msg::Engine(EngineEvent::Error(
        crate::llm::EngineError::Load {
            path: "/m.gguf".into(),
            message: "not a GGUF file".into(),
        },
    )));
    let b = a.banner().expect("banner");
    assert_eq!(b.level, Level::Error);
    assert!(b.text.contains("not a GGUF file"), "{}", b.text);
    assert_eq!(a.phase(), Phase::LoadFailed);
    assert!(matches!(a.turns()[0].state, TurnState::Failed(_)));
    let fx = send(&mut a, "again");
    assert!(fx.is_empty());
    assert_eq!(a.input_text(), "again", "kept for later");
    // Commands still work.
    a.update(ctrl('c'));
    let fx = send(&mut a, "/set temperature 0.3");
    assert!(fx.is_empty());
    assert_eq!(a.settings().sampling.temperature, 0.3);
}

#[test]
fn a_startup_error_shows_in_the_banner() {
    let a = App::new(AppInit {
        settings: settings(),
        theme: dark(),
        theme_name: "dark".into(),
        startup_error: Some("config.toml:3: unknown key 'modle'".into()),
        size: (80, 24),
        prompt_history: Vec::new(),
    });
    assert_eq!(
        a.banner().map(|b| (b.level, b.text.as_str())),
        Some((Level::Error, "config.toml:3: unknown key 'modle'"))
    );
    assert!(a.is_dirty(), "the first frame draws at once");
}

#[test]
fn every_line_that_leaves_the_box_is_remembered_for_later_runs() {
    let mut a = loaded();
    let remembered = |fx: &[Effect]| {
        fx.iter()
            .filter_map(|e| match e {
                Effect::RememberPrompt(t) => Some(t.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    type_text(&mut a, "hello");
    assert_eq!(remembered(&a.update(key(KeyCode::Enter))), ["hello"]);
    type_text(&mut a, "/think off");
    assert_eq!(remembered(&a.update(key(KeyCode::Enter))), ["/think off"]);
    type_text(&mut a, "/think maybe");
    assert_eq!(remembered(&a.update(key(KeyCode::Enter))), ["/think maybe"]);
    // Earlier runs' prompts come back with Up.
    let mut b = App::new(AppInit {
        prompt_history: vec!["from yesterday".into()],
        ..crate::tui::app::tests::init(100, 30)
    });
    b.update(key(KeyCode::Up));
    assert_eq!(b.input_text(), "from yesterday");
}
