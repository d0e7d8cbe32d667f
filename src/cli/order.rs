//! A command written after options (`reflect -m x eval q.jsonl`): clap would take the command's
//! name for the first word of a prompt, or refuse the command's own options, so the run would
//! ask the model "eval q.jsonl" or fail with an unrelated message. Such a line is a usage
//! error that shows the right order, unless `--` comes before the prompt (`reflect -m x --
//! eval this` asks about "eval this").

use std::ffi::{OsStr, OsString};

/// What was found: the command's name and the line in the right order.
#[derive(Debug, PartialEq, Eq)]
pub struct Misplaced {
    pub command: String,
    /// Where the command's name stands in the line.
    pub at: usize,
    /// The same words, the command first: `reflect eval q.jsonl -m x`.
    pub reordered: Vec<OsString>,
    /// The command and its words alone, without the options before it: `reflect models list`.
    pub alone: Vec<OsString>,
}

/// Every word after the program's name, before any `--`, that names a command although it is
/// not the first, in order: each with it and what follows moved to the front. `raw[0]` is the
/// program.
pub fn misplaced_commands<'a>(
    raw: &'a [OsString],
    commands: &'a [String],
) -> impl Iterator<Item = Misplaced> + 'a {
    let before_dashes = raw.iter().position(|a| a == "--").unwrap_or(raw.len());
    (2..before_dashes).filter_map(move |i| {
        let word = raw[i].to_str()?;
        commands.iter().any(|c| c == word).then(|| {
            // The options go after the command's words, before a `--` that follows them.
            let mut reordered = vec![raw[0].clone()];
            reordered.extend_from_slice(&raw[i..before_dashes]);
            reordered.extend_from_slice(&raw[1..i]);
            reordered.extend_from_slice(&raw[before_dashes..]);
            let mut alone = vec![raw[0].clone()];
            alone.extend_from_slice(&raw[i..before_dashes]);
            Misplaced {
                command: word.to_string(),
                at: i,
                reordered,
                alone,
            }
        })
    })
}

/// Whether every word of a parsed prompt of `prompt_len` words came after a `--` in `raw`
/// (everything after `--` is prompt, so the prompt came after it exactly when it is no longer
/// than what follows the `--`).
pub fn prompt_after_dashes(raw: &[OsString], prompt_len: usize) -> bool {
    raw.iter()
        .position(|a| a == "--")
        .is_some_and(|d| prompt_len < raw.len() - d)
}

/// The message for a misplaced command; `shown` is the line to offer in the right order (one
/// that parses: [`Misplaced::reordered`], else [`Misplaced::alone`]), if any.
pub fn message(found: &Misplaced, raw: &[OsString], shown: Option<&[OsString]>) -> String {
    let line = |words: &[OsString]| {
        std::iter::once("reflect".to_string())
            .chain(words.iter().skip(1).map(|w| quote(w)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let c = &found.command;
    let right = match shown {
        Some(words) if words == found.reordered.as_slice() => line(words),
        Some(words) => format!(
            "{}    (the options before it are not its own: `reflect {c} --help`)",
            line(words)
        ),
        None => format!("reflect {c} …    (`reflect {c} --help` lists its options)"),
    };
    let mut dashed = raw[..found.at].to_vec();
    dashed.push("--".into());
    dashed.extend_from_slice(&raw[found.at..]);
    format!(
        "'{c}' is a command, and a command comes first, before the options:\n  {right}\n\
         To ask a question that starts with the word '{c}', put -- before the question:\n  {}",
        line(&dashed),
    )
}

/// `word` as a shell would need it: bare when it is plain, else in single quotes.
fn quote(word: &OsStr) -> String {
    let w = word.to_string_lossy();
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        w.into_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(words: &[&str]) -> Vec<OsString> {
        std::iter::once("reflect")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn commands() -> Vec<String> {
        ["eval", "models", "sessions"].map(String::from).to_vec()
    }

    #[test]
    fn a_command_after_options_is_found_and_moved_first() {
        type Want<'a> = Option<(&'a str, &'a [&'a str])>;
        let table: [(&[&str], Want); 8] = [
            (
                &["-m", "x", "eval", "q.jsonl"],
                Some(("eval", &["eval", "q.jsonl", "-m", "x"])),
            ),
            (
                &["--demo", "models", "list"],
                Some(("models", &["models", "list", "--demo"])),
            ),
            // First: clap's own business.
            (&["eval", "q.jsonl", "-m", "x"], None),
            // After --: a question.
            (&["-m", "x", "--", "eval", "this"], None),
            (
                &["-m", "x", "why", "eval"],
                Some(("eval", &["eval", "-m", "x", "why"])),
            ),
            (&["-m", "x", "why", "--", "eval"], None),
            (
                &["-m", "x", "eval", "--", "q"],
                Some(("eval", &["eval", "-m", "x", "--", "q"])),
            ),
            (&["-m", "x", "what", "is", "2+2"], None),
        ];
        for (words, want) in table {
            let (words_raw, names) = (raw(words), commands());
            let got = misplaced_commands(&words_raw, &names).next();
            let got = got.map(|f| (f.command, f.reordered));
            let want = want.map(|(c, w)| (c.to_string(), raw(w)));
            assert_eq!(got, want, "{words:?}");
        }
    }

    #[test]
    fn a_prompt_is_after_dashes_only_when_all_of_it_is() {
        assert!(prompt_after_dashes(
            &raw(&["-m", "x", "--", "eval", "q"]),
            2
        ));
        assert!(!prompt_after_dashes(
            &raw(&["-m", "x", "eval", "--", "q"]),
            2
        ));
        assert!(!prompt_after_dashes(&raw(&["-m", "x", "eval", "q"]), 2));
        assert!(prompt_after_dashes(&raw(&["--"]), 0));
    }

    #[test]
    fn the_message_shows_the_right_order_and_the_dashes_quoted_as_a_shell_needs() {
        let words = raw(&["-m", "my model.gguf", "eval", "q.jsonl"]);
        let names = commands();
        let found = misplaced_commands(&words, &names).next().unwrap();
        let text = message(&found, &words, Some(&found.reordered));
        assert!(
            text.contains(
                "comes first, before the options:\n  reflect eval q.jsonl -m 'my model.gguf'"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "put -- before the question:\n  reflect -m 'my model.gguf' -- eval q.jsonl"
            ),
            "{text}"
        );
        let text = message(&found, &words, Some(&found.alone));
        assert!(
            text.contains("\n  reflect eval q.jsonl    (the options before it are not its own"),
            "{text}"
        );
        let text = message(&found, &words, None);
        assert!(
            text.contains("reflect eval …    (`reflect eval --help`"),
            "{text}"
        );
        assert_eq!(quote(OsStr::new("it's")), r"'it'\''s'");
    }
}
