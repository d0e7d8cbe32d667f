//! The man page, reflect(1): clap_mangen's title, description and options, with a synopsis
//! that shows every option with its value and one line per command, and a COMMANDS section
//! that describes the commands on this page (there are no reflect-COMMAND(1) pages to point to).

use clap::{Arg, ArgAction, Command};

/// The man page, roff.
pub fn man_page(cmd: Command) -> std::io::Result<Vec<u8>> {
    let mut cmd = cmd;
    cmd.build();
    let footer = cmd.get_after_long_help().map(|s| s.to_string());
    let forms = command_forms(&cmd);
    let mut synopsis = vec![form(&cmd, "reflect", true)];
    synopsis.extend(forms.iter().map(|f| f.usage.clone()));
    let source = format!("reflect {}", cmd.get_version().unwrap_or_default());
    // The subcommands are hidden from clap_mangen, which would point to reflect-COMMAND(1)
    // pages; the version and the footer come after the COMMANDS section, below.
    let shown = cmd
        .override_usage(synopsis.join("\n"))
        .mut_subcommands(|s| s.hide(true))
        .after_help(None::<&str>)
        .after_long_help(None::<&str>)
        .version(None::<&str>);
    let mut out = Vec::new();
    clap_mangen::Man::new(shown)
        .source(source.clone())
        .render(&mut out)?;
    let mut page = String::from_utf8_lossy(&out).into_owned();
    page.push_str(&commands_section(&forms));
    page.push_str(&footer_sections(footer.as_deref().unwrap_or_default()));
    page.push_str(&format!(".SH VERSION\n{}\n", escape(&source)));
    Ok(page.into_bytes())
}

/// A command that does something (`reflect sessions list`, not `reflect sessions`).
struct Form {
    /// Its synopsis line, every option with its value.
    usage: String,
    /// Its name and operands, for the COMMANDS section's heading.
    short: String,
    about: String,
}

/// Every command that does something, in clap's order.
fn command_forms(cmd: &Command) -> Vec<Form> {
    fn walk(cmd: &Command, path: &str, out: &mut Vec<Form>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let path = format!("{path} {}", sub.get_name());
            if sub.has_subcommands() {
                walk(sub, &path, out);
            } else {
                let about = sub
                    .get_about()
                    .or_else(|| sub.get_long_about())
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                out.push(Form {
                    usage: form(sub, &path, true),
                    short: form(sub, &path, false),
                    about,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(cmd, "reflect", &mut out);
    out
}

/// One synopsis line: `path`, the options (with their values; only the required ones unless
/// `options` says so), then the positionals.
fn form(cmd: &Command, path: &str, options: bool) -> String {
    let args = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version");
    let (positionals, flags): (Vec<&Arg>, Vec<&Arg>) = args.partition(|a| a.is_positional());
    let flags = flags.into_iter().filter(|a| options || a.is_required_set());
    let words = flags.chain(positionals).filter_map(synopsis_arg);
    std::iter::once(path.to_string())
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[-m|--model <PATH>]`, `[--show-thinking]`, `<ID>`, `[PROMPT]...`.
pub(super) fn synopsis_arg(arg: &Arg) -> Option<String> {
    let takes_values = arg.get_num_args().is_some_and(|r| r.takes_values())
        && !matches!(
            arg.get_action(),
            ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count | ArgAction::Help
        );
    let value = || {
        let names = arg
            .get_value_names()
            .map(|v| v.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>())
            .unwrap_or_else(|| vec![format!("<{}>", arg.get_id().as_str().to_uppercase())]);
        let names = names.join(" ");
        match arg.get_num_args() {
            Some(r) if r.min_values() == 0 => format!("[{names}]"),
            _ => names,
        }
    };
    let many = arg.get_num_args().is_some_and(|r| r.max_values() > 1)
        || matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
    let word = if arg.is_positional() {
        value()
    } else {
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => return None,
        };
        if takes_values {
            format!("{name} {}", value())
        } else {
            name
        }
    };
    let word = if arg.is_required_set() {
        word
    } else {
        format!("[{word}]")
    };
    Some(if many { format!("{word}...") } else { word })
}

/// `.SH COMMANDS`: each command with its operands, and what it does (its options are in the
/// synopsis).
fn commands_section(forms: &[Form]) -> String {
    let mut s = String::from(".SH COMMANDS\n");
    s.push_str(&escape(
        "Each command's options are in the synopsis; reflect COMMAND --help says more.",
    ));
    s.push('\n');
    for f in forms {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n", escape(&f.short)));
        for line in f.about.lines().filter(|l| !l.trim().is_empty()) {
            s.push_str(&escape(line));
            s.push('\n');
        }
    }
    s
}

/// The long help's footer: `Examples:` as an EXAMPLES section (lines kept), `Exit codes:` as
/// EXIT STATUS, any other paragraph as a paragraph of the section before it.
fn footer_sections(footer: &str) -> String {
    let mut s = String::new();
    for para in footer.split("\n\n").filter(|p| !p.trim().is_empty()) {
        if let Some(rest) = para.strip_prefix("Examples:") {
            s.push_str(".SH EXAMPLES\n.nf\n");
            for line in rest.lines().filter(|l| !l.trim().is_empty()) {
                s.push_str(&escape(line.trim_start()));
                s.push('\n');
            }
            s.push_str(".fi\n");
        } else if para.starts_with("Exit codes:") {
            s.push_str(&format!(".SH \"EXIT STATUS\"\n{}\n", escape(para)));
        } else {
            s.push_str(&format!(".PP\n{}\n", escape(para)));
        }
    }
    s
}

/// Text as roff reads it literally: backslashes, hyphens (`\-`, so that options can be
/// searched and copied), apostrophes and a leading dot.
fn escape(text: &str) -> String {
    let body = text
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\(aq")
        .replace('\n', " ");
    if body.starts_with('.') {
        format!("\\&{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_option_shows_its_value_and_a_short_only_flag_has_no_stray_space() {
        let cmd = Command::new("t")
            .disable_help_flag(true)
            .arg(
                Arg::new("model")
                    .short('m')
                    .long("model")
                    .value_name("PATH"),
            )
            .arg(Arg::new("hf").long("hf").value_name("ORG/REPO[:QUANT]"))
            .arg(
                Arg::new("show")
                    .long("show-thinking")
                    .action(ArgAction::SetTrue),
            )
            .arg(Arg::new("short").short('h').action(ArgAction::SetTrue))
            .arg(
                Arg::new("resume")
                    .long("resume")
                    .value_name("ID")
                    .num_args(0..=1),
            )
            .arg(Arg::new("id").required(true).value_name("ID"))
            .arg(Arg::new("prompt").value_name("PROMPT").num_args(1..));
        let mut cmd = cmd;
        cmd.build();
        let got: Vec<String> = cmd.get_arguments().filter_map(synopsis_arg).collect();
        assert_eq!(
            got,
            [
                "[-m|--model <PATH>]",
                "[--hf <ORG/REPO[:QUANT]>]",
                "[--show-thinking]",
                "[-h]",
                "[--resume [<ID>]]",
                "<ID>",
                "[<PROMPT>]...",
            ]
        );
    }

    #[test]
    fn escaping_keeps_the_text_literal() {
        assert_eq!(escape("--model"), "\\-\\-model");
        assert_eq!(escape(".hidden"), "\\&.hidden");
        assert_eq!(escape("it's a\\b"), "it\\(aqs a\\eb");
    }
}
