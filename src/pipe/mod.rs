//! One-shot mode: answer one prompt and exit. The same engine and router as the TUI, writing to
//! stdout / stderr / JSON instead of panes.

mod format;
mod output;
mod spacing;
mod status;
mod tools;

pub use format::Format;

use crate::conversation::{Turn, TurnState};
use crate::engine::Engine;
use crate::exit::{code, Failure};
use crate::llm::{
    Command, Completion, EngineError, EngineEvent, GenerateRequest, ModelInfo, StopReason,
};
use crate::session::{kv, SavedTurn, Session, Store};
use crate::settings::RunSettings;
use crate::signals::Signals;
use crate::stream::Channel;
use output::{Output, Record};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tools::{Next, ToolLoop};

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
    /// The profile was chosen (by flag, environment, config.toml or the session): no advice
    /// on which one fits the model.
    pub profile_chosen: bool,
    /// The MCP servers to start when tools are on (`mcp::Sources::to_start`).
    pub mcp: Vec<crate::mcp::ServerSpec>,
}

/// Where sessions are saved, and where llama.cpp state files are cached.
pub struct SaveTo {
    pub store: Store,
    /// `<cache dir>`: state files go in its `reflect/kv/`; `None`: no state files.
    pub cache_dir: Option<PathBuf>,
}

/// Writes to stderr, ignoring failure: after SIGHUP the terminal may be gone, and a note that
/// cannot be shown must not turn a saved, interrupted turn into a crash (`eprintln!` panics).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Ctrl+C (SIGINT), SIGTERM and SIGHUP cancel the generation, so that what was answered so far
/// is printed and the turn saved, marked interrupted; the exit code then names the signal
/// ([`code::for_signal`]). A second signal exits at once.
/// `stop` is set too: a running tool stops (a command's process group is killed) and no
/// other call runs.
fn on_signals(engine: &Engine, stop: Arc<AtomicBool>) -> Signals {
    let canceller = engine.canceller();
    Signals::catch_once(move |_| {
        stop.store(true, Ordering::SeqCst);
        canceller.cancel(u64::MAX)
    })
}

fn broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Runs one question; returns the exit code.
pub fn run(settings: &RunSettings, question: &str, opts: &PipeOptions) -> Result<i32, Failure> {
    let (engine, mut events) = Engine::start(settings.engine.clone());
    let stop_tools = Arc::new(AtomicBool::new(false));
    let stopped = on_signals(&engine, stop_tools.clone());
    // The servers start while the model loads; their tools join the built-ins.
    let mcp = start_mcp(settings, &opts.mcp)?;
    let mut settings = settings.clone();
    if let Some(servers) = &mcp {
        settings.tools.mcp = servers.schemas();
    }
    let settings = &settings;
    let sent = settings.to_send(question);
    let mut session = session_for(settings, opts);
    let earlier = session.live_turns();
    let request = settings.request(1, &earlier, &sent, None);
    let state_file = state_file(settings, opts, &session);
    if let Some(path) = state_file.as_ref().filter(|_| !opts.print_prompt) {
        // An engine that already stopped (the model failed to load) says why below.
        let _ = engine.send(Command::StateFile(Some(path.clone())));
    }
    let info = match wait_for_model(&mut events, &stopped)? {
        Load::Loaded(info) => *info,
        Load::Signalled(signal) => return Ok(code::for_signal(signal)),
    };
    if !opts.profile_chosen && !opts.print_prompt {
        advise_profile(settings);
    }
    if opts.print_prompt {
        return print_prompt(&engine, &mut events, request, opts.format, &info.name);
    }
    let mut out = Output::new(opts.format, opts.show_thinking, opts.raw);
    let mut turn = Turn::queued(question);
    turn.sent = sent;
    turn.state = TurnState::Running;
    let mut tool_loop = ToolLoop::new(&settings.tools, stop_tools, mcp);
    tool_loop.report_mcp_failures(&mut out);
    let Answered {
        done,
        write_failed,
        max_steps,
    } = answer(
        &engine,
        &mut events,
        &mut out,
        &mut turn,
        |id, turn| {
            if id == request.id {
                request.clone()
            } else {
                settings.request_step(id, &earlier, turn, None)
            }
        },
        &mut tool_loop,
    )
    .inspect_err(|failure| {
        // Tools may have run already (files written): the turn is kept, marked failed.
        if let (false, Some(to)) = (turn.calls.is_empty(), &opts.save) {
            turn.state = TurnState::Failed(failure.message.clone());
            save_turn(to, &mut session, &turn, state_file.as_deref());
        }
    })?;
    session.answered_by(crate::session::AnsweredBy {
        name: info.name.clone(),
        ..crate::session::planned_model(&settings.engine)
    });
    let saved_id = match &opts.save {
        Some(to) => save_turn(to, &mut session, &turn, state_file.as_deref()),
        None => None,
    };
    // After SIGHUP the terminal may be gone: the turn is saved, and the signal is what ended it.
    let signalled = stopped
        .first()
        .filter(|_| done.stop_reason == StopReason::Cancelled);
    let thinking = turn.thinking_text();
    let mut record = Record::new(
        &turn,
        &thinking,
        &done,
        &info.name,
        &settings.profile,
        saved_id.as_deref(),
    );
    record.endpoint = settings.engine.endpoint();
    if let Some(code) = write_end(&mut out, &record, write_failed, signalled)? {
        return Ok(code);
    }
    if let Some(notice) = max_steps {
        say!("reflect: {notice}");
        return Ok(code::NO_ANSWER);
    }
    Ok(closing_note(&done, &info, settings, saved_id.is_some()))
}

