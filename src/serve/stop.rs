//! The request's `stop` strings on the answer as it streams: text is passed on up to the first
//! stop string, which ends the answer; text that could be the start of one is held back until
//! the next piece decides.

/// Watches the answer for stop strings.
#[derive(Clone, Debug, Default)]
pub struct StopWatch {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopWatch {
    pub fn new(stops: Vec<String>) -> Self {
        StopWatch {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            ..StopWatch::default()
        }
    }

    /// Whether a stop string came: nothing more is passed on.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The answer's next piece: what can be passed on now.
    pub fn push(&mut self, text: &str) -> String {
        if self.stopped {
            return String::new();
        }
        if self.stops.is_empty() {
            return text.to_string();
        }
        self.held.push_str(text);
        if let Some(at) = self.stops.iter().filter_map(|s| self.held.find(s)).min() {
            self.stopped = true;
            let mut out = std::mem::take(&mut self.held);
            out.truncate(at);
            return out;
        }
        let keep = self.partial_suffix();
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        out
    }

    /// The end of the answer: what was held back.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The length of the longest end of the held text that starts a stop string.
    fn partial_suffix(&self) -> usize {
        let h = &self.held;
        (1..=h.len())
            .rev()
            .filter(|&n| h.is_char_boundary(h.len() - n))
            .find(|&n| self.stops.iter().any(|s| s.starts_with(&h[h.len() - n..])))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut w = StopWatch::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out: String = pieces.iter().map(|p| w.push(p)).collect();
        if !w.stopped() {
            out.push_str(&w.finish());
        }
        (out, w.stopped())
    }

    #[test]
    fn the_answer_ends_before_the_first_stop_string_even_split_over_pieces() {
        let table: &[(&[&str], &[&str], &str, bool)] = &[
            (&[], &["a", "b"], "ab", false),
            (&["END"], &["one EN", "D two"], "one ", true),
            (&["END"], &["one E", "x"], "one Ex", false),
            (&["x", "yz"], &["ay", "z x"], "a", true),
            (&["ééé"], &["aé", "é", "éb"], "a", true),
            (&["\n\n"], &["line\n", "\nmore"], "line", true),
            (&["END"], &["held EN"], "held EN", false),
        ];
        for (stops, pieces, want, stopped) in table {
            assert_eq!(
                run(stops, pieces),
                (want.to_string(), *stopped),
                "{stops:?} {pieces:?}"
            );
        }
    }

    #[test]
    fn held_text_waits_only_while_it_could_start_a_stop_string() {
        let mut w = StopWatch::new(vec!["STOP".into()]);
        assert_eq!(w.push("abc ST"), "abc ");
        assert_eq!(w.push("x"), "STx");
    }

    proptest! {
        /// Without a stop string in it, the text passes whole, however it is split.
        #[test]
        fn text_without_stops_passes_whole(text in "[a-cST ]{0,40}", cut in 0usize..40) {
            prop_assume!(!text.contains("STOP"));
            let cut = cut.min(text.len());
            let (a, b) = text.split_at(cut);
            prop_assert_eq!(run(&["STOP"], &[a, b]), (text.clone(), false));
        }
    }
}
