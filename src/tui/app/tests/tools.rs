//! The tool loop through the reducer: `/tools`, the approval prompt (y, a, n with a reason,
//! Esc), calls handled in order, the next step, the step limit, cancelling a running call.

use super::*;
use crate::conversation::TurnState;
use crate::llm::Role;
use crate::tools::{CallStatus, Outcome, ToolCall};
use crate::tui::app::{Level, Phase};
use serde_json::json;

/// A call with an id, as a backend gives it.
pub(crate) fn call(id: &str, name: &str, args: serde_json::Value) -> ToolCall {
    let serde_json::Value::Object(arguments) = args else {
        panic!("arguments must be an object")
    };
    ToolCall {
        id: id.into(),
        ..ToolCall::new(name, arguments)
    }
}

pub(crate) fn write(id: &str, path: &str) -> ToolCall {
    call(
        id,
        "write_file",
        json!({"path": path, "content": "hello\n"}),
    )
}

pub(crate) fn read(id: &str, path: &str) -> ToolCall {
    call(id, "read_file", json!({"path": path}))
}

/// Generation `id` ended, having written `calls` in its answer.
pub(crate) fn step(id: u64, calls: Vec<ToolCall>) -> Msg {
    let Msg::Engine(EngineEvent::Done(mut c)) = done(id, StopReason::EndOfTurn) else {
        unreachable!("done() is a Done event")
    };
    c.calls = calls;
    Msg::Engine(EngineEvent::Done(c))
}

/// A loaded app with tools on and one message sent (generation 1).
pub(crate) fn asked() -> App {
    let mut a = loaded();
    send(&mut a, "/tools on");
    send(&mut a, "write hello to a.txt");
    a
}

/// The approval prompt takes answers: its preview shown (a made-up one when none came) and the
/// quiet moment passed, as the runtime would say.
pub(crate) fn arm(a: &mut App) {
    let asking = a.tools.asking.clone().expect("a call is asked about");
    if asking.preview.is_none() {
        a.update(Msg::ToolPreview {
            id: asking.call.id.clone(),
            text: "(preview)".into(),
        });
    }
    let seq = a.tools.asking.as_ref().unwrap().arm_seq;
    a.update(Msg::ApprovalArmed {
        id: asking.call.id,
        seq,
    });
}

/// Presses `c` on the approval prompt once it takes answers ([`arm`]).
pub(crate) fn answer(a: &mut App, c: char) -> Vec<Effect> {
    arm(a);
    a.update(key(KeyCode::Char(c)))
}

fn ran(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunTool { call, .. } => Some(call.id.clone()),
            _ => None,
        })
        .collect()
}

fn status(a: &App, id: &str) -> CallStatus {
    let rec = a.turns()[0].calls.iter().find(|c| c.call.id == id);
    rec.expect("the call is recorded").status
}

fn result(a: &App, id: &str) -> String {
    let rec = a.turns()[0].calls.iter().find(|c| c.call.id == id);
    rec.expect("the call is recorded").result.clone()
}

fn finished(id: &str, ok: bool, text: &str) -> Msg {
    Msg::ToolDone {
        id: id.into(),
        outcome: if ok {
            Outcome::ok(text)
        } else {
            Outcome::failed(text)
        },
        elapsed_ms: 12,
    }
}