/// The session this question joins: the one followed up, or a new one.
fn session_for(settings: &RunSettings, opts: &PipeOptions) -> Session {
    let mut session = opts.follow_up.clone().unwrap_or_else(|| {
        Session::new(
            "",
            settings.engine.model_path().map(Path::to_path_buf),
            &settings.profile,
        )
    });
    session.endpoint = settings.engine.endpoint();
    session
}

/// The KV cache file of the session's last turn, when saving: only the new message is decoded.
fn state_file(
    settings: &RunSettings,
    opts: &PipeOptions,
    session: &Session,
) -> Option<std::path::PathBuf> {
    let cache = opts.save.as_ref()?.cache_dir.as_ref()?;
    let model = settings.engine.model_path()?;
    Some(kv::state_path(cache, &session.id, model))
}

/// Starts the MCP servers (in parallel, each within its start timeout) when tools are on and
/// some are configured.
fn start_mcp(
    settings: &RunSettings,
    specs: &[crate::mcp::ServerSpec],
) -> Result<Option<Arc<crate::mcp::Servers>>, Failure> {
    if !settings.tools.on || specs.is_empty() {
        return Ok(None);
    }
    let servers = crate::mcp::Servers::start(specs.to_vec()).map_err(Failure::runtime)?;
    Ok(Some(Arc::new(servers)))
}

/// How a turn ended: its last step, the first write that failed, and the notice when
/// `--max-steps` stopped its tool loop.
struct Answered {
    done: Box<Completion>,
    write_failed: Option<io::Error>,
    max_steps: Option<String>,
}

/// Generates the turn step by step: each step's request from `request(id, turn)`, then its
/// calls decided and run by `tools`, until the model answers without a call or the loop is
/// stopped (`--max-steps`, a signal, a failed write).
fn answer(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    out: &mut Output,
    turn: &mut Turn,
    request: impl Fn(u64, &Turn) -> crate::llm::GenerateRequest,
    tools: &mut ToolLoop,
) -> Result<Answered, Failure> {
    let mut id = 1;
    loop {
        engine
            .send(Command::Generate(request(id, turn)))
            .map_err(Failure::from)?;
        // A later step's thinking and answer start paragraphs of their own after the earlier
        // steps' text.
        let set_off = SetOff {
            thinking: id > 1 && !turn.thinking_text().trim().is_empty(),
            answer: id > 1 && !turn.answer.trim().is_empty(),
        };
        let Streamed {
            mut done,
            write_failed,
        } = stream(engine, events, out, turn, id, set_off)?;
        if write_failed.is_some() {
            done.calls.clear();
            turn.step_done(&done);
            return Ok(Answered {
                done,
                write_failed,
                max_steps: None,
            });
        }
        let (done, max_steps) = match tools.after_step(turn, done, out) {
            Next::Again => {
                id += 1;
                continue;
            }
            Next::Done(done) => (done, None),
            Next::Stopped(done, notice) => (done, Some(notice)),
        };
        return Ok(Answered {
            done,
            write_failed: tools.write_failed(),
            max_steps,
        });
    }
}

