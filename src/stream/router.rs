//! The router: feeds text and tag tokens through tag matching, fences and the block table,
//! emitting each character to its channel as soon as it can no longer become part of a tag.
//!
//! Text is scanned once: a word-at-a-time search jumps to the next `<` (in the answer also to
//! the next newline, for fences) and everything before it is emitted in bulk. A `<` starts a
//! candidate that either completes a tag, fails (released as text at the failing byte), or
//! reaches the end of the piece and is held until the next piece.

use std::mem;

use super::channel::{Channel, TagToken};
use super::fence::Fence;
use super::open_blocks::{Blocks, Dropped, Effect};
use super::scan::{find1, find2, short_contains2};
use super::sink::{Anomaly, Collected, Sink};
use super::tags::TagSet;
use super::trie::{Node, Step, TagTrie, ROOT};
use super::writer::Writers;

/// How a stream is routed.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    pub tags: TagSet,
    /// The prompt pre-opened the thinking block: start inside it.
    pub start_in_thinking: bool,
    /// Whitespace around blocks is not content (default). `false` is raw mode: every byte of
    /// text is delivered as is, nothing added.
    pub trim_whitespace: bool,
    /// Once the output block is closed by a closing output tag, ignore everything after it.
    pub stop_after_output: bool,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            tags: TagSet::default(),
            start_in_thinking: false,
            trim_whitespace: true,
            stop_after_output: false,
        }
    }
}

/// The state of a finished stream.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Summary {
    /// No non-whitespace Output text was emitted.
    pub answer_missing: bool,
    /// Blocks still open at finish, outermost first (e.g. `[Thinking, Reflection]`).
    pub open_blocks: Vec<Channel>,
    pub output_closed: bool,
    pub reflections: usize,
    pub anomalies: usize,
}

/// Routes one stream of model output. See the module documentation for the rules.
#[derive(Clone, Debug)]
pub struct Router {
    config: RouterConfig,
    trie: TagTrie,
    /// Canonical spelling of each tag token, indexed by `token_index`.
    canonical: [String; 6],
    blocks: Blocks,
    fence: Fence,
    writers: Writers,
    /// Text withheld because it is a proper prefix of a tag, and its trie node.
    held: String,
    held_node: Option<Node>,
    reflections: usize,
    anomalies: usize,
    output_closed: bool,
    /// Ignoring input: the answer is complete (`stop_after_output`) or the stream finished.
    stopped: bool,
    ignored_bytes: usize,
    finished: Option<Summary>,
}

fn token_index(tag: TagToken) -> usize {
    let channel = match tag.channel {
        Channel::Thinking => 0,
        Channel::Reflection => 2,
        Channel::Output => 4,
    };
    channel + usize::from(tag.closing)
}