#[test]
fn tools_turn_on_and_off_and_list_their_policies() {
    let mut a = loaded();
    let fx = send(&mut a, "/tools");
    assert!(fx.is_empty());
    let text = a.banner().map(|b| b.text.clone()).unwrap_or_default();
    assert!(text.starts_with("Tools off"), "{text}");
    for part in [
        "read_file (allowed)",
        "search (allowed)",
        "write_file (ask)",
        "run_command (ask)",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let fx = send(&mut a, "q");
    assert!(generate(&fx).unwrap().tools.is_empty(), "off: none offered");
    a.update(done(1, StopReason::EndOfTurn));
    send(&mut a, "/tools on");
    assert!(a.settings().tools.on);
    let fx = send(&mut a, "q2");
    assert_eq!(generate(&fx).unwrap().tools.len(), 6, "every built-in");
    a.update(done(2, StopReason::EndOfTurn));
    send(&mut a, "/tools off");
    let fx = send(&mut a, "q3");
    assert!(generate(&fx).unwrap().tools.is_empty());
}

#[test]
fn an_allowed_call_runs_then_the_next_step_carries_its_result() {
    let mut a = asked();
    let fx = a.update(step(1, vec![read("c1", "a.txt")]));
    assert_eq!(ran(&fx), ["c1"]);
    assert!(generate(&fx).is_none(), "nothing is sent before the result");
    assert_eq!(a.phase(), Phase::Tool);
    assert!(a.turns()[0].is_running());
    a.update(Msg::ToolProgress {
        id: "c1".into(),
        elapsed_ms: 2100,
    });
    assert_eq!(a.turns()[0].calls[0].elapsed_ms, 2100);
    let fx = a.update(finished("c1", true, "hello"));
    let req = generate(&fx).expect("the next step");
    assert_eq!(req.id, 2);
    let tail: Vec<Role> = req.messages.iter().rev().take(2).map(|m| m.role).collect();
    assert_eq!(tail, [Role::Tool, Role::Assistant]);
    assert_eq!(req.messages.last().unwrap().content, "hello");
    assert_eq!(status(&a, "c1"), CallStatus::Done);
    assert_eq!(a.generating(), Some(2));
    assert_eq!(
        a.phase(),
        Phase::Prompt(None),
        "the new step reads its prompt"
    );
    a.update(text(2, Channel::Output, "It says hello."));
    a.update(done(2, StopReason::EndOfTurn));
    let t = &a.turns()[0];
    assert_eq!(t.state, TurnState::Done);
    assert_eq!(t.steps.len(), 2);
    assert_eq!(a.phase(), Phase::Idle);
}

#[test]
fn a_call_that_asks_runs_nothing_before_y() {
    let mut a = asked();
    let fx = a.update(step(1, vec![write("c1", "a.txt")]));
    assert!(ran(&fx).is_empty(), "nothing runs before the keypress");
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::PreviewTool { call, .. } if call.id == "c1")));
    assert_eq!(status(&a, "c1"), CallStatus::Asking);
    assert_eq!(a.phase(), Phase::Asking);
    a.update(Msg::ToolPreview {
        id: "c1".into(),
        text: "1 lines, 6 bytes:\nhello".into(),
    });
    assert_eq!(
        a.tools.asking.as_ref().and_then(|x| x.preview.as_deref()),
        Some("1 lines, 6 bytes:\nhello")
    );
    // Other typing does nothing while the prompt waits.
    assert!(ran(&a.update(key(KeyCode::Char('x')))).is_empty());
    assert!(a.input_text().is_empty());
    let fx = answer(&mut a, 'y');
    assert_eq!(ran(&fx), ["c1"]);
    assert_eq!(status(&a, "c1"), CallStatus::Running);
    a.update(finished("c1", true, "wrote 6 bytes to a.txt"));
    // y was once: the next write asks again.
    let fx = a.update(step(2, vec![write("c2", "b.txt")]));
    assert!(ran(&fx).is_empty());
    assert_eq!(status(&a, "c2"), CallStatus::Asking);
}

#[test]
fn a_allows_the_tool_for_the_rest_of_the_session() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt")]));
    let fx = answer(&mut a, 'a');
    assert_eq!(ran(&fx), ["c1"]);
    a.update(finished("c1", true, "ok"));
    let fx = a.update(step(2, vec![write("c2", "b.txt")]));
    assert_eq!(ran(&fx), ["c2"], "ran without asking");
    a.update(finished("c2", true, "ok"));
    a.update(done(3, StopReason::EndOfTurn));
    // A later turn too, but not another tool.
    send(&mut a, "again");
    let fx = a.update(step(4, vec![write("c3", "c.txt")]));
    assert_eq!(ran(&fx), ["c3"]);
    a.update(finished("c3", true, "ok"));
    let fx = a.update(step(
        5,
        vec![call("c4", "run_command", json!({"command": "ls"}))],
    ));
    assert!(ran(&fx).is_empty(), "run_command still asks");
    a.update(key(KeyCode::Esc));
    send(&mut a, "/tools");
    let text = a.banner().map(|b| b.text.clone()).unwrap_or_default();
    assert!(text.contains("write_file (allowed this session)"), "{text}");
    assert!(text.contains("run_command (ask)"), "{text}");
}

