//! One-shot mode: answer one prompt and exit. The same engine and router as the TUI, writing to
//! stdout / stderr / JSON instead of panes.

mod output;

use crate::cli::{Format, RunSettings};
use crate::conversation::{self, Turn, TurnState};
use crate::engine::{
    Command, Engine, EngineError, EngineEvent, GenerateRequest, ModelInfo, StopReason,
};
use crate::exit::{code, Failure};
use crate::prompt;
use crate::session::{kv, SavedTurn, Session, Store};
use crate::stream::Channel;
use output::{Output, Record};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What to do besides generating.
pub struct PipeOptions {
    pub format: Format,
    pub show_thinking: bool,
    pub print_prompt: bool,
    /// Write the answer as-is even to a terminal.
    pub raw: bool,
    /// Where the turn is saved; `None` with --no-save (or no data directory).
    pub save: Option<SaveTo>,
    /// The saved session this question follows up (--continue / --session).
    pub follow_up: Option<Session>,
}

/// Where sessions are saved, and where llama.cpp state files are cached.
pub struct SaveTo {
    pub store: Store,
    /// `<cache dir>`: state files go in its `reflect/kv/`; `None`: no state files.
    pub cache_dir: Option<PathBuf>,
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
    let sent = prompt::to_send(question, settings.think_carefully);
    let mut session = opts.follow_up.clone().unwrap_or_else(|| {
        Session::new(
            "",
            Some(settings.engine.model_path.clone()),
            &settings.profile,
        )
    });
    let earlier = session.live_turns();
    let messages = conversation::messages(
        settings.system.as_deref(),
        settings.history,
        &settings.router.tags,
        &earlier,
        &sent,
    );
    // The KV cache of the session's last turn: only the new message is decoded.
    let state_file = opts.save.as_ref().and_then(|to| {
        let cache = to.cache_dir.as_ref()?;
        Some(kv::state_path(
            cache,
            &session.id,
            &settings.engine.model_path,
        ))
    });
    if let Some(path) = state_file.as_ref().filter(|_| !opts.print_prompt) {
        // An engine that already stopped (the model failed to load) says why below.
        let _ = engine.send(Command::StateFile(Some(path.clone())));
    }

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

    let mut out = Output::new(opts.format, opts.show_thinking, opts.raw);
    let mut turn = Turn::queued(question);
    turn.sent = sent;
    turn.state = TurnState::Running;
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
                turn.push_text(channel, &text);
                check(out.text(channel, &text), &engine);
            }
            EngineEvent::ReflectionStart { n, .. } => {
                turn.reflection_start(n);
                check(out.reflection_start(n), &engine);
            }
            EngineEvent::ReflectionEnd { n, .. } => turn.reflection_end(n),
            EngineEvent::Warning(w) => eprintln!("reflect: warning: {w}"),
            EngineEvent::Done(done) => break done,
            EngineEvent::Error(e) => return Err(engine_failure(e)),
            _ => {}
        }
    };
    turn.finish(&done);
    if session.model.is_empty() {
        session.model = info.name.clone();
    }
    let saved_id = match &opts.save {
        Some(to) => save_turn(to, &mut session, &turn, state_file.as_deref()),
        None => None,
    };
    if let Some(e) = write_failed {
        return if broken_pipe(&e) {
            Ok(code::OK)
        } else {
            Err(Failure::runtime(format!("cannot write the answer: {e}")))
        };
    }

    let thinking = turn.thinking_text();
    let record = Record::new(
        &turn,
        &thinking,
        &done,
        &info.name,
        &settings.profile,
        saved_id.as_deref(),
    );
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

/// Appends the finished turn to its session file; returns the session id, or `None` (with a
/// warning) when it could not be saved. Keeps only the newest state files.
fn save_turn(
    to: &SaveTo,
    session: &mut Session,
    turn: &Turn,
    state_file: Option<&std::path::Path>,
) -> Option<String> {
    if let Some(dir) = state_file.and_then(|p| p.parent()) {
        kv::prune(dir, kv::KEEP);
    }
    let saved = SavedTurn::from_turn(turn)?;
    match to.store.append(session, saved) {
        Ok(_) => Some(session.id.clone()),
        Err(e) => {
            eprintln!("reflect: warning: cannot save the session: {e}");
            None
        }
    }
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
        EngineError::PromptTooLong { .. } | EngineError::MessageTooLong { .. } => {
            Failure::usage(e.to_string())
        }
        EngineError::Load { .. } => Failure::runtime(format!("cannot load the model: {e}")),
        _ => Failure::runtime(e.to_string()),
    }
}
