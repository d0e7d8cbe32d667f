//! The engine thread: checks and loads the model (`load`, `new_context`), says what it loaded
//! (`describe`), then serves commands until shutdown (`serve`).

use super::logs::capture_errors;
use super::model::{self, vocabulary_difference, DraftSource, Loaded};
use super::template::Template;
use super::{gpu_backend, DraftModel, GpuLayers, LlamaConfig, Speculation};
use crate::gguf;
use crate::llm::{Command, EngineError, EngineEvent, EventSender, LocalModel, ModelInfo, ServeJob};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;

/// llama.cpp's backend can be initialised once per process.
pub(crate) fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log lines go to tracing (a log file when one is configured),
            // never to the terminal.
            send_logs_to_tracing(LogOptions::default().with_logs_enabled(true));
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Default thread count: physical cores (llama.cpp's own default of 4 oversubscribes small
/// machines and decodes slower there).
pub(super) fn default_threads() -> u32 {
    num_cpus::get_physical().max(1) as u32
}

/// The engine thread: loads the model (with progress events), says what was loaded, then
/// serves commands until shutdown. A failure to load is one `Load` error event.
pub(crate) fn run(
    config: LlamaConfig,
    commands: mpsc::Receiver<Command>,
    events: EventSender,
    cancel: Arc<AtomicU64>,
    answer_now: Arc<AtomicU64>,
) {
    let started = Instant::now();
    let fail = |message: String| {
        let _ = events.send(EngineEvent::Error(EngineError::Load {
            path: config.model_path.clone(),
            message,
        }));
    };
    let (info, backend, model) = match load(&config, &events, &cancel) {
        Ok(loaded) => loaded,
        Err(e) => return fail(e),
    };
    if config.vocab_only {
        return serve_prompts(&model, &info, &config, started, commands, &events);
    }
    let (ctx, shape) = match new_context(&model, backend, &config, &events) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let (template, warning) = match Template::detect(&model, config.chat_template.as_deref()) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if let Some(w) = warning {
        let _ = events.send(EngineEvent::Warning(w));
    }
    let Some((speculation, draft_model)) = speculation_for(
        &config,
        backend,
        &model,
        &model_name(&info, &config),
        &events,
    ) else {
        return;
    };
    let source = match (&draft_model, speculation.draft.as_ref()) {
        (Some(m), Some(d)) => Some(DraftSource {
            model: m,
            n_batch: shape.n_batch,
            threads: shape.threads,
            max: d.max,
            p_min: d.p_min,
        }),
        _ => None,
    };
    let load_ms = started.elapsed().as_millis() as u64;
    let loaded = match Loaded::new(&model, ctx, template, load_ms).with_speculation(
        speculation,
        source,
        backend,
    ) {
        Ok(loaded) => loaded,
        Err(message) => {
            let path = (config.speculation.draft.as_ref())
                .map_or_else(Default::default, |d| d.path.clone());
            let _ = events.send(EngineEvent::Error(EngineError::Load { path, message }));
            return;
        }
    };
    let model_info = describe(&loaded, &info, &config, &shape, load_ms);
    let _ = events.send(EngineEvent::Loaded(Box::new(model_info)));
    let gen = Generation {
        events: &events,
        cancel: &cancel,
        answer_now: &answer_now,
    };
    serve(loaded, backend, &shape, commands, &gen);
}

/// The speculation this model runs and its draft model, loaded (`None`, the error sent, when
/// the draft model cannot load). Recurrent and hybrid models cannot take rejected drafts back
/// out of their memory: speculation is off for such a model, and such a draft model is not
/// used (lookup stays), each with a warning.
fn speculation_for(
    config: &LlamaConfig,
    backend: &LlamaBackend,
    model: &LlamaModel,
    name: &str,
    events: &EventSender,
) -> Option<(Speculation, Option<LlamaModel>)> {
    let rolls_back = !(model.is_recurrent() || model.is_hybrid());
    let (mut speculation, off) = config.speculation.clone().for_memory(rolls_back, name);
    if let Some(w) = off {
        let _ = events.send(EngineEvent::Warning(w));
    }
    let draft_model = match speculation.draft.as_ref() {
        Some(d) => match load_draft(d, backend, model) {
            Ok(m) => Some(m),
            Err(e) => {
                let _ = events.send(EngineEvent::Error(e));
                return None;
            }
        },
        None => None,
    };
    let draft_model = draft_model.filter(|m| {
        let stateful = m.is_recurrent() || m.is_hybrid();
        if stateful {
            speculation.draft = None;
            let _ = events.send(EngineEvent::Warning(
                "the draft model is not used: it is a recurrent or hybrid model, whose memory \
                 cannot take rejected drafts back out"
                    .into(),
            ));
        }
        !stateful
    });
    Some((speculation, draft_model))
}

/// The file's pre-load check (unless the settings made it), llama.cpp's backend, and the
/// model's weights, with load progress events; the engine's cancel (its drop) stops the load.
fn load(
    config: &LlamaConfig,
    events: &EventSender,
    cancel: &Arc<AtomicU64>,
) -> Result<(Arc<gguf::GgufInfo>, &'static LlamaBackend, LlamaModel), String> {
    let info = match config.checked.clone() {
        Some(info) => info,
        None => Arc::new(gguf::inspect(&config.model_path).map_err(|e| e.problem)?),
    };
    let backend = backend().map_err(|e| format!("llama.cpp failed to start: {e}"))?;
    let progress = events.clone();
    let abort = cancel.clone();
    let mut last = -1.0f32;
    let params = LlamaModelParams::default()
        .with_vocab_only(config.vocab_only)
        .with_n_gpu_layers(gpu_layers(config))
        .with_progress_callback(move |p| {
            if p >= 1.0 || p - last >= 0.01 {
                last = p;
                let _ = progress.send(EngineEvent::LoadProgress(p.clamp(0.0, 1.0)));
            }
            // The engine was dropped while loading: stop.
            abort.load(Ordering::SeqCst) != u64::MAX
        });
    let (model, reason) =
        capture_errors(|| LlamaModel::load_from_file(backend, &config.model_path, &params));
    let model = model.map_err(|e| {
        let why = reason.unwrap_or_else(|| e.to_string());
        format!(
            "llama.cpp could not load this model (architecture '{}'): {why}",
            info.architecture
        )
    })?;
    Ok((info, backend, model))
}

/// The draft model's weights (its layers where the model's go), refused when its vocabulary
/// is not the model's.
fn load_draft(
    d: &DraftModel,
    backend: &LlamaBackend,
    model: &LlamaModel,
) -> Result<LlamaModel, EngineError> {
    let load = |message: String| EngineError::Load {
        path: d.path.clone(),
        message,
    };
    gguf::inspect(&d.path).map_err(|e| load(e.problem))?;
    let params = LlamaModelParams::default().with_n_gpu_layers(if gpu_backend().is_some() {
        u32::MAX
    } else {
        0
    });
    let (draft, reason) = capture_errors(|| LlamaModel::load_from_file(backend, &d.path, &params));
    let draft = draft.map_err(|e| {
        load(format!(
            "llama.cpp could not load this draft model: {}",
            reason.unwrap_or_else(|| e.to_string())
        ))
    })?;
    if let Some(message) = vocabulary_difference(model, &draft) {
        return Err(EngineError::Draft {
            path: d.path.clone(),
            message,
        });
    }
    Ok(draft)
}

/// The layers asked for on the GPU, as llama.cpp counts them.
fn gpu_layers(config: &LlamaConfig) -> u32 {
    match config.gpu_layers {
        GpuLayers::All => u32::MAX,
        GpuLayers::Count(n) => n,
    }
}

/// The context's shape, as made: what generation and the description need.
struct Shape {
    n_ctx_train: u32,
    threads: u32,
    n_batch: u32,
    /// What the context was made with, to make it again.
    params: LlamaContextParams,
}

/// The context: the size asked for (else the smaller of 8192 and the training context),
/// refused at once when its KV cache cannot fit in memory.
fn new_context<'m>(
    model: &'m LlamaModel,
    backend: &LlamaBackend,
    config: &LlamaConfig,
    events: &EventSender,
) -> Result<(LlamaContext<'m>, Shape), String> {
    let n_ctx_train = model.n_ctx_train();
    let n_ctx = config
        .ctx_size
        .unwrap_or_else(|| {
            if n_ctx_train == 0 {
                8192
            } else {
                n_ctx_train.min(8192)
            }
        })
        .max(16);
    let threads = config.threads.unwrap_or_else(default_threads).max(1);
    let n_batch = config.batch_size.unwrap_or(2048).clamp(1, n_ctx);
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(n_batch)
        .with_n_ubatch(n_batch.min(512))
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let params = ctx_params.clone();
    // The KV cache: keys and values (f16) for every layer and position.
    let kv_gib = crate::memory::gib(crate::memory::kv_cache_bytes(
        u64::from(n_ctx),
        u64::from(model.n_layer()),
        u64::from(model.n_head().max(1)),
        u64::from(model.n_head_kv().max(1)),
        model.n_embd().max(1) as u64,
    ));
    let too_big = |why: String| {
        format!(
            "a context of {n_ctx} tokens needs about {kv_gib:.1} GiB for its KV cache alone{why}; ask for a smaller context (the model was trained on {n_ctx_train})"
        )
    };
    // On the CPU, more than the memory there is would make llama.cpp try for a long time (and
    // tens of GB) before it fails: refuse at once.
    if let (None, Some(free)) = (gpu_backend(), crate::memory::available_gib()) {
        if kv_gib > free {
            return Err(too_big(format!(
                ", more than the {free:.1} GiB of memory available"
            )));
        }
    }
    let ctx = model
        .new_context(backend, ctx_params)
        .map_err(|e| too_big(format!(" and llama.cpp could not allocate it ({e})")))?;
    if let Some(asked) = config.ctx_size.filter(|c| *c != ctx.n_ctx()) {
        let _ = events.send(EngineEvent::Warning(format!(
            "the context is {} tokens, not {asked}: llama.cpp allocates it in steps of {}",
            ctx.n_ctx(),
            crate::profile::CONTEXT_STEP
        )));
    }
    let shape = Shape {
        n_ctx_train,
        threads,
        n_batch,
        params,
    };
    Ok((ctx, shape))
}

