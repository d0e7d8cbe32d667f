//! Incremental matching of tag text: a byte trie over the vocabulary's tag strings.
//!
//! A partially matched tag is just a trie node, so a tag split across any number of pieces
//! costs one step per byte and never a rescan. Because every valid tag holds exactly one `<`
//! (its first byte), a failed candidate can only overlap the next tag through the byte that
//! made it fail; the router resumes scanning at that byte, which keeps matching linear.

use super::channel::TagToken;
use super::tags::TagSet;

/// Node index in the trie.
pub(super) type Node = u32;

/// The node before any byte: its only child is `<` (when the vocabulary is not empty).
pub(super) const ROOT: Node = 0;

/// Outcome of feeding bytes to a partial match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A whole tag matched; `len` bytes of the input were used.
    Tag { len: usize, tag: TagToken },
    /// All input matched and the tag is still incomplete.
    Partial(Node),
    /// The byte at `at` cannot continue the match (everything before it could).
    Fail { at: usize },
}

#[derive(Clone, Debug, Default)]
struct TrieNode {
    edges: Vec<(u8, Node)>,
    tag: Option<TagToken>,
}

/// The vocabulary as a trie.
#[derive(Clone, Debug)]
pub(super) struct TagTrie {
    nodes: Vec<TrieNode>,
    max_len: usize,
}

impl TagTrie {
    pub(super) fn new(tags: &TagSet) -> TagTrie {
        let mut trie = TagTrie {
            nodes: vec![TrieNode::default()],
            max_len: 0,
        };
        for (text, tag) in tags.tags() {
            trie.insert(text.as_bytes(), tag);
        }
        trie
    }

    fn insert(&mut self, text: &[u8], tag: TagToken) {
        self.max_len = self.max_len.max(text.len());
        let mut node = ROOT;
        for &b in text {
            node = match self.child(node, b) {
                Some(next) => next,
                None => {
                    let next = Node::try_from(self.nodes.len()).unwrap_or(Node::MAX);
                    self.nodes.push(TrieNode::default());
                    if let Some(n) = self.nodes.get_mut(node as usize) {
                        n.edges.push((b, next));
                    }
                    next
                }
            };
        }
        // The first spelling of a tag wins if a (invalid) vocabulary repeats it.
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.tag.get_or_insert(tag);
        }
    }

    fn child(&self, node: Node, b: u8) -> Option<Node> {
        let n = self.nodes.get(node as usize)?;
        n.edges
            .iter()
            .find(|(eb, _)| *eb == b)
            .map(|&(_, next)| next)
    }

    /// Length in bytes of the longest tag (0 for an empty vocabulary).
    pub(super) fn max_len(&self) -> usize {
        self.max_len
    }

    /// Continue a match from `node` with `input`.
    pub(super) fn advance(&self, mut node: Node, input: &[u8]) -> Step {
        for (i, &b) in input.iter().enumerate() {
            match self.child(node, b) {
                None => return Step::Fail { at: i },
                Some(next) => {
                    node = next;
                    if let Some(tag) = self.nodes.get(node as usize).and_then(|n| n.tag) {
                        return Step::Tag { len: i + 1, tag };
                    }
                }
            }
        }
        Step::Partial(node)
    }
}

#[cfg(test)]
mod tests {
    use super::super::channel::Channel;
    use super::*;

    fn trie() -> TagTrie {
        TagTrie::new(&TagSet::default())
    }

    #[test]
    fn whole_tag_in_one_go() {
        assert_eq!(
            trie().advance(ROOT, b"</reflection> rest"),
            Step::Tag {
                len: 13,
                tag: TagToken::close(Channel::Reflection)
            }
        );
    }

    #[test]
    fn split_tag_continues_from_node() {
        let t = trie();
        let Step::Partial(node) = t.advance(ROOT, b"<thin") else {
            panic!("expected a partial match");
        };
        assert_eq!(
            t.advance(node, b"king>x"),
            Step::Tag {
                len: 5,
                tag: TagToken::open(Channel::Thinking)
            }
        );
    }

    #[test]
    fn failure_reports_failing_byte() {
        let t = trie();
        assert_eq!(t.advance(ROOT, b"< b"), Step::Fail { at: 1 });
        assert_eq!(t.advance(ROOT, b"<thinker>"), Step::Fail { at: 6 });
        assert_eq!(t.advance(ROOT, b"<<output>"), Step::Fail { at: 1 });
        assert_eq!(t.advance(ROOT, b"x"), Step::Fail { at: 0 });
    }

    #[test]
    fn case_sensitive() {
        assert_eq!(trie().advance(ROOT, b"<Output>"), Step::Fail { at: 1 });
    }

    #[test]
    fn max_len_is_longest_tag() {
        assert_eq!(trie().max_len(), "</reflection>".len());
        assert_eq!(
            TagTrie::new(&TagSet {
                thinking: vec![],
                reflection: vec![],
                output: vec![]
            })
            .max_len(),
            0
        );
    }

    #[test]
    fn empty_vocabulary_never_matches() {
        let t = TagTrie::new(&TagSet {
            thinking: vec![],
            reflection: vec![],
            output: vec![],
        });
        assert_eq!(t.advance(ROOT, b"<thinking>"), Step::Fail { at: 0 });
    }
}
