//! The minimal llama-cpp-2 generation loop that reflect's decode benchmarks compare against:
//! llama.cpp's default context parameters (only the context size and the thread counts set),
//! the sampler chain `top_p 0.95 → temp 0.7 → dist`, and nothing else per token (no router, no
//! channels, no detokenizing, no output).
//!
//!   cargo run --release --example baseline -- MODEL.gguf PROMPT_FILE [MAX_TOKENS THREADS SEED CTX]
//!
//! PROMPT_FILE holds the fully rendered prompt (e.g. from `reflect --print-prompt`), so both
//! programs decode the same tokens. reflect runs the identical chain with `--top-k 0 --min-p 0`
//! (its repeat penalty is 1.0 by default). Prints one JSON line with the same timing fields as
//! reflect. Built with a GPU feature (`--features cuda`), it offloads every layer, as reflect does.

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};
use reflect::engine::GpuLayers;
use std::num::NonZeroU32;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, prompt_file, ..] = &args[..] else {
        return Err("usage: baseline MODEL PROMPT_FILE [MAX_TOKENS THREADS SEED CTX]".into());
    };
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (max_tokens, threads, seed, n_ctx) = (num(2, 256), num(3, 2), num(4, 1), num(5, 8192));
    let prompt = std::fs::read_to_string(prompt_file)?;

    send_logs_to_tracing(LogOptions::default().with_logs_enabled(false));
    let backend = LlamaBackend::init()?;
    let t_load = Instant::now();
    // Layers on the GPU as reflect puts them by default: all in a GPU build, none otherwise.
    let gpu_layers = match GpuLayers::default_for_build() {
        GpuLayers::All => u32::MAX,
        GpuLayers::Count(n) => n,
    };
    let model_params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
    let model = LlamaModel::load_from_file(&backend, model_path, &model_params)?;
    // llama.cpp's defaults (batch 2048, micro-batch 512, flash attention auto, f16 KV cache);
    // its default of 4 threads would oversubscribe a small machine.
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let mut ctx = model.new_context(&backend, params)?;
    let load_ms = t_load.elapsed().as_millis();

    let vocab = model.vocab();
    // The rendered prompt already carries the begin-of-text token as text.
    let tokens = vocab.tokenize(prompt.as_bytes(), false, true);
    let started = Instant::now();
    let n_batch = ctx.n_batch() as usize;
    let mut batch = LlamaBatch::new(n_batch, 1);
    for (c, chunk) in tokens.chunks(n_batch).enumerate() {
        batch.clear();
        for (i, t) in chunk.iter().enumerate() {
            let pos = c * n_batch + i;
            batch.add(*t, pos as i32, &[0], pos + 1 == tokens.len())?;
        }
        ctx.decode(&mut batch)?;
    }
    let prompt_done = Instant::now();
    let mut sampler = LlamaSampler::chain_simple([
        LlamaSampler::top_p(0.95, 1),
        LlamaSampler::temp(0.7),
        LlamaSampler::dist(seed),
    ]);
    let mut pos = tokens.len();
    let mut generated = 0u32;
    let mut first = None;
    let mut at = batch.n_tokens() - 1;
    while generated < max_tokens {
        let token = sampler.sample(&ctx, at);
        if vocab.is_eog(token) {
            break;
        }
        first.get_or_insert_with(Instant::now);
        generated += 1;
        batch.clear();
        batch.add(token, pos as i32, &[0], true)?;
        ctx.decode(&mut batch)?;
        pos += 1;
        at = 0;
    }
    let ended = Instant::now();
    let gen = (ended - prompt_done).as_secs_f64();
    println!(
        "{{\"load_ms\":{load_ms},\"prompt_tokens\":{},\"completion_tokens\":{generated},\"prompt_ms\":{},\"first_token_ms\":{},\"generation_ms\":{},\"tokens_per_second\":{}}}",
        tokens.len(),
        (prompt_done - started).as_millis(),
        first.map_or(0, |f| (f - started).as_millis()),
        (gen * 1000.0) as u64,
        f64::from(generated) / gen
    );
    Ok(())
}
