//! The command line: every flag and subcommand (clap), and the one decision of what a run does,
//! [`Args::mode`]. What a value means (a valid temperature, an output format, GPU layers) is
//! decided in `profile` and `settings`, which the chat's slash commands use too. The model,
//! profile and sampling flags ([`RunFlags`], shared with `eval`) become a plain
//! `settings::Request`, which `settings` resolves with the environment, config.toml, profiles
//! and model defaults; `settings` never sees [`Args`].
//!
//! Management lives under subcommands (`reflect sessions list`); the flags they replace
//! (`--sessions`, `--export`, `--list-profiles`, …) still work, hidden from `--help`, and lead
//! to the same [`Mode`]s. A subcommand is recognised only as the first word: any other first
//! word starts the prompt, `reflect -- sessions` asks the word, and a subcommand written after
//! options is a usage error that shows the right order (`order`).

mod eval;
mod man;
mod order;
mod run_flags;
mod serve;
mod tool_flags;
pub use eval::EvalArgs;
pub use run_flags::RunFlags;
pub use serve::ServeArgs;
pub use tool_flags::ToolArgs;

use crate::exit::Failure;
use crate::pipe::Format;
use crate::session::age::parse_age;
use clap::{ArgAction, ArgGroup, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use std::path::PathBuf;
use std::time::Duration;

/// A terminal app for local reasoning models (Reflection-Llama-3.1 and friends) through llama.cpp.
///
/// Asks the model the PROMPT and prints only the answer (the <output> section) on stdout; the
/// model's thinking and reflections with --show-thinking on stderr. Without a prompt, in a
/// terminal, it opens the full-screen chat.
#[derive(Clone, Debug, Parser)]
#[command(name = "reflect", version, long_about = None)]
#[command(
    about = "A terminal app for local reasoning models (Reflection-Llama-3.1 and friends) through llama.cpp",
    args_conflicts_with_subcommands = true,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    after_long_help = LONG_FOOTER
)]
#[command(group(ArgGroup::new("info").multiple(false)))]
pub struct Args {
    /// Manage sessions, profiles and themes; shell completions; the man page.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The question. With text on stdin too, the prompt is stdin, a blank line, then this.
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,

    /// The model, profile and sampling flags, shared with `eval`.
    #[command(flatten)]
    pub run: RunFlags,

    /// What the model may call, and what runs without asking.
    #[command(flatten)]
    pub tools: ToolArgs,

    /// Also write the thinking and reflections to stderr.
    #[arg(long, help_heading = "Output")]
    pub show_thinking: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,

    /// Print the fully rendered prompt (with the earlier turns of --continue / --session, as
    /// the profile's history policy keeps them) and exit without generating.
    #[arg(long, hide_short_help = true, help_heading = "Output")]
    pub print_prompt: bool,

    /// Write the model's text as-is even when stdout is a terminal (by default escape
    /// sequences and control characters are shown neutralised there; files and pipes always
    /// get it as-is).
    #[arg(long, hide_short_help = true, help_heading = "Output")]
    pub raw: bool,

