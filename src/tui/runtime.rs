//! The TUI's event loop and effect runner. Terminal input, engine events, a download's
//! progress and signals arrive on their own threads (the engine's events straight from the
//! engine thread, see `Engine::start_with`) and are funnelled into one channel of `Msg`s; the
//! loop applies them to the app (pure), runs the effects it returns, and draws at most once per
//! frame interval, only when the state changed. When nothing happens the loop sleeps on the channel: no busy wait.

use super::app::App;
use super::mcp_runner::McpRunner;
use super::msg::{Effect, Msg};
use super::saver::Saver;
use super::terminal::Tui;
use super::tool_runner::{self, ToolRunner};
use super::view::view;
use crate::engine::{BackendConfig, Engine};
use crate::settings::Context;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// At most ~60 frames per second.
const FRAME: Duration = Duration::from_millis(16);
/// How long one batch of messages may take before a frame is drawn anyway.
const BATCH: Duration = Duration::from_millis(8);

/// Reads terminal events on a thread of their own, with the blocking `event::read()`: under
/// crossterm's `use-dev-tty` reader (Cargo.toml) a zero-timeout `event::poll` does not return
/// events already buffered (crossterm-rs/crossterm#839), so never poll with `Duration::ZERO`.
fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
            Ok(Event::Paste(text)) => Msg::Paste(text),
            Ok(Event::Mouse(m)) => Msg::Mouse(m),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
}

/// The notice that lists profiles or themes.
fn listing(what: &str, usage: &str, names: Result<Vec<String>, crate::config::ConfigError>) -> Msg {
    match names {
        Ok(names) => Msg::Notice {
            text: format!("{what}: {} ({usage} applies one)", names.join(", ")),
            error: false,
        },
        Err(e) => Msg::Notice {
            text: e.to_string(),
            error: true,
        },
    }
}

/// Starts the engine, its events straight into the loop's channel: one hop per token.
pub fn start_engine(config: BackendConfig, tx: &Sender<Msg>) -> Engine {
    let to_loop = tx.clone();
    Engine::start_with(config, move |e| to_loop.send(Msg::Engine(e)).is_ok())
}

/// What the effect runner needs besides the app.
pub struct Io<'a> {
    /// `None` until the model is there (`--hf` downloading it).
    pub engine: &'a mut Option<Engine>,
    pub ctx: &'a Context,
    pub terminal: &'a mut Tui,
    pub saver: Saver,
    /// Where typed prompts are kept across runs.
    pub history: Option<std::path::PathBuf>,
    /// Runs the model's tool calls.
    pub tools: ToolRunner,
    /// The MCP servers, once started.
    pub mcp: McpRunner,
}

/// Runs the app until it quits, then saves the session (waiting for the write). `channel` is
/// the loop's message channel, which the engine and the signals already deliver to. Returns the
/// id of the session saved, if any.
pub fn run(
    mut app: App,
    engine: &mut Option<Engine>,
    (tx, rx): (Sender<Msg>, Receiver<Msg>),
    ctx: &Context,
    terminal: &mut Tui,
    session: super::SessionInit,
) -> io::Result<Option<String>> {
    spawn_input(tx.clone());
    let mut io = Io {
        engine,
        ctx,
        terminal,
        saver: Saver::new(session.store, session.session, tx.clone()),
        history: session.history,
        tools: ToolRunner::default(),
        mcp: McpRunner::default(),
    };
    let result = app
        .startup()
        .into_iter()
        .try_for_each(|effect| run_effect(effect, &app, &mut io, &tx))
        .and_then(|()| event_loop(&mut app, &mut io, &tx, &rx));
    // A call still running is stopped (its processes killed) before the chat ends, then the
    // MCP servers.
    io.tools.finish();
    io.mcp.finish();
    let Io { saver, .. } = io;
    let saved = saver.finish(app.turns(), app.model_name());
    result.map(|()| saved)
}

fn event_loop(
    app: &mut App,
    io: &mut Io<'_>,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> io::Result<()> {
    draw(app, io.terminal)?;
    let mut last_draw = Instant::now();
    loop {
        let Some(first) = next(rx, app, last_draw) else {
            // Only the frame timer fired: fall through to draw.
            if app.is_dirty() {
                draw(app, io.terminal)?;
                last_draw = Instant::now();
            }
            continue;
        };
        // Apply everything already waiting, bounded so input stays responsive under a flood;
        // a burst of typed characters goes in as one message.
        let started = Instant::now();
        let mut msg = Some(first);
        while let Some(m) = msg {
            let (m, after) = coalesce(m, rx);
            for effect in app.update(m) {
                run_effect(effect, app, io, tx)?;
            }
            if app.should_quit() {
                return Ok(());
            }
            msg = after.or_else(|| {
                if started.elapsed() < BATCH {
                    rx.try_recv().ok()
                } else {
                    None
                }
            });
        }
        if app.is_dirty() && last_draw.elapsed() >= FRAME {
            draw(app, io.terminal)?;
            last_draw = Instant::now();
        }
    }
}