/// How waiting for the model ended, when not with a failure.
enum Load {
    Loaded(Box<ModelInfo>),
    /// A signal stopped the load.
    Signalled(i32),
}

/// Waits for the model, showing the load's progress on a terminal and its warnings.
fn wait_for_model(
    events: &mut UnboundedReceiver<EngineEvent>,
    stopped: &Signals,
) -> Result<Load, Failure> {
    let stderr_tty = io::stderr().is_terminal();
    let info = loop {
        match events.blocking_recv() {
            Some(EngineEvent::LoadProgress(p)) if stderr_tty => {
                say_raw!("\rLoading model… {:3.0}%", p * 100.0);
            }
            Some(EngineEvent::Loaded(info)) => break info,
            Some(EngineEvent::Warning(w)) => {
                say!("{}reflect: warning: {w}", clear(stderr_tty))
            }
            Some(EngineEvent::Error(e)) => {
                if let Some(signal) = stopped.first() {
                    return Ok(Load::Signalled(signal));
                }
                return Err(Failure::from(e));
            }
            None => return Err(Failure::from(EngineError::Gone)),
            Some(_) => {}
        }
    };
    if stderr_tty {
        say_raw!("{}", clear(true));
    }
    Ok(Load::Loaded(info))
}

/// Which channels of a later step start a paragraph of their own: a blank line between the
/// steps' thinking, and between their answer text.
#[derive(Clone, Copy, Default)]
struct SetOff {
    thinking: bool,
    answer: bool,
}

impl SetOff {
    /// `text` with a blank line before it when it is its channel's first (not blank) text of
    /// the step and that channel is set off.
    fn apply(&mut self, channel: Channel, text: String) -> String {
        let flag = match channel {
            Channel::Thinking => &mut self.thinking,
            Channel::Output => &mut self.answer,
            Channel::Reflection => return text,
        };
        if !*flag || text.trim().is_empty() {
            return text;
        }
        *flag = false;
        format!("\n\n{}", text.trim_start())
    }
}

/// A streamed answer: how it ended, and the first write that failed (which cancelled it).
struct Streamed {
    done: Box<Completion>,
    write_failed: Option<io::Error>,
}

/// Streams generation `id` into `turn` and `out` until it is done; a failed write cancels it.
/// The status line is cleared at the end, before anything else can be written (a warning that
/// the session was not saved, the record). `set_off` says which channels' first text
/// starts after a blank line.
fn stream(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    out: &mut Output,
    turn: &mut Turn,
    id: u64,
    mut set_off: SetOff,
) -> Result<Streamed, Failure> {
    let mut write_failed = None;
    let mut check = |r: io::Result<()>| {
        if let Err(e) = r {
            engine.cancel(id);
            write_failed.get_or_insert(e);
        }
    };
    let done = loop {
        let Some(event) = events.blocking_recv() else {
            return Err(Failure::from(EngineError::Gone));
        };
        match event {
            EngineEvent::Text { channel, text, .. } => {
                let text = set_off.apply(channel, text);
                turn.push_text(channel, &text);
                check(out.text(channel, &text));
            }
            EngineEvent::ReflectionStart { n, .. } => {
                turn.reflection_start(n);
                check(out.reflection_start(n));
            }
            EngineEvent::ReflectionEnd { n, .. } => {
                turn.reflection_end(n);
                check(out.reflection_end(n));
            }
            EngineEvent::PromptProgress { done, total, .. } => {
                check(out.prompt_progress(done, total));
            }
            EngineEvent::PromptProcessed { .. } => check(out.prompt_done()),
            EngineEvent::Budget { report, step, .. } => {
                turn.budget(&report, step);
                if let Some(step) = step {
                    check(out.budget_step(step, &report));
                }
            }
            EngineEvent::Warning(w) => {
                check(out.clear_status());
                say!("reflect: warning: {w}")
            }
            EngineEvent::Done(done) => {
                check(out.prompt_done());
                break done;
            }
            EngineEvent::Error(e) => return Err(Failure::from(e)),
            _ => {}
        }
    };
    check(out.clear_status());
    Ok(Streamed { done, write_failed })
}

