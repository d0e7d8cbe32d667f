//! What stops a download while keeping what it has: a caught Ctrl+C, SIGTERM or SIGHUP, or a
//! flag another thread sets. Its own file so that the client and the download both use it
//! without importing each other.

use crate::signals::Signals;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What stops a download, keeping what it has: SIGINT, SIGTERM and SIGHUP caught while it
/// lives (with none caught after it, a later Ctrl+C acts as before: see [`crate::signals`]),
/// or a flag another thread sets (a [`super::Job`] stopped: the chat quitting mid-download).
pub struct Interrupt {
    flag: Arc<AtomicUsize>,
    signals: Option<Signals>,
}

impl Interrupt {
    /// Catches SIGINT, SIGTERM and SIGHUP until dropped.
    pub fn catch() -> Interrupt {
        Interrupt {
            signals: Some(Signals::catch(|_| {})),
            ..Interrupt::never()
        }
    }

    /// Stopped only through [`Interrupt::flag`].
    pub fn never() -> Interrupt {
        Interrupt {
            flag: Arc::new(AtomicUsize::new(0)),
            signals: None,
        }
    }

    /// The flag itself, for another thread to stop the download with (a signal's number).
    pub fn flag(&self) -> Arc<AtomicUsize> {
        self.flag.clone()
    }

    /// The signal received, if one was.
    pub fn fired(&self) -> Option<i32> {
        let caught = self
            .signals
            .as_ref()
            .and_then(Signals::first)
            .map_or(0, |s| s as usize);
        match caught.max(self.flag.load(Ordering::SeqCst)) {
            0 => None,
            s => Some(s as i32),
        }
    }
}