/// The character a key types when it is plain typing (no Ctrl, no Alt).
fn typed_char(msg: &Msg) -> Option<char> {
    match msg {
        Msg::Key(k) if k.modifiers.difference(KeyModifiers::SHIFT).is_empty() => match k.code {
            KeyCode::Char(c) => Some(c),
            _ => None,
        },
        _ => None,
    }
}

/// `msg`, or when it types a character and more such keys are already waiting, all of them as
/// one [`Msg::Typed`]; and the message taken after them, if any.
fn coalesce(msg: Msg, rx: &Receiver<Msg>) -> (Msg, Option<Msg>) {
    let Some(c) = typed_char(&msg) else {
        return (msg, None);
    };
    let mut text = String::from(c);
    let after = loop {
        match rx.try_recv() {
            Ok(next) => match typed_char(&next) {
                Some(c) => text.push(c),
                None => break Some(next),
            },
            Err(_) => break None,
        }
    };
    if text.len() == c.len_utf8() {
        (msg, after)
    } else {
        (Msg::Typed(text), after)
    }
}

/// Waits for the next message; when a frame is pending, only until it is due. `None` means the
/// frame is due.
fn next(rx: &Receiver<Msg>, app: &App, last_draw: Instant) -> Option<Msg> {
    if app.is_dirty() {
        let due = FRAME.saturating_sub(last_draw.elapsed());
        match rx.recv_timeout(due) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            // Every sender gone cannot happen while the loop holds one; treat it as quit.
            Err(RecvTimeoutError::Disconnected) => Some(Msg::Terminate),
        }
    } else {
        Some(rx.recv().unwrap_or(Msg::Terminate))
    }
}

fn draw(app: &mut App, terminal: &mut Tui) -> io::Result<()> {
    terminal.draw(|f| view(app, f))?;
    app.mark_drawn();
    Ok(())
}

fn run_effect(effect: Effect, app: &App, io: &mut Io<'_>, tx: &Sender<Msg>) -> io::Result<()> {
    let reply = |m: Msg| {
        let _ = tx.send(m);
    };
    match effect {
        Effect::StartEngine(_) | Effect::Engine(_) | Effect::Cancel(_) | Effect::AnswerNow(_) => {
            engine_effect(effect, io.engine, tx)
        }
        Effect::Copy(text) => {
            let out = io.terminal.backend_mut();
            write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()))?;
            out.flush()?;
            reply(Msg::Notice {
                text: "copied the answer to the clipboard".into(),
                error: false,
            });
        }
        Effect::LoadProfile(name) => {
            reply(Msg::ProfileLoaded(
                io.ctx
                    .named_profile(&name, "/profile")
                    .map_err(|e| e.to_string()),
            ));
        }
        Effect::LoadTheme(name) => {
            reply(Msg::ThemeLoaded(
                io.ctx
                    .named_theme(&name, "/theme")
                    .map_err(|e| e.to_string()),
            ));
        }
        Effect::ListProfiles => {
            let names = io.ctx.list_profiles().map(|rows| {
                rows.into_iter()
                    .map(|(l, _)| l.entry.name)
                    .collect::<Vec<_>>()
            });
            reply(listing("Profiles", "/profile NAME", names));
        }
        Effect::ListThemes => {
            let names = io.ctx.list_themes().map(|rows| {
                rows.into_iter()
                    .map(|(l, _)| l.entry.name)
                    .collect::<Vec<_>>()
            });
            reply(listing("Themes", "/theme NAME", names));
        }
        Effect::SaveProfile(profile) => {
            let notice = match io.ctx.profile_dir() {
                Ok(dir) => match crate::profile::save(dir, &profile) {
                    Ok(saved) => Msg::Notice {
                        text: format!(
                            "saved profile '{}' to {}",
                            profile.name,
                            saved.path.display()
                        ),
                        error: false,
                    },
                    Err(e) => Msg::Notice {
                        text: format!("cannot save the profile in {}: {e}", dir.display()),
                        error: true,
                    },
                },
                Err(f) => Msg::Notice {
                    text: f.message,
                    error: true,
                },
            };
            reply(notice);
        }
        Effect::SaveSession => io.saver.save(app.turns(), app.model_name()),
        Effect::RememberPrompt(text) => {
            if let Some(path) = &io.history {
                if let Err(e) = super::prompt_history::append(path, &text) {
                    let _ = tx.send(Msg::Notice {
                        text: format!("cannot keep the prompt history in {}: {e}", path.display()),
                        error: true,
                    });
                }
            }
        }
        Effect::NewSession(old) => {
            io.saver.save(&old, app.model_name());
            io.saver.start_new();
        }
        Effect::PreviewTool { .. }
        | Effect::ArmApproval { .. }
        | Effect::RunTool { .. }
        | Effect::CancelTool => tool_effect(effect, &mut io.tools, io.mcp.servers(), tx),
        Effect::StartMcp { workspace } => io.mcp.start(io.ctx, &workspace, tx),
        Effect::McpPrompt {
            server,
            prompt,
            arguments,
        } => io.mcp.prompt(server, prompt, arguments, tx),
        Effect::Quit => {}
    }
    Ok(())
}