#[test]
fn n_denies_with_the_reason_typed_and_the_model_reads_it() {
    let mut a = asked();
    type_text(&mut a, "draft");
    a.update(step(1, vec![write("c1", "a.txt")]));
    // The draft is kept while the box takes the reason.
    assert!(ran(&answer(&mut a, 'n')).is_empty());
    assert!(a.input_text().is_empty());
    type_text(&mut a, "use notes.md");
    let fx = a.update(key(KeyCode::Enter));
    assert!(ran(&fx).is_empty());
    assert_eq!(status(&a, "c1"), CallStatus::Denied);
    assert_eq!(result(&a, "c1"), "denied by the user: use notes.md");
    let req = generate(&fx).expect("the model goes on");
    let last = req.messages.last().unwrap();
    assert_eq!(
        (last.role, last.content.as_str()),
        (Role::Tool, "denied by the user: use notes.md")
    );
    assert_eq!(a.input_text(), "draft", "the draft is back");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::RememberPrompt(_))),
        "a reason is not a prompt to recall"
    );
}

#[test]
fn n_then_enter_alone_denies_without_a_reason() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt")]));
    answer(&mut a, 'n');
    let fx = a.update(key(KeyCode::Enter));
    assert_eq!(result(&a, "c1"), "denied by the user");
    assert!(generate(&fx).is_some());
}

#[test]
fn esc_on_the_prompt_denies_and_stops_the_turn() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt"), read("c2", "a.txt")]));
    let fx = a.update(key(KeyCode::Esc));
    assert!(ran(&fx).is_empty() && generate(&fx).is_none());
    assert_eq!(status(&a, "c1"), CallStatus::Denied);
    assert_eq!(status(&a, "c2"), CallStatus::Cancelled, "never reached");
    let t = &a.turns()[0];
    assert_eq!(t.state, TurnState::Interrupted);
    assert_eq!(a.phase(), Phase::Idle);
    assert!(fx.iter().any(|e| matches!(e, Effect::SaveSession)));
}

#[test]
fn esc_while_typing_the_reason_also_stops_the_turn_and_gives_the_draft_back() {
    let mut a = asked();
    type_text(&mut a, "draft");
    a.update(step(1, vec![write("c1", "a.txt")]));
    answer(&mut a, 'n');
    type_text(&mut a, "no");
    a.update(key(KeyCode::Esc));
    assert_eq!(status(&a, "c1"), CallStatus::Denied);
    assert_eq!(a.turns()[0].state, TurnState::Interrupted);
    assert_eq!(a.input_text(), "draft");
}

#[test]
fn calls_are_handled_in_the_order_written() {
    let mut a = asked();
    let fx = a.update(step(
        1,
        vec![
            write("c1", "a.txt"),
            read("c2", "a.txt"),
            read("c3", "b.txt"),
        ],
    ));
    assert!(ran(&fx).is_empty(), "c2 waits for c1's answer");
    assert_eq!(status(&a, "c2"), CallStatus::Running, "recorded, not run");
    assert_eq!(ran(&answer(&mut a, 'y')), ["c1"]);
    let fx = a.update(finished("c1", true, "ok"));
    assert_eq!(ran(&fx), ["c2"]);
    assert!(generate(&fx).is_none());
    // A result for a call that does not run is ignored.
    assert!(a.update(finished("c3", true, "early")).is_empty());
    let fx = a.update(finished("c2", false, "no such file"));
    assert_eq!(status(&a, "c2"), CallStatus::Failed);
    assert_eq!(ran(&fx), ["c3"]);
    let fx = a.update(finished("c3", true, "b"));
    let req = generate(&fx).expect("all results in: the next step");
    let results: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(results, ["ok", "no such file", "b"]);
}

#[test]
fn a_tool_that_does_not_exist_fails_without_asking() {
    let mut a = asked();
    let fx = a.update(step(1, vec![call("c1", "rm_rf", json!({}))]));
    assert!(ran(&fx).is_empty());
    assert_eq!(status(&a, "c1"), CallStatus::Failed);
    assert!(result(&a, "c1").contains("there is no tool named 'rm_rf'"));
    assert!(generate(&fx).is_some(), "the model hears why and goes on");
    // A tool that exists but is not offered (a profile's smaller list) does not run either.
    let mut a = asked();
    a.settings.tools.offered = vec!["read_file".into()];
    let fx = a.update(step(
        1,
        vec![call("c1", "run_command", json!({"command": "ls"}))],
    ));
    assert!(ran(&fx).is_empty());
    assert_eq!(
        result(&a, "c1"),
        "run_command is not offered in this chat; the tools offered are: read_file"
    );
}

#[test]
fn a_denied_tool_is_a_result_without_asking() {
    let mut a = loaded();
    let policies = &mut a.settings.tools.policies;
    policies.set(&["write_file".into()], crate::tools::Policy::Deny);
    a.tools = crate::tui::tool_flow::ToolFlow::new(&a.settings.tools);
    send(&mut a, "/tools on");
    send(&mut a, "q");
    let fx = a.update(step(1, vec![write("c1", "a.txt")]));
    assert_eq!(status(&a, "c1"), CallStatus::Denied);
    assert!(result(&a, "c1").contains("do not allow write_file"));
    assert!(generate(&fx).is_some());
}

