//! Exports a saved session: Markdown for people (`### Thinking`, `### Reflection N`,
//! `### Output` per turn, and which model answered it) or the session's JSON for programs.
//! The prompt, the thinking and the reflections are plain text: each of their lines becomes a
//! paragraph, so that Markdown viewers keep the line breaks; the answer is Markdown already.

use super::{AnsweredBy, SavedState, Session};
use std::fmt::Write;
use std::path::Path;

/// What `--export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Json,
}

impl ExportFormat {
    /// JSON for a `.json` file or when JSON output was asked for; Markdown otherwise.
    pub fn pick(to: &Path, json_asked: bool) -> ExportFormat {
        let json_file = to
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json_asked || json_file {
            ExportFormat::Json
        } else {
            ExportFormat::Markdown
        }
    }

    pub fn render(self, session: &Session) -> String {
        match self {
            ExportFormat::Markdown => markdown(session),
            ExportFormat::Json => {
                let mut s = serde_json::to_string_pretty(session).unwrap_or_default();
                s.push('\n');
                s
            }
        }
    }
}

/// The session as a Markdown document.
pub fn markdown(session: &Session) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", session.title());
    let _ = writeln!(out, "- Session: `{}`", session.id);
    let model = session
        .model_ref()
        .map_or_else(|| "unknown".to_string(), |m| model_md(&m));
    let _ = writeln!(out, "- Model: {model}");
    let _ = writeln!(out, "- Profile: {}", session.profile);
    let _ = writeln!(out, "- Created: {}", session.created);
    let _ = writeln!(out, "- Updated: {}", session.updated);
    for (i, turn) in session.turns.iter().enumerate() {
        let _ = writeln!(out, "\n## Turn {}\n", i + 1);
        for line in hard_breaks(&turn.prompt).lines() {
            if line.is_empty() {
                out.push_str(">\n");
            } else {
                let _ = writeln!(out, "> {line}");
            }
        }
        let thinking = turn.thinking_text();
        if !thinking.trim().is_empty() {
            section(&mut out, "Thinking", &hard_breaks(&thinking));
        }
        for r in &turn.reflections {
            section(
                &mut out,
                &format!("Reflection {}", r.n),
                &hard_breaks(&r.text),
            );
        }
        for (i, call) in turn.calls.iter().enumerate() {
            call_md(&mut out, i + 1, call);
        }
        section(&mut out, "Output", &turn.answer);
        let mut notes = Vec::new();
        if let Some(m) = &turn.model {
            notes.push(format!("answered by {}", model_md(m)));
        }
        match turn.state {
            SavedState::Done => {}
            SavedState::Interrupted => notes.push("interrupted".to_string()),
            SavedState::Failed => notes.push(format!(
                "failed: {}",
                turn.error.as_deref().unwrap_or("unknown error")
            )),
        }
        if let Some(u) = turn.usage {
            notes.push(format!(
                "{} prompt tokens, {} generated",
                u.prompt_tokens, u.completion_tokens
            ));
        }
        if let Some(t) = turn.timings.filter(|t| t.tokens_per_second > 0.0) {
            notes.push(format!("{:.1} tokens/s", t.tokens_per_second));
        }
        if let Some(r) = turn.stop_reason {
            notes.push(format!("stop: {}", r.as_str()));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "\n*{}*", notes.join(" · "));
        }
    }
    out
}

/// Plain text with its line breaks kept in Markdown, which would join the lines of a
/// paragraph into one: a line followed by another ends with a hard break (two spaces, which
/// stay invisible inside a code block too); runs of blank lines become one blank line, and blank
/// lines at either end go.
fn hard_breaks(text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
        if !line.is_empty() && lines.get(i + 1).is_some_and(|next| !next.is_empty()) {
            out.push_str("  ");
        }
    }
    out
}

/// A model as the export names it: its name, and its file or server in code spans.
fn model_md(m: &AnsweredBy) -> String {
    let name = if m.name.is_empty() {
        "a model"
    } else {
        &m.name
    };
    match (&m.path, &m.endpoint) {
        (Some(p), _) => format!("{name} (`{}`)", p.display()),
        (None, Some(e)) => format!("{name} on `{e}`"),
        (None, None) => name.to_string(),
    }
}

/// One tool call: its tool, status and time, its arguments, and its result in a code block.
fn call_md(out: &mut String, n: usize, rec: &crate::tools::CallRecord) {
    let _ = writeln!(
        out,
        "\n### Tool call {n}: {} ({}, {} ms, step {})\n",
        rec.call.name,
        rec.status.as_str(),
        rec.elapsed_ms,
        rec.step
    );
    let _ = writeln!(out, "{}", fenced("json", &rec.call.arguments_json()));
    if !rec.result.is_empty() {
        let _ = writeln!(out, "\n{}", fenced("text", &rec.result));
    }
}

/// `body` in a code block whose fence is longer than any run of backticks inside it.
fn fenced(lang: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}", body.trim_end_matches('\n'))
}

fn section(out: &mut String, heading: &str, body: &str) {
    let body = body.trim();
    let _ = writeln!(out, "\n### {heading}\n");
    if body.is_empty() {
        out.push_str("*(empty)*\n");
    } else {
        out.push_str(body);
        out.push('\n');
    }
}
