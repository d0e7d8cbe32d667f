//! `reflect --sessions`: one aligned line per saved session, newest first; a broken file
//! becomes an error line naming it instead of hiding the others. Titles and model names come
//! from files (the user's first message, the model's metadata): their control characters and
//! escape sequences are shown, never sent to the terminal.

use super::{shorten, Listed};
use crate::term_safe::neutralise;

/// The table, and one message per file that could not be read.
pub fn listing(listed: &[Listed]) -> (String, Vec<String>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for l in listed {
        match &l.session {
            Ok(s) => rows.push([
                s.id.clone(),
                s.updated
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                format!(
                    "{} {}{}",
                    s.turns.len(),
                    if s.turns.len() == 1 { "turn" } else { "turns" },
                    s.cost()
                        .map_or(String::new(), |c| format!(" {}", crate::llm::format_usd(c)))
                ),
                shorten(&neutralise(&s.model), 24),
                neutralise(&s.title()).into_owned(),
            ]),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if rows.is_empty() {
        return (String::new(), errors);
    }
    let header = ["ID", "UPDATED (UTC)", "TURNS", "MODEL", "TITLE"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter().zip(row) {
            out.push_str(cell);
            out.push_str(&" ".repeat(w - cell.chars().count() + 2));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    (out, errors)
}
