//! Renders a chat template written in Jinja, as transformers and llama.cpp do: the model's own
//! `tokenizer.chat_template`, or a bundled family template ([`Family`]) when the model's own
//! cannot take tools. Used for prompts that offer tools; prompts without tools keep llama.cpp's
//! rendering.

mod date;
mod json;

use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, Error, ErrorKind};

/// A tool-call format family, with its documented template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Llama3,
    Hermes,
    Mistral,
}

impl Family {
    /// The family's bundled template (family/README.md says where each comes from).
    pub fn template(self) -> &'static str {
        match self {
            Family::Llama3 => include_str!("family/llama3.jinja"),
            Family::Hermes => include_str!("family/hermes.jinja"),
            Family::Mistral => include_str!("family/mistral.jinja"),
        }
    }
}

/// Whether a template reads the tool list at all: one that does not would drop the tools.
pub fn takes_tools(source: &str) -> bool {
    source.contains("tools")
}

/// What a render needs besides the template.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The conversation, as transformers takes it: `{"role", "content"}` objects, assistant
    /// messages with `tool_calls`, results with role `tool` (and `tool_call_id`, `name`).
    pub messages: &'a [serde_json::Value],
    /// The tools, in the OpenAI function shape; `None` leaves `tools` undefined.
    pub tools: Option<&'a [serde_json::Value]>,
    pub bos_token: &'a str,
    pub eos_token: &'a str,
    /// Today, as templates print it ("06 Dec 2026"); `None`: the clock's.
    pub date_string: Option<String>,
}

/// Renders `source` with the assistant's turn open. Errors name the template's problem (a
/// `raise_exception` message, a syntax error and its line).
pub fn render(source: &str, inputs: &Inputs<'_>) -> Result<String, String> {
    let env = environment();
    let template = env
        .template_from_str(source)
        .map_err(|e| format!("the chat template does not parse: {}", describe(&e)))?;
    // Without tools, `tools` is left undefined (minijinja counts `none` as iterable, which
    // templates testing `tools is iterable` would trip on).
    let tools = inputs.tools.map(|t| Value::from(Serde(t)));
    let ctx = minijinja::context! {
        messages => Value::from(Serde(inputs.messages)),
        add_generation_prompt => true,
        bos_token => inputs.bos_token,
        eos_token => inputs.eos_token,
        date_string => inputs.date_string.clone().unwrap_or_else(date::today),
        // As llama.cpp renders Llama 3.x: the tools in the system message, since in the user
        // message they made one client call a tool on every turn.
        tools_in_user_message => false,
    };
    let ctx = match tools {
        Some(tools) => minijinja::context! { tools, ..ctx },
        None => ctx,
    };
    template
        .render(ctx)
        .map_err(|e| format!("the chat template failed: {}", describe(&e)))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    // transformers renders with trim_blocks and lstrip_blocks on.
    syntax.trim_blocks(true).lstrip_blocks(true);
    if let Ok(s) = syntax.build() {
        env.set_syntax(s);
    }
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_filter("tojson", tojson);
    env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, msg))
    });
    env.add_function("strftime_now", |format: String| date::strftime_now(&format));
    env
}

/// `tojson` as transformers writes it (Python's `json.dumps`, `ensure_ascii=False` unless the
/// template says otherwise): `", "` and `": "` between items unless `separators` says otherwise,
/// `indent=N` for pretty output, keys in their order unless `sort_keys`, and no HTML escaping
/// (minijinja's own escapes `<`, which would change what the model reads).
fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let mut style = json::Style {
        indent: kwargs.get("indent")?,
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ..json::Style::default()
    };
    if let Some(seps) = kwargs.get::<Option<Value>>("separators")? {
        let pair: Vec<Value> = seps.try_iter()?.collect();
        match (
            pair.first().and_then(Value::as_str),
            pair.get(1).and_then(Value::as_str),
        ) {
            (Some(item), Some(key)) if pair.len() == 2 => {
                style.item = item.to_string();
                style.key = key.to_string();
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson: separators must be two strings, e.g. (',', ': ')",
                ))
            }
        }
    } else if style.indent.is_some() {
        // Python: with an indent, the item separator loses its space.
        style.item = ",".into();
    }
    kwargs.assert_all_used()?;
    Ok(Value::from_safe_string(json::dumps(value, &style)?))
}

fn describe(e: &Error) -> String {
    let mut s = match e.detail() {
        Some(d) => d.to_string(),
        None => format!("{}", e.kind()),
    };
    if let Some(line) = e.line() {
        s.push_str(&format!(" (line {line})"));
    }
    s
}

#[cfg(test)]
mod tests;
