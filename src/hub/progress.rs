//! How a download reports itself: the [`Step`]s a fetch goes through, and the stderr renderer
//! of the command line: a bar with bytes, rate and ETA on a terminal, one line at the start
//! and one at the end otherwise. The chat shows the same steps in its loading phase.

use std::io::Write;
use std::time::{Duration, Instant};

/// What a fetch is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A file begins: part `part` of `parts`; `from` bytes were already there (resumed).
    Start {
        name: String,
        part: usize,
        parts: usize,
        from: u64,
        total: u64,
    },
    /// `done` of `total` bytes of the current file are on disk.
    Bytes { done: u64, total: u64 },
    /// Another download of the same file (reflect's or huggingface_hub's) holds its lock.
    Waiting { name: String },
    /// The connection dropped at `done` bytes; the download goes on from there.
    Retry { done: u64, error: String },
    /// The file is complete (`verified`: its sha256 was checked).
    Done {
        name: String,
        bytes: u64,
        took: Duration,
        verified: bool,
    },
}

/// `bytes` as people read it: B, KiB, MiB, GiB.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A duration as `1h02m`, `3m05s`, `42s`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 100 * 3600 => "> 99h".into(),
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The rate over the last few seconds, for the bar's rate and ETA.
#[derive(Debug)]
pub struct Meter {
    samples: Vec<(Instant, u64)>,
}

impl Meter {
    pub fn new(at: Instant, done: u64) -> Meter {
        Meter {
            samples: vec![(at, done)],
        }
    }

    /// Records `done` bytes at `at`; keeps five seconds of samples.
    pub fn record(&mut self, at: Instant, done: u64) {
        self.samples.push((at, done));
        while self.samples.len() > 2
            && at.duration_since(self.samples[0].0) > Duration::from_secs(5)
        {
            self.samples.remove(0);
        }
    }

    /// Bytes per second, once there is a measurable span.
    pub fn rate(&self) -> Option<f64> {
        let (t0, b0) = self.samples.first()?;
        let (t1, b1) = self.samples.last()?;
        let secs = t1.duration_since(*t0).as_secs_f64();
        (secs >= 0.2).then(|| b1.saturating_sub(*b0) as f64 / secs)
    }
}

