//! The invariants themselves: each feeds the router and describes the first violation.

use super::super::open_blocks::{Blocks, Dropped, Effect};
use super::fence_model::FenceModel;
use super::*;

/// (1)/(2) Two splits of the same input give the same events (up to text merging), the same
/// collected text and the same summary.
pub fn check_equivalent(config: &RouterConfig, a: &[Piece], b: &[Piece]) -> Result<(), String> {
    let (ra, rb) = (feed(config, a), feed(config, b));
    if ra.collected != rb.collected {
        return Err(format!(
            "collected differs:\n{:?}\nvs\n{:?}",
            ra.collected, rb.collected
        ));
    }
    if ra.summary != rb.summary {
        return Err(format!(
            "summary differs: {:?} vs {:?}",
            ra.summary, rb.summary
        ));
    }
    let (na, nb) = (normalize(&ra.events), normalize(&rb.events));
    if na != nb {
        return Err(format!("events differ:\n{na:?}\nvs\n{nb:?}"));
    }
    Ok(())
}

/// The longest suffix of `text` that is a proper prefix of a tag.
fn longest_tag_prefix_suffix<'a>(text: &'a str, tags: &[String]) -> &'a str {
    let longest = tags.iter().map(String::len).max().unwrap_or(0);
    let start = text.len().saturating_sub(longest.saturating_sub(1));
    (start..text.len())
        .filter(|&i| text.is_char_boundary(i))
        .map(|i| &text[i..])
        .find(|s| tags.iter().any(|t| t.len() > s.len() && t.starts_with(s)))
        .unwrap_or("")
}

/// (4) After every piece: held text is shorter than the longest tag, is exactly the longest
/// suffix of the input that could still become a tag (none inside an Output code fence), and
/// everything else has been reported (raw mode: text, tags and ignored input add up).
pub fn check_holdback(config: &RouterConfig, pieces: &[Piece]) -> Result<(), String> {
    let tags: Vec<String> = config.tags.tags().into_iter().map(|t| t.0).collect();
    let raw = !config.trim_whitespace;
    let mut input = String::new();
    let check = |router: &Router, rec: &Recorder, piece: &Piece| {
        match piece {
            Piece::Text(t) => input.push_str(t),
            Piece::Tag(tag) => input.push_str(&config.tags.canonical(*tag)),
        }
        let held = router.held_len();
        if held > 0 && held >= router.max_tag_len() {
            return Err(format!(
                "held {held} bytes, longest tag {}",
                router.max_tag_len()
            ));
        }
        let want = if router.stopped() || router.in_code_fence() || matches!(piece, Piece::Tag(_)) {
            ""
        } else {
            longest_tag_prefix_suffix(&input, &tags)
        };
        if held != want.len() {
            return Err(format!(
                "held {held} bytes after {piece:?}, expected {want:?} (input {input:?})"
            ));
        }
        if raw && rec.reported_bytes + held != input.len() {
            return Err(format!(
                "reported {} + held {held} != input {} bytes after {piece:?}",
                rec.reported_bytes,
                input.len()
            ));
        }
        Ok(())
    };
    feed_with(config, pieces, check).map(|_| ())
}

/// (5) Raw mode: text, tags and ignored input, in order, reproduce the input exactly.
pub fn check_nothing_lost(config: &RouterConfig, pieces: &[Piece]) -> Result<(), String> {
    let raw = RouterConfig {
        trim_whitespace: false,
        ..config.clone()
    };
    let outcome = feed(&raw, pieces);
    let rebuilt: String = outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Text(_, t) | Event::Tag(_, t) | Event::Ignored(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let input = input_text(config, pieces);
    if rebuilt != input {
        return Err(format!("rebuilt {rebuilt:?}\n != input {input:?}"));
    }
    Ok(())
}

/// (3) No structural tag in any channel's text: between two consecutive tag events, the text of
/// Thinking and Reflection holds no tag, and (raw mode) the Output text holds none outside a code
/// fence; no text tag is recognised inside a fence. Also: every text event is non-empty and goes
/// to the channel the block table says.
pub fn check_no_tags(config: &RouterConfig, pieces: &[Piece]) -> Result<(), String> {
    let outcome = feed(config, pieces);
    let mut walk = NoTags {
        config,
        tags: config.tags.tags().into_iter().map(|t| t.0).collect(),
        raw: !config.trim_whitespace,
        blocks: Blocks::new(config.start_in_thinking),
        fence: FenceModel::new(),
        segment: String::new(),
        tag_starts: Vec::new(),
        token_next: false,
        stopped: false,
    };
    for (i, event) in outcome.events.iter().enumerate() {
        match event {
            Event::TokenPushed => walk.token_next = true,
            Event::Text(channel, text) => walk.text(*channel, text)?,
            Event::Tag(tag, text) => walk.tag(*tag, text, outcome.events.get(i + 1))?,
            Event::ReflectionStart(_)
            | Event::ReflectionEnd(_)
            | Event::Anomaly(_)
            | Event::Ignored(_) => {}
        }
    }
    walk.end_segment()
}

/// [`check_no_tags`]'s walk over the events: the block table's channel, the fence model of
/// the Output text, and the text since the last tag event with where a tag could start in it.
struct NoTags<'a> {
    config: &'a RouterConfig,
    tags: Vec<String>,
    raw: bool,
    blocks: Blocks,
    fence: FenceModel,
    segment: String,
    tag_starts: Vec<usize>,
    /// The next tag event comes from a tag token (not from text).
    token_next: bool,
    /// The answer is complete: no text may follow.
    stopped: bool,
}

