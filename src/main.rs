//! The `reflect` binary: parse flags, read the prompt, run, map every failure to one line and a
//! documented exit code.

use reflect::cli::{self, Args, Mode, RunFlags};
use reflect::exit::{code, Failure};
use reflect::pipe::{self, PipeOptions, SaveTo};
use reflect::session::{self, Session, SessionError, Store};
use reflect::settings::{Context, Environment, Request, Row};
use reflect::{gguf, profile, prompt, term_safe};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

fn main() {
    // When llama.cpp aborts, ggml would attach gdb to print a backtrace on stderr: users get
    // reflect's one-line message instead (REFLECT_GGML_BACKTRACE=1 keeps ggml's backtrace).
    if std::env::var_os("REFLECT_GGML_BACKTRACE").is_none() {
        std::env::set_var("GGML_NO_BACKTRACE", "1");
    }
    reflect::abort::install();
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("reflect: internal error{at}: {what}. Please report this bug.");
        reflect::mcp::stop_all();
    }));
    let code = match run() {
        Ok(code) => code,
        Err(f) => {
            eprintln!("reflect: {}", f.message);
            f.code
        }
    };
    std::process::exit(code);
}

fn run() -> Result<i32, Failure> {
    let args = Args::parse_process();
    if let Some(path) = &args.log_file {
        init_logging(path)?;
    }
    let stdin_tty = std::io::stdin().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let load = || Context::load(Environment::from_process()).map_err(Failure::from);
    match args.mode(stdin_tty, stdout_tty)? {
        Mode::Chat => chat(&args),
        Mode::Ask | Mode::PrintPrompt => ask(&args, &load()?),
        Mode::ShortHelp => print(&Args::short_help()).map(|_| code::OK),
        Mode::ListSessions => list_sessions(&load()?),
        Mode::ShowSession { id, raw } => {
            export_session(&load()?, &id, Path::new("-"), Some(false), raw)
        }
        Mode::ExportSession { id, to, json, raw } => {
            export_session(&load()?, &id, &to, json.then_some(true), raw)
        }
        Mode::RemoveSession { id } => remove_session(&load()?, &id),
        Mode::PruneSessions { older_than } => prune_sessions(&load()?, older_than),
        Mode::ListProfiles => {
            let ctx = load()?;
            let active = ctx.profile_choice(&args.run.request()).spec;
            listing(&ctx.list_profiles()?, |p| &p.description, &active)
        }
        Mode::ShowProfile { name, by } => show_profile(&load()?, &name, by),
        Mode::SaveProfile { name, run, by } => save_profile(&load()?, &run, &name, by),
        Mode::ListThemes => {
            let ctx = load()?;
            let active = ctx.theme_choice(&args.theme).spec;
            listing(&ctx.list_themes()?, |t| &t.description, &active)
        }
        Mode::ShowTheme { name, by } => show_theme(&load()?, &args, name.as_deref(), by),
        Mode::Completions(shell) => write_bytes(&cli::completions(shell)),
        Mode::ModelInfo { model } => {
            let (code, out) = reflect::models::info(&Environment::from_process(), &model)?;
            print(&out).map(|_| code)
        }
        Mode::ModelPull { model } => {
            let (code, out) = reflect::hub::commands::pull(&load()?.env, &model)?;
            print(&out).map(|_| code)
        }
        Mode::ModelList => {
            let (code, out) = reflect::hub::commands::list(&load()?.env)?;
            print(&out).map(|_| code)
        }
        Mode::ModelRemove { model } => reflect::hub::commands::remove(&load()?.env, &model),
        Mode::McpList => mcp(reflect::mcp::commands::list),
        Mode::McpTrust => mcp(reflect::mcp::commands::trust),
        Mode::McpCall {
            tool,
            arguments,
            timeout,
        } => mcp(|places| {
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            let _signals = reflect::signals::Signals::catch(move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst)
            });
            reflect::mcp::commands::call(places, &tool, &arguments, timeout, &stop)
        }),
        Mode::Eval(e) => {
            let ctx = load()?;
            let mut request = e.request();
            // Downloaded (with progress) before the questions run.
            with_hub_model(e.run.hf.as_deref(), &mut request.run, &ctx)?;
            with_hub_draft(e.run.hf_draft.as_deref(), &mut request.run, &ctx)?;
            reflect::eval::run(&ctx, &request, &demo_model)
        }
        Mode::Man => {
            let page = cli::man_page()
                .map_err(|e| Failure::runtime(format!("cannot write the man page: {e}")))?;
            write_bytes(&page)
        }
    }
}

