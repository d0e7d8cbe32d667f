//! One generation on a loaded model: render and tokenize the prompt, decode only what the KV
//! cache lacks (in chunks of at most n_batch), then sample token by token through the router
//! until a stop condition.

use super::memo::Memo;
use super::template::render_llama3;
use super::worker::probe;
use crate::llm::{
    drop_oldest_turn, ChatMessage, Completion, EngineError, EngineEvent, EventSender,
    GenerateRequest, Generation, Role, StopReason, Timings, Usage,
};
use crate::stream::{TagSet, TagToken};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;
use llama_cpp_2::DecodeError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How prompts are rendered for this model.
pub(super) enum Template {
    /// The model's own template, which llama.cpp recognises.
    Model(LlamaChatTemplate),
    /// The Llama 3 format written by reflect.
    Llama3Fallback,
}

impl Template {
    /// Picks the model's template when llama.cpp can apply it; otherwise the fallback, with a
    /// warning for the user.
    pub(super) fn detect(model: &LlamaModel) -> (Template, Option<String>) {
        match model.chat_template(None) {
            Ok(t) => match model.apply_chat_template(&t, &to_llama(&probe()), true) {
                Ok(_) => (Template::Model(t), None),
                Err(_) => (
                    Template::Llama3Fallback,
                    Some("the model's chat template is not one llama.cpp recognises; using the Llama 3 format".into()),
                ),
            },
            Err(_) => (
                Template::Llama3Fallback,
                Some("the model has no chat template (tokenizer.chat_template); using the Llama 3 format".into()),
            ),
        }
    }
}

impl Template {
    /// The prompt for `messages`, the assistant's turn open.
    fn render(&self, model: &LlamaModel, messages: &[ChatMessage]) -> String {
        match self {
            Template::Model(t) => model
                .apply_chat_template(t, &to_llama(messages), true)
                .unwrap_or_else(|_| render_llama3(messages)),
            Template::Llama3Fallback => render_llama3(messages),
        }
    }

    /// The prompt as the model sees it, with the begin-of-text token the tokenizer adds: needs
    /// the vocabulary only.
    pub(super) fn render_with_bos(&self, model: &LlamaModel, messages: &[ChatMessage]) -> String {
        let vocab = model.vocab();
        let mut out = String::new();
        if vocab.should_add_bos() {
            out.push_str(&String::from_utf8_lossy(&vocab.token_to_piece(
                vocab.bos(),
                true,
                None,
            )));
        }
        out.push_str(&self.render(model, messages));
        out
    }
}

fn to_llama(messages: &[ChatMessage]) -> Vec<LlamaChatMessage> {
    messages
        .iter()
        .filter_map(|m| {
            LlamaChatMessage::new(m.role.as_str().to_string(), m.content.replace('\0', "")).ok()
        })
        .collect()
}

