//! `reflect serve`: the model behind an OpenAI-compatible HTTP API, with the reflection
//! router's split in the fields clients already read. The port is bound before the model
//! loads (so /health answers 503 meanwhile); once it has loaded, the engine runs the requests'
//! jobs (`Command::Serve`) and this side turns their events into answers. SIGINT or SIGTERM
//! stops taking requests and gives those running up to 5 s before they are cancelled.

mod chat;
mod convert;
mod errors;
mod job;
mod log;
mod reply;
mod request;
mod routes;
mod state;
mod stop;

pub use errors::ApiError;
pub use request::{parse, ChatParams};

use crate::cli::ServeArgs;
use crate::engine::{BackendConfig, Engine};
use crate::exit::{code, Failure};
use crate::llm::{Command, EngineEvent};
use crate::settings::{Request, RunSettings};
use state::{Health, Shared};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc::UnboundedReceiver, watch};

/// How long running requests may go on after SIGINT or SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// The flags serve refuses before anything is resolved.
pub fn check_args(_args: &ServeArgs, request: &Request) -> Result<(), Failure> {
    if request.endpoint.is_some() {
        return Err(endpoint_refused());
    }
    Ok(())
}

fn endpoint_refused() -> Failure {
    Failure::usage(
        "serve runs a model in this process: --endpoint (or an endpoint in the environment or \
         config.toml) cannot be served; pass -m FILE, --hf ORG/REPO or --demo",
    )
}

/// Serves until SIGINT or SIGTERM (exit 0), or until the model fails to load (exit 1).
pub fn run(args: &ServeArgs, settings: RunSettings) -> Result<i32, Failure> {
    if matches!(settings.engine, BackendConfig::Remote(_)) {
        return Err(endpoint_refused());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reflect-serve")
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the server's threads: {e}")))?;
    runtime.block_on(serve(args, settings))
}

async fn serve(args: &ServeArgs, settings: RunSettings) -> Result<i32, Failure> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            Failure::runtime(format!(
                "cannot listen on {}:{}: {e}; pick another --port (0: any free one)",
                args.host, args.port
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot read the bound address: {e}")))?;
    let (jobs_tx, jobs) = std::sync::mpsc::channel();
    let api_key = args.api_key.clone().filter(|k| !k.is_empty());
    let keyless = api_key.is_none();
    let engine_config = settings.engine.clone();
    let shared = Arc::new(Shared::new(
        settings,
        api_key,
        args.parallel,
        args.queue_len(),
        jobs_tx,
    ));
    let slots = args.parallel;
    eprintln!(
        "reflect serve: listening on http://{addr} (model {}, {slots} slot{})",
        shared.model,
        if slots == 1 { "" } else { "s" }
    );
    if keyless && !addr.ip().is_loopback() {
        eprintln!(
            "reflect serve: warning: {} is reachable from other machines and no --api-key is \
             set: anyone who reaches this port can use the model",
            addr.ip()
        );
    }
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(signals(stop_tx.clone()));
    let server = axum::serve(listener, routes::router(shared.clone()))
        .with_graceful_shutdown(stopped(stop.clone()));
    let server = tokio::spawn(async move { server.await });
    let (load_tx, loads) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start_with(engine_config, move |e| load_tx.send(e).is_ok());
    let outcome = load(&shared, &engine, loads, jobs, slots, stop.clone()).await;
    if outcome.is_err() {
        let _ = stop_tx.send(true);
    }
    shutdown(&shared, server, stop).await;
    // Joins the engine thread, off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || drop(engine)).await;
    outcome.map(|()| code::OK)
}

/// Waits for the model; once loaded, hands the engine the job channel and logs what else it
/// says. A failed load is the run's error (exit 1); a signal while loading is a normal stop.
async fn load(
    shared: &Arc<Shared>,
    engine: &Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    jobs: std::sync::mpsc::Receiver<crate::llm::ServeJob>,
    slots: u32,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Failure> {
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        match event {
            Some(EngineEvent::Loaded(info)) => {
                tracing::info!("reflect serve: loaded {} ({})", info.name, info.backend);
                engine
                    .send(Command::Serve { slots, jobs })
                    .map_err(|e| Failure::runtime(e.to_string()))?;
                shared.set_health(Health::Ready);
                eprintln!(
                    "reflect serve: ready: {} loaded in {} ms",
                    info.name, info.load_ms
                );
                tokio::spawn(async move {
                    while let Some(e) = events.recv().await {
                        if let EngineEvent::Warning(w) = e {
                            eprintln!("reflect serve: warning: {w}");
                        }
                    }
                });
                return Ok(());
            }
            Some(EngineEvent::Warning(w)) => eprintln!("reflect serve: warning: {w}"),
            Some(EngineEvent::Error(e)) => {
                shared.set_health(Health::Failed(e.to_string()));
                return Err(Failure::from(e));
            }
            Some(_) => {}
            None => {
                let e = crate::llm::EngineError::Gone;
                shared.set_health(Health::Failed(e.to_string()));
                return Err(Failure::runtime(e.to_string()));
            }
        }
    }
}

/// Once stopping: no new connections; running requests get [`GRACE`], then are cancelled;
/// the engine's job channel closes.
async fn shutdown(
    shared: &Arc<Shared>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stop.wait_for(|s| *s).await;
    let cancel = {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            shared.cancel_all();
        })
    };
    // A connection that still holds on (a client that never finishes sending) is not waited
    // for past twice the grace.
    let _ = tokio::time::timeout(GRACE * 2, server).await;
    cancel.abort();
    shared.close_jobs();
}

/// Resolves once stopping.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// SIGINT or SIGTERM: stop. A second one while stopping does not wait for the grace (or for a
/// model still loading): the process exits at once, 130 after SIGINT, 143 after SIGTERM.
async fn signals(stop: watch::Sender<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!(
        "reflect serve: stopping: no new requests; running ones have {} s to finish (signal \
         again to stop at once)",
        GRACE.as_secs()
    );
    let _ = stop.send(true);
    let code = tokio::select! {
        _ = int.recv() => code::INTERRUPTED,
        _ = term.recv() => code::TERMINATED,
    };
    eprintln!("reflect serve: stopped at once: running requests were cut off");
    std::process::exit(code);
}