    /// Ask a follow-up in the most recently updated saved session
    ///
    /// In pipe mode; without a question, in a terminal, it opens the chat on that session.
    /// Without -m (or --endpoint, --hf, --demo) it uses the session's model.
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["session", "resume"], help_heading = "Sessions")]
    pub continue_latest: bool,

    /// Ask a follow-up in saved session ID (an id from `reflect sessions list`, or its unique
    /// start), on the session's model unless -m names another.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "resume",
        hide_short_help = true,
        help_heading = "Sessions"
    )]
    pub session: Option<String>,

    /// Open a saved session (default: the latest) in the chat
    ///
    /// [default: the most recent one].
    #[arg(
        long,
        value_name = "ID",
        hide_short_help = true,
        help_heading = "Sessions"
    )]
    pub resume: Option<Option<String>>,

    /// Do not save this conversation (sessions are saved after every finished turn in
    /// $XDG_DATA_HOME/reflect/sessions, or REFLECT_DATA_DIR/sessions).
    #[arg(long, hide_short_help = true, help_heading = "Sessions")]
    pub no_save: bool,

    /// TUI theme: a name (see `reflect themes list`) or a path to a .toml file [default: dark;
    /// monochrome when NO_COLOR is set] [env: REFLECT_THEME] [config: theme].
    #[arg(
        long,
        value_name = "NAME|PATH",
        hide_short_help = true,
        help_heading = "Chat"
    )]
    pub theme: Option<String>,

    /// Write llama.cpp's and reflect's logs to this file.
    #[arg(
        long,
        env = crate::settings::var::LOG,
        value_name = "PATH",
        hide_env_values = true,
        hide_short_help = true,
        help_heading = "Other"
    )]
    pub log_file: Option<PathBuf>,

    /// Print a one-screen help (--help: all of it).
    #[arg(short = 'h', action = ArgAction::SetTrue, hide_short_help = true, help_heading = "Other")]
    pub short_help: bool,

    /// Print all of the help: every option, command and exit code.
    #[arg(long = "help", action = ArgAction::HelpLong, help_heading = "Other")]
    help: Option<bool>,

    /// Print the version.
    #[arg(short = 'V', long = "version", action = ArgAction::Version, hide_short_help = true, help_heading = "Other")]
    version: Option<bool>,

    // The flags that `reflect sessions`, `profiles` and `themes` replaced: hidden aliases.
    /// = `reflect sessions list`.
    #[arg(long, group = "info", hide = true)]
    pub sessions: bool,

    /// = `reflect sessions export ID`, its format from --format json or a .json --to.
    #[arg(long, value_name = "ID", group = "info", hide = true)]
    pub export: Option<String>,

    /// Where --export writes: a file, or - for stdout.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "-",
        requires = "export",
        hide = true
    )]
    pub to: PathBuf,

    /// = `reflect profiles list`.
    #[arg(long, group = "info", hide = true)]
    pub list_profiles: bool,

    /// = `reflect profiles show NAME`.
    #[arg(long, value_name = "NAME|PATH", group = "info", hide = true)]
    pub show_profile: Option<String>,

    /// = `reflect profiles save NAME`, with --profile and the profile flags given.
    #[arg(long, value_name = "NAME", group = "info", hide = true)]
    pub save_profile: Option<String>,

    /// = `reflect themes list`, `*` marking the theme in effect (--theme counts).
    #[arg(long, group = "info", hide = true)]
    pub list_themes: bool,

    /// = `reflect themes show [NAME]`, the theme in effect (--theme counts) without NAME.
    #[arg(long, value_name = "NAME|PATH", group = "info", hide = true)]
    pub show_theme: Option<Option<String>>,
}

/// The flags that act at the profile level: what a saved profile holds. Shared by the main
/// command and `reflect profiles save`.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
#[command(next_help_heading = "Prompt and sampling")]
pub struct ProfileFlags {
    /// Stop after N generated tokens; "none" lifts the profile's limit
    ///
    /// [default: the profile's, else no limit].
    #[arg(long, value_name = "N|none", value_parser = parse_max_tokens)]
    pub max_tokens: Option<MaxTokens>,

    /// Thinking tokens allowed before the answer is forced; 0 answers without thinking, "none"
    /// lifts the profile's budget
    ///
    /// [default: the profile's, else no limit] [env: REFLECT_THINK_BUDGET]
    /// [config: thinking_budget].
    #[arg(long, value_name = "N|none", value_parser = parse_think_budget, allow_negative_numbers = true, hide_short_help = true)]
    pub think_budget: Option<TokenLimit>,

    /// Thinking that ends before N tokens is extended with the profile's extend_message
    /// ("Wait,"), at most max_extensions times; "none" lifts the profile's minimum
    ///
    /// [default: the profile's, else none] [env: REFLECT_MIN_THINK] [config: min_thinking].
    #[arg(long, value_name = "N|none", value_parser = parse_min_think, allow_negative_numbers = true, hide_short_help = true)]
    pub min_think: Option<TokenLimit>,

