//! One request as an engine job: its events forwarded into a channel the handler reads, and a
//! guard that cancels the job when the handler or its stream is dropped (the client left), so
//! that its slot frees at once.

use super::errors::ApiError;
use super::state::{Health, Permit, Shared};
use crate::llm::{EngineEvent, EventSender, GenerateRequest, ServeJob};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// A job handed to the engine.
pub struct Job {
    pub events: UnboundedReceiver<EngineEvent>,
    pub guard: CancelGuard,
}

/// Cancels its job when dropped, and gives back its place (running or queued) at once: a
/// client that leaves while its request waits frees the place for the next one, though the
/// engine takes the (cancelled) job out of its queue only later.
pub struct CancelGuard {
    shared: Arc<Shared>,
    id: u64,
    cancel: Arc<AtomicU64>,
    _place: Permit,
}

impl CancelGuard {
    /// Stops the job now (a stop string ended the answer).
    pub fn cancel(&self) {
        self.cancel.store(u64::MAX, Ordering::SeqCst);
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.cancel();
        self.shared.unregister(self.id);
    }
}

/// Hands `request` to the engine: 503 while the model loads, or when every slot and place in
/// the queue is taken.
pub fn submit(shared: &Arc<Shared>, request: GenerateRequest) -> Result<Job, ApiError> {
    match shared.health() {
        Health::Ready => {}
        Health::Loading => {
            return Err(ApiError::unavailable(
                "the model is loading; try again shortly",
            ))
        }
        Health::Failed(why) => {
            return Err(ApiError::unavailable(format!(
                "the model failed to load: {why}"
            )))
        }
    }
    let permit = shared.admit()?;
    let id = request.id;
    let cancel = Arc::new(AtomicU64::new(0));
    let (tx, events) = unbounded_channel();
    let job = ServeJob {
        request,
        cancel: cancel.clone(),
        events: EventSender::new(move |e| tx.send(e).is_ok()),
    };
    shared.register(id, cancel.clone());
    let guard = CancelGuard {
        shared: shared.clone(),
        id,
        cancel,
        _place: permit,
    };
    if !shared.send(job) {
        return Err(ApiError::unavailable("the server is stopping"));
    }
    Ok(Job { events, guard })
}
