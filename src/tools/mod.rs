//! Tools the model may call: the calls it writes (in its answer only, never in its thinking)
//! and the parsers that read them in each model family's own format.
//!
//! The stream router decides what is thinking and what is the answer; only the answer channel
//! is handed to a [`parse::CallParser`], so call-shaped text inside `<thinking>`,
//! `<reflection>` or `<think>` can never become a call.

pub mod approval;
pub mod builtin;
pub mod call;
pub mod deltas;
pub mod names;
pub mod offer;
pub mod parse;
pub mod policy;
pub mod record;
pub mod result;
pub mod workspace;

pub use call::ToolCall;
pub use offer::ToolSettings;
pub use parse::{CallFormat, CallParser, Piece};
pub use policy::{Policies, Policy};
pub use record::{CallRecord, CallStatus};
pub use result::Outcome;
pub use workspace::Workspace;
