//! The renderer on the bundled family templates: tools, calls and results where each family
//! puts them. (tests/it/jinja.rs checks the same renders against Python's jinja2, set up as
//! transformers sets it up.)

use super::*;
use serde_json::{json, Value};

fn read_file_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string", "description": "The path"}}, "required": ["path"]},
    }})
}

fn conversation() -> Vec<Value> {
    vec![
        json!({"role": "system", "content": "Be brief."}),
        json!({"role": "user", "content": "What is in a.txt?"}),
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "read_file", "arguments": {"path": "a.txt"}}}
        ]}),
        json!({"role": "tool", "tool_call_id": "call_0", "name": "read_file", "content": "<hello> \"world\""}),
    ]
}

fn render_family(family: Family, tools: Option<&[Value]>, messages: &[Value]) -> String {
    render(
        family.template(),
        &Inputs {
            messages,
            tools,
            bos_token: "<BOS>",
            eos_token: "<EOS>",
            date_string: Some("07 Dec 2026".into()),
        },
    )
    .unwrap()
}

#[test]
fn llama3_puts_tools_in_the_system_message_and_results_in_ipython() {
    let tools = [read_file_tool()];
    let out = render_family(Family::Llama3, Some(&tools), &conversation());
    assert!(out.starts_with(
        "<BOS><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 07 Dec 2026\n\nYou have access to the following functions."
    ), "{out}");
    assert!(
        out.contains(
            "\n\n{\n    \"function\": {\n        \"description\": \"Read a file.\",\n        \"name\": \"read_file\",\n"
        ) && out.contains("            \"required\": [\n                \"path\"\n            ],\n"),
        "tools as tojson(indent=4): {out}"
    );
    assert!(out.contains("Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is in a.txt?<|eot_id|>"), "{out}");
    assert!(out.contains("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"read_file\", \"parameters\": {\"path\": \"a.txt\"}}<|eot_id|>"), "{out}");
    assert!(out.ends_with("<|start_header_id|>ipython<|end_header_id|>\n\n{\"output\": \"<hello> \\\"world\\\"\"}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"), "no HTML escaping, Python's separators: {out}");
}

#[test]
fn hermes_lists_tools_and_wraps_calls_and_responses() {
    let tools = [read_file_tool()];
    let out = render_family(Family::Hermes, Some(&tools), &conversation());
    assert!(out.contains("<tools> {\"type\": \"function\", \"function\": {\"name\": \"read_file\", \"description\": \"read_file(path: str) - Read a file.\n\n    Args:\n        path(str): The path\""), "{out}");
    assert!(out.contains("<|im_start|>assistant\n<tool_call>\n{ \"arguments\": {\"path\": \"a.txt\"}, \"name\": \"read_file\"}\n</tool_call> <|im_end|>\n"), "{out}");
    assert!(out.ends_with("<|im_start|>tool\n<tool_response>\n{\"name\": \"read_file\", \"content\": \"<hello> \\\"world\\\"\"}\n</tool_response> <|im_end|>\n<|im_start|>assistant\n"), "{out}");
}

#[test]
fn without_tools_the_families_render_a_plain_chat() {
    let messages = [json!({"role": "user", "content": "hi"})];
    assert_eq!(
        render_family(Family::Hermes, None, &messages),
        "<BOS><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        render_family(Family::Mistral, None, &messages),
        "<BOS>[INST]hi[/INST]"
    );
}

#[test]
fn template_errors_say_what_went_wrong() {
    let inputs = Inputs {
        messages: &[],
        tools: None,
        bos_token: "",
        eos_token: "",
        date_string: None,
    };
    let e = render("{{ raise_exception('no system role') }}", &inputs).unwrap_err();
    assert!(e.contains("no system role"), "{e}");
    let e = render("line one\n{% if %}", &inputs).unwrap_err();
    assert!(
        e.starts_with("the chat template does not parse") && e.contains("line 2"),
        "{e}"
    );
}

#[test]
fn python_string_methods_work_as_in_transformers() {
    let inputs = Inputs {
        messages: &[json!({"role": "user", "content": "  Hi There  "})],
        tools: None,
        bos_token: "",
        eos_token: "",
        date_string: None,
    };
    let out = render(
        "{{ messages[0].content.strip().lower() }}|{{ messages[0].content.split()|length }}|{{ strftime_now('%Y')|length }}",
        &inputs,
    )
    .unwrap();
    assert_eq!(out, "hi there|2|4");
}

#[test]
fn only_templates_that_read_tools_take_them() {
    assert!(takes_tools(Family::Llama3.template()));
    assert!(!takes_tools(crate::gguf::LLAMA3_TEMPLATE));
}

#[test]
fn tojson_takes_pythons_keywords() {
    let inputs = Inputs {
        messages: &[json!({"role": "user", "content": "é", "b": [1, 2], "a": null})],
        tools: None,
        bos_token: "",
        eos_token: "",
        date_string: None,
    };
    let table = [
        (
            "{{ messages[0] | tojson }}",
            r#"{"a": null, "b": [1, 2], "content": "é", "role": "user"}"#,
        ),
        (
            "{{ messages[0] | tojson(separators=(',', ':')) }}",
            r#"{"a":null,"b":[1,2],"content":"é","role":"user"}"#,
        ),
        (
            "{{ messages[0].content | tojson(ensure_ascii=true) }}",
            r#""\u00e9""#,
        ),
        ("{{ {'z': 1, 'a': 2} | tojson }}", r#"{"z": 1, "a": 2}"#),
        (
            "{{ {'z': 1, 'a': 2} | tojson(sort_keys=true) }}",
            r#"{"a": 2, "z": 1}"#,
        ),
        (
            "{{ [1] | tojson(indent=2, separators=(',', ': ')) }}",
            "[\n  1\n]",
        ),
    ];
    for (template, want) in table {
        assert_eq!(render(template, &inputs).unwrap(), want, "{template}");
    }
    let e = render("{{ 1 | tojson(colour=1) }}", &inputs).unwrap_err();
    assert!(e.contains("colour"), "{e}");
}
