//! Multi-turn and memory benchmark (issue #8, items 3 and 6): drives the real engine through an
//! N-turn conversation exactly as the chat does and prints, per turn, how many prompt tokens were
//! evaluated against how many were new, then the process's memory against the model's own size.
//!
//!   cargo build --release --example multiturn
//!   target/release/examples/multiturn [--turns 10] [--history answer|full] [--ctx 32768]
//!       [--threads N] [--batch N] [--model scripted|random|PATH.gguf] [--max-tokens N]
//!
//! `scripted` (default) writes a one-layer model whose every answer is the same few dozen tokens
//! of thinking, one reflection and an output, so each turn's numbers are deterministic.
//! `random` writes the 8-layer, 768-wide random-weight model of `benches/e2e.py` (~240 MB; give
//! `--max-tokens`, 48 by default); a path loads that model file as it is.
//!
//! Each turn is what the chat does when the user sends a message: "Think carefully." appended,
//! the request's messages built by `reflect::conversation::messages` from the earlier turns (the
//! reflection profile's system prompt, tags and the chosen history policy), a `Turn` filled from
//! the engine's events, then the next question once `Done` arrives.
//!
//! Columns: `prompt` and `evaluated` are the engine's `Usage`; `reused` = prompt − evaluated (the
//! KV cache's common prefix); `grown` = prompt − the previous prompt (the earlier answer as the
//! history shows it, the new question and the template's tokens); `new` = prompt − what the KV
//! cache held after the previous turn (its prompt and completion, less the `</output>` token the
//! engine samples but never decodes): negative when the history leaves out thinking the cache
//! holds. With `--history answer` the cache can at best reuse the previous prompt, so the target
//! is evaluated = grown; with `--history full` the history repeats what the model generated (and
//! the engine reuses the generated tokens for it), so the target is evaluated = new.

