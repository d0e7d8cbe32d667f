//! The full-screen chat: `app` holds the state and its pure reducer, `view` draws it, `msg` is
//! their vocabulary; `runtime` and `terminal` are the only parts that touch the terminal;
//! `download` fetches a model the chat must wait for.
//!
//! Layers, each importing only those below it: `runtime` → `view` (draws) → `app` (state and
//! reducer) → `text` (lays out and measures the panes' text for both) → `layout`, `scroll`,
//! `phase`, `notice`, `tool_flow`, `mcp_state` (plain values). `tool_runner` runs the model's
//! tool calls off the UI thread for the runtime, `mcp_runner` starts and holds the MCP servers.

pub mod app;
pub mod download;
pub mod layout;
mod mcp_runner;
pub mod mcp_state;
pub mod msg;
pub mod notice;
pub mod phase;
pub mod prompt_history;
mod runtime;
mod saver;
pub mod scroll;
mod terminal;
pub mod text;
pub mod tool_flow;
mod tool_runner;
pub mod view;

use crate::exit::Failure;
use crate::session::{Session, Store};
use crate::settings::Context;
use crate::signals::Signals;
use app::{App, AppInit};
pub use download::Download;

/// Where the chat saves its conversation, and the saved session it continues.
pub struct SessionInit {
    /// `None`: nothing is saved (--no-save, or no data directory).
    pub store: Option<Store>,
    /// A new session, or the one resumed (whose turns the chat shows first).
    pub session: Session,
    /// Said with "Resumed session …" (e.g. that it goes on with another model).
    pub note: Option<String>,
    /// Where typed prompts are kept across runs (`None`: not kept, e.g. --no-save).
    pub history: Option<std::path::PathBuf>,
}

/// Opens the chat and runs it until the user quits. The model starts loading before the first
/// frame, so the user can type while it loads; with a `download`, the chat opens at once and
/// the engine starts once the file is there.
pub fn run(
    init: AppInit,
    ctx: &Context,
    session: SessionInit,
    download: Option<Download>,
) -> Result<i32, Failure> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut engine = match download {
        Some(_) => None,
        None => Some(runtime::start_engine(init.settings.engine.clone(), &tx)),
    };
    let job = download.map(|d| download::start(d, tx.clone()));
    // SIGTERM, SIGHUP (and a SIGINT sent from outside: in raw mode Ctrl+C is a key) ask the app
    // to save and quit; caught until the terminal is restored, and the first one names the exit.
    let to_loop = tx.clone();
    let signals = Signals::catch(move |_| {
        let _ = to_loop.send(msg::Msg::Terminate);
    });
    // Syntax definitions take tens of milliseconds to load: not on the first frame's path.
    std::thread::spawn(view::preload);
    let mut terminal = terminal::enter()
        .map_err(|e| Failure::runtime(format!("cannot open the full-screen chat: {e}")))?;
    let _guard = terminal::Guard;
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or(init.size);
    let mut app = App::new(AppInit { size, ..init });
    if !session.session.turns.is_empty() {
        let n = session.session.turns.len();
        app.resume(
            session.session.live_turns(),
            format!(
                "Resumed session {} ({n} {}){}",
                session.session.id,
                if n == 1 { "turn" } else { "turns" },
                session
                    .note
                    .as_deref()
                    .map_or(String::new(), |n| format!("; {n}"))
            ),
        );
    }
    let result = runtime::run(app, &mut engine, (tx, rx), ctx, &mut terminal, session);
    // A download still running stops at once (its partial file stays for the next run).
    if let Some(job) = &job {
        job.stop();
    }
    terminal::restore();
    drop(job);
    drop(engine);
    let saved = result.map_err(|e| Failure::runtime(format!("terminal error: {e}")))?;
    // Where the conversation went, for people (a script reading stderr gets nothing).
    if let Some(id) = saved {
        use std::io::{IsTerminal, Write};
        if std::io::stderr().is_terminal() {
            let _ = writeln!(
                std::io::stderr(),
                "reflect: saved session {id}; reopen it with: reflect --resume {id}"
            );
        }
    }
    Ok(signals
        .first()
        .map_or(crate::exit::code::OK, crate::exit::code::for_signal))
}
