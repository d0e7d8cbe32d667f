//! The engine thread for a server: start the network runtime and the client, connect, say
//! what was found (`Loaded`), then answer the engine's commands until shutdown: generations
//! as [`Job`]s, rendering as the request the server is sent, and what only llama.cpp does
//! said plainly.

use super::connect::{connect, no_tags_hint, Server};
use super::http::{Client, Stop};
use super::job::Job;
use super::wire;
use super::RemoteConfig;
use crate::llm::{
    ChatMessage, Command, EngineError, EngineEvent, EventSender, GenerateRequest, ModelInfo,
    RemoteErrorKind,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use tokio::runtime::Runtime;

pub(in crate::engine) fn run(
    config: RemoteConfig,
    commands: mpsc::Receiver<Command>,
    events: EventSender,
    cancel: Arc<AtomicU64>,
    answer_now: Arc<AtomicU64>,
) {
    let Some((runtime, client, server)) = start(&config, &events, &cancel) else {
        return;
    };
    let mut session = Session {
        config: &config,
        runtime: &runtime,
        client: &client,
        server: &server,
        events: &events,
        cancel: &cancel,
        answer_now: &answer_now,
        warned_tags: false,
        warned_budget: false,
        refused: Vec::new(),
    };
    for command in commands.iter() {
        if !session.answer(command) {
            break;
        }
    }
    // A DNS lookup still running (reqwest resolves on blocking threads) is not waited for.
    runtime.shutdown_background();
}

/// The runtime, the client and the server connected to, with `Loaded` sent; `None` (the error
/// sent) when any of them failed, or when the engine was dropped while connecting.
fn start(
    config: &RemoteConfig,
    events: &EventSender,
    cancel: &AtomicU64,
) -> Option<(Runtime, Client, Server)> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = events.send(EngineEvent::Error(EngineError::Remote {
                endpoint: config.label(),
                kind: RemoteErrorKind::Connect,
                message: format!("cannot start the network runtime: {e}"),
            }));
            return None;
        }
    };
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => {
            let _ = events.send(EngineEvent::Error(e));
            return None;
        }
    };
    let started = Instant::now();
    let gone = || cancel.load(Ordering::SeqCst) == u64::MAX;
    let server = match runtime.block_on(connect(&client, config, &gone)) {
        Ok(s) => s,
        Err(Stop::Cancelled) => return None,
        Err(Stop::Failed(e)) => {
            let _ = events.send(EngineEvent::Error(e));
            return None;
        }
    };
    let _ = events.send(EngineEvent::Loaded(Box::new(ModelInfo {
        name: server.model.clone(),
        backend: client.label.clone(),
        context_size: server.context.unwrap_or(0),
        tag_tokens: Vec::new(),
        load_ms: started.elapsed().as_millis() as u64,
        local: None,
    })));
    Some((runtime, client, server))
}

/// A connected server and what the session has said and learnt so far.
struct Session<'a> {
    config: &'a RemoteConfig,
    runtime: &'a Runtime,
    client: &'a Client,
    server: &'a Server,
    events: &'a EventSender,
    cancel: &'a AtomicU64,
    answer_now: &'a AtomicU64,
    /// Each warning is given once a session.
    warned_tags: bool,
    warned_budget: bool,
    /// Request fields the server refused: left out from then on.
    refused: Vec<String>,
}

impl Session<'_> {
    /// Answers one command; `false` on shutdown.
    fn answer(&mut self, command: Command) -> bool {
        let unsupported = |what: &str| {
            let _ = self
                .events
                .send(EngineEvent::Error(EngineError::Unsupported(format!(
                    "{}: {what}",
                    self.client.label
                ))));
        };
        match command {
            Command::Shutdown => return false,
            Command::StateFile(None) => {}
            Command::GenerateMany { .. } => unsupported(
                "batched generation is a llama.cpp feature; send concurrent requests instead",
            ),
            Command::Serve { .. } => {
                unsupported("reflect serve runs a local model; serve it with -m or --hf")
            }
            Command::StateFile(Some(_)) => unsupported(
                "a KV state file is a llama.cpp feature; the server keeps its own cache",
            ),
            Command::RenderPrompt(req) => self.render(&req.messages),
            Command::Generate(req) => self.generate(&req),
        }
        true
    }

    /// The server applies the chat template: what it is sent is the prompt. The API key
    /// travels in a header and is never shown.
    fn render(&self, messages: &[ChatMessage]) {
        let body = serde_json::json!({
            "model": self.server.model,
            "messages": wire::messages_json(messages),
        });
        let _ = self.events.send(EngineEvent::Prompt(format!(
            "POST {}/chat/completions\n{}\n",
            self.config.public_url().trim_end_matches('/'),
            serde_json::to_string_pretty(&body).unwrap_or_default()
        )));
    }

    /// One generation: its `Done`, or its error.
    fn generate(&mut self, req: &GenerateRequest) {
        if req.budget.min_thinking.is_some() && !self.warned_budget {
            // Said plainly, never faked: an end of thinking that already streamed cannot be
            // taken back from a server.
            self.warned_budget = true;
            let _ = self.events.send(EngineEvent::Warning(format!(
                "{}: --min-think is applied to local models only: a server's end of \
                 thinking has been sent before reflect could hold it back",
                self.client.label
            )));
        }
        let (cancel, answer_now) = (self.cancel, self.answer_now);
        let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
        let job = Job {
            client: self.client,
            server: self.server,
            config: self.config,
            req,
            events: self.events,
            gone: Box::new(|| cancel.load(Ordering::SeqCst) == u64::MAX),
            answer_now: Box::new(|| answer_now.load(Ordering::SeqCst) >= req.id),
        };
        let event = match self
            .runtime
            .block_on(job.run(&cancelled, &mut self.refused))
        {
            Ok((done, tagless)) => {
                if tagless && !self.warned_tags {
                    self.warned_tags = true;
                    let hint = no_tags_hint(self.config, self.server);
                    let _ = self.events.send(EngineEvent::Warning(hint));
                }
                EngineEvent::Done(Box::new(done))
            }
            Err(e) => EngineEvent::Error(e),
        };
        let _ = self.events.send(event);
    }
}
