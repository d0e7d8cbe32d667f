//! The one way a [`GenerateRequest`] is made: from the run's settings and a conversation (the
//! turns before, the text sent now). Pipe mode, the chat and eval all ask through it.

use super::RunSettings;
use crate::conversation::{self, Turn};
use crate::llm::GenerateRequest;
use crate::prompt;

impl RunSettings {
    /// The text sent for `question` as typed: with "Think carefully." when that is on.
    pub fn to_send(&self, question: &str) -> String {
        prompt::to_send(question, self.think_carefully)
    }

    /// Generation `id` of `sent` (see [`RunSettings::to_send`]) after the `earlier` turns: the
    /// system prompt and what the history setting keeps of them, this run's sampling (with
    /// `seed` over its seed), limits, router and thinking budget.
    pub fn request(
        &self,
        id: u64,
        earlier: &[Turn],
        sent: &str,
        seed: Option<u32>,
    ) -> GenerateRequest {
        let messages = conversation::messages(
            self.system.as_deref(),
            self.history,
            &self.router.tags,
            earlier,
            sent,
        );
        let mut sampling = self.sampling.clone();
        if seed.is_some() {
            sampling.seed = seed;
        }
        let mut req = GenerateRequest {
            id,
            messages,
            sampling,
            max_tokens: self.max_tokens,
            router: self.router.clone(),
            budget: self.budget.clone(),
            tools: Vec::new(),
            raw: false,
        };
        offer_tools(&mut req, self.tools.schemas());
        req
    }

    /// The next step of `current`, a turn that called tools: its request with the step's
    /// calls and their results after the question.
    pub fn request_step(
        &self,
        id: u64,
        earlier: &[Turn],
        current: &Turn,
        seed: Option<u32>,
    ) -> GenerateRequest {
        let mut req = self.request(id, earlier, &current.sent, seed);
        req.messages.extend(current.exchange.iter().cloned());
        req
    }
}

/// Offers `tools` (the OpenAI function shape) in `req`. With tools, every reasoning tag reflect
/// knows is thinking, whatever the profile names: a `<think>` block is never the answer, so a
/// call in it never runs.
pub fn offer_tools(req: &mut GenerateRequest, tools: Vec<serde_json::Value>) {
    if !tools.is_empty() {
        for name in ["thinking", "think"] {
            if !req.router.tags.thinking.iter().any(|n| n == name) {
                req.router.tags.thinking.push(name.to_string());
            }
        }
    }
    req.tools = tools;
}

#[cfg(test)]
mod tests {
    use super::super::{Context, Environment, Overrides, Request};
    use super::*;
    use crate::conversation::TurnState;
    use crate::llm::Role;
    use crate::prompt::REFLECTION_SYSTEM_PROMPT;
    use crate::stream::Channel;

    /// The reflection profile on a model file, with a seed, a token limit and a budget set.
    fn settings() -> RunSettings {
        let asked = Request {
            model: Some("x.gguf".into()),
            overrides: Overrides {
                seed: Some(7),
                max_tokens: Some(Some(100)),
                think_budget: Some(Some(50)),
                ..Overrides::default()
            },
            ..Request::default()
        };
        Context::load(Environment::new(None, []))
            .unwrap()
            .run_settings_with(&asked, || unreachable!(), |_| None)
            .unwrap()
    }

    fn answered(sent: &str, answer: &str) -> Turn {
        let mut t = Turn::queued(sent);
        t.sent = sent.into();
        t.state = TurnState::Running;
        t.push_text(Channel::Thinking, "hmm");
        t.push_text(Channel::Output, answer);
        t.state = TurnState::Done;
        t
    }

    #[test]
    fn the_request_carries_the_settings_and_the_conversation() {
        let s = settings();
        let sent = s.to_send("And 3+3?");
        assert!(sent.starts_with("And 3+3?") && sent.len() > "And 3+3?".len());
        assert_eq!(
            sent,
            prompt::to_send("And 3+3?", true),
            "reflection thinks carefully"
        );
        let earlier = [answered("2+2?", "4")];
        let r = s.request(5, &earlier, &sent, None);
        assert_eq!(r.id, 5);
        let roles: Vec<(Role, &str)> = r
            .messages
            .iter()
            .map(|m| (m.role, m.content.as_str()))
            .collect();
        assert_eq!(roles.len(), 4, "{roles:?}");
        assert_eq!(roles[0], (Role::System, REFLECTION_SYSTEM_PROMPT));
        assert_eq!(roles[1], (Role::User, "2+2?"));
        assert_eq!(roles[2].0, Role::Assistant);
        assert!(roles[2].1.contains('4'), "{roles:?}");
        assert_eq!(roles[3], (Role::User, sent.as_str()));
        assert_eq!(r.sampling.seed, Some(7), "the run's seed");
        assert_eq!(r.sampling, s.sampling);
        assert_eq!(r.max_tokens, Some(100));
        assert_eq!(r.budget.limit, Some(50));
        assert_eq!(format!("{:?}", r.router), format!("{:?}", s.router));
    }

    #[test]
    fn a_seed_of_its_own_wins_over_the_runs() {
        let s = settings();
        let r = s.request(1, &[], "hi", Some(9));
        assert_eq!(r.sampling.seed, Some(9));
        assert_eq!(r.messages.len(), 2, "the system prompt and the question");
        let mut without_seed = s.clone();
        without_seed.sampling.seed = None;
        assert_eq!(without_seed.request(1, &[], "hi", None).sampling.seed, None);
    }

    #[test]
    fn with_tools_every_reasoning_tag_is_thinking_and_without_them_the_profiles_alone() {
        let mut s = settings();
        let names = |s: &RunSettings| s.request(1, &[], "q", None).router.tags.thinking;
        assert_eq!(names(&s), ["thinking"]);
        s.tools.on = true;
        assert_eq!(names(&s), ["thinking", "think"]);
        // A `<think>` block is then thinking, so a call written in it is never read.
        let req = s.request(1, &[], "q", None);
        let events = crate::llm::EventSender::new(|_| true);
        let mut g =
            crate::llm::Generation::new(&req, &events).read_calls(crate::tools::CallFormat::Hermes);
        g.text(r#"<think><tool_call>{"name": "run_command", "arguments": {"command": "x"}}</tool_call></think>fine"#);
        let done = g.finish(
            crate::llm::StopReason::EndOfTurn,
            Default::default(),
            String::new(),
        );
        assert!(done.calls.is_empty(), "{:?}", done.calls);
    }
}
