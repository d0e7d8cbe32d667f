//! Chat messages: what every backend is asked to continue.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
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