#[test]
fn the_step_limit_ends_a_runaway_loop_with_a_notice() {
    let mut a = loaded();
    a.settings.tools.max_steps = 2;
    send(&mut a, "/tools on");
    send(&mut a, "loop");
    a.update(step(1, vec![read("c1", "a")]));
    let fx = a.update(finished("c1", true, "x"));
    assert_eq!(generate(&fx).map(|r| r.id), Some(2));
    let fx = a.update(step(2, vec![read("c2", "a")]));
    assert!(
        ran(&fx).is_empty(),
        "no step could read its result: it does not run"
    );
    assert!(generate(&fx).is_none(), "no third step");
    assert_eq!(status(&a, "c2"), CallStatus::Cancelled);
    assert!(result(&a, "c2").starts_with("not run: stopped after 2 steps"));
    let t = &a.turns()[0];
    assert!(
        matches!(&t.state, TurnState::Failed(why) if why.starts_with("stopped after 2 steps")),
        "{:?}",
        t.state
    );
    let b = a.banner().expect("a notice");
    assert_eq!(b.level, Level::Warning);
    assert!(b.text.contains("--max-steps 2"), "{}", b.text);
    assert_eq!(a.phase(), Phase::Idle);
    // The next message goes as usual.
    assert!(generate(&send(&mut a, "next")).is_some());
}

#[test]
fn esc_while_a_call_runs_stops_it_and_then_the_turn() {
    let mut a = asked();
    a.update(step(1, vec![read("c1", "a"), read("c2", "b")]));
    let fx = a.update(key(KeyCode::Esc));
    assert!(matches!(fx.as_slice(), [Effect::CancelTool]));
    assert_eq!(a.phase(), Phase::Cancelling);
    let fx = a.update(finished("c1", false, "cancelled: stopped by the user"));
    assert!(ran(&fx).is_empty() && generate(&fx).is_none());
    assert_eq!(status(&a, "c1"), CallStatus::Cancelled);
    assert_eq!(status(&a, "c2"), CallStatus::Cancelled);
    assert_eq!(a.turns()[0].state, TurnState::Interrupted);
    assert_eq!(a.phase(), Phase::Idle);
}

#[test]
fn a_queued_message_starts_after_a_tool_turn_ends() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt")]));
    // Typing a message while asked: the keys are the prompt's, not the box's.
    answer(&mut a, 'y');
    a.update(finished("c1", true, "ok"));
    send(&mut a, "next question");
    assert_eq!(a.turns()[1].state, TurnState::Queued);
    let fx = a.update(done(2, StopReason::EndOfTurn));
    assert_eq!(generate(&fx).map(|r| r.id), Some(3));
}

#[test]
fn a_new_conversation_stops_the_running_call_and_forgets_it() {
    let mut a = asked();
    a.update(step(1, vec![read("c1", "a")]));
    let fx = a.update(ctrl('n'));
    assert!(fx.iter().any(|e| matches!(e, Effect::CancelTool)));
    assert!(a.turns().is_empty());
    assert!(a.update(finished("c1", true, "late")).is_empty());
    assert_eq!(a.phase(), Phase::Idle);
}

#[test]
fn enter_on_the_conversation_expands_the_selected_turns_calls() {
    let mut a = asked();
    a.update(step(1, vec![read("c1", "a")]));
    a.update(finished("c1", true, "1\n2\n3\n4\n5\n6"));
    a.update(done(2, StopReason::EndOfTurn));
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Enter));
    assert!(a.ui().expanded.contains(&0));
    a.update(key(KeyCode::Enter));
    assert!(a.ui().expanded.is_empty());
}

