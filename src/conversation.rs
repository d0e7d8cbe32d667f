//! The conversation, shared by the chat, pipe mode and saved sessions: each turn as the user
//! sent it and as the model answered it, and the one pure function that turns earlier turns
//! into the messages of the next request.

use crate::llm::{ChatMessage, Completion, Role, StopReason, Timings, Usage};
use crate::profile::History;
use crate::stream::{Channel, TagSet};
use crate::tools::{CallRecord, CallStatus, ToolCall};

/// Where a turn stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnState {
    /// Waiting to be sent: the model is still loading, or another turn is running.
    Queued,
    /// Sent; the engine is generating.
    Running,
    /// The engine finished it (any stop reason but cancellation).
    Done,
    /// Cancelled: what was generated so far is kept.
    Interrupted,
    /// The engine reported an error, or the turn could not be sent; the text says why.
    Failed(String),
}

/// A piece of the thinking flow: text, or the place where a reflection happened. Saved
/// sessions spell it `{"text": "…"}` / `{"reflection": n}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingPart {
    Text(String),
    /// Reflection `n` (1-based) started here.
    Reflection(usize),
    /// The thinking was extended here for the `n`th time (`--min-think`).
    Extended(u32),
    /// The end of thinking was forced here (the budget ran out, or the user asked).
    Forced(crate::llm::ForcedBy),
}

/// One reflection of a turn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reflection {
    /// 1-based, as the router numbers them.
    pub n: usize,
    pub text: String,
    /// Still being written.
    pub open: bool,
}

/// One question and its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The generation id; 0 until sent.
    pub id: u64,
    /// As typed.
    pub prompt: String,
    /// As sent ("Think carefully." applied per the setting at send time); empty until sent.
    pub sent: String,
    pub thinking: Vec<ThinkingPart>,
    pub reflections: Vec<Reflection>,
    /// The Output channel.
    pub answer: String,
    pub state: TurnState,
    pub stop_reason: Option<StopReason>,
    pub usage: Option<Usage>,
    pub timings: Option<Timings>,
    /// USD, on an endpoint with prices.
    pub cost: Option<f64>,
    /// From `PromptProcessed`.
    pub prompt_tokens: Option<u32>,
    /// Prompt tokens decoded so far and to decode, while the prompt is read.
    pub prompt_progress: Option<(u32, u32)>,
    /// The seed: for a queued turn, one to use instead of the settings' (`/retry`); once
    /// answered, the one used, when the engine said.
    pub seed: Option<u32>,
    /// The thinking budget: live while generating, then what was spent (when one was watched).
    pub budget: Option<crate::llm::BudgetReport>,
    /// Text events so far: the completion token count until `Done` gives the exact one.
    pub pieces: u32,
    /// The channel of the latest text (or the reflection being written).
    pub channel: Option<Channel>,
    /// The channel to return to when the current reflection ends.
    channel_before_reflection: Option<Channel>,
    /// Esc / Ctrl+C was pressed; waiting for the engine to stop.
    pub cancel_requested: bool,
    /// Everything the model generated, tags included, as it wrote it: set when the turn ends
    /// with every block it opened closed (what a full history sends back), empty otherwise.
    pub raw: String,
    /// The model that answered, once known (a saved session records it per turn).
    pub model: Option<AnsweredBy>,
    /// The tool steps before the answer, as sent back to the model: each step's assistant
    /// message with its calls, then the calls' results (empty when no tool was called).
    pub exchange: Vec<ChatMessage>,
    /// Every call of the turn and what became of it, in order.
    pub calls: Vec<CallRecord>,
    /// Each step's usage, one generation each, when the turn called tools (`usage` is then
    /// their sum, with the last step's prompt).
    pub steps: Vec<Usage>,
}

/// Which model answered a turn: its name, and the file or the server it ran on. Saved
/// sessions spell it `{"name": …, "path": …}` or `{"name": …, "endpoint": …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnsweredBy {
    /// The model's name (from the GGUF file, or the id the server answered as).
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
    /// An endpoint's config name or its URL (never a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl AnsweredBy {
    /// Nothing known.
    pub fn is_unknown(&self) -> bool {
        self.name.is_empty() && self.path.is_none() && self.endpoint.is_none()
    }
}

