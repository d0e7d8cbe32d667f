//! Template detection and prompt rendering: the model's own chat template when llama.cpp can
//! apply it, else the Llama 3 format written here (with a warning for the user).

use crate::llm::{ChatMessage, Role};
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

/// How prompts are rendered for this model.
pub(super) enum Template {
    /// The model's own template, which llama.cpp recognises.
    Model(LlamaChatTemplate),
    /// The Llama 3 format written by reflect.
    Llama3Fallback,
}

impl Template {
    /// Picks the model's template when llama.cpp can apply it; otherwise the fallback, with a
    /// warning for the user.
    pub(super) fn detect(model: &LlamaModel) -> (Template, Option<String>) {
        match model.chat_template(None) {
            Ok(t) => match model.apply_chat_template(&t, &to_llama(&probe()), true) {
                Ok(_) => (Template::Model(t), None),
                Err(_) => (
                    Template::Llama3Fallback,
                    Some("the model's chat template is not one llama.cpp recognises; using the Llama 3 format".into()),
                ),
            },
            Err(_) => (
                Template::Llama3Fallback,
                Some("the model has no chat template (tokenizer.chat_template); using the Llama 3 format".into()),
            ),
        }
    }
}

impl Template {
    /// The prompt for `messages`, the assistant's turn open.
    pub(super) fn render(&self, model: &LlamaModel, messages: &[ChatMessage]) -> String {
        match self {
            Template::Model(t) => model
                .apply_chat_template(t, &to_llama(messages), true)
                .unwrap_or_else(|_| render_llama3(messages)),
            Template::Llama3Fallback => render_llama3(messages),
        }
    }

    /// The prompt as the model sees it, with the begin-of-text token the tokenizer adds: needs
    /// the vocabulary only.
    pub(super) fn render_with_bos(&self, model: &LlamaModel, messages: &[ChatMessage]) -> String {
        let vocab = model.vocab();
        let mut out = String::new();
        if vocab.should_add_bos() {
            out.push_str(&String::from_utf8_lossy(&vocab.token_to_piece(
                vocab.bos(),
                true,
                None,
            )));
        }
        out.push_str(&self.render(model, messages));
        out
    }
}

pub(super) fn to_llama(messages: &[ChatMessage]) -> Vec<LlamaChatMessage> {
    messages
        .iter()
        .filter_map(|m| {
            LlamaChatMessage::new(m.role.as_str().to_string(), m.content.replace('\0', "")).ok()
        })
        .collect()
}

/// A one-message conversation used to check that the model's template renders.
pub(super) fn probe() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(Role::System, "s"),
        ChatMessage::new(Role::User, "u"),
    ]
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
