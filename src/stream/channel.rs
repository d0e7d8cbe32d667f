//! The three channels a reasoning model's output is routed into, and what a tag token means.
//!
//! Kept apart from the router so that the engine, the panes and the JSON writer can name
//! channels and tags without depending on the routing machinery.

/// Where a piece of model text belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Reasoning inside the thinking block.
    Thinking,
    /// A reflection block (normally nested in thinking).
    Reflection,
    /// The answer: the output block, and any untagged text.
    Output,
}

impl Channel {
    /// All channels, in display order.
    pub const ALL: [Channel; 3] = [Channel::Thinking, Channel::Reflection, Channel::Output];

    /// Lower-case name: `"thinking"`, `"reflection"` or `"output"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Thinking => "thinking",
            Channel::Reflection => "reflection",
            Channel::Output => "output",
        }
    }
}

/// The meaning of a tag: which channel's block it opens or closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TagToken {
    /// The block the tag belongs to.
    pub channel: Channel,
    /// `true` for `</name>`, `false` for `<name>`.
    pub closing: bool,
}

impl TagToken {
    /// The opening tag of `channel`'s block.
    pub const fn open(channel: Channel) -> TagToken {
        TagToken {
            channel,
            closing: false,
        }
    }

    /// The closing tag of `channel`'s block.
    pub const fn close(channel: Channel) -> TagToken {
        TagToken {
            channel,
            closing: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_channel_names() {
        let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["thinking", "reflection", "output"]);
    }

    #[test]
    fn constructors_set_direction() {
        assert!(!TagToken::open(Channel::Output).closing);
        assert!(TagToken::close(Channel::Output).closing);
        assert_eq!(
            TagToken::close(Channel::Thinking).channel,
            Channel::Thinking
        );
    }
}
