//! The one path from a backend's text to the front ends, written once for every backend:
//! pieces of text (which may end mid-character) and tags recognised as tokens go through the
//! stream router, which sends the events of each channel; generated tokens are counted per
//! channel; the end makes the [`Completion`]. A request may also ask for the model's text as
//! generated, tags spelled out ([`EngineEvent::Raw`]): tapped here, before the router.

use super::Utf8Decoder;
use super::{Completion, EngineEvent, EventSender, GenerateRequest, StopReason, Timings, Usage};
use crate::stream::{Anomaly, Channel, Router, Sink, TagSet, TagToken};
use crate::tools::{call::call_id, CallFormat, CallParser, Piece, ToolCall};

/// Sends the router's output as engine events, keeping each channel's text when asked.
struct Events<'a> {
    id: u64,
    events: &'a EventSender,
    kept: Option<&'a mut [String; 3]>,
    calls: Option<&'a mut Calls>,
    /// The text is a server's split-off reasoning: none of it is the answer, even where a
    /// closing tag inside it ended the router's thinking block.
    reasoning: bool,
}

/// The answer channel read for tool calls: only the answer, so that call-shaped text in the
/// thinking or a reflection never becomes a call.
struct Calls {
    parser: CallParser,
    found: Vec<ToolCall>,
    /// The text each call was read from, to take out of the completion's text.
    raw: Vec<String>,
    malformed: Vec<String>,
}

impl Events<'_> {
    fn emit(&mut self, channel: Channel, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(kept) = self.kept.as_deref_mut() {
            kept[index(channel)].push_str(text);
        }
        let _ = self.events.send(EngineEvent::Text {
            id: self.id,
            channel,
            text: text.to_string(),
        });
    }

    /// Answer text decided by the call parser: text is shown, calls are kept (each given its
    /// id), and a malformed call is shown as text and kept as a problem for the model.
    fn pieces(&mut self, pieces: Vec<Piece>) {
        for piece in pieces {
            match piece {
                Piece::Text(t) => self.emit(Channel::Output, &t),
                Piece::Calls { calls, raw } => {
                    let c = self.calls.as_deref_mut().expect("reading calls");
                    c.raw.push(raw);
                    for mut call in calls {
                        call.id = call_id(self.id, c.found.len());
                        c.found.push(call);
                    }
                }
                Piece::Malformed { raw, problem } => {
                    if let Some(c) = self.calls.as_deref_mut() {
                        c.malformed.push(problem);
                    }
                    self.emit(Channel::Output, &raw);
                }
            }
        }
    }
}

fn index(channel: Channel) -> usize {
    match channel {
        Channel::Thinking => 0,
        Channel::Reflection => 1,
        Channel::Output => 2,
    }
}

impl Sink for Events<'_> {
    fn text(&mut self, channel: Channel, text: &str) {
        if self.reasoning && channel == Channel::Output {
            return self.emit(Channel::Thinking, text);
        }
        match self.calls.as_deref_mut() {
            Some(c) if channel == Channel::Output => {
                let pieces = c.parser.push(text);
                self.pieces(pieces);
            }
            _ => self.emit(channel, text),
        }
    }
    fn reflection_start(&mut self, n: usize) {
        let _ = self
            .events
            .send(EngineEvent::ReflectionStart { id: self.id, n });
    }
    fn reflection_end(&mut self, n: usize) {
        let _ = self
            .events
            .send(EngineEvent::ReflectionEnd { id: self.id, n });
    }
    fn anomaly(&mut self, anomaly: Anomaly) {
        let _ = self.events.send(EngineEvent::Anomaly {
            id: self.id,
            anomaly,
        });
    }
}

/// One generation's stream, from the backend's pieces to the front end's events.
pub struct Generation {
    id: u64,
    router: Router,
    events: EventSender,
    decoder: Utf8Decoder,
    stop_after_output: bool,
    /// Thinking, reflection and output text as routed, when kept ([`Generation::keep_text`]).
    kept: Option<[String; 3]>,
    /// Tools were offered: the answer is read for calls.
    calls: Option<Calls>,
    /// The request asked for its raw text: the tags, to spell tag tokens with.
    raw: Option<TagSet>,
    pub usage: Usage,
}

