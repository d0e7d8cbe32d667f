//! Writes llama-architecture GGUF files from a shape, a vocabulary and a weight generator.

use super::format::{GgufType, Value};
use super::writer::GgufWriter;
use std::io;
use std::path::Path;

/// SentencePiece token types as llama.cpp reads them from `tokenizer.ggml.token_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Normal,
    Unknown,
    Control,
    Byte,
}

impl TokenKind {
    fn code(self) -> i32 {
        match self {
            TokenKind::Normal => 1,
            TokenKind::Unknown => 2,
            TokenKind::Control => 3,
            TokenKind::Byte => 6,
        }
    }
}

#[derive(Clone, Debug)]
pub struct VocabToken {
    pub text: String,
    pub kind: TokenKind,
}

/// A SentencePiece ("llama") vocabulary with the Llama 3 chat control tokens and all 256 byte
/// tokens, so that any text tokenizes.
#[derive(Clone, Debug)]
pub struct LlamaVocabSpec {
    pub tokens: Vec<VocabToken>,
    pub bos: u32,
    pub eos: u32,
    pub eot: u32,
    pub chat_template: Option<String>,
}

/// The chat template stored in generated models: Llama 3's format, recognised by llama.cpp.
pub const LLAMA3_TEMPLATE: &str = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

impl LlamaVocabSpec {
    /// Ids 0..6 are `<unk>`, the Llama 3 control tokens; then the 256 byte tokens.
    pub fn base() -> Self {
        Self::with_chat(ChatTokens::Llama3)
    }

    /// Like [`LlamaVocabSpec::base`] with another family's control tokens at ids 1..6 (begin,
    /// end, two chat tokens, end of turn), and no chat template.
    pub fn with_chat(chat: ChatTokens) -> Self {
        let mut v = LlamaVocabSpec {
            tokens: Vec::new(),
            bos: 1,
            eos: 2,
            eot: 5,
            chat_template: Some(LLAMA3_TEMPLATE.to_string()),
        };
        if chat != ChatTokens::Llama3 {
            v.chat_template = None;
        }
        v.push("<unk>", TokenKind::Unknown);
        for t in chat.texts() {
            v.push(t, TokenKind::Control);
        }
        for b in 0..=255u8 {
            v.push(&format!("<0x{b:02X}>"), TokenKind::Byte);
        }
        v
    }

    /// Id of the byte token for `b`.
    pub fn byte_token(b: u8) -> u32 {
        6 + u32::from(b)
    }

