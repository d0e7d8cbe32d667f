//! Ctrl+C (SIGINT), SIGTERM and SIGHUP, caught one way for pipe mode, eval, the chat and
//! downloads. While a [`Signals`] lives, each of these signals sets its flag (the first one's
//! number, for the exit code: [`crate::exit::code::for_signal`]) and is handed to its handler,
//! on the one thread that reads them all. With none alive, a signal does what it would have
//! done had none ever been caught (the process ends), so that a Ctrl+C after a download acts
//! as before it.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// The signals that ask reflect to stop.
pub const STOPPING: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// One signal, as a handler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caught {
    /// The signal received now.
    pub signal: i32,
    /// The first one this [`Signals`] received (`signal` itself the first time).
    pub first: i32,
    /// Whether one came before it.
    pub repeat: bool,
}

type Handler = Box<dyn FnMut(Caught) + Send>;

struct Listener {
    id: u64,
    first: Arc<AtomicI32>,
    handler: Handler,
}

static LISTENERS: Mutex<Vec<Listener>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Starts the thread that reads the signals, once; `false` where they cannot be caught.
fn start() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new(STOPPING) else {
            return false;
        };
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || signals.forever().for_each(deliver))
            .is_ok()
    })
}

fn deliver(signal: i32) {
    let mut listeners = LISTENERS.lock().unwrap_or_else(PoisonError::into_inner);
    if listeners.is_empty() {
        drop(listeners);
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        return;
    }
    for l in listeners.iter_mut() {
        let (first, repeat) =
            match l
                .first
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => (signal, false),
                Err(first) => (first, true),
            };
        (l.handler)(Caught {
            signal,
            first,
            repeat,
        });
    }
}

/// SIGINT, SIGTERM and SIGHUP caught until dropped.
pub struct Signals {
    id: u64,
    first: Arc<AtomicI32>,
}

impl Signals {
    /// Catches the stopping signals; `handler` runs for each one (on the signals' thread: it
    /// must not create or drop a [`Signals`]).
    pub fn catch(handler: impl FnMut(Caught) + Send + 'static) -> Signals {
        let first = Arc::new(AtomicI32::new(0));
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        LISTENERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Listener {
                id,
                first: first.clone(),
                handler: Box::new(handler),
            });
        start();
        Signals { id, first }
    }

    /// Catches the stopping signals: the first one runs `on_first` (to stop the work and keep
    /// what it did); a second one ends the process at once (the MCP servers' process groups
    /// killed), with the first one's exit code.
    pub fn catch_once(mut on_first: impl FnMut(i32) + Send + 'static) -> Signals {
        Signals::catch(move |c| {
            if c.repeat {
                // No destructor runs: a line rewritten in place on stderr (pipe mode's
                // thinking status, eval's progress) is erased here.
                use std::io::{IsTerminal, Write};
                if std::io::stderr().is_terminal() {
                    let _ = std::io::stderr().write_all(b"\r\x1b[2K");
                }
                // Nor does the MCP servers' `Drop`: their process groups are killed here.
                crate::mcp::stop_all();
                std::process::exit(crate::exit::code::for_signal(c.first));
            }
            on_first(c.signal);
        })
    }

    /// The first signal received, if one was.
    pub fn first(&self) -> Option<i32> {
        Some(self.first.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        LISTENERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|l| l.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// The only test in this binary that raises a stopping signal: it is caught throughout.
    #[test]
    fn every_signal_reaches_the_handler_and_the_first_is_kept() {
        let (tx, rx) = mpsc::channel();
        let signals = Signals::catch(move |c| {
            let _ = tx.send(c);
        });
        assert_eq!(signals.first(), None);
        signal_hook::low_level::raise(SIGHUP).unwrap();
        let got = rx.recv().unwrap();
        assert_eq!(
            got,
            Caught {
                signal: SIGHUP,
                first: SIGHUP,
                repeat: false
            }
        );
        assert_eq!(signals.first(), Some(SIGHUP));
        signal_hook::low_level::raise(SIGTERM).unwrap();
        let got = rx.recv().unwrap();
        assert_eq!(
            got,
            Caught {
                signal: SIGTERM,
                first: SIGHUP,
                repeat: true
            }
        );
        assert_eq!(
            signals.first(),
            Some(SIGHUP),
            "the first one names the exit"
        );
    }
}