/// A `reflect mcp` command, run in the current directory (the workspace) with the config and
/// data directories of the environment; its output on stdout.
fn mcp(
    command: impl FnOnce(&reflect::mcp::commands::Places) -> Result<(i32, String), Failure>,
) -> Result<i32, Failure> {
    let env = Environment::from_process();
    let workspace = std::env::current_dir()
        .map_err(|e| Failure::runtime(format!("cannot read the current directory: {e}")))?;
    let places = reflect::mcp::commands::Places {
        config_dir: env.config_dir.as_deref(),
        data_dir: env.data_dir.as_deref(),
        workspace: &workspace,
    };
    let (code, out) = command(&places)?;
    print(&out).map(|_| code)
}

/// `--hf` made into the request's model: the file downloaded (progress on stderr) when it is
/// not cached.
fn with_hub_model(hf: Option<&str>, request: &mut Request, ctx: &Context) -> Result<(), Failure> {
    if let Some(spec) = hf {
        request.model = Some(reflect::hub::commands::fetch(&ctx.env, spec)?.1);
    }
    Ok(())
}

/// `--hf-draft` made into the request's draft model, downloaded as `--hf` is.
fn with_hub_draft(hf: Option<&str>, request: &mut Request, ctx: &Context) -> Result<(), Failure> {
    if let Some(spec) = hf {
        request.model_draft = Some(reflect::hub::commands::fetch(&ctx.env, spec)?.1);
    }
    Ok(())
}

/// Asks one question (or prints its prompt): pipe mode.
fn ask(args: &Args, ctx: &Context) -> Result<i32, Failure> {
    let follow_up = follow_up(args, ctx)?;
    let mut request = args.request();
    if let Some(s) = &follow_up {
        session::use_session_model(&mut request, args.run.hf.is_some(), s)?;
    }
    let stdin = read_stdin()?;
    let question = prompt::combine_input(stdin.as_deref(), &args.prompt);
    if question.trim().is_empty() {
        return Err(Failure::usage(
            "no prompt: pass a question as an argument or on stdin (e.g. echo \"what is 2+2?\" | reflect -m model.gguf)",
        ));
    }
    // One-shot mode draws nothing, but a broken theme is reported now rather than later;
    // like a broken profile, before a model is downloaded for nothing.
    ctx.theme(&args.theme)?;
    ctx.profile(&request)?;
    with_hub_model(args.run.hf.as_deref(), &mut request, ctx)?;
    with_hub_draft(args.run.hf_draft.as_deref(), &mut request, ctx)?;
    let settings = ctx.run_settings(&request, demo_model)?;
    reflect::settings::check_tool_flags_used(&request, &settings.tools)?;
    let settings = if args.print_prompt {
        settings.vocab_only()
    } else {
        settings
    };
    if let Some(s) = follow_up.as_ref().filter(|_| !args.print_prompt) {
        if let Some((was, now)) = model_change(s, &settings.engine) {
            eprintln!(
                "reflect: note: session {} was answered by {was}; this turn is answered by {now}",
                s.id
            );
        }
    }
    let profile_chosen = !ctx.profile_choice(&request).is_default() || follow_up.is_some();
    let opts = PipeOptions {
        format: args.format,
        show_thinking: args.show_thinking,
        print_prompt: args.print_prompt,
        raw: args.raw,
        save: save_to(args, ctx).map(|store| SaveTo {
            store,
            cache_dir: dirs::cache_dir(),
        }),
        follow_up,
        profile_chosen,
        mcp: mcp_servers(ctx, &settings.tools)?,
    };
    pipe::run(&settings, &question, &opts)
}

