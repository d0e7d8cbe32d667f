//! A notice for the banner: what the user should know, and how much it matters.

/// How much a notice matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A one-line message in the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
    /// It describes what is being generated ("Regenerating the last answer…", "…the queued
    /// message starts next"): it goes once nothing runs or waits any more.
    pub until_idle: bool,
}
