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
    /// It describes a generation ("Regenerating the last answer…", "Stopping this answer; the
    /// queued message starts next"): it goes when that generation ends.
    pub until_done: Option<Generation>,
    /// It says that the window is too small for the side panes: it goes once they fit.
    pub while_too_small: bool,
}

/// The generation a notice describes: the turn that was running when it was shown, or, when
/// none was, the next one to start. The notice goes when that turn stops running, or when
/// nothing runs or waits any more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generation {
    /// The turn's index, once it is known.
    pub turn: Option<usize>,
}

impl Generation {
    /// Follows the conversation: `running` is the turn running now, `idle` says that none runs
    /// or waits. Returns whether the generation has ended.
    pub fn ended(&mut self, running: Option<usize>, idle: bool) -> bool {
        match (self.turn, running) {
            (Some(watched), now) => now != Some(watched),
            (None, Some(now)) => {
                self.turn = Some(now);
                false
            }
            (None, None) => idle,
        }
    }
}