/// The MCP servers pipe mode starts when tools are on: mcp.json's and a trusted project
/// .mcp.json's (an untrusted one is skipped, and stderr says how to trust it). A mistake in
/// either file is a usage error (exit 2).
fn mcp_servers(
    ctx: &Context,
    tools: &reflect::tools::ToolSettings,
) -> Result<Vec<reflect::mcp::ServerSpec>, Failure> {
    if !tools.on {
        return Ok(Vec::new());
    }
    let env = &ctx.env;
    let sources = reflect::mcp::Sources::load(
        env.config_dir.as_deref(),
        env.data_dir.as_deref(),
        &tools.workspace,
    )?;
    if let Some(p) = sources.untrusted() {
        eprintln!(
            "reflect: note: {} names MCP servers that do not start until you trust the file: \
             run `reflect mcp trust` in {}",
            p.file.display(),
            tools.workspace.display()
        );
    }
    Ok(sources.to_start())
}

/// The sessions directory, if there is one.
fn store(ctx: &Context) -> Option<Store> {
    ctx.env
        .data_dir
        .as_ref()
        .map(|d| Store::new(d.join("sessions")))
}

/// Where this run saves its turns: nowhere with --no-save or --print-prompt.
fn save_to(args: &Args, ctx: &Context) -> Option<Store> {
    if args.no_save || args.print_prompt {
        return None;
    }
    store(ctx)
}

fn store_or_fail(ctx: &Context) -> Result<Store, Failure> {
    store(ctx).ok_or_else(|| {
        Failure::usage(
            "cannot find a data directory for sessions; set XDG_DATA_HOME or REFLECT_DATA_DIR",
        )
    })
}

fn session_failure(e: SessionError) -> Failure {
    match e {
        SessionError::Io { .. } => Failure::runtime(e.to_string()),
        _ => Failure::usage(e.to_string()),
    }
}

/// The saved session that --continue or --session names.
fn follow_up(args: &Args, ctx: &Context) -> Result<Option<Session>, Failure> {
    if !args.continue_latest && args.session.is_none() {
        return Ok(None);
    }
    let store = store_or_fail(ctx)?;
    store
        .open(args.session.as_deref())
        .map(Some)
        .map_err(|e| match e {
            SessionError::Empty { .. } => Failure::usage(format!(
                "--continue: {e}; ask a first question without --continue to start one"
            )),
            SessionError::LatestUnreadable { .. } => Failure::usage(format!("--continue: {e}")),
            e => session_failure(e),
        })
}

/// A resumed chat runs on its session's model unless its flags name another
/// ([`session::use_session_model`]).
fn use_session_model(args: &mut Args, s: &Session) -> Result<(), Failure> {
    let mut request = args.run.request();
    session::use_session_model(&mut request, args.run.hf.is_some(), s)?;
    args.run.model = request.model;
    args.run.endpoint = request.endpoint;
    Ok(())
}

/// The session's model and the one this run uses, when they differ.
fn model_change(s: &Session, engine: &reflect::engine::BackendConfig) -> Option<(String, String)> {
    let saved = s.model_ref()?;
    let planned = session::planned_model(engine);
    (!session::same_model(&saved, &planned)).then(|| (saved.to_string(), planned.to_string()))
}

/// `reflect sessions list` (`--sessions`): answered without a model.
fn list_sessions(ctx: &Context) -> Result<i32, Failure> {
    let store = store_or_fail(ctx)?;
    let listed = store.list().map_err(session_failure)?;
    let (text, errors) = session::listing(&listed);
    if listed.is_empty() {
        eprintln!(
            "reflect: no saved sessions yet in {}",
            store.dir().display()
        );
    }
    print(&text)?;
    for e in &errors {
        eprintln!("reflect: {e}");
    }
    Ok(if errors.is_empty() {
        code::OK
    } else {
        code::USAGE
    })
}

