//! The thinking budget in the chat: live figures and markers from the engine, `/budget`, and
//! answer-now (Ctrl+G / F5). The gauge is tested with the view (`view::tests`).

use super::*;
use crate::conversation::ThinkingPart;
use crate::llm::{BudgetReport, BudgetStep};
use crate::tui::app::Level;

pub(crate) fn budget(id: u64, used: u32, reflection: u32, step: Option<BudgetStep>) -> Msg {
    Msg::Engine(EngineEvent::Budget {
        id,
        report: BudgetReport {
            limit: Some(100),
            used,
            reflection,
            forced_by: match step {
                Some(BudgetStep::Forced(by)) => Some(by),
                _ => None,
            },
            ..BudgetReport::default()
        },
        step,
    })
}

#[test]
fn answer_now_asks_the_engine_while_thinking_and_only_hints_while_answering() {
    let mut a = loaded();
    let fx = a.update(ctrl('g'));
    assert!(fx.is_empty(), "nothing runs");
    send(&mut a, "q");
    a.update(text(1, Channel::Thinking, "hm"));
    let fx = a.update(ctrl('g'));
    assert!(matches!(fx.as_slice(), [Effect::AnswerNow(1)]));
    assert!(a.banner().unwrap().text.contains("Answering now"));
    a.update(text(1, Channel::Output, "A"));
    let fx = a.update(key(KeyCode::F(5)));
    assert!(fx.is_empty());
    let b = a.banner().unwrap();
    assert_eq!(b.level, Level::Info);
    assert!(b.text.contains("Already answering"), "{}", b.text);
}

#[test]
fn an_extension_is_marked_in_the_thinking() {
    let mut a = loaded();
    send(&mut a, "q");
    a.update(text(1, Channel::Thinking, "short"));
    a.update(budget(1, 2, 0, Some(BudgetStep::Extended(1))));
    a.update(text(1, Channel::Thinking, "Wait, more"));
    let parts = &a.turns()[0].thinking;
    assert!(
        matches!(
            parts.as_slice(),
            [ThinkingPart::Text(_), ThinkingPart::Extended(1), ThinkingPart::Text(t)] if t == "Wait, more"
        ),
        "{parts:?}"
    );
}

#[test]
fn budget_sets_the_limit_for_the_next_messages() {
    let mut a = loaded();
    send(&mut a, "/budget 100");
    assert_eq!(a.settings().budget.limit, Some(100));
    let fx = send(&mut a, "q");
    assert_eq!(
        generate(&fx).unwrap().budget.limit,
        Some(100),
        "the request carries it"
    );
    a.update(done(1, StopReason::OutputClosed));
    send(&mut a, "/budget 0");
    assert!(a.banner().unwrap().text.contains("without thinking"));
    send(&mut a, "/budget off");
    assert_eq!(a.settings().budget.limit, None);
    send(&mut a, "/budget");
    assert!(a.banner().unwrap().text.contains("No thinking budget"));
}