impl std::fmt::Display for AnsweredBy {
    /// `name (path)`, `name on endpoint`, or what is known of them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.name.is_empty() {
            "a model"
        } else {
            &self.name
        };
        match (&self.path, &self.endpoint) {
            (Some(p), _) if self.name.is_empty() => write!(f, "{}", p.display()),
            (Some(p), _) => write!(f, "{name} ({})", p.display()),
            (None, Some(e)) => write!(f, "{name} on {e}"),
            (None, None) => write!(f, "{name}"),
        }
    }
}

impl Turn {
    /// A turn waiting to be sent.
    pub fn queued(prompt: impl Into<String>) -> Turn {
        Turn {
            id: 0,
            prompt: prompt.into(),
            sent: String::new(),
            thinking: Vec::new(),
            reflections: Vec::new(),
            answer: String::new(),
            state: TurnState::Queued,
            stop_reason: None,
            usage: None,
            timings: None,
            cost: None,
            prompt_tokens: None,
            prompt_progress: None,
            seed: None,
            budget: None,
            pieces: 0,
            channel: None,
            channel_before_reflection: None,
            cancel_requested: false,
            raw: String::new(),
            model: None,
            exchange: Vec::new(),
            calls: Vec::new(),
            steps: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == TurnState::Running
    }

    pub fn is_queued(&self) -> bool {
        self.state == TurnState::Queued
    }

    pub fn interrupted(&self) -> bool {
        self.state == TurnState::Interrupted
    }

    /// Appends routed text to its channel.
    pub fn push_text(&mut self, channel: Channel, text: &str) {
        self.pieces = self.pieces.saturating_add(1);
        self.channel = Some(channel);
        match channel {
            Channel::Output => self.answer.push_str(text),
            Channel::Thinking => match self.thinking.last_mut() {
                Some(ThinkingPart::Text(t)) => t.push_str(text),
                _ => self.thinking.push(ThinkingPart::Text(text.to_string())),
            },
            Channel::Reflection => {
                if self.reflections.is_empty() {
                    self.reflection_start(1);
                    self.channel = Some(Channel::Reflection);
                }
                if let Some(r) = self.reflections.last_mut() {
                    r.text.push_str(text);
                }
            }
        }
    }

    /// The thinking budget moved: the live figures, and a marker in the thinking flow for what
    /// was done (an extension, a forced end).
    pub fn budget(
        &mut self,
        report: &crate::llm::BudgetReport,
        step: Option<crate::llm::BudgetStep>,
    ) {
        self.budget = Some(report.clone());
        match step {
            Some(crate::llm::BudgetStep::Extended(n)) => {
                self.thinking.push(ThinkingPart::Extended(n))
            }
            Some(crate::llm::BudgetStep::Forced(by)) => {
                self.thinking.push(ThinkingPart::Forced(by))
            }
            None => {}
        }
    }

    /// Reflection `n` opened: a marker in the thinking flow and a new numbered reflection.
    pub fn reflection_start(&mut self, n: usize) {
        self.channel_before_reflection = self.channel;
        self.channel = Some(Channel::Reflection);
        self.thinking.push(ThinkingPart::Reflection(n));
        self.reflections.push(Reflection {
            n,
            text: String::new(),
            open: true,
        });
    }

    pub fn reflection_end(&mut self, n: usize) {
        if let Some(r) = self.reflections.iter_mut().rev().find(|r| r.n == n) {
            r.open = false;
        }
        if self.channel == Some(Channel::Reflection) {
            self.channel = self.channel_before_reflection.take();
        }
    }

    /// The thinking text without reflection markers.
    pub fn thinking_text(&self) -> String {
        thinking_text(&self.thinking)
    }

    /// The engine finished this turn: interrupted when cancelled (or its server's stream was
    /// cut), else done, with its stats.
    pub fn finish(&mut self, done: &Completion) {
        self.state = if matches!(
            done.stop_reason,
            StopReason::Cancelled | StopReason::StreamCut
        ) {
            TurnState::Interrupted
        } else {
            TurnState::Done
        };
        self.stop_reason = Some(done.stop_reason);
        self.usage = Some(done.usage);
        self.timings = Some(done.timings);
        self.cost = done.cost;
        if done.seed.is_some() {
            self.seed = done.seed;
        }
        if done.budget.is_some() {
            self.budget.clone_from(&done.budget);
        }
        if done.summary.open_blocks.is_empty() {
            self.raw.clone_from(&done.text);
        } else {
            self.raw.clear();
        }
        self.cancel_requested = false;
    }

    /// A step of a tool turn ended. With calls (and not cancelled) the turn goes on: the step's
    /// message and its calls are kept, and the calls are returned, to be decided and run, their
    /// results added with [`Turn::call_result`]. Otherwise the turn is finished as
    /// [`Turn::finish`] does, its usage the sum of its steps.
    pub fn step_done(&mut self, done: &Completion) -> Vec<ToolCall> {
        let cut = matches!(
            done.stop_reason,
            StopReason::Cancelled | StopReason::StreamCut
        );
        if done.calls.is_empty() || cut {
            if !self.steps.is_empty() {
                self.steps.push(done.usage);
                let mut total = sum_usage(&self.steps);
                total.prompt_tokens = done.usage.prompt_tokens;
                self.finish(done);
                self.usage = Some(total);
            } else {
                self.finish(done);
            }
            return Vec::new();
        }
        self.steps.push(done.usage);
        let step = self.steps.len() as u32;
        self.exchange
            .push(ChatMessage::calls(done.text.clone(), done.calls.clone()));
        for call in &done.calls {
            self.calls.push(CallRecord::new(call.clone(), step));
        }
        done.calls.clone()
    }

    /// A step whose only calls could not be read (`Completion::malformed`), not cut short: the
    /// model is told why, in a message after its own, so that the turn can go on (a step of its
    /// own, counted like a call's).
    pub fn retry_unreadable(&mut self, done: &Completion) {
        self.steps.push(done.usage);
        self.exchange
            .push(ChatMessage::new(Role::Assistant, done.text.clone()));
        self.exchange.push(ChatMessage::new(
            Role::User,
            format!(
                "Your tool call could not be read, so nothing ran: {}. Write the call again \
                 exactly in the format the tools were given in, or answer without it.",
                done.malformed.join("; ")
            ),
        ));
    }

    /// The outcome of the call with this id: its record is updated and, once final, its result
    /// goes into the exchange for the next step.
    pub fn call_result(&mut self, id: &str, status: CallStatus, result: &str, elapsed_ms: u64) {
        let Some(rec) = self.calls.iter_mut().rev().find(|r| r.call.id == id) else {
            return;
        };
        rec.status = status;
        rec.result = result.to_string();
        rec.elapsed_ms = elapsed_ms;
        if status.is_final() {
            let msg = ChatMessage::tool_result(&rec.call, result);
            self.exchange.push(msg);
        }
    }

    /// Every call not over yet (asked about, running) is cancelled with `why` as its result:
    /// a turn saved as reflect stops, or read back from such a file, never leaves a call
    /// without a result (the next request could not be sent).
    pub fn close_open_calls(&mut self, why: &str) {
        let open: Vec<(String, u64)> = self
            .calls
            .iter()
            .filter(|r| !r.status.is_final())
            .map(|r| (r.call.id.clone(), r.elapsed_ms))
            .collect();
        for (id, ms) in open {
            self.call_result(&id, CallStatus::Cancelled, why, ms);
        }
        if self.usage.is_none() && !self.steps.is_empty() {
            self.usage = Some(sum_usage(&self.steps));
        }
    }

    /// The model finished writing: it ended its turn or closed its answer with every block
    /// closed (else `raw` is empty), so its text can be shown again as it was written.
    fn complete(&self) -> bool {
        self.state == TurnState::Done
            && matches!(
                self.stop_reason,
                Some(StopReason::EndOfTurn | StopReason::OutputClosed)
            )
            && !self.raw.trim().is_empty()
    }

    /// Context tokens this turn uses: exact after `Done`, else the prompt plus the text events.
    pub fn context_used(&self) -> u32 {
        match self.usage {
            Some(u) => u.prompt_tokens.saturating_add(u.completion_tokens),
            None => self.prompt_tokens.unwrap_or(0).saturating_add(self.pieces),
        }
    }
}

/// The text of a thinking flow without its reflection markers. Where a reflection (or a
/// forced end, or an extension) was taken out between two words, one space keeps them apart
/// ("Let me add. Done.", not "Let me add.Done."); none is added next to whitespace.
pub fn thinking_text(parts: &[ThinkingPart]) -> String {
    let mut out = String::new();
    // A marker was taken out since the last text.
    let mut cut = false;
    for part in parts {
        match part {
            ThinkingPart::Text(t) if t.is_empty() => {}
            ThinkingPart::Text(t) => {
                let glued = out.ends_with(|c: char| !c.is_whitespace())
                    && t.starts_with(|c: char| !c.is_whitespace());
                if cut && glued {
                    out.push(' ');
                }
                cut = false;
                out.push_str(t);
            }
            _ => cut = true,
        }
    }
    out
}

/// All turns of the current conversation, and the next generation id.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub turns: Vec<Turn>,
    /// Ids increase from 1 over the whole session (also across new conversations), so that
    /// late events of a cancelled generation never match a new one.
    pub next_id: u64,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation {
            turns: Vec::new(),
            next_id: 1,
        }
    }
}