/// `reflect sessions show|export` (`--export`): Markdown, or JSON when `json` says so
/// (`None`: when `to` is a .json file), to stdout (`-`) or a file.
fn export_session(
    ctx: &Context,
    id: &str,
    to: &Path,
    json: Option<bool>,
    raw: bool,
) -> Result<i32, Failure> {
    let store = store_or_fail(ctx)?;
    let session = store.find(id).map_err(session_failure)?;
    let format = match json {
        Some(false) => session::ExportFormat::Markdown,
        Some(true) | None => session::ExportFormat::pick(to, json == Some(true)),
    };
    let text = format.render(&session);
    if to.as_os_str() == "-" {
        let stdout_tty = std::io::stdout().is_terminal();
        if stdout_tty && !raw {
            print(&reflect::term_safe::neutralise(&text))?;
        } else {
            print(&text)?;
        }
    } else {
        // Like the session it comes from, readable by the user only; into a directory that
        // exists (a mistyped one is not created).
        let dir = to.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.exists()) {
            return Err(Failure::usage(format!(
                "cannot write {}: the directory {} does not exist; create it first, or export \
                 elsewhere",
                to.display(),
                dir.display()
            )));
        }
        reflect::config::write::replace(to, text.as_bytes(), true)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", to.display())))?;
        eprintln!(
            "reflect: exported session {} to {}",
            session.id,
            to.display()
        );
    }
    Ok(code::OK)
}

/// `reflect sessions rm ID`.
fn remove_session(ctx: &Context, id: &str) -> Result<i32, Failure> {
    let store = store_or_fail(ctx)?;
    let (removed, held) = store.remove(id).map_err(|e| match e {
        SessionError::NotFound { .. } => Failure::usage(format!(
            "sessions rm: no saved session '{id}' in {}; `reflect sessions list` lists them",
            store.dir().display()
        )),
        e => session_failure(e),
    })?;
    let what = match held {
        Ok(s) => term_safe::neutralise(&s.title()).into_owned(),
        Err(_) => "a file that did not read back".to_string(),
    };
    eprintln!("reflect: removed session {removed} ({what})");
    Ok(code::OK)
}

/// `reflect sessions prune --older-than DURATION`.
fn prune_sessions(ctx: &Context, older_than: std::time::Duration) -> Result<i32, Failure> {
    let store = store_or_fail(ctx)?;
    let pruned = store
        .prune(older_than, std::time::SystemTime::now())
        .map_err(session_failure)?;
    for e in &pruned.unreadable {
        eprintln!("reflect: left alone: {e}");
    }
    let n = pruned.removed.len();
    let age = session::age::describe(older_than);
    eprintln!(
        "reflect: removed {n} session{} last updated more than {age} ago from {}",
        if n == 1 { "" } else { "s" },
        store.dir().display()
    );
    Ok(code::OK)
}

/// The full-screen chat. Problems in config.toml, the profile or the theme are shown in the
/// chat (which falls back to defaults) instead of stopping it; a missing model still stops.
fn chat(args: &Args) -> Result<i32, Failure> {
    let (ctx, config_error) = Context::load_or_defaults(Environment::from_process());
    let session = resumed_session(&ctx, args)?;
    let mut args = args.clone();
    let ChatStart {
        settings,
        download,
        profile_error,
    } = chat_settings(&ctx, &mut args, session.as_ref(), config_error.as_ref())?;
    let args = &args;
    let (theme, theme_error) = ctx.theme_or_default(&args.theme);
    // Which profile fits the model, when none was chosen: in the log, never on the terminal
    // the chat draws on.
    if session.is_none()
        && ctx.profile_choice(&args.run.request()).is_default()
        && args.log_file.is_some()
    {
        if let Some(advice) = reflect::pipe::profile_advice(&settings) {
            tracing::info!("{advice}");
        }
    }
    let note = session.as_ref().and_then(|s| {
        let (was, now) = model_change(s, &settings.engine)?;
        Some(format!(
            "this session was answered by {was}; it goes on with {now}"
        ))
    });
    let mut session = session.unwrap_or_else(|| Session::new("", None, &settings.profile));
    // New turns are answered by this model (the saver adds its name once it has loaded).
    let planned = session::planned_model(&settings.engine);
    session.model_path = planned.path;
    session.endpoint = planned.endpoint;
    let startup_error = [config_error, profile_error, theme_error]
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect::<Vec<_>>();
    // Typed prompts are kept across runs beside the sessions (not with --no-save).
    let history = (!args.no_save)
        .then(|| ctx.env.data_dir.as_ref().map(|d| d.join("history.jsonl")))
        .flatten();
    let prompt_history = history
        .as_deref()
        .map(reflect::tui::prompt_history::load)
        .unwrap_or_default();
    let init = reflect::tui::app::AppInit {
        settings,
        theme_name: theme.name.clone(),
        theme,
        startup_error: (!startup_error.is_empty()).then(|| startup_error.join("; ")),
        size: (80, 24),
        prompt_history,
    };
    let save = if args.no_save { None } else { store(&ctx) };
    let session = reflect::tui::SessionInit {
        store: save,
        session,
        note,
        history,
    };
    reflect::tui::run(init, &ctx, session, download)
}