    /// Sampling temperature; 0 means greedy
    ///
    /// [default: the profile's, else the model file's, else 0.7].
    #[arg(long, value_name = "T", value_parser = crate::profile::parse_temperature, allow_negative_numbers = true)]
    pub temperature: Option<f32>,

    /// Nucleus sampling threshold, in (0, 1] [default: the profile's, else the model file's, else
    /// 0.95].
    #[arg(long, value_name = "P", value_parser = crate::profile::parse_unit_open, allow_negative_numbers = true, hide_short_help = true)]
    pub top_p: Option<f32>,

    /// Keep only the K most likely tokens; 0 disables [default: the profile's, else the model
    /// file's, else 40].
    #[arg(long, value_name = "K", hide_short_help = true)]
    pub top_k: Option<u32>,

    /// Minimum probability relative to the most likely token, in [0, 1] [default: the profile's,
    /// else the model file's, else 0.05].
    #[arg(long, value_name = "P", value_parser = crate::profile::parse_unit_closed, allow_negative_numbers = true, hide_short_help = true)]
    pub min_p: Option<f32>,

    /// Repetition penalty; 1 disables [default: the profile's, else the model file's, else 1.0].
    #[arg(long, value_name = "X", value_parser = crate::profile::parse_positive, allow_negative_numbers = true, hide_short_help = true)]
    pub repeat_penalty: Option<f32>,

    /// Random seed, for reproducible sampling; "random" draws one [default: the profile's, else
    /// the model file's, else random].
    #[arg(long, value_name = "N|random", value_parser = parse_seed, hide_short_help = true)]
    pub seed: Option<u32>,

    /// Append "Think carefully." to the question (the model card's advice) [default: the
    /// profile's; on for reflection].
    #[arg(long, overrides_with = "no_think_carefully", hide_short_help = true)]
    pub think_carefully: bool,

    /// Do not append "Think carefully.".
    #[arg(long, overrides_with = "think_carefully", hide_short_help = true)]
    pub no_think_carefully: bool,

    /// Replace the system prompt [default: the profile's; the Reflection model card's].
    #[arg(long, value_name = "TEXT", hide_short_help = true)]
    pub system: Option<String>,
}

/// The subcommands: everything that manages reflect's files or describes reflect, answered
/// without a model.
#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum Command {
    /// List, show, export and delete saved sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// List, show and save prompt profiles.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// List and show the chat's themes.
    #[command(subcommand)]
    Themes(ThemesCommand),
    /// Describe model files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Check the MCP servers of mcp.json (config directory) and a trusted project .mcp.json.
    #[command(subcommand, after_help = MCP_FOOTER)]
    Mcp(McpCommand),
    /// Measure the model on your own questions, judged on the answer alone.
    #[command(after_help = EVAL_FOOTER)]
    Eval(Box<EvalArgs>),
    /// Serve the model over an OpenAI-compatible HTTP API, thinking, reflections and answer
    /// split into their own fields.
    #[command(after_help = SERVE_FOOTER)]
    Serve(Box<ServeArgs>),
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Install, e.g.: reflect completions bash > ~/.local/share/bash-completion/completions/reflect\n\
                      (zsh: a file named _reflect in a directory of $fpath; fish: ~/.config/fish/completions/reflect.fish)"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff) on stdout.
    #[command(
        after_help = "Install, e.g.: reflect man > ~/.local/share/man/man1/reflect.1 (then: man reflect)"
    )]
    Man,
}

