//! Redoing turns: /retry, /edit and Up on an empty box, and the queue (/queue, /unqueue, and
//! what Esc says while messages wait).

use super::*;
use crate::conversation::TurnState;
use crate::llm::Role;
use crate::tui::app::Level;

/// A loaded app with two answered turns (ids 1 and 2), the second with seed 42 used.
fn two_turns() -> App {
    let mut a = loaded();
    send(&mut a, "first");
    a.update(text(1, Channel::Output, "one"));
    a.update(done(1, StopReason::OutputClosed));
    send(&mut a, "second");
    a.update(text(2, Channel::Output, "two"));
    a.update(done_with_seed(2, 42));
    a
}

fn done_with_seed(id: u64, seed: u32) -> Msg {
    let Msg::Engine(EngineEvent::Done(mut c)) = done(id, StopReason::OutputClosed) else {
        unreachable!()
    };
    c.seed = Some(seed);
    Msg::Engine(EngineEvent::Done(c))
}

fn user_messages(req: &GenerateRequest) -> Vec<&str> {
    req.messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
        .collect()
}

fn banner(a: &App) -> String {
    a.banner().map(|b| b.text.clone()).unwrap_or_default()
}

#[test]
fn retry_regenerates_the_last_answer_in_place_with_the_next_seed() {
    let mut a = two_turns();
    a.settings.sampling.seed = Some(42);
    let fx = send(&mut a, "/retry");
    let req = generate(&fx).expect("a new generation");
    assert_eq!(
        req.sampling.seed,
        Some(43),
        "the next seed after the one used"
    );
    assert_eq!(
        user_messages(req),
        ["first Think carefully.", "second Think carefully."],
        "the same question after the same history"
    );
    assert_eq!(a.turns().len(), 2, "replaced, not appended");
    let t = &a.turns()[1];
    assert_eq!((t.prompt.as_str(), t.answer.as_str()), ("second", ""));
    assert_eq!(t.state, TurnState::Running);
    assert!(banner(&a).contains("seed 43"), "{}", banner(&a));
    a.update(text(req.id, Channel::Output, "deux"));
    a.update(done_with_seed(req.id, 43));
    assert_eq!(a.turns()[1].answer, "deux");
    // And again: the next one.
    let fx = send(&mut a, "/retry");
    assert_eq!(generate(&fx).unwrap().sampling.seed, Some(44));
}

#[test]
fn retry_with_a_random_seed_draws_a_new_one_and_waits_for_a_running_answer() {
    let mut a = two_turns();
    let fx = send(&mut a, "/retry");
    assert_eq!(
        generate(&fx).unwrap().sampling.seed,
        None,
        "the engine draws"
    );
    assert!(banner(&a).contains("new random seed"));
    let fx = send(&mut a, "/retry");
    assert!(generate(&fx).is_none());
    assert!(banner(&a).contains("wait for the answer"), "{}", banner(&a));
    let mut fresh = loaded();
    send(&mut fresh, "/retry");
    assert!(banner(&fresh).contains("no message has been sent yet"));
}

#[test]
fn up_on_an_empty_box_edits_the_last_message_and_sending_replaces_its_turn() {
    let mut a = two_turns();
    a.update(key(KeyCode::Up));
    assert_eq!(a.input_text(), "second");
    assert_eq!(a.turns().len(), 2, "nothing dropped by looking");
    assert!(banner(&a).contains("Editing your last message"));
    type_text(&mut a, " (shorter)");
    let fx = a.update(key(KeyCode::Enter));
    let req = generate(&fx).expect("sent");
    assert_eq!(
        user_messages(req),
        [
            "first Think carefully.",
            "second (shorter) Think carefully."
        ],
        "the old turn is not in the history"
    );
    assert_eq!(a.turns().len(), 2);
    assert_eq!(a.turns()[1].prompt, "second (shorter)");
    assert_eq!(a.turns()[1].answer, "", "its answer went with it");
    assert_eq!(a.turns()[0].answer, "one", "earlier turns stay");
}

#[test]
fn slash_edit_does_the_same_and_leaving_the_edit_keeps_the_turn() {
    let mut a = two_turns();
    send(&mut a, "/edit");
    assert_eq!(a.input_text(), "second");
    // Ctrl+C clears the box: the edit is over, the turn stays, and a new message appends.
    a.update(ctrl('c'));
    assert!(a.input_text().is_empty());
    send(&mut a, "third");
    assert_eq!(a.turns().len(), 3);
    assert_eq!(a.turns()[1].answer, "two");
}

#[test]
fn up_twice_goes_on_to_earlier_prompts_and_ends_the_edit() {
    let mut a = two_turns();
    a.update(key(KeyCode::Up));
    a.update(key(KeyCode::Up));
    assert_eq!(a.input_text(), "first", "the history before it");
    a.update(key(KeyCode::Enter));
    assert_eq!(a.turns().len(), 3, "a recalled prompt is a new message");
    assert_eq!(a.turns()[1].answer, "two");
}