/// A model with its context, ready to generate.
pub(super) struct Loaded<'m> {
    model: &'m LlamaModel,
    pub(super) ctx: LlamaContext<'m>,
    template: Template,
    /// The tokens whose keys and values are in the KV cache, in order.
    pub(super) cached: Vec<LlamaToken>,
    load_ms: u64,
    /// The longest token's length in bytes: found on the first very long message.
    longest_piece: std::cell::OnceCell<usize>,
    /// Where the conversation was last cut to fit the context.
    cut: Option<Cut>,
    /// The last prompt and generation, as tokens and text, for the next prompt to reuse.
    pub(super) memo: Option<Memo>,
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
        }
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

    pub(super) fn n_vocab(&self) -> i32 {
        self.model.n_vocab()
    }

    pub(super) fn n_ctx(&self) -> u32 {
        self.ctx.n_ctx()
    }

    fn render(&self, messages: &[ChatMessage]) -> String {
        self.template.render(self.model, messages)
    }

    /// Tokenizes a rendered prompt. Where it starts with the text of the last prompt and
    /// generation ([`Memo`]), those tokens are reused and only the rest is tokenized, provided
    /// the rest starts with a control token (where the tokenizer splits the text anyway).
    /// Vocabularies that add tokens at the end of a text (end-of-sequence, separator) would
    /// have them inside the reused part: they are always tokenized whole.
    fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
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
    pub(super) fn render_with_bos(&self, messages: &[ChatMessage]) -> String {
        self.template.render_with_bos(self.model, messages)
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
fn is_hidden(vocab: &llama_cpp_2::vocab::LlamaVocab<'_>, t: LlamaToken) -> bool {
    let attrs = vocab.attr(t);
    attrs.0.contains(LlamaTokenAttr::Control) || attrs.0.contains(LlamaTokenAttr::Unknown)
}

fn decode_error(e: DecodeError) -> EngineError {
    EngineError::Decode(e.to_string())
}

/// Tokens kept free for the answer when deciding whether earlier turns still fit.
fn room_to_answer(max_tokens: Option<u32>, n_ctx: u32) -> usize {
    max_tokens.unwrap_or(u32::MAX).min(n_ctx / 4) as usize
}

/// A rendered prompt and its tokens.
#[derive(Clone)]
struct Prompt {
    text: String,
    tokens: Vec<LlamaToken>,
}

/// Where the last prompt was cut: how many of the oldest turns were left out, and the first
/// user message kept (to recognise the same conversation).
pub(super) struct Cut {
    dropped: usize,
    first_kept: String,
}

fn first_user(messages: &[ChatMessage]) -> Option<&str> {
    messages
        .iter()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
}

/// Renders and tokenizes the conversation, leaving out the oldest turns (never the system
/// prompt nor the current message) when the prompt plus `room` would not fit the context.
///
/// A cut is made with a quarter of the context to spare and then kept while the conversation
/// still fits with it: the prompt's start stays the same from turn to turn, so the KV cache
/// keeps being reused (cutting one turn more every turn would change the prompt right after
/// the system prompt each time). Returns the tokens, how many turns are left out, and whether
/// the cut is new (worth telling the user).
fn fit_context(
    s: &Loaded<'_>,
    messages: &[ChatMessage],
    room: usize,
) -> (Prompt, usize, Option<Cut>) {
    let n_ctx = s.ctx.n_ctx() as usize;
    let tokenize = |m: &[ChatMessage]| {
        let text = s.render(m);
        let tokens = s.tokenize(&text);
        Prompt { text, tokens }
    };
    let fits = |p: &Prompt, slack: usize| p.tokens.len() + room + slack <= n_ctx;
    let all = tokenize(messages);
    if fits(&all, 0) {
        return (all, 0, None);
    }
    if let Some(cut) = &s.cut {
        let mut m = messages.to_vec();
        let same = (0..cut.dropped).all(|_| drop_oldest_turn(&mut m))
            && first_user(&m) == Some(cut.first_kept.as_str());
        if same {
            let t = tokenize(&m);
            if fits(&t, 0) {
                return (t, cut.dropped, None);
            }
        }
    }
    let mut m = messages.to_vec();
    let mut dropped = 0;
    let mut first_fit = None;
    let mut last = all;
    while drop_oldest_turn(&mut m) {
        dropped += 1;
        last = tokenize(&m);
        let cut = || Cut {
            dropped,
            first_kept: first_user(&m).unwrap_or_default().to_string(),
        };
        if fits(&last, n_ctx / 4) {
            return (last, dropped, Some(cut()));
        }
        if first_fit.is_none() && fits(&last, 0) {
            first_fit = Some((last.clone(), dropped, cut()));
        }
    }
    match first_fit {
        Some((t, d, cut)) => (t, d, Some(cut)),
        None => (last, dropped, None),
    }
}

pub(super) fn run(
    s: &mut Loaded<'_>,
    req: &GenerateRequest,
    events: &EventSender,
    cancel: &AtomicU64,
) -> Result<Completion, EngineError> {
    let started = Instant::now();
    let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
    let vocab = s.model.vocab();
    let n_ctx = s.ctx.n_ctx();
    // Megabytes of text (a file piped in) are refused before tokenizing them, which could
    // take seconds.
    let message_bytes = req.messages.last().map_or(0, |m| m.content.len());
    if message_bytes > n_ctx as usize {
        let at_least = s.fewest_tokens(message_bytes);
        if at_least >= n_ctx as usize {
            return Err(EngineError::MessageTooLong {
                bytes: message_bytes as u64,
                at_least: at_least as u64,
                n_ctx,
            });
        }
    }
    let (Prompt { text, tokens }, dropped, new_cut) =
        fit_context(s, &req.messages, room_to_answer(req.max_tokens, n_ctx));
    if dropped == 0 {
        s.cut = None;
    }
    if let Some(cut) = new_cut {
        s.cut = Some(cut);
        let turns = if dropped == 1 { "turn" } else { "turns" };
        let _ = events.send(EngineEvent::Warning(format!(
            "the conversation no longer fits the context ({n_ctx} tokens): left out the {dropped} oldest {turns}"
        )));
    }
    if tokens.is_empty() || tokens.len() as u64 >= u64::from(n_ctx) {
        return Err(EngineError::PromptTooLong {
            prompt_tokens: tokens.len() as u32,
            n_ctx,
        });
    }

    // Reuse the KV cache for the longest common prefix; keep at least one token to decode so
    // that logits exist.
    let mut common = s
        .cached
        .iter()
        .zip(&tokens)
        .take_while(|(a, b)| a == b)
        .count();
    common = common.min(tokens.len() - 1);
    if s.ctx.kv_cache_seq_rm(0, Some(common as u32), None).is_err() {
        s.ctx.clear_kv_cache();
        common = 0;
    }
    s.cached.truncate(common);

    let mut usage = Usage {
        prompt_tokens: tokens.len() as u32,
        ..Usage::default()
    };
    let n_batch = s.ctx.n_batch().max(1) as usize;
    // Steps of one micro-batch (what llama.cpp computes at once anyway), so that progress can
    // be reported, and a cancel heard, after each.
    let step = (s.ctx.n_ubatch().max(1) as usize).min(n_batch);
    let todo = tokens.len() - common;
    let mut batch = LlamaBatch::new(n_batch, 1);
    let mut stop = None;
    for start in (common..tokens.len()).step_by(step) {
        if cancelled() {
            stop = Some(StopReason::Cancelled);
            break;
        }
        let end = (start + step).min(tokens.len());
        batch.clear();
        for (i, t) in tokens.iter().enumerate().take(end).skip(start) {
            batch
                .add(*t, i as i32, &[0], i + 1 == tokens.len())
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        s.ctx.decode(&mut batch).map_err(decode_error)?;
        s.cached.extend_from_slice(&tokens[start..end]);
        usage.prompt_tokens_evaluated += (end - start) as u32;
        if todo > step {
            let _ = events.send(EngineEvent::PromptProgress {
                id: req.id,
                done: (end - common) as u32,
                total: todo as u32,
            });
        }
    }
    let prompt_done = Instant::now();
    let _ = events.send(EngineEvent::PromptProcessed {
        id: req.id,
        prompt_tokens: usage.prompt_tokens,
        evaluated: usage.prompt_tokens_evaluated,
    });

    let tag_tokens = s.tag_tokens(&req.router.tags);
    let (mut sampler, seed) = req.sampling.build(s.model.n_vocab());
    let mut gen = Generation::new(req, events);
    gen.usage = usage;
    let mut first_token = None;
    let mut logits_at = batch.n_tokens() - 1;
    let mut memo = Memo::new(&text, &tokens);
    let mut piece = Vec::new();
    let stop = loop {
        if let Some(stop) = stop {
            break stop;
        }
        if cancelled() {
            break StopReason::Cancelled;
        }
        if req
            .max_tokens
            .is_some_and(|max| gen.usage.completion_tokens >= max)
        {
            break StopReason::MaxTokens;
        }
        if s.cached.len() as u64 >= u64::from(n_ctx) {
            break StopReason::ContextFull;
        }
        let token = sampler.sample(&s.ctx, logits_at);
        if vocab.is_eog(token) {
            break StopReason::EndOfTurn;
        }
        first_token.get_or_insert_with(Instant::now);
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, true, None);
        memo.push(token, &piece);
        if let Some((_, tag)) = tag_tokens.get(&token) {
            gen.tag(*tag);
        } else if !is_hidden(&vocab, token) {
            gen.bytes(&piece);
        }
        gen.count(1);
        if gen.answer_done() {
            break StopReason::OutputClosed;
        }
        batch.clear();
        batch
            .add(token, s.cached.len() as i32, &[0], true)
            .map_err(|e| EngineError::Decode(e.to_string()))?;
        match s.ctx.decode(&mut batch) {
            Ok(()) => {}
            Err(DecodeError::NoKvCacheSlot) => {
                stop = Some(StopReason::ContextFull);
                continue;
            }
            Err(e) => return Err(decode_error(e)),
        }
        s.cached.push(token);
        logits_at = 0;
    };

    let ended = Instant::now();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let generation = ended - prompt_done;
    let timings = Timings {
        load_ms: s.load_ms,
        prompt_ms: ms(prompt_done - started),
        first_token_ms: first_token.map_or(0, |t| ms(t - started)),
        generation_ms: ms(generation),
        tokens_per_second: if generation.as_secs_f64() > 0.0 {
            f64::from(gen.usage.completion_tokens) / generation.as_secs_f64()
        } else {
            0.0
        },
    };
    let text = String::from_utf8_lossy(memo.generated()).into_owned();
    s.memo = Some(memo);
    let mut done = gen.finish(stop, timings, text);
    done.seed = seed;
    Ok(done)
}
