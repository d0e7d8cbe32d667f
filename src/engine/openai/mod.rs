//! An OpenAI-compatible server as a backend (vLLM, llama-server, Ollama, hosted APIs): the same
//! commands and events as llama.cpp in process. Content streams through the same router
//! ([`Generation`]); reasoning a server parsed out (`delta.reasoning` / `reasoning_content`)
//! goes to Thinking through the router too, so a `<reflection>` inside it is still split out.
//! Cancel and `</output>` close the connection, so the server stops generating.

mod http;
mod sse;
mod wire;

use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy, Token as BudgetToken};
use crate::llm::{
    drop_oldest_turn, ChatMessage, Command, Completion, EngineError, EngineEvent, EventSender,
    GenerateRequest, Generation, ModelInfo, RemoteErrorKind, Role, StopReason, Timings,
};
use crate::stream::{Channel, TagSet, TagToken};
use http::{cancellable, Client, Refusal, Stop};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use wire::{chat_body, chunk_of, error_of, strip_end_of_turn, ServerUsage};

/// An API key: never printed, logged or saved.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        (f64::from(prompt_tokens) * self.input + f64::from(completion_tokens) * self.output)
            / 1_000_000.0
    }
}

/// Everything needed to use a server.
#[derive(Clone, Debug)]
pub struct RemoteConfig {
    /// The endpoint's name in config.toml (`[endpoints.NAME]`), if it has one.
    pub name: Option<String>,
    /// The OpenAI-compatible base, e.g. `http://gpu-box:8000/v1`.
    pub url: String,
    /// The model id; `None`: the only one the server lists.
    pub model: Option<String>,
    pub api_key: Option<ApiKey>,
    /// The variable that holds (or should hold) the key, for error messages.
    pub api_key_env: String,
    pub price: Option<Price>,
    /// The context size, when config gives it; else the server is asked.
    pub context: Option<u32>,
    /// Send `skip_special_tokens: false` so that tags that are special tokens reach reflect;
    /// `None`: only to vLLM, which takes the field.
    pub keep_special_tokens: Option<bool>,
    /// The model's `tokenizer.json`: exact per-channel token counts with the `tokenizers` crate.
    pub tokenizer: Option<std::path::PathBuf>,
    /// The profile's tags (for the warning when none arrive).
    pub tags: TagSet,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
}

impl RemoteConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RemoteConfig {
            name: None,
            url: url.into(),
            model: None,
            api_key: None,
            api_key_env: "REFLECT_API_KEY".into(),
            price: None,
            context: None,
            keep_special_tokens: None,
            tokenizer: None,
            tags: TagSet::default(),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(300),
        }
    }

    /// The URL without a `user:password@` part.
    pub fn public_url(&self) -> String {
        redact(&self.url)
    }

    /// The endpoint's name, else its host and port: for the status bar and messages.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let host = rest.split('/').next().unwrap_or(rest);
        // user:password@ never shows.
        host.rsplit('@').next().unwrap_or(host).to_string()
    }
}

/// Text with any `scheme://user:password@` credentials removed.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace() || c == ')' || c == '"')
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// What connecting found.
struct Server {
    model: String,
    context: Option<u32>,
    /// llama-server: `/tokenize` counts tokens exactly.
    llama_server: bool,
    keep_special_tokens: bool,
    tokenizer: Option<tokenizers::Tokenizer>,
}

impl Server {
    /// Tokens in `text` by the configured tokenizer.json.
    fn tokens(&self, text: &str) -> Option<u32> {
        let t = self.tokenizer.as_ref()?;
        t.encode(text, false).ok().map(|e| e.len() as u32)
    }
}

