//! Saving: which messages ask the runtime to save the session, what a new conversation hands
//! over, and resuming a saved conversation.

use super::*;
use crate::conversation::{Turn, TurnState};
use crate::llm::EngineError;

fn saves(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::SaveSession))
        .count()
}

#[test]
fn a_finished_turn_asks_for_one_save_and_streaming_asks_for_none() {
    let mut a = loaded();
    let fx = send(&mut a, "q");
    assert_eq!(saves(&fx), 0);
    assert_eq!(saves(&a.update(text(1, Channel::Output, "a"))), 0);
    let fx = a.update(done(1, StopReason::OutputClosed));
    assert_eq!(saves(&fx), 1);
    // A cancelled turn is saved too (as interrupted, by the runtime's snapshot).
    send(&mut a, "again");
    a.update(key(KeyCode::Esc));
    let fx = a.update(done(2, StopReason::Cancelled));
    assert_eq!(saves(&fx), 1);
    assert_eq!(a.turns()[1].state, TurnState::Interrupted);
}

#[test]
fn a_failed_generation_is_saved_but_a_failed_load_is_not() {
    let mut a = loaded();
    send(&mut a, "q");
    let fx = a.update(Msg::Engine(EngineEvent::Error(EngineError::Decode(
        "boom".into(),
    ))));
    assert_eq!(saves(&fx), 1);
    let mut b = app();
    send(&mut b, "q");
    let fx = b.update(Msg::Engine(EngineEvent::Error(EngineError::Load {
        path: "/m.gguf".into(),
        message: "bad".into(),
    })));
    assert_eq!(saves(&fx), 0, "nothing reached the model");
}

#[test]
fn a_new_conversation_hands_over_the_old_turns_running_one_included() {
    let mut a = loaded();
    send(&mut a, "first");
    a.update(done(1, StopReason::OutputClosed));
    send(&mut a, "second");
    a.update(text(2, Channel::Output, "half"));
    let fx = a.update(ctrl('n'));
    let old = fx
        .iter()
        .find_map(|e| match e {
            Effect::NewSession(turns) => Some(turns),
            _ => None,
        })
        .expect("NewSession");
    let states: Vec<(&str, &TurnState)> =
        old.iter().map(|t| (t.prompt.as_str(), &t.state)).collect();
    assert_eq!(
        states,
        [("first", &TurnState::Done), ("second", &TurnState::Running)]
    );
    assert_eq!(old[1].answer, "half");
    assert!(fx.iter().any(|e| matches!(e, Effect::Cancel(2))));
    assert!(a.turns().is_empty());
}

#[test]
fn resumed_turns_come_first_and_feed_the_next_request() {
    let mut a = app();
    send(&mut a, "queued while loading");
    let mut old = Turn::queued("earlier");
    old.sent = "earlier Think carefully.".into();
    old.answer = "old answer".into();
    old.state = TurnState::Done;
    a.resume(vec![old], "Resumed session x (1 turn)");
    assert_eq!(
        a.banner().map(|n| n.text.as_str()),
        Some("Resumed session x (1 turn)")
    );
    let prompts: Vec<&str> = a.turns().iter().map(|t| t.prompt.as_str()).collect();
    assert_eq!(prompts, ["earlier", "queued while loading"]);
    let fx = a.update(loaded_msg());
    let req = generate(&fx).expect("the queued turn is sent");
    let contents: Vec<&str> = req.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        contents[1..],
        [
            "earlier Think carefully.",
            "<output>\nold answer\n</output>",
            "queued while loading Think carefully."
        ]
    );
}
