//! Exit codes and the error type that carries one: every failure reaches the user as one line
//! that says what failed and what to do, never as a panic.

use std::fmt;

/// Documented exit codes (README, "Exit codes").
pub mod code {
    pub const OK: i32 = 0;
    pub const RUNTIME: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NO_ANSWER: i32 = 3;
    /// Ctrl+C (SIGINT): 128 + 2, as shells report it.
    pub const INTERRUPTED: i32 = 130;
    /// SIGHUP (the terminal went away): 128 + 1.
    pub const HANGUP: i32 = 129;
    /// SIGTERM: 128 + 15.
    pub const TERMINATED: i32 = 143;

    /// The exit code after the signal `signal` stopped reflect (once it saved what it had):
    /// 128 + its number, as a shell reports a process killed by it.
    pub fn for_signal(signal: i32) -> i32 {
        128 + signal
    }
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: code::USAGE,
            message: message.into(),
        }
    }
    pub fn runtime(message: impl Into<String>) -> Self {
        Failure {
            code: code::RUNTIME,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn signal_exit_codes_are_128_plus_the_signal_as_documented() {
        assert_eq!(code::for_signal(libc::SIGINT), code::INTERRUPTED);
        assert_eq!(code::for_signal(libc::SIGTERM), code::TERMINATED);
        assert_eq!(code::for_signal(libc::SIGHUP), code::HANGUP);
        assert_eq!(
            (code::INTERRUPTED, code::TERMINATED, code::HANGUP),
            (130, 143, 129)
        );
    }
}
