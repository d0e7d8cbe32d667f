//! Applies what the engine reports: load progress, the model, routed text, reflections, the
//! end of a generation, errors. Events of a generation that is no longer running (cancelled
//! by a new conversation) are ignored.

use super::{App, Level, Load};
use crate::conversation::TurnState;
use crate::llm::{Completion, EngineError, EngineEvent, StopReason};
use crate::term_safe::neutralise;
use crate::tui::msg::Effect;

impl App {
    pub(super) fn on_engine(&mut self, event: EngineEvent) -> Vec<Effect> {
        match event {
            EngineEvent::LoadProgress(p) => {
                if let Load::Loading(_) = self.load {
                    self.load = Load::Loading(if p.is_finite() {
                        p.clamp(0.0, 1.0)
                    } else {
                        0.0
                    });
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::Loaded(info) => {
                self.model = Some(*info);
                self.load = Load::Ready;
                self.dirty = true;
                self.dispatch_next()
            }
            EngineEvent::Warning(w) => {
                self.notify(Level::Warning, neutralise(&w));
                Vec::new()
            }
            EngineEvent::Prompt(_) | EngineEvent::Anomaly { .. } => Vec::new(),
            EngineEvent::Budget { id, report, step } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.budget(&report, step);
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::PromptProgress { id, done, total } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.prompt_progress = Some((done, total));
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::PromptProcessed {
                id, prompt_tokens, ..
            } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.prompt_tokens = Some(prompt_tokens);
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::Text { id, channel, text } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.push_text(channel, &text);
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::ReflectionStart { id, n } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.reflection_start(n);
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::ReflectionEnd { id, n } => {
                if let Some(t) = self.conv.running_mut(id) {
                    t.reflection_end(n);
                    self.dirty = true;
                }
                Vec::new()
            }
            EngineEvent::Done(done) => self.on_done(*done),
            EngineEvent::Error(e) => self.on_error(e),
        }
    }

    fn on_done(&mut self, done: Completion) -> Vec<Effect> {
        if let Some(effects) = self.retry_unreadable(&done) {
            return effects;
        }
        let Some(turn) = self.conv.running_mut(done.id) else {
            return Vec::new();
        };
        // A step that called tools goes on once their results are in.
        let calls = turn.step_done(&done);
        let context = turn.context_used();
        if done.timings.tokens_per_second > 0.0 {
            self.last_speed = Some(done.timings.tokens_per_second);
        }
        self.last_acceptance = done.timings.acceptance();
        self.dirty = true;
        if let Some(problem) = done.malformed.first() {
            // Shown as answer text; said here so that it is not taken for an answer.
            let problem = neutralise(problem);
            self.notify(
                Level::Warning,
                format!(
                    "The model wrote a tool call that could not be read, so nothing ran: {problem}"
                ),
            );
        }
        if !calls.is_empty() {
            return self.on_step_calls(calls);
        }
        match done.stop_reason {
            StopReason::ContextFull => {
                let of = self.model.as_ref().map_or(String::new(), |m| {
                    format!(" ({context} of {} tokens)", m.context_size)
                });
                self.notify(
                    Level::Error,
                    format!("The context is full{of}: the answer was cut short. Ctrl+N starts a new conversation."),
                );
            }
            StopReason::MaxTokens => self.notify(
                Level::Warning,
                "Stopped at max_tokens (/set max_tokens N or none changes it).",
            ),
            StopReason::Cancelled => {}
            StopReason::StreamCut => self.notify(
                Level::Error,
                "The server's stream ended before the answer did; what came is kept (marked interrupted).",
            ),
            _ if done.summary.answer_missing => self.notify(
                Level::Warning,
                "The model gave no answer (it never reached its output).",
            ),
            _ => {}
        }
        let mut effects = vec![Effect::SaveSession];
        effects.extend(self.dispatch_next());
        effects
    }

    pub(super) fn on_error(&mut self, e: EngineError) -> Vec<Effect> {
        // The context size cannot change inside the chat: say what can be done here.
        let text = match &e {
            EngineError::PromptTooLong { prompt_tokens, n_ctx } => format!(
                "the prompt is {prompt_tokens} tokens but the context holds {n_ctx}: shorten the message or start a new conversation (Ctrl+N); a larger context needs a restart with --ctx-size"
            ),
            EngineError::MessageTooLong { at_least, n_ctx, .. } => format!(
                "the message is at least {at_least} tokens but the context holds {n_ctx}: shorten it; a larger context needs a restart with --ctx-size"
            ),
            _ => neutralise(&e.to_string()).into_owned(),
        };
        // A server that cannot be reached (or refuses) before it answered is a failed load.
        let loading = matches!(self.load, Load::Loading(_));
        match e {
            EngineError::Remote { .. } if loading => {
                self.load = Load::Failed(text.clone());
                self.notify(Level::Error, format!("Cannot use the endpoint: {text}"));
                for t in self.conv.turns.iter_mut().filter(|t| t.is_queued()) {
                    t.state = TurnState::Failed("not sent: the endpoint is not usable".into());
                }
                return Vec::new();
            }
            EngineError::Load { .. } | EngineError::Draft { .. } => {
                self.load = Load::Failed(text.clone());
                self.notify(Level::Error, format!("The model did not load: {text}"));
                for t in self.conv.turns.iter_mut().filter(|t| t.is_queued()) {
                    t.state = TurnState::Failed("not sent: the model did not load".into());
                }
                return Vec::new();
            }
            EngineError::Gone => self.engine_gone = true,
            EngineError::PromptTooLong { .. }
            | EngineError::MessageTooLong { .. }
            | EngineError::Decode(_)
            | EngineError::Unsupported(_)
            | EngineError::Remote { .. } => {}
        }
        // Errors other than loading end the running generation (no Done follows).
        let mut effects = Vec::new();
        if let Some(i) = self.conv.running() {
            let turn = &mut self.conv.turns[i];
            turn.state = TurnState::Failed(text.clone());
            turn.cancel_requested = false;
            effects.push(Effect::SaveSession);
        }
        self.notify(Level::Error, text);
        if self.engine_gone {
            for t in self.conv.turns.iter_mut().filter(|t| t.is_queued()) {
                t.state = TurnState::Failed("not sent: the engine stopped".into());
            }
            return effects;
        }
        effects.extend(self.dispatch_next());
        effects
    }
}
