//! The loaded model: a llama.cpp model with its context, the tokens its KV cache holds, and the
//! last prompt's tokenization (to reuse). Its fields are private to this module and the stages
//! of a generation below it: `decode` (the generation), `sequence` (its token loop, also each
//! batched slot's), `prefill` (the prompt into the cache), `end_guard` (tokens held back while
//! they may be spelling a tag), `kv_file` (the cache on disk), and for speculative decoding
//! `lookup`, `draft` (the draft model's context), `drafting` (where drafters come from) and
//! `drafts` (the bookkeeping).

mod decode;
mod draft;
mod drafting;
mod drafts;
mod end_guard;
mod kv_file;
mod lookup;
mod prefill;
mod sequence;

pub(super) use decode::run;
pub(super) use draft::{vocabulary_difference, Drafter};
pub(super) use drafting::DraftSource;
pub(super) use sequence::{Cache, Flags, Next, Sequence, Start};

use super::fit::Cut;
use super::memo::Memo;
use super::template::Template;
use super::Speculation;
use crate::llm::{ChatMessage, Timings};
use crate::stream::{TagSet, TagToken};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;
use std::collections::HashMap;
use std::time::Instant;

/// A model with its context, ready to generate.
pub(super) struct Loaded<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: Template,
    /// The tokens whose keys and values are in the KV cache, in order.
    cached: Vec<LlamaToken>,
    load_ms: u64,
    /// The longest token's length in bytes: found on the first very long message.
    longest_piece: std::cell::OnceCell<usize>,
    /// Where the conversation was last cut to fit the context.
    cut: Option<Cut>,
    /// The last prompt and generation, as tokens and text, for the next prompt to reuse.
    memo: Option<Memo>,
    /// What drafts tokens for speculative decoding.
    speculation: Speculation,
    /// The draft model's context, when there is one.
    drafter: Option<Drafter<'m>>,
    /// The draft model, to make its contexts again (the slots' own, this one after them).
    draft_source: Option<DraftSource<'m>>,
}

impl<'m> Loaded<'m> {
    pub(super) fn new(
        model: &'m LlamaModel,
        ctx: LlamaContext<'m>,
        template: Template,
        load_ms: u64,
    ) -> Self {
        Loaded {
            model,
            ctx,
            template,
            cached: Vec::new(),
            load_ms,
            longest_piece: std::cell::OnceCell::new(),
            cut: None,
            memo: None,
            speculation: Speculation::default(),
            drafter: None,
            draft_source: None,
        }
    }

    /// Puts `ctx` in the place of the context and returns the old one; the cache's tokens, the
    /// memo and the cut are forgotten with it (serving with slots lends its memory).
    pub(super) fn swap_context(&mut self, ctx: LlamaContext<'m>) -> LlamaContext<'m> {
        self.cached.clear();
        self.memo = None;
        self.cut = None;
        std::mem::replace(&mut self.ctx, ctx)
    }

    /// The context's cache as the token loop sees it: sequence 0, the whole context, drafted
    /// for as `--lookup` and the draft model say.
    fn cache(&mut self) -> Cache<'_, 'm> {
        Cache {
            n_ctx: self.ctx.n_ctx(),
            ctx: &mut self.ctx,
            id: 0,
            cached: &mut self.cached,
            lookup: self.speculation.lookup as usize,
            drafter: self.drafter.as_mut(),
        }
    }

    /// Refuses a last message that cannot fit `n_ctx` tokens however it is tokenized:
    /// megabytes of text (a file piped in) are refused before tokenizing them, which could
    /// take seconds.
    pub(super) fn refuse_too_long(
        &self,
        req: &crate::llm::GenerateRequest,
        n_ctx: u32,
    ) -> Result<(), crate::llm::EngineError> {
        let bytes = req.messages.last().map_or(0, |m| m.content.len());
        if bytes > n_ctx as usize {
            let at_least = self.fewest_tokens(bytes);
            if at_least >= n_ctx as usize {
                return Err(crate::llm::EngineError::MessageTooLong {
                    bytes: bytes as u64,
                    at_least: at_least as u64,
                    n_ctx,
                });
            }
        }
        Ok(())
    }

    /// The fewest tokens `bytes` bytes of text can become: each token spells at most the
    /// vocabulary's longest piece.
    fn fewest_tokens(&self, bytes: usize) -> usize {
        let longest = *self.longest_piece.get_or_init(|| {
            let vocab = self.model.vocab();
            let mut buf = Vec::new();
            (0..vocab.n_tokens())
                .map(|i| {
                    buf.clear();
                    vocab.token_to_piece_into(LlamaToken(i), &mut buf, true, None);
                    buf.len()
                })
                .max()
                .unwrap_or(1)
                .max(1)
        });
        bytes.div_ceil(longest)
    }

    /// The chat format's end-of-turn text, when generation must watch for it in the text.
    pub(super) fn end_text(&self) -> Option<&str> {
        self.template.end_text.as_deref()
    }

    pub(super) fn model(&self) -> &'m LlamaModel {
        self.model
    }

