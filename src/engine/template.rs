//! Chat messages and prompt rendering: the model's own template through llama.cpp, or the
//! Llama 3 format when the model has none that llama.cpp recognises.

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

/// The Llama 3 chat format, as llama.cpp's built-in `llama3` template writes it (contents are
/// trimmed; the begin-of-text token is added by the tokenizer), with the assistant header open.
pub fn render_llama3(messages: &[ChatMessage]) -> String {
    let mut s = String::new();
    for m in messages {
        s.push_str("<|start_header_id|>");
        s.push_str(m.role.as_str());
        s.push_str("<|end_header_id|>\n\n");
        s.push_str(m.content.trim());
        s.push_str("<|eot_id|>");
    }
    s.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_format() {
        let msgs = [
            ChatMessage::new(Role::System, "Sys."),
            ChatMessage::new(Role::User, " Hi \n"),
        ];
        assert_eq!(
            render_llama3(&msgs),
            "<|start_header_id|>system<|end_header_id|>\n\nSys.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }
}
