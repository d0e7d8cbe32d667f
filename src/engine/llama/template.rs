//! Template choice and prompt rendering: `--chat-template` when given; else the model's own
//! template when llama.cpp can apply it; else a format chosen from the file itself (llama.cpp's
//! built-ins by name: Gemma's for gemma architectures, Llama 3 when the vocabulary has its
//! header tokens, ChatML when it has `<|im_start|>`, else reflect's plain format). The choice
//! is said to the user, and the format's end-of-turn text is where generation stops when that
//! text is not a single end-of-generation token. Prompts that offer tools (or carry a tool
//! exchange) are rendered by the Jinja template that takes tools (`tool_template`) instead.

use super::tool_template::{tool_source, ToolTemplate};
use crate::llm::{ChatMessage, Role};
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token_type::LlamaTokenAttr;

/// How prompts are rendered for this model.
pub(super) struct Template {
    kind: Kind,
    /// Generation stops where this text appears (the format's end of turn), when it is not
    /// one end-of-generation token.
    pub(super) end_text: Option<String>,
    /// For prompts that offer tools or carry a tool exchange.
    pub(super) tools: ToolTemplate,
}

enum Kind {
    /// A template llama.cpp applies: the model's own, a built-in by name, or a file's.
    Llama(LlamaChatTemplate),
    /// reflect's plain format ([`render_plain`]).
    Plain,
}

/// A chat format chosen without the model's template: a llama.cpp built-in name, or `plain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    Builtin(&'static str),
    Plain,
}

impl Fallback {
    /// For the user: which format, and why.
    pub fn describe(&self) -> String {
        match self {
            Fallback::Builtin("gemma") => {
                "Gemma's format, llama.cpp's gemma: a gemma architecture".into()
            }
            Fallback::Builtin("llama3") => {
                "the Llama 3 format, llama.cpp's llama3: the vocabulary has its header tokens"
                    .into()
            }
            Fallback::Builtin("chatml") => {
                "ChatML, llama.cpp's chatml: the vocabulary has <|im_start|>".into()
            }
            Fallback::Builtin(name) => format!("llama.cpp's {name}"),
            Fallback::Plain => {
                "reflect's plain format (User: …, Assistant: …): the vocabulary has no chat tokens"
                    .into()
            }
        }
    }
}

/// The format for a file with no usable template, from its architecture and whether its
/// vocabulary has a text as one special token (`has_token`). Pure, so that it is tested on
/// every shape.
pub fn fallback_for(architecture: &str, has_token: impl Fn(&str) -> bool) -> Fallback {
    if architecture.starts_with("gemma") {
        Fallback::Builtin("gemma")
    } else if has_token("<|start_header_id|>")
        && has_token("<|end_header_id|>")
        && has_token("<|eot_id|>")
    {
        Fallback::Builtin("llama3")
    } else if has_token("<|im_start|>") {
        Fallback::Builtin("chatml")
    } else {
        Fallback::Plain
    }
}

/// The chat format names `--chat-template` takes: llama.cpp's built-ins, and `plain`.
pub const NAMES: &[&str] = &[
    "llama3",
    "chatml",
    "gemma",
    "llama2",
    "llama2-sys",
    "mistral-v1",
    "mistral-v3",
    "mistral-v3-tekken",
    "mistral-v7",
    "phi3",
    "phi4",
    "falcon3",
    "zephyr",
    "monarch",
    "openchat",
    "vicuna",
    "vicuna-orca",
    "deepseek",
    "deepseek2",
    "deepseek3",
    "command-r",
    "chatglm3",
    "chatglm4",
    "minicpm",
    "exaone3",
    "rwkv-world",
    "granite",
    "gigachat",
    "megrez",
    "yandex",
    "bailing",
    "llama4",
    "smolvlm",
    "plain",
];

/// Whether `text` is one control (or user-defined special) token of the model's vocabulary.
pub(super) fn special_token(
    model: &LlamaModel,
    text: &str,
) -> Option<llama_cpp_2::token::LlamaToken> {
    let vocab = model.vocab();
    match vocab.tokenize(text.as_bytes(), false, true)[..] {
        [t] => {
            let attrs = vocab.attr(t).0;
            (attrs.contains(LlamaTokenAttr::Control) || attrs.contains(LlamaTokenAttr::UserDefined))
                .then_some(t)
        }
        _ => None,
    }
}

