//! Table tests of each format, and the streaming invariants as properties.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A compact view of pieces: `T:text`, `C:name(args)` per call, `M:problem-part`.
fn show(pieces: &[Piece]) -> Vec<String> {
    pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Text(t) => vec![format!("T:{t}")],
            Piece::Calls { calls, .. } => calls
                .iter()
                .map(|c| format!("C:{}({})", c.name, Value::Object(c.arguments.clone())))
                .collect(),
            Piece::Malformed { problem, .. } => vec![format!("M:{problem}")],
        })
        .collect()
}

fn check(format: CallFormat, table: &[(&str, &[&str])]) {
    for (input, want) in table {
        let got = show(&parse_all(format, input));
        assert_eq!(got.len(), want.len(), "{format:?} {input:?}: {got:?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(
                g.starts_with(w),
                "{format:?} {input:?}: got {g:?}, want {w:?}…"
            );
        }
    }
}

#[test]
fn llama3_reads_a_leading_json_call_and_python_tag_calls() {
    let table: &[(&str, &[&str])] = &[
        (
            r#"{"name": "read_file", "parameters": {"path": "a.txt"}}"#,
            &[r#"C:read_file({"path":"a.txt"})"#],
        ),
        (
            "\n {\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"arguments\": {\"x\": 1}}",
            &["C:f({})", r#"C:g({"x":1})"#],
        ),
        (
            r#"<|python_tag|>{"name": "list_dir", "parameters": {"path": "."}}"#,
            &[r#"C:list_dir({"path":"."})"#],
        ),
        (
            r#"Let me look. <|python_tag|>{"name": "f", "parameters": {}}"#,
            &["T:Let me look. ", "C:f({})"],
        ),
        // JSON that is an answer, not a call.
        (r#"{"name": "Bob", "age": 3}"#, &[r#"T:{"name": "Bob", "age": 3}"#]),
        // A call in the middle of prose is prose (llama.cpp triggers only where the answer
        // begins).
        (
            r#"Call {"name": "f", "parameters": {}} now"#,
            &[r#"T:Call {"name": "f", "parameters": {}} now"#],
        ),
        (r#"{"name": "f", "parame"#, &["M:the call was cut off"]),
        (r#"{"answer": "#, &[r#"T:{"answer": "#]),
        (
            r#"<|python_tag|>brave_search.call(query="x")"#,
            &["M:<|python_tag|> is followed by a built-in"],
        ),
        (r#"{"name": "a.b", "parameters": {}}"#, &["M:'a.b' is not a tool name"]),
        ("The answer is 4.", &["T:The answer is 4."]),
        ("  ", &["T:  "]),
    ];
    check(CallFormat::Llama3, table);
}

#[test]
fn hermes_reads_tool_call_tags_anywhere_in_the_answer() {
    let table: &[(&str, &[&str])] = &[
        (
            "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"pattern\": \"fn main\"}}\n</tool_call>",
            &[r#"C:search({"pattern":"fn main"})"#],
        ),
        (
            "Checking.\n<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call> done",
            &["T:Checking.\n", "C:f({})", "C:g({})", "T: done"],
        ),
        // A stop word ate the closing tag.
        ("<tool_call>{\"name\": \"f\", \"arguments\": {}}", &["C:f({})"]),
        ("<tool_call>{\"name\": \"f\", ", &["M:the call is not valid JSON"]),
        ("<tool_call>not json</tool_call>", &["M:the call is not valid JSON"]),
        ("a < b and <tool", &["T:a < b and <tool"]),
        // Arguments inside a string that holds the closing tag's start.
        (
            "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"</tool\"}}</tool_call>",
            &[r#"C:f({"s":"</tool"})"#],
        ),
    ];
    check(CallFormat::Hermes, table);
}

#[test]
fn mistral_reads_call_lists_and_named_calls() {
    let table: &[(&str, &[&str])] = &[
        (
            r#"[TOOL_CALLS][{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]"#,
            &[r#"C:f({"a":1})"#, "C:g({})"],
        ),
        (
            r#"[TOOL_CALLS]read_file[ARGS]{"path": "x"}[TOOL_CALLS]list_dir[ARGS]{}"#,
            &[r#"C:read_file({"path":"x"})"#, "C:list_dir({})"],
        ),
        (
            r#"Sure. [TOOL_CALLS][{"name": "f"}]"#,
            &["T:Sure. ", "C:f({})"],
        ),
        ("[TOOL_CALLS]", &["M:[TOOL_CALLS] with no call"]),
        (
            r#"[TOOL_CALLS][{"name": "f", "#,
            &["M:the list of calls was cut off"],
        ),
        (
            "[TOOL_CALLS] hello there",
            &["M:[TOOL_CALLS] is followed by neither", "T:hello there"],
        ),
        (
            r#"[TOOL_CALLS]f[ARGS]{"a": "#,
            &["M:the call to 'f' was cut off"],
        ),
        (
            "[TOOL_CALLS]f[ARGS]oops",
            &["M:the arguments of 'f' are not a JSON object", "T:oops"],
        ),
        ("[1] a list", &["T:[1] a list"]),
    ];
    check(CallFormat::Mistral, table);
}

#[test]
fn text_before_a_marker_streams_and_only_a_possible_marker_waits() {
    let mut p = CallParser::new(CallFormat::Hermes);
    assert_eq!(
        p.push("Looking <tool"),
        vec![Piece::Text("Looking ".into())]
    );
    assert!(p.holding());
    assert_eq!(
        p.push("box> now"),
        vec![Piece::Text("<toolbox> now".into())]
    );
    assert!(!p.holding());
    let got = p.push("<tool_call>{\"name\": \"f\", \"arguments\": {}}");
    assert!(got.is_empty(), "an open call waits for its close: {got:?}");
    let got = p.push("</tool_call>");
    assert_eq!(show(&got), ["C:f({})"]);
}

#[test]
fn arguments_keep_their_json_values() {
    let pieces = parse_all(
        CallFormat::Hermes,
        r#"<tool_call>{"name": "edit_file", "arguments": {"path": "a", "old": "x\n\"y\"", "new": "é"}}</tool_call>"#,
    );
    let Piece::Calls { calls, .. } = &pieces[0] else {
        panic!("{pieces:?}")
    };
    assert_eq!(
        Value::Object(calls[0].arguments.clone()),
        json!({"path": "a", "old": "x\n\"y\"", "new": "é"})
    );
}

/// Adjacent text pieces merged: how a split is allowed to differ.
fn merged(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        push_merged(&mut out, p);
    }
    out
}

fn streamed(format: CallFormat, text: &str, cuts: &[usize]) -> Vec<Piece> {
    let mut bounds: Vec<usize> = cuts
        .iter()
        .map(|c| c % (text.len() + 1))
        .filter(|&c| text.is_char_boundary(c))
        .collect();
    bounds.extend([0, text.len()]);
    bounds.sort_unstable();
    bounds.dedup();
    let mut p = CallParser::new(format);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        out.extend(p.push(&text[w[0]..w[1]]));
    }
    out.extend(p.finish());
    merged(out)
}

fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Hello ",
        "x",
        " ",
        "\n",
        ";",
        "é",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "\\",
        "<",
        "<tool",
        "<tool_call>",
        "</tool_call>",
        "[TOOL_CALLS]",
        "[ARGS]",
        "<|python_tag|>",
        "read_file",
        r#"{"name": "read_file", "parameters": {"path": "a"}}"#,
        r#"{"name": "f", "arguments": {"s": "}\"<tool_call>"}}"#,
        r#"[{"name": "g", "arguments": {}}]"#,
        r#""name": "#,
    ])
}

fn format() -> impl Strategy<Value = CallFormat> {
    prop::sample::select(vec![
        CallFormat::Llama3,
        CallFormat::Hermes,
        CallFormat::Mistral,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any split of the same answer gives the same calls and text.
    #[test]
    fn any_split_gives_the_same_pieces(
        format in format(),
        parts in prop::collection::vec(fragment(), 0..14),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let text = parts.concat();
        prop_assert_eq!(streamed(format, &text, &cuts), merged(parse_all(format, &text)));
    }

    /// Nothing is lost or invented: the pieces' raw text is the answer, and nothing is held
    /// after the end.
    #[test]
    fn the_pieces_add_up_to_the_answer(
        format in format(),
        parts in prop::collection::vec(fragment(), 0..14),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let text = parts.concat();
        let pieces = streamed(format, &text, &cuts);
        let raw: String = pieces.iter().map(Piece::raw).collect();
        prop_assert_eq!(raw, text);
    }
}
