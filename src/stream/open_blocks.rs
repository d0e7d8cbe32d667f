//! Which blocks are open, and what each tag does to them: the decisions table as code.
//!
//! Pure and tiny on purpose: the router applies the effects (events, whitespace, fences);
//! this file only answers "given these open blocks and this tag, what now?".

use super::channel::{Channel, TagToken};

/// The top-level block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outer {
    /// No block open: text is the answer.
    Top,
    Thinking,
    /// Inside `<output>`.
    Output,
}

/// Open blocks: a top-level block, possibly with a reflection nested in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Blocks {
    pub(super) outer: Outer,
    pub(super) reflection: bool,
}

/// Why a tag was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dropped {
    /// Closing tag of a block that is not open.
    Stray,
    /// Opening tag of a block that is already open.
    Repeated,
}

/// What a tag does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    Dropped(Dropped),
    Moved {
        next: Blocks,
        /// Blocks closed, innermost first.
        closed: [Option<Channel>; 2],
        opened: Option<Channel>,
    },
}

impl Blocks {
    pub(super) fn new(start_in_thinking: bool) -> Blocks {
        Blocks {
            outer: if start_in_thinking {
                Outer::Thinking
            } else {
                Outer::Top
            },
            reflection: false,
        }
    }

    /// The channel text goes to.
    pub(super) fn channel(self) -> Channel {
        match (self.reflection, self.outer) {
            (true, _) => Channel::Reflection,
            (false, Outer::Thinking) => Channel::Thinking,
            (false, Outer::Top | Outer::Output) => Channel::Output,
        }
    }

    pub(super) fn is_open(self, channel: Channel) -> bool {
        match channel {
            Channel::Thinking => self.outer == Outer::Thinking,
            Channel::Reflection => self.reflection,
            Channel::Output => self.outer == Outer::Output,
        }
    }

    /// Open blocks, outermost first.
    pub(super) fn open_blocks(self) -> Vec<Channel> {
        let outer = match self.outer {
            Outer::Top => None,
            Outer::Thinking => Some(Channel::Thinking),
            Outer::Output => Some(Channel::Output),
        };
        outer
            .into_iter()
            .chain(self.reflection.then_some(Channel::Reflection))
            .collect()
    }

    /// Blocks closed when the whole stack is unwound, innermost first.
    fn unwind(self) -> [Option<Channel>; 2] {
        let outer = match self.outer {
            Outer::Top => None,
            Outer::Thinking => Some(Channel::Thinking),
            Outer::Output => Some(Channel::Output),
        };
        [self.reflection.then_some(Channel::Reflection), outer]
    }

    /// Apply a tag.
    pub(super) fn apply(self, tag: TagToken) -> Effect {
        let open = self.is_open(tag.channel);
        match (tag.closing, tag.channel) {
            (true, _) if !open => Effect::Dropped(Dropped::Stray),
            (false, _) if open => Effect::Dropped(Dropped::Repeated),
            (true, Channel::Reflection) => Effect::Moved {
                next: Blocks {
                    reflection: false,
                    ..self
                },
                closed: [Some(Channel::Reflection), None],
                opened: None,
            },
            // The first closing tag wins: closing the outer block closes a nested reflection.
            (true, Channel::Thinking | Channel::Output) => Effect::Moved {
                next: Blocks::new(false),
                closed: self.unwind(),
                opened: None,
            },
            (false, Channel::Reflection) => Effect::Moved {
                next: Blocks {
                    reflection: true,
                    ..self
                },
                closed: [None, None],
                opened: Some(Channel::Reflection),
            },
            // A new top-level block implicitly closes whatever is open.
            (false, channel @ (Channel::Thinking | Channel::Output)) => Effect::Moved {
                next: Blocks {
                    outer: if channel == Channel::Thinking {
                        Outer::Thinking
                    } else {
                        Outer::Output
                    },
                    reflection: false,
                },
                closed: self.unwind(),
                opened: Some(channel),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Channel = Channel::Thinking;
    const R: Channel = Channel::Reflection;
    const O: Channel = Channel::Output;

    fn state(name: &str) -> Blocks {
        let (outer, reflection) = match name {
            "top" => (Outer::Top, false),
            "think" => (Outer::Thinking, false),
            "think+refl" => (Outer::Thinking, true),
            "out" => (Outer::Output, false),
            "refl" => (Outer::Top, true),
            "out+refl" => (Outer::Output, true),
            _ => panic!("unknown state {name}"),
        };
        Blocks { outer, reflection }
    }

    fn name(b: Blocks) -> &'static str {
        match (b.outer, b.reflection) {
            (Outer::Top, false) => "top",
            (Outer::Thinking, false) => "think",
            (Outer::Thinking, true) => "think+refl",
            (Outer::Output, false) => "out",
            (Outer::Top, true) => "refl",
            (Outer::Output, true) => "out+refl",
        }
    }

    /// Outcome as text: the next state, or "stray" / "repeated".
    fn outcome(from: &str, tag: TagToken) -> String {
        match state(from).apply(tag) {
            Effect::Dropped(Dropped::Stray) => "stray".into(),
            Effect::Dropped(Dropped::Repeated) => "repeated".into(),
            Effect::Moved { next, .. } => name(next).into(),
        }
    }

    /// The decisions table of mod.rs, row by row.
    #[test]
    fn decisions_table() {
        let states = ["top", "think", "think+refl", "out", "refl", "out+refl"];
        let rows: [(TagToken, [&str; 6]); 6] = [
            (
                TagToken::open(T),
                ["think", "repeated", "repeated", "think", "think", "think"],
            ),
            (
                TagToken::close(T),
                ["stray", "top", "top", "stray", "stray", "stray"],
            ),
            (
                TagToken::open(R),
                [
                    "refl",
                    "think+refl",
                    "repeated",
                    "out+refl",
                    "repeated",
                    "repeated",
                ],
            ),
            (
                TagToken::close(R),
                ["stray", "stray", "think", "stray", "top", "out"],
            ),
            (
                TagToken::open(O),
                ["out", "out", "out", "repeated", "out", "repeated"],
            ),
            (
                TagToken::close(O),
                ["stray", "stray", "stray", "top", "stray", "top"],
            ),
        ];
        for (tag, expected) in rows {
            for (from, want) in states.iter().zip(expected) {
                assert_eq!(outcome(from, tag), want, "{tag:?} in {from}");
            }
        }
    }

    #[test]
    fn closing_outer_closes_nested_reflection_first() {
        let Effect::Moved { closed, .. } = state("think+refl").apply(TagToken::close(T)) else {
            panic!("expected a move");
        };
        assert_eq!(closed, [Some(R), Some(T)]);
        let Effect::Moved { closed, opened, .. } = state("think+refl").apply(TagToken::open(O))
        else {
            panic!("expected a move");
        };
        assert_eq!((closed, opened), ([Some(R), Some(T)], Some(O)));
    }

    #[test]
    fn channels_and_open_blocks() {
        assert_eq!(state("top").channel(), O);
        assert_eq!(state("out").channel(), O);
        assert_eq!(state("think").channel(), T);
        assert_eq!(state("out+refl").channel(), R);
        assert_eq!(state("think+refl").open_blocks(), [T, R]);
        assert!(state("top").open_blocks().is_empty());
        assert_eq!(Blocks::new(true), state("think"));
    }
}
