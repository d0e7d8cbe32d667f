//! Scripted models: real GGUF files whose answer to any chat prompt is a fixed list of pieces.
//!
//! A one-layer llama whose attention and feed-forward weights are zero leaves the residual
//! stream equal to the current token's one-hot embedding; the output matrix is then a bigram
//! table in which each token's successor wins by a logit margin of 100. The Llama 3 generation
//! prompt ends with "\n\n", which this vocabulary tokenizes to the byte token `<0x0A>`: that token
//! leads to the first piece, and the last piece leads to `<|eot_id|>`. The margin makes the script
//! come out the same under greedy and under temperature 0.7 / top_p 0.95 sampling.

use super::format::GgufType;
use super::llama::{llama_writer, ChatTokens, LlamaShape, LlamaVocabSpec, TokenKind};
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptItem {
    /// A new normal token with this text.
    Text(String),
    /// A new control (special) token with this text, e.g. `<thinking>` as in Reflection-70B.
    Special(String),
    /// One of the 256 byte tokens (for characters split across tokens).
    Byte(u8),
}

impl ScriptItem {
    pub fn text(s: &str) -> Self {
        ScriptItem::Text(s.to_string())
    }
    pub fn special(s: &str) -> Self {
        ScriptItem::Special(s.to_string())
    }
}

/// Which chat template the model file carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateStyle {
    /// Llama 3's template, which llama.cpp recognises.
    Llama3,
    /// No `tokenizer.chat_template` at all.
    Missing,
    /// A template llama.cpp does not recognise.
    Unrecognised,
}

/// A model that answers every prompt with `items`, then ends its turn.
#[derive(Clone, Debug)]
pub struct ScriptedModel {
    pub name: String,
    pub items: Vec<ScriptItem>,
    /// The vocabulary's chat control tokens (the template goes with Llama 3's only).
    pub chat_tokens: ChatTokens,
    /// `general.architecture`: another than `llama` makes a file llama.cpp reads the
    /// vocabulary of (`--print-prompt`, `models info`) but cannot run.
    pub architecture: String,
    /// The byte the prompt ends with, which leads to the script: `\n` for the chat formats
    /// that end with a newline, `:` for the plain format's "Assistant:".
    pub start: u8,
    pub template: TemplateStyle,
    pub context_length: u32,
    /// Extra width and depth that change nothing in the output but make each token cost more
    /// compute: lets tests cancel a generation that is still running.
    pub padding: Padding,
    /// Loop forever: the last piece leads back to the first instead of ending the turn (for
    /// benchmarks that stream thousands of tokens; stop them with `--max-tokens`).
    pub cycle: bool,
    /// The template the file carries instead of `template`'s (e.g. one that takes tools).
    pub chat_template: Option<String>,
    /// The special token the script ends with instead of the end of turn, e.g. `<|eom_id|>`
    /// (Llama 3.1's "waiting for a tool result"; llama.cpp ends generation there too).
    pub end: Option<String>,
    /// A second script, with the special token that leads to it: a template that writes that
    /// token at the end of some prompts (e.g. after a tool result) gets this answer instead.
    /// Its pieces must differ from the first script's.
    pub second: Option<(String, Vec<ScriptItem>)>,
}

/// Minimum embedding width and layer count of a scripted model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Padding {
    pub min_embd: u64,
    pub layers: u64,
}

impl Default for Padding {
    fn default() -> Self {
        Padding {
            min_embd: 64,
            layers: 1,
        }
    }
}

const MARGIN: f32 = 100.0;

impl ScriptedModel {
    pub fn new(items: Vec<ScriptItem>) -> Self {
        ScriptedModel {
            name: "reflect-scripted".into(),
            items,
            chat_tokens: ChatTokens::Llama3,
            architecture: "llama".into(),
            start: b'\n',
            template: TemplateStyle::Llama3,
            context_length: 4096,
            padding: Padding::default(),
            cycle: false,
            chat_template: None,
            end: None,
            second: None,
        }
    }

    /// A script of plain-text pieces.
    pub fn from_texts(pieces: &[&str]) -> Self {
        Self::new(pieces.iter().map(|p| ScriptItem::text(p)).collect())
    }

