//! Exit codes and the error type that carries one: every failure reaches the user as one line
//! that says what failed and what to do, never as a panic.

use std::fmt;

/// Documented exit codes (README, "Exit codes").
pub mod code {
    pub const OK: i32 = 0;
    pub const RUNTIME: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NO_ANSWER: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
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
