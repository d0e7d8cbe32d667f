//! A client's request made into the engine's [`GenerateRequest`], the way pipe mode and the
//! chat make theirs: the server's settings (profile, flags, the model's defaults) with what the
//! request sets over them, and its messages as the profile wants them (its system prompt when
//! the request has none, "Think carefully." when it says so, earlier answers only when its
//! history keeps only answers).

use super::request::ChatParams;
use crate::conversation::wrap_in_tag;
use crate::llm::{ChatMessage, GenerateRequest, Role};
use crate::profile::History;
use crate::settings::{offer_tools, RunSettings};
use crate::stream::{route_all, Channel, RouterConfig};

/// Generation `id` of `params` under the server's `settings`.
pub fn generate_request(settings: &RunSettings, params: &ChatParams, id: u64) -> GenerateRequest {
    let mut req = settings.request(id, &[], "", params.seed);
    req.messages = messages(settings, &params.messages);
    let s = &mut req.sampling;
    s.temperature = params.temperature.unwrap_or(s.temperature);
    s.top_p = params.top_p.unwrap_or(s.top_p);
    s.top_k = params.top_k.unwrap_or(s.top_k);
    s.min_p = params.min_p.unwrap_or(s.min_p);
    if params.max_tokens.is_some() {
        req.max_tokens = params.max_tokens;
    }
    if params.thinking_budget.is_some() {
        req.budget.limit = params.thinking_budget;
    }
    offer_tools(&mut req, params.tools.clone());
    req.raw = params.raw;
    req
}

/// The request's messages as the profile wants them.
fn messages(settings: &RunSettings, given: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(given.len() + 1);
    let has_system = given.iter().any(|m| m.role == Role::System);
    if let Some(system) = settings.system.as_deref().filter(|s| !s.trim().is_empty()) {
        if !has_system {
            out.push(ChatMessage::new(Role::System, system));
        }
    }
    for m in given {
        let mut m = m.clone();
        match m.role {
            // Every user message as it was sent: earlier ones were sent with the suffix too,
            // so the prompt continues the cache of the turns before.
            Role::User => m.content = settings.to_send(&m.content),
            Role::Assistant if m.tool_calls.is_empty() && settings.history == History::Answer => {
                m.content = answer_only(&settings.router, &m.content)
            }
            _ => {}
        }
        out.push(m);
    }
    out
}

/// An earlier assistant message as the model sees it again under [`History::Answer`]: its
/// answer (the `<output>` section, or all of it when it has no tags, as this server's `content`
/// is), in the output tags.
fn answer_only(router: &RouterConfig, content: &str) -> String {
    let plain = RouterConfig {
        start_in_thinking: false,
        ..router.clone()
    };
    let (collected, _) = route_all(&plain, content);
    let answer = collected.output.trim();
    if answer.is_empty() {
        return content.to_string();
    }
    wrap_in_tag(&router.tags, Channel::Output, answer).unwrap_or_else(|| answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::{REFLECTION_SYSTEM_PROMPT, THINK_CAREFULLY};
    use crate::settings::{Context, Environment, Request};

    fn settings() -> RunSettings {
        let asked = Request {
            model: Some("x.gguf".into()),
            ..Request::default()
        };
        Context::load(Environment::new(None, []))
            .unwrap()
            .run_settings_with(&asked, || unreachable!(), |_| None)
            .unwrap()
    }

    fn params(messages: Vec<ChatMessage>) -> ChatParams {
        ChatParams {
            messages,
            ..ChatParams::default()
        }
    }

    #[test]
    fn the_profile_shapes_the_messages() {
        let s = settings();
        let given = vec![
            ChatMessage::new(Role::User, "2+2?"),
            ChatMessage::new(
                Role::Assistant,
                "<thinking>\nadd\n</thinking>\n<output>\n4\n</output>",
            ),
            ChatMessage::new(Role::User, "And 3+3?"),
        ];
        let req = generate_request(&s, &params(given), 9);
        let got: Vec<(Role, &str)> = req
            .messages
            .iter()
            .map(|m| (m.role, m.content.as_str()))
            .collect();
        let careful = |q: &str| format!("{q} {THINK_CAREFULLY}");
        assert_eq!(
            got,
            [
                (Role::System, REFLECTION_SYSTEM_PROMPT),
                (Role::User, careful("2+2?").as_str()),
                (Role::Assistant, "<output>\n4\n</output>"),
                (Role::User, careful("And 3+3?").as_str()),
            ]
        );
        assert_eq!(req.id, 9);
        // A plain answer (this server's own `content`) is the answer.
        let plain = generate_request(
            &s,
            &params(vec![
                ChatMessage::new(Role::User, "q"),
                ChatMessage::new(Role::Assistant, "4"),
                ChatMessage::new(Role::User, "q2"),
            ]),
            1,
        );
        assert_eq!(plain.messages[2].content, "<output>\n4\n</output>");
    }

    #[test]
    fn with_full_history_earlier_answers_go_back_whole() {
        let mut s = settings();
        s.history = History::Full;
        let whole = "<thinking>\nadd\n</thinking>\n<output>\n4\n</output>";
        let req = generate_request(
            &s,
            &params(vec![
                ChatMessage::new(Role::User, "2+2?"),
                ChatMessage::new(Role::Assistant, whole),
                ChatMessage::new(Role::User, "more"),
            ]),
            1,
        );
        assert_eq!(req.messages[2].content, whole);
    }

    #[test]
    fn a_system_message_of_the_requests_replaces_the_profiles() {
        let s = settings();
        let req = generate_request(
            &s,
            &params(vec![
                ChatMessage::new(Role::System, "Be brief."),
                ChatMessage::new(Role::User, "hi"),
            ]),
            1,
        );
        assert_eq!(req.messages.len(), 2);
        assert_eq!(req.messages[0].content, "Be brief.");
    }

    #[test]
    fn the_requests_sampling_limits_and_tools_win_over_the_servers() {
        let s = settings();
        let tool = serde_json::json!({"type": "function", "function": {"name": "f"}});
        let p = ChatParams {
            temperature: Some(0.0),
            top_p: Some(0.5),
            top_k: Some(3),
            min_p: Some(0.2),
            seed: Some(11),
            max_tokens: Some(12),
            thinking_budget: Some(5),
            tools: vec![tool.clone()],
            ..params(vec![ChatMessage::new(Role::User, "hi")])
        };
        let req = generate_request(&s, &p, 1);
        let sm = &req.sampling;
        assert_eq!(
            (sm.temperature, sm.top_p, sm.top_k, sm.min_p, sm.seed),
            (0.0, 0.5, 3, 0.2, Some(11))
        );
        assert_eq!(req.max_tokens, Some(12));
        assert_eq!(req.budget.limit, Some(5));
        assert_eq!(req.tools, vec![tool]);
        assert!(req.router.tags.thinking.contains(&"think".to_string()));
        // Unset: the server's own.
        let plain = generate_request(&s, &params(vec![ChatMessage::new(Role::User, "hi")]), 2);
        assert_eq!(plain.sampling, s.sampling);
        assert_eq!(plain.max_tokens, s.max_tokens);
        assert!(plain.tools.is_empty());
    }
}
