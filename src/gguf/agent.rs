//! Scripted models that call tools: every tool-call test in the project (the engine, pipe mode,
//! the chat, the endpoint through llama-server `--jinja`) runs one of these.
//!
//! [`model`] gives a [`ScriptedModel`] for a call [`Format`] and a [`Script`]. Each model carries
//! a template that takes tools (its family's bundled template, [`template`]) and that ends a
//! prompt whose last message is a tool result with the special token [`AFTER_TOOL`]: that token
//! leads to the model's second script, so that step 2 (after the result) differs from step 1.
//!
//! Step 1 writes Reflection-70B's tags as special tokens. A bigram chain cannot use a token
//! twice, so step 2 writes the same tags as plain text inside its pieces (the router reads tags
//! in text too): `<thinking>\nThe tool answered.` and so on.

use super::{ChatTokens, ScriptItem, ScriptedModel, TemplateStyle};
use crate::jinja::Family;
use serde_json::Value;
use std::collections::HashSet;

/// The special token a model's template writes after the generation prompt when the last
/// message is a tool result: it leads to the second script.
pub const AFTER_TOOL: &str = "<|after_tool|>";

/// What every [`Script::Answer`] model says after a tool result.
pub const ANSWER: &str = "The file says hello.";

/// What a [`Script::InThinking`] model answers (it never calls).
pub const PLAIN_ANSWER: &str = "I know the notes without reading them.";

/// The thinking of step 1.
pub const THINKING: &str = "\nI should read the file first.";

/// How the model writes its calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Llama 3.1: the answer is `{"name": …, "parameters": {…}}` (Llama 3 vocabulary).
    Llama3Json,
    /// Llama 3.1: `<|python_tag|>{…}` ending with `<|eom_id|>` instead of `<|eot_id|>`, the
    /// answer left open (`</output>` never comes).
    Llama3PythonTag,
    /// Hermes / Qwen (ChatML vocabulary): `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`.
    Hermes,
    /// Mistral: `[TOOL_CALLS][{"name": …, "arguments": …}]` (`[TOOL_CALLS]` a control token).
    Mistral,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Llama3Json,
        Format::Llama3PythonTag,
        Format::Hermes,
        Format::Mistral,
    ];

    /// The family whose template the model carries.
    pub fn family(self) -> Family {
        match self {
            Format::Llama3Json | Format::Llama3PythonTag => Family::Llama3,
            Format::Hermes => Family::Hermes,
            Format::Mistral => Family::Mistral,
        }
    }
}

/// One call: a tool and its arguments (a JSON object).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: String,
    pub arguments: Value,
}

impl Call {
    pub fn new(name: &str, arguments: Value) -> Call {
        Call {
            name: name.to_string(),
            arguments,
        }
    }

    /// `read_file` of `path`.
    pub fn read_file(path: &str) -> Call {
        Call::new("read_file", serde_json::json!({ "path": path }))
    }