#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum SessionsCommand {
    /// List the saved sessions: id, last update, turns, model, title.
    List,
    /// Print saved session ID as Markdown.
    Show {
        /// A session id, or its unique start.
        id: String,
        /// Write the text as-is even when stdout is a terminal.
        #[arg(long)]
        raw: bool,
    },
    /// Export saved session ID as Markdown or JSON, to stdout or a file.
    Export {
        /// A session id, or its unique start.
        id: String,
        /// Where to write: a file (in a directory that exists; made private, 0600), or -
        /// for stdout.
        #[arg(long, value_name = "PATH|-", default_value = "-")]
        to: PathBuf,
        /// The format [default: json for a .json file, else md].
        #[arg(long, value_enum)]
        format: Option<ExportAs>,
        /// Write the text as-is even when stdout is a terminal.
        #[arg(long)]
        raw: bool,
    },
    /// Delete saved session ID (also one whose file does not read back).
    Rm {
        /// A session id, or its unique start.
        id: String,
    },
    /// Delete the sessions last updated longer ago than a duration.
    Prune {
        /// How long ago: a whole number and h, d or w (hours, days, weeks), e.g. 30d.
        #[arg(long, value_name = "DURATION", value_parser = parse_age)]
        older_than: Duration,
    },
}

/// The formats of `reflect sessions export --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportAs {
    /// Markdown, for people.
    Md,
    /// The session file's JSON, for programs.
    Json,
}

#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum ProfilesCommand {
    /// List the prompt profiles: name, source, description; `*` marks the one in effect.
    List,
    /// Print a profile, fully resolved (inheritance applied), as TOML.
    Show {
        /// A profile name or a path to a .toml file.
        #[arg(value_name = "NAME|PATH")]
        name: String,
    },
    /// Save a profile with the flags given applied, as user profile NAME; print its path.
    Save {
        /// The new profile's name.
        name: String,
        /// The profile to start from [default: the one in effect].
        #[arg(long, value_name = "NAME|PATH")]
        profile: Option<String>,
        #[command(flatten)]
        flags: ProfileFlags,
    },
}

#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum ThemesCommand {
    /// List the themes: name, source, description; `*` marks the one in effect.
    List,
    /// Print a theme, fully resolved, as TOML [default: the theme in effect].
    Show {
        /// A theme name or a path to a .toml file.
        #[arg(value_name = "NAME|PATH")]
        name: Option<String>,
    },
}

/// The end of `reflect mcp --help`.
const MCP_FOOTER: &str = "Configuration (the shape other MCP clients use): {\"mcpServers\": {\"NAME\": {\"command\": \"...\", \"args\": [...], \"env\": {...}}}}\n\
    or {\"url\": \"https://...\", \"headers\": {...}} for HTTP; optional startup_timeout_sec, tool_timeout_sec.\n\
    A server's tools are named NAME__TOOL. A project's .mcp.json starts nothing until `reflect mcp trust`.";

#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum McpCommand {
    /// Start each server and list it: started or why not, protocol version, tools, prompts.
    List,
    /// Call one tool directly and print its result (exit 1 when the tool or its server
    /// failed, 2 for an unknown tool or bad JSON).
    Call {
        /// The tool as offered to the model: SERVER__TOOL.
        #[arg(value_name = "SERVER__TOOL")]
        tool: String,
        /// Its arguments, a JSON object [default: {}].
        #[arg(value_name = "JSON", default_value = "{}")]
        arguments: String,
        /// Time limit in seconds [default: the server's tool_timeout_sec, else 120].
        #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
        timeout: Option<Duration>,
    },
    /// Trust the project's .mcp.json as it is now, so its servers may start.
    Trust,
}

fn parse_seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{v}' is not a number of seconds above 0"))
}

