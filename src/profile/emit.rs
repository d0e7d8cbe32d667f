//! A resolved profile written back as a self-contained TOML file (no `extends`): what
//! `--show-profile` prints and `--save-profile` saves. Reading it back gives the same profile.

use super::Profile;
use crate::config::write::{float, preamble, string, string_array};
use crate::llm::SamplingSettings;
use std::fmt::Write;

impl Profile {
    /// The profile as TOML, after `header` (comment lines, may be empty). Unset sampling values,
    /// and thinking-budget values left at their defaults, are written as comments saying where
    /// the value comes from instead.
    pub fn to_toml(&self, header: &str) -> String {
        let mut out = preamble(header, &self.name, &self.description);
        let _ = writeln!(
            out,
            "system = {}",
            string(self.system.as_deref().unwrap_or(""))
        );
        let _ = writeln!(out, "think_carefully = {}", self.think_carefully);
        let _ = writeln!(out, "history = {}", string(self.history.as_str()));
        match &self.chat_template {
            Some(t) => {
                let _ = writeln!(out, "chat_template = {}", string(t));
            }
            None => out.push_str(
                "# chat_template: unset — the model's own, else chosen from its vocabulary\n",
            ),
        }
        if !self.tools.is_empty() {
            let _ = writeln!(out, "tools = {}", string_array(&self.tools));
        }
        if let Some(n) = self.lookup {
            let _ = writeln!(out, "lookup = {n}");
        }
        out.push('\n');
        super::budget::write_budget(&mut out, &self.budget);

        let s = &self.sampling;
        out.push_str("\n[sampling]\n");
        let gguf = "the model's general.sampling";
        let d = SamplingSettings::DEFAULT;
        let mut line = |key: &str, value: Option<String>, unset: String| {
            let _ = match value {
                Some(v) => writeln!(out, "{key} = {v}"),
                None => writeln!(out, "# {key}: unset — {unset}"),
            };
        };
        line(
            "temperature",
            s.temperature.map(float),
            format!("{gguf}.temp, else {}", float(d.temperature)),
        );
        line(
            "top_p",
            s.top_p.map(float),
            format!("{gguf}.top_p, else {}", float(d.top_p)),
        );
        line(
            "top_k",
            s.top_k.map(|v| v.to_string()),
            format!("{gguf}.top_k, else {}", d.top_k),
        );
        line(
            "min_p",
            s.min_p.map(float),
            format!("{gguf}.min_p, else {}", float(d.min_p)),
        );
        line(
            "repeat_penalty",
            s.repeat_penalty.map(float),
            format!("{gguf}.penalty_repeat, else {}", float(d.repeat_penalty)),
        );
        line(
            "seed",
            s.seed.map(|v| v.to_string()),
            format!(
                "{gguf}.seed, else {}",
                d.seed.map_or("random".to_string(), |v| v.to_string())
            ),
        );
        line(
            "max_tokens",
            s.max_tokens.map(|v| v.to_string()),
            "no limit".to_string(),
        );

        out.push_str("\n[tags]\n");
        let _ = writeln!(out, "thinking = {}", string_array(&self.tags.thinking));
        let _ = writeln!(out, "reflection = {}", string_array(&self.tags.reflection));
        let _ = writeln!(out, "output = {}", string_array(&self.tags.output));
        let _ = writeln!(out, "start_in_thinking = {}", self.start_in_thinking);
        let _ = writeln!(out, "stop_after_output = {}", self.stop_after_output);
        out
    }
}