pub(super) fn run(
    config: RemoteConfig,
    commands: mpsc::Receiver<Command>,
    events: EventSender,
    cancel: Arc<AtomicU64>,
    answer_now: Arc<AtomicU64>,
) {
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
            return;
        }
    };
    let client = match Client::new(&config) {
        Ok(c) => c,
        Err(e) => {
            let _ = events.send(EngineEvent::Error(e));
            return;
        }
    };
    let started = Instant::now();
    let gone = || cancel.load(Ordering::SeqCst) == u64::MAX;
    let server = match runtime.block_on(connect(&client, &config, &gone)) {
        Ok(s) => s,
        Err(Stop::Cancelled) => return,
        Err(Stop::Failed(e)) => {
            let _ = events.send(EngineEvent::Error(e));
            return;
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
    let mut warned_tags = false;
    let mut warned_budget = false;
    let mut refused: Vec<String> = Vec::new();
    for command in commands.iter() {
        match command {
            Command::Shutdown => break,
            Command::StateFile(None) => {}
            Command::GenerateMany { .. } => {
                let _ = events.send(EngineEvent::Error(EngineError::Unsupported(format!(
                    "{}: batched generation is a llama.cpp feature; send concurrent requests instead",
                    client.label
                ))));
            }
            Command::StateFile(Some(_)) => {
                let _ = events.send(EngineEvent::Error(EngineError::Unsupported(format!(
                    "{}: a KV state file is a llama.cpp feature; the server keeps its own cache",
                    client.label
                ))));
            }
            Command::RenderPrompt(messages) => {
                // The server applies the chat template: what it is sent is the prompt. The API
                // key travels in a header and is never shown.
                let body = serde_json::json!({
                    "model": server.model,
                    "messages": wire::messages_json(&messages),
                });
                let _ = events.send(EngineEvent::Prompt(format!(
                    "POST {}/chat/completions\n{}\n",
                    config.public_url().trim_end_matches('/'),
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                )));
            }
            Command::Generate(req) => {
                if req.budget.min_thinking.is_some() && !warned_budget {
                    // Said plainly, never faked: an end of thinking that already streamed
                    // cannot be taken back from a server.
                    warned_budget = true;
                    let _ = events.send(EngineEvent::Warning(format!(
                        "{}: --min-think is applied to local models only: a server's end of \
                         thinking has been sent before reflect could hold it back",
                        client.label
                    )));
                }
                let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
                let job = Job {
                    client: &client,
                    server: &server,
                    config: &config,
                    req: &req,
                    events: &events,
                    gone: Box::new(|| cancel.load(Ordering::SeqCst) == u64::MAX),
                    answer_now: Box::new(|| answer_now.load(Ordering::SeqCst) >= req.id),
                };
                let event = match runtime.block_on(job.run(&cancelled, &mut refused)) {
                    Ok((done, tagless)) => {
                        if tagless && !warned_tags {
                            warned_tags = true;
                            let _ =
                                events.send(EngineEvent::Warning(no_tags_hint(&config, &server)));
                        }
                        EngineEvent::Done(Box::new(done))
                    }
                    Err(e) => EngineEvent::Error(e),
                };
                let _ = events.send(event);
            }
        }
    }
    // A DNS lookup still running (reqwest resolves on blocking threads) is not waited for.
    runtime.shutdown_background();
}

/// Why a reply that should have had tags had none, and how to fix it.
fn no_tags_hint(config: &RemoteConfig, server: &Server) -> String {
    let tags: Vec<String> = config
        .tags
        .tags()
        .into_iter()
        .filter(|(_, t)| !t.closing)
        .map(|(text, _)| text)
        .collect();
    let fix = if server.llama_server {
        "start llama-server with --special (-sp), which renders the control tokens the tags are"
    } else if server.keep_special_tokens {
        "the server sent no tags although reflect asked it to keep special tokens; check the model and its chat template"
    } else {
        "if the server is vLLM, set special_tokens = true for this endpoint so that reflect sends skip_special_tokens: false"
    };
    format!(
        "the answer had none of the profile's tags ({}), so all of it was taken as the answer; servers drop tags that are special tokens unless told not to: {fix}",
        tags.join(", ")
    )
}

/// Lists the models, picks one, finds the context size.
async fn connect(
    client: &Client,
    config: &RemoteConfig,
    cancelled: &impl Fn() -> bool,
) -> Result<Server, Stop> {
    let models = client.models(cancelled).await?;
    let listed = || {
        models
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let model = match &config.model {
        Some(m) if models.is_empty() || models.iter().any(|x| &x.id == m) => m.clone(),
        Some(m) => {
            return Err(client
                .error(
                    RemoteErrorKind::Model,
                    format!("the server has no model '{m}'; it has: {}", listed()),
                )
                .into())
        }
        None => match &models[..] {
            [one] => one.id.clone(),
            [] => {
                return Err(client
                    .error(
                        RemoteErrorKind::Model,
                        "the server lists no model; name one with -m MODEL",
                    )
                    .into())
            }
            _ => {
                return Err(client
                    .error(
                        RemoteErrorKind::Model,
                        format!(
                            "the server has several models; choose one with -m: {}",
                            listed()
                        ),
                    )
                    .into())
            }
        },
    };
    let tokenizer = match &config.tokenizer {
        None => None,
        Some(path) => Some(tokenizers::Tokenizer::from_file(path).map_err(|e| {
            Stop::Failed(client.error(
                RemoteErrorKind::Request,
                format!("{}: not a usable tokenizer.json: {e}", path.display()),
            ))
        })?),
    };
    let listed_model = models.iter().find(|m| m.id == model);
    let owner = listed_model.map_or("", |m| m.owned_by.as_str());
    let llama_server = owner == "llamacpp";
    let context = match config.context {
        Some(c) => Some(c),
        None if llama_server => client
            .server_context(cancelled)
            .await
            .or(listed_model.and_then(|m| m.context)),
        None => listed_model.and_then(|m| m.context),
    };
    Ok(Server {
        model,
        context,
        llama_server,
        keep_special_tokens: config.keep_special_tokens.unwrap_or(owner == "vllm"),
        tokenizer,
    })
}

/// One generation against the server.
struct Job<'a> {
    client: &'a Client,
    server: &'a Server,
    config: &'a RemoteConfig,
    req: &'a GenerateRequest,
    events: &'a EventSender,
    /// The engine was dropped: stop whatever is waiting.
    gone: Box<dyn Fn() -> bool + 'a>,
    /// The user asked for the answer now.
    answer_now: Box<dyn Fn() -> bool + 'a>,
}

/// Tokens of text, for fitting the history: exact with a tokenizer.json or from llama-server,
/// else a cautious estimate (three bytes a token).
async fn count(job: &Job<'_>, text: &str, cancelled: &impl Fn() -> bool) -> u32 {
    if let Some(n) = job.server.tokens(text) {
        return n;
    }
    if job.server.llama_server {
        if let Some(n) = job.client.count_tokens(text, cancelled).await {
            return n;
        }
    }
    (text.len() as u32).div_ceil(3)
}

/// The field that asks a server to continue the last assistant message.
const CONTINUE: &str = "continue_final_message";

/// The fields of a request that continues the last assistant message, with what is left of
/// `max_tokens`.
fn continuation(max_tokens: Option<u32>) -> Vec<(&'static str, Value)> {
    let mut extra = vec![
        (CONTINUE, Value::Bool(true)),
        ("add_generation_prompt", Value::Bool(false)),
    ];
    if let Some(m) = max_tokens {
        extra.push(("max_tokens", Value::from(m)));
    }
    extra
}

/// Why a stream did not open.
enum Opened {
    Failed(EngineError),
    /// The server refused a field the request needs (named), with what it said.
    Refused(String, String),
}

/// What the stream said, besides text.
#[derive(Default)]
struct Seen {
    finish: Option<String>,
    usage: Option<ServerUsage>,
    done_marker: bool,
    in_reasoning: bool,
    first_text: Option<Instant>,
}

impl Job<'_> {
    /// The messages that fit the context, leaving the oldest turns out (never the system
    /// prompt or the current message), with a notice, as llama.cpp in process does.
    async fn fit(&self, cancelled: &impl Fn() -> bool) -> Vec<ChatMessage> {
        let mut messages = self.req.messages.clone();
        let Some(n_ctx) = self.server.context.filter(|n| *n > 0) else {
            return messages;
        };
        let room = self.req.max_tokens.unwrap_or(u32::MAX).min(n_ctx / 4);
        let size = |m: &[ChatMessage]| {
            m.iter()
                .map(|x| x.content.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        // Each message costs a few tokens of headers besides its text.
        let overhead = |m: &[ChatMessage]| 8 * m.len() as u32;
        let mut dropped = 0;
        loop {
            if cancelled() {
                return messages;
            }
            let need = count(self, &size(&messages), cancelled).await + overhead(&messages);
            if need.saturating_add(room) <= n_ctx || !drop_oldest_turn(&mut messages) {
                break;
            }
            dropped += 1;
        }
        if dropped > 0 {
            let turns = if dropped == 1 { "turn" } else { "turns" };
            let _ = self.events.send(EngineEvent::Warning(format!(
                "the conversation no longer fits the context ({n_ctx} tokens): left out the {dropped} oldest {turns}"
            )));
        }
        messages
    }

    /// Opens the stream for `body`, leaving out (and saying so, once) the fields the server
    /// refuses; `None` when cancelled before it answered.
    async fn open(
        &self,
        messages: &[ChatMessage],
        extra: &[(&str, Value)],
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<Option<reqwest::Response>, Opened> {
        loop {
            let mut body = chat_body(
                &self.server.model,
                messages,
                self.req,
                self.server.keep_special_tokens,
                refused,
            );
            for (k, v) in extra {
                if !refused.iter().any(|f| f == k) {
                    body[*k] = v.clone();
                }
            }
            match self.client.stream(&body, cancelled).await {
                Ok(r) => return Ok(Some(r)),
                Err(Refusal::Fields(fields, said)) => {
                    if let Some(f) = fields.iter().find(|f| extra.iter().any(|(k, _)| k == *f)) {
                        return Err(Opened::Refused(f.clone(), said));
                    }
                    let _ = self.events.send(EngineEvent::Warning(format!(
                        "{} does not take {}, so {} not applied (it said: {said})",
                        self.client.label,
                        fields.join(", "),
                        if fields.len() == 1 {
                            "it is"
                        } else {
                            "they are"
                        }
                    )));
                    refused.extend(fields);
                }
                Err(Refusal::Stop(Stop::Cancelled)) => return Ok(None),
                Err(Refusal::Stop(Stop::Failed(e))) => {
                    return Err(Opened::Failed(self.not_found(e, cancelled).await))
                }
            }
        }
    }

    /// Sends the request, streams the answer; returns the completion and whether a reply that
    /// should have had tags had none. When the thinking budget runs out the stream is closed
    /// and the answer continues in a second request whose last assistant message is the text
    /// so far with the end of thinking forced (`continue_final_message`, which llama-server
    /// and vLLM take); a server that refuses it is said to, and the answer ends there.
    async fn run(
        &self,
        cancelled: &impl Fn() -> bool,
        refused: &mut Vec<String>,
    ) -> Result<(Completion, bool), EngineError> {
        let started = Instant::now();
        let messages = self.fit(cancelled).await;
        let mut gen = Generation::new(self.req, self.events).keep_text();
        let mut budget = Budget::new(self.req.budget.clone(), &self.req.router);
        let cancelled_early = |gen: Generation| {
            let done = gen.finish(StopReason::Cancelled, Timings::default(), String::new());
            Ok((done, false))
        };
        let report = |budget: &Budget, step: Option<BudgetStep>| {
            let _ = self.events.send(EngineEvent::Budget {
                id: self.req.id,
                report: budget.report().clone(),
                step,
            });
        };
        let mut raw = String::new();
        // A budget of 0: the answer is asked for as the continuation of the forced opening.
        let mut opening: Vec<ChatMessage> = messages.clone();
        let mut extra: Vec<(&str, Value)> = Vec::new();
        if let Act::Force(text) = budget.at_start() {
            if refused.iter().any(|f| f == CONTINUE) {
                let _ = self.events.send(EngineEvent::Warning(format!(
                    "{} cannot continue a message, so --think-budget 0 cannot stop it thinking",
                    self.client.label
                )));
            } else {
                report(&budget, Some(BudgetStep::Forced(ForcedBy::NoThinking)));
                gen.text(&text);
                raw.push_str(&text);
                budget.forced(count(self, &text, cancelled).await);
                opening.push(ChatMessage::new(Role::Assistant, raw.clone()));
                extra = continuation(None);
            }
        }
        let mut response = match self.open(&opening, &extra, cancelled, refused).await {
            Ok(Some(r)) => r,
            Ok(None) => return cancelled_early(gen),
            Err(Opened::Failed(e)) => return Err(e),
            Err(Opened::Refused(field, said)) => {
                return Err(self.client.error(
                    RemoteErrorKind::Server,
                    format!("it cannot continue a message ({field}: {said}), which --think-budget 0 needs; lift the budget or use another server"),
                ))
            }
        };
        let _ = self.events.send(EngineEvent::PromptProcessed {
            id: self.req.id,
            prompt_tokens: 0,
            evaluated: 0,
        });
        let prompt_done = Instant::now();
        let mut parser = sse::SseParser::new();
        let mut seen = Seen::default();
        let thinking = self.req.router.tags.thinking.first().cloned();
        let mut asked = false;
        // Tokens of the legs before the current one (the server reports the last leg's only).
        let mut earlier = 0u32;
        let mut continued_once = !extra.is_empty();
        let stop = 'legs: loop {
            let mut forced = None;
            let stop = loop {
                // The first chunk may take as long as the first byte; then the same again at
                // most between two chunks (a stalled server, a connection gone half-open).
                let wait = tokio::time::timeout(self.config.first_byte_timeout, response.chunk());
                let next = match cancellable(wait, cancelled).await {
                    None => break StopReason::Cancelled,
                    Some(Err(_)) => {
                        let _ = self.events.send(EngineEvent::Warning(format!(
                            "{}: no data for {} s (first_byte_timeout); the stream was closed",
                            self.client.label,
                            self.config.first_byte_timeout.as_secs()
                        )));
                        break self.cut(&seen);
                    }
                    Some(Ok(n)) => n,
                };
                let ended = matches!(next, Ok(None));
                let events = match next {
                    Ok(Some(bytes)) => parser.push(&bytes),
                    Ok(None) => {
                        let mut last = parser.finish();
                        // A stream may end without the blank line after its last event.
                        last.extend(parser.push(b"\n\n"));
                        last
                    }
                    Err(e) => {
                        let _ = self.events.send(EngineEvent::Warning(format!(
                            "{}: the stream broke off: {}",
                            self.client.label,
                            redact(&e.to_string())
                        )));
                        break self.cut(&seen);
                    }
                };
                let mut stop = None;
                for ev in events {
                    let before = raw.len();
                    if let Some(s) =
                        self.event(&ev.data, &mut gen, &mut raw, &mut seen, &thinking)?
                    {
                        stop = Some(s);
                        break;
                    }
                    if raw.len() == before {
                        continue;
                    }
                    // One streamed piece is one token on llama-server (an estimate elsewhere).
                    let channel = gen.channel();
                    if !asked && (self.answer_now)() {
                        asked = true;
                        budget.answer_now(channel);
                    }
                    let act = budget.after(BudgetToken {
                        channel,
                        in_reflection: channel == Channel::Reflection,
                        char_complete: true,
                        line_end: raw.ends_with('\n'),
                    });
                    if let Act::Force(text) = act {
                        if refused.iter().any(|f| f == CONTINUE) {
                            // Said when it was refused: this server's answers are not cut.
                            continue;
                        }
                        forced = Some(text);
                        break;
                    }
                    if channel != Channel::Output && budget.settings().active() {
                        report(&budget, None);
                    }
                }
                if stop.is_some() || forced.is_some() {
                    break stop.unwrap_or(StopReason::EndOfTurn);
                }
                if ended {
                    break self.cut(&seen);
                }
            };
            let Some(text) = forced else {
                break 'legs stop;
            };
            // Closing the connection stops the server; the forced end is routed as text.
            drop(response);
            let by = budget.report().forced_by.unwrap_or(ForcedBy::Budget);
            report(&budget, Some(BudgetStep::Forced(by)));
            if seen.in_reasoning {
                // The server was splitting the reasoning off: its block is closed as it was
                // opened, structurally, and the answer's tag (if the format has one) opened.
                seen.in_reasoning = false;
                gen.tag(TagToken::close(Channel::Thinking));
                let output = self
                    .req
                    .router
                    .tags
                    .canonical(TagToken::open(Channel::Output));
                if text.ends_with(&output) {
                    gen.tag(TagToken::open(Channel::Output));
                }
            } else {
                gen.text(&text);
            }
            raw.push_str(&text);
            budget.forced(count(self, &text, cancelled).await);
            report(&budget, None);
            // The tokens so far (counted as they streamed, and the forced ones): the server
            // will report only the next leg's.
            earlier = gen.usage.completion_tokens + budget.report().forced;
            let left = self.req.max_tokens.map(|m| m.saturating_sub(earlier));
            if left == Some(0) {
                break 'legs StopReason::MaxTokens;
            }
            let mut continued = messages.clone();
            continued.push(ChatMessage::new(Role::Assistant, raw.clone()));
            seen.finish = None;
            seen.done_marker = false;
            continued_once = true;
            parser = sse::SseParser::new();
            response = match self
                .open(&continued, &continuation(left), cancelled, refused)
                .await
            {
                Ok(Some(r)) => r,
                Ok(None) => break 'legs StopReason::Cancelled,
                Err(Opened::Failed(e)) => {
                    // What was written so far is kept.
                    let _ = self.events.send(EngineEvent::Warning(format!(
                        "{}: continuing the answer after the forced end of thinking failed: {e}",
                        self.client.label
                    )));
                    break 'legs StopReason::StreamCut;
                }
                Err(Opened::Refused(field, said)) => {
                    refused.push(field.clone());
                    let _ = self.events.send(EngineEvent::Warning(format!(
                        "{} cannot continue a message ({field}: {said}), so after the forced \
                         end of thinking the answer could not be written; it ends here, and \
                         later answers on this server are not cut",
                        self.client.label
                    )));
                    break 'legs StopReason::StreamCut;
                }
            };
        };
        if continued_once {
            // The server reported the last leg alone: its completion is added to the earlier
            // legs', and the prompt (which held the earlier text) is counted afresh.
            seen.usage = seen.usage.map(|u| ServerUsage {
                prompt_tokens: None,
                completion_tokens: u.completion_tokens.map(|n| n + earlier),
                cached_tokens: None,
                cost: None,
            });
        }
        if seen.in_reasoning {
            gen.tag(TagToken::close(Channel::Thinking));
        }
        let mut done = self
            .finish(gen, &messages, stop, raw, seen, started, prompt_done)
            .await?;
        if budget.active() {
            done.0.budget = Some(budget.report().clone());
        }
        Ok(done)
    }

    /// How the stream ended when it ended: as the server said, or cut short.
    fn cut(&self, seen: &Seen) -> StopReason {
        match seen.finish.as_deref() {
            Some("length") => StopReason::MaxTokens,
            Some(_) => StopReason::EndOfTurn,
            None if seen.done_marker => StopReason::EndOfTurn,
            None => StopReason::StreamCut,
        }
    }

    /// A 404 names the models the server has.
    async fn not_found(&self, e: EngineError, cancelled: &impl Fn() -> bool) -> EngineError {
        match e {
            EngineError::Remote {
                kind: RemoteErrorKind::Model,
                endpoint,
                message,
            } => {
                let list = match self.client.models(cancelled).await {
                    Ok(m) if !m.is_empty() => format!(
                        "; the server has: {}",
                        m.iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => String::new(),
                };
                EngineError::Remote {
                    endpoint,
                    kind: RemoteErrorKind::Model,
                    message: format!("{message} (model '{}'){list}", self.server.model),
                }
            }
            other => other,
        }
    }

    /// One `data:` payload. Returns the stop reason when the stream is over for reflect.
    fn event(
        &self,
        data: &str,
        gen: &mut Generation,
        raw: &mut String,
        seen: &mut Seen,
        thinking: &Option<String>,
    ) -> Result<Option<StopReason>, EngineError> {
        let data = data.trim();
        if data == "[DONE]" {
            seen.done_marker = true;
            return Ok(Some(self.cut(seen)));
        }
        if data.is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            let short: String = data.chars().take(120).collect();
            self.client.error(
                RemoteErrorKind::Protocol,
                format!("the stream held malformed JSON ({e}): {short}"),
            )
        })?;
        if let Some(e) = error_of(&v) {
            let kind = if e.context_exceeded() {
                RemoteErrorKind::ContextExceeded
            } else {
                RemoteErrorKind::Server
            };
            return Err(self.client.error(
                kind,
                format!("the server reported an error mid-stream: {}", e.message),
            ));
        }
        let chunk = chunk_of(&v);
        if let Some(r) = &chunk.reasoning {
            if !seen.in_reasoning {
                seen.in_reasoning = true;
                gen.tag(TagToken::open(Channel::Thinking));
                if let Some(t) = thinking {
                    raw.push_str(&format!("<{t}>"));
                }
            }
            seen.first_text.get_or_insert_with(Instant::now);
            gen.text(r);
            raw.push_str(r);
            gen.count(1);
        }
        if let Some(c) = &chunk.content {
            if seen.in_reasoning {
                seen.in_reasoning = false;
                gen.tag(TagToken::close(Channel::Thinking));
                if let Some(t) = thinking {
                    raw.push_str(&format!("</{t}>"));
                }
            }
            let c = strip_end_of_turn(c);
            if !c.is_empty() {
                seen.first_text.get_or_insert_with(Instant::now);
                gen.text(c);
                raw.push_str(c);
                gen.count(1);
            }
        }
        if chunk.finish.is_some() {
            seen.finish = chunk.finish;
        }
        if let Some(u) = chunk.usage {
            // A later, partial usage object completes an earlier one; it does not erase it.
            let old = seen.usage.unwrap_or_default();
            seen.usage = Some(ServerUsage {
                prompt_tokens: u.prompt_tokens.or(old.prompt_tokens),
                completion_tokens: u.completion_tokens.or(old.completion_tokens),
                cached_tokens: u.cached_tokens.or(old.cached_tokens),
                cost: u.cost.or(old.cost),
            });
        }
        if gen.answer_done() {
            return Ok(Some(StopReason::OutputClosed));
        }
        Ok(None)
    }

    /// Counts, cost and timings; the completion.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        mut gen: Generation,
        messages: &[ChatMessage],
        stop: StopReason,
        raw: String,
        seen: Seen,
        started: Instant,
        prompt_done: Instant,
    ) -> Result<(Completion, bool), EngineError> {
        let usage = seen.usage.unwrap_or_default();
        // Tokens were counted per channel as they streamed, one per event: exact for
        // llama-server, which sends each token as it is sampled; an estimate elsewhere, unless
        // the model's tokenizer.json counts each channel's text.
        gen.usage.estimated = !self.server.llama_server;
        if self.server.tokenizer.is_some() {
            let [t, r, o] = gen.kept_text().map(|text| self.server.tokens(text));
            if let (Some(t), Some(r), Some(o)) = (t, r, o) {
                gen.usage.thinking_tokens = t;
                gen.usage.reflection_tokens = r;
                gen.usage.output_tokens = o;
                gen.usage.estimated = false;
            }
        }
        if let Some(n) = usage.completion_tokens {
            gen.usage.completion_tokens = n;
        }
        match usage.prompt_tokens {
            Some(p) => {
                gen.usage.prompt_tokens = p;
                gen.usage.prompt_tokens_evaluated =
                    p.saturating_sub(usage.cached_tokens.unwrap_or(0));
            }
            // The stream was closed before its usage came (after </output>, or cancelled).
            None if self.server.llama_server => {
                // Bounded, and abandoned when the engine is dropped (the user quit).
                let counted = tokio::time::timeout(
                    Duration::from_secs(5),
                    self.client.prompt_tokens(messages, &self.gone),
                );
                if let Ok(Some(p)) = counted.await {
                    gen.usage.prompt_tokens = p;
                    gen.usage.prompt_tokens_evaluated = p;
                }
            }
            None => {
                let bytes: usize = messages.iter().map(|m| m.content.len() + 8).sum();
                gen.usage.prompt_tokens = (bytes as u32).div_ceil(4);
                gen.usage.prompt_tokens_evaluated = gen.usage.prompt_tokens;
                gen.usage.prompt_estimated = true;
            }
        }
        let cost = usage.cost.or_else(|| {
            self.config
                .price
                .map(|p| p.cost(gen.usage.prompt_tokens, gen.usage.completion_tokens))
        });
        let ended = Instant::now();
        let ms = |d: Duration| d.as_millis() as u64;
        let first = seen.first_text.unwrap_or(ended);
        let generating = ended.saturating_duration_since(first);
        let timings = Timings {
            load_ms: 0,
            prompt_ms: ms(first.saturating_duration_since(started)),
            first_token_ms: seen.first_text.map_or(0, |t| ms(t - started)),
            generation_ms: ms(ended - prompt_done),
            tokens_per_second: if generating.as_secs_f64() > 0.0 && gen.usage.completion_tokens > 1
            {
                f64::from(gen.usage.completion_tokens - 1) / generating.as_secs_f64()
            } else {
                0.0
            },
        };
        let expects_tags = !self.req.router.tags.tags().is_empty();
        let tagless = expects_tags
            && matches!(stop, StopReason::EndOfTurn | StopReason::MaxTokens)
            && !self
                .req
                .router
                .tags
                .tags()
                .iter()
                .any(|(text, _)| raw.contains(text.as_str()))
            && !raw.trim().is_empty();
        let mut done = gen.finish(stop, timings, raw);
        done.cost = cost;
        done.seed = self
            .req
            .sampling
            .seed
            .filter(|_| self.req.sampling.temperature > 0.0);
        Ok((done, tagless))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_show_credentials() {
        let mut c = RemoteConfig::new("https://user:secret@api.example.com:8443/v1");
        assert_eq!(c.label(), "api.example.com:8443");
        c.name = Some("deepinfra".into());
        assert_eq!(c.label(), "deepinfra");
        assert_eq!(format!("{:?}", ApiKey::new("sk-123")), "ApiKey(…)");
        assert_eq!(
            redact("error sending request for url (https://u:p@h:1/v1/models): x"),
            "error sending request for url (https://h:1/v1/models): x"
        );
        assert_eq!(
            redact("http://h/v1 and ftp://a@b/c"),
            "http://h/v1 and ftp://b/c"
        );
    }

    #[test]
    fn price_per_million_tokens() {
        let p = Price {
            input: 0.35,
            output: 0.40,
        };
        assert!((p.cost(1_000_000, 0) - 0.35).abs() < 1e-12);
        assert!((p.cost(2000, 1000) - (0.0007 + 0.0004)).abs() < 1e-12);
    }
}
