//! A memo of wrapped lines per block (a message, a paragraph of thinking, a reflection), keyed
//! by what the block is and checked against its fingerprint, the width and the theme. Appending
//! streamed text changes only the last block's fingerprint, so only it is wrapped again; a
//! frame wraps only blocks it has not seen at this width.
//!
//! It is derived data, not state (owned by the app's state in [`super::Caches`]): the view and
//! the reducer (measuring for scrolling) fill it through a shared reference, hence the `RefCell`.

pub use super::lines::Lines;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// Which block a memo entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// 0 the conversation, 1 thinking, 2 reflections.
    pub pane: u8,
    /// The turn (`usize::MAX` for a pane's placeholder).
    pub turn: usize,
    /// Which part of the turn: the message or the answer, a thinking part, a reflection.
    pub part: usize,
    /// Where in the part (a byte offset for a run of a long thinking part).
    pub at: usize,
}

impl Key {
    pub const fn new(pane: u8, turn: usize, part: usize, at: usize) -> Key {
        Key {
            pane,
            turn,
            part,
            at,
        }
    }
}

struct Entry {
    fingerprint: u64,
    width: u16,
    theme_rev: u64,
    lines: Lines,
}

/// The memo.
#[derive(Default)]
pub struct LineCache {
    map: RefCell<HashMap<Key, Entry>>,
}

impl fmt::Debug for LineCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.map.try_borrow().map_or(0, |m| m.len());
        write!(f, "LineCache({n} blocks)")
    }
}

impl LineCache {
    /// The block's lines, wrapped by `render` unless the memo has them for this fingerprint,
    /// width and theme.
    pub fn get(
        &self,
        key: Key,
        fingerprint: u64,
        width: u16,
        theme_rev: u64,
        render: impl FnOnce() -> Lines,
    ) -> Lines {
        if let Ok(map) = self.map.try_borrow() {
            if let Some(e) = map.get(&key) {
                if e.fingerprint == fingerprint && e.width == width && e.theme_rev == theme_rev {
                    return e.lines.clone();
                }
            }
        }
        let lines = render();
        if let Ok(mut map) = self.map.try_borrow_mut() {
            map.insert(
                key,
                Entry {
                    fingerprint,
                    width,
                    theme_rev,
                    lines: lines.clone(),
                },
            );
        }
        lines
    }

    /// Forgets everything (a new conversation reuses turn numbers).
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.try_borrow_mut() {
            map.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.map.try_borrow().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::text::Line;
    use std::cell::Cell;

    #[test]
    fn lines_are_wrapped_again_only_when_something_changed() {
        let cache = LineCache::default();
        let calls = Cell::new(0);
        let render = || {
            calls.set(calls.get() + 1);
            Lines::from(vec![Line::from("x")])
        };
        cache.get(Key::new(0, 0, 0, 0), 1, 80, 0, render);
        cache.get(Key::new(0, 0, 0, 0), 1, 80, 0, render);
        assert_eq!(calls.get(), 1);
        cache.get(Key::new(0, 0, 0, 0), 2, 80, 0, render);
        cache.get(Key::new(0, 0, 0, 0), 2, 60, 0, render);
        cache.get(Key::new(0, 0, 0, 0), 2, 60, 1, render);
        assert_eq!(calls.get(), 4);
        cache.get(Key::new(0, 1, 0, 0), 2, 60, 1, render);
        assert_eq!(cache.len(), 2);
    }
}
