//! What stops a download while keeping what it has: a caught Ctrl+C, SIGTERM or SIGHUP, or a
//! flag another thread sets. Its own file so that the client and the download both use it
//! without importing each other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The signal a download was stopped by (0: none), set by [`on_signal`].
static SIGNALLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    SIGNALLED.store(signal as usize, Ordering::SeqCst);
}

/// What stops a download, keeping what it has: SIGINT, SIGTERM and SIGHUP caught while it
/// lives (their earlier handling put back when it is dropped, so that a later Ctrl+C acts as
/// before), or a flag another thread sets (the chat's engine, dropped mid-download).
pub struct Interrupt {
    flag: Arc<AtomicUsize>,
    #[cfg(unix)]
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl Interrupt {
    /// Catches SIGINT, SIGTERM and SIGHUP until dropped.
    pub fn catch() -> Interrupt {
        SIGNALLED.store(0, Ordering::SeqCst);
        let mut i = Interrupt::never();
        #[cfg(unix)]
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction with a handler that only stores to an atomic, and a valid
            // out-pointer for the action it replaces.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &new, &mut old) == 0 {
                    i.saved.push((signal, old));
                }
            }
        }
        i
    }

    /// Stopped only through [`Interrupt::flag`].
    pub fn never() -> Interrupt {
        Interrupt {
            flag: Arc::new(AtomicUsize::new(0)),
            #[cfg(unix)]
            saved: Vec::new(),
        }
    }

    /// The flag itself, for another thread to stop the download with (a signal's number).
    pub fn flag(&self) -> Arc<AtomicUsize> {
        self.flag.clone()
    }

    /// The signal received, if one was.
    pub fn fired(&self) -> Option<i32> {
        let caught = if self.saved.is_empty() {
            0
        } else {
            SIGNALLED.load(Ordering::SeqCst)
        };
        match caught.max(self.flag.load(Ordering::SeqCst)) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

impl std::ops::Drop for Interrupt {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, old) in self.saved.drain(..) {
            // SAFETY: puts back the action sigaction returned for this signal.
            unsafe {
                libc::sigaction(signal, &old, std::ptr::null_mut());
            }
        }
    }
}