impl Conversation {
    /// The index of the turn being generated.
    pub fn running(&self) -> Option<usize> {
        self.turns.iter().rposition(Turn::is_running)
    }

    /// The running turn with generation id `id`.
    pub fn running_mut(&mut self, id: u64) -> Option<&mut Turn> {
        self.turns
            .iter_mut()
            .rev()
            .find(|t| t.id == id && t.is_running())
    }

    pub fn queued(&self) -> usize {
        self.turns.iter().filter(|t| t.is_queued()).count()
    }

    /// The text the last answered turn gave, if any.
    pub fn last_answer(&self) -> Option<&str> {
        self.turns
            .iter()
            .rev()
            .map(|t| t.answer.trim())
            .find(|a| !a.is_empty())
    }
}

/// `<name>\n{body}\n</name>` with the channel's first tag name, or `None` when the channel has
/// no name (its block can only be opened by a special token, which text cannot spell).
pub fn wrap_in_tag(tags: &TagSet, channel: Channel, body: &str) -> Option<String> {
    tags.names(channel)
        .first()
        .map(|name| format!("<{name}>\n{body}\n</{name}>"))
}

/// What the model sees again of an earlier turn, per the history policy; `None` skips the turn
/// (its question too): interrupted or failed turns without an answer, and, with
/// [`History::Answer`], any turn without an answer.
///
/// [`History::Full`] sends a complete turn back exactly as the model wrote it, so that the
/// prompt continues the KV cache token for token (the engine reuses the generated tokens for
/// that text); a turn cut short, or saved before reflect kept the raw text, is rebuilt from
/// its parts with its tags closed.
pub fn assistant_content(turn: &Turn, history: History, tags: &TagSet) -> Option<String> {
    let answer = turn.answer.trim();
    let finished_badly = matches!(turn.state, TurnState::Interrupted | TurnState::Failed(_));
    if answer.is_empty() && (finished_badly || history == History::Answer) {
        return None;
    }
    let output = || wrap_in_tag(tags, Channel::Output, answer).unwrap_or_else(|| answer.into());
    match history {
        History::Answer => Some(output()),
        History::Full if turn.complete() => Some(turn.raw.clone()),
        History::Full => {
            let mut thinking = String::new();
            for part in &turn.thinking {
                let piece = match part {
                    ThinkingPart::Text(t) => t.trim().to_string(),
                    ThinkingPart::Reflection(n) => turn
                        .reflections
                        .iter()
                        .find(|r| r.n == *n)
                        .and_then(|r| wrap_in_tag(tags, Channel::Reflection, r.text.trim()))
                        .unwrap_or_default(),
                    ThinkingPart::Extended(_) | ThinkingPart::Forced(_) => String::new(),
                };
                if piece.is_empty() {
                    continue;
                }
                if !thinking.is_empty() {
                    thinking.push('\n');
                }
                thinking.push_str(&piece);
            }
            let mut out = Vec::new();
            if !thinking.is_empty() {
                out.extend(wrap_in_tag(tags, Channel::Thinking, &thinking));
            }
            if !answer.is_empty() {
                out.push(output());
            }
            Some(out.join("\n"))
        }
    }
}