    pub(super) fn n_vocab(&self) -> i32 {
        self.model.n_vocab()
    }

    pub(super) fn n_ctx(&self) -> u32 {
        self.ctx.n_ctx()
    }

    /// The prompt for `messages` offering `tools` (the Jinja template with tools, or with a
    /// tool exchange in the conversation; else the chat template without tools).
    pub(super) fn render_with_tools(
        &self,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
    ) -> Result<String, String> {
        self.template.render_with_tools(self.model, messages, tools)
    }

    /// The call format of the template for prompts with tools.
    pub(super) fn call_format(&self) -> crate::tools::CallFormat {
        self.template.tools.format
    }

    /// Why the family's template stands in for the model's with tools: `Some` the first time
    /// only.
    pub(super) fn take_tools_note(&mut self) -> Option<String> {
        self.template.tools.note.take()
    }

    /// Tokenizes a rendered prompt. Where it starts with the text of the last prompt and
    /// generation ([`Memo`]), those tokens are reused and only the rest is tokenized, provided
    /// the rest starts with a control token (where the tokenizer splits the text anyway).
    /// Vocabularies that add tokens at the end of a text (end-of-sequence, separator) would
    /// have them inside the reused part: they are always tokenized whole.
    pub(super) fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let memo = self
            .memo
            .as_ref()
            .filter(|_| !vocab.should_add_eos() && !vocab.should_add_sep());
        if let Some((reused, at)) = memo.and_then(|m| m.reusable(text.as_bytes())) {
            let rest = &text.as_bytes()[at..];
            // A token spells at least one byte: no second pass to grow the buffer.
            let mut tokens = Vec::with_capacity(reused.len() + rest.len() + 1);
            tokens.extend(reused.iter().map(|&t| LlamaToken(t)));
            vocab.tokenize_into(rest, &mut tokens, false, true);
            let splits = match tokens.get(reused.len()) {
                Some(&first) => vocab.attr(first).0.contains(LlamaTokenAttr::Control),
                None => true,
            };
            if splits {
                return tokens;
            }
        }
        vocab.tokenize(text.as_bytes(), true, true)
    }

    /// The prompt as the model sees it, with the begin-of-text token the tokenizer adds.
    pub(super) fn render_with_bos(
        &self,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
    ) -> Result<String, String> {
        self.template.render_with_bos(self.model, messages, tools)
    }

    /// Tags that are single special tokens in this vocabulary, by token id.
    pub(super) fn tag_tokens(&self, tags: &TagSet) -> HashMap<LlamaToken, (String, TagToken)> {
        let vocab = self.model.vocab();
        tags.tags()
            .into_iter()
            .filter_map(
                |(text, tag)| match vocab.tokenize(text.as_bytes(), false, true)[..] {
                    [t] if is_special(&vocab, t) => Some((t, (text, tag))),
                    _ => None,
                },
            )
            .collect()
    }
}

fn is_special(vocab: &llama_cpp_2::vocab::LlamaVocab<'_>, t: LlamaToken) -> bool {
    let attrs = vocab.attr(t);
    attrs.0.contains(LlamaTokenAttr::Control) || attrs.0.contains(LlamaTokenAttr::UserDefined)
}

/// Tokens whose text is not shown (llama.cpp spells them only when asked for special tokens).
pub(super) fn is_hidden(vocab: &llama_cpp_2::vocab::LlamaVocab<'_>, t: LlamaToken) -> bool {
    let attrs = vocab.attr(t);
    attrs.0.contains(LlamaTokenAttr::Control) || attrs.0.contains(LlamaTokenAttr::Unknown)
}

pub(super) fn decode_error(e: llama_cpp_2::DecodeError) -> crate::llm::EngineError {
    crate::llm::EngineError::Decode(e.to_string())
}

/// The timings of a generation that ends now: it `started`, its prompt was in the cache at
/// `prompt_done`, its first token sampled at `first_token`; `tokens` generated.
pub(super) fn timings(
    load_ms: u64,
    started: Instant,
    prompt_done: Instant,
    first_token: Option<Instant>,
    tokens: u32,
) -> Timings {
    let ended = Instant::now();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let generation = ended - prompt_done;
    Timings {
        load_ms,
        prompt_ms: ms(prompt_done - started),
        first_token_ms: first_token.map_or(0, |t| ms(t - started)),
        generation_ms: ms(generation),
        tokens_per_second: if generation.as_secs_f64() > 0.0 {
            f64::from(tokens) / generation.as_secs_f64()
        } else {
            0.0
        },
        ..Timings::default()
    }
}
