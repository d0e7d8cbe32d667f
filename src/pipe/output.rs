//! The three pipe-mode writers: plain text (answer on stdout, thinking on stderr on request),
//! one JSON object, or JSON Lines events.

use super::spacing::Spacing;
use super::status::{Phase, Status};
use super::Format;
use crate::conversation::Turn;
use crate::llm::{BudgetReport, BudgetStep, Completion, ForcedBy, Timings, Usage};
use crate::stream::Channel;
use crate::term_safe::neutralise;
use crate::tools::{builtin, CallRecord, ToolCall};
use serde::Serialize;
use std::io::{self, IsTerminal, Write};
use std::time::Instant;

/// The final result, as `--format json` prints it and `--format jsonl` ends with.
#[derive(Serialize)]
pub struct Record<'a> {
    pub output: &'a str,
    pub thinking: &'a str,
    pub reflections: Vec<&'a str>,
    pub stop_reason: &'static str,
    pub model: &'a str,
    pub profile: &'a str,
    pub usage: Usage,
    pub timings: Timings,
    /// The saved session this turn belongs to (`null` with --no-save).
    pub session: Option<&'a str>,
    /// The seed the draw used (`null` when greedy): `--seed N` repeats this answer.
    pub seed: Option<u32>,
    /// The server it ran on (name or URL); absent for a local model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// USD, for an endpoint with prices (or a server that reports its cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// The thinking against its budget: `limit` null when unlimited.
    pub budget: BudgetReport,
    /// Every call the turn made and what became of it (empty without tools).
    pub tool_calls: &'a [CallRecord],
    /// Each generation's usage: one, or one per step when tools were called.
    pub steps: Vec<Usage>,
}

impl<'a> Record<'a> {
    /// `thinking` is the turn's thinking text (`Turn::thinking_text`), without reflections.
    pub fn new(
        turn: &'a Turn,
        thinking: &'a str,
        done: &Completion,
        model: &'a str,
        profile: &'a str,
        session: Option<&'a str>,
    ) -> Self {
        let usage = turn.usage.unwrap_or(done.usage);
        Record {
            output: turn.answer.trim(),
            thinking: thinking.trim(),
            reflections: turn.reflections.iter().map(|r| r.text.trim()).collect(),
            stop_reason: done.stop_reason.as_str(),
            model,
            profile,
            usage,
            timings: Timings {
                // Two decimals: more is noise.
                tokens_per_second: (done.timings.tokens_per_second * 100.0).round() / 100.0,
                ..done.timings
            },
            session,
            seed: done.seed,
            endpoint: None,
            cost: done.cost,
            budget: done.budget.clone().unwrap_or_else(|| BudgetReport {
                used: usage.thinking_tokens + usage.reflection_tokens,
                reflection: usage.reflection_tokens,
                ..BudgetReport::default()
            }),
            tool_calls: &turn.calls,
            steps: if turn.steps.is_empty() {
                vec![done.usage]
            } else {
                turn.steps.clone()
            },
        }
    }
}

/// A call about to be decided, as jsonl gives it.
#[derive(Serialize)]
struct CallLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    call: &'a ToolCall,
    step: u32,
}

/// A call's outcome, as jsonl gives it.
#[derive(Serialize)]
struct ResultLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    record: &'a CallRecord,
}

/// At most this many lines of a result are shown with --show-thinking.
const RESULT_LINES: usize = 12;

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    channel: &'static str,
    text: &'a str,
    /// Which reflection (from 1) a reflection delta belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    reflection: Option<usize>,
}

#[derive(Serialize)]
struct DoneLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    record: &'a Record<'a>,
}

