//! llama.cpp aborts the whole process on some damage reflect cannot foresee (a C++ assertion).
//! A SIGABRT handler turns that into reflect's documented behaviour: the terminal put back if
//! the chat was on screen, one line saying what happened, exit code 1. It uses only
//! async-signal-safe calls (tcsetattr, write, _exit).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The terminal settings from before the chat took over, and whether it currently has.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
static FULL_SCREEN: AtomicBool = AtomicBool::new(false);

/// Leaves the alternate screen, turns off mouse reporting, bracketed paste and the keyboard
/// protocol, shows the cursor.
const RESTORE: &[u8] = b"\x1b[<u\x1b[?2004l\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1049l\x1b[?25h";
const MESSAGE: &[u8] = b"\nreflect: llama.cpp aborted (see the line above, or run with --log-file); the model file may be damaged or not supported by this build\n";

/// Installs the handler; call once, early in `main`.
pub fn install() {
    // SAFETY: the handler only calls async-signal-safe functions and reads statics that are
    // either atomics or initialised before they are used.
    let _ = unsafe {
        signal_hook::low_level::register(signal_hook::consts::SIGABRT, || {
            if FULL_SCREEN.load(Ordering::SeqCst) {
                if let Some(t) = SAVED.get() {
                    libc::tcsetattr(0, libc::TCSANOW, t);
                }
                libc::write(1, RESTORE.as_ptr().cast(), RESTORE.len());
            }
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(crate::exit::code::RUNTIME);
        })
    };
}

/// The chat is about to take over the terminal (fd 0): remember its settings.
pub fn entering_full_screen() {
    // SAFETY: tcgetattr fills a plain struct for fd 0.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(0, &mut t) } == 0 {
        let _ = SAVED.set(t);
        FULL_SCREEN.store(true, Ordering::SeqCst);
    }
}

/// The chat gave the terminal back.
pub fn left_full_screen() {
    FULL_SCREEN.store(false, Ordering::SeqCst);
}
