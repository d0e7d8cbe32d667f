//! Per-channel text delivery with whitespace shaping: whitespace around blocks is not content.
//!
//! With trimming on, each channel drops its leading whitespace and withholds trailing
//! whitespace until more non-whitespace text arrives in the same channel (so inner whitespace
//! is kept exactly, even across a nested reflection). After a block boundary the withheld
//! whitespace becomes one paragraph break, emitted only if the channel gets more text.
//! Reflection blocks are shaped one block at a time. With trimming off, text passes through.

use super::channel::Channel;
use super::sink::Sink;

const PARAGRAPH: &str = "\n\n";

/// What precedes the next non-whitespace text of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lead {
    /// Nothing emitted yet: leading whitespace is dropped.
    Start,
    /// Text emitted, then a block boundary: whitespace is dropped, a paragraph break is due.
    Boundary,
    /// Mid-text: withheld whitespace (`pending`) is emitted before the next text.
    Inline,
}

#[derive(Clone, Debug)]
struct Lane {
    lead: Lead,
    pending: String,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            lead: Lead::Start,
            pending: String::new(),
        }
    }
}

/// Text delivery for all three channels.
#[derive(Clone, Debug)]
pub(super) struct Writers {
    trim: bool,
    lanes: [Lane; 3],
    answer_seen: bool,
}

/// An ASCII byte that `char::is_whitespace` accepts (note: includes vertical tab).
fn is_whitespace_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

fn index(channel: Channel) -> usize {
    match channel {
        Channel::Thinking => 0,
        Channel::Reflection => 1,
        Channel::Output => 2,
    }
}

impl Writers {
    pub(super) fn new(trim: bool) -> Writers {
        Writers {
            trim,
            lanes: [Lane::new(), Lane::new(), Lane::new()],
            answer_seen: false,
        }
    }

    /// Has any non-whitespace Output text been emitted?
    pub(super) fn answer_seen(&self) -> bool {
        self.answer_seen
    }

    /// Deliver literal text of `channel`.
    #[inline]
    pub(super) fn write(&mut self, channel: Channel, text: &str, sink: &mut impl Sink) {
        // Fast path (most model tokens): mid-text, nothing withheld, ends in a visible ASCII
        // character, so the whole text goes out as is.
        let lane = &self.lanes[index(channel)];
        if self.trim && lane.lead == Lead::Inline && lane.pending.is_empty() {
            if let Some(&last) = text.as_bytes().last() {
                if last.is_ascii() && !is_whitespace_byte(last) {
                    sink.text(channel, text);
                    self.answer_seen |= channel == Channel::Output;
                    return;
                }
            }
        }
        self.write_shaped(channel, text, sink);
    }

    fn write_shaped(&mut self, channel: Channel, text: &str, sink: &mut impl Sink) {
        if text.is_empty() {
            return;
        }
        if !self.trim {
            if channel == Channel::Output && !self.answer_seen {
                self.answer_seen = text.chars().any(|c| !c.is_whitespace());
            }
            sink.text(channel, text);
            return;
        }
        let lane = &mut self.lanes[index(channel)];
        let text = match lane.lead {
            Lead::Inline => text,
            Lead::Start | Lead::Boundary => text.trim_start(),
        };
        let body = text.trim_end();
        if body.is_empty() {
            // Only whitespace: keep it pending (dropped before any text or after a boundary).
            if lane.lead == Lead::Inline {
                lane.pending.push_str(text);
            }
            return;
        }
        match lane.lead {
            Lead::Start => {}
            Lead::Boundary => sink.text(channel, PARAGRAPH),
            Lead::Inline => {
                if !lane.pending.is_empty() {
                    sink.text(channel, &lane.pending);
                    lane.pending.clear();
                }
            }
        }
        sink.text(channel, body);
        lane.lead = Lead::Inline;
        lane.pending.push_str(&text[body.len()..]);
        if channel == Channel::Output {
            self.answer_seen = true;
        }
    }

    /// A top-level block boundary for `channel`: withheld whitespace becomes a paragraph break.
    pub(super) fn boundary(&mut self, channel: Channel) {
        let lane = &mut self.lanes[index(channel)];
        lane.pending.clear();
        if lane.lead != Lead::Start {
            lane.lead = Lead::Boundary;
        }
    }

    /// A new block of `channel` with its own text (reflections): start from scratch.
    pub(super) fn restart(&mut self, channel: Channel) {
        self.lanes[index(channel)] = Lane::new();
    }
}

#[cfg(test)]
mod tests {
    use super::super::sink::Collected;
    use super::*;

    const T: Channel = Channel::Thinking;
    const O: Channel = Channel::Output;

    fn write_all(w: &mut Writers, c: &mut Collected, channel: Channel, parts: &[&str]) {
        for p in parts {
            w.write(channel, p, c);
        }
    }

    #[test]
    fn leading_dropped_trailing_withheld() {
        let mut w = Writers::new(true);
        let mut c = Collected::default();
        write_all(&mut w, &mut c, T, &["  \n", " A.", " \n"]);
        assert_eq!(c.thinking, "A.");
        write_all(&mut w, &mut c, T, &["\n", "B "]);
        assert_eq!(c.thinking, "A. \n\nB");
    }

    #[test]
    fn boundary_becomes_paragraph_only_if_more_text() {
        let mut w = Writers::new(true);
        let mut c = Collected::default();
        write_all(&mut w, &mut c, O, &["one \n"]);
        w.boundary(O);
        write_all(&mut w, &mut c, O, &[" \n "]);
        assert_eq!(c.output, "one");
        write_all(&mut w, &mut c, O, &[" two"]);
        assert_eq!(c.output, "one\n\ntwo");
    }

    #[test]
    fn boundary_before_any_text_adds_nothing() {
        let mut w = Writers::new(true);
        let mut c = Collected::default();
        w.boundary(O);
        write_all(&mut w, &mut c, O, &["\n answer"]);
        assert_eq!(c.output, "answer");
    }

    #[test]
    fn restart_forgets_pending() {
        let mut w = Writers::new(true);
        let mut c = Collected::default();
        c.reflection_start(1);
        write_all(&mut w, &mut c, Channel::Reflection, &[" x \n"]);
        w.restart(Channel::Reflection);
        c.reflection_start(2);
        write_all(&mut w, &mut c, Channel::Reflection, &[" y"]);
        assert_eq!(c.reflections, ["x", "y"]);
    }

    #[test]
    fn raw_mode_passes_through() {
        let mut w = Writers::new(false);
        let mut c = Collected::default();
        write_all(&mut w, &mut c, O, &["  ", "\n"]);
        assert!(!w.answer_seen());
        w.boundary(O);
        write_all(&mut w, &mut c, O, &[" a "]);
        assert_eq!(c.output, "  \n a ");
        assert!(w.answer_seen());
    }

    #[test]
    fn whitespace_bytes_match_char_is_whitespace() {
        for b in 0u8..0x80 {
            assert_eq!(is_whitespace_byte(b), (b as char).is_whitespace(), "{b:#x}");
        }
    }

    #[test]
    fn unicode_whitespace_and_text() {
        let mut w = Writers::new(true);
        let mut c = Collected::default();
        write_all(&mut w, &mut c, O, &["\u{3000}思考", "\u{3000}", "🤔"]);
        assert_eq!(c.output, "思考\u{3000}🤔");
    }
}