#[test]
fn a_call_that_cannot_be_read_runs_nothing_and_the_model_is_told_why() {
    let mut a = asked();
    let unreadable = |id| {
        let Msg::Engine(EngineEvent::Done(mut c)) = done(id, StopReason::EndOfTurn) else {
            unreachable!()
        };
        c.malformed = vec!["the call's JSON ends early".into()];
        Msg::Engine(EngineEvent::Done(c))
    };
    let fx = a.update(unreadable(1));
    assert!(ran(&fx).is_empty());
    let next = generate(&fx).expect("the model writes again").clone();
    let told = next.messages.last().unwrap();
    assert_eq!(told.role, Role::User);
    assert!(
        told.content.contains("the call's JSON ends early"),
        "{}",
        told.content
    );
    let b = a.banner().expect("a notice");
    assert_eq!(b.level, Level::Warning);
    assert!(b.text.contains("it was told"), "{}", b.text);
    assert_eq!(a.turns()[0].state, TurnState::Running);
    // Steps are counted: at --max-steps (10) the turn ends with the notice instead.
    let mut id = next.id;
    for _ in 0..20 {
        let fx = a.update(unreadable(id));
        match generate(&fx).map(|r| r.id) {
            Some(next) => id = next,
            None => break,
        }
    }
    assert_eq!(a.turns()[0].state, TurnState::Done);
    assert_eq!(a.turns()[0].steps.len(), 10);
}

#[test]
fn calls_of_a_step_the_user_stopped_never_run() {
    let mut a = asked();
    // Esc while generating; the step still ends with a call before the engine saw the cancel.
    let fx = a.update(key(KeyCode::Esc));
    assert!(matches!(fx.as_slice(), [Effect::Cancel(1)]));
    let fx = a.update(step(1, vec![read("c1", "a")]));
    assert!(ran(&fx).is_empty() && generate(&fx).is_none());
    assert_eq!(status(&a, "c1"), CallStatus::Cancelled);
    assert_eq!(a.turns()[0].state, TurnState::Interrupted);
    assert_eq!(a.phase(), Phase::Idle);
}

#[test]
fn a_profile_with_tools_turns_them_on_and_says_so() {
    let mut a = loaded();
    let agent = crate::profile::Profile {
        name: "agent".into(),
        tools: vec!["read_file".into()],
        ..crate::profile::Profile::builtin()
    };
    a.update(Msg::ProfileLoaded(Ok(agent)));
    let text = a.banner().map(|b| b.text.clone()).unwrap_or_default();
    assert_eq!(text, "Profile agent applied; tools on (/tools lists them)");
    let fx = send(&mut a, "q");
    let offered = &generate(&fx).unwrap().tools;
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0]["function"]["name"], "read_file");
}

#[test]
fn keys_typed_before_the_prompt_can_be_read_answer_nothing() {
    let mut a = asked();
    let fx = a.update(step(1, vec![write("c1", "a.txt")]));
    assert!(ran(&fx).is_empty());
    // y before the preview came, and right after it: nothing runs, nothing is allowed.
    assert!(ran(&a.update(key(KeyCode::Char('y')))).is_empty());
    let fx = a.update(Msg::ToolPreview {
        id: "c1".into(),
        text: "1 lines".into(),
    });
    let seq = |fx: &[Effect]| {
        fx.iter().find_map(|e| match e {
            Effect::ArmApproval { id, seq } if id == "c1" => Some(*seq),
            _ => None,
        })
    };
    let first = seq(&fx).expect("the quiet moment is asked for once the preview shows");
    assert!(ran(&a.update(key(KeyCode::Char('a')))).is_empty());
    assert!(
        !a.tools.approval.always_allowed("write_file"),
        "a did not count"
    );
    // Typing restarts the moment: the earlier wait no longer arms the prompt.
    let fx = a.update(key(KeyCode::Char('x')));
    let second = seq(&fx).expect("a key asks for a new moment");
    a.update(Msg::ApprovalArmed {
        id: "c1".into(),
        seq: first,
    });
    assert!(
        ran(&a.update(key(KeyCode::Char('y')))).is_empty(),
        "stale arming"
    );
    let third = a.tools.asking.as_ref().unwrap().arm_seq;
    assert!(third > second);
    a.update(Msg::ApprovalArmed {
        id: "c1".into(),
        seq: third,
    });
    assert_eq!(ran(&a.update(key(KeyCode::Char('y')))), ["c1"]);
}

#[test]
fn a_burst_of_typing_during_the_prompt_answers_nothing() {
    let mut a = asked();
    a.update(step(1, vec![write("c1", "a.txt")]));
    arm(&mut a);
    // "say hi" typed fast arrives as one message: its `a` and `y` are typing, not answers.
    let fx = a.update(Msg::Typed("say hi".into()));
    assert!(ran(&fx).is_empty());
    assert!(!a.tools.approval.always_allowed("write_file"));
    assert!(
        !a.tools.asking.as_ref().unwrap().armed,
        "typing holds the prompt"
    );
    assert_eq!(status(&a, "c1"), CallStatus::Asking);
}
