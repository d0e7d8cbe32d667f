//! What the app is doing, for the status bar: loading, waiting, processing the prompt,
//! thinking, reflecting, answering, or idle. Derived from the state, never stored.

use crate::conversation::{Conversation, Turn};
use crate::stream::Channel;
use crate::tools::{CallRecord, CallStatus};

/// Whether the model is loading, ready or failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// Progress from 0.0 to 1.0.
    Loading(f32),
    Ready,
    /// The engine could not load the model; the text says why.
    Failed(String),
}

/// The status bar's phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Phase {
    /// Loading the model (0.0 to 1.0).
    Loading(f32),
    LoadFailed,
    /// A message waits: sent while loading, or the engine is gone.
    Queued,
    /// The prompt is being decoded (until the first text): the percentage decoded, when the
    /// engine reports it.
    Prompt(Option<u8>),
    Thinking,
    Reflecting,
    Answering,
    /// A tool call waits for the user's approval.
    Asking,
    /// A tool call runs.
    Tool,
    /// Cancel requested; waiting for the engine to stop.
    Cancelling,
    Idle,
}

impl Phase {
    /// Lower-case words for the status bar.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Loading(_) => "loading",
            Phase::LoadFailed => "model not loaded",
            Phase::Queued => "queued",
            Phase::Prompt(_) => "reading the prompt",
            Phase::Thinking => "thinking",
            Phase::Reflecting => "reflecting",
            Phase::Answering => "answering",
            Phase::Asking => "waiting for your approval",
            Phase::Tool => "running a tool",
            Phase::Cancelling => "cancelling",
            Phase::Idle => "idle",
        }
    }
}

/// The phase of a running turn.
pub fn of_turn(turn: &Turn) -> Phase {
    if turn.cancel_requested {
        return Phase::Cancelling;
    }
    // Between two steps: the call asked about, or the one running.
    if let Some(call) = current_call(turn) {
        return match call.status {
            CallStatus::Asking => Phase::Asking,
            _ => Phase::Tool,
        };
    }
    match turn.channel {
        None => Phase::Prompt(
            turn.prompt_progress
                .filter(|_| turn.prompt_tokens.is_none())
                .map(|(done, total)| {
                    (u64::from(done) * 100 / u64::from(total.max(1))).min(100) as u8
                }),
        ),
        Some(Channel::Thinking) => Phase::Thinking,
        Some(Channel::Reflection) => Phase::Reflecting,
        Some(Channel::Output) => Phase::Answering,
    }
}

/// The call a running turn is at between two steps: the first one not over (calls are
/// handled in order).
pub fn current_call(turn: &Turn) -> Option<&CallRecord> {
    if !turn.is_running() {
        return None;
    }
    turn.calls.iter().find(|c| !c.status.is_final())
}

/// The phase of the whole app.
pub fn phase(load: &Load, conv: &Conversation) -> Phase {
    if let Some(i) = conv.running() {
        return of_turn(&conv.turns[i]);
    }
    match load {
        Load::Loading(p) => Phase::Loading(*p),
        Load::Failed(_) => Phase::LoadFailed,
        Load::Ready if conv.queued() > 0 => Phase::Queued,
        Load::Ready => Phase::Idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::TurnState;

    #[test]
    fn phases_follow_load_and_the_latest_channel() {
        let mut conv = Conversation::default();
        assert_eq!(phase(&Load::Loading(0.5), &conv), Phase::Loading(0.5));
        assert_eq!(phase(&Load::Ready, &conv), Phase::Idle);
        assert_eq!(phase(&Load::Failed("x".into()), &conv), Phase::LoadFailed);
        conv.turns.push(Turn::queued("q"));
        assert_eq!(phase(&Load::Ready, &conv), Phase::Queued);
        conv.turns[0].state = TurnState::Running;
        assert_eq!(phase(&Load::Ready, &conv), Phase::Prompt(None));
        conv.turns[0].prompt_progress = Some((512, 2048));
        assert_eq!(phase(&Load::Ready, &conv), Phase::Prompt(Some(25)));
        conv.turns[0].prompt_tokens = Some(2100);
        assert_eq!(
            phase(&Load::Ready, &conv),
            Phase::Prompt(None),
            "read: no number"
        );
        let t = &mut conv.turns[0];
        t.push_text(Channel::Thinking, "a");
        assert_eq!(of_turn(t), Phase::Thinking);
        t.reflection_start(1);
        assert_eq!(of_turn(t), Phase::Reflecting);
        t.reflection_end(1);
        assert_eq!(of_turn(t), Phase::Thinking);
        t.push_text(Channel::Output, "b");
        assert_eq!(of_turn(t), Phase::Answering);
        t.cancel_requested = true;
        assert_eq!(of_turn(t), Phase::Cancelling);
    }
}
