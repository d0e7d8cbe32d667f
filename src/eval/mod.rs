//! `reflect eval FILE.jsonl`: measures a reasoning model on the user's own questions, judged on
//! the answer (`<output>`) alone, in one or more arms (`--compare think-carefully`,
//! `--profiles a,b`) that see the same questions with the same seed per question.
//!
//! Pure parts: the question file (`questions`), the judging rules (`judge`), the statistics
//! (`stats`), the summary table (`summary`), the progress text (`progress`) and the HTML report
//! (`report`). The rest: what is asked for (`request`, plain values that `cli` makes), the
//! arms' settings (`arms`), the results file (`results`) and the engines (`runner`); this
//! module ties them together.

mod arms;
pub mod judge;
pub mod progress;
pub mod questions;
pub mod report;
mod request;
pub mod results;
pub mod runner;
pub mod stats;
pub mod summary;

pub use request::{Compare, EvalRequest};

use crate::exit::{code, Failure};
use crate::settings::Context;
use crate::signals::Signals;
use progress::Counts;
use questions::Question;
use results::{Appender, Record};
use runner::{Arm, Job, Queue, Report, Workers};
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Runs `reflect eval`; returns the exit code.
pub fn run(
    ctx: &Context,
    a: &EvalRequest,
    demo_model: &dyn Fn() -> Result<PathBuf, Failure>,
) -> Result<i32, Failure> {
    let questions = questions::load(&a.file).map_err(|e| Failure::usage(e.to_string()))?;
    let arms = arms::resolve(ctx, a, demo_model)?;
    let out_path = results_file(a)?;
    let earlier = earlier_results(a)?;
    check_parallel(a, &arms)?;
    let jobs = jobs(a, &questions, &arms, &earlier);
    let arm_names: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
    let ids: Vec<String> = questions.iter().map(|q| q.id.clone()).collect();
    let mut records: Vec<Record> = earlier
        .into_iter()
        .filter(|r| arm_names.contains(&r.arm) && ids.contains(&r.id))
        .collect();
    say!(
        "reflect: eval: {} questions × {} arm{} ({}), {} to run{}",
        questions.len(),
        arms.len(),
        if arms.len() == 1 { "" } else { "s" },
        arm_names.join(", "),
        jobs.len(),
        if records.is_empty() {
            String::new()
        } else {
            format!(", {} done already", records.len())
        }
    );
    let mut appender = match &out_path {
        Some(p) => Some(
            Appender::open(p)
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let mut counts = Counts {
        total: jobs.len(),
        done: 0,
        arms: arm_names.iter().map(|n| (n.clone(), 0, 0)).collect(),
        cost: None,
    };
    for r in &records {
        if let Some(i) = arm_names.iter().position(|n| *n == r.arm) {
            counts.judged(i, r.correct, r.cost);
        }
    }
    let outcome = if jobs.is_empty() {
        Outcome::default()
    } else {
        let mut answering = Answering {
            counts: &mut counts,
            records: &mut records,
            appender: &mut appender,
        };
        answering.run(a, &questions, arms, jobs)
    };
    let s = summary::summarise(&arm_names, &ids, &records);
    // A run that failed before any answer (the model did not load) has nothing to sum up.
    if !records.is_empty() || outcome.failure.is_none() {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(summary::render(&s).as_bytes())
            .and_then(|_| stdout.flush());
    }
    if let Some(p) = appender.as_ref().map(Appender::path) {
        say!("reflect: results in {}", p.display());
    }
    if let Some(path) = &a.report {
        let title = a.file.display().to_string();
        let page = report::render(&title, &s, &records).map_err(Failure::runtime)?;
        crate::config::write::write_atomic(path, &page)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
        say!("reflect: report in {}", path.display());
    }
    exit_code(outcome, out_path.is_some())
}

/// The file results are appended to: `--resume`'s, else `--out`'s (a new or empty one).
fn results_file(a: &EvalRequest) -> Result<Option<PathBuf>, Failure> {
    match (&a.out, &a.resume) {
        (Some(out), Some(resume)) if out != resume => Err(Failure::usage(format!(
            "--resume {} appends to that file: leave out --out {} (or give the same file)",
            resume.display(),
            out.display()
        ))),
        (Some(out), None) if std::fs::metadata(out).is_ok_and(|m| m.len() > 0) => {
            // Appending would mix these answers with another run's (another model, other
            // settings) in one file.
            Err(Failure::usage(format!(
                "--out {}: the file already holds results; go on with them with --resume {}, or name a new file",
                out.display(),
                out.display()
            )))
        }
        (out, resume) => Ok(resume.clone().or_else(|| out.clone())),
    }
}

/// The results `--resume` goes on from (none without it).
fn earlier_results(a: &EvalRequest) -> Result<Vec<Record>, Failure> {
    let Some(path) = &a.resume else {
        return Ok(Vec::new());
    };
    let done = results::read(path).map_err(Failure::usage)?;
    if done.cut {
        say!(
            "reflect: note: the last line of {} was cut short; that answer is asked again",
            path.display()
        );
    }
    Ok(done.records)
}

/// `--parallel` on a local model decodes sequences together, which no thinking budget steers.
fn check_parallel(a: &EvalRequest, arms: &[Arm]) -> Result<(), Failure> {
    let local = arms[0].settings.engine.model_path().is_some();
    if a.parallel <= 1 || !local {
        return Ok(());
    }
    match arms.iter().find(|arm| arm.settings.budget.active()) {
        Some(arm) => Err(Failure::usage(format!(
            "--parallel {} on a local model does not support a thinking budget or minimum (arm '{}'): run with --parallel 1, or without --think-budget / --min-think",
            a.parallel, arm.name
        ))),
        None => Ok(()),
    }
}

/// Each question in each arm not answered `earlier`, with the question's seed.
fn jobs(a: &EvalRequest, questions: &[Question], arms: &[Arm], earlier: &[Record]) -> Vec<Job> {
    let done: HashSet<(String, String)> = earlier.iter().map(Record::key).collect();
    let base_seed = a.run.overrides.seed.unwrap_or(0);
    let mut jobs = Vec::new();
    for (qi, q) in questions.iter().enumerate() {
        for (ai, arm) in arms.iter().enumerate() {
            if !done.contains(&(q.id.clone(), arm.name.clone())) {
                jobs.push(Job {
                    question: qi,
                    arm: ai,
                    seed: runner::seed_for(base_seed, &q.id),
                });
            }
        }
    }
    jobs
}

/// The exit code of an eval that ended with `outcome`; a failure says where to go on from
/// when the answers before it are kept in a results file.
fn exit_code(outcome: Outcome, kept: bool) -> Result<i32, Failure> {
    if let Some(f) = outcome.failure {
        if kept {
            return Err(Failure {
                code: f.code,
                message: format!(
                    "{}; the answers finished before it are kept: --resume goes on from there",
                    f.message
                ),
            });
        }
        return Err(f);
    }
    if let Some(signal) = outcome.signal {
        return Ok(code::for_signal(signal));
    }
    Ok(code::OK)
}

/// How the answering ended, when not with every job done.
#[derive(Default)]
struct Outcome {
    failure: Option<Failure>,
    signal: Option<i32>,
}

/// Where the answers go as they come: the counts shown, the records summed up at the end and
/// the results file.
struct Answering<'a> {
    counts: &'a mut Counts,
    records: &'a mut Vec<Record>,
    appender: &'a mut Option<Appender>,
}

/// What the answering loop sees of the run: the questions and arms, the workers and their
/// queue, the signals caught and the terminal.
struct Running<'a> {
    questions: &'a [Question],
    arms: &'a [Arm],
    tolerance: f64,
    workers: &'a Workers,
    queue: &'a Queue,
    signals: &'a Signals,
    tty: bool,
    started: Instant,
}