/// What was loaded, for the front end.
fn describe(
    loaded: &Loaded<'_>,
    info: &gguf::GgufInfo,
    config: &LlamaConfig,
    shape: &Shape,
    load_ms: u64,
) -> ModelInfo {
    let model = loaded.model();
    let layers = model.n_layer();
    ModelInfo {
        name: model_name(info, config),
        backend: gpu_backend().unwrap_or("CPU").to_string(),
        context_size: loaded.n_ctx(),
        local: Some(LocalModel {
            path: config.model_path.clone(),
            parameters: model.n_params(),
            size_bytes: model.size(),
            context_train: shape.n_ctx_train,
            layers,
            layers_offloaded: if gpu_backend().is_some() {
                gpu_layers(config).min(layers + 1)
            } else {
                0
            },
            threads: shape.threads,
            batch_size: shape.n_batch,
        }),
        tag_tokens: loaded
            .tag_tokens(&config.tags)
            .into_values()
            .map(|(text, _)| text)
            .collect(),
        load_ms,
    }
}

/// Where a generation reports, and what stops it.
struct Generation<'a> {
    events: &'a EventSender,
    cancel: &'a Arc<AtomicU64>,
    answer_now: &'a Arc<AtomicU64>,
}

/// Serves the engine's commands until shutdown (or until the engine is dropped).
fn serve(
    mut loaded: Loaded<'_>,
    backend: &LlamaBackend,
    shape: &Shape,
    commands: mpsc::Receiver<Command>,
    gen: &Generation<'_>,
) {
    let events = gen.events;
    let mut state_file = None;
    for command in commands.iter() {
        match command {
            Command::Shutdown => break,
            Command::GenerateMany { requests, at_once } => {
                let full = shape;
                let shape = super::slots::Shape {
                    sequences: at_once.max(1),
                    n_ctx_seq: loaded.n_ctx(),
                    n_batch: shape.n_batch,
                    threads: shape.threads,
                    unified: loaded.speculates(),
                };
                let jobs = requests
                    .into_iter()
                    .map(|request| ServeJob {
                        request,
                        cancel: gen.cancel.clone(),
                        events: events.clone(),
                    })
                    .collect::<Vec<_>>()
                    .into_iter();
                let jobs = super::slots::Jobs::Queued(jobs);
                let ran = lent(&mut loaded, backend, &full.params, events, |loaded| {
                    super::slots::run(loaded, backend, &mut None, shape, jobs)
                });
                match ran {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        let _ = events.send(EngineEvent::Error(e));
                    }
                    Err(e) => {
                        let _ = events.send(EngineEvent::Error(e));
                        break;
                    }
                }
            }
            Command::StateFile(path) => state_file = path,
            Command::Serve { slots, jobs } if slots <= 1 => serve_jobs(&mut loaded, &jobs),
            Command::Serve { slots, jobs } => {
                let full = shape;
                // llama-server's split: the context is shared out among the slots.
                let shape = super::slots::Shape {
                    sequences: slots,
                    n_ctx_seq: (loaded.n_ctx() / slots).max(16),
                    n_batch: shape.n_batch,
                    threads: shape.threads,
                    unified: loaded.speculates(),
                };
                let jobs = super::slots::Jobs::Arriving(&jobs);
                // The single path's context lends its memory to the slots' while they serve,
                // so that serving with slots holds one KV cache, not two.
                // Serving, failures go to the jobs themselves.
                let ran = lent(&mut loaded, backend, &full.params, events, |loaded| {
                    let _ = super::slots::run(loaded, backend, &mut None, shape, jobs);
                });
                if let Err(e) = ran {
                    let _ = events.send(EngineEvent::Error(e));
                    break;
                }
            }
            Command::RenderPrompt(req) => {
                let event = match loaded.render_with_bos(&req.messages, &req.tools) {
                    Ok(prompt) => EngineEvent::Prompt(prompt),
                    Err(e) => EngineEvent::Error(EngineError::Unsupported(format!(
                        "the prompt with tools could not be rendered: {e}"
                    ))),
                };
                let _ = events.send(event);
            }
            Command::Generate(req) => {
                if let Some(path) = &state_file {
                    loaded.restore_state(path);
                }
                let event = match model::run(&mut loaded, &req, events, gen.cancel, gen.answer_now)
                {
                    Ok(done) => EngineEvent::Done(Box::new(done)),
                    Err(e) => EngineEvent::Error(e),
                };
                // Saved before `Done` goes out, so that a front end that exits on `Done` finds
                // the file complete.
                if let (Some(path), EngineEvent::Done(_)) = (&state_file, &event) {
                    loaded.save_state(path);
                }
                let _ = events.send(event);
            }
        }
    }
}