#[test]
fn up_recalls_history_while_an_answer_runs() {
    let mut a = two_turns();
    send(&mut a, "third");
    a.update(key(KeyCode::Up));
    assert_eq!(
        a.input_text(),
        "third",
        "plain recall: nothing to edit while busy"
    );
    assert!(!banner(&a).contains("Editing"));
}

#[test]
fn the_queue_is_listed_and_messages_can_be_removed() {
    let mut a = two_turns();
    send(&mut a, "running now");
    for q in ["alpha", "bravo", "charlie"] {
        send(&mut a, q);
    }
    send(&mut a, "/queue");
    let b = banner(&a);
    assert!(
        b.contains("1. “alpha”") && b.contains("2. “bravo”") && b.contains("3. “charlie”"),
        "{b}"
    );
    send(&mut a, "/unqueue 2");
    let prompts: Vec<&str> = a.turns().iter().map(|t| t.prompt.as_str()).collect();
    assert_eq!(
        prompts,
        ["first", "second", "running now", "alpha", "charlie"]
    );
    send(&mut a, "/unqueue");
    assert_eq!(
        a.turns().last().unwrap().prompt,
        "alpha",
        "alone: the last one"
    );
    send(&mut a, "/unqueue 5");
    assert_eq!(a.banner().unwrap().level, Level::Error);
    assert!(banner(&a).contains("1 queued"), "{}", banner(&a));
    send(&mut a, "/unqueue all");
    assert_eq!(a.turns().len(), 3);
    assert!(
        a.turns()[2].is_running(),
        "the running answer is Esc's to stop"
    );
    send(&mut a, "/queue");
    assert_eq!(banner(&a), "Nothing is queued");
}

#[test]
fn esc_says_that_the_next_queued_message_starts() {
    let mut a = two_turns();
    send(&mut a, "running now");
    send(&mut a, "waiting");
    a.update(key(KeyCode::Esc));
    assert!(
        banner(&a).contains("the queued message starts next"),
        "{}",
        banner(&a)
    );
    let fx = a.update(done(3, StopReason::Cancelled));
    let req = generate(&fx).expect("the queued message starts");
    assert_eq!(user_messages(req).last(), Some(&"waiting Think carefully."));
    assert_eq!(
        a.banner(),
        None,
        "the stopped answer has ended and the queued one started: the notice is done"
    );
    // With two queued, the notice goes as the first of them starts, not when the queue empties.
    let mut a = two_turns();
    send(&mut a, "running now");
    send(&mut a, "first waiting");
    send(&mut a, "second waiting");
    a.update(key(KeyCode::Esc));
    assert!(banner(&a).contains("the next of 2 queued messages starts next"));
    a.update(text(3, Channel::Thinking, "still stopping"));
    assert!(
        banner(&a).contains("starts next"),
        "while the stop is under way"
    );
    a.update(done(3, StopReason::Cancelled));
    assert_eq!(a.banner(), None, "the next one runs: the notice is done");
}

#[test]
fn the_retry_banner_goes_when_the_retry_is_stopped_or_ends() {
    for end in [StopReason::Cancelled, StopReason::OutputClosed] {
        let mut a = two_turns();
        send(&mut a, "/retry");
        assert!(banner(&a).contains("Regenerating the last answer"));
        if end == StopReason::Cancelled {
            a.update(key(KeyCode::Esc));
        }
        a.update(text(3, Channel::Thinking, "still at it"));
        assert!(
            banner(&a).contains("Regenerating"),
            "{end:?}: while it runs"
        );
        a.update(done(3, end));
        assert_eq!(a.banner(), None, "{end:?}");
    }
    // A notice about something else stays until dismissed.
    let mut a = two_turns();
    send(&mut a, "/budget");
    let said = banner(&a);
    a.update(key(KeyCode::Char('x')));
    assert_eq!(banner(&a), said);
}

#[test]
fn retry_keeps_the_answer_when_nothing_could_answer_again() {
    let mut a = two_turns();
    a.update(Msg::Engine(EngineEvent::Error(
        crate::llm::EngineError::Gone,
    )));
    let fx = send(&mut a, "/retry");
    assert!(generate(&fx).is_none());
    assert!(banner(&a).contains("the engine stopped"), "{}", banner(&a));
    assert_eq!(a.turns()[1].answer, "two", "the answer stays");
    assert!(a.turns().iter().all(|t| !t.is_queued()));
}

#[test]
fn unqueue_before_a_selected_turn_goes_back_to_the_live_one() {
    let mut a = two_turns();
    send(&mut a, "running now");
    send(&mut a, "alpha");
    send(&mut a, "bravo");
    // The last queued message's turn (index 4) is selected; the one before it is removed.
    a.ui.selected = Some(4);
    send(&mut a, "/unqueue 1");
    assert_eq!(a.ui().selected, None, "not left pointing at another turn");
}