#[derive(Clone, Debug, PartialEq, Subcommand)]
pub enum ModelsCommand {
    /// What a GGUF model is: architecture, parameters, quantisation, training context, size,
    /// chat template, reasoning tags as tokens, the memory it needs and the profile that fits.
    /// Reads the vocabulary only, not the weights (a Hugging Face model is downloaded first).
    Info {
        /// A GGUF file, or a Hugging Face model ORG/REPO[:QUANT].
        #[arg(value_name = "FILE|ORG/REPO[:QUANT]")]
        model: String,
    },
    /// Download a GGUF model from Hugging Face into the Hugging Face cache (resumes an
    /// interrupted download); print its path.
    Pull {
        /// ORG/REPO[:QUANT]; without QUANT, Q4_K_M, else the largest that fits in memory.
        #[arg(value_name = "ORG/REPO[:QUANT]")]
        model: String,
    },
    /// List the GGUF models in the Hugging Face cache: repository, quantisation, size, last
    /// use, path.
    List,
    /// Remove a model from the Hugging Face cache (every part of a split one).
    Rm {
        /// ORG/REPO:QUANT (ORG/REPO alone when only one quantisation of it is cached).
        #[arg(value_name = "ORG/REPO[:QUANT]")]
        model: String,
    },
}

/// What a run does: decided in one place, [`Args::mode`], from the flags and whether stdin and
/// stdout are terminals.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The full-screen chat.
    Chat,
    /// Ask one question; the answer on stdout.
    Ask,
    /// Print the rendered prompt and exit, generating nothing.
    PrintPrompt,
    /// The one-screen help of `-h`.
    ShortHelp,
    ListSessions,
    McpList,
    McpCall {
        tool: String,
        arguments: String,
        timeout: Option<Duration>,
    },
    McpTrust,
    ShowSession {
        id: String,
        raw: bool,
    },
    ExportSession {
        id: String,
        to: PathBuf,
        /// JSON asked for; otherwise the file name decides.
        json: bool,
        raw: bool,
    },
    RemoveSession {
        id: String,
    },
    PruneSessions {
        older_than: Duration,
    },
    /// `--profile`'s choice counts for the `*`.
    ListProfiles,
    ShowProfile {
        name: String,
        /// What the user typed, for errors: `--show-profile` or `profiles show`.
        by: &'static str,
    },
    SaveProfile {
        name: String,
        /// The profile to start from and the profile flags given; no model.
        run: Box<RunFlags>,
        /// What the user typed, for errors: `--save-profile` or `profiles save`.
        by: &'static str,
    },
    ListThemes,
    /// `None`: the theme in effect.
    ShowTheme {
        name: Option<String>,
        by: &'static str,
    },
    Completions(Shell),
    Man,
    ModelInfo {
        model: String,
    },
    ModelPull {
        model: String,
    },
    ModelList,
    ModelRemove {
        model: String,
    },
    /// `reflect eval FILE`.
    Eval(Box<EvalArgs>),
    /// `reflect serve`.
    Serve(Box<ServeArgs>),
}

impl Args {
    /// The request the model, profile, sampling and tool flags make (see
    /// [`RunFlags::request`]).
    pub fn request(&self) -> crate::settings::Request {
        crate::settings::Request {
            tools: self.tools.flags(),
            ..self.run.request()
        }
    }

