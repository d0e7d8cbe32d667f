//! A deliberately simple, line-oriented model of code fences, independent of `fence.rs`, so
//! that the no-tags check does not trust the code it checks.

/// Fence state of Output text, fed one character at a time.
#[derive(Default)]
pub(super) struct FenceModel {
    pub(super) open: Option<(char, usize)>,
    /// The current line while it may still be a fence marker.
    line: Option<String>,
}

impl FenceModel {
    pub(super) fn new() -> FenceModel {
        FenceModel {
            open: None,
            line: Some(String::new()),
        }
    }

    pub(super) fn step(&mut self, c: char) {
        if let Some(line) = self.line.take() {
            let indent = line.len() - line.trim_start_matches(' ').len();
            let run = &line[indent..];
            let run_char = run.chars().next();
            let still_marker = indent <= 3
                && match run_char {
                    None => c == ' ' || c == '`' || c == '~',
                    Some(rc) => c == rc,
                };
            if still_marker && !(run.is_empty() && c == ' ' && indent == 3) {
                self.line = Some(line + &c.to_string());
                return;
            }
            let len = run.chars().count();
            if let (Some(rc), true) = (run_char, len >= 3) {
                self.open = match self.open {
                    None => Some((rc, len)),
                    Some((oc, ol)) if oc == rc && len >= ol => None,
                    keep => keep,
                };
            }
        }
        if c == '\n' {
            self.line = Some(String::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::fence::Fence;
    use super::*;

    /// The model and the router's tracker agree byte by byte on fence state.
    #[test]
    fn agrees_with_router_fence_tracker() {
        let texts = [
            "```\ncode\n```\nafter",
            "  ~~~~ rust\n~~~\n~~~~\n",
            "    ```\n```x```\n````\n```\n````\n",
            "a ```\n```\n\n   ```\n ``` \n",
            "``\n`\n~~~`\n~~~\n",
            "```思考\n🤔```\n```",
        ];
        for text in texts {
            let (mut model, mut fence) = (FenceModel::new(), Fence::default());
            for (i, c) in text.char_indices() {
                model.step(c);
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    fence.step(b);
                }
                assert_eq!(model.open.is_some(), fence.in_fence(), "{text:?} at {i}");
            }
        }
    }
}
