//! Redoing the last turn and managing the queue: `/retry` (a new seed, in place), `/edit` and
//! Up on an empty input (the last message back in the box; sending it replaces that turn and
//! its answer), `/queue` and `/unqueue`.

use super::commands::Unqueue;
use super::{App, Level};
use crate::conversation::Turn;
use crate::profile::RANDOM_SEED;
use crate::term_safe::neutralise;
use crate::tui::msg::Effect;

/// The seed for a retry: the next one after the seed used, when the settings fix one (so that
/// the retry differs and can itself be repeated); `None` (a fresh random draw) otherwise.
pub fn retry_seed(fixed: Option<u32>, used: Option<u32>) -> Option<u32> {
    let fixed = fixed.filter(|s| *s != RANDOM_SEED);
    let next = used.or(fixed)?.wrapping_add(1);
    fixed.map(|_| if next == RANDOM_SEED { 0 } else { next })
}

impl App {
    /// The last turn, when it can be redone: answered, with nothing running or waiting.
    fn redoable(&mut self, what: &str) -> Option<usize> {
        let why = if self.conv.running().is_some() || self.conv.queued() > 0 {
            "wait for the answer to finish, or press Esc to stop it"
        } else if self.engine_gone {
            "the engine stopped; restart reflect"
        } else if matches!(self.load, super::Load::Failed(_)) {
            "the model did not load"
        } else if self.conv.turns.is_empty() {
            "no message has been sent yet"
        } else {
            return Some(self.conv.turns.len() - 1);
        };
        let text = format!("{what}: {why}");
        self.notify(Level::Info, text);
        None
    }

    /// `/retry`: the last message again, with a new seed, in place of its answer.
    pub(super) fn retry(&mut self) -> Vec<Effect> {
        let Some(i) = self.redoable("/retry") else {
            return Vec::new();
        };
        let old = &self.conv.turns[i];
        let seed = retry_seed(self.settings.sampling.seed, old.seed);
        let mut turn = Turn::queued(old.prompt.clone());
        turn.seed = seed;
        self.conv.turns[i] = turn;
        self.editing = None;
        self.caches.clear();
        self.select_live();
        let said = match seed {
            Some(s) => format!("Regenerating the last answer with seed {s}"),
            None => "Regenerating the last answer with a new random seed".into(),
        };
        self.notify_while_busy(Level::Info, said);
        self.dispatch_next()
    }

    /// `/edit`, or Up on an empty input after a turn: the last message back in the box. Its
    /// turn stays until the edited message is sent, so that nothing is lost by looking.
    pub(super) fn edit_last(&mut self) {
        let Some(i) = self.redoable("/edit") else {
            return;
        };
        let prompt = self.conv.turns[i].prompt.clone();
        self.input.put_back(&prompt);
        self.editing = Some(i);
        self.notify(
            Level::Info,
            "Editing your last message: Enter sends it in place of that turn and its answer; \
             Ctrl+C clears the box and keeps them",
        );
    }

    /// Before a message is queued: the turn being edited makes way for it.
    pub(super) fn replace_edited(&mut self) {
        if let Some(i) = self.editing.take() {
            let last = self.conv.turns.len().checked_sub(1);
            if last == Some(i) && self.conv.running().is_none() && self.conv.queued() == 0 {
                self.conv.turns.truncate(i);
                self.caches.clear();
            }
        }
    }

    /// `/queue`: the messages waiting, numbered in the order they will be sent.
    pub(super) fn list_queue(&mut self) {
        let queued: Vec<String> = self
            .conv
            .turns
            .iter()
            .filter(|t| t.is_queued())
            .enumerate()
            .map(|(n, t)| format!("{}. {}", n + 1, preview(&t.prompt)))
            .collect();
        let text = if queued.is_empty() {
            "Nothing is queued".to_string()
        } else {
            format!(
                "Queued: {} · /unqueue N removes one, /unqueue all every one",
                queued.join(" · ")
            )
        };
        self.notify(Level::Info, text);
    }

    /// `/unqueue`: removes queued messages (the running one is Esc's).
    pub(super) fn unqueue(&mut self, which: Unqueue) {
        let positions: Vec<usize> = (0..self.conv.turns.len())
            .filter(|i| self.conv.turns[*i].is_queued())
            .collect();
        let remove: Vec<usize> = match which {
            Unqueue::All => positions.clone(),
            Unqueue::Last => positions.last().copied().into_iter().collect(),
            Unqueue::Nth(n) => match positions.get(n - 1) {
                Some(i) => vec![*i],
                None => {
                    let text = match positions.len() {
                        0 => "/unqueue: nothing is queued".to_string(),
                        k => format!(
                            "/unqueue: there is no message {n}: {k} queued (/queue lists them)"
                        ),
                    };
                    self.notify(Level::Error, text);
                    return;
                }
            },
        };
        if remove.is_empty() {
            self.notify(Level::Info, "/unqueue: nothing is queued");
            return;
        }
        let said = match remove.as_slice() {
            [one] => format!(
                "Removed from the queue: {}",
                preview(&self.conv.turns[*one].prompt)
            ),
            many => format!("Removed {} messages from the queue", many.len()),
        };
        let first = remove[0];
        for i in remove.into_iter().rev() {
            self.conv.turns.remove(i);
        }
        // A selection at or after a removed turn would now point at another one.
        if self.ui.selected.is_some_and(|s| s >= first) {
            self.select_live();
        }
        self.caches.clear();
        self.notify(Level::Info, said);
    }
}

/// The start of a message, on one line, for a notice.
fn preview(prompt: &str) -> String {
    let one_line = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(40).collect();
    if one_line.chars().count() > 40 {
        short.push('…');
    }
    format!("“{}”", neutralise(&short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_seeds() {
        let table = [
            // (setting, used, retry)
            (None, None, None),
            (None, Some(7), None),
            (Some(RANDOM_SEED), Some(7), None),
            (Some(42), Some(42), Some(43)),
            (Some(42), None, Some(43)),
            (Some(42), Some(43), Some(44)),
            (Some(u32::MAX - 1), Some(u32::MAX - 1), Some(0)),
        ];
        for (fixed, used, want) in table {
            assert_eq!(retry_seed(fixed, used), want, "{fixed:?} {used:?}");
        }
    }
}