/// The bar's line for `done` of `total` at `rate`, fitted to `width` columns.
pub fn bar_line(name: &str, done: u64, total: u64, rate: Option<f64>, width: usize) -> String {
    let pct = if total > 0 {
        (done as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    let rate_text = match rate {
        Some(r) if r > 0.0 => {
            let eta = Duration::try_from_secs_f64(total.saturating_sub(done) as f64 / r)
                .unwrap_or(Duration::MAX);
            format!("  {}/s  ETA {}", bytes(r as u64), short_duration(eta))
        }
        _ => String::new(),
    };
    let numbers = format!(
        "{:>3.0}%  {} / {}{rate_text}",
        pct * 100.0,
        bytes(done),
        bytes(total)
    );
    let room = width.saturating_sub(numbers.chars().count() + 4);
    let bar_w = room.min(30);
    let name_w = room.saturating_sub(bar_w + 1);
    let name = if name.chars().count() > name_w {
        let keep: String = name
            .chars()
            .rev()
            .take(name_w.saturating_sub(1))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if name_w == 0 {
            String::new()
        } else {
            format!("…{keep}")
        }
    } else {
        name.to_string()
    };
    let filled = (pct * bar_w as f64).round() as usize;
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(bar_w - filled));
    if name.is_empty() {
        format!("[{bar}] {numbers}")
    } else {
        format!("{name} [{bar}] {numbers}")
    }
}

/// Renders [`Step`]s on stderr: a bar redrawn at most ten times a second on a terminal, plain
/// lines otherwise.
pub struct StderrProgress {
    tty: bool,
    width: usize,
    name: String,
    meter: Option<Meter>,
    drawn: Option<Instant>,
}

impl StderrProgress {
    pub fn new(tty: bool) -> StderrProgress {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .or_else(|| {
                ratatui::crossterm::terminal::size()
                    .ok()
                    .map(|(w, _)| w as usize)
            })
            .unwrap_or(80);
        StderrProgress {
            tty,
            width: width.clamp(40, 200),
            name: String::new(),
            meter: None,
            drawn: None,
        }
    }

    pub fn step(&mut self, step: &Step) {
        let mut err = std::io::stderr().lock();
        match step {
            Step::Start {
                name,
                part,
                parts,
                from,
                total,
            } => {
                self.name = file_label(name, *part, *parts);
                self.meter = Some(Meter::new(Instant::now(), *from));
                self.drawn = None;
                let resumed = if *from > 0 {
                    format!(", resuming at {}", bytes(*from))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    err,
                    "reflect: downloading {} ({}{resumed})",
                    self.name,
                    bytes(*total)
                );
            }
            Step::Bytes { done, total } => {
                let now = Instant::now();
                if let Some(m) = self.meter.as_mut() {
                    m.record(now, *done);
                }
                let due = self
                    .drawn
                    .is_none_or(|d| now.duration_since(d) >= Duration::from_millis(100));
                if self.tty && (due || done == total) {
                    self.drawn = Some(now);
                    let line = bar_line(
                        &self.name,
                        *done,
                        *total,
                        self.meter.as_ref().and_then(Meter::rate),
                        self.width,
                    );
                    let _ = write!(err, "\r\x1b[2K{line}");
                    let _ = err.flush();
                }
            }
            Step::Waiting { name } => {
                let _ = writeln!(
                    err,
                    "reflect: waiting for another download of {name} to finish"
                );
            }
            Step::Retry { done, error } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let _ = writeln!(
                    err,
                    "reflect: the connection dropped at {} ({error}); resuming",
                    bytes(*done)
                );
            }
            Step::Done {
                bytes: b,
                took,
                verified,
                ..
            } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let rate = b / took.as_secs().max(1);
                let check = if *verified { "; sha256 verified" } else { "" };
                let _ = writeln!(
                    err,
                    "reflect: downloaded {} ({} in {}, {}/s{check})",
                    self.name,
                    bytes(*b),
                    short_duration(*took),
                    bytes(rate)
                );
            }
        }
    }
}

/// How a download names its file: the base name, with its part of a split model.
pub fn file_label(name: &str, part: usize, parts: usize) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    if parts > 1 {
        format!("{base} ({part}/{parts})")
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(4_831_838_208), "4.5 GiB");
        assert_eq!(short_duration(Duration::from_secs(42)), "42s");
        assert_eq!(short_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(short_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn the_bar_shows_progress_rate_and_eta_within_its_width() {
        let line = bar_line(
            "model-Q4_K_M.gguf",
            1 << 30,
            4 << 30,
            Some(f64::from(1u32 << 20) * 10.0),
            100,
        );
        assert!(line.starts_with("model-Q4_K_M.gguf ["), "{line}");
        assert!(
            line.contains(" 25%  1.0 GiB / 4.0 GiB  10.0 MiB/s  ETA 5m07s"),
            "{line}"
        );
        assert_eq!(line.matches('█').count(), 8, "{line}");
        for width in [40, 60, 100, 200] {
            let l = bar_line(
                "a-very-long-model-file-name-Q4_K_M.gguf",
                7,
                10,
                Some(1.0),
                width,
            );
            assert!(l.chars().count() <= width, "{width}: {l}");
        }
        let start = bar_line("m.gguf", 0, 100, None, 80);
        assert!(
            start.contains("  0%  0 B / 100 B") && !start.contains("ETA"),
            "{start}"
        );
    }

    #[test]
    fn the_meter_measures_recent_bytes() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0, 0);
        assert_eq!(m.rate(), None);
        m.record(t0 + Duration::from_secs(1), 1000);
        m.record(t0 + Duration::from_secs(2), 2000);
        assert_eq!(m.rate(), Some(1000.0));
        m.record(t0 + Duration::from_secs(10), 2000);
        assert!(m.rate().unwrap() < 1000.0);
    }
}
