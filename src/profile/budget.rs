//! The thinking-budget keys of a profile file (`thinking_budget`, `budget_grace`,
//! `budget_message`, `min_thinking`, `extend_message`, `max_extensions`): read and checked with
//! errors naming file, line and key, folded over a parent's, and written back. The two that
//! config.toml takes too (`thinking_budget`, `min_thinking`) are read by `config::tokens`.

use crate::config::tokens::{budget, minimum};
use crate::config::{ConfigError, Table};
use crate::llm::budget::{DEFAULT_EXTEND_MESSAGE, DEFAULT_GRACE, DEFAULT_MAX_EXTENSIONS};
use crate::llm::BudgetSettings;
use std::fmt::Write;

/// Extensions at most that a profile may ask for.
pub const MAX_EXTENSIONS: u32 = 32;

/// The budget keys as written: each may be unset (the parent's value stays). `Some(None)` is
/// an explicit "none", which lifts a parent's limit or minimum.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BudgetFile {
    pub limit: Option<Option<u32>>,
    pub grace: Option<u32>,
    /// An empty (or blank) message removes the parent's.
    pub message: Option<String>,
    pub min_thinking: Option<Option<u32>>,
    pub extend_message: Option<String>,
    pub max_extensions: Option<u32>,
}

impl BudgetFile {
    /// Reads the budget keys of a profile's top-level table.
    pub fn parse(root: &Table<'_>) -> Result<BudgetFile, ConfigError> {
        let whole = |key: &str, max: u32, rule: &str| -> Result<Option<u32>, ConfigError> {
            root.get(key)
                .map(|f| {
                    let n = f.int()?;
                    u32::try_from(n)
                        .ok()
                        .filter(|n| *n <= max)
                        .ok_or_else(|| f.out_of_range(rule))
                })
                .transpose()
        };
        let extend_message = match root.get("extend_message") {
            Some(f) if f.str()?.trim().is_empty() => {
                return Err(f.invalid(
                    "an extension needs text to append, e.g. \"Wait,\" (to extend nothing, leave min_thinking unset)",
                ))
            }
            Some(f) => Some(f.str()?.to_string()),
            None => None,
        };
        Ok(BudgetFile {
            limit: root
                .get("thinking_budget")
                .map(|f| budget(&f))
                .transpose()?,
            grace: whole("budget_grace", u32::MAX, "must be between 0 and 4294967295")?,
            message: root.str("budget_message")?,
            min_thinking: root.get("min_thinking").map(|f| minimum(&f)).transpose()?,
            extend_message,
            max_extensions: whole(
                "max_extensions",
                MAX_EXTENSIONS,
                &format!("must be between 0 and {MAX_EXTENSIONS}"),
            )?,
        })
    }

    /// Sets what this file sets over `b` (the parent's).
    pub fn apply(&self, b: &mut BudgetSettings) {
        if let Some(v) = self.limit {
            b.limit = v;
        }
        if let Some(v) = self.grace {
            b.grace = v;
        }
        if let Some(m) = &self.message {
            b.message = Some(m.clone()).filter(|m| !m.trim().is_empty());
        }
        if let Some(v) = self.min_thinking {
            b.min_thinking = v;
        }
        if let Some(m) = &self.extend_message {
            b.extend_message = m.clone();
        }
        if let Some(v) = self.max_extensions {
            b.max_extensions = v;
        }
    }
}

/// The budget as profile keys: values other than the defaults as keys, the defaults as
/// comments saying what they are (reading the text back gives the same settings).
pub fn write_budget(out: &mut String, b: &BudgetSettings) {
    let string = crate::config::write::string;
    let mut line = |key: &str, value: Option<String>, unset: &str| {
        let _ = match value {
            Some(v) => writeln!(out, "{key} = {v}"),
            None => writeln!(out, "# {key}: unset — {unset}"),
        };
    };
    line(
        "thinking_budget",
        b.limit.map(|v| v.to_string()),
        "no limit",
    );
    line(
        "budget_grace",
        Some(b.grace)
            .filter(|v| *v != DEFAULT_GRACE)
            .map(|v| v.to_string()),
        &format!("{DEFAULT_GRACE} tokens"),
    );
    line(
        "budget_message",
        b.message.as_deref().map(string),
        "no message",
    );
    line(
        "min_thinking",
        b.min_thinking.map(|v| v.to_string()),
        "no minimum",
    );
    line(
        "extend_message",
        Some(b.extend_message.as_str())
            .filter(|m| *m != DEFAULT_EXTEND_MESSAGE)
            .map(string),
        &string(DEFAULT_EXTEND_MESSAGE),
    );
    line(
        "max_extensions",
        Some(b.max_extensions)
            .filter(|v| *v != DEFAULT_MAX_EXTENSIONS)
            .map(|v| v.to_string()),
        &DEFAULT_MAX_EXTENSIONS.to_string(),
    );
}
