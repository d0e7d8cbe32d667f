//! Streaming: engine events fill the right turn and panes; the end of a turn; errors.

use super::*;
use crate::conversation::{ThinkingPart, TurnState};
use crate::llm::EngineError;
use crate::tui::app::{Level, Phase};

#[test]
fn streamed_text_fills_thinking_reflections_and_answer() {
    let a = mid_stream();
    let t = &a.turns()[0];
    assert_eq!(
        t.thinking_text(),
        "Let me count the letters: s-t-r-a-w-b-e-r-r-y. I see two r's. So there are three r's."
    );
    assert_eq!(t.thinking[1], ThinkingPart::Reflection(1));
    assert_eq!(t.reflections.len(), 1);
    assert!(t.reflections[0].text.starts_with("Wait, I missed one"));
    assert!(!t.reflections[0].open);
    assert!(t.answer.starts_with("There are **three**"));
    assert_eq!(a.phase(), Phase::Answering);
    assert_eq!(t.prompt_tokens, Some(97));
    assert_eq!(a.context_used(), 97 + 4, "prompt plus text events so far");
}

#[test]
fn phases_follow_the_stream() {
    let mut a = loaded();
    send(&mut a, "q");
    assert_eq!(a.phase(), Phase::Prompt(None));
    a.update(text(1, Channel::Thinking, "hm"));
    assert_eq!(a.phase(), Phase::Thinking);
    a.update(reflection(1, 1, true));
    assert_eq!(a.phase(), Phase::Reflecting);
    a.update(reflection(1, 1, false));
    assert_eq!(a.phase(), Phase::Thinking);
    a.update(text(1, Channel::Output, "A"));
    assert_eq!(a.phase(), Phase::Answering);
    a.update(done(1, StopReason::OutputClosed));
    assert_eq!(a.phase(), Phase::Idle);
    assert_eq!(a.generating(), None);
    assert_eq!(a.context_used(), 150, "exact usage once done");
}