impl Running<'_> {
    /// Stops handing out questions and cancels those running.
    fn stop(&self) {
        self.queue.stop();
        self.workers.cancel_all();
    }
}

impl Answering<'_> {
    /// Runs the jobs; judges, records and shows each answer as it comes.
    fn run(
        &mut self,
        a: &EvalRequest,
        questions: &[Question],
        arms: Vec<Arm>,
        jobs: Vec<Job>,
    ) -> Outcome {
        let texts: Vec<String> = questions.iter().map(|q| q.question.clone()).collect();
        let arms = Arc::new(arms);
        let queue = Queue::new(jobs);
        let n = (a.parallel as usize).min(self.counts.total).max(1);
        let local = arms[0].settings.engine.model_path().is_some();
        let batched = (local && a.parallel > 1).then_some(n as u32);
        let workers = Workers::start(n, batched, arms.clone(), Arc::new(texts), queue.clone());
        let signals = on_signals(&workers, &queue);
        let running = Running {
            questions,
            arms: &arms,
            tolerance: a.tolerance.unwrap_or(0.0),
            workers: &workers,
            queue: &queue,
            signals: &signals,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        };
        let outcome = self.receive(&running);
        let started = running.started;
        workers.join();
        self.ended(started, &signals, outcome)
    }

    /// Takes the workers' reports until they are all done.
    fn receive(&mut self, r: &Running) -> Outcome {
        let mut warned = HashSet::new();
        let mut loaded = false;
        let mut outcome = Outcome::default();
        while let Ok(report) = r.workers.reports.recv() {
            match report {
                Report::Loaded(name) => {
                    if !loaded {
                        say!("reflect: eval: model {name}");
                        loaded = true;
                    }
                }
                Report::Warning(w) => {
                    if warned.insert(w.clone()) {
                        say!("{}reflect: warning: {w}", clear(r.tty));
                    }
                }
                Report::Failed { question, error } => {
                    r.stop();
                    if outcome.failure.is_none() && r.signals.first().is_none() {
                        let mut f = Failure::from(error);
                        if let Some(q) = question.and_then(|i| r.questions.get(i)) {
                            f.message =
                                format!("question {} (line {}): {}", q.id, q.line, f.message);
                        }
                        outcome.failure = Some(f);
                    }
                }
                Report::Answered(ans) => {
                    if let Err(f) = self.answered(r, &ans) {
                        r.stop();
                        outcome.failure.get_or_insert(f);
                    }
                }
            }
        }
        if r.tty {
            let _ = writeln!(std::io::stderr());
        }
        outcome
    }

    /// Judges an answer, appends it to the results file and shows the progress.
    fn answered(&mut self, r: &Running, ans: &runner::Answered) -> Result<(), Failure> {
        let q = &r.questions[ans.job.question];
        let arm = &r.arms[ans.job.arm];
        let record = judge_answer(q, &arm.name, ans, r.tolerance);
        if let Some(out) = self.appender.as_mut() {
            out.append(&record).map_err(|e| {
                Failure::runtime(format!("cannot write {}: {e}", out.path().display()))
            })?;
        }
        let counts = &mut *self.counts;
        counts.done += 1;
        counts.judged(ans.job.arm, record.correct, record.cost);
        if r.tty {
            let line = progress::bar_line(counts, r.started.elapsed(), terminal_width());
            let _ = write!(std::io::stderr(), "\r\x1b[K{line}");
        } else {
            let verdict = if record.no_answer {
                format!("no answer ({})", record.stop_reason)
            } else if record.correct {
                format!("right ({})", record.why)
            } else {
                format!("wrong ({})", record.why)
            };
            let line = progress::log_line(counts, &q.id, &arm.name, &verdict, r.started.elapsed());
            say!("{line}");
        }
        self.records.push(record);
        Ok(())
    }

    /// The rate, and the signal that stopped the answering.
    fn ended(&self, started: Instant, signals: &Signals, mut outcome: Outcome) -> Outcome {
        let secs = started.elapsed().as_secs_f64();
        let counts = &*self.counts;
        if counts.done > 0 && secs > 0.0 {
            say!(
                "reflect: eval: {} answers in {secs:.1} s ({:.1} a minute)",
                counts.done,
                counts.done as f64 * 60.0 / secs
            );
        }
        if let Some(signal) = signals.first() {
            say!(
                "reflect: eval stopped by a signal after {} of {} answers",
                counts.done,
                counts.total
            );
            outcome.signal = Some(signal);
        }
        outcome
    }
}

