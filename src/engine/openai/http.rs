//! HTTP to an OpenAI-compatible server: the model list, llama-server's extras (`/props`,
//! `/tokenize`), and the streamed chat request, with each failure turned into one line that
//! says what to do. Every wait can be cancelled: the engine polls its cancel flag.

use super::wire::{error_of, models_of, refused_fields, ListedModel, ServerError};
use super::{ApiKey, RemoteConfig};
use crate::llm::{EngineError, RemoteErrorKind};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// How often a wait looks at the cancel flag.
const POLL: Duration = Duration::from_millis(10);
/// 429 answers retried before giving up, and the longest Retry-After honoured.
const RETRIES: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

pub struct Client {
    http: reqwest::Client,
    /// The OpenAI base, e.g. `http://host:8000/v1`, without a trailing slash.
    base: String,
    /// The server's root (the base without `/v1`), where llama-server's extras live.
    root: String,
    key: Option<ApiKey>,
    /// The variable that should hold the key, for messages.
    key_env: String,
    /// The endpoint's name or host, for messages.
    pub label: String,
    first_byte: Duration,
}

/// Why a wait ended early.
pub enum Stop {
    Cancelled,
    Failed(EngineError),
}

impl From<EngineError> for Stop {
    fn from(e: EngineError) -> Self {
        Stop::Failed(e)
    }
}

/// Runs `f` until it completes or `cancelled()` turns true (checked every 10 ms).
pub async fn cancellable<F: Future>(f: F, cancelled: &impl Fn() -> bool) -> Option<F::Output> {
    tokio::pin!(f);
    loop {
        tokio::select! {
            out = &mut f => return Some(out),
            () = tokio::time::sleep(POLL) => {
                if cancelled() {
                    return None;
                }
            }
        }
    }
}

impl Client {
    pub fn new(config: &RemoteConfig) -> Result<Client, EngineError> {
        let base = config.url.trim_end_matches('/').to_string();
        let root = base
            .strip_suffix("/v1")
            .unwrap_or(&base)
            .trim_end_matches('/')
            .to_string();
        let label = config.label();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // A half-open connection mid-stream is noticed, not waited on forever.
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("reflect/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Remote {
                endpoint: label.clone(),
                kind: RemoteErrorKind::Connect,
                message: format!("cannot start an HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
            base,
            root,
            key: config.api_key.clone(),
            key_env: config.api_key_env.clone(),
            label,
            first_byte: config.first_byte_timeout,
        })
    }

    pub fn error(&self, kind: RemoteErrorKind, message: impl Into<String>) -> EngineError {
        EngineError::Remote {
            endpoint: self.label.clone(),
            kind,
            message: message.into(),
        }
    }

