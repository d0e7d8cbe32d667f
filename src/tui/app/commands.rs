//! Slash commands typed in the input: parsing and validation, pure. Values are checked by the
//! same functions as the command-line flags (`crate::profile`'s value parsers).
//!
//! `/profile NAME`, `/theme NAME`, `/think [on|off]`, `/set [KEY VALUE]`, `/system [TEXT|none]`,
//! `/save-profile NAME`, `/tools [on|off]`, `/retry`, `/edit`, `/queue`, `/unqueue [N|all]`, `/clear`, `/help`,
//! `/quit`. A line starting with `//` is a message
//! that starts with `/`.

use crate::config::{did_you_mean, valid_name};
use crate::profile::{parse_positive, parse_temperature, parse_unit_closed, parse_unit_open};

/// A sampling or length setting `/set` changes.
#[derive(Clone, Debug, PartialEq)]
pub enum Setting {
    Temperature(f32),
    TopP(f32),
    TopK(i32),
    MinP(f32),
    RepeatPenalty(f32),
    /// `None`: a new random seed per generation.
    Seed(Option<u32>),
    /// `None`: no limit.
    MaxTokens(Option<u32>),
}

/// What a `/command` line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Slash {
    Profile(String),
    Theme(String),
    /// `/profile` alone: list the profiles.
    ListProfiles,
    /// `/theme` alone: list the themes.
    ListThemes,
    /// `None`: toggle.
    Think(Option<bool>),
    Set(Setting),
    /// `/set` alone: show the settings.
    ShowSettings,
    /// `/tools on|off` offers the tools to the model or stops offering them; `/tools` alone
    /// (`None`) lists them with their policies.
    Tools(Option<bool>),
    /// `/budget N|off` sets the thinking budget (`Some(None)`: unlimited); alone, shows it.
    Budget(Option<Option<u32>>),
    /// `Some(Some(text))` replaces, `Some(None)` removes, `None` shows the system prompt.
    System(Option<Option<String>>),
    SaveProfile(String),
    /// Regenerate the last answer with a new seed, in its place.
    Retry,
    /// Put the last message back in the box; sending it replaces that turn and its answer.
    Edit,
    /// List the queued messages.
    Queue,
    /// Remove a queued message: its number in `/queue`'s list, `None` the last one, or all.
    Unqueue(Unqueue),
    Clear,
    Help,
    Quit,
    /// `/SERVER:PROMPT key=value …`: an MCP server's prompt fills the message box.
    McpPrompt {
        server: String,
        prompt: String,
        arguments: std::collections::BTreeMap<String, String>,
    },
}

/// Which queued messages `/unqueue` removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unqueue {
    Last,
    /// 1-based, in the order they will be sent.
    Nth(usize),
    All,
}

/// What a line typed in the input is.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    Message(String),
    Command(Slash),
    /// A malformed command: the message to show.
    Error(String),
}

/// The commands, for the help overlay and "did you mean".
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "/profile, /theme NAME",
        "apply a prompt profile / colour theme (alone: list)",
    ),
    (
        "/think on|off",
        "\"Think carefully.\" on or off (alone: toggle)",
    ),
    (
        "/set KEY VALUE",
        "temperature top_p top_k min_p repeat_penalty seed max_tokens",
    ),
    (
        "/system TEXT|none",
        "replace or remove the system prompt (alone: show)",
    ),
    (
        "/save-profile NAME",
        "save the current settings as a profile",
    ),
    (
        "/budget N|off",
        "cap the thinking at N tokens (0: none; alone: show)",
    ),
    (
        "/tools on|off, /SRV:PROMPT",
        "tools on/off (alone: list them) · an MCP prompt into the box",
    ),
    (
        "/retry, /edit",
        "answer again (new seed) · edit and resend the last message",
    ),
    ("/queue, /unqueue [N|all]", "list / remove queued messages"),
    (
        "/clear /help /quit, //text",
        "new chat · help · leave · a message that starts with /",
    ),
];

const NAMES: &[&str] = &[
    "profile",
    "theme",
    "think",
    "set",
    "system",
    "save-profile",
    "budget",
    "tools",
    "retry",
    "edit",
    "queue",
    "unqueue",
    "clear",
    "help",
    "quit",
    "exit",
];

/// The keys `/set` knows.
pub const SET_KEYS: &[&str] = crate::profile::schema::SAMPLING_KEYS;

/// Classifies a line the user sent.
pub fn parse(line: &str) -> Line {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("//") {
        return Line::Message(format!("/{rest}"));
    }
    let Some(body) = trimmed.strip_prefix('/') else {
        return Line::Message(line.to_string());
    };
    let (name, arg) = match body.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (body, ""),
    };
    match crate::mcp::prompts::parse(trimmed) {
        Some(Ok(i)) => {
            return Line::Command(Slash::McpPrompt {
                server: i.server,
                prompt: i.prompt,
                arguments: i.arguments,
            })
        }
        Some(Err(e)) => return Line::Error(format!("/{name}: {e}")),
        None => {}
    }
    match command(name, arg) {
        Ok(c) => Line::Command(c),
        Err(e) => Line::Error(e),
    }
}

