//! Prompt rendering for llama.cpp: the Llama 3 format, used when the model has no template
//! that llama.cpp recognises.

use crate::llm::ChatMessage;

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
    use crate::llm::Role;

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