    /// Parses the process's arguments; on a mistake (or --help, --version) prints clap's
    /// message and exits (2 for a usage error, 0 for help).
    pub fn parse_process() -> Args {
        Args::try_parse_line(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the first is the program's name) as [`Args::parse_process`] does.
    pub fn try_parse_line<I, T>(args: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let raw: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let cmd = Args::command_line();
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        let parses = |words: &[std::ffi::OsString]| cmd.clone().try_get_matches_from(words).is_ok();
        let misplaced = |found: order::Misplaced| {
            let shown = [&found.reordered, &found.alone]
                .into_iter()
                .find(|words| parses(words))
                .map(Vec::as_slice);
            cmd.clone().error(
                clap::error::ErrorKind::InvalidSubcommand,
                order::message(&found, &raw, shown),
            )
        };
        let parsed = cmd
            .clone()
            .try_get_matches_from(&raw)
            .and_then(|m| Args::from_arg_matches(&m));
        match parsed {
            // `reflect -m x eval q.jsonl`: the command's name taken for the prompt's first word.
            Ok(args)
                if args.command.is_none()
                    && args.prompt.first().is_some_and(|w| names.contains(w))
                    && !order::prompt_after_dashes(&raw, args.prompt.len()) =>
            {
                let first = &args.prompt[0];
                let found = order::misplaced_commands(&raw, &names).find(|f| &f.command == first);
                Err(found.map_or_else(
                    || {
                        cmd.clone().error(
                            clap::error::ErrorKind::InvalidSubcommand,
                            format!("'{first}' is a command: put it first"),
                        )
                    },
                    misplaced,
                ))
            }
            Ok(args) => Ok(args),
            // `reflect -m x eval q.jsonl --out r.jsonl`: the command's own options refused.
            Err(e)
                if !matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) =>
            {
                let found = order::misplaced_commands(&raw, &names).find(|f| parses(&f.reordered));
                Err(found.map_or(e, misplaced))
            }
            Err(e) => Err(e),
        }
    }

    /// The whole command line as clap sees it, with the short help's footer, which names
    /// every subcommand: what `--help`, completions and the man page are made from.
    pub fn command_line() -> clap::Command {
        let cmd = Args::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        let footer = format!(
            "Commands: {} (COMMAND --help)\n\n{SHORT_EXAMPLES}",
            names.join(", ")
        );
        with_help_flags(cmd.after_help(footer))
    }

    /// The one-screen help of `-h`: usage, the most used options, the commands, examples.
    pub fn short_help() -> String {
        Args::command_line()
            .help_template(SHORT_TEMPLATE)
            .render_help()
            .to_string()
    }

    /// What this run does. The one place that decides: the subcommand, else a hidden alias
    /// flag, else the chat (no prompt, nothing asked of stdout, terminals on both ends), else
    /// asking. A usage mistake (a combination that would be ignored) is an error.
    pub fn mode(&self, stdin_is_tty: bool, stdout_is_tty: bool) -> Result<Mode, Failure> {
        if self.short_help {
            return Ok(Mode::ShortHelp);
        }
        if let Some(command) = &self.command {
            return Ok(command.mode(None));
        }
        let managed = self
            .alias_command()
            .map(|(command, flag)| command.mode(Some(flag)));
        if managed.is_none()
            && self.prompt.is_empty()
            && !self.print_prompt
            && self.format == Format::Text
            && stdin_is_tty
            && stdout_is_tty
        {
            return Ok(Mode::Chat);
        }
        if self.resume.is_some() {
            return Err(Failure::usage(
                "--resume opens the full-screen chat, which needs a terminal and no prompt; in scripts use --session ID (or --continue) with a question",
            ));
        }
        if self.export.is_some() && self.format == Format::Jsonl {
            return Err(Failure::usage(
                "--export writes Markdown or JSON: use --format json (or --to FILE.json), not jsonl",
            ));
        }
        if let Some(name) = &self.save_profile {
            if !self.prompt.is_empty() {
                return Err(Failure::usage(format!(
                    "--save-profile {name} saves the settings and asks nothing: ask the question in a second command (reflect --profile {name} \"…\")"
                )));
            }
        }
        if let Some(mode) = managed {
            return Ok(mode);
        }
        Ok(if self.print_prompt {
            Mode::PrintPrompt
        } else {
            Mode::Ask
        })
    }

    /// The subcommand a hidden alias flag (`--sessions`, `--list-profiles`, …) stands for, and
    /// the flag, which errors name: the only list of the aliases, so that a new one cannot open
    /// the chat by mistake, and the one way from an alias to its [`Mode`] (through the
    /// subcommand's).
    fn alias_command(&self) -> Option<(Command, &'static str)> {
        use {Command as C, ProfilesCommand as P, SessionsCommand as S, ThemesCommand as T};
        let export = |id| S::Export {
            id,
            to: self.to.clone(),
            format: (self.format == Format::Json).then_some(ExportAs::Json),
            raw: self.raw,
        };
        let save = |name| P::Save {
            name,
            profile: self.run.profile.clone(),
            flags: self.run.profile_flags.clone(),
        };
        let aliases = [
            self.list_profiles
                .then_some((C::Profiles(P::List), "--list-profiles")),
            self.list_themes
                .then_some((C::Themes(T::List), "--list-themes")),
            (self.show_profile.clone())
                .map(|name| (C::Profiles(P::Show { name }), "--show-profile")),
            (self.show_theme.clone()).map(|name| (C::Themes(T::Show { name }), "--show-theme")),
            (self.save_profile.clone()).map(|name| (C::Profiles(save(name)), "--save-profile")),
            self.sessions
                .then_some((C::Sessions(S::List), "--sessions")),
            (self.export.clone()).map(|id| (C::Sessions(export(id)), "--export")),
        ];
        aliases.into_iter().flatten().next()
    }
}

impl Command {
    /// What the subcommand does; `alias`: the hidden flag it was given as, for errors.
    fn mode(&self, alias: Option<&'static str>) -> Mode {
        match self.clone() {
            Command::Sessions(c) => match c {
                SessionsCommand::List => Mode::ListSessions,
                SessionsCommand::Show { id, raw } => Mode::ShowSession { id, raw },
                SessionsCommand::Export {
                    id,
                    to,
                    format,
                    raw,
                } => Mode::ExportSession {
                    id,
                    to,
                    json: format == Some(ExportAs::Json),
                    raw,
                },
                SessionsCommand::Rm { id } => Mode::RemoveSession { id },
                SessionsCommand::Prune { older_than } => Mode::PruneSessions { older_than },
            },
            Command::Profiles(c) => match c {
                ProfilesCommand::List => Mode::ListProfiles,
                ProfilesCommand::Show { name } => Mode::ShowProfile {
                    name,
                    by: alias.unwrap_or("profiles show"),
                },
                ProfilesCommand::Save {
                    name,
                    profile,
                    flags,
                } => Mode::SaveProfile {
                    name,
                    run: Box::new(RunFlags {
                        profile,
                        profile_flags: flags,
                        ..RunFlags::default()
                    }),
                    by: alias.unwrap_or("profiles save"),
                },
            },
            Command::Themes(c) => match c {
                ThemesCommand::List => Mode::ListThemes,
                ThemesCommand::Show { name } => Mode::ShowTheme {
                    name,
                    by: alias.unwrap_or("themes show"),
                },
            },
            Command::Models(c) => match c {
                ModelsCommand::Info { model } => Mode::ModelInfo { model },
                ModelsCommand::Pull { model } => Mode::ModelPull { model },
                ModelsCommand::List => Mode::ModelList,
                ModelsCommand::Rm { model } => Mode::ModelRemove { model },
            },
            Command::Mcp(c) => match c {
                McpCommand::List => Mode::McpList,
                McpCommand::Call {
                    tool,
                    arguments,
                    timeout,
                } => Mode::McpCall {
                    tool,
                    arguments,
                    timeout,
                },
                McpCommand::Trust => Mode::McpTrust,
            },
            Command::Eval(e) => Mode::Eval(e),
            Command::Serve(s) => Mode::Serve(s),
            Command::Completions { shell } => Mode::Completions(shell),
            Command::Man => Mode::Man,
        }
    }
}

/// The main command takes `-h` itself (for its one-screen help), which turns clap's help flag
/// off in every subcommand too: they get it back here, `-h` short and `--help` long.
fn with_help_flags(cmd: clap::Command) -> clap::Command {
    cmd.mut_subcommands(|sub| {
        with_help_flags(
            sub.arg(
                clap::Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(ArgAction::Help)
                    .help("Print help (see more with '--help')")
                    .long_help("Print help (see a summary with '-h')"),
            ),
        )
    })
}

/// The shell completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command_line(), "reflect", &mut out);
    out
}

