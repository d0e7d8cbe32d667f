//! Runs the questions of `reflect eval` through the engine seam: one engine per worker thread
//! (one for a local model; N concurrent requests to an endpoint with `--parallel N`), each
//! pulling (question, arm) jobs from a shared queue and sending back what the model answered.
//! Judging and writing happen on the caller's thread, in the order answers finish.

use crate::conversation;
use crate::engine::{Canceller, Engine};
use crate::llm::{Command, Completion, EngineError, EngineEvent, GenerateRequest, StopReason};
use crate::prompt;
use crate::settings::RunSettings;
use crate::stream::Channel;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

/// One arm: a name and the settings its questions run with.
#[derive(Clone, Debug)]
pub struct Arm {
    pub name: String,
    pub settings: RunSettings,
}

/// One question in one arm, with its seed.
#[derive(Clone, Debug)]
pub struct Job {
    pub question: usize,
    pub arm: usize,
    pub seed: u32,
}

/// What a worker reports.
pub enum Report {
    /// The model is ready (once per worker): its name.
    Loaded(String),
    Warning(String),
    Answered(Box<Answered>),
    /// Stops the run: the engine failed (the job's question index, when one was running).
    Failed {
        question: Option<usize>,
        error: EngineError,
    },
}

pub struct Answered {
    pub job: Job,
    /// The `<output>` text as routed.
    pub answer: String,
    pub completion: Completion,
    pub time_ms: u64,
}

/// The seed of a question, the same in every arm: from its id and the run's base seed.
pub fn seed_for(base: u32, id: &str) -> u32 {
    let h = crate::hash::fnv1a(format!("{base}\u{0}{id}").as_bytes());
    (h ^ (h >> 32)) as u32
}

/// The jobs being handed out, and whether to stop handing them out.
pub struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    stop: AtomicBool,
}

impl Queue {
    pub fn new(jobs: Vec<Job>) -> Arc<Queue> {
        Arc::new(Queue {
            jobs: Mutex::new(jobs.into()),
            stop: AtomicBool::new(false),
        })
    }

    /// No job is handed out after this; running ones finish (or are cancelled by the caller).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn next(&self) -> Option<Job> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.jobs.lock().ok()?.pop_front()
    }
}

/// The workers of one run.
pub struct Workers {
    pub reports: mpsc::Receiver<Report>,
    pub cancellers: Vec<Canceller>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` engines on the first arm's backend, each on a thread of its own serving
    /// jobs from `queue`.
    pub fn start(
        n: usize,
        arms: Arc<Vec<Arm>>,
        questions: Arc<Vec<String>>,
        queue: Arc<Queue>,
    ) -> Workers {
        let (tx, reports) = mpsc::channel();
        let mut cancellers = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..n {
            let (engine, events) = Engine::start(arms[0].settings.engine.clone());
            cancellers.push(engine.canceller());
            let (arms, questions, queue, tx) =
                (arms.clone(), questions.clone(), queue.clone(), tx.clone());
            let spawned = std::thread::Builder::new()
                .name("reflect-eval".into())
                .spawn(move || work(engine, events, &arms, &questions, &queue, &tx));
            if let Ok(t) = spawned {
                threads.push(t);
            }
        }
        Workers {
            reports,
            cancellers,
            threads,
        }
    }

    /// Cancels every running generation.
    pub fn cancel_all(&self) {
        for c in &self.cancellers {
            c.cancel(u64::MAX);
        }
    }

    pub fn join(self) {
        drop(self.reports);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn work(
    engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    arms: &[Arm],
    questions: &[String],
    queue: &Queue,
    tx: &mpsc::Sender<Report>,
) {
    loop {
        match events.blocking_recv() {
            Some(EngineEvent::Loaded(info)) => {
                let _ = tx.send(Report::Loaded(info.name.clone()));
                break;
            }
            Some(EngineEvent::Warning(w)) => {
                let _ = tx.send(Report::Warning(w));
            }
            Some(EngineEvent::Error(error)) => {
                let _ = tx.send(Report::Failed {
                    question: None,
                    error,
                });
                return;
            }
            None => {
                let _ = tx.send(Report::Failed {
                    question: None,
                    error: EngineError::Gone,
                });
                return;
            }
            Some(_) => {}
        }
    }
    let mut id = 0u64;
    while let Some(job) = queue.next() {
        id += 1;
        let arm = &arms[job.arm];
        let s = &arm.settings;
        let sent = prompt::to_send(&questions[job.question], s.think_carefully);
        let messages =
            conversation::messages(s.system.as_deref(), s.history, &s.router.tags, &[], &sent);
        let mut sampling = s.sampling.clone();
        sampling.seed = Some(job.seed);
        let started = Instant::now();
        let request = GenerateRequest {
            id,
            messages,
            sampling,
            max_tokens: s.max_tokens,
            router: s.router.clone(),
            budget: s.budget.clone(),
        };
        if let Err(error) = engine.send(Command::Generate(request)) {
            let _ = tx.send(Report::Failed {
                question: Some(job.question),
                error,
            });
            return;
        }
        let mut answer = String::new();
        let completion = loop {
            match events.blocking_recv() {
                Some(EngineEvent::Text {
                    channel: Channel::Output,
                    text,
                    ..
                }) => answer.push_str(&text),
                Some(EngineEvent::Warning(w)) => {
                    let _ = tx.send(Report::Warning(w));
                }
                Some(EngineEvent::Done(done)) => break *done,
                Some(EngineEvent::Error(error)) => {
                    let _ = tx.send(Report::Failed {
                        question: Some(job.question),
                        error,
                    });
                    return;
                }
                None => {
                    let _ = tx.send(Report::Failed {
                        question: Some(job.question),
                        error: EngineError::Gone,
                    });
                    return;
                }
                Some(_) => {}
            }
        };
        // A cancelled answer is not an answer: it is left for --resume.
        if completion.stop_reason == StopReason::Cancelled {
            return;
        }
        let answered = Answered {
            job,
            answer,
            completion,
            time_ms: started.elapsed().as_millis() as u64,
        };
        if tx.send(Report::Answered(Box::new(answered))).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_the_id_and_base_only() {
        assert_eq!(seed_for(0, "q1"), seed_for(0, "q1"));
        assert_ne!(seed_for(0, "q1"), seed_for(0, "q2"));
        assert_ne!(seed_for(0, "q1"), seed_for(1, "q1"));
    }
}
