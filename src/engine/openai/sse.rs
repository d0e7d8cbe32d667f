//! Server-sent events, parsed to the WHATWG specification (the "event stream" section of the
//! HTML standard), incrementally over the bytes of a response as they arrive.
//!
//! Written here rather than taken from a crate: `eventsource-stream` follows the spec but has
//! been dormant since 2022 and ties itself to `futures` streams; `reqwest-eventsource`
//! reconnects by default, which would re-send a chat request. What a chat stream needs is
//! small: lines split on CR, LF or CRLF (also across reads), a leading BOM, comments, `data:`
//! with or without the space, several `data` lines joined with LF, events dispatched on a blank
//! line, and bytes of one UTF-8 character split across reads. The property tests below check
//! that any split of the input gives the same events.

/// One dispatched event: its type (`message` unless an `event:` field said otherwise) and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// The parser's state between reads.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The last byte was CR: an LF right after it ends nothing more.
    after_cr: bool,
    /// The stream's start has been seen (a BOM there is dropped).
    started: bool,
    event: String,
    data: String,
    /// A `data` field was seen for the pending event.
    has_data: bool,
    /// Comment lines seen (keep-alives), for tests and diagnostics.
    pub comments: usize,
}

impl SseParser {
    pub fn new() -> Self {
        SseParser::default()
    }

    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Event> {
        let out = Vec::new();
        if !self.started && !bytes.is_empty() {
            let bom = b"\xEF\xBB\xBF";
            // A BOM split across reads: wait until three bytes (or a non-BOM prefix) are here.
            let have = self.line.len() + bytes.len();
            let mut head = self.line.clone();
            head.extend_from_slice(&bytes[..bytes.len().min(3)]);
            if have < 3 && bom.starts_with(&head) {
                self.line.extend_from_slice(bytes);
                return out;
            }
            self.started = true;
            let pending = std::mem::take(&mut self.line);
            let mut all = pending;
            all.extend_from_slice(bytes);
            let all = all.strip_prefix(bom).map(<[u8]>::to_vec).unwrap_or(all);
            return self.push_lines(&all, out);
        }
        if bytes.is_empty() {
            return out;
        }
        if self.after_cr && bytes[0] == b'\n' {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        self.push_lines(bytes, out)
    }

    fn push_lines(&mut self, bytes: &[u8], mut out: Vec<Event>) -> Vec<Event> {
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    self.end_line(&mut out);
                    i += 1;
                }
                b'\r' => {
                    self.end_line(&mut out);
                    i += 1;
                    if i == bytes.len() {
                        self.after_cr = true;
                    } else if bytes[i] == b'\n' {
                        i += 1;
                    }
                }
                _ => {
                    let end = bytes[i..]
                        .iter()
                        .position(|b| *b == b'\n' || *b == b'\r')
                        .map_or(bytes.len(), |p| i + p);
                    self.line.extend_from_slice(&bytes[i..end]);
                    i = end;
                }
            }
        }
        out
    }

    /// The end of the stream: an event not followed by a blank line is not dispatched (as the
    /// specification says), but a last line without its line ending is still processed.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out);
        }
        out
    }

    fn end_line(&mut self, out: &mut Vec<Event>) {
        let line = std::mem::take(&mut self.line);
        // A multi-byte character is whole once its line is: decode per line, not per read.
        let line = String::from_utf8_lossy(&line);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_string(),
            // `id` and `retry` matter for reconnecting, which a chat request must never do.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(Event {
            event: if event.is_empty() {
                "message".into()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(input: &[u8]) -> Vec<Event> {
        let mut p = SseParser::new();
        let mut out = p.push(input);
        out.extend(p.finish());
        out
    }

    fn data(v: &[Event]) -> Vec<&str> {
        v.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn the_field_forms_of_the_specification() {
        let table: &[(&[u8], &[&str])] = &[
            (b"data: a\n\n", &["a"]),
            (b"data:a\n\n", &["a"]),
            (b"data:  two spaces\n\n", &[" two spaces"]),
            (b"data: a\r\n\r\n", &["a"]),
            (b"data: a\r\rdata: b\r\r", &["a", "b"]),
            (b"data: one\ndata: two\n\n", &["one\ntwo"]),
            (b": keep-alive\n\ndata: x\n\n", &["x"]),
            (b": OPENROUTER PROCESSING\r\n\r\ndata: {}\r\n\r\n", &["{}"]),
            (b"\xEF\xBB\xBFdata: bom\n\n", &["bom"]),
            (b"event: ping\n\n", &[]),
            (b"data\n\n", &[""]),
            (b"id: 7\nretry: 100\ndata: z\n\n", &["z"]),
            (b"data: no blank line at the end", &[]),
            (b"data: caf\xC3\xA9\n\n", &["café"]),
        ];
        for (input, want) in table {
            assert_eq!(
                data(&all(input)),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let typed = all(b"event: error\ndata: {\"e\":1}\n\ndata: m\n\n");
        assert_eq!(typed[0].event, "error");
        assert_eq!(typed[1].event, "message");
    }

    #[test]
    fn comments_are_counted_not_dispatched() {
        let mut p = SseParser::new();
        assert!(p.push(b": ping\n: ping\n\n").is_empty());
        assert_eq!(p.comments, 2);
    }

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            "[a-z{}\":, é✓]{0,12}".prop_map(|v| format!("data: {v}")),
            "[a-z{}]{0,8}".prop_map(|v| format!("data:{v}")),
            "[a-z ]{0,8}".prop_map(|v| format!(": {v}")),
            "[a-z]{1,6}".prop_map(|v| format!("event: {v}")),
            Just(String::new()),
        ];
        let ending = prop_oneof![Just("\n"), Just("\r"), Just("\r\n")];
        prop::collection::vec((field, ending), 0..24).prop_map(|lines| {
            let mut s = String::new();
            for (l, e) in lines {
                s.push_str(&l);
                s.push_str(e);
            }
            s.push_str("\n\n");
            s.into_bytes()
        })
    }

    proptest! {
        /// Any split of the bytes, inside CRLF pairs and UTF-8 characters included, gives the
        /// same events as reading it whole.
        #[test]
        fn splitting_the_input_anywhere_changes_nothing(
            input in stream(),
            cuts in prop::collection::vec(0usize..400, 0..12),
        ) {
            let whole = all(&input);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut p = SseParser::new();
            let mut got = Vec::new();
            let mut from = 0;
            for c in cuts {
                got.extend(p.push(&input[from..c]));
                from = c;
            }
            got.extend(p.push(&input[from..]));
            got.extend(p.finish());
            prop_assert_eq!(got, whole);
        }

        /// Byte by byte is one more split.
        #[test]
        fn byte_by_byte_equals_whole(input in stream()) {
            let mut p = SseParser::new();
            let mut got = Vec::new();
            for b in &input {
                got.extend(p.push(std::slice::from_ref(b)));
            }
            got.extend(p.finish());
            prop_assert_eq!(got, all(&input));
        }
    }
}