impl Router {
    /// A router for one stream. The tag set should pass `TagSet::validate`; an invalid one never
    /// panics, but tags containing `<` may then be missed.
    pub fn new(config: RouterConfig) -> Router {
        let tags = &config.tags;
        let canonical = [
            TagToken::open(Channel::Thinking),
            TagToken::close(Channel::Thinking),
            TagToken::open(Channel::Reflection),
            TagToken::close(Channel::Reflection),
            TagToken::open(Channel::Output),
            TagToken::close(Channel::Output),
        ]
        .map(|t| tags.canonical(t));
        Router {
            trie: TagTrie::new(tags),
            canonical,
            blocks: Blocks::new(config.start_in_thinking),
            fence: Fence::default(),
            writers: Writers::new(config.trim_whitespace),
            held: String::new(),
            held_node: None,
            reflections: 0,
            anomalies: 0,
            output_closed: false,
            stopped: false,
            ignored_bytes: 0,
            finished: None,
            config,
        }
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The channel text would currently go to.
    pub fn channel(&self) -> Channel {
        self.blocks.channel()
    }

    /// True once the Output block was closed by a closing output tag.
    pub fn output_closed(&self) -> bool {
        self.output_closed
    }

    /// True when input is being ignored: the answer is complete and `stop_after_output` is
    /// set, or `finish` was called.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Bytes of input ignored so far (see `stopped`).
    pub fn ignored_bytes(&self) -> usize {
        self.ignored_bytes
    }

    /// Inside a fenced code block of the Output channel (text tags are literal there)?
    pub fn in_code_fence(&self) -> bool {
        self.channel() == Channel::Output && self.fence.in_fence()
    }

    /// Bytes currently withheld as a possible tag prefix (always < `max_tag_len`).
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Length in bytes of the longest tag of the vocabulary.
    pub fn max_tag_len(&self) -> usize {
        self.trie.max_len()
    }

    /// Feed model text (any length).
    pub fn push_text(&mut self, text: &str, sink: &mut impl Sink) {
        if text.is_empty() {
            return;
        }
        if self.stopped {
            self.ignore(text, sink);
            return;
        }
        if self.held_node.is_none() && self.is_plain(text.as_bytes()) {
            // Fast path (most tokens): nothing held and nothing that could start a tag or
            // change the fence state.
            return self.literal(text, sink);
        }
        let mut start = 0;
        if let Some(node) = self.held_node {
            match self.trie.advance(node, text.as_bytes()) {
                Step::Partial(node) => {
                    self.held.push_str(text);
                    self.held_node = Some(node);
                    return;
                }
                Step::Tag { len, tag } => {
                    // Every tag ends with `>` (ASCII), so `len` is a char boundary of `text`.
                    self.held.push_str(&text[..len]);
                    self.held_node = None;
                    let formed = mem::take(&mut self.held);
                    self.on_tag(tag, &formed, sink);
                    self.held = formed;
                    self.held.clear();
                    if self.stopped {
                        self.ignore(&text[len..], sink);
                        return;
                    }
                    start = len;
                }
                Step::Fail { at } => {
                    // Released: the held text plus `text[..at]` are literal; the scan goes on
                    // at the failing byte, which may itself start a tag.
                    self.flush_held(sink);
                    return self.scan(text, at, 0, sink);
                }
            }
        }
        self.scan(text, start, start, sink);
    }

    /// Feed a tag the engine recognised as a special token. Always structural, even inside a
    /// code fence; text held as a possible tag prefix is released first.
    pub fn push_tag(&mut self, tag: TagToken, sink: &mut impl Sink) {
        let text = self.canonical[token_index(tag)].clone();
        if self.stopped {
            self.ignore(&text, sink);
            return;
        }
        self.flush_held(sink);
        self.on_tag(tag, &text, sink);
        self.fence.reset();
    }

    /// End the stream: flush held text literally into the current channel, report unclosed
    /// blocks, return the summary. Later calls return the same summary; later input is ignored.
    pub fn finish(&mut self, sink: &mut impl Sink) -> Summary {
        if let Some(summary) = &self.finished {
            return summary.clone();
        }
        self.flush_held(sink);
        let open_blocks = self.blocks.open_blocks();
        for &channel in &open_blocks {
            self.anomaly(Anomaly::UnclosedBlock(channel), sink);
        }
        if self.blocks.reflection {
            sink.reflection_end(self.reflections);
        }
        let summary = Summary {
            answer_missing: !self.writers.answer_seen(),
            open_blocks,
            output_closed: self.output_closed,
            reflections: self.reflections,
            anomalies: self.anomalies,
        };
        self.stopped = true;
        self.finished = Some(summary.clone());
        summary
    }

    /// Scan `text` from `pos`; `text[run..pos]` is literal text not yet emitted.
    #[inline]
    fn scan(&mut self, text: &str, mut pos: usize, mut run: usize, sink: &mut impl Sink) {
        let bytes = text.as_bytes();
        loop {
            let candidate = if self.channel() == Channel::Output {
                self.next_output_candidate(bytes, pos)
            } else {
                find1(bytes, pos, b'<')
            };
            let Some(at) = candidate else { break };
            match self.trie.advance(ROOT, &bytes[at..]) {
                Step::Tag { len, tag } => {
                    self.literal(&text[run..at], sink);
                    pos = at + len;
                    self.on_tag(tag, &text[at..pos], sink);
                    run = pos;
                    if self.stopped {
                        self.ignore(&text[pos..], sink);
                        return;
                    }
                }
                Step::Partial(node) => {
                    self.literal(&text[run..at], sink);
                    self.held.push_str(&text[at..]);
                    self.held_node = Some(node);
                    return;
                }
                // Resume at the failing byte: only it can start the next tag.
                Step::Fail { at: fail } => pos = at + fail.max(1),
            }
        }
        self.literal(&text[run..], sink);
    }

    /// A short text (token-sized) with no byte that could start a tag or move the fence
    /// tracker. Longer texts go straight to `scan`, so no byte is ever searched twice in bulk.
    #[inline]
    fn is_plain(&self, text: &[u8]) -> bool {
        let (other, fence_free) = if self.channel() == Channel::Output {
            (b'\n', self.fence.mid_line())
        } else {
            (b'<', true)
        };
        fence_free && short_contains2(text, b'<', other) == Some(false)
    }

    /// In the Output channel: track fences from `pos` and return the next `<` outside a fence.
    #[inline]
    fn next_output_candidate(&mut self, bytes: &[u8], mut pos: usize) -> Option<usize> {
        while let Some(&b) = bytes.get(pos) {
            if !self.fence.mid_line() {
                self.fence.step(b);
                if b == b'<' && !self.fence.in_fence() {
                    return Some(pos);
                }
                pos += 1;
                continue;
            }
            let next = if self.fence.in_fence() {
                find1(bytes, pos, b'\n')
            } else {
                find2(bytes, pos, b'<', b'\n')
            };
            let found = next?;
            if bytes.get(found) == Some(&b'<') {
                return Some(found);
            }
            self.fence.newline();
            pos = found + 1;
        }
        None
    }

    /// A tag was formed (from text or a token).
    fn on_tag(&mut self, tag: TagToken, text: &str, sink: &mut impl Sink) {
        sink.tag(tag, text);
        let (next, closed, opened) = match self.blocks.apply(tag) {
            Effect::Dropped(Dropped::Stray) => {
                return self.anomaly(Anomaly::StrayClosingTag(text.to_owned()), sink);
            }
            Effect::Dropped(Dropped::Repeated) => {
                return self.anomaly(Anomaly::RepeatedOpeningTag(text.to_owned()), sink);
            }
            Effect::Moved {
                next,
                closed,
                opened,
            } => (next, closed, opened),
        };
        let before = self.channel();
        for channel in closed.into_iter().flatten() {
            match channel {
                Channel::Reflection => {
                    self.writers.restart(Channel::Reflection);
                    sink.reflection_end(self.reflections);
                }
                Channel::Thinking => self.writers.boundary(Channel::Thinking),
                Channel::Output => {}
            }
        }
        self.blocks = next;
        if opened == Some(Channel::Reflection) {
            self.reflections += 1;
            self.writers.restart(Channel::Reflection);
            sink.reflection_start(self.reflections);
        }
        // Any move into, out of or within the answer is a paragraph boundary for it.
        if before == Channel::Output || self.channel() == Channel::Output {
            self.writers.boundary(Channel::Output);
        }
        self.fence.reset();
        if tag == TagToken::close(Channel::Output) {
            self.output_closed = true;
            self.stopped = self.config.stop_after_output;
        }
    }

    fn anomaly(&mut self, anomaly: Anomaly, sink: &mut impl Sink) {
        self.anomalies += 1;
        sink.anomaly(anomaly);
    }

    fn literal(&mut self, text: &str, sink: &mut impl Sink) {
        let channel = self.channel();
        self.writers.write(channel, text, sink);
    }

    /// Release held text as literal text of the current channel.
    fn flush_held(&mut self, sink: &mut impl Sink) {
        self.held_node = None;
        let held = mem::take(&mut self.held);
        self.literal(&held, sink);
        self.held = held;
        self.held.clear();
    }

    fn ignore(&mut self, text: &str, sink: &mut impl Sink) {
        if !text.is_empty() {
            self.ignored_bytes += text.len();
            sink.ignored(text);
        }
    }
}

/// One-shot helper: route a whole text.
pub fn route_all(config: &RouterConfig, text: &str) -> (Collected, Summary) {
    let mut router = Router::new(config.clone());
    let mut collected = Collected::default();
    router.push_text(text, &mut collected);
    let summary = router.finish(&mut collected);
    (collected, summary)
}