/// The session the chat opens on: --resume, and --continue and --session without a question.
fn resumed_session(ctx: &Context, args: &Args) -> Result<Option<Session>, Failure> {
    let resume = args
        .resume
        .clone()
        .or_else(|| args.session.clone().map(Some))
        .or_else(|| args.continue_latest.then_some(None));
    let Some(spec) = resume else {
        return Ok(None);
    };
    let store = store_or_fail(ctx)?;
    let flag = if args.continue_latest {
        "--continue"
    } else {
        "--resume"
    };
    store.open(spec.as_deref()).map(Some).map_err(|e| match e {
        SessionError::LatestUnreadable { .. } => Failure::usage(format!("{flag}: {e}")),
        e => session_failure(e),
    })
}

/// What the chat starts from besides the terminal and the session.
struct ChatStart {
    settings: reflect::settings::RunSettings,
    /// --hf naming a file not in the cache: the download the chat makes first.
    download: Option<reflect::tui::Download>,
    /// The profile's problem (the chat falls back to the default profile).
    profile_error: Option<reflect::config::ConfigError>,
}

/// The chat's settings. With --hf naming a file not in the cache, also the download the chat
/// makes first: the settings are made again once the file is there, for its
/// `general.sampling.*`.
fn chat_settings(
    ctx: &Context,
    args: &mut Args,
    session: Option<&Session>,
    config_error: Option<&reflect::config::ConfigError>,
) -> Result<ChatStart, Failure> {
    // --hf: the file is chosen now (a wrong name or a refused token stops here, in plain
    // text); a file not in the cache downloads in the chat, which opens at once.
    let mut fetch = None;
    if let Some(spec) = args.run.hf.take() {
        let (hub, plan) = reflect::hub::commands::plan(&ctx.env, &spec)?;
        args.run.model = Some(plan.path(&hub));
        fetch = (!plan.cached).then_some((hub, plan));
    }
    // --hf-draft: downloaded now, before the chat opens (the chat shows the model's download
    // only).
    if let Some(spec) = args.run.hf_draft.take() {
        args.run.model_draft = Some(reflect::hub::commands::fetch(&ctx.env, &spec)?.1);
    }
    // A resumed session runs on its own model unless -m (or --endpoint) names another.
    if let Some(s) = session {
        use_session_model(args, s)?;
    }
    let request = args.request();
    let (profile, profile_error) = ctx.profile_or_default(&request);
    // The model file's own sampling defaults count: read from it when it is there.
    let resolve = |ctx: &Context, request: &reflect::settings::Request, profile| {
        ctx.settings_for_profile(request, profile, demo_model, |p| gguf::inspect(p).ok())
    };
    let settings = resolve(ctx, &request, profile.clone()).map_err(|f| match config_error {
        // config.toml was set aside, so its model (or endpoint) is missing too: its own
        // mistake is what the user must fix first.
        Some(e) => Failure::usage(format!(
            "{e} (the chat cannot start without it: {})",
            f.message
        )),
        None => f,
    })?;
    // Only a model run here downloads: settings that name a server leave the file alone.
    let local = matches!(settings.engine, reflect::engine::BackendConfig::Llama(_));
    let download = fetch.filter(|_| local).map(|(hub, plan)| {
        let ctx = ctx.clone();
        reflect::tui::Download {
            hub,
            plan,
            settings: Box::new(move || resolve(&ctx, &request, profile)),
        }
    });
    Ok(ChatStart {
        settings,
        download,
        profile_error,
    })
}