impl NoTags<'_> {
    fn text(&mut self, channel: Channel, text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Err("empty text event".into());
        }
        if self.stopped {
            return Err(format!("text {text:?} after the answer was complete"));
        }
        if channel != self.blocks.channel() {
            let blocks = &self.blocks;
            return Err(format!("{text:?} sent to {channel:?}, expected {blocks:?}"));
        }
        if channel != Channel::Output {
            self.segment.push_str(text);
        } else if self.raw {
            // Only positions outside a fence count (the model needs the raw text).
            for c in text.chars() {
                self.fence.step(c);
                if c == '<' && self.fence.open.is_none() {
                    self.tag_starts.push(self.segment.len());
                }
                self.segment.push(c);
            }
        }
        Ok(())
    }

    /// A tag event, `next` the event after it (the anomaly a dropped tag must come with).
    fn tag(&mut self, tag: TagToken, text: &str, next: Option<&Event>) -> Result<(), String> {
        let token = std::mem::take(&mut self.token_next);
        let in_output = self.blocks.channel() == Channel::Output;
        if !token && in_output && self.raw {
            self.fence.step('<');
            if self.fence.open.is_some() {
                return Err(format!("tag {text:?} recognised inside a code fence"));
            }
        }
        self.end_segment()?;
        match self.blocks.apply(tag) {
            Effect::Dropped(why) => {
                let expected = match why {
                    Dropped::Stray => Anomaly::StrayClosingTag(text.to_string()),
                    Dropped::Repeated => Anomaly::RepeatedOpeningTag(text.to_string()),
                };
                if next != Some(&Event::Anomaly(expected.clone())) {
                    return Err(format!("dropped tag {text:?} without {expected:?}"));
                }
                if token {
                    self.fence = FenceModel::new();
                } else {
                    text.chars().skip(1).for_each(|c| self.fence.step(c));
                }
            }
            Effect::Moved { next, .. } => {
                self.blocks = next;
                self.fence = FenceModel::new();
                if tag == TagToken::close(Channel::Output) {
                    self.stopped = self.config.stop_after_output;
                }
            }
        }
        Ok(())
    }

    /// The text between two tag events (one channel) holds no tag; starts the next.
    fn end_segment(&mut self) -> Result<(), String> {
        let output = self.blocks.channel() == Channel::Output;
        let segment = &self.segment;
        let found = if !output {
            self.tags.iter().find(|t| segment.contains(t.as_str()))
        } else {
            self.tag_starts.iter().find_map(|&s| {
                self.tags.iter().find(|t| {
                    segment
                        .get(s..)
                        .is_some_and(|rest| rest.starts_with(t.as_str()))
                })
            })
        };
        if let Some(t) = found {
            return Err(format!("channel text {segment:?} holds tag {t:?}"));
        }
        self.tag_starts.clear();
        self.segment.clear();
        Ok(())
    }
}