    /// The vocabulary and the chains of token ids (the start token, the script, then the end
    /// of turn or the loop back; then the second script's, when there is one). Fails when the
    /// script cannot be expressed as a bigram chain: a token used twice, an empty piece, or a
    /// piece that is exactly "\n" (the start token).
    fn vocabulary(&self) -> io::Result<(LlamaVocabSpec, Vec<Vec<u32>>)> {
        let mut vocab = LlamaVocabSpec::with_chat(self.chat_tokens);
        vocab.chat_template = match self.template {
            TemplateStyle::Llama3 => Some(super::llama::LLAMA3_TEMPLATE.to_string())
                .filter(|_| self.chat_tokens == ChatTokens::Llama3),
            TemplateStyle::Missing => None,
            TemplateStyle::Unrecognised => {
                Some("{{ messages | tojson }} [[made-up format]]".into())
            }
        };
        if let Some(t) = &self.chat_template {
            vocab.chat_template = Some(t.clone());
        }
        let mut seen: HashMap<String, u32> = vocab
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.text.clone(), i as u32))
            .collect();
        let mut used = Vec::new();
        let start = LlamaVocabSpec::byte_token(self.start);
        let mut chain = vec![start];
        self.extend_chain(&mut vocab, &mut seen, &mut used, &mut chain, &self.items)?;
        let last = match (self.cycle, chain.get(1), &self.end) {
            (true, Some(first), _) => *first,
            (false, _, Some(end)) => {
                let end = [ScriptItem::special(end)];
                self.extend_chain(&mut vocab, &mut seen, &mut used, &mut chain, &end)?;
                chain.pop().expect("the end token")
            }
            _ => vocab.eot,
        };
        chain.push(last);
        let mut chains = vec![chain];
        if let Some((lead, items)) = &self.second {
            let mut second = Vec::new();
            let lead = [ScriptItem::special(lead)];
            self.extend_chain(&mut vocab, &mut seen, &mut used, &mut second, &lead)?;
            self.extend_chain(&mut vocab, &mut seen, &mut used, &mut second, items)?;
            second.push(vocab.eot);
            chains.push(second);
        }
        Ok((vocab, chains))
    }

    /// Adds `items` to `chain`, each a new token (or a byte token), none used before.
    fn extend_chain(
        &self,
        vocab: &mut LlamaVocabSpec,
        seen: &mut HashMap<String, u32>,
        used: &mut Vec<u32>,
        chain: &mut Vec<u32>,
        items: &[ScriptItem],
    ) -> io::Result<()> {
        let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        if used.is_empty() {
            used.extend(chain.iter().copied());
        }
        for item in items {
            let id = match item {
                ScriptItem::Byte(b) => LlamaVocabSpec::byte_token(*b),
                ScriptItem::Text(s) | ScriptItem::Special(s) => {
                    if s.is_empty() || s.as_bytes() == [self.start] {
                        return Err(bad(format!("script piece {s:?} cannot be a token")));
                    }
                    let kind = match item {
                        ScriptItem::Special(_) => TokenKind::Control,
                        _ => TokenKind::Normal,
                    };
                    let stored = if kind == TokenKind::Normal {
                        s.replace(' ', "\u{2581}")
                    } else {
                        s.clone()
                    };
                    if seen.contains_key(&stored) {
                        return Err(bad(format!(
                            "script piece {s:?} is used twice or clashes with a built-in token"
                        )));
                    }
                    let id = vocab.push(s, kind);
                    seen.insert(stored, id);
                    id
                }
            };
            if used.contains(&id) {
                return Err(bad(format!("script token {item:?} is used twice")));
            }
            used.push(id);
            chain.push(id);
        }
        Ok(())
    }

    /// Writes a Hugging Face `tokenizer.json` that tokenizes text as llama.cpp does with this
    /// model's vocabulary (for endpoints counted with the `tokenizers` crate). Fails for a
    /// script with a piece SentencePiece could build from its characters (see
    /// [`super::tokenizer_json`]).
    pub fn write_tokenizer(&self, path: &Path) -> io::Result<()> {
        let (vocab, _) = self.vocabulary()?;
        let json = super::tokenizer_json(&vocab)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        std::fs::write(path, json)
    }

    /// Writes the model file. Fails when the script cannot be expressed as a bigram chain: a
    /// token used twice, an empty piece, or a piece that is exactly "\n" (the start token).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let (vocab, chains) = self.vocabulary()?;
        let shape = self.shape(contexts(&chains));
        self.writer(&shape, &vocab, &chains)?.write_file(path)
    }

    /// Writes the model split into `parts` files (`PREFIX-00001-of-0000N.gguf`, …); returns
    /// their paths, the one to load first.
    pub fn write_split(&self, prefix: &Path, parts: usize) -> io::Result<Vec<std::path::PathBuf>> {
        let (vocab, chains) = self.vocabulary()?;
        let shape = self.shape(contexts(&chains));
        self.writer(&shape, &vocab, &chains)?
            .write_split(prefix, parts)
    }

    /// Dimension 0 is shared by every token that is not part of the chain and leads to the
    /// end of the turn; each of the `contexts` chain tokens gets a dimension of its own.
    fn shape(&self, contexts: usize) -> LlamaShape {
        let n_embd =
            ((contexts as u64 + 1).div_ceil(64) * 64).max(self.padding.min_embd.div_ceil(64) * 64);
        LlamaShape {
            name: self.name.clone(),
            n_embd,
            n_layer: self.padding.layers.max(1),
            n_ff: n_embd,
            n_head: n_embd / 64,
            context_length: self.context_length,
            ty: GgufType::F32,
            norm_ty: GgufType::F32,
        }
    }

    fn writer(
        &self,
        shape: &LlamaShape,
        vocab: &LlamaVocabSpec,
        chains: &[Vec<u32>],
    ) -> io::Result<super::writer::GgufWriter> {
        let n_embd = shape.n_embd;
        let n_vocab = vocab.len() as u64;
        let mut dim_of = vec![0u64; vocab.len()];
        let context_tokens = chains.iter().flat_map(|c| &c[..c.len() - 1]);
        for (i, id) in context_tokens.enumerate() {
            dim_of[*id as usize] = i as u64 + 1;
        }
        // After RMS normalisation a one-hot vector has the value sqrt(n_embd).
        let weight = MARGIN / (n_embd as f32).sqrt();
        Ok(llama_writer(
            shape,
            vocab,
            &[],
            &self.architecture,
            |name, dims| {
                let n: u64 = dims.iter().product();
                let mut v = vec![0f32; n as usize];
                match name {
                    "token_embd.weight" => {
                        for tok in 0..n_vocab {
                            v[(tok * n_embd + dim_of[tok as usize]) as usize] = 1.0;
                        }
                    }
                    "output.weight" => {
                        v[(u64::from(vocab.eot) * n_embd) as usize] = weight;
                        for pair in chains.iter().flat_map(|c| c.windows(2)) {
                            let (ctx, next) = (pair[0], pair[1]);
                            v[(u64::from(next) * n_embd + dim_of[ctx as usize]) as usize] = weight;
                        }
                    }
                    n if n.ends_with("norm.weight") => v.fill(1.0),
                    _ => {}
                }
                v
            },
        ))
    }
}

