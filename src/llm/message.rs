//! Chat messages: what every backend is asked to continue.

use crate::tools::ToolCall;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering one of the assistant's calls (Llama 3.1's templates call
    /// this role `ipython`).
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// An assistant's calls: what the step asked to run (its `content` is the text it wrote,
    /// calls included, as the model wrote them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// A tool result's call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// A tool result's tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }

    /// An assistant's step that called tools.
    pub fn calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        ChatMessage {
            tool_calls: calls,
            ..ChatMessage::new(Role::Assistant, content)
        }
    }

    /// The result of `call`, sent back to the model.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        ChatMessage {
            tool_call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            ..ChatMessage::new(Role::Tool, content)
        }
    }

    /// The message as chat templates and the OpenAI API take it: `{role, content}`; an
    /// assistant's calls as `tool_calls: [{id, type: "function", function: {name,
    /// arguments}}]`, the arguments a JSON text for the API (`arguments_as_text`) or an object
    /// for templates; a result with its `tool_call_id` and `name`, its text unable to spell a
    /// chat control token ([`crate::tools::result::defang`]).
    pub fn json(&self, arguments_as_text: bool) -> serde_json::Value {
        use serde_json::json;
        let content = match self.role {
            Role::Tool => crate::tools::result::defang(&self.content),
            _ => self.content.clone(),
        };
        let mut v = json!({"role": self.role.as_str(), "content": content});
        if !self.tool_calls.is_empty() {
            v["tool_calls"] = self
                .tool_calls
                .iter()
                .map(|c| {
                    let arguments = match arguments_as_text {
                        true => json!(c.arguments_json()),
                        false => serde_json::Value::Object(c.arguments.clone()),
                    };
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": arguments}})
                })
                .collect();
        }
        if let Some(id) = &self.tool_call_id {
            v["tool_call_id"] = json!(id);
        }
        if let Some(name) = &self.name {
            v["name"] = json!(name);
        }
        v
    }

    /// Whether this message is part of a tool exchange (a call or a result): a prompt with one
    /// needs a template that knows tools.
    pub fn is_tool_step(&self) -> bool {
        self.role == Role::Tool || !self.tool_calls.is_empty()
    }
}

/// Removes the oldest user message and the replies that follow it, if an older turn than the
/// current (last) user message exists: how every backend makes a long conversation fit.
pub fn drop_oldest_turn(messages: &mut Vec<ChatMessage>) -> bool {
    let is_user = |m: &ChatMessage| m.role == Role::User;
    let Some(first) = messages.iter().position(is_user) else {
        return false;
    };
    let Some(next) = messages[first + 1..]
        .iter()
        .position(is_user)
        .map(|i| first + 1 + i)
    else {
        return false;
    };
    messages.drain(first..next);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(m: &[ChatMessage]) -> String {
        m.iter()
            .map(|m| &m.content[..])
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn the_oldest_turn_goes_first_and_the_system_prompt_and_current_message_stay() {
        let msg = |r, c: &str| ChatMessage::new(r, c);
        let mut m = vec![
            msg(Role::System, "sys"),
            msg(Role::User, "u1"),
            msg(Role::Assistant, "a1"),
            msg(Role::User, "u2"),
            msg(Role::Assistant, "a2"),
            msg(Role::User, "u3"),
        ];
        assert!(drop_oldest_turn(&mut m));
        assert_eq!(roles(&m), "sys,u2,a2,u3");
        assert!(drop_oldest_turn(&mut m));
        assert_eq!(roles(&m), "sys,u3");
        assert!(
            !drop_oldest_turn(&mut m),
            "the current message is never dropped"
        );
        assert_eq!(roles(&m), "sys,u3");
    }
}