/// Writes the end of the answer (the record, in JSON); `Some(code)` when the run ends here: a
/// closed stdout (0), a failed write, or a `signalled` one (the signal's code).
fn write_end(
    out: &mut Output,
    record: &Record,
    write_failed: Option<io::Error>,
    signalled: Option<i32>,
) -> Result<Option<i32>, Failure> {
    let written = match write_failed {
        Some(e) => Err(e),
        None => out.finish(record),
    };
    match (written, signalled) {
        (_, Some(signal)) => Ok(Some(code::for_signal(signal))),
        (Err(e), None) if broken_pipe(&e) => Ok(Some(code::OK)),
        (Err(e), None) => Err(Failure::runtime(format!("cannot write the answer: {e}"))),
        (Ok(()), None) => Ok(None),
    }
}

/// --print-prompt: the rendered prompt on stdout (a JSON string with --format json/jsonl).
fn print_prompt(
    engine: &Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    request: GenerateRequest,
    format: Format,
    name: &str,
) -> Result<i32, Failure> {
    engine
        .send(Command::RenderPrompt(request))
        .map_err(Failure::from)?;
    while let Some(event) = events.blocking_recv() {
        if let EngineEvent::Prompt(p) = event {
            // --format json / jsonl: the prompt as a JSON string, for programs.
            let p = match format {
                Format::Text => p,
                Format::Json | Format::Jsonl => {
                    format!("{}\n", serde_json::json!({"prompt": p, "model": name}))
                }
            };
            let mut out = io::stdout().lock();
            return match out.write_all(p.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if !broken_pipe(&e) => {
                    Err(Failure::runtime(format!("cannot write to stdout: {e}")))
                }
                _ => Ok(code::OK),
            };
        }
    }
    Err(Failure::from(EngineError::Gone))
}

/// The note a finished answer ends with on stderr (a full context, --max-tokens, a cut stream,
/// no answer), and the exit code it gives.
fn closing_note(done: &Completion, info: &ModelInfo, settings: &RunSettings, saved: bool) -> i32 {
    match done.stop_reason {
        StopReason::ContextFull => say!(
            "reflect: note: the context ({} tokens) is full; the answer may be cut short (raise --ctx-size)",
            info.context_size
        ),
        StopReason::MaxTokens if !done.summary.answer_missing => {
            say!("reflect: note: stopped at --max-tokens {}", settings.max_tokens.unwrap_or(0))
        }
        StopReason::StreamCut => {
            say!(
                "reflect: {}: the stream ended before the answer did; what came was kept{}",
                info.backend,
                if saved { " and saved (marked interrupted)" } else { "" }
            );
            return code::RUNTIME;
        }
        _ => {}
    }
    if done.summary.answer_missing {
        let why = if done.summary.open_blocks.contains(&Channel::Thinking) {
            "its thinking was never closed"
        } else {
            "there was no output section"
        };
        say!(
            "reflect: warning: the model produced no answer: {why} (stop reason: {})",
            done.stop_reason.as_str()
        );
        return code::NO_ANSWER;
    }
    code::OK
}

/// Says once which profile `models info` recommends, when the default one does not fit the
/// model (no tags of its own as tokens, no chat template).
fn advise_profile(settings: &RunSettings) {
    if let Some(advice) = profile_advice(settings) {
        say!("reflect: note: {advice}");
    }
}

/// Which profile `models info` recommends for the local model, when the one in effect does
/// not fit it (no tags of its own as tokens, no chat template); `None` when it fits or the
/// model is no file.
pub fn profile_advice(settings: &RunSettings) -> Option<String> {
    let path = settings.engine.model_path().filter(|p| p.is_file())?;
    let tags: Vec<String> = settings
        .router
        .tags
        .tags()
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    crate::engine::llama::profile_advice(path, &settings.profile, &tags)
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
            say!("reflect: warning: cannot save the session: {e}");
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