fn non_ws(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Trimming changes only whitespace: with and without it, the same tags are consumed, the
/// same anomalies reported, each channel and reflection has the same non-whitespace text; with
/// it, no channel text or reflection starts or ends with whitespace.
pub fn check_trimming(config: &RouterConfig, pieces: &[Piece]) -> Result<(), String> {
    let with = |trim| {
        feed(
            &RouterConfig {
                trim_whitespace: trim,
                ..config.clone()
            },
            pieces,
        )
    };
    let (trimmed, raw) = (with(true), with(false));
    let tag_events = |o: &Outcome| -> Vec<Event> {
        o.events
            .iter()
            .filter(|e| matches!(e, Event::Tag(..) | Event::Anomaly(_)))
            .cloned()
            .collect()
    };
    if tag_events(&trimmed) != tag_events(&raw) {
        return Err("trimming changed the tags or anomalies".into());
    }
    let (t, r) = (&trimmed.collected, &raw.collected);
    let texts = |c: &Collected| -> Vec<String> {
        [c.thinking.as_str(), c.output.as_str()]
            .into_iter()
            .chain(c.reflections.iter().map(String::as_str))
            .map(String::from)
            .collect()
    };
    let (tt, rt) = (texts(t), texts(r));
    if tt.len() != rt.len() || tt.iter().zip(&rt).any(|(a, b)| non_ws(a) != non_ws(b)) {
        return Err(format!(
            "trimming changed non-whitespace text: {t:?} vs {r:?}"
        ));
    }
    if let Some(bad) = tt.iter().find(|s| s.trim() != s.as_str()) {
        return Err(format!("trimmed text {bad:?} has outer whitespace"));
    }
    if trimmed.summary != raw.summary {
        return Err(format!(
            "summary depends on trimming: {:?} vs {:?}",
            trimmed.summary, raw.summary
        ));
    }
    Ok(())
}

/// The summary agrees with the events: counts, unclosed blocks, missing answer, reflection
/// start/end pairing.
pub fn check_summary(config: &RouterConfig, pieces: &[Piece]) -> Result<(), String> {
    let o = feed(config, pieces);
    let count = |f: &dyn Fn(&Event) -> bool| o.events.iter().filter(|e| f(e)).count();
    let s = &o.summary;
    if s.anomalies != count(&|e| matches!(e, Event::Anomaly(_))) {
        return Err(format!(
            "anomaly count {} disagrees with events",
            s.anomalies
        ));
    }
    let starts: Vec<usize> = o
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ReflectionStart(n) => Some(*n),
            _ => None,
        })
        .collect();
    let ends: Vec<usize> = o
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ReflectionEnd(n) => Some(*n),
            _ => None,
        })
        .collect();
    if starts != (1..=s.reflections).collect::<Vec<_>>() || ends != starts {
        return Err(format!(
            "reflections {starts:?} / {ends:?} vs {}",
            s.reflections
        ));
    }
    if o.collected.reflections.len() != s.reflections {
        return Err("collected reflection count disagrees".into());
    }
    let unclosed: Vec<Channel> = o
        .collected
        .anomalies
        .iter()
        .filter_map(|a| match a {
            Anomaly::UnclosedBlock(c) => Some(*c),
            _ => None,
        })
        .collect();
    if unclosed != s.open_blocks {
        return Err(format!("unclosed {unclosed:?} vs open {:?}", s.open_blocks));
    }
    if s.answer_missing != o.collected.output.trim().is_empty() {
        return Err(format!(
            "answer_missing {} vs {:?}",
            s.answer_missing, o.collected.output
        ));
    }
    Ok(())
}

/// Every check: `pieces` as given, re-split at `cuts`, as single characters and one-shot.
pub fn check_all(config: &RouterConfig, pieces: &[Piece], cuts: &[usize]) -> Result<(), String> {
    let whole = one_shot(pieces);
    let chars = single_chars(pieces);
    check_equivalent(config, pieces, &whole).map_err(|e| format!("streaming vs one-shot: {e}"))?;
    check_equivalent(config, &resplit(pieces, cuts), &whole)
        .map_err(|e| format!("re-split vs one-shot: {e}"))?;
    check_equivalent(config, &chars, &whole).map_err(|e| format!("chars vs one-shot: {e}"))?;
    for trim in [true, false] {
        let config = RouterConfig {
            trim_whitespace: trim,
            ..config.clone()
        };
        check_no_tags(&config, pieces).map_err(|e| format!("no tags (trim {trim}): {e}"))?;
        check_holdback(&config, pieces).map_err(|e| format!("holdback (trim {trim}): {e}"))?;
        check_holdback(&config, &chars)
            .map_err(|e| format!("holdback, chars (trim {trim}): {e}"))?;
        check_summary(&config, pieces).map_err(|e| format!("summary (trim {trim}): {e}"))?;
    }
    check_nothing_lost(config, pieces).map_err(|e| format!("nothing lost: {e}"))?;
    check_trimming(config, pieces).map_err(|e| format!("trimming: {e}"))?;
    Ok(())
}