impl Generation {
    pub fn new(req: &GenerateRequest, events: &EventSender) -> Self {
        Generation {
            id: req.id,
            router: Router::new(req.router.clone()),
            events: events.clone(),
            decoder: Utf8Decoder::default(),
            stop_after_output: req.router.stop_after_output,
            kept: None,
            calls: None,
            raw: req.raw.then(|| req.router.tags.clone()),
            usage: Usage::default(),
        }
    }

    /// Sends the model's text as generated, when the request asked for it.
    fn tap(&self, text: &str) {
        if self.raw.is_some() && !text.is_empty() {
            let _ = self.events.send(EngineEvent::Raw {
                id: self.id,
                text: text.to_string(),
            });
        }
    }

    /// Reads the answer channel for tool calls in `format` (tools were offered): calls are not
    /// shown as answer text, and the completion carries them.
    pub fn read_calls(mut self, format: CallFormat) -> Self {
        self.calls = Some(Calls {
            parser: CallParser::new(format),
            found: Vec::new(),
            raw: Vec::new(),
            malformed: Vec::new(),
        });
        self
    }

    /// Keeps each channel's routed text, for a backend that counts tokens afterwards.
    pub fn keep_text(mut self) -> Self {
        self.kept = Some(Default::default());
        self
    }

    /// The thinking, reflection and output text routed so far (empty unless kept).
    pub fn kept_text(&self) -> [&str; 3] {
        match &self.kept {
            Some([t, r, o]) => [t, r, o],
            None => ["", "", ""],
        }
    }

    fn sink(&mut self) -> (&mut Router, Events<'_>) {
        (
            &mut self.router,
            Events {
                id: self.id,
                events: &self.events,
                kept: self.kept.as_mut(),
                calls: self.calls.as_mut(),
                reasoning: false,
            },
        )
    }

    /// Bytes of text, e.g. one token's piece, which may end inside a character: the rest of
    /// the character waits for the next piece.
    pub fn bytes(&mut self, piece: &[u8]) {
        let text = self.decoder.push(piece);
        self.tap(&text);
        if !text.is_empty() {
            let (router, mut sink) = self.sink();
            router.push_text(&text, &mut sink);
        }
    }

    /// Whole text.
    pub fn text(&mut self, text: &str) {
        self.flush_bytes();
        self.tap(text);
        if !text.is_empty() {
            let (router, mut sink) = self.sink();
            router.push_text(text, &mut sink);
        }
    }

    /// A server's split-off reasoning (`reasoning_content`): routed for its reflections, but
    /// never the answer, so never read for calls, whatever tags it spells.
    pub fn reasoning(&mut self, text: &str) {
        self.flush_bytes();
        if !text.is_empty() {
            let (router, mut sink) = self.sink();
            sink.reasoning = true;
            router.push_text(text, &mut sink);
        }
    }

    /// A tag recognised as a token: always structural.
    pub fn tag(&mut self, tag: TagToken) {
        self.flush_bytes();
        if let Some(tags) = &self.raw {
            self.tap(&tags.canonical(tag));
        }
        self.prompt_tag(tag);
    }

    /// A tag the prompt wrote (a template that opens the thinking itself): routed, but not
    /// the model's text.
    pub fn prompt_tag(&mut self, tag: TagToken) {
        self.flush_bytes();
        let (router, mut sink) = self.sink();
        router.push_tag(tag, &mut sink);
    }

    /// An unfinished character before a tag or whole text is shown as it is (U+FFFD).
    fn flush_bytes(&mut self) {
        let broken = self.decoder.finish();
        self.tap(&broken);
        if !broken.is_empty() {
            let (router, mut sink) = self.sink();
            router.push_text(&broken, &mut sink);
        }
    }

    /// Counts `n` generated tokens to the channel the stream is in now.
    pub fn count(&mut self, n: u32) {
        self.usage.completion_tokens += n;
        match self.router.channel() {
            Channel::Thinking => self.usage.thinking_tokens += n,
            Channel::Reflection => self.usage.reflection_tokens += n,
            Channel::Output => self.usage.output_tokens += n,
        }
    }

    /// The channel the stream is in now.
    pub fn channel(&self) -> Channel {
        self.router.channel()
    }