pub struct Output {
    format: Format,
    show_thinking: bool,
    /// Neutralise the answer: stdout is a terminal and --raw was not given.
    neutralise_out: bool,
    /// Neutralise and dim the thinking: stderr is a terminal and --raw was not given.
    stderr_tty: bool,
    wrote_output: bool,
    wrote_thinking: bool,
    /// The reflection being written, if one is.
    reflection: Option<usize>,
    /// stderr is a file or a pipe: the thinking is marked "Thinking…" / "…done thinking." (on
    /// a terminal, dimming marks it).
    labels: bool,
    /// A percentage is on stderr's current line (a terminal).
    progress_shown: bool,
    /// The last quarter of the prompt reported in a file.
    progress_quarter: u8,
    /// The line breaks of the thinking shown on stderr.
    spacing: Spacing,
    /// The one-line status while the model thinks (stderr a terminal, thinking not shown).
    status: Status,
    /// Thinking and reflection pieces so far, and reflections begun: what the status says.
    thinking_pieces: u32,
    reflections: usize,
    /// No answer text written yet: its leading newlines are dropped.
    answer_start: bool,
}

impl Output {
    pub fn new(format: Format, show_thinking: bool, raw: bool) -> Self {
        Output {
            format,
            show_thinking,
            neutralise_out: io::stdout().is_terminal() && !raw,
            stderr_tty: io::stderr().is_terminal() && !raw,
            wrote_output: false,
            wrote_thinking: false,
            reflection: None,
            labels: !io::stderr().is_terminal(),
            progress_shown: false,
            progress_quarter: 0,
            spacing: Spacing::default(),
            status: Status::new(
                io::stderr().is_terminal() && !show_thinking && format != Format::Jsonl,
            ),
            thinking_pieces: 0,
            reflections: 0,
            answer_start: true,
        }
    }

    /// Redraws the status line (at its bounded rate) with the thinking counted so far; never
    /// once the answer has begun, whose line it would erase (a reflection inside `<output>`,
    /// thinking after untagged text).
    fn show_status(&mut self) -> io::Result<()> {
        if self.wrote_output {
            return Ok(());
        }
        let phase = Phase::Thinking {
            tokens: self.thinking_pieces,
            reflections: self.reflections,
        };
        self.status
            .update(phase, Instant::now(), &mut io::stderr().lock())
    }

    /// Erases the status line, before anything else is written to the terminal.
    pub fn clear_status(&mut self) -> io::Result<()> {
        self.status.clear(&mut io::stderr().lock())
    }