/// The tokens that lead somewhere: each chain's but its last.
fn contexts(chains: &[Vec<u32>]) -> usize {
    chains.iter().map(|c| c.len() - 1).sum()
}

/// Splits `text` into word-sized pieces that are unique in `used` (repeated words are merged
/// with their neighbours), appending them to `out`. Lets tests and the demo write long scripts
/// as prose.
pub fn push_prose(
    text: &str,
    used: &mut std::collections::HashSet<String>,
    out: &mut Vec<ScriptItem>,
) {
    // Each word carries the separator before it, as tokenizers do: "the", " cat", "\nsat".
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if (c == ' ' || c == '\n') && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    words.push(cur);
    let mut pending = String::new();
    for w in words {
        pending.push_str(&w);
        if pending.trim().is_empty() || used.contains(&pending) {
            continue;
        }
        used.insert(pending.clone());
        out.push(ScriptItem::Text(std::mem::take(&mut pending)));
    }
    if !pending.is_empty() {
        if let Some(ScriptItem::Text(last)) = out.last_mut() {
            used.remove(last.as_str());
            last.push_str(&pending);
            used.insert(last.clone());
        } else {
            out.push(ScriptItem::Text(pending));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(items: &[ScriptItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                ScriptItem::Text(s) => s.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn prose_is_split_into_unique_pieces_that_rebuild_the_text() {
        let text = "the cat and the dog and the bird\nsat on the mat.";
        let mut used = Default::default();
        let mut out = Vec::new();
        push_prose(text, &mut used, &mut out);
        let pieces = texts(&out);
        assert_eq!(pieces.concat(), text);
        let unique: std::collections::HashSet<_> = pieces.iter().collect();
        assert_eq!(unique.len(), pieces.len(), "{pieces:?}");
        assert!(pieces.iter().all(|p| p != "\n" && !p.is_empty()));
    }

    #[test]
    fn a_token_used_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = ScriptedModel::from_texts(&["a", "b", "a"]);
        let err = m.write(&dir.path().join("m.gguf")).unwrap_err();
        assert!(err.to_string().contains("used twice"), "{err}");
        let m = ScriptedModel::from_texts(&["\n"]);
        assert!(m.write(&dir.path().join("m.gguf")).is_err());
    }
}