fn need(arg: &str, usage: &str) -> Result<String, String> {
    if arg.is_empty() {
        Err(format!("usage: {usage}"))
    } else {
        Ok(arg.to_string())
    }
}

fn command(name: &str, arg: &str) -> Result<Slash, String> {
    let no_arg = |c: Slash| {
        if arg.is_empty() {
            Ok(c)
        } else {
            Err(format!("/{name} takes no argument"))
        }
    };
    match name {
        "profile" if arg.is_empty() => Ok(Slash::ListProfiles),
        "theme" if arg.is_empty() => Ok(Slash::ListThemes),
        "profile" => Ok(Slash::Profile(arg.to_string())),
        "theme" => Ok(Slash::Theme(arg.to_string())),
        "think" => match arg {
            "" => Ok(Slash::Think(None)),
            "on" | "yes" | "true" => Ok(Slash::Think(Some(true))),
            "off" | "no" | "false" => Ok(Slash::Think(Some(false))),
            _ => Err(format!("/think: '{arg}': use on or off")),
        },
        "tools" => match arg {
            "" => Ok(Slash::Tools(None)),
            "on" | "yes" | "true" => Ok(Slash::Tools(Some(true))),
            "off" | "no" | "false" => Ok(Slash::Tools(Some(false))),
            _ => Err(format!(
                "/tools: '{arg}': use on or off (alone, /tools lists the tools)"
            )),
        },
        "budget" => match arg {
            "" => Ok(Slash::Budget(None)),
            "off" | "none" => Ok(Slash::Budget(Some(None))),
            n => match n.parse::<u32>() {
                Ok(n) => Ok(Slash::Budget(Some(Some(n)))),
                Err(_) => Err(format!(
                    "/budget: '{n}' is not a token count: give 0 or more (0: answer without \
                     thinking), or off"
                )),
            },
        },
        "set" if arg.is_empty() => Ok(Slash::ShowSettings),
        "set" => set(arg).map(Slash::Set),
        "system" => Ok(Slash::System(match arg {
            "" => None,
            "none" => Some(None),
            text => Some(Some(text.to_string())),
        })),
        "save-profile" => {
            let name = need(arg, "/save-profile NAME")?;
            if valid_name(&name) {
                Ok(Slash::SaveProfile(name))
            } else {
                Err(format!(
                    "/save-profile: '{name}' cannot be a profile name: it must not be empty, start with '.' or hold '/' or '\\'"
                ))
            }
        }
        "retry" => no_arg(Slash::Retry),
        "edit" => no_arg(Slash::Edit),
        "queue" => no_arg(Slash::Queue),
        "unqueue" => match arg {
            "" => Ok(Slash::Unqueue(Unqueue::Last)),
            "all" => Ok(Slash::Unqueue(Unqueue::All)),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Slash::Unqueue(Unqueue::Nth(n))),
                _ => Err(format!(
                    "/unqueue: '{n}': give the number /queue shows (1 or more), or all"
                )),
            },
        },
        "clear" => no_arg(Slash::Clear),
        "help" => no_arg(Slash::Help),
        "quit" | "exit" => no_arg(Slash::Quit),
        _ => Err(format!(
            "unknown command '/{name}'{} (/help lists them)",
            did_you_mean(name, NAMES.iter().copied())
        )),
    }
}

