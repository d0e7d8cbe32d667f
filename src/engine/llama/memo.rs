//! The tokens of the last prompt and of what the model generated after it, with the text they
//! spell: a next prompt that starts with that text (a conversation that shows earlier turns as
//! the model wrote them) reuses those tokens instead of re-tokenizing them, so it matches the KV
//! cache token for token and re-tokenizing cannot split the model's own text differently.

use llama_cpp_2::token::LlamaToken;
use serde::{Deserialize, Serialize};

/// Tokens and the text they spell, with the token boundaries from the end of the prompt on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Memo {
    /// The rendered prompt (without the begin-of-text token) and then the generated pieces.
    text: Vec<u8>,
    /// The prompt's tokens (the begin-of-text token included), then the generated ones.
    tokens: Vec<LlamaTokenId>,
    /// How many of `tokens` are the prompt's.
    prompt_tokens: usize,
    /// Where the text of each generated token ends; the prompt's text ends at `prompt_bytes`.
    ends: Vec<usize>,
    prompt_bytes: usize,
}

/// A token id as saved beside a state file.
type LlamaTokenId = i32;

impl Memo {
    /// The prompt `text` and the tokens it was tokenized into.
    pub(super) fn new(text: &str, tokens: &[LlamaToken]) -> Memo {
        Memo {
            text: text.as_bytes().to_vec(),
            tokens: tokens.iter().map(|t| t.0).collect(),
            prompt_tokens: tokens.len(),
            ends: Vec::new(),
            prompt_bytes: text.len(),
        }
    }

    /// A generated token and its piece (special tokens spelled out, as a template would
    /// write them back).
    pub(super) fn push(&mut self, token: LlamaToken, piece: &[u8]) {
        self.tokens.push(token.0);
        self.text.extend_from_slice(piece);
        self.ends.push(self.text.len());
    }

    /// The generated text.
    pub(super) fn generated(&self) -> &[u8] {
        &self.text[self.prompt_bytes..]
    }

    /// The longest run of tokens whose text `new` starts with, ending at a token boundary no
    /// earlier than the end of the prompt: `(tokens, bytes)`, or `None` when `new` does not
    /// start with the whole prompt. The caller checks that the rest of `new` starts where a
    /// tokenizer would split anyway (a special token).
    pub(super) fn reusable(&self, new: &[u8]) -> Option<(&[LlamaTokenId], usize)> {
        let common = self
            .text
            .iter()
            .zip(new)
            .take_while(|(a, b)| a == b)
            .count();
        if common < self.prompt_bytes {
            return None;
        }
        let end = |n: usize| {
            if n == 0 {
                self.prompt_bytes
            } else {
                self.ends[n - 1]
            }
        };
        let mut generated = self.ends.partition_point(|&e| e <= common);
        // Tokens that spell nothing at the end of the run are not part of the new text.
        while generated > 0 && end(generated) == end(generated - 1) {
            generated -= 1;
        }
        Some((
            &self.tokens[..self.prompt_tokens + generated],
            end(generated),
        ))
    }

    /// Whether this memo can stand for the KV cache restored from a state file: it holds the
    /// cache's tokens and at most one more (the last sampled one, not decoded when generation
    /// stopped right after it), with ids in the vocabulary and ends in order.
    pub(super) fn consistent(&self, cached: &[LlamaToken], n_vocab: i32) -> bool {
        let ends_ok = match (self.ends.first(), self.ends.last()) {
            (Some(&first), Some(&last)) => {
                first >= self.prompt_bytes
                    && last == self.text.len()
                    && self.ends.windows(2).all(|w| w[0] <= w[1])
            }
            _ => self.prompt_bytes == self.text.len(),
        };
        ends_ok
            && self.prompt_tokens + self.ends.len() == self.tokens.len()
            && self.tokens.iter().all(|&t| (0..n_vocab).contains(&t))
            && self.tokens.len() >= cached.len()
            && self.tokens.len() <= cached.len() + 1
            && self.tokens.iter().zip(cached).all(|(a, b)| *a == b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo() -> Memo {
        // Prompt "P<|a|>" as tokens 1 (BOS), 2, 3; then generated "ab", "c", "<x>".
        let mut m = Memo::new("P<|a|>", &[LlamaToken(1), LlamaToken(2), LlamaToken(3)]);
        m.push(LlamaToken(10), b"ab");
        m.push(LlamaToken(11), b"c");
        m.push(LlamaToken(12), b"<x>");
        m
    }

    #[test]
    fn reuses_the_longest_run_of_whole_tokens_the_new_text_starts_with() {
        let m = memo();
        type Reused<'a> = Option<(&'a [i32], usize)>;
        let cases: [(&str, Reused); 7] = [
            (
                "P<|a|>abc<x><|eot|>next",
                Some((&[1, 2, 3, 10, 11, 12], 12)),
            ),
            ("P<|a|>abc<x>", Some((&[1, 2, 3, 10, 11, 12], 12))),
            // The text differs inside "<x>": the tokens up to "c" are reused.
            ("P<|a|>abc<y>", Some((&[1, 2, 3, 10, 11], 9))),
            // Inside the first generated token: only the prompt.
            ("P<|a|>a", Some((&[1, 2, 3], 6))),
            ("P<|a|>zzz", Some((&[1, 2, 3], 6))),
            // Not even the whole prompt: nothing.
            ("P<|a", None),
            ("Q", None),
        ];
        for (new, want) in cases {
            assert_eq!(m.reusable(new.as_bytes()), want, "{new:?}");
        }
        assert_eq!(m.generated(), b"abc<x>");
    }

    #[test]
    fn tokens_that_spell_nothing_are_not_reused_at_the_end_of_the_run() {
        let mut m = Memo::new("P", &[LlamaToken(1), LlamaToken(2)]);
        m.push(LlamaToken(10), b"");
        m.push(LlamaToken(11), b"ab");
        m.push(LlamaToken(12), b"");
        m.push(LlamaToken(13), b"c");
        assert_eq!(
            m.reusable(b"Pz"),
            Some((&[1, 2][..], 1)),
            "not the empty first one"
        );
        assert_eq!(m.reusable(b"Pab<"), Some((&[1, 2, 10, 11][..], 3)));
        assert_eq!(m.reusable(b"Pabc"), Some((&[1, 2, 10, 11, 12, 13][..], 4)));
    }

    #[test]
    fn a_memo_stands_for_the_cache_it_was_saved_with() {
        let m = memo();
        let t = |ids: &[i32]| ids.iter().map(|&i| LlamaToken(i)).collect::<Vec<_>>();
        assert!(m.consistent(&t(&[1, 2, 3, 10, 11, 12]), 100));
        assert!(
            m.consistent(&t(&[1, 2, 3, 10, 11]), 100),
            "last not decoded"
        );
        assert!(!m.consistent(&t(&[1, 2, 3, 10]), 100), "two short");
        assert!(!m.consistent(&t(&[1, 2, 4, 10, 11]), 100), "other tokens");
        assert!(
            !m.consistent(&t(&[1, 2, 3, 10, 11, 12]), 12),
            "id out of vocabulary"
        );
        let mut broken = m.clone();
        broken.ends[1] = 100;
        assert!(!broken.consistent(&t(&[1, 2, 3, 10, 11, 12]), 100));
        let mut broken = m;
        broken.tokens.push(13);
        assert!(!broken.consistent(&t(&[1, 2, 3, 10, 11, 12, 13]), 100));
    }
}
