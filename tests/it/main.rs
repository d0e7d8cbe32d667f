//! The integration tests, as one test binary (each binary used to link llama.cpp on its own):
//! the real engine on scripted and random models the tests write, the binary end to end, the
//! chat in a pseudo-terminal, and the endpoint client against a real llama-server.
//!
//! Run one file's tests with a filter: `cargo test --test it remote::`.

mod common;

mod bad_input;
mod budget;
mod chat_pty;
mod chat_tools_pty;
mod cli;
mod engine;
mod engine_tools;
mod eval;
mod hub;
mod jinja;
mod mcp;
mod mcp_loop;
mod multiturn;
mod pipe_edges;
mod pipe_tools;
mod profiles;
mod remote;
mod remote_faults;
mod remote_tools;
mod router_props;
mod semantic;
mod serve;
mod serve_bad;
mod serve_client;
mod serve_slots;
mod sessions;
mod sessions_follow_up;
mod shape;
mod speculative;
mod speculative_slots;
mod templates;
mod tokenizer_counts;
mod tui_pty;