fn set(arg: &str) -> Result<Setting, String> {
    let Some((key, value)) = arg.split_once(char::is_whitespace) else {
        return Err(format!(
            "usage: /set KEY VALUE, KEY one of {}",
            SET_KEYS.join(", ")
        ));
    };
    let key = key.replace('-', "_");
    let value = value.trim();
    let context = |e: String| format!("/set {key}: {e}");
    let whole = |v: &str| {
        v.parse::<u32>()
            .map_err(|_| format!("'{v}' is not a whole number from 0 to 4294967295"))
    };
    let none = matches!(value, "none" | "random" | "off");
    match key.as_str() {
        "temperature" | "temp" => parse_temperature(value).map(Setting::Temperature),
        "top_p" => parse_unit_open(value).map(Setting::TopP),
        "top_k" => whole(value).map(|k| Setting::TopK(k.min(i32::MAX as u32) as i32)),
        "min_p" => parse_unit_closed(value).map(Setting::MinP),
        "repeat_penalty" => parse_positive(value).map(Setting::RepeatPenalty),
        // The same words and limits as the flags (--seed random, --max-tokens none).
        "seed" if none => Ok(Setting::Seed(None)),
        "seed" => crate::profile::parse_seed(value).map(|s| Setting::Seed(Some(s))),
        "max_tokens" => crate::profile::parse_max_tokens(value).map(Setting::MaxTokens),
        _ => {
            return Err(format!(
                "/set: unknown key '{key}'{}; keys: {}",
                did_you_mean(&key, SET_KEYS.iter().copied()),
                SET_KEYS.join(", ")
            ))
        }
    }
    .map_err(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Slash {
        match parse(s) {
            Line::Command(c) => c,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> String {
        match parse(s) {
            Line::Error(e) => e,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn messages_and_escaped_slashes() {
        assert_eq!(parse("hello"), Line::Message("hello".into()));
        assert_eq!(parse("//etc/passwd?"), Line::Message("/etc/passwd?".into()));
    }

    #[test]
    fn commands() {
        let table = [
            ("/profile think", Slash::Profile("think".into())),
            ("/profile", Slash::ListProfiles),
            ("/theme ", Slash::ListThemes),
            ("  /theme  light ", Slash::Theme("light".into())),
            ("/think", Slash::Think(None)),
            ("/think on", Slash::Think(Some(true))),
            ("/think off", Slash::Think(Some(false))),
            ("/set", Slash::ShowSettings),
            (
                "/set temperature 0.2",
                Slash::Set(Setting::Temperature(0.2)),
            ),
            ("/set top-p 0.5", Slash::Set(Setting::TopP(0.5))),
            ("/set top_k 20", Slash::Set(Setting::TopK(20))),
            ("/set min_p 0", Slash::Set(Setting::MinP(0.0))),
            (
                "/set repeat_penalty 1.1",
                Slash::Set(Setting::RepeatPenalty(1.1)),
            ),
            ("/set seed 42", Slash::Set(Setting::Seed(Some(42)))),
            ("/set seed random", Slash::Set(Setting::Seed(None))),
            (
                "/set max_tokens 100",
                Slash::Set(Setting::MaxTokens(Some(100))),
            ),
            ("/set max_tokens none", Slash::Set(Setting::MaxTokens(None))),
            (
                "/system be brief",
                Slash::System(Some(Some("be brief".into()))),
            ),
            ("/system none", Slash::System(Some(None))),
            ("/system", Slash::System(None)),
            ("/save-profile cool", Slash::SaveProfile("cool".into())),
            ("/retry", Slash::Retry),
            ("/tools", Slash::Tools(None)),
            ("/tools on", Slash::Tools(Some(true))),
            ("/tools off", Slash::Tools(Some(false))),
            (
                "/every:args-prompt city=\"New York\" state=NY",
                Slash::McpPrompt {
                    server: "every".into(),
                    prompt: "args-prompt".into(),
                    arguments: [("city", "New York"), ("state", "NY")]
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .into(),
                },
            ),
            ("/budget", Slash::Budget(None)),
            ("/budget 500", Slash::Budget(Some(Some(500)))),
            ("/budget 0", Slash::Budget(Some(Some(0)))),
            ("/budget off", Slash::Budget(Some(None))),
            ("/edit", Slash::Edit),
            ("/queue", Slash::Queue),
            ("/unqueue", Slash::Unqueue(Unqueue::Last)),
            ("/unqueue 2", Slash::Unqueue(Unqueue::Nth(2))),
            ("/unqueue all", Slash::Unqueue(Unqueue::All)),
            ("/clear", Slash::Clear),
            ("/help", Slash::Help),
            ("/quit", Slash::Quit),
            ("/exit", Slash::Quit),
        ];
        for (line, want) in table {
            assert_eq!(cmd(line), want, "{line}");
        }
    }

    #[test]
    fn bad_commands_and_values_say_why() {
        let table = [
            ("/frobnicate", "unknown command '/frobnicate'"),
            ("/thnik on", "did you mean 'think'"),
            ("/think maybe", "use on or off"),
            ("/set temperature -1", "negative"),
            ("/set temperature hot", "not a number"),
            ("/set top_p 0", "outside (0, 1]"),
            ("/set top_p 1.5", "outside (0, 1]"),
            ("/set min_p 2", "outside [0, 1]"),
            ("/set repeat_penalty 0", "greater than 0"),
            ("/set top_k -3", "not a whole number"),
            ("/set seed 1.5", "not a seed"),
            ("/set max_tokens 0", "0 would never answer"),
            ("/set seed 99999999999", "not a seed"),
            ("/set max_tokens -1", "not a token count"),
            ("/set temprature 1", "did you mean 'temperature'"),
            ("/set temperature", "usage: /set KEY VALUE"),
            ("/save-profile ../x", "cannot be a profile name"),
            ("/save-profile", "usage"),
            ("/clear now", "takes no argument"),
            ("/retry 3", "takes no argument"),
            ("/budget -5", "not a token count"),
            ("/budget lots", "not a token count"),
            ("/unqueue 0", "give the number /queue shows"),
            ("/unqueue last", "give the number /queue shows"),
            ("/retyr", "did you mean 'retry'"),
            ("/tools maybe", "use on or off"),
            ("/tool on", "did you mean 'tools'"),
            (
                "/every:args-prompt Paris",
                "/every:args-prompt: 'Paris': expected key=value",
            ),
        ];
        for (line, want) in table {
            let e = err(line);
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}
