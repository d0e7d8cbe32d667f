//! Runs the questions of `reflect eval` through the engine seam and sends back what the model
//! answered; judging and writing happen on the caller's thread, in the order answers finish.
//! Against an endpoint, `--parallel N` is N engines, each on a thread of its own pulling
//! (question, arm) jobs from a shared queue: N concurrent requests. A local model is one engine
//! (one model in memory): one generation at a time, or with `--parallel N` all jobs in one
//! `GenerateMany`, N sequences batched in one llama.cpp context.

use crate::engine::{Canceller, Engine};
use crate::llm::{Command, Completion, EngineError, EngineEvent, GenerateRequest, StopReason};
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
    /// Starts the engines on the first arm's backend: `n` of them, each on a thread of its
    /// own serving jobs from `queue` one at a time; or, with `batched`, one serving them all
    /// that many at once.
    pub fn start(
        n: usize,
        batched: Option<u32>,
        arms: Arc<Vec<Arm>>,
        questions: Arc<Vec<String>>,
        queue: Arc<Queue>,
    ) -> Workers {
        let (tx, reports) = mpsc::channel();
        let mut cancellers = Vec::new();
        let mut threads = Vec::new();
        let n = if batched.is_some() { 1 } else { n };
        for _ in 0..n {
            let (engine, events) = Engine::start(arms[0].settings.engine.clone());
            cancellers.push(engine.canceller());
            let (arms, questions, queue, tx) =
                (arms.clone(), questions.clone(), queue.clone(), tx.clone());
            let spawned = std::thread::Builder::new()
                .name("reflect-eval".into())
                .spawn(move || {
                    let Some(mut events) = loaded(events, &tx) else {
                        return;
                    };
                    match batched {
                        Some(at_once) => {
                            work_many(engine, events, &arms, &questions, &queue, &tx, at_once)
                        }
                        None => work(engine, &mut events, &arms, &questions, &queue, &tx),
                    }
                });
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

/// Waits for the model; `None` (the failure reported) when it does not load.
fn loaded(
    mut events: UnboundedReceiver<EngineEvent>,
    tx: &mpsc::Sender<Report>,
) -> Option<UnboundedReceiver<EngineEvent>> {
    loop {
        match events.blocking_recv() {
            Some(EngineEvent::Loaded(info)) => {
                let _ = tx.send(Report::Loaded(info.name.clone()));
                return Some(events);
            }
            Some(EngineEvent::Warning(w)) => {
                let _ = tx.send(Report::Warning(w));
            }
            Some(EngineEvent::Error(error)) => {
                let _ = tx.send(Report::Failed {
                    question: None,
                    error,
                });
                return None;
            }
            None => {
                let _ = tx.send(Report::Failed {
                    question: None,
                    error: EngineError::Gone,
                });
                return None;
            }
            Some(_) => {}
        }
    }
}

/// The request of `job`, generation `id`: the arm's prompt and settings, the job's seed.
fn request(job: &Job, id: u64, arms: &[Arm], questions: &[String]) -> GenerateRequest {
    let s = &arms[job.arm].settings;
    let sent = s.to_send(&questions[job.question]);
    s.request(id, &[], &sent, Some(job.seed))
}

/// One generation at a time.
fn work(
    engine: Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    arms: &[Arm],
    questions: &[String],
    queue: &Queue,
    tx: &mpsc::Sender<Report>,
) {
    let mut id = 0u64;
    while let Some(job) = queue.next() {
        id += 1;
        let started = Instant::now();
        let request = request(&job, id, arms, questions);
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

/// Every job in one `GenerateMany`, `at_once` sequences at a time; answers come back as each
/// sequence ends.
fn work_many(
    engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    arms: &[Arm],
    questions: &[String],
    queue: &Queue,
    tx: &mpsc::Sender<Report>,
    at_once: u32,
) {
    let mut jobs = Vec::new();
    while let Some(job) = queue.next() {
        jobs.push(job);
    }
    let requests: Vec<GenerateRequest> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| request(job, i as u64 + 1, arms, questions))
        .collect();
    let started = Instant::now();
    if let Err(error) = engine.send(Command::GenerateMany { requests, at_once }) {
        let _ = tx.send(Report::Failed {
            question: None,
            error,
        });
        return;
    }
    let mut answers = vec![String::new(); jobs.len()];
    let mut begun: Vec<Option<Instant>> = vec![None; jobs.len()];
    let mut finished = vec![false; jobs.len()];
    let mut left = jobs.len();
    let index = |id: u64| (id as usize).checked_sub(1).filter(|i| *i < jobs.len());
    while left > 0 {
        match events.blocking_recv() {
            Some(EngineEvent::Text {
                id,
                channel: Channel::Output,
                text,
            }) => {
                if let Some(i) = index(id) {
                    answers[i].push_str(&text);
                }
            }
            Some(EngineEvent::PromptProcessed { id, .. }) => {
                if let Some(i) = index(id) {
                    begun[i].get_or_insert_with(Instant::now);
                }
            }
            Some(EngineEvent::Warning(w)) => {
                let _ = tx.send(Report::Warning(w));
            }
            Some(EngineEvent::Done(done)) => {
                left -= 1;
                let Some(i) = index(done.id) else { continue };
                finished[i] = true;
                if done.stop_reason == StopReason::Cancelled {
                    continue;
                }
                // From its prompt being read to its end: the time this answer took.
                let time_ms = begun[i].map_or(started, |b| b).elapsed().as_millis() as u64
                    + done.timings.prompt_ms;
                let answered = Answered {
                    job: jobs[i].clone(),
                    answer: std::mem::take(&mut answers[i]),
                    completion: *done,
                    time_ms,
                };
                if tx.send(Report::Answered(Box::new(answered))).is_err() {
                    return;
                }
            }
            Some(EngineEvent::Error(error)) => {
                // Sequences start in the order of the requests: a prompt that does not fit is
                // the first one neither started nor finished.
                let question = matches!(error, EngineError::PromptTooLong { .. })
                    .then(|| (0..jobs.len()).find(|&i| begun[i].is_none() && !finished[i]))
                    .flatten()
                    .map(|i| jobs[i].question);
                let _ = tx.send(Report::Failed { question, error });
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