/// The messages of a new request: the system prompt (when set and not blank), then each
/// earlier turn (the user's message as sent, and what [`assistant_content`] keeps of the
/// answer), then `prompt` (already as it will be sent).
pub fn messages(
    system: Option<&str>,
    history: History,
    tags: &TagSet,
    earlier: &[Turn],
    prompt: &str,
) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
        out.push(ChatMessage::new(Role::System, s));
    }
    for turn in earlier.iter().filter(|t| !t.sent.is_empty()) {
        if let Some(content) = assistant_content(turn, history, tags) {
            out.push(ChatMessage::new(Role::User, turn.sent.clone()));
            out.extend(turn.exchange.iter().cloned());
            out.push(ChatMessage::new(Role::Assistant, content));
        }
    }
    out.push(ChatMessage::new(Role::User, prompt));
    out
}

/// Whether `done` is a step whose only calls could not be read (and that was not cut short):
/// [`Turn::retry_unreadable`] tells the model.
pub fn unreadable_only(done: &Completion) -> bool {
    let cut = matches!(
        done.stop_reason,
        StopReason::Cancelled | StopReason::StreamCut
    );
    !cut && done.calls.is_empty() && !done.malformed.is_empty()
}

/// Usage added up over steps.
pub fn sum_usage(steps: &[Usage]) -> Usage {
    let mut t = Usage::default();
    for u in steps {
        t.prompt_tokens += u.prompt_tokens;
        t.prompt_tokens_evaluated += u.prompt_tokens_evaluated;
        t.completion_tokens += u.completion_tokens;
        t.thinking_tokens += u.thinking_tokens;
        t.reflection_tokens += u.reflection_tokens;
        t.output_tokens += u.output_tokens;
        t.estimated |= u.estimated;
        t.prompt_estimated |= u.prompt_estimated;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(sent: &str, thinking: &str, reflection: &str, answer: &str) -> Turn {
        let mut t = Turn::queued(sent);
        t.sent = sent.into();
        t.state = TurnState::Running;
        t.push_text(Channel::Thinking, thinking);
        if !reflection.is_empty() {
            t.reflection_start(1);
            t.push_text(Channel::Reflection, reflection);
            t.reflection_end(1);
            t.push_text(Channel::Thinking, " after");
        }
        t.push_text(Channel::Output, answer);
        t.state = TurnState::Done;
        t
    }

    fn roles(m: &[ChatMessage]) -> Vec<(Role, &str)> {
        m.iter().map(|m| (m.role, m.content.as_str())).collect()
    }

    #[test]
    fn answer_history_wraps_answers_in_the_output_tag() {
        let earlier = [answered("Q1 Think carefully.", "hmm", "oops", "A1")];
        let m = messages(
            Some("sys"),
            History::Answer,
            &TagSet::default(),
            &earlier,
            "Q2",
        );
        assert_eq!(
            roles(&m),
            [
                (Role::System, "sys"),
                (Role::User, "Q1 Think carefully."),
                (Role::Assistant, "<output>\nA1\n</output>"),
                (Role::User, "Q2"),
            ]
        );
    }

    #[test]
    fn answer_history_without_an_output_tag_is_the_bare_answer() {
        let tags = TagSet {
            thinking: vec!["think".into()],
            reflection: vec![],
            output: vec![],
        };
        let earlier = [answered("Q1", "t", "", "A1")];
        let m = messages(None, History::Answer, &tags, &earlier, "Q2");
        assert_eq!(
            roles(&m),
            [
                (Role::User, "Q1"),
                (Role::Assistant, "A1"),
                (Role::User, "Q2")
            ]
        );
    }

    #[test]
    fn full_history_rebuilds_thinking_reflections_and_output() {
        let earlier = [answered("Q1", "first", "fix", "A1")];
        let m = messages(None, History::Full, &TagSet::think(), &earlier, "Q2");
        assert_eq!(
            m[1].content,
            "<think>\nfirst\n<reflection>\nfix\n</reflection>\nafter\n</think>\n<output>\nA1\n</output>"
        );
    }

    #[test]
    fn full_history_sends_a_complete_turn_as_the_model_wrote_it() {
        let raw = "<thinking>first<reflection>fix</reflection> after</thinking><output>A1</output>";
        let rebuilt = "<thinking>\nfirst\n<reflection>\nfix\n</reflection>\nafter\n</thinking>\n<output>\nA1\n</output>";
        let cases = [
            (TurnState::Done, Some(StopReason::EndOfTurn), raw, raw),
            (TurnState::Done, Some(StopReason::OutputClosed), raw, raw),
            // Cut short: the raw text may end inside a tag; rebuilt with its tags closed.
            (TurnState::Done, Some(StopReason::MaxTokens), raw, rebuilt),
            (TurnState::Done, Some(StopReason::ContextFull), raw, rebuilt),
            (
                TurnState::Interrupted,
                Some(StopReason::Cancelled),
                raw,
                rebuilt,
            ),
            // Saved before the raw text was kept.
            (TurnState::Done, Some(StopReason::EndOfTurn), "", rebuilt),
        ];
        for (state, stop, kept, want) in cases {
            let mut t = answered("Q1", "first", "fix", "A1");
            t.state = state.clone();
            t.stop_reason = stop;
            t.raw = kept.into();
            let m = messages(None, History::Full, &TagSet::default(), &[t.clone()], "Q2");
            assert_eq!(m[1].content, want, "{state:?} {stop:?} raw {kept:?}");
            let m = messages(None, History::Answer, &TagSet::default(), &[t], "Q2");
            assert_eq!(
                m[1].content, "<output>\nA1\n</output>",
                "answer history ignores raw"
            );
        }
    }

    #[test]
    fn a_turn_keeps_its_raw_text_only_when_the_model_closed_every_block() {
        let done = |open_blocks: Vec<Channel>| Completion {
            id: 1,
            stop_reason: StopReason::EndOfTurn,
            summary: crate::stream::Summary {
                open_blocks,
                ..Default::default()
            },
            usage: Usage::default(),
            timings: Timings::default(),
            text: "<thinking>t</thinking><output>A</output>".into(),
            cost: None,
            seed: None,
            budget: None,
            calls: Vec::new(),
            malformed: Vec::new(),
        };
        let mut t = answered("Q", "t", "", "A");
        t.finish(&done(vec![]));
        assert_eq!(t.raw, "<thinking>t</thinking><output>A</output>");
        assert!(t.complete());
        // Ended its turn inside <thinking>: rebuilt with the tag closed when shown again.
        t.finish(&done(vec![Channel::Thinking]));
        assert_eq!(t.raw, "");
        assert!(!t.complete());
        let m = messages(None, History::Full, &TagSet::default(), &[t], "Q2");
        assert_eq!(
            m[1].content,
            "<thinking>\nt\n</thinking>\n<output>\nA\n</output>"
        );
    }

    #[test]
    fn interrupted_or_failed_turns_without_answer_are_skipped() {
        let mut cut = answered("Q1", "thinking only", "", "");
        cut.state = TurnState::Interrupted;
        let mut failed = Turn::queued("Q2");
        failed.sent = "Q2".into();
        failed.state = TurnState::Failed("boom".into());
        let mut partial = answered("Q3", "t", "", "half an answ");
        partial.state = TurnState::Interrupted;
        let earlier = [cut, failed, partial];
        for history in [History::Answer, History::Full] {
            let m = messages(None, history, &TagSet::default(), &earlier, "Q4");
            let users: Vec<&str> = m
                .iter()
                .filter(|m| m.role == Role::User)
                .map(|m| m.content.as_str())
                .collect();
            assert_eq!(users, ["Q3", "Q4"], "{history:?}");
        }
    }

    #[test]
    fn full_history_keeps_a_finished_turn_that_only_thought() {
        let t = answered("Q1", "only thoughts", "", "");
        let m = messages(
            None,
            History::Full,
            &TagSet::default(),
            std::slice::from_ref(&t),
            "Q2",
        );
        assert_eq!(m[1].content, "<thinking>\nonly thoughts\n</thinking>");
        let m = messages(None, History::Answer, &TagSet::default(), &[t], "Q2");
        assert_eq!(m.len(), 1, "no answer: nothing to show again");
    }

    #[test]
    fn blank_system_prompt_and_unsent_turns_are_left_out() {
        let queued = Turn::queued("not yet");
        let m = messages(
            Some("  "),
            History::Answer,
            &TagSet::default(),
            &[queued],
            "Q",
        );
        assert_eq!(roles(&m), [(Role::User, "Q")]);
    }

    #[test]
    fn reflections_are_numbered_and_marked_in_the_thinking_flow() {
        let mut t = Turn::queued("q");
        t.push_text(Channel::Thinking, "a");
        t.reflection_start(1);
        t.push_text(Channel::Reflection, "r1");
        t.reflection_end(1);
        assert_eq!(t.channel, Some(Channel::Thinking));
        t.push_text(Channel::Thinking, "b");
        t.reflection_start(2);
        t.push_text(Channel::Reflection, "r2");
        assert_eq!(
            t.thinking,
            [
                ThinkingPart::Text("a".into()),
                ThinkingPart::Reflection(1),
                ThinkingPart::Text("b".into()),
                ThinkingPart::Reflection(2),
            ]
        );
        let numbered: Vec<(usize, &str, bool)> = t
            .reflections
            .iter()
            .map(|r| (r.n, r.text.as_str(), r.open))
            .collect();
        assert_eq!(numbered, [(1, "r1", false), (2, "r2", true)]);
        assert_eq!(t.thinking_text(), "a b");
        assert_eq!(t.pieces, 4);
    }

    fn text(t: &str) -> ThinkingPart {
        ThinkingPart::Text(t.into())
    }

    #[test]
    fn a_removed_reflection_leaves_one_space_between_words_and_none_beside_whitespace() {
        let r = ThinkingPart::Reflection(1);
        let cases: Vec<(Vec<ThinkingPart>, &str)> = vec![
            (
                vec![text("Let me add."), r.clone(), text("Done.")],
                "Let me add. Done.",
            ),
            (
                vec![text("Let me add. "), r.clone(), text("Done.")],
                "Let me add. Done.",
            ),
            (
                vec![text("Let me add."), r.clone(), text("\n\nDone.")],
                "Let me add.\n\nDone.",
            ),
            (
                vec![text("a"), r.clone(), ThinkingPart::Reflection(2), text("b")],
                "a b",
            ),
            (vec![text("a"), r.clone(), text(""), text("b")], "a b"),
            (vec![r.clone(), text("a")], "a"),
            (vec![text("a"), r.clone()], "a"),
            (vec![text("a"), text("b")], "ab"),
            (
                vec![
                    text("a"),
                    ThinkingPart::Forced(crate::llm::ForcedBy::User),
                    text("b"),
                ],
                "a b",
            ),
            (
                vec![text("a"), ThinkingPart::Extended(1), text("Wait,")],
                "a Wait,",
            ),
        ];
        for (parts, want) in cases {
            assert_eq!(thinking_text(&parts), want, "{parts:?}");
        }
    }

    mod thinking_text_props {
        use super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = ThinkingPart> {
            prop_oneof![
                "[a-z. \n]{0,6}".prop_map(ThinkingPart::Text),
                (1usize..4).prop_map(ThinkingPart::Reflection),
            ]
        }

        fn concat(parts: &[ThinkingPart]) -> String {
            parts
                .iter()
                .filter_map(|p| match p {
                    ThinkingPart::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        }

        fn squeeze(s: &str) -> String {
            s.chars().filter(|c| !c.is_whitespace()).collect()
        }

        proptest! {
            /// Only whitespace is ever added, and at most one space per marker.
            #[test]
            fn only_spaces_are_added_one_per_marker_at_most(parts in prop::collection::vec(part(), 0..12)) {
                let got = thinking_text(&parts);
                let plain = concat(&parts);
                prop_assert_eq!(squeeze(&got), squeeze(&plain));
                let markers = parts.iter().filter(|p| !matches!(p, ThinkingPart::Text(_))).count();
                prop_assert!(got.len() >= plain.len() && got.len() - plain.len() <= markers);
            }

            /// Words on either side of a marker are never glued together.
            #[test]
            fn words_around_markers_stay_apart(words in prop::collection::vec("[a-z.]{1,5}", 1..8)) {
                let parts: Vec<ThinkingPart> = words
                    .iter()
                    .flat_map(|w| [text(w), ThinkingPart::Reflection(1)])
                    .collect();
                let got = thinking_text(&parts);
                prop_assert_eq!(got.split_whitespace().collect::<Vec<_>>(), words);
            }

            /// Text that already has whitespace at the junction is left as it is.
            #[test]
            fn whitespace_already_there_is_kept_as_is(words in prop::collection::vec("[a-z.]{1,5}", 1..8)) {
                let parts: Vec<ThinkingPart> = words
                    .iter()
                    .flat_map(|w| [text(&format!("{w} ")), ThinkingPart::Reflection(1)])
                    .collect();
                prop_assert_eq!(thinking_text(&parts), concat(&parts));
            }
        }
    }
}
