//! A resolved theme written back as a self-contained TOML file (what `--show-theme` prints).

use super::{Purpose, Style, Theme};
use crate::config::write::preamble;
use std::fmt::Write;

impl Theme {
    /// The theme as TOML, after `header` (comment lines, may be empty).
    pub fn to_toml(&self, header: &str) -> String {
        let mut out = preamble(header, &self.name, &self.description);
        out.push_str("\n[styles]\n");
        for purpose in Purpose::ALL {
            let _ = writeln!(out, "{} = {}", purpose.key(), style(&self.style(purpose)));
        }
        out
    }
}

/// `{ fg = "red", bold = true }`, or `{}` for the terminal's own look.
fn style(s: &Style) -> String {
    let mut parts = Vec::new();
    if let Some(c) = s.fg {
        parts.push(format!("fg = {c}"));
    }
    if let Some(c) = s.bg {
        parts.push(format!("bg = {c}"));
    }
    for (on, key) in [
        (s.bold, "bold"),
        (s.italic, "italic"),
        (s.dim, "dim"),
        (s.underline, "underline"),
        (s.reversed, "reversed"),
    ] {
        if on {
            parts.push(format!("{key} = true"));
        }
    }
    if parts.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", parts.join(", "))
    }
}
