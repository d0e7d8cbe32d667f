//! llama.cpp's own speed at decoding N sequences at once, without reflect: the ceiling of
//! `reflect eval --parallel N` on a local model (see docs/benchmarks.md).
//!
//!   cargo run --release --example batched_decode -- MODEL.gguf [THREADS CTX_PER_SEQUENCE]
//!
//! For N = 1, 2, 4, 8: a context of N sequences (`n_seq_max` = N, the KV cache split N ways, as
//! reflect makes it), a 32-token prompt in each, then 64 steps that each decode one token of
//! every sequence in one `llama_decode` call. Prints the time a step takes and tokens per second.

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};
use std::num::NonZeroU32;
use std::time::Instant;

const PROMPT: i32 = 32;
const STEPS: i32 = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        return Err("usage: batched_decode MODEL.gguf [THREADS CTX_PER_SEQUENCE]".into());
    };
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (threads, per_seq) = (num(1, 2) as i32, num(2, 1024));
    send_logs_to_tracing(LogOptions::default().with_logs_enabled(false));
    let backend = LlamaBackend::init()?;
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default())?;
    let mut first = None;
    let ns: Vec<u32> = std::env::var("NS")
        .ok()
        .map(|v| v.split(",").filter_map(|x| x.parse().ok()).collect())
        .unwrap_or(vec![1, 2, 4, 8]);
    for n in ns {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(per_seq * n))
            .with_n_seq_max(n)
            .with_n_batch(512)
            .with_n_ubatch(512)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = model.new_context(&backend, params)?;
        let mut batch = LlamaBatch::new(512, 1);
        for s in 0..n as i32 {
            batch.clear();
            for i in 0..PROMPT {
                batch.add(LlamaToken(100 + i + s), i, &[s], i == PROMPT - 1)?;
            }
            ctx.decode(&mut batch)?;
        }
        let t = Instant::now();
        for step in 0..STEPS {
            batch.clear();
            for s in 0..n as i32 {
                batch.add(LlamaToken(500 + step), PROMPT + step, &[s], true)?;
            }
            ctx.decode(&mut batch)?;
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = f64::from(STEPS) * f64::from(n) / secs;
        let base = *first.get_or_insert(rate);
        println!(
            "{n} sequence(s): {:.2} ms a step, {rate:.1} tokens/s, x{:.2}",
            secs * 1000.0 / f64::from(STEPS),
            rate / base
        );
    }
    Ok(())
}