    fn authorised(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(k) => req.bearer_auth(k.expose()),
            None => req,
        }
    }

    /// A transport error as one line: refused, unknown host, TLS, timeout.
    fn transport(&self, e: &reqwest::Error, url: &str) -> EngineError {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            why = format!("{why}: {s}");
            source = s.source();
        }
        let hint = transport_hint(&why, e.is_timeout());
        self.error(
            RemoteErrorKind::Connect,
            super::redact(&format!("{hint} ({url}: {why})")),
        )
    }

    /// GET a JSON document.
    async fn get(&self, url: &str, cancelled: &impl Fn() -> bool) -> Result<Value, Stop> {
        let send = self.authorised(self.http.get(url)).send();
        let resp = match cancellable(tokio::time::timeout(self.first_byte, send), cancelled).await {
            None => return Err(Stop::Cancelled),
            Some(Err(_)) => {
                return Err(self
                    .error(
                        RemoteErrorKind::Connect,
                        super::redact(&format!(
                            "no answer from {url} within {} s",
                            self.first_byte.as_secs()
                        )),
                    )
                    .into())
            }
            Some(Ok(Err(e))) => return Err(self.transport(&e, url).into()),
            Some(Ok(Ok(r))) => r,
        };
        let status = resp.status();
        let body = match cancellable(resp.bytes(), cancelled).await {
            None => return Err(Stop::Cancelled),
            Some(Err(e)) => return Err(self.transport(&e, url).into()),
            Some(Ok(b)) => b,
        };
        if !status.is_success() {
            return Err(self.status_error(status.as_u16(), &body).into());
        }
        serde_json::from_slice(&body).map_err(|e| {
            Stop::Failed(self.error(
                RemoteErrorKind::Protocol,
                super::redact(&format!("{url} did not answer JSON ({e})")),
            ))
        })
    }

    /// The models the server lists (`GET /models`). A 404 here is a wrong URL, not a model.
    pub async fn models(&self, cancelled: &impl Fn() -> bool) -> Result<Vec<ListedModel>, Stop> {
        let url = format!("{}/models", self.base);
        let v = self.get(&url, cancelled).await.map_err(|e| match e {
            Stop::Failed(EngineError::Remote {
                kind: RemoteErrorKind::Model,
                ..
            }) => Stop::Failed(self.error(
                RemoteErrorKind::Request,
                super::redact(&format!(
                    "{url} answered 404: check the endpoint URL (an OpenAI-compatible base usually ends in /v1)"
                )),
            )),
            other => other,
        })?;
        Ok(models_of(&v))
    }

    /// llama-server's `/props`: its context size, if this server is one.
    pub async fn server_context(&self, cancelled: &impl Fn() -> bool) -> Option<u32> {
        let v = self
            .get(&format!("{}/props", self.root), cancelled)
            .await
            .ok()?;
        v.get("default_generation_settings")
            .and_then(|g| g.get("n_ctx"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// POSTs JSON to one of llama-server's own endpoints; `None` for anything but a JSON 200
    /// (another server has no such endpoint: the caller falls back).
    async fn extra(
        &self,
        path: &str,
        body: &Value,
        cancelled: &impl Fn() -> bool,
    ) -> Option<Value> {
        let url = format!("{}/{path}", self.root);
        let send = self.authorised(json_post(&self.http, &url, body)).send();
        let resp = cancellable(tokio::time::timeout(self.first_byte, send), cancelled)
            .await?
            .ok()?
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        serde_json::from_slice(&cancellable(resp.bytes(), cancelled).await?.ok()?).ok()
    }

    /// llama-server's `/tokenize`: how many tokens `text` is, special tokens parsed.
    pub async fn count_tokens(&self, text: &str, cancelled: &impl Fn() -> bool) -> Option<u32> {
        let body =
            serde_json::json!({"content": text, "add_special": false, "parse_special": true});
        let v = self.extra("tokenize", &body, cancelled).await?;
        v.get("tokens")
            .and_then(Value::as_array)
            .map(|t| t.len() as u32)
    }

    /// llama-server's `/apply-template` then `/tokenize`: the prompt's exact token count (the
    /// begin-of-text token included), for a stream closed before its usage arrived.
    pub async fn prompt_tokens(
        &self,
        messages: &[crate::llm::ChatMessage],
        cancelled: &impl Fn() -> bool,
    ) -> Option<u32> {
        let body = serde_json::json!({ "messages": super::wire::messages_json(messages) });
        let v = self.extra("apply-template", &body, cancelled).await?;
        let prompt = v.get("prompt")?.as_str()?;
        // The template leaves the begin-of-text token to the tokenizer, as the server does.
        Some(self.count_tokens(prompt, cancelled).await? + 1)
    }

    /// An HTTP error status as one line.
    pub fn status_error(&self, status: u16, body: &[u8]) -> EngineError {
        let parsed: Option<ServerError> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| error_of(&v));
        let said = parsed.as_ref().map_or_else(
            || {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let short: String = text.chars().take(200).collect();
                if short.is_empty() {
                    String::new()
                } else {
                    format!(": {short}")
                }
            },
            |e| format!(": {}", e.message),
        );
        let exceeded = parsed.as_ref().filter(|e| e.context_exceeded());
        if let (400 | 413 | 422, Some(e)) = (status, exceeded) {
            let numbers = match (e.prompt_tokens, e.n_ctx) {
                (Some(p), Some(n)) => {
                    format!("the prompt is {p} tokens but the context holds {n}; ")
                }
                _ => String::new(),
            };
            return self.error(
                RemoteErrorKind::ContextExceeded,
                format!(
                    "{numbers}the server says: {}; shorten the prompt or the conversation",
                    e.message
                ),
            );
        }
        match status {
            401 | 403 => self.error(
                RemoteErrorKind::Auth,
                format!(
                    "HTTP {status}, the server refused the API key{said}; put a valid key in {}",
                    self.key_env
                ),
            ),
            404 => self.error(RemoteErrorKind::Model, format!("HTTP 404{said}")),
            500..=599 => match super::wire::tool_parser_failed(&said) {
                Some(why) => self.error(
                    RemoteErrorKind::Server,
                    format!("HTTP {status}{said}: {why}"),
                ),
                None => self.error(
                    RemoteErrorKind::Server,
                    format!("HTTP {status}, the server failed{said}; try again later"),
                ),
            },
            _ => self.error(RemoteErrorKind::Request, format!("HTTP {status}{said}")),
        }
    }

    /// POSTs a streamed chat request and returns the response once its headers are in. A 429
    /// is retried after its Retry-After (at most 30 s, 3 times); a 400 that names optional
    /// fields comes back as `Err(Refused)` for the caller to ask again without them.
    pub async fn stream(
        &self,
        body: &Value,
        cancelled: &impl Fn() -> bool,
    ) -> Result<reqwest::Response, Refusal> {
        let url = format!("{}/chat/completions", self.base);
        let mut tries = 0;
        loop {
            let send = self
                .authorised(json_post(&self.http, &url, body))
                .header("Accept", "text/event-stream")
                .send();
            let resp =
                match cancellable(tokio::time::timeout(self.first_byte, send), cancelled).await {
                    None => return Err(Refusal::Stop(Stop::Cancelled)),
                    Some(Err(_)) => {
                        return Err(Refusal::Stop(
                            self.error(
                                RemoteErrorKind::Connect,
                                format!(
                                    "no answer within {} s (first_byte_timeout)",
                                    self.first_byte.as_secs()
                                ),
                            )
                            .into(),
                        ))
                    }
                    Some(Ok(Err(e))) => return Err(Refusal::Stop(self.transport(&e, &url).into())),
                    Some(Ok(Ok(r))) => r,
                };
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(resp);
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite())
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 3600.0)));
            let bytes = match cancellable(resp.bytes(), cancelled).await {
                None => return Err(Refusal::Stop(Stop::Cancelled)),
                Some(b) => b.unwrap_or_default(),
            };
            if status == 429 {
                let wait = retry_after.unwrap_or(Duration::from_secs(1 << tries));
                if tries < RETRIES && wait <= MAX_RETRY_AFTER {
                    tries += 1;
                    if cancellable(tokio::time::sleep(wait), cancelled)
                        .await
                        .is_none()
                    {
                        return Err(Refusal::Stop(Stop::Cancelled));
                    }
                    continue;
                }
                let after = retry_after.map_or(String::new(), |d| {
                    format!(" (it asks to wait {} s)", d.as_secs())
                });
                return Err(Refusal::Stop(
                    self.error(
                        RemoteErrorKind::RateLimited,
                        format!(
                            "HTTP 429, too many requests{after}; gave up after {} tries, try again later",
                            tries + 1
                        ),
                    )
                    .into(),
                ));
            }
            if status == 400 || status == 422 {
                if let Some(e) = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| error_of(&v))
                {
                    let fields = refused_fields(&e.message, body);
                    if !fields.is_empty() && !e.context_exceeded() {
                        return Err(Refusal::Fields(fields, e.message));
                    }
                }
            }
            return Err(Refusal::Stop(self.status_error(status, &bytes).into()));
        }
    }
}

