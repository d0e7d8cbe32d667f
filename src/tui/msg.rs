//! The TUI's vocabulary: messages into the state reducer and effects out of it. The reducer is
//! pure; the runtime turns effects into I/O (engine commands, clipboard, files) and feeds the
//! results back as messages.

use crate::engine::BackendConfig;
use crate::llm::{Command, EngineEvent};
use crate::profile::Profile;
use crate::settings::RunSettings;
use crate::theme::Theme;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};

/// Everything that can change the app's state.
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    /// Plain characters that arrived together as keys (typed faster than a person types: a
    /// paste without bracketed paste, `tmux send-keys`): the state ends as after those keys
    /// one by one, but a run of them goes into the message box in one insertion.
    Typed(String),
    Mouse(MouseEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    Engine(EngineEvent),
    /// Where the model's download stands (`--hf` naming a file not in the cache).
    Download(crate::hub::Progress),
    /// The download ended: the settings made from the file (the engine starts on them), or
    /// why there is no model.
    Downloaded(Result<Box<RunSettings>, String>),
    /// Answer to `Effect::LoadProfile`: the profile, or a message to show.
    ProfileLoaded(Result<Profile, String>),
    /// Answer to `Effect::LoadTheme`.
    ThemeLoaded(Result<Theme, String>),
    /// A one-line notice from the runtime (e.g. "saved profile cool to …", or an error text).
    Notice {
        text: String,
        error: bool,
    },
    /// The process was asked to stop (SIGTERM / SIGHUP): save what must be saved, then quit.
    Terminate,
    /// Answer to `Effect::PreviewTool`: what the approval prompt shows of call `id`.
    ToolPreview {
        id: String,
        text: String,
    },
    /// Answer to `Effect::ArmApproval`: the prompt of call `id` was quiet for the moment asked.
    ApprovalArmed {
        id: String,
        seq: u32,
    },
    /// Call `id` has run this long so far (sent about once a second while it runs).
    ToolProgress {
        id: String,
        elapsed_ms: u64,
    },
    /// Call `id` ended (ran, failed, or was stopped): what goes back to the model.
    ToolDone {
        id: String,
        outcome: crate::tools::Outcome,
        elapsed_ms: u64,
    },
    /// Where the MCP servers stand: once they started, and after each call of theirs.
    Mcp(super::mcp_state::McpUpdate),
    /// Answer to `Effect::McpPrompt`: the prompt's text for the message box, or why not.
    McpPrompt(Result<String, String>),
}

/// What the reducer asks the runtime to do.
pub enum Effect {
    /// Start the engine on this config (the model was downloaded first).
    StartEngine(BackendConfig),
    /// Send a command to the engine (Generate, RenderPrompt, …).
    Engine(Command),
    /// Cancel generation `id` (and any earlier one).
    Cancel(u64),
    /// End generation `id`'s thinking and answer now.
    AnswerNow(u64),
    /// Put text on the system clipboard (OSC 52, so it works over SSH).
    Copy(String),
    /// Look up a profile by name or path; answered by `Msg::ProfileLoaded`.
    LoadProfile(String),
    /// Look up a theme by name or path; answered by `Msg::ThemeLoaded`.
    LoadTheme(String),
    /// List the profiles / themes there are, as a notice.
    ListProfiles,
    ListThemes,
    /// Save a profile in the user's profile directory; answered by `Msg::Notice`.
    SaveProfile(Profile),
    /// A turn finished: save the session.
    SaveSession,
    /// Keep a typed prompt for later runs.
    RememberPrompt(String),
    /// The conversation was cleared: save these, its turns, one last time; later saves go to
    /// a new session.
    NewSession(Vec<crate::conversation::Turn>),
    /// Compute what the approval prompt shows of a call (the diff of an edit reads the file);
    /// answered by `Msg::ToolPreview`.
    PreviewTool {
        call: crate::tools::ToolCall,
        workspace: std::path::PathBuf,
    },
    /// Answer `Msg::ApprovalArmed` after `tool_flow::ARM_DELAY`.
    ArmApproval {
        id: String,
        seq: u32,
    },
    /// Run a call off the UI thread; answered by `Msg::ToolProgress` and `Msg::ToolDone`.
    RunTool {
        call: crate::tools::ToolCall,
        workspace: std::path::PathBuf,
    },
    /// Stop the running tool (its whole process group).
    CancelTool,
    /// Start the MCP servers of mcp.json and a trusted project file in `workspace`, in the
    /// background; answered by `Msg::Mcp` (and notices: a broken file, an untrusted one).
    StartMcp {
        workspace: std::path::PathBuf,
    },
    /// Get an MCP server's prompt (off the UI thread); answered by `Msg::McpPrompt`.
    McpPrompt {
        server: String,
        prompt: String,
        arguments: std::collections::BTreeMap<String, String>,
    },
    /// Leave the app (the runtime saves the session and restores the terminal).
    Quit,
}