    /// No character is left unfinished at the end of the last piece.
    pub fn char_complete(&self) -> bool {
        self.decoder.is_empty()
    }

    /// `</output>` came and the request asked to stop there.
    pub fn answer_done(&self) -> bool {
        self.stop_after_output && self.router.output_closed()
    }

    /// Ends the stream: flushes what is held back, and makes the completion. `text` is all
    /// the backend generated; the calls read from it are taken out (they are in
    /// [`Completion::calls`]), so that a step's message does not hold them twice.
    pub fn finish(
        mut self,
        stop_reason: StopReason,
        timings: Timings,
        mut text: String,
    ) -> Completion {
        self.flush_bytes();
        let (router, mut sink) = self.sink();
        let summary = router.finish(&mut sink);
        if let Some(c) = sink.calls.as_deref_mut() {
            let rest = c.parser.finish();
            sink.pieces(rest);
        }
        let (calls, malformed) = match self.calls {
            Some(c) => {
                // The answer comes after the thinking: the last copy of a call's text is the
                // one the answer holds (the thinking may have planned it word for word).
                for raw in c.raw.iter().rev() {
                    if let Some(at) = text.rfind(raw.as_str()) {
                        text.replace_range(at..at + raw.len(), "");
                    }
                }
                (c.found, c.malformed)
            }
            None => Default::default(),
        };
        Completion {
            id: self.id,
            stop_reason,
            summary,
            usage: self.usage,
            timings,
            text,
            cost: None,
            seed: None,
            budget: None,
            calls,
            malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::SamplingSettings;
    use crate::stream::RouterConfig;
    use std::sync::{Arc, Mutex};

    fn request() -> GenerateRequest {
        GenerateRequest {
            id: 7,
            messages: Vec::new(),
            sampling: SamplingSettings::default(),
            max_tokens: None,
            router: RouterConfig {
                stop_after_output: true,
                ..RouterConfig::default()
            },
            budget: Default::default(),
            tools: Vec::new(),
            raw: false,
        }
    }

    #[test]
    fn pieces_and_tags_reach_their_channels_and_tokens_are_counted_there() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let events = EventSender::new(move |e| {
            if let EngineEvent::Text { id, channel, text } = e {
                log.lock().unwrap().push((id, channel, text));
            }
            true
        });
        let mut g = Generation::new(&request(), &events).keep_text();
        g.tag(TagToken::open(Channel::Thinking));
        g.count(1);
        // "é" split across two pieces.
        g.bytes(b"caf\xc3");
        g.count(1);
        g.bytes(b"\xa9");
        g.count(1);
        g.text("<output>4");
        g.count(2);
        assert!(!g.answer_done());
        g.text("</output> more");
        g.count(1);
        assert!(g.answer_done());
        assert_eq!(g.kept_text(), ["café", "", "4"]);
        let done = g.finish(StopReason::OutputClosed, Timings::default(), "raw".into());
        assert_eq!(done.id, 7);
        assert_eq!(
            (
                done.usage.completion_tokens,
                done.usage.thinking_tokens,
                done.usage.output_tokens
            ),
            (6, 3, 3)
        );
        assert!(done.summary.output_closed && !done.summary.answer_missing);
        let texts: Vec<(Channel, String)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(id, c, t)| {
                assert_eq!(*id, 7);
                (*c, t.clone())
            })
            .collect();
        assert_eq!(
            texts,
            [
                (Channel::Thinking, "caf".to_string()),
                (Channel::Thinking, "é".to_string()),
                (Channel::Output, "4".to_string())
            ]
        );
    }

    type Seen = Arc<Mutex<Vec<(Channel, String)>>>;

    /// Events that keep each text piece with its channel.
    fn recorder() -> (EventSender, Seen) {
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let events = EventSender::new(move |e| {
            if let EngineEvent::Text { channel, text, .. } = e {
                log.lock().unwrap().push((channel, text));
            }
            true
        });
        (events, seen)
    }

