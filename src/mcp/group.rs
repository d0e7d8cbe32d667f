//! The process groups of the servers reflect started: each stdio server runs in a group of its
//! own, stopped as a whole (a server started through `npx` or a shell leaves no orphans) when
//! its [`Group`] drops, and all at once by [`stop_all`] on a panic or a signal.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long a server has to end after SIGTERM before its group is killed.
const GRACE: Duration = Duration::from_secs(2);

static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A running server's process group; stopped when dropped.
#[derive(Debug)]
pub struct Group(i32);

impl Group {
    /// The group led by `pid` (the child was started with `process_group(0)`).
    pub fn new(pid: u32) -> Group {
        let id = pid as i32;
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
        Group(id)
    }

    pub fn id(&self) -> i32 {
        self.0
    }

    /// Whether any process of the group is still there (a zombie counts until reaped).
    pub fn alive(&self) -> bool {
        // SAFETY: signal 0 only checks that the group exists.
        unsafe { libc::killpg(self.0, 0) == 0 }
    }
}

impl Drop for Group {
    /// SIGTERM to the group, and SIGKILL if some of it is still there after [`GRACE`]: when
    /// this returns, the group is gone (or killed).
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
        // SAFETY: killpg only sends a signal.
        if unsafe { libc::killpg(self.0, libc::SIGTERM) } != 0 {
            return; // already gone
        }
        let deadline = std::time::Instant::now() + GRACE;
        while self.alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.alive() {
            // SAFETY: as above.
            unsafe { libc::killpg(self.0, libc::SIGKILL) };
        }
    }
}

/// Kills every server's group now (on a panic, a signal or exit), without waiting.
pub fn stop_all() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(PoisonError::into_inner));
    for id in live {
        // SAFETY: killpg only sends a signal.
        unsafe { libc::killpg(id, libc::SIGKILL) };
    }
}