#[test]
fn reflections_are_numbered_with_markers_in_the_thinking() {
    let mut a = loaded();
    send(&mut a, "q");
    for n in 1..=2 {
        a.update(text(1, Channel::Thinking, "t"));
        a.update(reflection(1, n, true));
        a.update(text(1, Channel::Reflection, &format!("r{n}")));
        a.update(reflection(1, n, false));
    }
    let t = &a.turns()[0];
    let markers: Vec<usize> = t
        .thinking
        .iter()
        .filter_map(|p| match p {
            ThinkingPart::Reflection(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(markers, [1, 2]);
    let texts: Vec<(usize, &str)> = t
        .reflections
        .iter()
        .map(|r| (r.n, r.text.as_str()))
        .collect();
    assert_eq!(texts, [(1, "r1"), (2, "r2")]);
}

#[test]
fn events_of_other_generations_are_ignored_and_change_nothing() {
    let mut a = mid_stream();
    a.mark_drawn();
    a.update(text(7, Channel::Output, "stray"));
    a.update(done(7, StopReason::EndOfTurn));
    assert!(!a.is_dirty());
    assert!(!a.turns()[0].answer.contains("stray"));
    assert_eq!(a.generating(), Some(1));
}

#[test]
fn done_records_usage_speed_and_stop_reason() {
    let mut a = mid_stream();
    a.update(done(1, StopReason::OutputClosed));
    let t = &a.turns()[0];
    assert_eq!(t.state, TurnState::Done);
    assert_eq!(t.stop_reason, Some(StopReason::OutputClosed));
    assert_eq!(t.usage.map(|u| u.completion_tokens), Some(50));
    assert_eq!(a.last_speed, Some(20.0));
}

#[test]
fn a_full_context_shows_an_error_banner() {
    let mut a = mid_stream();
    a.update(done(1, StopReason::ContextFull));
    let b = a.banner().expect("banner");
    assert_eq!(b.level, Level::Error);
    assert!(b.text.contains("context is full"), "{}", b.text);
    assert!(b.text.contains("150 of 8192"), "{}", b.text);
}

#[test]
fn an_engine_error_ends_the_turn_and_the_next_message_goes_out() {
    let mut a = loaded();
    send(&mut a, "too long");
    send(&mut a, "short");
    let fx = a.update(Msg::Engine(EngineEvent::Error(
        EngineError::PromptTooLong {
            prompt_tokens: 9000,
            n_ctx: 8192,
        },
    )));
    assert!(matches!(&a.turns()[0].state, TurnState::Failed(why) if why.contains("9000")));
    assert_eq!(a.banner().map(|b| b.level), Some(Level::Error));
    let banner = a.banner().unwrap().text.clone();
    assert!(
        banner.contains("Ctrl+N") && banner.contains("needs a restart with --ctx-size"),
        "advice that works in the chat: {banner}"
    );
    assert_eq!(generate(&fx).map(|r| r.id), Some(2));
    // The failed turn is not part of the history.
    let req = generate(&fx).expect("sent");
    assert!(req
        .messages
        .iter()
        .all(|m| m.content != "too long Think carefully."));
}

#[test]
fn a_server_error_fails_the_turn_in_a_banner_and_the_chat_goes_on() {
    let server_error = |kind, message: &str| {
        Msg::Engine(EngineEvent::Error(EngineError::Remote {
            endpoint: "gpu-box:8000".into(),
            kind,
            message: message.into(),
        }))
    };
    let mut a = loaded();
    send(&mut a, "first");
    send(&mut a, "second");
    let fx = a.update(server_error(
        crate::llm::RemoteErrorKind::Server,
        "HTTP 500, the server failed",
    ));
    assert!(matches!(&a.turns()[0].state, TurnState::Failed(why) if why.contains("HTTP 500")));
    let b = a.banner().expect("banner");
    assert_eq!(b.level, Level::Error);
    assert!(b.text.contains("gpu-box:8000: HTTP 500"), "{}", b.text);
    assert_eq!(generate(&fx).map(|r| r.id), Some(2), "the queue goes on");
    // A stream cut mid-answer keeps what came, marked interrupted.
    a.update(text(2, Channel::Output, "Half"));
    a.update(done(2, StopReason::StreamCut));
    assert_eq!(a.turns()[1].state, TurnState::Interrupted);
    assert_eq!(a.turns()[1].answer, "Half");
    assert!(a
        .banner()
        .is_some_and(|b| b.text.contains("ended before the answer did")));
    // Before the server answered at all, the same error is a failed start.
    let mut starting = crate::tui::app::tests::app();
    send(&mut starting, "queued");
    starting.update(server_error(
        crate::llm::RemoteErrorKind::Connect,
        "connection refused",
    ));
    assert!(matches!(&starting.turns()[0].state, TurnState::Failed(_)));
    assert!(starting
        .banner()
        .is_some_and(|b| b.text.contains("Cannot use the endpoint")));
}

#[test]
fn a_gone_engine_fails_what_waits() {
    let mut a = loaded();
    send(&mut a, "one");
    send(&mut a, "two");
    let fx = a.update(Msg::Engine(EngineEvent::Error(EngineError::Gone)));
    assert!(
        matches!(fx[..], [Effect::SaveSession]),
        "only the failed turn is saved; nothing is sent"
    );
    assert!(a
        .turns()
        .iter()
        .all(|t| matches!(t.state, TurnState::Failed(_))));
    let fx = send(&mut a, "three");
    assert!(fx.is_empty());
    assert!(a
        .banner()
        .is_some_and(|b| b.text.contains("engine stopped")));
}

#[test]
fn warnings_and_notices_show_in_the_banner() {
    let mut a = loaded();
    a.update(Msg::Engine(EngineEvent::Warning(
        "template fallback \u{1b}[2J".into(),
    )));
    let b = a.banner().expect("banner");
    assert_eq!(b.level, Level::Warning);
    assert!(!b.text.contains('\u{1b}'), "neutralised");
    a.update(Msg::Notice {
        text: "saved profile cool".into(),
        error: false,
    });
    assert_eq!(a.banner().map(|b| b.level), Some(Level::Info));
    a.update(Msg::Notice {
        text: "cannot save".into(),
        error: true,
    });
    assert_eq!(a.banner().map(|b| b.level), Some(Level::Error));
}
