//! Turns the byte pieces of tokens into text without ever emitting half a character: a token
//! can end in the middle of a UTF-8 sequence (byte-fallback tokens carry one byte each).

/// Buffers incomplete UTF-8 sequences between tokens.
#[derive(Default, Debug)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// No character is waiting for its remaining bytes.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Adds bytes and returns the text that is complete. Bytes that can never become valid
    /// UTF-8 are replaced by U+FFFD.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // SAFETY-free: the prefix was just validated.
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).unwrap_or_default());
                    match e.error_len() {
                        // Incomplete sequence at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Ends the stream: an incomplete sequence left over becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            String::new()
        } else {
            self.pending.clear();
            "\u{FFFD}".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_pieces_are_joined() {
        let text = "héllo 世界 🦀!";
        let bytes = text.as_bytes();
        for split in 1..=4 {
            let mut d = Utf8Decoder::default();
            let mut out = String::new();
            for chunk in bytes.chunks(split) {
                out.push_str(&d.push(chunk));
            }
            out.push_str(&d.finish());
            assert_eq!(out, text, "chunks of {split}");
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Decoder::default();
        assert_eq!(d.push(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(d.push(b"\xe4\xb8"), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }
}
