//! The serving engine's speed (`Command::Serve`, what `reflect serve --parallel N` runs): N
//! jobs sent at once, each generating up to TOKENS tokens greedily from its own prompt.
//!
//!   cargo run --release --example serve_bench -- MODEL.gguf [THREADS TOKENS]
//!
//! For 1 job on 1 slot (the single-generation path), 1 job on 4 slots and 4 jobs on 4 slots
//! (the batched loop): tokens per second of each stream (the mean of the jobs' own) and of
//! all of them together (tokens over the wall time from sending to the last `Done`), after a
//! first run that reads the weights in.

use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::llm::{
    ChatMessage, Command, Completion, EngineEvent, EventSender, GenerateRequest, Role,
    SamplingSettings, ServeJob,
};
use reflect::stream::TagSet;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};
use std::time::Instant;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        return Err("usage: serve_bench MODEL.gguf [THREADS TOKENS]".into());
    };
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (threads, tokens) = (num(1, 2), num(2, 128));
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: path.into(),
        gpu_layers: GpuLayers::default_for_build(),
        ctx_size: Some(4096),
        threads: Some(threads),
        batch_size: None,
        tags: TagSet::default(),
        vocab_only: false,
        checked: None,
        chat_template: None,
        speculation: Default::default(),
    });
    loop {
        match events.blocking_recv() {
            Some(EngineEvent::Loaded(_)) => break,
            Some(EngineEvent::Error(e)) => return Err(e.to_string()),
            Some(_) => {}
            None => return Err("the engine stopped".into()),
        }
    }
    // A first run reads the weights in (mmap): not measured.
    run(&engine, 1, 1, 8)?;
    println!(
        "{:<16} {:>14} {:>14}",
        "jobs × slots", "per stream", "all together"
    );
    for (jobs, slots) in [(1, 1), (1, 4), (4, 4)] {
        let (per_stream, together) = run(&engine, jobs, slots, tokens)?;
        println!(
            "{:<16} {per_stream:>10.1} t/s {together:>10.1} t/s",
            format!("{jobs} × {slots}")
        );
    }
    Ok(())
}

/// `jobs` jobs at once on `slots` slots: mean tokens/s of a stream, and of all of them.
fn run(engine: &Engine, jobs: u64, slots: u32, tokens: u32) -> Result<(f64, f64), String> {
    let (tx, rx) = mpsc::channel();
    engine
        .send(Command::Serve { slots, jobs: rx })
        .map_err(|e| e.to_string())?;
    let (done_tx, done_rx) = mpsc::channel::<Result<Completion, String>>();
    let started = Instant::now();
    for id in 1..=jobs {
        let done = done_tx.clone();
        let request = GenerateRequest {
            id,
            messages: vec![ChatMessage::new(
                Role::User,
                format!("Question {id}: tell me a long story about the sea."),
            )],
            sampling: SamplingSettings {
                temperature: 0.0,
                ..SamplingSettings::default()
            },
            max_tokens: Some(tokens),
            ..GenerateRequest::default()
        };
        let events = EventSender::new(move |e| match e {
            EngineEvent::Done(d) => done.send(Ok(*d)).is_ok(),
            EngineEvent::Error(e) => done.send(Err(e.to_string())).is_ok(),
            _ => true,
        });
        let job = ServeJob {
            request,
            cancel: Arc::new(AtomicU64::new(0)),
            events,
        };
        tx.send(job).map_err(|e| e.to_string())?;
    }
    drop(tx);
    let mut rates = Vec::new();
    let mut generated = 0;
    for _ in 0..jobs {
        let done = done_rx.recv().map_err(|e| e.to_string())??;
        rates.push(done.timings.tokens_per_second);
        generated += done.usage.completion_tokens;
    }
    let wall = started.elapsed().as_secs_f64();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    Ok((mean, f64::from(generated) / wall))
}