/// The man page, roff: one page, reflect(1), that describes the commands too.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    man::man_page(Args::command_line())
}

/// `-h`: no argument headings, only the options not hidden from the short help.
const SHORT_TEMPLATE: &str =
    "{about-with-newline}\n{usage-heading} {usage}\n\nOptions:\n{options}{after-help}";

const SHORT_EXAMPLES: &str = "Examples:
  reflect -m model.gguf                          open the full-screen chat
  reflect -m model.gguf \"why is the sky blue?\"   ask; the answer on stdout
  git diff | reflect -c \"and this change?\"       a follow-up in the last session";

const LONG_FOOTER: &str = "Examples:
  reflect -m model.gguf                          open the full-screen chat
  reflect -m model.gguf \"why is the sky blue?\"   ask; the answer on stdout
  reflect --hf ORG/REPO-GGUF:Q4_K_M              chat with a model from Hugging Face
  git diff | reflect -c \"and this change?\"       a follow-up in the last session
  reflect sessions export ID --to chat.md        a saved session as Markdown
  reflect -- sessions                            ask the word \"sessions\"

A subcommand is only recognised as the first word, before the options; any other first word \
starts the prompt.

Exit codes: 0 answered, 1 runtime failure (model cannot load, decode failed, server \
unreachable or failing, stream cut; a download that failed: no network, a full disk, a file \
that did not match its sha256), 2 usage or configuration error (also: a session that cannot \
be found or read, a refused API key, an unknown model, a prompt the context cannot hold; a \
Hugging Face repository, file or quantisation that does not exist, one you may not access, or \
one not cached with HF_HUB_OFFLINE set), 3 the model produced no answer (also: --max-steps \
stopped a model that kept calling tools), 130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP.";

