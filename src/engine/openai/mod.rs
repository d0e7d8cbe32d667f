//! An OpenAI-compatible server as a backend (vLLM, llama-server, Ollama, hosted APIs): the same
//! commands and events as llama.cpp in process. Content streams through the same router
//! ([`Generation`](crate::llm::Generation)); reasoning a server parsed out (`delta.reasoning` /
//! `reasoning_content`) goes to Thinking through the router too, so a `<reflection>` inside it
//! is still split out. Cancel and `</output>` close the connection, so the server stops
//! generating.
//!
//! `config` is the endpoint as configured (and its secrets), `commands` the engine thread
//! (connect, then the command loop), `connect` what the server serves; one generation is a
//! `job` (its parts: the request, the answer so far), which `generate` runs: the history fitted
//! into the context (`fit`), the stream read leg by leg (`stream`), the end of thinking forced
//! between legs, and counts, cost and timings at the end (`usage`); `http`, `sse` and `wire`
//! are the transport, the event stream and the JSON. Each file imports only those below it.

mod commands;
mod config;
mod connect;
mod fit;
mod generate;
mod http;
mod job;
mod sse;
mod stream;
mod usage;
mod wire;

pub(super) use commands::run;
pub use config::{redact, ApiKey, Price, RemoteConfig};