fn architecture(model: &LlamaModel) -> String {
    model
        .meta_val_str("general.architecture")
        .unwrap_or_default()
}

impl Template {
    /// The template for `model`: `chosen` (`--chat-template`, a name, `plain` or a file's
    /// text) when given, else the model's own when llama.cpp can apply it, else the fallback;
    /// with a note for the user when it is not the model's own. Fails when `chosen` is not a
    /// template llama.cpp can apply.
    pub(super) fn detect(
        model: &LlamaModel,
        chosen: Option<&str>,
    ) -> Result<(Template, Option<String>), String> {
        let (kind, note) = Self::detect_kind(model, chosen)?;
        let mut t = Template {
            kind,
            end_text: None,
            tools: tool_template(model, chosen),
        };
        t.end_text = t
            .end_of_turn(model)
            .filter(|text| special_token(model, text).is_none_or(|tok| !model.vocab().is_eog(tok)));
        Ok((t, note))
    }

    /// The format for prompts without tools, with a note for the user when it is not the
    /// model's own.
    fn detect_kind(
        model: &LlamaModel,
        chosen: Option<&str>,
    ) -> Result<(Kind, Option<String>), String> {
        let probe = to_llama(&probe());
        if let Some(spec) = chosen {
            let kind = if spec == "plain" {
                Kind::Plain
            } else {
                // A built-in name wins over a file of that name in the current folder.
                let source = if NAMES.contains(&spec) {
                    spec.to_string()
                } else {
                    std::fs::read_to_string(spec).unwrap_or_else(|_| spec.to_string())
                };
                let t = LlamaChatTemplate::new(&source)
                    .map_err(|e| format!("--chat-template {spec}: {e}"))?;
                if model.apply_chat_template(&t, &probe, true).is_err() {
                    return Err(format!(
                        "--chat-template {spec}: not a template llama.cpp recognises; give a built-in name ({}) or a file with one of their Jinja templates",
                        NAMES.join(", ")
                    ));
                }
                Kind::Llama(t)
            };
            return Ok((kind, None));
        }
        let why = match model.chat_template(None) {
            Ok(t) => match model.apply_chat_template(&t, &probe, true) {
                Ok(_) => return Ok((Kind::Llama(t), None)),
                Err(_) => "the model's chat template is not one llama.cpp recognises",
            },
            Err(_) => "the model has no chat template (tokenizer.chat_template)",
        };
        let fallback = fallback_for(&architecture(model), |t| special_token(model, t).is_some());
        let kind = match fallback {
            Fallback::Builtin(name) => match LlamaChatTemplate::new(name) {
                Ok(t) => Kind::Llama(t),
                Err(_) => Kind::Plain,
            },
            Fallback::Plain => Kind::Plain,
        };
        let note = format!(
            "{why}; using {} (--chat-template chooses another)",
            fallback.describe()
        );
        Ok((kind, Some(note)))
    }

    /// The text the format writes after an assistant's message: what is left of a rendered
    /// assistant turn after its content, without the white space.
    fn end_of_turn(&self, model: &LlamaModel) -> Option<String> {
        const MARK: &str = "\u{1}reflect-end\u{1}";
        let messages = [
            ChatMessage::new(Role::User, "u"),
            ChatMessage::new(Role::Assistant, MARK),
        ];
        let rendered = match &self.kind {
            // At the start of a line only: "User:" inside a sentence is not the end of a turn.
            Kind::Plain => return Some(PLAIN_END.to_string()),
            Kind::Llama(t) => model
                .apply_chat_template(t, &to_llama(&messages), false)
                .ok()?,
        };
        let after = &rendered[rendered.find(MARK)? + MARK.len()..];
        let end = after.trim();
        (!end.is_empty()).then(|| end.to_string())
    }

    /// The prompt for `messages` offering `tools`, the assistant's turn open: with tools, or a
    /// tool exchange in the conversation, the Jinja template that takes tools
    /// ([`ToolTemplate`]); else the format as always. Fails when the Jinja template does.
    pub(super) fn render_with_tools(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
    ) -> Result<String, String> {
        if tools.is_empty() && !messages.iter().any(ChatMessage::is_tool_step) {
            return Ok(self.render(model, messages));
        }
        self.tools
            .render(messages, tools, model.vocab().should_add_bos())
    }