/// Runs batched jobs (`GenerateMany`, `Serve` with slots) with the memory of the single path's
/// context lent to theirs: that context is swapped for a small one while `run` runs (its
/// batched context made and dropped inside), then made again as it was, so that batching
/// never holds two KV caches; the draft model's context likewise (the slots make their own).
/// `Err` when llama.cpp could not make a context again.
fn lent<R>(
    loaded: &mut Loaded<'_>,
    backend: &LlamaBackend,
    params: &LlamaContextParams,
    events: &EventSender,
    run: impl FnOnce(&mut Loaded<'_>) -> R,
) -> Result<R, EngineError> {
    let small = params
        .clone()
        .with_n_ctx(NonZeroU32::new(256))
        .with_n_batch(256)
        .with_n_ubatch(256);
    let Ok(ctx) = loaded.model().new_context(backend, small) else {
        // No small context: the big one stays, and the jobs run beside it.
        let result = run(loaded);
        restore_drafter(loaded, backend, events);
        return Ok(result);
    };
    drop(loaded.swap_context(ctx));
    let result = run(loaded);
    let ctx = loaded
        .model()
        .new_context(backend, params.clone())
        .map_err(|e| {
            EngineError::Decode(format!(
                "llama.cpp could not make its context again after batched generation ({e})"
            ))
        })?;
    drop(loaded.swap_context(ctx));
    // The slots' drafters are gone with them: the single path's comes back.
    restore_drafter(loaded, backend, events);
    Ok(result)
}

/// The single path's drafter made again after batched generation, or a warning that the
/// draft model is no longer used.
fn restore_drafter(loaded: &mut Loaded<'_>, backend: &LlamaBackend, events: &EventSender) {
    if let Some(w) = loaded.restore_drafter(backend) {
        let _ = events.send(EngineEvent::Warning(w));
    }
}

/// `Command::Serve` with one slot: the jobs one at a time on the single-generation path (its
/// prompt memo and cache reuse, the whole context), each
/// cancelled by its own flag, until the channel closes.
fn serve_jobs(loaded: &mut Loaded<'_>, jobs: &mpsc::Receiver<ServeJob>) {
    let never = Arc::new(AtomicU64::new(0));
    for job in jobs.iter() {
        let event = match model::run(loaded, &job.request, &job.events, &job.cancel, &never) {
            Ok(done) => EngineEvent::Done(Box::new(done)),
            Err(e) => EngineEvent::Error(e),
        };
        let _ = job.events.send(event);
    }
}

/// A model loaded for its vocabulary only: renders prompts, refuses to generate.
fn serve_prompts(
    model: &LlamaModel,
    info: &gguf::GgufInfo,
    config: &LlamaConfig,
    started: Instant,
    commands: mpsc::Receiver<Command>,
    events: &EventSender,
) {
    let (template, warning) = match Template::detect(model, config.chat_template.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            let _ = events.send(EngineEvent::Error(EngineError::Load {
                path: config.model_path.clone(),
                message: e,
            }));
            return;
        }
    };
    if let Some(w) = warning {
        let _ = events.send(EngineEvent::Warning(w));
    }
    let _ = events.send(EngineEvent::Loaded(Box::new(ModelInfo {
        name: model_name(info, config),
        backend: "vocabulary only".into(),
        context_size: 0,
        tag_tokens: Vec::new(),
        load_ms: started.elapsed().as_millis() as u64,
        local: None,
    })));
    for command in commands.iter() {
        match command {
            Command::Shutdown => break,
            Command::RenderPrompt(req) => {
                let event = match template.render_with_bos(model, &req.messages, &req.tools) {
                    Ok(prompt) => EngineEvent::Prompt(prompt),
                    Err(e) => EngineEvent::Error(EngineError::Unsupported(format!(
                        "the prompt with tools could not be rendered: {e}"
                    ))),
                };
                let _ = events.send(event);
            }
            Command::StateFile(_) => {}
            Command::Generate(_) | Command::GenerateMany { .. } | Command::Serve { .. } => {
                let _ = events.send(EngineEvent::Error(EngineError::Unsupported(
                    "the model was loaded for its vocabulary only (--print-prompt)".into(),
                )));
            }
        }
    }
}

/// The model's name: its `general.name`, else the file's stem.
fn model_name(info: &gguf::GgufInfo, config: &LlamaConfig) -> String {
    info.name.clone().unwrap_or_else(|| {
        config
            .model_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}
