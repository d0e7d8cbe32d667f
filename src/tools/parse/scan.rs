//! Small scanners the call formats share: where a JSON value ends, and how much of a text's
//! end could still begin a marker.

/// The byte length of the JSON object or array at the start of `s` (which starts with `{` or
/// `[`), counting brackets outside strings; `None` while it is not closed yet.
pub(super) fn json_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The length of the longest end of `s` that is a proper start of one of `markers` (all
/// ASCII): the text that must wait, because the next piece may complete a marker.
pub(super) fn partial_marker(s: &str, markers: &[&str]) -> usize {
    let longest = markers.iter().map(|m| m.len() - 1).max().unwrap_or(0);
    (1..=longest.min(s.len()))
        .rev()
        .find(|&k| {
            let at = s.len() - k;
            s.is_char_boundary(at)
                && markers
                    .iter()
                    .any(|m| m.len() > k && m.starts_with(&s[at..]))
        })
        .unwrap_or(0)
}

/// Text with no marker in it: all of it, but the end that could still begin `marker` (kept
/// until the next piece, or given out at the end).
pub(super) fn text_before_marker(s: &str, marker: &str, end: bool) -> super::Step {
    let held = if end { 0 } else { partial_marker(s, &[marker]) };
    if held == s.len() {
        super::Step::Wait
    } else {
        super::Step::Text(s.len() - held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ends_where_its_brackets_close_outside_strings() {
        for (s, end) in [
            ("{}", Some(2)),
            ("{} tail", Some(2)),
            (r#"{"a": "}"}x"#, Some(10)),
            (r#"{"a": "\"}"}"#, Some(12)),
            (r#"[{"a": [1, 2]}, {}]!"#, Some(19)),
            (r#"{"a": "#, None),
            (r#"{"a": "\"#, None),
            ("{\"a\": {\"b\": 1}", None),
        ] {
            assert_eq!(json_end(s), end, "{s}");
        }
    }

    #[test]
    fn only_a_possible_start_of_a_marker_is_held() {
        let m = ["<tool_call>"];
        for (s, held) in [
            ("abc", 0),
            ("abc<", 1),
            ("abc<tool_", 6),
            ("abc<tool_call", 10),
            ("<tool_call>", 0),
            ("abc<tx", 0),
            ("é<", 1),
        ] {
            assert_eq!(partial_marker(s, &m), held, "{s}");
        }
    }
}