fn clear(tty: bool) -> &'static str {
    if tty {
        "\r\x1b[K"
    } else {
        ""
    }
}

fn terminal_width() -> usize {
    crate::term_size::stderr_columns().unwrap_or(80)
}

/// The record of one answer, judged on its `<output>` alone.
fn judge_answer(q: &Question, arm: &str, ans: &runner::Answered, tolerance: f64) -> Record {
    let c = &ans.completion;
    let answer = ans.answer.trim().to_string();
    let no_answer = c.summary.answer_missing;
    let (correct, why) = if no_answer {
        let why = if c
            .summary
            .open_blocks
            .contains(&crate::stream::Channel::Thinking)
        {
            "no answer: the thinking never ended"
        } else {
            "no answer: there was no output section"
        };
        (false, format!("{why} (stop: {})", c.stop_reason.as_str()))
    } else {
        let v = q.expected.judge(&answer, tolerance);
        (v.correct, v.why)
    };
    Record {
        id: q.id.clone(),
        arm: arm.to_string(),
        answer,
        correct,
        why,
        no_answer,
        stop_reason: c.stop_reason.as_str().to_string(),
        thinking_tokens: c.usage.thinking_tokens,
        reflection_tokens: c.usage.reflection_tokens,
        output_tokens: c.usage.output_tokens,
        reflections: c.summary.reflections,
        time_ms: ans.time_ms,
        cost: c.cost,
        seed: c.seed.or(Some(ans.job.seed)),
    }
}

/// The first SIGINT, SIGTERM or SIGHUP stops handing out questions and cancels those running
/// (their answers are not recorded); what was judged is kept. A second one exits at once.
fn on_signals(workers: &Workers, queue: &Arc<Queue>) -> Signals {
    let cancellers = workers.cancellers.clone();
    let queue = queue.clone();
    Signals::catch_once(move |_| {
        queue.stop();
        for c in &cancellers {
            c.cancel(u64::MAX);
        }
    })
}