use clap::{Parser, ValueEnum};
use reflect::conversation::{messages, Turn, TurnState};
use reflect::engine::{Engine, GpuLayers, LlamaConfig};
use reflect::gguf::{push_prose, write_random_model, RandomModelSpec, ScriptItem, ScriptedModel};
use reflect::llm::{
    Command, EngineEvent, GenerateRequest, ModelInfo, SamplingSettings, StopReason,
};
use reflect::profile::History;
use reflect::prompt::{think_carefully, REFLECTION_SYSTEM_PROMPT};
use reflect::stream::{RouterConfig, TagSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum HistoryArg {
    Answer,
    Full,
}

#[derive(Parser, Debug)]
#[command(about = "Tokens evaluated per turn and memory over an N-turn conversation")]
struct Args {
    /// Turns to run.
    #[arg(long, default_value_t = 10)]
    turns: u32,
    /// What earlier turns the model sees again (the profile's history policy).
    #[arg(long, value_enum, default_value_t = HistoryArg::Answer)]
    history: HistoryArg,
    /// Context size in tokens (the scripted default fits 100 turns).
    #[arg(long, default_value_t = 32768)]
    ctx: u32,
    /// Threads (default: the engine's, physical cores).
    #[arg(long)]
    threads: Option<u32>,
    /// Batch size (default: the engine's, 2048).
    #[arg(long)]
    batch: Option<u32>,
    /// `scripted`, `random`, or the path of a GGUF model.
    #[arg(long, default_value = "scripted")]
    model: String,
    /// Stop each answer after this many tokens (default: none; 48 for `random`).
    #[arg(long)]
    max_tokens: Option<u32>,
}

/// The scripted answer: Reflection-70B's tags as special tokens around word-sized pieces.
fn script() -> Vec<ScriptItem> {
    let mut used = Default::default();
    let mut items = vec![ScriptItem::special("<thinking>")];
    push_prose(
        "\nThe user asks a follow-up. I reread my last answer and add the next step.",
        &mut used,
        &mut items,
    );
    items.push(ScriptItem::special("<reflection>"));
    push_prose(
        "\nWait: the last step counted one item twice, so the total is one less.",
        &mut used,
        &mut items,
    );
    items.push(ScriptItem::special("</reflection>"));
    push_prose(
        "\nWith that fixed, the result holds.",
        &mut used,
        &mut items,
    );
    items.push(ScriptItem::special("</thinking>"));
    items.push(ScriptItem::special("<output>"));
    push_prose(
        "\nThe result is one less than before: an item had been counted twice.",
        &mut used,
        &mut items,
    );
    items.push(ScriptItem::special("</output>"));
    items
}

/// Writes (or finds) the model; returns its path and a short description.
fn prepare_model(args: &Args, dir: &Path) -> Result<(PathBuf, String), String> {
    let io = |e: std::io::Error| format!("writing the model: {e}");
    match args.model.as_str() {
        "scripted" => {
            let path = dir.join("scripted.gguf");
            let mut m = ScriptedModel::new(script());
            m.name = "reflect multiturn scripted".into();
            m.context_length = args.ctx.max(4096);
            m.write(&path).map_err(io)?;
            Ok((
                path,
                format!(
                    "scripted (1 layer, {} script tokens: thinking, one reflection, output)",
                    m.items.len()
                ),
            ))
        }
        "random" => {
            let path = dir.join("random.gguf");
            let spec = RandomModelSpec {
                context_length: args.ctx.max(8192),
                ..RandomModelSpec::default()
            };
            write_random_model(&path, &spec).map_err(io)?;
            Ok((
                path,
                format!(
                    "random weights ({} layers, {} wide, {} vocabulary, f16)",
                    spec.n_layer, spec.n_embd, spec.n_vocab
                ),
            ))
        }
        other => {
            let path = PathBuf::from(other);
            if !path.is_file() {
                return Err(format!(
                    "{other}: no such model file (or use scripted|random)"
                ));
            }
            Ok((path, "model file".into()))
        }
    }
}

/// Memory figures of this process from /proc/self/status, in KiB.
#[derive(Clone, Copy, Debug, Default)]
struct Mem {
    rss: u64,
    hwm: u64,
    anon: u64,
    file: u64,
}

fn mem() -> Mem {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Mem {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Collects llama.cpp's log lines (the engine forwards them to tracing) so that the KV cache and
/// compute buffer sizes llama.cpp reports can be printed.
#[derive(Clone, Default)]
struct LogLines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogLines {
    /// The lines that mention any of `needles`, as "module: message".
    fn matching(&self, needles: &[&str]) -> Vec<String> {
        let text = self
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|l| needles.iter().any(|n| l.contains(n)))
            .map(|l| {
                let l = l.split_once("llama-cpp-2: ").map_or(l, |(_, m)| m);
                let (message, module) = match l.rsplit_once(" module=") {
                    Some((m, module)) => (m, module.trim_matches('"')),
                    None => (l, ""),
                };
                let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
                format!("{module}: {message}")
            })
            .collect()
    }
}

fn wait_loaded(events: &mut UnboundedReceiver<EngineEvent>) -> Result<ModelInfo, String> {
    loop {
        match events.blocking_recv() {
            Some(EngineEvent::Loaded(info)) => return Ok(*info),
            Some(EngineEvent::Error(e)) => return Err(e.to_string()),
            Some(EngineEvent::Warning(w)) => eprintln!("warning: {w}"),
            Some(_) => {}
            None => return Err("the engine stopped while loading".into()),
        }
    }
}

/// Runs one turn to its end, filling it from the engine's events as the chat does. Returns the
/// engine's warnings (e.g. turns left out for lack of context).
fn run_turn(
    events: &mut UnboundedReceiver<EngineEvent>,
    turn: &mut Turn,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    loop {
        let Some(event) = events.blocking_recv() else {
            return Err("the engine stopped".into());
        };
        match event {
            EngineEvent::Warning(w) => warnings.push(w),
            EngineEvent::PromptProcessed {
                id, prompt_tokens, ..
            } if id == turn.id => turn.prompt_tokens = Some(prompt_tokens),
            EngineEvent::Text { id, channel, text } if id == turn.id => {
                turn.push_text(channel, &text)
            }
            EngineEvent::ReflectionStart { id, n } if id == turn.id => turn.reflection_start(n),
            EngineEvent::ReflectionEnd { id, n } if id == turn.id => turn.reflection_end(n),
            EngineEvent::Done(done) if done.id == turn.id => {
                turn.finish(&done);
                return Ok(warnings);
            }
            EngineEvent::Error(e) => {
                turn.state = TurnState::Failed(e.to_string());
                return Err(e.to_string());
            }
            _ => {}
        }
    }
}

/// One row of the table.
struct Row {
    prompt: u32,
    evaluated: u32,
    grown: Option<i64>,
    new: Option<i64>,
    completion: u32,
    stop: &'static str,
    prompt_ms: u64,
    generation_ms: u64,
    rss: u64,
    dropped: bool,
}

fn opt(v: Option<i64>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

fn run(args: Args) -> Result<(), String> {
    let logs = LogLines::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .init();

    let history = match args.history {
        HistoryArg::Answer => History::Answer,
        HistoryArg::Full => History::Full,
    };
    let max_tokens = args.max_tokens.or((args.model == "random").then_some(48));
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let (path, described) = prepare_model(&args, dir.path())?;
    let file_size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let tags = TagSet::default();

    // Writing the model allocates its weights: reset the peak (Linux: "5" to clear_refs) so that
    // VmHWM covers only the engine and the conversation.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = mem();
    let (engine, mut events) = Engine::start(LlamaConfig {
        model_path: path.clone(),
        gpu_layers: GpuLayers::Count(0),
        ctx_size: Some(args.ctx),
        threads: args.threads,
        batch_size: args.batch,
        tags: tags.clone(),
        vocab_only: false,
        checked: None,
        chat_template: None,
        speculation: Default::default(),
    });
    let info = wait_loaded(&mut events)?;
    let local = info.local.clone().ok_or("not a local model")?;
    let loaded = mem();

    println!("model: {described}");
    println!(
        "  {} · {} parameters · file {} · tensors {} · context {} · batch {} · {} threads · {}",
        info.name,
        local.parameters,
        mib(file_size / 1024),
        mib(local.size_bytes / 1024),
        info.context_size,
        local.batch_size,
        local.threads,
        info.backend
    );
    println!(
        "history: {} · turns: {} · max tokens: {}",
        history.as_str(),
        args.turns,
        max_tokens.map_or("none".into(), |m| m.to_string())
    );
    println!();
    println!(
        "{:>4} {:>7} {:>9} {:>7} {:>6} {:>6} {:>10} {:>14} {:>9} {:>7} {:>8}",
        "turn",
        "prompt",
        "evaluated",
        "reused",
        "grown",
        "new",
        "completion",
        "stop",
        "prompt ms",
        "gen ms",
        "RSS MiB"
    );

    let router = RouterConfig {
        tags: tags.clone(),
        stop_after_output: true,
        ..RouterConfig::default()
    };
    let sampling = SamplingSettings {
        seed: Some(1),
        ..SamplingSettings::default()
    };
    let mut turns: Vec<Turn> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut after_first = None;
    let started = Instant::now();
    for k in 1..=args.turns {
        // Same length every turn (up to 999), so that every turn's question costs the same.
        let mut turn = Turn::queued(format!("Question {k:03}: and what follows from that?"));
        let sent = think_carefully(&turn.prompt);
        let request = GenerateRequest {
            id: u64::from(k),
            messages: messages(
                Some(REFLECTION_SYSTEM_PROMPT),
                history,
                &tags,
                &turns,
                &sent,
            ),
            sampling: sampling.clone(),
            max_tokens,
            router: router.clone(),
            budget: Default::default(),
            tools: Vec::new(),
        };
        turn.id = u64::from(k);
        turn.sent = sent;
        turn.state = TurnState::Running;
        engine
            .send(Command::Generate(request))
            .map_err(|e| e.to_string())?;
        let warnings = run_turn(&mut events, &mut turn).map_err(|e| format!("turn {k}: {e}"))?;
        let usage = turn.usage.unwrap_or_default();
        let stop = turn.stop_reason.unwrap_or(StopReason::EndOfTurn);
        let prev = turns
            .last()
            .and_then(|t| t.usage.map(|u| (u, t.stop_reason)));
        let grown = prev.map(|(u, _)| i64::from(usage.prompt_tokens) - i64::from(u.prompt_tokens));
        let new = prev.map(|(u, s)| {
            let undecoded = i64::from(s == Some(StopReason::OutputClosed));
            i64::from(usage.prompt_tokens)
                - (i64::from(u.prompt_tokens) + i64::from(u.completion_tokens) - undecoded)
        });
        let m = mem();
        let row = Row {
            prompt: usage.prompt_tokens,
            evaluated: usage.prompt_tokens_evaluated,
            grown,
            new,
            completion: usage.completion_tokens,
            stop: stop.as_str(),
            prompt_ms: turn.timings.map_or(0, |t| t.prompt_ms),
            generation_ms: turn.timings.map_or(0, |t| t.generation_ms),
            rss: m.rss,
            dropped: !warnings.is_empty(),
        };
        println!(
            "{:>4} {:>7} {:>9} {:>7} {:>6} {:>6} {:>10} {:>14} {:>9} {:>7} {:>8.1}{}",
            k,
            row.prompt,
            row.evaluated,
            row.prompt - row.evaluated,
            opt(row.grown),
            opt(row.new),
            row.completion,
            row.stop,
            row.prompt_ms,
            row.generation_ms,
            row.rss as f64 / 1024.0,
            if row.dropped { "  *" } else { "" }
        );
        for w in warnings {
            notes.push(format!("turn {k}: {w}"));
        }
        if k == 1 {
            after_first = Some(m);
        }
        rows.push(row);
        turns.push(turn);
    }
    let elapsed = started.elapsed();
    let end = mem();
    drop(engine);

    println!();
    for n in &notes {
        println!("* {n}");
    }
    if let Some(answer) = turns.last().map(|t| t.answer.trim()) {
        println!("last answer: {answer:?}");
    }
    let later: Vec<&Row> = rows.iter().skip(1).filter(|r| !r.dropped).collect();
    // The target: the whole previous prompt reused (answer history), or everything the cache
    // held after the previous turn (full history).
    let (target, why) = match history {
        History::Answer => ("grown", "whole previous prompt reused"),
        History::Full => ("new", "previous prompt and generation reused"),
    };
    let exact = later
        .iter()
        .filter(|r| {
            let want = if history == History::Full {
                r.new
            } else {
                r.grown
            };
            want == Some(i64::from(r.evaluated))
        })
        .count();
    if let (Some(first), Some(last)) = (rows.get(1), rows.last()) {
        println!(
            "evaluated: turn 2 {} · turn {} {} · turns 2..{} without dropped turns where evaluated = {target} ({why}): {}/{}",
            first.evaluated,
            rows.len(),
            last.evaluated,
            rows.len(),
            exact,
            later.len()
        );
        let total_prompt: u64 = rows.iter().map(|r| u64::from(r.prompt)).sum();
        let total_eval: u64 = rows.iter().map(|r| u64::from(r.evaluated)).sum();
        println!(
            "prompt tokens over all turns: {total_prompt}, evaluated: {total_eval} ({:.1}%)",
            100.0 * total_eval as f64 / total_prompt.max(1) as f64
        );
    }
    let text: usize = turns
        .iter()
        .map(|t| {
            t.prompt.len()
                + t.sent.len()
                + t.answer.len()
                + t.thinking_text().len()
                + t.reflections.iter().map(|r| r.text.len()).sum::<usize>()
        })
        .sum();
    println!("wall time: {:.2} s", elapsed.as_secs_f64());
    println!();
    println!("memory (VmRSS / VmHWM from /proc/self/status):");
    println!("  model file                     {}", mib(file_size / 1024));
    println!("  RSS before the engine started  {}", mib(before.rss));
    println!(
        "  RSS after load                 {} (anon {}, file {})",
        mib(loaded.rss),
        mib(loaded.anon),
        mib(loaded.file)
    );
    if let Some(f) = after_first {
        println!(
            "  RSS after turn 1               {} (anon {}, file {})",
            mib(f.rss),
            mib(f.anon),
            mib(f.file)
        );
    }
    println!(
        "  RSS after turn {:<3}            {} (anon {}, file {})",
        rows.len(),
        mib(end.rss),
        mib(end.anon),
        mib(end.file)
    );
    println!(
        "  peak RSS (VmHWM)               {}{}",
        mib(end.hwm),
        if hwm_reset {
            ""
        } else {
            " (could not reset it after writing the model: it may include that)"
        }
    );
    println!(
        "  peak − RSS after load          {}",
        mib(end.hwm.saturating_sub(loaded.rss))
    );
    if let Some(f) = after_first {
        println!(
            "  peak − RSS after turn 1        {}",
            mib(end.hwm.saturating_sub(f.rss))
        );
    }
    println!("  conversation text held         {text} bytes");
    let buffers = logs.matching(&["buffer size", " cells, ", "flash_attn"]);
    if !buffers.is_empty() {
        println!("llama.cpp's buffers (its own log):");
        for l in &buffers {
            println!("  {l}");
        }
    }
    // "size = 8.00 MiB ( 32768 cells, …": the KV cache is allocated for the whole context when
    // the context is created; how much of it the conversation fills at the end.
    let kv = buffers.iter().find_map(|l| {
        let rest = l.split_once("size = ")?.1;
        let (size, rest) = rest.split_once(" MiB (")?;
        let cells = rest.trim_start().split_once(" cells")?.0;
        Some((size.parse::<f64>().ok()?, cells.parse::<f64>().ok()?))
    });
    if let (Some((size, cells)), Some(last)) = (kv, turns.last()) {
        let used = last.usage.map_or(0, |u| {
            let undecoded = u32::from(last.stop_reason == Some(StopReason::OutputClosed));
            u.prompt_tokens + u.completion_tokens - undecoded
        });
        println!(
            "KV cache: {size:.2} MiB for {cells} cells ({:.0} bytes a token); {used} cells hold the conversation at the end ({:.2} MiB)",
            size * 1024.0 * 1024.0 / cells,
            size * f64::from(used) / cells
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("multiturn: {e}");
            ExitCode::FAILURE
        }
    }
}
