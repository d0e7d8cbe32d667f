//! How a one-shot answer is written (`--format`): pipe mode's, named by the command line.

/// How a one-shot answer is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The answer only, streamed to stdout.
    Text,
    /// One JSON object at the end.
    Json,
    /// One JSON event per line as it happens.
    Jsonl,
}
