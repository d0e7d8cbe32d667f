//! reflect's Jinja chat-template rendering against the reference: Python's jinja2, set up as
//! transformers' `apply_chat_template` sets it up (trim_blocks, lstrip_blocks, loop controls,
//! its `tojson`, `raise_exception` and `strftime_now`). Same template, same conversation, same
//! text, byte for byte.

use crate::common::python_package;
use reflect::jinja::{render, Family, Inputs};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// The version the comparison is written against (scripts/bootstrap.sh installs it).
const JINJA2_VERSION: &str = "3.1.6";

/// transformers' `_compile_jinja_template`, reduced to what renders.
const TRANSFORMERS: &str = r#"
import json, sys
from datetime import datetime
import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(format):
    return datetime.now().strftime(format)

job = json.load(sys.stdin)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now
ctx = dict(messages=job["messages"], add_generation_prompt=True, bos_token=job["bos"],
           eos_token=job["eos"], date_string=job["date"], tools_in_user_message=False)
if job["tools"] is not None:
    ctx["tools"] = job["tools"]
sys.stdout.write(env.from_string(job["template"]).render(**ctx))
"#;

fn python_jinja2() -> bool {
    python_package(
        "jinja2",
        JINJA2_VERSION,
        "to compare chat templates with Python's",
    )
}

fn python_render(template: &str, messages: &[Value], tools: Option<&[Value]>) -> String {
    let job = json!({
        "template": template, "messages": messages, "tools": tools,
        "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "date": "07 Dec 2026",
    });
    let mut child = Command::new("python3")
        .args(["-c", TRANSFORMERS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jinja2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn tools() -> Vec<Value> {
    reflect::tools::builtin::BUILTINS
        .iter()
        .map(|b| b.schema())
        .collect()
}

/// Conversations that exercise what templates do with text: a system prompt or none, a tool
/// call and its result, quotes, backslashes, control characters, non-ASCII and markup.
fn conversations() -> Vec<Vec<Value>> {
    let call = |name: &str, args: Value| {
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": name, "arguments": args}}
        ]})
    };
    let result = |name: &str, text: &str| json!({"role": "tool", "tool_call_id": "call_0", "name": name, "content": text});
    vec![
        vec![json!({"role": "user", "content": "What is 2+2?"})],
        vec![
            json!({"role": "system", "content": "You are a world-class AI system.\n"}),
            json!({"role": "user", "content": "  Find <main> in \"src\"  "}),
            call("search", json!({"pattern": "fn main\\(", "glob": "*.rs"})),
            result("search", "src/main.rs:1:fn main() {\n\ttab\u{1}é → ✓"),
        ],
        vec![
            json!({"role": "user", "content": "Edit it."}),
            call(
                "edit_file",
                json!({"path": "a b/ç.txt", "old": "x\r\ny", "new": "{\"k\": [1, 2.5, null, true]}"}),
            ),
            result("edit_file", "edited"),
            json!({"role": "assistant", "content": "Done."}),
            json!({"role": "user", "content": "Thanks"}),
        ],
    ]
}

#[test]
fn family_templates_render_as_transformers_renders_them() {
    if !python_jinja2() {
        return;
    }
    let tools = tools();
    let mut compared = 0;
    // Mistral's template prints `tools|string`, Python's repr of a list (single quotes),
    // which no Jinja engine outside Python reproduces; its render is pinned in the unit tests.
    for family in [Family::Llama3, Family::Hermes] {
        for messages in conversations() {
            for tools in [Some(tools.as_slice()), None] {
                let ours = render(
                    family.template(),
                    &Inputs {
                        messages: &messages,
                        tools,
                        bos_token: "<|begin_of_text|>",
                        eos_token: "<|eot_id|>",
                        date_string: Some("07 Dec 2026".into()),
                    },
                );
                let theirs = python_render(family.template(), &messages, tools);
                assert_eq!(
                    ours.as_deref(),
                    Ok(theirs.as_str()),
                    "{family:?}, tools: {}, messages: {messages:?}",
                    tools.is_some()
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 12);
}
