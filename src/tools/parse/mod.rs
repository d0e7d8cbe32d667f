//! Reads tool calls out of the answer channel as it streams, in each model family's own
//! format. Pure: text in, [`Piece`]s out. Any split of the same text into pieces gives the same
//! result, and the pieces' raw text always adds up to the input (nothing is lost or invented).
//!
//! Each format is one `step` function over the text not yet decided: it says how much of its
//! start is plain text, or is a call (or a malformed one), or that it must wait for more. Only
//! the longest suffix that could still begin a call marker is held back.

mod hermes;
mod llama;
mod mistral;
mod scan;

use super::ToolCall;

/// The call formats reflect reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFormat {
    /// Llama 3.1 / 3.2 / 3.3: the answer is a JSON object `{"name": …, "parameters": …}`, or
    /// a call after `<|python_tag|>`.
    Llama3,
    /// Hermes, Qwen 2.5, Qwen 3: `<tool_call>{…}</tool_call>` anywhere in the answer.
    Hermes,
    /// Mistral: `[TOOL_CALLS][{…}, …]`, or `[TOOL_CALLS]name[ARGS]{…}` (v11 templates).
    Mistral,
}

/// A decided part of the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Answer text, shown as it is.
    Text(String),
    /// One or more calls, and the text they were read from.
    Calls { raw: String, calls: Vec<ToolCall> },
    /// Text that is plainly meant as a call but cannot be read as one: the model is told why.
    Malformed { raw: String, problem: String },
}

impl Piece {
    /// The text this piece was read from.
    pub fn raw(&self) -> &str {
        match self {
            Piece::Text(t) => t,
            Piece::Calls { raw, .. } | Piece::Malformed { raw, .. } => raw,
        }
    }
}

/// What a format's step decided about the start of the undecided text.
#[derive(Debug, PartialEq)]
enum Step {
    /// The first `n` bytes are plain text (`n > 0`).
    Text(usize),
    /// The first `n` bytes are calls (`n > 0`), or a malformed call.
    Call(usize, Result<Vec<ToolCall>, String>),
    /// Nothing can be decided before more text comes (never returned at the end).
    Wait,
}

/// Streams the answer channel through one format's parser.
#[derive(Debug, Clone)]
pub struct CallParser {
    format: CallFormat,
    pending: String,
    /// Only calls and whitespace so far: where Llama 3's bare JSON call may begin.
    at_start: bool,
}

impl CallParser {
    pub fn new(format: CallFormat) -> CallParser {
        CallParser {
            format,
            pending: String::new(),
            at_start: true,
        }
    }

    /// Takes the next piece of answer text; returns what is now decided.
    pub fn push(&mut self, text: &str) -> Vec<Piece> {
        self.pending.push_str(text);
        self.drain(false)
    }

    /// The answer ended: decides everything still held.
    pub fn finish(&mut self) -> Vec<Piece> {
        self.drain(true)
    }

    /// Whether text is held back, waiting to be decided.
    pub fn holding(&self) -> bool {
        !self.pending.is_empty()
    }

    fn drain(&mut self, end: bool) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        while !self.pending.is_empty() {
            let step = match self.format {
                CallFormat::Llama3 => llama::step(&self.pending, self.at_start, end),
                CallFormat::Hermes => hermes::step(&self.pending, end),
                CallFormat::Mistral => mistral::step(&self.pending, end),
            };
            let (n, piece) = match step {
                Step::Wait => break,
                Step::Text(n) => {
                    let text = &self.pending[..n];
                    if !text.trim().is_empty() {
                        self.at_start = false;
                    }
                    (n, Piece::Text(text.to_string()))
                }
                Step::Call(n, result) => {
                    let raw = self.pending[..n].to_string();
                    let piece = match result {
                        Ok(calls) => Piece::Calls { raw, calls },
                        Err(problem) => Piece::Malformed { raw, problem },
                    };
                    (n, piece)
                }
            };
            self.pending.drain(..n);
            push_merged(&mut out, piece);
        }
        out
    }
}

/// Adds a piece, joining it to text just before it.
fn push_merged(out: &mut Vec<Piece>, piece: Piece) {
    match (out.last_mut(), piece) {
        (Some(Piece::Text(prev)), Piece::Text(t)) => prev.push_str(&t),
        (_, piece) => out.push(piece),
    }
}

/// Parses a whole answer at once.
pub fn parse_all(format: CallFormat, text: &str) -> Vec<Piece> {
    let mut p = CallParser::new(format);
    let mut out = p.push(text);
    for piece in p.finish() {
        push_merged(&mut out, piece);
    }
    out
}

#[cfg(test)]
mod tests;
