//! The flags of `reflect eval`: the question file, the arms, throughput and where results go,
//! plus the model, profile and sampling flags of a one-shot run ([`RunFlags`], the main
//! command's: a subcommand does not see the main command's flags). They make an
//! [`EvalRequest`], what `eval` runs.

use super::RunFlags;
use crate::eval::{Compare, EvalRequest};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct EvalArgs {
    /// The questions, JSON Lines: {"id": "q1", "question": "…", "answer": "…", "match":
    /// "exact|number|choice|regex|contains"} (match: exact by default; "tolerance" for numbers).
    #[arg(value_name = "FILE.jsonl")]
    pub file: PathBuf,

    /// Run each question with and without "Think carefully." (two arms).
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Arms")]
    pub compare: Option<Compare>,

    /// Run each question under each of these profiles (names or .toml files, comma-separated).
    #[arg(
        long,
        value_name = "NAME,NAME,…",
        value_delimiter = ',',
        num_args = 1..,
        conflicts_with = "profile",
        help_heading = "Arms"
    )]
    pub profiles: Option<Vec<String>>,

    /// Questions answered at once: concurrent requests to an endpoint; on a local model,
    /// sequences of one context decoded together (its KV cache holds N × --ctx-size tokens).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Arms")]
    pub parallel: u32,

    /// Write one JSON line per question and arm to this file, as each is judged.
    #[arg(long, value_name = "FILE.jsonl", help_heading = "Results")]
    pub out: Option<PathBuf>,

    /// Skip the questions and arms already in this results file, and append the rest to it.
    #[arg(long, value_name = "FILE.jsonl", help_heading = "Results")]
    pub resume: Option<PathBuf>,

    /// Write a self-contained HTML report (the summary, and charts of accuracy per arm and of
    /// thinking tokens against correctness) to this file.
    #[arg(long, value_name = "FILE.html", help_heading = "Results")]
    pub report: Option<PathBuf>,

    /// Absolute tolerance of "number" questions that give none [default: 0].
    #[arg(long, value_name = "X", value_parser = parse_tolerance, allow_negative_numbers = true, help_heading = "Results")]
    pub tolerance: Option<f64>,

    /// The model, profile and sampling flags: the main command's.
    #[command(flatten)]
    pub run: RunFlags,
}

impl EvalArgs {
    /// The eval these flags ask for. `--hf` is fetched, and named by `-m`, before this.
    pub fn request(&self) -> EvalRequest {
        EvalRequest {
            file: self.file.clone(),
            run: self.run.request(),
            profiles: self.profiles.clone(),
            compare: self.compare,
            parallel: self.parallel,
            out: self.out.clone(),
            resume: self.resume.clone(),
            report: self.report.clone(),
            tolerance: self.tolerance,
        }
    }
}

fn parse_tolerance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t >= 0.0 && t.is_finite() => Ok(t),
        _ => Err(format!("'{s}' is not a tolerance: use a number 0 or more")),
    }
}
