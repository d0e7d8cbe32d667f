//! A download as a job: [`Hub::fetch`] for a plan on a thread of its own, its [`Step`]s told to
//! a sink, stopped at once when asked (keeping the partial file). The one way reflect
//! downloads: `models pull`, `--hf` in pipe mode and eval wait for it with progress on stderr;
//! the chat runs it beside its loop and shows [`Progress`] in the status bar.

use super::progress::Meter;
use super::{Hub, HubError, Interrupt, Plan, Step};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a download stands, for a status line.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The file's name (its base name), with its part of a split model.
    pub file: String,
    pub done: u64,
    pub total: u64,
    /// Bytes per second over the last seconds, once measured.
    pub rate: Option<f64>,
}

/// A download running on its own thread. Dropping it stops it and waits for the thread.
pub struct Job<T> {
    stop: Arc<AtomicUsize>,
    thread: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts fetching `plan`: `sink` hears every step, `finish` the path or the error (its
    /// value is what [`Job::wait`] returns). `interrupt` is what else stops it (the caught
    /// signals of the command line; the chat catches its own and calls [`Job::stop`]).
    pub fn spawn(
        hub: Hub,
        plan: Plan,
        interrupt: Interrupt,
        mut sink: impl FnMut(Step) + Send + 'static,
        finish: impl FnOnce(Result<PathBuf, HubError>) -> T + Send + 'static,
    ) -> Job<T> {
        let stop = interrupt.flag();
        let thread = std::thread::spawn(move || finish(hub.fetch(&plan, &mut sink, &interrupt)));
        Job {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the download where it is (within a tenth of a second, wherever it waits); the
    /// partial file stays for the next run to resume.
    pub fn stop(&self) {
        self.stop.store(libc::SIGTERM as usize, Ordering::SeqCst);
    }

    /// Waits for the end: `finish`'s value.
    pub fn wait(mut self) -> T {
        let thread = self.thread.take().expect("a job is waited for once");
        match thread.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(libc::SIGTERM as usize, Ordering::SeqCst);
            let _ = thread.join();
        }
    }
}

/// Turns a download's [`Step`]s into [`Progress`] at most ten times a second: each file's
/// start and its last bytes always, the bytes between at most every 100 ms.
#[derive(Default)]
pub struct Throttle {
    file: String,
    meter: Option<Meter>,
    sent: Option<Instant>,
}

impl Throttle {
    const EVERY: Duration = Duration::from_millis(100);

    /// The progress to show for `step`, if it is time to show one.
    pub fn step(&mut self, step: &Step, now: Instant) -> Option<Progress> {
        let (done, total) = match step {
            Step::Start {
                name,
                part,
                parts,
                from,
                total,
            } => {
                self.file = super::progress::file_label(name, *part, *parts);
                self.meter = Some(Meter::new(now, *from));
                (*from, *total)
            }
            Step::Bytes { done, total } => {
                if let Some(m) = self.meter.as_mut() {
                    m.record(now, *done);
                }
                let recent = self
                    .sent
                    .is_some_and(|s| now.duration_since(s) < Self::EVERY);
                if recent && done < total {
                    return None;
                }
                (*done, *total)
            }
            Step::Retry { .. } | Step::Done { .. } | Step::Waiting { .. } => return None,
        };
        self.sent = Some(now);
        Some(Progress {
            file: self.file.clone(),
            done,
            total,
            rate: self.meter.as_ref().and_then(Meter::rate),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(part: usize, parts: usize) -> Step {
        Step::Start {
            name: "sub/m-Q4_K_M.gguf".into(),
            part,
            parts,
            from: 0,
            total: 1000,
        }
    }

    fn bytes(done: u64) -> Step {
        Step::Bytes { done, total: 1000 }
    }

    #[test]
    fn progress_is_told_at_most_ten_times_a_second_but_never_misses_a_start_or_an_end() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut t = Throttle::default();
        let shown = |p: Option<Progress>| p.map(|p| (p.file, p.done));
        assert_eq!(
            shown(t.step(&start(1, 1), at(0))),
            Some(("m-Q4_K_M.gguf".into(), 0))
        );
        assert_eq!(shown(t.step(&bytes(100), at(50))), None);
        assert_eq!(
            shown(t.step(&bytes(200), at(120))),
            Some(("m-Q4_K_M.gguf".into(), 200))
        );
        assert_eq!(shown(t.step(&bytes(300), at(150))), None);
        // The last bytes always show, however soon.
        assert_eq!(
            shown(t.step(&bytes(1000), at(160))),
            Some(("m-Q4_K_M.gguf".into(), 1000))
        );
        // A split model's part is named; retries and ends are not progress.
        assert_eq!(
            shown(t.step(&start(2, 3), at(170))),
            Some(("m-Q4_K_M.gguf (2/3)".into(), 0))
        );
        let retry = Step::Retry {
            done: 5,
            error: "reset".into(),
        };
        assert_eq!(t.step(&retry, at(400)), None);
    }

    #[test]
    fn the_rate_is_measured_from_the_bytes_seen() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        t.step(&start(1, 1), t0);
        let p = t.step(&bytes(500), t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(p.rate, Some(500.0));
    }
}