    /// Text routed to a channel, as it arrives.
    pub fn text(&mut self, channel: Channel, text: &str) -> io::Result<()> {
        if channel == Channel::Output {
            self.clear_status()?;
        } else {
            self.thinking_pieces = self.thinking_pieces.saturating_add(1);
            self.show_status()?;
        }
        match (self.format, channel) {
            (Format::Text, Channel::Output) => {
                self.end_thinking()?;
                // The answer starts with its first line, as the JSON `output` does.
                let text = if std::mem::take(&mut self.answer_start) {
                    text.trim_start_matches(['\n', '\r'])
                } else {
                    text
                };
                if text.is_empty() {
                    self.answer_start = true;
                    return Ok(());
                }
                self.wrote_output = true;
                let text = if self.neutralise_out {
                    neutralise(text)
                } else {
                    text.into()
                };
                let mut out = io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            (Format::Text, _) if self.show_thinking => self.thinking(text),
            (Format::Jsonl, _) => {
                let line = serde_json::to_string(&Delta {
                    kind: "delta",
                    channel: channel.as_str(),
                    text,
                    reflection: self.reflection.filter(|_| channel == Channel::Reflection),
                })?;
                let mut out = io::stdout().lock();
                writeln!(out, "{line}")?;
                out.flush()
            }
            _ => Ok(()),
        }
    }

    /// A reflection starts: set off from the thinking by one blank line, its text after the
    /// marker on the same line.
    pub fn reflection_start(&mut self, n: usize) -> io::Result<()> {
        self.reflection = Some(n);
        self.reflections = self.reflections.max(n);
        self.show_status()?;
        if self.format == Format::Text && self.show_thinking {
            self.spacing.brk(2);
            self.thinking(&format!("↺ reflection {n}: "))?;
            self.spacing.glue();
        }
        Ok(())
    }

    /// A reflection ended: what follows starts a paragraph of its own, as in the chat (one
    /// blank line, however many newlines the model wrote around it).
    pub fn reflection_end(&mut self, _n: usize) -> io::Result<()> {
        self.reflection = None;
        if self.format == Format::Text && self.show_thinking {
            self.spacing.brk(2);
        }
        Ok(())
    }

    /// Prompt decoding progress, with --show-thinking: a percentage rewritten in place on a
    /// terminal; in a file, a line at each quarter.
    /// Without --show-thinking, the status line says it.
    pub fn prompt_progress(&mut self, done: u32, total: u32) -> io::Result<()> {
        if total == 0 {
            return Ok(());
        }
        let pct = u64::from(done.min(total)) * 100 / u64::from(total);
        if !self.show_thinking {
            return self.status.update(
                Phase::Prompt(pct),
                Instant::now(),
                &mut io::stderr().lock(),
            );
        }
        if self.format != Format::Text {
            return Ok(());
        }
        let mut err = io::stderr().lock();
        if self.stderr_tty {
            write!(
                err,
                "\r\x1b[2mReading the prompt… {pct:3}% ({done}/{total} tokens)\x1b[22m"
            )?;
            self.progress_shown = true;
        } else {
            let quarter = (pct / 25) as u8;
            if quarter > self.progress_quarter {
                self.progress_quarter = quarter;
                writeln!(err, "Reading the prompt… {pct}% ({done}/{total} tokens)")?;
            }
        }
        err.flush()
    }

    /// Where the thinking budget acted, with --show-thinking: a line in the thinking on stderr.
    pub fn budget_step(&mut self, step: BudgetStep, report: &BudgetReport) -> io::Result<()> {
        if self.format != Format::Text || !self.show_thinking {
            return Ok(());
        }
        let note = match step {
            BudgetStep::Forced(ForcedBy::Budget) => format!(
                "⏹ thinking ended: the budget of {} tokens is spent ({} used)",
                report.limit.unwrap_or(0),
                report.used
            ),
            BudgetStep::Forced(ForcedBy::User) => "⏹ thinking ended: answer now".to_string(),
            BudgetStep::Forced(ForcedBy::NoThinking) => "⏹ no thinking: budget 0".to_string(),
            BudgetStep::Extended(n) => format!(
                "⟳ thinking extended ({n}): it ended after {} tokens",
                report.used
            ),
        };
        self.spacing.brk(1);
        self.thinking(&note)?;
        self.spacing.brk(1);
        Ok(())
    }

    /// The prompt is read: the in-place percentage goes.
    pub fn prompt_done(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.progress_shown) {
            let mut err = io::stderr().lock();
            err.write_all(b"\r\x1b[2K")?;
            err.flush()?;
        }
        Ok(())
    }

    /// Thinking and reflections on stderr, dimmed when stderr is a terminal, else opened with
    /// a "Thinking…" line; its line breaks as [`Spacing`] sets them.
    fn thinking(&mut self, text: &str) -> io::Result<()> {
        let text = self.spacing.text(text);
        if text.is_empty() {
            return Ok(());
        }
        let text = text.as_str();
        let mut err = io::stderr().lock();
        if self.labels && !self.wrote_thinking {
            err.write_all("Thinking…\n".as_bytes())?;
        }
        self.wrote_thinking = true;
        if self.stderr_tty {
            write!(err, "\x1b[2m{}\x1b[22m", neutralise(text))?;
        } else {
            err.write_all(text.as_bytes())?;
        }
        err.flush()
    }

    /// Ends the thinking shown on stderr before the answer starts.
    fn end_thinking(&mut self) -> io::Result<()> {
        self.spacing.close();
        if self.wrote_thinking {
            self.wrote_thinking = false;
            let mut err = io::stderr().lock();
            if self.labels {
                err.write_all("\n…done thinking.\n\n".as_bytes())?;
            } else {
                writeln!(err)?;
                writeln!(err)?;
            }
        }
        Ok(())
    }

