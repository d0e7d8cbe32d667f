//! Throughput of the stream router (`reflect::stream`) on a ~1 MB realistic transcript, fed in
//! token-sized pieces (2–6 bytes) and as one piece, and its cost per piece at 1k vs 100k
//! 4-byte pieces (a linear router costs the same per piece at both sizes).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use reflect::stream::{Channel, Router, RouterConfig, Sink};

/// Counts what it receives, like the engine's per-channel token accounting.
#[derive(Default)]
struct CountingSink {
    bytes: [usize; 3],
    calls: usize,
}

impl Sink for CountingSink {
    fn text(&mut self, channel: Channel, text: &str) {
        let i = match channel {
            Channel::Thinking => 0,
            Channel::Reflection => 1,
            Channel::Output => 2,
        };
        self.bytes[i] += text.len();
        self.calls += 1;
    }
}

const THOUGHTS: &[&str] = &[
    "Let me think about what the question is really asking. ",
    "If n < 10 then the loop ends early, so the bound is tight. ",
    "The user wants a function that returns the largest element. ",
    "We need x <= y for every pair, which holds when the list is sorted. ",
    "Hmm, 思考する時間が必要です。 That changes the approach slightly. ",
    "So the answer should be 42, unless the input is empty. 🤔 ",
];

const REFLECTIONS: &[&str] = &[
    "Wait, I assumed the list is non-empty; that is not given.",
    "Actually the comparison should be a < b, not a <= b, to keep it stable.",
    "I made an arithmetic slip: 7 * 6 = 42, so the earlier result stands.",
];

const PROSE: &[&str] = &[
    "The function below returns the largest element of a slice. ",
    "It runs in O(n) time, and for n < 2 it returns the only element. ",
    "Note that HTML such as <div> or a stray < in prose is kept as text. ",
    "Use it like this, and remember that a <= b implies max(a, b) = b. ",
];

const CODE: &str = "```rust\nfn largest(xs: &[i32]) -> Option<i32> {\n    \
    let mut it = xs.iter();\n    let mut best = *it.next()?;\n    \
    for &x in it {\n        if best < x {\n            best = x;\n        }\n    }\n    \
    Some(best) // <thinking> in a comment is content\n}\n```\n";

/// A transcript of about `size` bytes: a long thinking block with reflections, then a long
/// answer with prose, `<` and code fences.
fn transcript(size: usize) -> String {
    let mut t = String::from("<thinking>\n");
    let mut i = 0;
    while t.len() < size / 2 {
        t.push_str(THOUGHTS[i % THOUGHTS.len()]);
        if i % 8 == 7 {
            t.push_str("\n<reflection>\n");
            t.push_str(REFLECTIONS[i % REFLECTIONS.len()]);
            t.push_str("\n</reflection>\n");
        } else if i % 4 == 3 {
            t.push_str("\n\n");
        }
        i += 1;
    }
    t.push_str("\n</thinking>\n<output>\n");
    while t.len() < size {
        t.push_str(PROSE[i % PROSE.len()]);
        if i % 10 == 9 {
            t.push_str("\n\n");
            t.push_str(CODE);
        }
        i += 1;
    }
    t.push_str("\n</output>\n");
    t
}

/// Split at char boundaries into pieces of `min..=max` bytes (fixed pseudo-random sequence).
fn pieces(text: &str, min: usize, max: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / min.max(1) + 1);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut start = 0;
    while start < text.len() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let want = min + (seed >> 33) as usize % (max - min + 1);
        let mut end = (start + want).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

fn route(pieces: &[&str]) -> CountingSink {
    let mut router = Router::new(RouterConfig::default());
    let mut sink = CountingSink::default();
    for p in pieces {
        router.push_text(p, &mut sink);
    }
    router.finish(&mut sink);
    sink
}

fn throughput(c: &mut Criterion) {
    let text = transcript(1 << 20);
    let tokens = pieces(&text, 2, 6);
    let whole = [text.as_str()];
    let mut group = c.benchmark_group("router_throughput");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(30);
    group.bench_function("pieces_2_6_bytes", |b| {
        b.iter(|| black_box(route(black_box(&tokens))))
    });
    group.bench_function("one_piece", |b| {
        b.iter(|| black_box(route(black_box(&whole))))
    });
    group.finish();
}

fn per_piece(c: &mut Criterion) {
    let text = transcript(500_000);
    let all = pieces(&text, 4, 4);
    let mut group = c.benchmark_group("router_per_piece_4_bytes");
    for n in [1_000usize, 100_000] {
        let slice = &all[..n.min(all.len())];
        group.throughput(Throughput::Elements(slice.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), slice, |b, s| {
            b.iter(|| black_box(route(black_box(s))))
        });
    }
    group.finish();
}

criterion_group!(benches, throughput, per_piece);
criterion_main!(benches);
