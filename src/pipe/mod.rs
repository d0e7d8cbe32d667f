//! One-shot mode: answer one prompt and exit. The same engine and router as the TUI, writing to
//! stdout / stderr / JSON instead of panes.

mod output;

use crate::cli::{Format, RunSettings};
use crate::engine::{
    Command, Engine, EngineError, EngineEvent, GenerateRequest, ModelInfo, StopReason,
};
use crate::exit::{code, Failure};
use crate::prompt;
use crate::stream::{Channel, Collected, Sink};
use output::{Output, Record};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What to do besides generating.
pub struct PipeOptions {
    pub format: Format,
    pub show_thinking: bool,
    pub print_prompt: bool,
}

/// Ctrl+C (SIGINT) cancels the generation, so that what was answered so far is printed; a
/// second one exits at once.
fn on_interrupt(engine: &Engine) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let canceller = engine.canceller();
    let seen = flag.clone();
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]) {
        std::thread::spawn(move || {
            for _ in signals.forever() {
                if seen.swap(true, Ordering::SeqCst) {
                    std::process::exit(code::INTERRUPTED);
                }
                canceller.cancel(u64::MAX);
            }
        });
    }
    flag
}

fn broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Runs one question; returns the exit code.
pub fn run(settings: &RunSettings, question: &str, opts: &PipeOptions) -> Result<i32, Failure> {
    let (engine, mut events) = Engine::start(settings.engine.clone());
    let interrupted = on_interrupt(&engine);
    let stderr_tty = io::stderr().is_terminal();
    let messages = prompt::messages(
        settings.system.as_deref(),
        question,
        settings.think_carefully,
    );

    // Wait for the model.
    let info: ModelInfo = loop {
        match events.blocking_recv() {
            Some(EngineEvent::LoadProgress(p)) if stderr_tty => {
                eprint!("\rLoading model… {:3.0}%", p * 100.0);
            }
            Some(EngineEvent::Loaded(info)) => break *info,
            Some(EngineEvent::Warning(w)) => {
                eprintln!("{}reflect: warning: {w}", clear(stderr_tty))
            }
            Some(EngineEvent::Error(e)) => {
                if interrupted.load(Ordering::SeqCst) {
                    return Ok(code::INTERRUPTED);
                }
                return Err(engine_failure(e));
            }
            None => return Err(engine_failure(EngineError::Gone)),
            Some(_) => {}
        }
    };
    if stderr_tty {
        eprint!("{}", clear(true));
    }

    if opts.print_prompt {
        engine
            .send(Command::RenderPrompt(messages))
            .map_err(engine_failure)?;
        while let Some(event) = events.blocking_recv() {
            if let EngineEvent::Prompt(p) = event {
                let mut out = io::stdout().lock();
                return match out.write_all(p.as_bytes()).and_then(|_| out.flush()) {
                    Err(e) if !broken_pipe(&e) => {
                        Err(Failure::runtime(format!("cannot write to stdout: {e}")))
                    }
                    _ => Ok(code::OK),
                };
            }
        }
        return Err(engine_failure(EngineError::Gone));
    }

    let id = 1;
    engine
        .send(Command::Generate(GenerateRequest {
            id,
            messages,
            sampling: settings.sampling.clone(),
            max_tokens: settings.max_tokens,
            router: settings.router.clone(),
        }))
        .map_err(engine_failure)?;

    let mut out = Output::new(opts.format, opts.show_thinking);
    let mut collected = Collected::default();
    let mut write_failed = None;
    let mut check = |r: io::Result<()>, engine: &Engine| {
        if let Err(e) = r {
            engine.cancel(id);
            write_failed.get_or_insert(e);
        }
    };
    let done = loop {
        let Some(event) = events.blocking_recv() else {
            return Err(engine_failure(EngineError::Gone));
        };
        match event {
            EngineEvent::Text { channel, text, .. } => {
                collected.text(channel, &text);
                check(out.text(channel, &text), &engine);
            }
            EngineEvent::ReflectionStart { n, .. } => {
                collected.reflection_start(n);
                check(out.reflection_start(n), &engine);
            }
            EngineEvent::ReflectionEnd { n, .. } => collected.reflection_end(n),
            EngineEvent::Warning(w) => eprintln!("reflect: warning: {w}"),
            EngineEvent::Done(done) => break done,
            EngineEvent::Error(e) => return Err(engine_failure(e)),
            _ => {}
        }
    };
    if let Some(e) = write_failed {
        return if broken_pipe(&e) {
            Ok(code::OK)
        } else {
            Err(Failure::runtime(format!("cannot write the answer: {e}")))
        };
    }

    let record = Record::new(&collected, &done, &info.name, &settings.profile);
    match out.finish(&record) {
        Err(e) if broken_pipe(&e) => return Ok(code::OK),
        Err(e) => return Err(Failure::runtime(format!("cannot write the answer: {e}"))),
        Ok(()) => {}
    }

    if done.stop_reason == StopReason::Cancelled && interrupted.load(Ordering::SeqCst) {
        return Ok(code::INTERRUPTED);
    }
    match done.stop_reason {
        StopReason::ContextFull => eprintln!(
            "reflect: note: the context ({} tokens) is full; the answer may be cut short (raise --ctx-size)",
            info.context_size
        ),
        StopReason::MaxTokens if !done.summary.answer_missing => {
            eprintln!("reflect: note: stopped at --max-tokens {}", settings.max_tokens.unwrap_or(0))
        }
        _ => {}
    }
    if done.summary.answer_missing {
        let why = if done.summary.open_blocks.contains(&Channel::Thinking) {
            "its thinking was never closed"
        } else {
            "there was no output section"
        };
        eprintln!(
            "reflect: warning: the model produced no answer: {why} (stop reason: {})",
            done.stop_reason.as_str()
        );
        return Ok(code::NO_ANSWER);
    }
    Ok(code::OK)
}

fn clear(tty: bool) -> &'static str {
    if tty {
        "\r\x1b[K"
    } else {
        ""
    }
}

fn engine_failure(e: EngineError) -> Failure {
    match e {
        EngineError::PromptTooLong { .. } => Failure::usage(e.to_string()),
        EngineError::Load { .. } => Failure::runtime(format!("cannot load the model: {e}")),
        _ => Failure::runtime(e.to_string()),
    }
}
