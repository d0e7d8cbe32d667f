//! The full-screen chat: `app` holds the state and its pure reducer, `view` draws it, `msg` is
//! their vocabulary; `runtime` and `terminal` are the only parts that touch the terminal.

pub mod app;
pub mod msg;
mod runtime;
mod terminal;
pub mod view;

use crate::engine::Engine;
use crate::exit::Failure;
use crate::settings::Context;
use app::{App, AppInit};

/// Opens the chat and runs it until the user quits. The model starts loading before the first
/// frame, so the user can type while it loads.
pub fn run(init: AppInit, ctx: &Context) -> Result<i32, Failure> {
    let (engine, events) = Engine::start(init.settings.engine.clone());
    // Syntax definitions take tens of milliseconds to load: not on the first frame's path.
    std::thread::spawn(view::preload);
    let mut terminal = terminal::enter()
        .map_err(|e| Failure::runtime(format!("cannot open the full-screen chat: {e}")))?;
    let _guard = terminal::Guard;
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or(init.size);
    let app = App::new(AppInit { size, ..init });
    let result = runtime::run(app, &engine, events, ctx, &mut terminal);
    terminal::restore();
    drop(engine);
    result
        .map(|()| crate::exit::code::OK)
        .map_err(|e| Failure::runtime(format!("terminal error: {e}")))
}