/// What a transport failure means for the user, from its whole error chain: a timeout (the
/// connect timeout included), an unknown host, TLS, a refused connection.
fn transport_hint(why: &str, timeout: bool) -> &'static str {
    if timeout || why.contains("timed out") {
        "the server took too long to answer (connect_timeout)"
    } else if why.contains("dns error") || why.contains("failed to lookup") {
        "unknown host: check the endpoint URL"
    } else if why.contains("certificate") || why.contains("tls") || why.contains("TLS") {
        "TLS failed: check the URL's scheme (http or https) and the server's certificate"
    } else if why.contains("Connection refused") {
        "connection refused: is the server running on that host and port?"
    } else {
        "cannot reach the server"
    }
}

fn json_post(http: &reqwest::Client, url: &str, body: &Value) -> reqwest::RequestBuilder {
    http.post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// Why a chat request did not start streaming.
pub enum Refusal {
    /// The server refused these optional fields (and said this).
    Fields(Vec<String>, String),
    Stop(Stop),
}

#[cfg(test)]
mod tests {
    use super::transport_hint;

    /// Error chains as reqwest and hyper word them. Unknown hosts and connect timeouts cannot be
    /// produced in the test suite without traffic off this machine; refused connections and TLS
    /// failures are produced for real in tests/it/remote_faults.rs.
    #[test]
    fn transport_failures_are_named() {
        let table = [
            (
                "error sending request for url (http://nosuch.example/v1/models): client error (Connect): dns error: failed to lookup address information: Name or service not known",
                false,
                "unknown host",
            ),
            (
                "error sending request for url (http://10.1.2.3:8000/v1/models): client error (Connect): operation timed out",
                false,
                "took too long",
            ),
            ("error sending request", true, "took too long"),
            (
                "client error (Connect): tcp connect error: Connection refused (os error 111)",
                false,
                "connection refused",
            ),
            (
                "client error (Connect): invalid peer certificate: UnknownIssuer",
                false,
                "TLS failed",
            ),
            ("something else", false, "cannot reach the server"),
        ];
        for (why, timeout, want) in table {
            assert!(transport_hint(why, timeout).contains(want), "{why}");
        }
    }
}
