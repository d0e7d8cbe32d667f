//! What `reflect eval` is asked to do, as plain values: the question file, the arms (a run's
//! settings [`Request`], the profiles and what to compare), how many at once and where the
//! results go. `cli` turns its parsed flags into one; tests build one directly.

use crate::settings::Request;
use std::path::PathBuf;

/// What `--compare` runs each question with and without.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Compare {
    /// "Think carefully." appended to the question, and not.
    ThinkCarefully,
}

/// An eval as asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRequest {
    /// The questions, JSON Lines.
    pub file: PathBuf,
    /// The model, profile and sampling of every arm (each of `profiles` replaces the profile).
    pub run: Request,
    /// One arm per profile (names or .toml files); `None`: one arm, `run`'s profile.
    pub profiles: Option<Vec<String>>,
    /// Each arm twice: with and without this.
    pub compare: Option<Compare>,
    /// Questions answered at once (1 or more).
    pub parallel: u32,
    /// A new results file.
    pub out: Option<PathBuf>,
    /// A results file to go on with (and append to).
    pub resume: Option<PathBuf>,
    /// An HTML report to write.
    pub report: Option<PathBuf>,
    /// The tolerance of "number" questions that give none.
    pub tolerance: Option<f64>,
}

impl EvalRequest {
    /// An eval of `file` with one arm, `run`, one question at a time, results on stdout only.
    pub fn new(file: impl Into<PathBuf>, run: Request) -> Self {
        EvalRequest {
            file: file.into(),
            run,
            profiles: None,
            compare: None,
            parallel: 1,
            out: None,
            resume: None,
            report: None,
            tolerance: None,
        }
    }
}
