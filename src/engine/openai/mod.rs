//! An OpenAI-compatible server as a backend (vLLM, llama-server, Ollama, hosted APIs): the same
//! commands and events as llama.cpp in process. Content streams through the same router
//! ([`Generation`](crate::llm::Generation)); reasoning a server parsed out (`delta.reasoning` /
//! `reasoning_content`) goes to Thinking through the router too, so a `<reflection>` inside it
//! is still split out. Cancel and `</output>` close the connection, so the server stops
//! generating.
//!
//! `config` is the endpoint as configured (and its secrets), `commands` the engine thread
//! (connect, then the command loop), `connect` what the server serves, `fit` the history into
//! its context, `job` one generation and its legs (the forced end of thinking), `stream` one
//! leg's events into the router, `usage` counts, cost and timings; `http`, `sse` and `wire`
//! the transport, the event stream and the JSON.

mod commands;
mod config;
mod connect;
mod fit;
mod http;
mod job;
mod sse;
mod stream;
mod usage;
mod wire;

pub(super) use commands::run;
pub use config::{redact, ApiKey, Price, RemoteConfig};