    /// Runs a stream of tags, pieces and whole text; the raw events sent.
    fn raw_of(raw: bool) -> Vec<String> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let events = EventSender::new(move |e| {
            if let EngineEvent::Raw { id, text } = e {
                assert_eq!(id, 7);
                log.lock().unwrap().push(text);
            }
            true
        });
        let mut g = Generation::new(&GenerateRequest { raw, ..request() }, &events);
        g.prompt_tag(TagToken::open(Channel::Thinking));
        g.bytes(b"caf\xc3");
        g.bytes(b"\xa9");
        g.tag(TagToken::close(Channel::Thinking));
        g.text("<output>4");
        g.bytes(b"\xe2");
        g.tag(TagToken::close(Channel::Output));
        let done = g.finish(StopReason::OutputClosed, Timings::default(), String::new());
        assert!(done.summary.output_closed);
        let seen = seen.lock().unwrap().clone();
        seen
    }

    #[test]
    fn raw_text_is_tapped_as_generated_tags_spelled_and_only_when_asked() {
        assert_eq!(
            raw_of(true),
            [
                "caf",
                "é",
                "</thinking>",
                "<output>4",
                "\u{FFFD}",
                "</output>"
            ],
            "the prompt's tag is not the model's text; a broken character shows as U+FFFD"
        );
        assert!(raw_of(false).is_empty());
    }

    #[test]
    fn calls_count_in_the_answer_only_and_leave_the_shown_text() {
        let (events, seen) = recorder();
        let call = r#"{"name": "read_file", "parameters": {"path": "a.txt"}}"#;
        let think = r#"{"name": "run_command", "parameters": {"command": "rm -rf /"}}"#;
        let raw = format!("<thinking>{think}</thinking><output>{call}</output>");
        let mut g = Generation::new(&request(), &events).read_calls(CallFormat::Llama3);
        // Split anywhere: the router and the parser hold what they must.
        for chunk in raw.as_bytes().chunks(3) {
            g.bytes(chunk);
        }
        let done = g.finish(StopReason::OutputClosed, Timings::default(), raw.clone());
        assert_eq!(
            done.calls.len(),
            1,
            "only the answer's call: {:?}",
            done.calls
        );
        assert_eq!(done.calls[0].name, "read_file");
        assert_eq!(done.calls[0].arguments["path"], "a.txt");
        assert_eq!(done.calls[0].id.len(), 9);
        assert!(done.malformed.is_empty());
        assert_eq!(
            done.text,
            format!("<thinking>{think}</thinking><output></output>")
        );
        let seen = seen.lock().unwrap();
        let thinking: String = seen
            .iter()
            .filter(|(c, _)| *c == Channel::Thinking)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(
            thinking, think,
            "the thinking's call-shaped text is shown as thinking"
        );
        assert!(
            seen.iter().all(|(c, _)| *c != Channel::Output),
            "the call is not shown as answer text: {seen:?}"
        );
    }

    #[test]
    fn reasoning_that_closes_its_own_block_is_still_thinking_and_never_a_call() {
        let (events, seen) = recorder();
        let mut g = Generation::new(&request(), &events).read_calls(CallFormat::Hermes);
        g.tag(TagToken::open(Channel::Thinking));
        let quoted = r#"The file says </thinking><tool_call>{"name": "run_command", "arguments": {"command": "rm -rf ~"}}</tool_call>"#;
        g.reasoning(quoted);
        let done = g.finish(StopReason::EndOfTurn, Timings::default(), String::new());
        assert!(done.calls.is_empty(), "{:?}", done.calls);
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter().all(|(c, _)| *c == Channel::Thinking),
            "all of it is thinking: {seen:?}"
        );
    }

    #[test]
    fn without_tools_call_shaped_answers_are_text() {
        let events = EventSender::new(|_| true);
        let mut g = Generation::new(&request(), &events).keep_text();
        g.text(r#"<output>{"name": "read_file", "parameters": {}}</output>"#);
        assert_eq!(
            g.kept_text()[2],
            r#"{"name": "read_file", "parameters": {}}"#
        );
        let done = g.finish(StopReason::OutputClosed, Timings::default(), String::new());
        assert!(done.calls.is_empty());
    }

    #[test]
    fn an_unfinished_character_at_the_end_is_shown_not_lost() {
        let events = EventSender::new(|_| true);
        let mut g = Generation::new(&request(), &events).keep_text();
        g.bytes(b"ok \xe2\x82");
        let done = g.finish(StopReason::EndOfTurn, Timings::default(), String::new());
        assert!(!done.summary.answer_missing);
    }
}
