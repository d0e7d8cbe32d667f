//! What every request shares: the server's settings, whether the model is ready, the engine's
//! job channel, how many requests are in (running or waiting) and how to cancel those running.

use super::errors::ApiError;
use crate::llm::ServeJob;
use crate::settings::RunSettings;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Whether the model can answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Health {
    Loading,
    Ready,
    /// The load failed: why.
    Failed(String),
}

/// The server's state, shared by the handlers.
pub struct Shared {
    pub settings: RunSettings,
    /// The name clients give as `model` (and `/v1/models` lists).
    pub model: String,
    pub api_key: Option<String>,
    pub slots: u32,
    pub queue: u32,
    health: Mutex<Health>,
    jobs: Mutex<Option<mpsc::Sender<ServeJob>>>,
    in_flight: AtomicU32,
    next_id: AtomicU64,
    /// The cancel flags of the requests in, by id: set at shutdown.
    cancels: Mutex<HashMap<u64, Arc<AtomicU64>>>,
}

impl Shared {
    pub fn new(
        settings: RunSettings,
        api_key: Option<String>,
        slots: u32,
        queue: u32,
        jobs: mpsc::Sender<ServeJob>,
    ) -> Shared {
        Shared {
            model: settings.engine.display_name(),
            settings,
            api_key,
            slots,
            queue,
            health: Mutex::new(Health::Loading),
            jobs: Mutex::new(Some(jobs)),
            in_flight: AtomicU32::new(0),
            next_id: AtomicU64::new(1),
            cancels: Mutex::new(HashMap::new()),
        }
    }

    pub fn health(&self) -> Health {
        self.health
            .lock()
            .map(|h| h.clone())
            .unwrap_or(Health::Loading)
    }

    pub fn set_health(&self, h: Health) {
        if let Ok(mut now) = self.health.lock() {
            *now = h;
        }
    }

    /// A new request's id (unique in this process).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Lets a request in when a slot or a place in the queue is free.
    pub fn admit(self: &Arc<Self>) -> Result<Permit, ApiError> {
        let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let permit = Permit(self.clone());
        if before >= self.slots + self.queue {
            return Err(ApiError::busy(self.slots, self.queue));
        }
        Ok(permit)
    }

    /// Hands a job to the engine; `false` once the server is stopping.
    pub fn send(&self, job: ServeJob) -> bool {
        let jobs = self.jobs.lock().ok();
        jobs.as_ref()
            .and_then(|j| j.as_ref())
            .is_some_and(|tx| tx.send(job).is_ok())
    }

    /// No more jobs: the engine's loop ends once those in it are done.
    pub fn close_jobs(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }

    pub fn register(&self, id: u64, cancel: Arc<AtomicU64>) {
        if let Ok(mut c) = self.cancels.lock() {
            c.insert(id, cancel);
        }
    }

    pub fn unregister(&self, id: u64) {
        if let Ok(mut c) = self.cancels.lock() {
            c.remove(&id);
        }
    }

    /// Cancels every request in: their streams end.
    pub fn cancel_all(&self) {
        if let Ok(c) = self.cancels.lock() {
            for flag in c.values() {
                flag.store(u64::MAX, Ordering::SeqCst);
            }
        }
    }
}

/// A request's place (a slot or in the queue), given back when dropped: by the engine once it
/// is done with the job (the job's event sender holds it), else by the handler.
pub struct Permit(Arc<Shared>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Context, Environment, Request};

    fn shared(slots: u32, queue: u32) -> Arc<Shared> {
        shared_with(slots, queue, mpsc::channel().0)
    }

    fn shared_with(slots: u32, queue: u32, jobs: mpsc::Sender<ServeJob>) -> Arc<Shared> {
        let asked = Request {
            model: Some("served.gguf".into()),
            ..Request::default()
        };
        let settings = Context::load(Environment::new(None, []))
            .unwrap()
            .run_settings_with(&asked, || unreachable!(), |_| None)
            .unwrap();
        Arc::new(Shared::new(settings, None, slots, queue, jobs))
    }

    #[test]
    fn a_client_that_leaves_while_its_request_waits_frees_its_place_at_once() {
        use crate::serve::job::submit;
        let (tx, _engine_side) = mpsc::channel();
        let s = shared_with(1, 1, tx);
        s.set_health(Health::Ready);
        let request = |id| crate::llm::GenerateRequest {
            id,
            ..Default::default()
        };
        let Ok(_running) = submit(&s, request(1)) else {
            panic!("a slot")
        };
        let Ok(waiting) = submit(&s, request(2)) else {
            panic!("a place in the queue")
        };
        assert!(submit(&s, request(3)).is_err(), "full");
        // Its client leaves; the engine has not taken the job out of its queue yet.
        drop(waiting);
        assert!(submit(&s, request(4)).is_ok(), "the place it held is free");
    }

    #[test]
    fn requests_beyond_the_slots_and_the_queue_are_turned_away_until_one_leaves() {
        let s = shared(1, 1);
        assert_eq!(s.model, "served");
        let a = s.admit().expect("a slot");
        let _b = s.admit().expect("a place in the queue");
        let refused = s.admit().err().expect("full");
        assert_eq!(refused.status.as_u16(), 503);
        assert_eq!(refused.retry_after, Some(1));
        drop(a);
        assert!(s.admit().is_ok(), "a place freed");
    }

    #[test]
    fn cancel_all_sets_every_registered_flag_and_closed_jobs_refuse() {
        let s = shared(1, 0);
        let (one, two) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        s.register(1, one.clone());
        s.register(2, two.clone());
        s.unregister(2);
        s.cancel_all();
        assert_eq!(one.load(Ordering::SeqCst), u64::MAX);
        assert_eq!(two.load(Ordering::SeqCst), 0, "no longer in");
        s.close_jobs();
        let job = ServeJob {
            request: Default::default(),
            cancel: one,
            events: crate::llm::EventSender::new(|_| true),
        };
        assert!(!s.send(job));
    }
}
