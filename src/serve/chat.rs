//! `POST /v1/chat/completions`: the request read and checked, made into an engine job, and
//! answered whole or streamed as server-sent events. The HTTP status is decided once the job
//! has started (a prompt too long for the context is still a 400); after that, an error comes
//! as an `error` event in the stream.

use super::errors::ApiError;
use super::job::{self, Job};
use super::log::{self, Counts, Streamed};
use super::reply::{Envelope, Reply};
use super::request::BODY_LIMIT;
use super::state::Shared;
use super::{convert, request};
use crate::llm::{Completion, EngineError, EngineEvent};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub async fn completions(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let start = Instant::now();
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(BODY_LIMIT),
        _ => ApiError::invalid(format!("cannot read the request body: {}", r.body_text())),
    })?;
    let params = request::parse(&body)?;
    if let Some(asked) = params.model.as_deref().filter(|m| *m != shared.model) {
        return Err(ApiError::model_not_found(asked, &shared.model));
    }
    let id = shared.next_id();
    let req = convert::generate_request(&shared.settings, &params, id);
    let mut job = job::submit(&shared, req)?;
    let early = started(&mut job).await?;
    let envelope = Envelope {
        id: format!("chatcmpl-{}-{id}", std::process::id()),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: shared.model.clone(),
    };
    let reply = Reply::new(params.raw, params.stop);
    if params.stream {
        let stream = Streaming {
            job,
            reply,
            envelope,
            include_usage: params.include_usage,
            out: VecDeque::new(),
            finished: false,
            counts: Counts::default(),
            start,
            path: uri.path().to_string(),
        };
        Ok(stream.respond(early))
    } else {
        whole(job, reply, envelope, early).await
    }
}

/// Waits for the job to start: the events so far, or the error that ended it before any text
/// (the response's status then says what went wrong).
async fn started(job: &mut Job) -> Result<Vec<EngineEvent>, ApiError> {
    let mut early = Vec::new();
    loop {
        match job.events.recv().await {
            None => return Err(ApiError::engine(&EngineError::Gone)),
            Some(EngineEvent::Error(e)) => return Err(ApiError::engine(&e)),
            Some(e) => {
                let go = matches!(
                    e,
                    EngineEvent::PromptProcessed { .. }
                        | EngineEvent::Text { .. }
                        | EngineEvent::Done(_)
                );
                early.push(e);
                if go {
                    return Ok(early);
                }
            }
        }
    }
}

/// The answer of a request not streamed.
async fn whole(
    mut job: Job,
    mut reply: Reply,
    envelope: Envelope,
    early: Vec<EngineEvent>,
) -> Result<Response, ApiError> {
    let mut pending: VecDeque<EngineEvent> = early.into();
    loop {
        let event = match pending.pop_front() {
            Some(e) => e,
            None => job
                .events
                .recv()
                .await
                .unwrap_or(EngineEvent::Error(EngineError::Gone)),
        };
        match event {
            EngineEvent::Done(done) => {
                let (_, finish) = reply.finish(&done);
                let body = envelope.completion(reply.message(&done), finish, &done);
                let mut response = super::errors::json_response(StatusCode::OK, &body);
                response.extensions_mut().insert(counts(&done));
                return Ok(response);
            }
            EngineEvent::Error(e) => return Err(ApiError::engine(&e)),
            e => {
                if reply.event(&e).stopped {
                    job.guard.cancel();
                }
            }
        }
    }
}

fn counts(done: &Completion) -> Counts {
    Counts {
        prompt: done.usage.prompt_tokens,
        completion: done.usage.completion_tokens,
        tokens_per_second: done.timings.tokens_per_second,
    }
}

/// A streamed answer: the job's events as chunks, until `[DONE]`. Dropped (the client left),
/// it cancels the job; it writes the request's log line when it ends either way.
struct Streaming {
    job: Job,
    reply: Reply,
    envelope: Envelope,
    include_usage: bool,
    /// Events ready to send.
    out: VecDeque<Bytes>,
    finished: bool,
    counts: Counts,
    start: Instant,
    /// The path asked, for the log line.
    path: String,
}

impl Streaming {
    fn respond(mut self, early: Vec<EngineEvent>) -> Response {
        let first = serde_json::json!({"role": "assistant", "content": ""});
        self.push(self.envelope.chunk(first, None));
        for e in early {
            self.event(e);
        }
        let body = futures_util::stream::unfold(self, |mut s| async move {
            loop {
                if let Some(b) = s.out.pop_front() {
                    return Some((Ok::<_, std::convert::Infallible>(b), s));
                }
                if s.finished {
                    return None;
                }
                let e = s.job.events.recv().await;
                s.event(e.unwrap_or(EngineEvent::Error(EngineError::Gone)));
            }
        });
        let mut response = Response::new(Body::from_stream(body));
        let headers = response.headers_mut();
        let event_stream = HeaderValue::from_static("text/event-stream");
        headers.insert(header::CONTENT_TYPE, event_stream);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response.extensions_mut().insert(Streamed);
        response
    }

    fn push(&mut self, v: Value) {
        self.out.push_back(Bytes::from(format!("data: {v}\n\n")));
    }

    fn event(&mut self, e: EngineEvent) {
        match e {
            EngineEvent::Done(done) => self.done(&done),
            EngineEvent::Error(e) => {
                self.push(ApiError::engine(&e).body());
                self.finished = true;
            }
            e => {
                let step = self.reply.event(&e);
                for d in step.deltas {
                    self.push(self.envelope.chunk(d, None));
                }
                if step.stopped {
                    self.job.guard.cancel();
                }
            }
        }
    }

    fn done(&mut self, done: &Completion) {
        let (deltas, finish) = self.reply.finish(done);
        for d in deltas {
            self.push(self.envelope.chunk(d, None));
        }
        self.push(self.envelope.chunk(serde_json::json!({}), Some(finish)));
        if self.include_usage {
            self.push(self.envelope.usage_chunk(done));
        }
        self.out.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
        self.counts = counts(done);
        self.finished = true;
    }
}

/// The log line of a stream the client left: the job is cancelled now, and its `Done` (soon
/// after) carries the tokens generated until then.
async fn log_left(mut events: UnboundedReceiver<EngineEvent>, path: String, start: Instant) {
    let counts = loop {
        match events.recv().await {
            Some(EngineEvent::Done(done)) => break counts(&done),
            Some(EngineEvent::Error(_)) | None => break Counts::default(),
            Some(_) => {}
        }
    };
    log::write("POST", &path, LEFT, &counts, start.elapsed());
}

/// The status logged for a client that left mid-stream.
const LEFT: &str = "200 client left";

impl Drop for Streaming {
    fn drop(&mut self) {
        if self.finished {
            return log::write(
                "POST",
                &self.path,
                "200",
                &self.counts,
                self.start.elapsed(),
            );
        }
        self.job.guard.cancel();
        let events = std::mem::replace(&mut self.job.events, unbounded_channel().1);
        let path = std::mem::take(&mut self.path);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(log_left(events, path, self.start))),
            Err(_) => log::write("POST", &path, LEFT, &self.counts, self.start.elapsed()),
        }
    }
}
