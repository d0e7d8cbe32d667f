//! What the router reports, and to whom: the `Sink` trait, anomalies, and a collecting sink.
//!
//! The consumer (panes, JSON writer, tests, fuzz target) implements `Sink`; the router never
//! buffers its output beyond what holdback and whitespace shaping require.

use super::channel::{Channel, TagToken};

/// Something off in the model's tagging, for a debug view. The offending tag is dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// A closing tag of a block that is not open, as written (e.g. `"</reflection>"`).
    StrayClosingTag(String),
    /// An opening tag of a block that is already open, as written.
    RepeatedOpeningTag(String),
    /// A block still open at finish.
    UnclosedBlock(Channel),
}

/// Receives routed output.
pub trait Sink {
    /// Text appended to a channel. Never empty, never contains a structural tag.
    fn text(&mut self, channel: Channel, text: &str);
    /// Reflection block n (1-based, counting within this stream) opened / closed.
    fn reflection_start(&mut self, _n: usize) {}
    fn reflection_end(&mut self, _n: usize) {}
    fn anomaly(&mut self, _a: Anomaly) {}
    /// A tag was consumed (structural or dropped as anomaly); `text` is exactly the input that
    /// formed it (for the nothing-lost property). Tag tokens report their canonical text.
    fn tag(&mut self, _tag: TagToken, _text: &str) {}
    /// Input ignored because the answer is complete (`stop_after_output`) or the stream has
    /// finished; tag tokens report their canonical text. Never empty.
    fn ignored(&mut self, _text: &str) {}
}

/// Convenience sink collecting everything (used by tests, the JSON writer, and the fuzz target).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub thinking: String,
    /// Reflection block n's text is `reflections[n - 1]` (empty blocks included).
    pub reflections: Vec<String>,
    pub output: String,
    pub anomalies: Vec<Anomaly>,
}

impl Collected {
    /// The text collected for a channel; reflections joined by blank lines.
    pub fn channel_text(&self, channel: Channel) -> String {
        match channel {
            Channel::Thinking => self.thinking.clone(),
            Channel::Reflection => self.reflections.join("\n\n"),
            Channel::Output => self.output.clone(),
        }
    }
}

impl Sink for Collected {
    fn text(&mut self, channel: Channel, text: &str) {
        match channel {
            Channel::Thinking => self.thinking.push_str(text),
            Channel::Output => self.output.push_str(text),
            Channel::Reflection => match self.reflections.last_mut() {
                Some(block) => block.push_str(text),
                None => self.reflections.push(text.to_owned()),
            },
        }
    }

    fn reflection_start(&mut self, n: usize) {
        while self.reflections.len() < n {
            self.reflections.push(String::new());
        }
    }

    fn anomaly(&mut self, a: Anomaly) {
        self.anomalies.push(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_per_channel_and_block() {
        let mut c = Collected::default();
        c.text(Channel::Output, "a");
        c.reflection_start(1);
        c.text(Channel::Reflection, "r1");
        c.reflection_end(1);
        c.reflection_start(2);
        c.reflection_end(2);
        c.reflection_start(3);
        c.text(Channel::Reflection, "r3");
        c.text(Channel::Thinking, "t");
        c.anomaly(Anomaly::UnclosedBlock(Channel::Thinking));
        assert_eq!(c.reflections, ["r1", "", "r3"]);
        assert_eq!(c.channel_text(Channel::Reflection), "r1\n\n\n\nr3");
        assert_eq!(c.channel_text(Channel::Output), "a");
        assert_eq!(c.channel_text(Channel::Thinking), "t");
        assert_eq!(c.anomalies, [Anomaly::UnclosedBlock(Channel::Thinking)]);
    }
}
