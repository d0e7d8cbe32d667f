//! Routes a reasoning model's output, piece by piece, into Thinking, Reflection and Output.
//!
//! The heart of reflect, kept pure (std only: no llama.cpp, no terminal, no I/O, nothing from
//! the rest of the crate) so that it can be tested exhaustively and fuzzed on its own: the
//! fuzz crate includes this directory by path.
//!
//! # Input
//! Pieces are text (any length; a tag may be split anywhere across pieces) or tag tokens (the
//! engine recognised a special token such as `<thinking>` by id). [`Router::finish`] ends the
//! stream. Output goes to a [`Sink`]: channel text, reflection start/end, anomalies, consumed
//! tags, ignored input; `finish` returns a [`Summary`].
//!
//! # Tags
//! The vocabulary is data ([`TagSet`]): `<name>` and `</name>` for each name of each channel,
//! matched exactly and case-sensitively. Every tag of the vocabulary found in text is consumed
//! (structural, or dropped as an anomaly) in every state, except inside a fenced code block of
//! the Output channel, where text tags are literal content. Tag tokens are always structural.
//!
//! # Holdback
//! Only the longest suffix that is a proper prefix of a tag is withheld (a lone `<` included),
//! so holdback is always shorter than the longest tag, and a `<` that cannot become a tag is
//! released by the next piece. Nothing is ever rescanned: the cost is linear in the text.
//!
//! # Blocks
//! States: top level (text is the answer, Output), thinking, output block, and a reflection
//! nested in any of these. Untagged text, before the first tag or in a model that never uses
//! tags, is the answer. Effect of each tag (rows) in each state (columns):
//!
//! | tag            | top level    | thinking     | thinking+refl   | output block   | refl (top)   | output+refl     |
//! |----------------|--------------|--------------|-----------------|----------------|--------------|-----------------|
//! | `<thinking>`   | → thinking   | repeated     | repeated        | → thinking ¹   | → thinking ¹ | → thinking ¹    |
//! | `</thinking>`  | stray        | → top        | → top ²         | stray          | stray        | stray           |
//! | `<reflection>` | → refl (top) | → think+refl | repeated        | → output+refl  | repeated     | repeated        |
//! | `</reflection>`| stray        | stray        | → thinking      | stray          | → top        | → output block  |
//! | `<output>`     | → output     | → output ¹   | → output ¹      | repeated       | → output ¹   | repeated        |
//! | `</output>`    | stray        | stray        | stray           | → top ³        | stray        | → top ² ³       |
//!
//! - "stray" / "repeated": the tag is dropped and reported as
//!   [`Anomaly::StrayClosingTag`] / [`Anomaly::RepeatedOpeningTag`]; nothing else changes.
//! - ¹ A new top-level block implicitly closes whatever is open (no anomaly): `<output>` ends
//!   thinking, and `<thinking>` inside the answer ends the output block (without counting as a
//!   closed answer: [`Router::output_closed`] stays false).
//! - ² The first closing tag wins: closing the outer block closes a nested reflection too.
//! - ³ The answer is closed ([`Summary::output_closed`]); with
//!   [`RouterConfig::stop_after_output`] everything after it is ignored ([`Sink::ignored`]).
//! - A reflection outside thinking still goes to the Reflection channel and returns to where
//!   it was opened. Reflections are numbered from 1 within the stream; every
//!   `reflection_start(n)` is matched by `reflection_end(n)` (at finish for an unclosed one).
//! - [`RouterConfig::start_in_thinking`] starts in the thinking state (prompt pre-opened it).
//!
//! # Whitespace (`trim_whitespace`, the default)
//! Whitespace around blocks is not content. Per channel, leading whitespace is dropped and
//! trailing whitespace is withheld until more non-whitespace text arrives in that channel, so
//! inner whitespace is kept exactly (also across a nested reflection). Any move into, out of or
//! within the answer (output block opened/closed, a block interrupting top-level text) and the
//! end of a thinking block are paragraph boundaries: the withheld whitespace becomes `"\n\n"`,
//! emitted only if that channel gets more text. Each reflection block is trimmed on its own.
//! Whitespace still withheld at finish is dropped. "Whitespace" is Unicode `White_Space`.
//! With `trim_whitespace = false` (raw mode) the text, tag and ignored reports concatenate back
//! to the input exactly.
//!
//! # Code fences (Output channel only)
//! A line starting (after up to 3 spaces) with ≥3 backticks or tildes opens a fence, decided at
//! the byte that ends the run; a run of the same byte at least as long at a line start closes
//! it. Text after a marker on its line is not inspected (no lookahead). Inside a fence, text
//! tags are literal. Fence state resets at every structural tag and at every tag token.
//!
//! # Finish
//! Held text is flushed literally into the current channel; each open block is reported as
//! [`Anomaly::UnclosedBlock`] and listed in [`Summary::open_blocks`]; `answer_missing` says no
//! non-whitespace answer was emitted. Thinking is never moved into the answer.
//!
//! # Layout
//! `channel` and `tags` name things; `trie` matches tag text, `scan` finds the next byte that
//! matters, `fence` tracks code fences, `open_blocks` is the table above, `writer` shapes
//! whitespace, `router` ties them together, `sink` is the output side. [`check`] holds the
//! invariants shared by the property tests (`tests/it/router_props.rs`) and the fuzz target
//! (`fuzz/`, which includes this directory by path: hence std only and `super::` paths only).

mod channel;
pub mod check;
mod fence;
mod open_blocks;
mod router;
mod scan;
mod sink;
mod tags;
mod trie;
mod writer;

#[cfg(test)]
mod tests;

pub use channel::{Channel, TagToken};
pub use router::{route_all, Router, RouterConfig, Summary};
pub use sink::{Anomaly, Collected, Sink};
pub use tags::TagSet;