/// `reflect profiles show NAME` (`--show-profile NAME`); errors name `by`.
fn show_profile(ctx: &Context, name: &str, by: &'static str) -> Result<i32, Failure> {
    let p = ctx.named_profile(name, by)?;
    let header = format!(
        "Profile '{}', fully resolved (inheritance applied). Sampling values left unset\n\
         fall through to the model's GGUF defaults, then reflect's. Fields: prompts/README.md.",
        p.name
    );
    print(&p.to_toml(&header))?;
    Ok(code::OK)
}

/// `reflect themes show [NAME]` (`--show-theme [NAME]`): without a name, the theme in effect
/// (`--theme` counts with the alias).
fn show_theme(
    ctx: &Context,
    args: &Args,
    name: Option<&str>,
    by: &'static str,
) -> Result<i32, Failure> {
    let (theme, why) = match name {
        Some(spec) => (ctx.named_theme(spec, by)?, String::new()),
        None => {
            let choice = ctx.theme_choice(&args.theme);
            let why = if choice.is_default() && ctx.env.no_color() {
                " (the theme in effect: NO_COLOR is set)"
            } else {
                " (the theme in effect)"
            };
            (ctx.theme(&args.theme)?, why.to_string())
        }
    };
    let header = format!(
        "Theme '{}'{why}, fully resolved. Keys: themes/README.md.",
        theme.name
    );
    print(&theme.to_toml(&header))?;
    Ok(code::OK)
}

/// `reflect profiles save NAME` (`--save-profile NAME`): the profile `args` resolve to, saved
/// as user profile NAME; its path on stdout.
fn save_profile(ctx: &Context, run: &RunFlags, name: &str, by: &str) -> Result<i32, Failure> {
    let p = ctx.profile_to_save_as(&run.request(), name, by)?;
    let dir = ctx.profile_dir()?;
    let saved = profile::save(dir, &p).map_err(|e| {
        Failure::runtime(format!("cannot save the profile in {}: {e}", dir.display()))
    })?;
    if saved.replaced {
        eprintln!("reflect: note: replaced the existing user profile '{name}'");
    }
    if profile::BUNDLED.iter().any(|b| b.name == name) {
        eprintln!("reflect: note: '{name}' now overrides the bundled profile of that name");
    }
    print(&format!("{}\n", saved.path.display()))?;
    Ok(code::OK)
}

/// Writes bytes to stdout, as [`print`].
fn write_bytes(bytes: &[u8]) -> Result<i32, Failure> {
    print(&String::from_utf8_lossy(bytes)).map(|_| code::OK)
}

/// Prints a listing; entries that fail to load make the exit code 2, their errors on stderr.
fn listing<T>(
    rows: &[Row<T>],
    description: impl Fn(&T) -> &str,
    active: &str,
) -> Result<i32, Failure> {
    let (text, errors) = reflect::config::listing::render(rows, description, active);
    print(&text)?;
    for e in &errors {
        eprintln!("reflect: {e}");
    }
    Ok(if errors.is_empty() {
        code::OK
    } else {
        code::USAGE
    })
}

/// Writes to stdout; a closed stdout (`| head`) is not an error.
fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::runtime(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// More stdin than this is refused unread: no context holds it, and reading it all could
/// exhaust memory.
const MAX_STDIN: u64 = 64 << 20;

/// Stdin's text when it is piped or redirected (not a terminal).
fn read_stdin() -> Result<Option<String>, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
    if bytes.len() as u64 > MAX_STDIN {
        return Err(Failure::usage(format!(
            "stdin is more than {} MiB: far too long for any model's context; pass a part of it",
            MAX_STDIN >> 20
        )));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        Failure::usage(format!(
            "stdin is not valid UTF-8 (invalid byte at offset {}); convert it first, e.g. with iconv",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn demo_model() -> Result<std::path::PathBuf, Failure> {
    let cache = dirs::cache_dir().ok_or_else(|| {
        Failure::runtime("cannot find a cache directory for the demo model; set XDG_CACHE_HOME")
    })?;
    gguf::demo::ensure_demo_model(&cache).map_err(|e| {
        Failure::runtime(format!(
            "cannot write the demo model to {}: {e}",
            gguf::demo::demo_path(&cache).display()
        ))
    })
}

fn init_logging(path: &Path) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::usage(format!("cannot open the log file {}: {e}", path.display())))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("REFLECT_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Ok(())
}
