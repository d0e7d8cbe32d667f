//! The three pipe-mode writers: plain text (answer on stdout, thinking on stderr on request),
//! one JSON object, or JSON Lines events.

use crate::conversation::Turn;
use crate::llm::{BudgetReport, BudgetStep, Completion, ForcedBy, Timings, Usage};
use crate::settings::Format;
use crate::stream::Channel;
use crate::term_safe::neutralise;
use serde::Serialize;
use std::io::{self, IsTerminal, Write};

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
        Record {
            output: turn.answer.trim(),
            thinking: thinking.trim(),
            reflections: turn.reflections.iter().map(|r| r.text.trim()).collect(),
            stop_reason: done.stop_reason.as_str(),
            model,
            profile,
            usage: done.usage,
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
                used: done.usage.thinking_tokens + done.usage.reflection_tokens,
                reflection: done.usage.reflection_tokens,
                ..BudgetReport::default()
            }),
        }
    }
}

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
        }
    }

    /// Text routed to a channel, as it arrives.
    pub fn text(&mut self, channel: Channel, text: &str) -> io::Result<()> {
        match (self.format, channel) {
            (Format::Text, Channel::Output) => {
                self.end_thinking()?;
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

    pub fn reflection_start(&mut self, n: usize) -> io::Result<()> {
        self.reflection = Some(n);
        if self.format == Format::Text && self.show_thinking {
            let sep = if self.wrote_thinking { "\n\n" } else { "" };
            self.thinking(&format!("{sep}↺ reflection {n}: "))?;
        }
        Ok(())
    }

    /// A reflection ended: what follows starts a paragraph of its own, as in the chat.
    pub fn reflection_end(&mut self, _n: usize) -> io::Result<()> {
        self.reflection = None;
        if self.format == Format::Text && self.show_thinking {
            self.thinking("\n\n")?;
        }
        Ok(())
    }

    /// Prompt decoding progress, with --show-thinking: a percentage rewritten in place on a
    /// terminal; in a file, a line at each quarter.
    pub fn prompt_progress(&mut self, done: u32, total: u32) -> io::Result<()> {
        if self.format != Format::Text || !self.show_thinking || total == 0 {
            return Ok(());
        }
        let pct = u64::from(done.min(total)) * 100 / u64::from(total);
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
        let sep = if self.wrote_thinking { "\n" } else { "" };
        self.thinking(&format!("{sep}{note}\n"))
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
    /// a "Thinking…" line.
    fn thinking(&mut self, text: &str) -> io::Result<()> {
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

    /// Writes what comes at the end: the closing newline, or the JSON record.
    pub fn finish(&mut self, record: &Record<'_>) -> io::Result<()> {
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
