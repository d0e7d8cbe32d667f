//! The main crate's tool vocabulary, as far as the included files (`config`, `llm`'s messages)
//! name it: the real files, by path (not the tools themselves, nor MCP's clients).

#[path = "../../src/tools/call.rs"]
pub mod call;
#[path = "../../src/tools/names.rs"]
pub mod names;
#[path = "../../src/tools/policy.rs"]
pub mod policy;
#[path = "../../src/tools/result.rs"]
pub mod result;

pub use call::ToolCall;
pub use policy::Policy;
