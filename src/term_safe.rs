//! Model output is untrusted text: before it reaches a terminal, escape sequences, other control
//! characters and bidirectional overrides are shown neutralised instead of acting on the terminal.

use std::borrow::Cow;

fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The usual text: printable ASCII, newlines and tabs only. Checked a block at a time, without
/// an early exit inside one, so that it vectorises.
fn plain_ascii(text: &str) -> bool {
    let printable = |b: u8| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b);
    text.as_bytes()
        .chunks(64)
        .all(|c| c.iter().fold(true, |ok, &b| ok & printable(b)))
}

/// Replaces control characters (except newline and tab) and bidi controls with a visible form:
/// ESC becomes "␛", other C0 controls their Unicode control pictures, the rest `<U+XXXX>`.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if plain_ascii(text) || !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_unsafe(c) => out.push(c),
            '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}')),
            '\u{7F}' => out.push('\u{2421}'),
            c => out.push_str(&format!("<U+{:04X}>", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn escape_sequences_are_shown_not_executed() {
        let table = [
            ("plain text\n\tok", "plain text\n\tok"),
            ("\u{1b}[2J", "\u{241b}[2J"),
            ("\u{1b}]52;c;aGk=\u{7}", "\u{241b}]52;c;aGk=\u{2407}"),
            ("a\u{9b}31mb", "a<U+009B>31mb"),
            ("\u{202E}evil", "<U+202E>evil"),
            ("cr\r", "cr\u{240d}"),
        ];
        for (input, want) in table {
            assert_eq!(neutralise(input), want, "{input:?}");
        }
    }
}
