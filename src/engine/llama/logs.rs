//! Captures llama.cpp's error log lines while it loads a model, so a failed load can tell the
//! user llama.cpp's own reason ("unknown model architecture: 'x'") instead of a bare failure.
//! Every event is also passed on to the process's normal subscriber (the log file, if any).

use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// A subscriber that records ERROR messages and forwards everything to `inner`.
struct Capture {
    inner: Dispatch,
    errors: Arc<Mutex<Vec<String>>>,
}

struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.trim().to_string();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && self.0.is_empty() {
            self.0 = format!("{value:?}").trim().to_string();
        }
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        *m.level() == Level::ERROR || self.inner.enabled(m)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values)
    }
    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows)
    }
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::ERROR {
            let mut m = Message(String::new());
            event.record(&mut m);
            if !m.0.is_empty() {
                if let Ok(mut errors) = self.errors.lock() {
                    errors.push(m.0);
                }
            }
        }
        if self.inner.enabled(event.metadata()) {
            self.inner.event(event)
        }
    }
    fn enter(&self, span: &Id) {
        self.inner.enter(span)
    }
    fn exit(&self, span: &Id) {
        self.inner.exit(span)
    }
    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }
    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}

/// Runs `f` on this thread while recording llama.cpp's error lines; returns f's result and the
/// most specific error line seen (llama.cpp's "error loading model: …" when there is one).
pub(super) fn capture_errors<T>(f: impl FnOnce() -> T) -> (T, Option<String>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let inner = tracing::dispatcher::get_default(Clone::clone);
    let capture = Dispatch::new(Capture {
        inner,
        errors: errors.clone(),
    });
    let out = tracing::dispatcher::with_default(&capture, f);
    let lines = errors.lock().map(|e| e.clone()).unwrap_or_default();
    let reason = lines
        .iter()
        .find(|l| l.contains("error loading model"))
        .or_else(|| lines.first())
        .map(|l| {
            // "error loading model: error loading model architecture: unknown model
            // architecture: 'x'" → "unknown model architecture: 'x'"
            let mut l = l.as_str();
            while let Some((_, rest)) = l.split_once("error loading model") {
                l = rest.split_once(": ").map_or(rest, |(_, r)| r);
            }
            l.trim().to_string()
        });
    (out, reason)
}
