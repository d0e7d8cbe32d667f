//! The main crate's backend-neutral vocabulary, as far as the included files (`config`,
//! `profile`, `prompt`) name it: the real files, by path (the budget's settings included).

#[path = "../../src/llm/budget.rs"]
pub mod budget;
#[path = "../../src/llm/message.rs"]
mod message;
#[path = "../../src/llm/sampling.rs"]
mod sampling;

pub use budget::BudgetSettings;
pub use message::{ChatMessage, Role};
pub use sampling::{SamplingOverrides, SamplingSettings};
