//! Fuzz target for the GGUF pre-validator (`gguf::inspect`, through `inspect_read`, the entry
//! point `inspect` reads files with): arbitrary bytes as a model file.
//!
//! Input layout: the whole input is the file.
//!
//! Invariants: no panic; errors say something; memory stays proportional to the input
//! (whatever a length or count field claims); truncation is monotone and reported: there is
//! a shortest accepted prefix, every longer prefix gives the same information and every
//! shorter one an error about truncation; and when the claimed file size (here `u64::MAX`)
//! exceeds the bytes the reader yields (a file that shrinks while it is read), the same memory
//! bound holds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reflect_fuzz::check::CountingAlloc;
use reflect_fuzz::gguf::{inspect_read, GgufInfo};
use std::collections::BTreeMap;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Memory one call may use: a fixed allowance plus a multiple of the bytes it can read (a
/// vocabulary of empty tokens costs a `String` and a hash-map slot per 8 bytes of file).
fn budget(len: usize) -> usize {
    (1 << 20) + 64 * len
}

/// Runs `inspect_read` on `data`, claiming a file of `size` bytes, and checks its memory.
fn inspect(data: &[u8], size: u64) -> Result<GgufInfo, String> {
    let base = ALLOC.reset();
    let out = inspect_read(data, size);
    let peak = ALLOC.peak_since(base);
    assert!(
        peak <= budget(data.len()),
        "{peak} bytes allocated for {} bytes of input (claimed size {size}): {out:?}",
        data.len()
    );
    if let Err(e) = &out {
        assert!(!e.trim().is_empty(), "an empty error");
    }
    out
}

/// What an accepted file says, comparable (the file size aside).
type Summary = (
    String,
    Option<String>,
    Option<u64>,
    usize,
    bool,
    BTreeMap<String, u64>,
    u64,
);

fn summary(i: &GgufInfo) -> Summary {
    let sampling = i
        .sampling
        .iter()
        .map(|(k, v)| (k.clone(), v.to_bits()))
        .collect();
    (
        i.architecture.clone(),
        i.name.clone(),
        i.context_length,
        i.n_tokens,
        i.has_chat_template,
        sampling,
        i.tensor_count,
    )
}

/// Whether an error about a prefix of `k` bytes says the file is cut short (under 4 bytes, a
/// file is simply not GGUF).
fn is_truncation(e: &str, k: usize) -> bool {
    (k < 4 && e.starts_with("not a GGUF model file"))
        || ["empty", "truncated", "more than the file could hold"]
            .iter()
            .any(|w| e.contains(w))
}

fn prefix(data: &[u8], k: usize) -> Result<GgufInfo, String> {
    inspect(&data[..k], k as u64)
}

fuzz_target!(|data: &[u8]| {
    let full = inspect(data, data.len() as u64);

    // A file that shrinks while it is read: reads past `data` fail, but the size the reader
    // checks length fields against is the largest there is, so no claim is refused up front.
    let _ = inspect(data, u64::MAX);

    let Ok(info) = full else { return };
    assert_eq!(info.file_size, data.len() as u64);
    let want = summary(&info);

    // The shortest accepted prefix, by bisection (acceptance is monotone in the length).
    let (mut lo, mut hi) = (0usize, data.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if prefix(data, mid).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let shortest = hi;
    for k in [
        shortest,
        (shortest + data.len()) / 2,
        data.len().saturating_sub(1),
    ] {
        if k < shortest {
            continue;
        }
        match prefix(data, k) {
            Ok(i) => assert_eq!(summary(&i), want, "prefix of {k} bytes"),
            Err(e) => panic!("prefix of {k} bytes rejected ({e}), shortest accepted {shortest}"),
        }
    }
    for k in [shortest.saturating_sub(1), shortest / 2, 3, 0] {
        if k >= shortest {
            continue;
        }
        match prefix(data, k) {
            Ok(_) => panic!("prefix of {k} bytes accepted, shortest accepted {shortest}"),
            Err(e) => assert!(is_truncation(&e, k), "prefix of {k} bytes: {e}"),
        }
    }
});
