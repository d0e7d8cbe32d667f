//! What the user says to the model: the prompt from stdin and arguments, the system prompt, and
//! the model card's "Think carefully." suffix.

/// The Reflection-Llama-3.1-70B model card's system prompt, verbatim.
pub const REFLECTION_SYSTEM_PROMPT: &str = "You are a world-class AI system, capable of complex reasoning and reflection. Reason through the query inside <thinking> tags, and then provide your final response inside <output> tags. If you detect that you made a mistake in your reasoning at any point, correct yourself inside <reflection> tags.";

/// The suffix the model card says raises accuracy.
pub const THINK_CAREFULLY: &str = "Think carefully.";

/// Joins piped input and command-line words: stdin's text, a blank line, then the arguments.
pub fn combine_input(stdin: Option<&str>, args: &[String]) -> String {
    let args = args.join(" ");
    let stdin = stdin
        .map(|s| s.trim_end_matches(['\n', '\r']))
        .filter(|s| !s.trim().is_empty());
    match (stdin, args.trim().is_empty()) {
        (Some(s), true) => s.to_string(),
        (Some(s), false) => format!("{s}\n\n{args}"),
        (None, _) => args,
    }
}

/// Appends "Think carefully." to a message: after a space, or on a new line when the message
/// spans lines; never twice.
pub fn think_carefully(message: &str) -> String {
    let body = message.trim_end();
    if body.ends_with(THINK_CAREFULLY) {
        return body.to_string();
    }
    let sep = if body.contains('\n') { "\n" } else { " " };
    format!("{body}{sep}{THINK_CAREFULLY}")
}

/// The user's message as sent: with "Think carefully." when `think` is on.
pub fn to_send(user: &str, think: bool) -> String {
    if think {
        think_carefully(user)
    } else {
        user.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_carefully_table() {
        let table = [
            ("What is 2+2?", "What is 2+2? Think carefully."),
            ("What is 2+2?\n", "What is 2+2? Think carefully."),
            ("line one\nline two", "line one\nline two\nThink carefully."),
            ("Q? Think carefully.", "Q? Think carefully."),
            ("Q? Think carefully.\n\n", "Q? Think carefully."),
        ];
        for (input, want) in table {
            assert_eq!(think_carefully(input), want, "{input:?}");
        }
    }

    #[test]
    fn stdin_and_arguments_are_joined_by_a_blank_line() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            combine_input(Some("text\n"), &args(&["summarise", "this"])),
            "text\n\nsummarise this"
        );
        assert_eq!(combine_input(Some("only stdin\n"), &[]), "only stdin");
        assert_eq!(combine_input(None, &args(&["a", "b"])), "a b");
        assert_eq!(combine_input(Some("  \n"), &args(&["q"])), "q");
        assert_eq!(combine_input(None, &[]), "");
    }

    #[test]
    fn system_prompt_is_the_model_cards() {
        assert_eq!(
            REFLECTION_SYSTEM_PROMPT,
            "You are a world-class AI system, capable of complex reasoning and reflection. Reason through the query inside <thinking> tags, and then provide your final response inside <output> tags. If you detect that you made a mistake in your reasoning at any point, correct yourself inside <reflection> tags."
        );
        assert_eq!(to_send("hi", true), "hi Think carefully.");
        assert_eq!(to_send("hi", false), "hi");
    }
}
