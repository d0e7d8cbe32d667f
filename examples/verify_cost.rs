//! What a speculative verify batch costs: CPU time of one decode of k tokens with logits at
//! every position (the token and k − 1 drafts), against one token alone, on a given model, at
//! reflect's context parameters. The back-off of `--lookup` and `--model-draft` is sized by it
//! (docs/benchmarks.md, "Speculative decoding").
//!
//!   cargo run --release --example verify_cost -- MODEL.gguf [ROUNDS THREADS]
//!
//! Prints one line per batch size: CPU ms per decode and its ratio to a single token's.

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};
use std::num::NonZeroU32;

/// CPU time this process has used, in milliseconds.
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(model_path) = args.first() else {
        return Err("usage: verify_cost MODEL [ROUNDS THREADS]".into());
    };
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (rounds, threads) = (num(1, 40), num(2, 1));
    send_logs_to_tracing(LogOptions::default().with_logs_enabled(false));
    let backend = LlamaBackend::init()?;
    let model = LlamaModel::load_from_file(&backend, model_path, &LlamaModelParams::default())?;
    // reflect's parameters (engine/llama/worker.rs `new_context`).
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(4096))
        .with_n_batch(2048)
        .with_n_ubatch(512)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let mut ctx = model.new_context(&backend, params)?;
    let n_vocab = model.n_vocab();
    let token = |i: usize| LlamaToken((i * 7919 % n_vocab as usize) as i32);
    // A context of 256 tokens, as halfway through a benchmark's answer.
    let prompt = 256;
    let mut batch = LlamaBatch::new(2048, 1);
    for i in 0..prompt {
        batch.add(token(i), i as i32, &[0], i + 1 == prompt)?;
    }
    ctx.decode(&mut batch)?;
    let sizes = [1usize, 2, 3, 5, 9];
    let mut ms = vec![Vec::new(); sizes.len()];
    // Sizes alternate round by round, so that drift hits all alike.
    for r in 0..rounds as usize {
        for (s, &k) in sizes.iter().enumerate() {
            batch.clear();
            for j in 0..k {
                batch.add(token(prompt + r + j), (prompt + j) as i32, &[0], true)?;
            }
            let t = cpu_ms();
            ctx.decode(&mut batch)?;
            ms[s].push(cpu_ms() - t);
            ctx.kv_cache_seq_rm(0, Some(prompt as u32), None)?;
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let one = median(&mut ms[0].clone());
    for (s, &k) in sizes.iter().enumerate() {
        let m = median(&mut ms[s]);
        println!(
            "batch of {k} (token + {} drafts): {m:.2} CPU ms, {:.2}x one token",
            k - 1,
            m / one
        );
    }
    Ok(())
}