const EVAL_FOOTER: &str = "Examples:
  reflect eval prompts/eval/sample.jsonl -m model.gguf --out results.jsonl
  reflect eval questions.jsonl -m model.gguf --compare think-carefully
  reflect eval questions.jsonl --endpoint http://gpu:8000/v1 --profiles reflection,plain --parallel 8

Exit codes: 0 every question was run and judged (wrong answers included), 1 runtime failure \
(model cannot load, decode failed, server unreachable; what was finished is kept), 2 usage or \
configuration error (also: a question file with bad lines, all listed, nothing run), \
130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP (finished lines kept; --resume goes on).";

const SERVE_FOOTER: &str = "Examples:
  reflect serve -m model.gguf --parallel 4
  reflect serve --hf ORG/REPO:Q4_K_M --host 0.0.0.0 --port 8000 --api-key \"$KEY\"

Endpoints: POST /v1/chat/completions (streamed or not), GET /v1/models, GET /health (503 while \
the model loads, then 200). Thinking streams as delta.reasoning_content and delta.reasoning, \
each reflection also as delta.reflection, the answer as delta.content. Per request: \
temperature, top_p, top_k, min_p, seed, max_tokens, stop, tools, thinking_budget_tokens, \
reasoning_format \"raw\" (the model's text untouched in content).

Exit codes: 0 stopped by SIGINT / SIGTERM (running requests get 5 s to finish), 1 the model \
could not load or the port could not be bound, 2 usage or configuration error.";

/// `--max-tokens`: a limit, or none (which lifts a profile's limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxTokens(pub Option<u32>);

fn parse_max_tokens(s: &str) -> Result<MaxTokens, String> {
    crate::profile::parse_max_tokens(s).map(MaxTokens)
}

/// `--think-budget`, `--min-think`: a number of tokens, or none (which lifts a profile's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimit(pub Option<u32>);

fn parse_think_budget(s: &str) -> Result<TokenLimit, String> {
    crate::profile::parse_think_budget(s).map(TokenLimit)
}

fn parse_min_think(s: &str) -> Result<TokenLimit, String> {
    crate::profile::parse_min_think(s).map(TokenLimit)
}

fn parse_seed(s: &str) -> Result<u32, String> {
    crate::profile::parse_seed(s)
}

#[cfg(test)]
mod tests;