    /// The prompt for `messages`, the assistant's turn open.
    pub(super) fn render(&self, model: &LlamaModel, messages: &[ChatMessage]) -> String {
        match &self.kind {
            Kind::Llama(t) => model
                .apply_chat_template(t, &to_llama(messages), true)
                .unwrap_or_else(|_| render_plain(messages)),
            Kind::Plain => render_plain(messages),
        }
    }

    /// The prompt as the model sees it, with the begin-of-text token the tokenizer adds: needs
    /// the vocabulary only.
    pub(super) fn render_with_bos(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
    ) -> Result<String, String> {
        let vocab = model.vocab();
        let mut out = String::new();
        if vocab.should_add_bos() {
            out.push_str(&String::from_utf8_lossy(&vocab.token_to_piece(
                vocab.bos(),
                true,
                None,
            )));
        }
        out.push_str(&self.render_with_tools(model, messages, tools)?);
        Ok(out)
    }
}

/// The template for prompts with tools: `--chat-template`'s file when it takes tools, else the
/// model's own when it does, else the family's; with the vocabulary's begin and end tokens.
fn tool_template(model: &LlamaModel, chosen: Option<&str>) -> ToolTemplate {
    let chosen = chosen.map(|spec| {
        if NAMES.contains(&spec) {
            spec.to_string()
        } else {
            std::fs::read_to_string(spec).unwrap_or_else(|_| spec.to_string())
        }
    });
    let own = model
        .chat_template(None)
        .ok()
        .and_then(|t| t.to_string().ok());
    let source = tool_source(chosen.as_deref(), own.as_deref(), |t| {
        special_token(model, t).is_some()
    });
    let vocab = model.vocab();
    let piece = |t| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
    ToolTemplate::new(source, piece(vocab.bos()), piece(vocab.eos()))
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

/// What ends a turn in the plain format: the next speaker's label on a line of its own.
const PLAIN_END: &str = "\nUser:";

/// reflect's plain format, for models with no chat tokens: the system prompt, then
/// `User: …` and `Assistant: …` paragraphs (contents trimmed), with the assistant's open.
/// Generation stops at a line beginning `User:`.
pub fn render_plain(messages: &[ChatMessage]) -> String {
    let mut s = String::new();
    for m in messages {
        let label = match m.role {
            Role::System => {
                s.push_str(m.content.trim());
                s.push_str("\n\n");
                continue;
            }
            Role::User => "User",
            Role::Assistant => "Assistant",
            Role::Tool => "Tool",
        };
        s.push_str(label);
        s.push_str(": ");
        s.push_str(m.content.trim());
        s.push_str("\n\n");
    }
    s.push_str("Assistant:");
    s
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

    #[test]
    fn plain_format() {
        let msgs = [
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, " 2+2? "),
            ChatMessage::new(Role::Assistant, "4"),
            ChatMessage::new(Role::User, "and 3+3?"),
        ];
        assert_eq!(
            render_plain(&msgs),
            "Be brief.\n\nUser: 2+2?\n\nAssistant: 4\n\nUser: and 3+3?\n\nAssistant:"
        );
    }

    #[test]
    fn the_fallback_follows_the_architecture_and_the_vocabulary() {
        let vocab = |tokens: &'static [&'static str]| move |t: &str| tokens.contains(&t);
        let llama3 = &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"][..];
        let chatml = &["<|im_start|>", "<|im_end|>"][..];
        // (architecture, vocabulary) → format
        for (arch, tokens, want) in [
            ("gemma3", &[][..], Fallback::Builtin("gemma")),
            ("gemma", chatml, Fallback::Builtin("gemma")),
            ("llama", llama3, Fallback::Builtin("llama3")),
            ("qwen2", chatml, Fallback::Builtin("chatml")),
            ("llama", chatml, Fallback::Builtin("chatml")),
            ("llama", &["<|start_header_id|>"][..], Fallback::Plain),
            ("llama", &[][..], Fallback::Plain),
        ] {
            assert_eq!(fallback_for(arch, vocab(tokens)), want, "{arch} {tokens:?}");
        }
    }
}
