//! The tag vocabulary as data: which tag names open and close each channel's block.
//!
//! Profiles choose the vocabulary (`<thinking>`/`<reflection>`/`<output>` for Reflection-style
//! models, `<think>` for later reasoning models); the router and the engine only see this set.

use super::channel::{Channel, TagToken};

/// Tag names per channel, without angle brackets. Default: thinking/reflection/output.
///
/// A channel may have several names (all equivalent) or none (its block can then only be
/// opened by a tag token). The first name is the canonical one, used to spell tag tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagSet {
    pub thinking: Vec<String>,
    pub reflection: Vec<String>,
    pub output: Vec<String>,
}

impl Default for TagSet {
    fn default() -> Self {
        TagSet {
            thinking: vec!["thinking".to_owned()],
            reflection: vec!["reflection".to_owned()],
            output: vec!["output".to_owned()],
        }
    }
}

impl TagSet {
    /// The `<think>…</think>` family: thinking is `think`, the others keep their default names.
    pub fn think() -> Self {
        TagSet {
            thinking: vec!["think".to_owned()],
            ..TagSet::default()
        }
    }

    /// The names of one channel's tags.
    pub fn names(&self, channel: Channel) -> &[String] {
        match channel {
            Channel::Thinking => &self.thinking,
            Channel::Reflection => &self.reflection,
            Channel::Output => &self.output,
        }
    }

    /// Every tag string with what it means, e.g. `("<thinking>", open Thinking)` and
    /// `("</thinking>", close Thinking)`, channel by channel, opening before closing.
    /// The engine tokenizes each to find single special tokens.
    pub fn tags(&self) -> Vec<(String, TagToken)> {
        let mut out = Vec::new();
        for channel in Channel::ALL {
            for name in self.names(channel) {
                out.push((format!("<{name}>"), TagToken::open(channel)));
                out.push((format!("</{name}>"), TagToken::close(channel)));
            }
        }
        out
    }

    /// How a tag token is spelled: the channel's first name, or the channel's own name when
    /// the channel has no names.
    pub fn canonical(&self, tag: TagToken) -> String {
        let name = self
            .names(tag.channel)
            .first()
            .map_or(tag.channel.as_str(), String::as_str);
        let slash = if tag.closing { "/" } else { "" };
        format!("<{slash}{name}>")
    }

    /// Names must be non-empty, free of `<`, `>`, `/` and whitespace, and belong to one
    /// channel only. The router relies on this: every tag then holds exactly one `<` (its
    /// first byte), which is what makes matching linear.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen: Vec<(&str, Channel)> = Vec::new();
        for channel in Channel::ALL {
            for name in self.names(channel) {
                if name.is_empty() {
                    return Err(format!("empty tag name for {}", channel.as_str()));
                }
                if let Some(bad) = name
                    .chars()
                    .find(|c| matches!(c, '<' | '>' | '/') || c.is_whitespace())
                {
                    return Err(format!(
                        "tag name {name:?} ({}) contains {bad:?}",
                        channel.as_str()
                    ));
                }
                if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name.as_str()) {
                    if *other != channel {
                        return Err(format!(
                            "tag name {name:?} is used by both {} and {}",
                            other.as_str(),
                            channel.as_str()
                        ));
                    }
                }
                seen.push((name, channel));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(thinking: &[&str], reflection: &[&str], output: &[&str]) -> TagSet {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        TagSet {
            thinking: v(thinking),
            reflection: v(reflection),
            output: v(output),
        }
    }

    #[test]
    fn default_tags_in_order() {
        let tags: Vec<String> = TagSet::default().tags().into_iter().map(|t| t.0).collect();
        assert_eq!(
            tags,
            [
                "<thinking>",
                "</thinking>",
                "<reflection>",
                "</reflection>",
                "<output>",
                "</output>"
            ]
        );
    }

    #[test]
    fn tags_carry_meaning() {
        let tags = TagSet::think().tags();
        assert!(tags.contains(&("</think>".to_owned(), TagToken::close(Channel::Thinking))));
        assert!(tags.contains(&("<output>".to_owned(), TagToken::open(Channel::Output))));
    }

    #[test]
    fn several_names_per_channel() {
        let tags = set(&["think", "thinking"], &[], &["output"]).tags();
        assert_eq!(tags.len(), 6);
        assert!(tags.contains(&("<thinking>".to_owned(), TagToken::open(Channel::Thinking))));
    }

    #[test]
    fn canonical_spelling() {
        let s = set(&["think", "thinking"], &[], &["answer"]);
        assert_eq!(s.canonical(TagToken::open(Channel::Thinking)), "<think>");
        assert_eq!(s.canonical(TagToken::close(Channel::Output)), "</answer>");
        assert_eq!(
            s.canonical(TagToken::close(Channel::Reflection)),
            "</reflection>"
        );
    }

    #[test]
    fn validate_accepts_defaults() {
        assert_eq!(TagSet::default().validate(), Ok(()));
        assert_eq!(TagSet::think().validate(), Ok(()));
        assert_eq!(set(&["思考"], &[], &[]).validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_bad_names() {
        for bad in ["", "a<b", "a>b", "a/b", "a b", "a\nb"] {
            assert!(
                set(&[bad], &["reflection"], &["output"])
                    .validate()
                    .is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn validate_rejects_shared_names() {
        let err = set(&["x"], &["reflection"], &["x"]).validate();
        assert!(err.is_err_and(|e| e.contains("both")));
        assert_eq!(set(&["x", "x"], &[], &[]).validate(), Ok(()));
    }
}