    /// The call as `format` writes it, markers included (what the answer channel carries).
    pub fn text(&self, format: Format) -> String {
        let args = self.arguments.to_string();
        let name = &self.name;
        match format {
            Format::Llama3Json => format!(r#"{{"name": "{name}", "parameters": {args}}}"#),
            Format::Llama3PythonTag => {
                format!(r#"<|python_tag|>{{"name": "{name}", "parameters": {args}}}"#)
            }
            Format::Hermes => {
                format!(
                    "<tool_call>\n{{\"name\": \"{name}\", \"arguments\": {args}}}\n</tool_call>"
                )
            }
            Format::Mistral => {
                format!(r#"[TOOL_CALLS][{{"name": "{name}", "arguments": {args}}}]"#)
            }
        }
    }
}

/// What the model does.
#[derive(Clone, Debug, PartialEq)]
pub enum Script {
    /// Step 1 thinks, then calls in its answer; after a tool result it thinks again and
    /// answers [`ANSWER`].
    Answer(Call),
    /// The call is written inside the thinking (it must never run); the answer is
    /// [`PLAIN_ANSWER`].
    InThinking(Call),
    /// Step 1 calls; after a tool result it calls again (other tokens, the same call), forever.
    Runaway(Call),
}

/// The model for `format` and `script`.
pub fn model(format: Format, script: Script) -> ScriptedModel {
    let mut used: HashSet<String> = ["<thinking>", "</thinking>", "<output>", "</output>"]
        .into_iter()
        .map(String::from)
        .collect();
    let (items, second) = match &script {
        Script::Answer(call) => (calling(format, call, &mut used), Some(answering(&mut used))),
        Script::InThinking(call) => (thinking_a_call(format, call, &mut used), None),
        Script::Runaway(call) => (
            calling(format, call, &mut used),
            Some(calling_again(format, call, &mut used)),
        ),
    };
    let mut m = ScriptedModel::new(items);
    m.name = format!("reflect-agent-{format:?}").to_lowercase();
    m.chat_tokens = match format {
        Format::Llama3Json | Format::Llama3PythonTag => ChatTokens::Llama3,
        Format::Hermes => ChatTokens::ChatMl,
        Format::Mistral => ChatTokens::Bare,
    };
    // The Mistral prompt ends with "[/INST]" (plain text here): its last byte leads on.
    m.start = if format == Format::Mistral {
        b']'
    } else {
        b'\n'
    };
    m.template = TemplateStyle::Missing;
    m.chat_template = Some(template(format.family()));
    if format == Format::Llama3PythonTag {
        m.end = Some("<|eom_id|>".into());
    }
    m.second = second.map(|items| (AFTER_TOOL.to_string(), items));
    m
}

/// The family's bundled template, with [`AFTER_TOOL`] after the generation prompt of a prompt
/// whose last message is a tool result. The Llama 3 one keeps its
/// `<|start_header_id|>ipython<|end_header_id|>` text, which llama.cpp's chat parser looks for.
pub fn template(family: Family) -> String {
    format!(
        "{}{{%- if messages | length > 0 and messages[-1].role in ['tool', 'ipython'] %}}{{{{- '{AFTER_TOOL}' }}}}{{%- endif %}}",
        family.template()
    )
}

fn s(text: &str) -> ScriptItem {
    ScriptItem::special(text)
}

/// `text` as plain-text pieces unique among `used`.
fn prose(text: &str, used: &mut HashSet<String>, out: &mut Vec<ScriptItem>) {
    super::push_prose(text, used, out);
}

/// The call's tokens: its markers as the vocabulary has them (control tokens for Llama 3's
/// `<|python_tag|>` and Mistral's `[TOOL_CALLS]`), the rest as text.
fn call_items(format: Format, call: &Call, used: &mut HashSet<String>) -> Vec<ScriptItem> {
    let text = call.text(format);
    let mut out = Vec::new();
    let rest = match format {
        Format::Llama3PythonTag => {
            out.push(s("<|python_tag|>"));
            &text["<|python_tag|>".len()..]
        }
        Format::Mistral => {
            out.push(s("[TOOL_CALLS]"));
            &text["[TOOL_CALLS]".len()..]
        }
        Format::Llama3Json | Format::Hermes => &text[..],
    };
    prose(rest, used, &mut out);
    out
}

/// Step 1: thinks, then the call is the answer.
fn calling(format: Format, call: &Call, used: &mut HashSet<String>) -> Vec<ScriptItem> {
    let mut items = vec![s("<thinking>")];
    prose(THINKING, used, &mut items);
    items.extend([s("</thinking>"), s("<output>")]);
    items.extend(call_items(format, call, used));
    // A python_tag call waits for its result: `<|eom_id|>` ends it, inside the answer.
    if format != Format::Llama3PythonTag {
        items.push(s("</output>"));
    }
    items
}

/// A call inside the thinking, then a plain answer.
fn thinking_a_call(format: Format, call: &Call, used: &mut HashSet<String>) -> Vec<ScriptItem> {
    let mut items = vec![s("<thinking>")];
    prose("\nI could call ", used, &mut items);
    items.extend(call_items(format, call, used));
    prose(" but I need not.", used, &mut items);
    items.extend([s("</thinking>"), s("<output>")]);
    prose(PLAIN_ANSWER, used, &mut items);
    items.push(s("</output>"));
    items
}

/// Step 2: the tags as text (their special tokens are step 1's), then [`ANSWER`].
fn answering(used: &mut HashSet<String>) -> Vec<ScriptItem> {
    let mut items = Vec::new();
    prose(
        &format!("<thinking>\nThe tool answered.</thinking><output>{ANSWER}</output>"),
        used,
        &mut items,
    );
    items
}

/// Step 2 of a runaway: the same call again, in other tokens.
fn calling_again(format: Format, call: &Call, used: &mut HashSet<String>) -> Vec<ScriptItem> {
    let mut items = Vec::new();
    prose(
        "<thinking>\nOnce more.</thinking><output>",
        used,
        &mut items,
    );
    let text = call.text(format);
    // The markers that are control tokens in step 1 cannot come twice: here they are text.
    prose(&text, used, &mut items);
    if format != Format::Llama3PythonTag {
        prose("</output>", used, &mut items);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jinja::{render, takes_tools, Inputs};
    use serde_json::json;

    fn all_scripts() -> Vec<Script> {
        let call = Call::new(
            "edit_file",
            json!({"path": "a.txt", "old": "hello", "new": "bye"}),
        );
        vec![
            Script::Answer(Call::read_file("notes.txt")),
            Script::InThinking(Call::read_file("notes.txt")),
            Script::Runaway(Call::read_file("notes.txt")),
            Script::Answer(call),
        ]
    }

    #[test]
    fn every_preset_writes_a_model_file() {
        let dir = tempfile::tempdir().unwrap();
        for format in Format::ALL {
            for (i, script) in all_scripts().into_iter().enumerate() {
                let path = dir.path().join(format!("{format:?}-{i}.gguf"));
                let m = model(format, script.clone());
                m.write(&path)
                    .unwrap_or_else(|e| panic!("{format:?} {script:?}: {e}"));
                assert!(m.chat_template.as_deref().is_some_and(takes_tools));
            }
        }
    }

    #[test]
    fn the_template_leads_to_the_second_script_only_after_a_tool_result() {
        let user = json!({"role": "user", "content": "What is in notes.txt?"});
        let call = json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "abc123def", "type": "function", "function": {"name": "read_file", "arguments": {"path": "notes.txt"}}}
        ]});
        let result = json!({"role": "tool", "tool_call_id": "abc123def", "name": "read_file", "content": "hello"});
        let tools = [crate::tools::builtin::BUILTINS[0].schema()];
        for family in [Family::Llama3, Family::Hermes, Family::Mistral] {
            let t = template(family);
            let go = |messages: &[Value]| {
                render(
                    &t,
                    &Inputs {
                        messages,
                        tools: Some(&tools),
                        bos_token: "<s>",
                        eos_token: "</s>",
                        date_string: Some("07 Dec 2026".into()),
                    },
                )
                .unwrap()
            };
            let first = go(std::slice::from_ref(&user));
            assert!(!first.contains(AFTER_TOOL), "{family:?}: {first}");
            let second = go(&[user.clone(), call.clone(), result.clone()]);
            assert!(second.ends_with(AFTER_TOOL), "{family:?}: {second}");
        }
        assert!(template(Family::Llama3).contains("<|start_header_id|>ipython<|end_header_id|>"));
    }

    #[test]
    fn the_call_text_is_what_each_format_writes() {
        let c = Call::read_file("notes.txt");
        assert_eq!(
            c.text(Format::Llama3Json),
            r#"{"name": "read_file", "parameters": {"path":"notes.txt"}}"#
        );
        assert_eq!(
            c.text(Format::Mistral),
            r#"[TOOL_CALLS][{"name": "read_file", "arguments": {"path":"notes.txt"}}]"#
        );
        let parsed = crate::tools::parse::parse_all(
            crate::tools::CallFormat::Hermes,
            &c.text(Format::Hermes),
        );
        assert!(
            parsed
                .iter()
                .any(|p| matches!(p, crate::tools::Piece::Calls { calls, .. } if calls[0].name == "read_file")),
            "{parsed:?}"
        );
    }
}