    /// A call the model made, before its verdict: a jsonl event; with --show-thinking, a line
    /// in the thinking on stderr.
    pub fn tool_call(&mut self, call: &ToolCall, step: u32) -> io::Result<()> {
        self.clear_status()?;
        match self.format {
            Format::Jsonl => self.json_line(&CallLine {
                kind: "tool_call",
                call,
                step,
            }),
            Format::Text if self.show_thinking => {
                let line = format!("⚙ {}", builtin::shown(call));
                self.spacing.brk(2);
                self.thinking(&line)?;
                self.spacing.brk(1);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A call is about to be decided and run: the status line (a terminal, thinking not shown)
    /// names it, unless the answer has begun on the terminal.
    pub fn tool_running(&mut self, name: &str) -> io::Result<()> {
        match builtin::find(name) {
            Some(b) if !self.wrote_output => self.status.update(
                Phase::Tool(b.name),
                Instant::now(),
                &mut io::stderr().lock(),
            ),
            _ => Ok(()),
        }
    }

    /// What became of a call: a jsonl event; with --show-thinking, its status and the first
    /// lines of its result on stderr.
    pub fn tool_result(&mut self, record: &CallRecord) -> io::Result<()> {
        match self.format {
            Format::Jsonl => self.json_line(&ResultLine {
                kind: "tool_result",
                record,
            }),
            Format::Text if self.show_thinking => {
                let shown = result_lines(&record.result);
                let text = format!(
                    "↳ {} ({} ms){}{shown}",
                    record.status.as_str(),
                    record.elapsed_ms,
                    if shown.is_empty() { "" } else { ":\n" },
                );
                self.thinking(&text)?;
                self.spacing.brk(2);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A line on stderr whatever the format (a denied call, a stopped loop): model text in it
    /// is neutralised on a terminal. With --show-thinking it is a line of the thinking shown.
    pub fn notice(&mut self, text: &str) -> io::Result<()> {
        self.clear_status()?;
        if self.format == Format::Text && self.show_thinking {
            self.spacing.brk(1);
            self.thinking(text)?;
            self.spacing.brk(1);
            return Ok(());
        }
        let text = if self.stderr_tty {
            neutralise(text)
        } else {
            text.into()
        };
        let mut err = io::stderr().lock();
        writeln!(err, "{text}")?;
        err.flush()
    }

    fn json_line(&mut self, value: &impl Serialize) -> io::Result<()> {
        let line = serde_json::to_string(value)?;
        let mut out = io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }

    /// Writes what comes at the end: the closing newline, or the JSON record.
    pub fn finish(&mut self, record: &Record<'_>) -> io::Result<()> {
        self.clear_status()?;
        self.spacing.close();
        let mut out = io::stdout().lock();
        match self.format {
            Format::Text => {
                if self.wrote_thinking && self.labels {
                    io::stderr().write_all("\n…done thinking.\n".as_bytes())?;
                } else if self.wrote_thinking {
                    writeln!(io::stderr())?;
                }
                if self.wrote_output {
                    writeln!(out)?;
                }
                if let Some(line) = record
                    .timings
                    .speculation_line()
                    .filter(|_| self.show_thinking)
                {
                    writeln!(io::stderr(), "{line}")?;
                }
            }
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(record)?)?,
            Format::Jsonl => writeln!(
                out,
                "{}",
                serde_json::to_string(&DoneLine {
                    kind: "done",
                    record
                })?
            )?,
        }
        out.flush()
    }
}

/// The status line goes however the run ends: an error, a cancel, a closed pipe.
impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.clear_status();
    }
}

/// The first [`RESULT_LINES`] lines of a result, and how many more there are.
fn result_lines(result: &str) -> String {
    let lines: Vec<&str> = result.trim_end().lines().collect();
    let mut shown = lines
        .iter()
        .take(RESULT_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > RESULT_LINES {
        shown.push_str(&format!("\n… ({} more lines)", lines.len() - RESULT_LINES));
    }
    shown
}
