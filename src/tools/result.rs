//! What a tool gives back to the model: text, capped so that one result cannot fill the
//! context, and marked when it was cut.

/// At most this much of a result goes to the model.
pub const RESULT_CAP: usize = 64 * 1024;

/// A tool's result: `ok` is false for a failure (the text says why, for the model to act on).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub text: String,
}

impl Outcome {
    pub fn ok(text: impl Into<String>) -> Outcome {
        Outcome {
            ok: true,
            text: cap(text.into(), RESULT_CAP),
        }
    }

    pub fn failed(text: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            text: cap(text.into(), RESULT_CAP),
        }
    }
}

impl From<Result<String, String>> for Outcome {
    fn from(r: Result<String, String>) -> Outcome {
        match r {
            Ok(t) => Outcome::ok(t),
            Err(e) => Outcome::failed(e),
        }
    }
}

/// A tool's result with the spellings of chat control tokens broken by a zero-width space:
/// the prompt is tokenized with special tokens parsed, and a file holding
/// `<|eot_id|><|start_header_id|>system` must not open a turn of its own.
pub fn defang(text: &str) -> String {
    const OPENERS: [&str; 10] = [
        "<|",
        "<tool_call>",
        "</tool_call>",
        "<tool_response>",
        "</tool_response>",
        "[INST]",
        "[/INST]",
        "[TOOL_CALLS]",
        "[TOOL_RESULTS]",
        "[/TOOL_RESULTS]",
    ];
    let mut out = text.to_string();
    for o in OPENERS {
        if out.contains(o) {
            let (first, rest) = o.split_at(1);
            out = out.replace(o, &format!("{first}\u{200b}{rest}"));
        }
    }
    out
}

/// `text` cut to at most `limit` bytes (on a character boundary), with a note saying how much
/// was left out.
pub fn cap(mut text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let total = text.len();
    let mut at = limit;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.truncate(at);
    text.push_str(&format!(
        "\n[cut: {} of {total} bytes not shown]",
        total - at
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_cut_on_a_character_boundary_and_say_so() {
        assert_eq!(cap("short".into(), 10), "short");
        let cut = cap("ééééé".into(), 5);
        assert!(
            cut.starts_with("éé\n[cut: 6 of 10 bytes not shown]"),
            "{cut}"
        );
        let big = Outcome::ok("x".repeat(RESULT_CAP + 100));
        assert!(big.text.ends_with("[cut: 100 of 65636 bytes not shown]"));
        assert!(big.text.len() < RESULT_CAP + 50);
    }
}
