//! What the fuzz targets share: scratch directories standing in for the user's config
//! directory, the check that a configuration error points into the text it blames, and an
//! allocator that measures the peak memory of one call.

use crate::config::ConfigError;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Splits an input at its first NUL byte: the file under test, and (after the NUL) a second
/// file it may extend. NUL cannot appear in TOML, so the split costs the fuzzer nothing.
pub fn split(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// A per-process directory in memory (`/dev/shm`, else the system's temporary directory):
/// `user/` plays the user's `prompts/` or `themes/` directory, `rt/` holds files written back
/// for round trips. Every execution writes files, and a disk makes that the bottleneck.
pub struct Scratch {
    pub user: PathBuf,
    pub rt: PathBuf,
}

impl Scratch {
    pub fn new(kind: &str) -> Scratch {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let root = base.join(format!("reflect-fuzz-{kind}-{}", std::process::id()));
        let s = Scratch {
            user: root.join("user"),
            rt: root.join("rt"),
        };
        for dir in [&s.user, &s.rt] {
            std::fs::create_dir_all(dir).expect("scratch directory");
        }
        s
    }

    /// Writes `user/NAME.toml`, or removes it when `bytes` is `None`. Returns its path.
    pub fn user_file(&self, name: &str, bytes: Option<&[u8]>) -> PathBuf {
        let path = self.user.join(format!("{name}.toml"));
        match bytes {
            Some(b) => std::fs::write(&path, b).expect("write scratch file"),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        path
    }

    /// Writes `rt/NAME.toml` and returns its path as a `--profile`/`--theme` argument.
    pub fn rt_file(&self, name: &str, text: &str) -> String {
        let path = self.rt.join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write scratch file");
        path.display().to_string()
    }
}

/// A file an error may blame: the label errors show it under, and its bytes.
pub struct Blamable<'a> {
    pub label: String,
    pub bytes: &'a [u8],
}

impl<'a> Blamable<'a> {
    pub fn path(path: &Path, bytes: &'a [u8]) -> Self {
        Blamable {
            label: path.display().to_string(),
            bytes,
        }
    }
}

/// Lines in a text as errors count them: one more than its line breaks.
pub fn line_count(bytes: &[u8]) -> usize {
    1 + bytes.iter().filter(|&&b| b == b'\n').count()
}

/// An error must name one of `files`, say something, and point at a line of that file: line 0
/// (the file as a whole) only for a file that is not UTF-8, whose error must say so.
pub fn check_error(e: &ConfigError, files: &[Blamable<'_>]) -> Result<(), String> {
    if e.message.trim().is_empty() {
        return Err("the error has no message".into());
    }
    let Some(file) = files.iter().find(|f| f.label == e.file) else {
        return Err(format!("the error names no file under test: {:?}", e.file));
    };
    if std::str::from_utf8(file.bytes).is_err() {
        if e.line != 0 || !e.message.contains("UTF-8") {
            return Err("a file that is not UTF-8 must be blamed as a whole, saying so".into());
        }
        return Ok(());
    }
    let lines = line_count(file.bytes);
    if e.line == 0 || e.line > lines {
        return Err(format!(
            "line {} is outside the file's {lines} lines",
            e.line
        ));
    }
    Ok(())
}

/// The system allocator, counting the bytes live and the peak since the last `reset`.
pub struct CountingAlloc {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl CountingAlloc {
    pub const fn new() -> Self {
        CountingAlloc {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Starts a measurement: the peak becomes what is live now, which is returned (pass it
    /// to `peak_since`).
    pub fn reset(&self) -> usize {
        let live = self.live.load(Ordering::Relaxed);
        self.peak.store(live, Ordering::Relaxed);
        live
    }

    /// The most bytes live at once since `reset`, beyond what was live then.
    pub fn peak_since(&self, base: usize) -> usize {
        self.peak.load(Ordering::Relaxed).saturating_sub(base)
    }

    fn grew(&self, n: usize) {
        let now = self.live.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            self.live.fetch_sub(layout.size(), Ordering::Relaxed);
            self.grew(new_size);
        }
        p
    }
}