/// The tool calls' effects: the approval prompt's preview and its quiet moment (each on a
/// thread of its own: an edit's diff reads the file), running a call on the runner's thread
/// (an MCP tool on its server), stopping it.
fn tool_effect(
    effect: Effect,
    tools: &mut ToolRunner,
    mcp: Option<std::sync::Arc<crate::mcp::Servers>>,
    tx: &Sender<Msg>,
) {
    match effect {
        Effect::PreviewTool { call, workspace } => {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let text = tool_runner::preview(&call, &workspace, mcp.as_ref());
                let _ = tx.send(Msg::ToolPreview { id: call.id, text });
            });
        }
        Effect::ArmApproval { id, seq } => {
            let tx = tx.clone();
            std::thread::spawn(move || {
                std::thread::sleep(crate::tui::tool_flow::ARM_DELAY);
                let _ = tx.send(Msg::ApprovalArmed { id, seq });
            });
        }
        Effect::RunTool { call, workspace } => tools.start(call, &workspace, mcp, tx.clone()),
        Effect::CancelTool => tools.cancel(),
        // Not the runner's: `run_effect` runs them.
        _ => {}
    }
}

/// The engine's effects: start it (once the model is there), send it a command, stop or
/// hurry a generation. Before it starts, a command is answered with a notice.
fn engine_effect(effect: Effect, engine: &mut Option<Engine>, tx: &Sender<Msg>) {
    match effect {
        Effect::StartEngine(config) => *engine = Some(start_engine(config, tx)),
        Effect::Engine(command) => {
            let sent = match engine.as_ref() {
                Some(engine) => engine.send(command).map_err(|e| e.to_string()),
                None => Err("the model is not there yet: wait for its download".into()),
            };
            if let Err(text) = sent {
                let _ = tx.send(Msg::Notice { text, error: true });
            }
        }
        Effect::Cancel(id) => {
            if let Some(engine) = engine.as_ref() {
                engine.cancel(id);
            }
        }
        Effect::AnswerNow(id) => {
            if let Some(engine) = engine.as_ref() {
                engine.answer_now(id);
            }
        }
        // Not the engine's: `run_effect` runs them.
        _ => {}
    }
}

/// Standard base64 (for OSC 52).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64, coalesce};
    use crate::tui::msg::Msg;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
        Msg::Key(KeyEvent::new(code, modifiers))
    }

    /// What a message is, for comparing.
    fn show(m: &Msg) -> String {
        match m {
            Msg::Key(k) if k.modifiers.contains(KeyModifiers::CONTROL) => {
                format!("ctrl {:?}", k.code)
            }
            Msg::Key(k) => format!("key {:?}", k.code),
            Msg::Typed(t) => format!("typed {t}"),
            _ => "other".into(),
        }
    }

    #[test]
    fn waiting_typed_characters_go_in_as_one_message_up_to_the_first_other_key() {
        let (tx, rx) = std::sync::mpsc::channel();
        for c in "bc D".chars() {
            let mods = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            tx.send(key(KeyCode::Char(c), mods)).unwrap();
        }
        tx.send(key(KeyCode::Enter, KeyModifiers::NONE)).unwrap();
        tx.send(key(KeyCode::Char('e'), KeyModifiers::NONE))
            .unwrap();
        tx.send(key(KeyCode::Char('c'), KeyModifiers::CONTROL))
            .unwrap();
        let (m, after) = coalesce(key(KeyCode::Char('a'), KeyModifiers::NONE), &rx);
        assert_eq!(show(&m), "typed abc D");
        assert_eq!(after.as_ref().map(show).as_deref(), Some("key Enter"));
        // A lone character stays a key; Ctrl+C is not typing.
        let (m, after) = coalesce(rx.try_recv().unwrap(), &rx);
        assert_eq!(show(&m), "key Char('e')");
        assert_eq!(after.as_ref().map(show).as_deref(), Some("ctrl Char('c')"));
        let (m, after) = coalesce(key(KeyCode::Char('z'), KeyModifiers::NONE), &rx);
        assert_eq!((show(&m), after.is_none()), ("key Char('z')".into(), true));
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        let table = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
            ("é✓", "w6ninJM="),
        ];
        for (input, want) in table {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }
}