    /// Appends a token and returns its id. Spaces in normal tokens are stored as SentencePiece's
    /// "▁", which llama.cpp turns back into spaces.
    pub fn push(&mut self, text: &str, kind: TokenKind) -> u32 {
        let text = match kind {
            TokenKind::Normal => text.replace(' ', "\u{2581}"),
            _ => text.to_string(),
        };
        self.tokens.push(VocabToken { text, kind });
        (self.tokens.len() - 1) as u32
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// The control tokens a vocabulary is shaped by, for the chat-format fallback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatTokens {
    /// `<|start_header_id|>`, `<|end_header_id|>`, `<|eot_id|>`.
    Llama3,
    /// `<|im_start|>`, but `<|im_end|>` only as text: its end of turn spans tokens.
    ChatMlStartOnly,
    /// `<|im_start|>` and `<|im_end|>`.
    ChatMl,
    /// `<start_of_turn>`, `<end_of_turn>`.
    Gemma,
    /// No chat tokens at all.
    Bare,
}

impl ChatTokens {
    /// Begin, end, two chat tokens, end of turn.
    fn texts(self) -> [&'static str; 5] {
        match self {
            ChatTokens::Llama3 => [
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ],
            ChatTokens::ChatMlStartOnly => [
                "<s>",
                "</s>",
                "<|im_start|>",
                "<|reserved_0|>",
                "<|endoftext|>",
            ],
            ChatTokens::ChatMl => [
                "<s>",
                "</s>",
                "<|im_start|>",
                "<|reserved_0|>",
                "<|im_end|>",
            ],
            ChatTokens::Gemma => [
                "<bos>",
                "<eos>",
                "<start_of_turn>",
                "<pad>",
                "<end_of_turn>",
            ],
            ChatTokens::Bare => [
                "<s>",
                "</s>",
                "<reserved_1>",
                "<reserved_2>",
                "<reserved_3>",
            ],
        }
    }
}

/// Model dimensions.
#[derive(Clone, Debug)]
pub struct LlamaShape {
    pub name: String,
    pub n_embd: u64,
    pub n_layer: u64,
    pub n_ff: u64,
    pub n_head: u64,
    pub context_length: u32,
    pub ty: GgufType,
    /// The type of the norm vectors: f32, as in real model files (ggml's CPU back end cannot
    /// multiply f32 activations by f16 norms in every case; llama.cpp then aborts).
    pub norm_ty: GgufType,
}

/// Writes a llama model, with extra metadata keys (e.g. `general.sampling.temp`), written after the
/// architecture and tokenizer keys.
pub fn write_llama_with(
    path: &Path,
    shape: &LlamaShape,
    vocab: &LlamaVocabSpec,
    metadata: &[(String, Value)],
    weights: impl FnMut(&str, &[u64]) -> Vec<f32>,
) -> io::Result<()> {
    llama_writer(shape, vocab, metadata, "llama", weights).write_file(path)
}

/// The writer [`write_llama_with`] fills, its architecture's keys named `arch` (another name
/// than `llama` makes a file that only its vocabulary can be read from).
pub fn llama_writer(
    shape: &LlamaShape,
    vocab: &LlamaVocabSpec,
    metadata: &[(String, Value)],
    arch: &str,
    weights: impl FnMut(&str, &[u64]) -> Vec<f32>,
) -> GgufWriter {
    let mut w = GgufWriter::new();
    architecture_keys(&mut w, shape, arch);
    vocab_keys(&mut w, vocab);
    for (key, value) in metadata {
        w.kv(key, value.clone());
    }
    tensors(&mut w, shape, vocab.len() as u64, weights);
    w
}

/// `general.*` and the architecture's dimensions, named `arch.*`.
fn architecture_keys(w: &mut GgufWriter, shape: &LlamaShape, arch: &str) {
    let head_dim = shape.n_embd / shape.n_head;
    w.kv("general.architecture", Value::Str(arch.into()))
        .kv("general.name", Value::Str(shape.name.clone()))
        .kv("general.alignment", Value::U32(32))
        .kv(
            &format!("{arch}.context_length"),
            Value::U32(shape.context_length),
        )
        .kv(
            &format!("{arch}.embedding_length"),
            Value::U32(shape.n_embd as u32),
        )
        .kv(
            &format!("{arch}.block_count"),
            Value::U32(shape.n_layer as u32),
        )
        .kv(
            &format!("{arch}.feed_forward_length"),
            Value::U32(shape.n_ff as u32),
        )
        .kv(
            &format!("{arch}.attention.head_count"),
            Value::U32(shape.n_head as u32),
        )
        .kv(
            &format!("{arch}.attention.head_count_kv"),
            Value::U32(shape.n_head as u32),
        )
        .kv(
            &format!("{arch}.attention.layer_norm_rms_epsilon"),
            Value::F32(1e-5),
        )
        .kv(
            &format!("{arch}.rope.dimension_count"),
            Value::U32(head_dim as u32),
        )
        .kv(&format!("{arch}.rope.freq_base"), Value::F32(500_000.0));
}

/// The tokenizer's keys: the vocabulary, its special tokens and the chat template.
fn vocab_keys(w: &mut GgufWriter, vocab: &LlamaVocabSpec) {
    w.kv("tokenizer.ggml.model", Value::Str("llama".into()))
        .kv(
            "tokenizer.ggml.tokens",
            Value::StrArray(vocab.tokens.iter().map(|t| t.text.clone()).collect()),
        )
        .kv(
            "tokenizer.ggml.scores",
            Value::F32Array(vec![0.0; vocab.len()]),
        )
        .kv(
            "tokenizer.ggml.token_type",
            Value::I32Array(vocab.tokens.iter().map(|t| t.kind.code()).collect()),
        )
        .kv("tokenizer.ggml.bos_token_id", Value::U32(vocab.bos))
        .kv("tokenizer.ggml.eos_token_id", Value::U32(vocab.eos))
        .kv("tokenizer.ggml.eot_token_id", Value::U32(vocab.eot))
        .kv("tokenizer.ggml.unknown_token_id", Value::U32(0))
        .kv("tokenizer.ggml.add_bos_token", Value::Bool(true))
        .kv("tokenizer.ggml.add_eos_token", Value::Bool(false))
        .kv("tokenizer.ggml.add_space_prefix", Value::Bool(false));
    if let Some(t) = &vocab.chat_template {
        w.kv("tokenizer.chat_template", Value::Str(t.clone()));
    }
}

/// The tensors of a llama model of this shape over `n_vocab` tokens, valued by `weights`.
fn tensors(
    w: &mut GgufWriter,
    shape: &LlamaShape,
    n_vocab: u64,
    mut weights: impl FnMut(&str, &[u64]) -> Vec<f32>,
) {
    let (e, f) = (shape.n_embd, shape.n_ff);
    // Norm vectors stay f32, as in real model files: ggml's CPU back end cannot multiply an
    // f32 activation by an f16 vector.
    let mut add = |w: &mut GgufWriter, name: &str, dims: &[u64]| {
        let values = weights(name, dims);
        let ty = if dims.len() == 1 {
            GgufType::F32
        } else {
            shape.ty
        };
        w.tensor(name, dims, ty, &values);
    };
    add(w, "token_embd.weight", &[e, n_vocab]);
    add(w, "output_norm.weight", &[e]);
    add(w, "output.weight", &[e, n_vocab]);
    for l in 0..shape.n_layer {
        for (part, dims) in [
            ("attn_norm", vec![e]),
            ("attn_q", vec![e, e]),
            ("attn_k", vec![e, e]),
            ("attn_v", vec![e, e]),
            ("attn_output", vec![e, e]),
            ("ffn_norm", vec![e]),
            ("ffn_gate", vec![e, f]),
            ("ffn_up", vec![e, f]),
            ("ffn_down", vec![f, e]),
        ] {
            add(w, &format!("blk.{l}.{part}.weight"), &dims);
        }
    }
}
