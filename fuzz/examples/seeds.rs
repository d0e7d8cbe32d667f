//! Writes the seed corpora of the `profile`, `theme` and `gguf` targets into `seeds/` (run from
//! `fuzz/`: `cargo run --example seeds`). GGUF seeds come from reflect's own writer
//! (`GgufWriter`, `write_llama_with`) with a vocabulary of a few tokens, so each is a few KB; a
//! scripted model (262 base tokens, 64-wide) would be ~250 KB and slow every mutation.

use reflect_fuzz::gguf::{
    write_llama_with, GgufType, GgufWriter, LlamaShape, LlamaVocabSpec, TokenKind, Value, VocabToken,
};
use reflect_fuzz::{profile, theme};
use std::path::Path;

fn save(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn tiny_vocab(texts: &[&str], template: bool) -> LlamaVocabSpec {
    let kind = |t: &str| match t {
        "<unk>" => TokenKind::Unknown,
        t if t.starts_with("<|") => TokenKind::Control,
        t if t.starts_with("<0x") => TokenKind::Byte,
        _ => TokenKind::Normal,
    };
    LlamaVocabSpec {
        tokens: texts
            .iter()
            .map(|t| VocabToken {
                text: t.to_string(),
                kind: kind(t),
            })
            .collect(),
        bos: 1,
        eos: 2,
        eot: 2,
        chat_template: template.then(|| "{{ messages }}".to_string()),
    }
}

fn llama(vocab: &LlamaVocabSpec, ty: GgufType) -> Vec<u8> {
    let shape = LlamaShape {
        name: "seed".into(),
        n_embd: 2,
        n_layer: 1,
        n_ff: 2,
        n_head: 1,
        context_length: 64,
        ty,
        norm_ty: GgufType::F32,
    };
    let dir = std::env::temp_dir().join(format!("reflect-seeds-{}", std::process::id()));
    let path = dir.join("m.gguf");
    write_llama_with(&path, &shape, vocab, &[], |_, dims| {
        vec![0.5; dims.iter().product::<u64>() as usize]
    })
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn written(w: &GgufWriter) -> Vec<u8> {
    let mut out = Vec::new();
    w.write_to(&mut out).unwrap();
    out
}

fn gguf(dir: &Path) {
    let words = [
        "<unk>",
        "<|bos|>",
        "<|eos|>",
        "<0x0A>",
        "a",
        "b",
        "\u{2581}c",
    ];
    save(
        dir,
        "llama-f16",
        &llama(&tiny_vocab(&words, true), GgufType::F16),
    );
    save(
        dir,
        "llama-f32-no-template",
        &llama(&tiny_vocab(&words[..5], false), GgufType::F32),
    );
    let dup = ["<unk>", "<|bos|>", "<|eos|>", "a", "a"];
    save(
        dir,
        "llama-duplicate-token",
        &llama(&tiny_vocab(&dup, true), GgufType::F16),
    );

    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::Str("llama".into()));
    save(dir, "architecture-only", &written(&w));

    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::Str("qwen2".into()))
        .kv("general.alignment", Value::U32(64))
        .kv("qwen2.context_length", Value::U32(32768))
        .kv("general.sampling.temp", Value::F32(0.6))
        .kv("general.sampling.top_k", Value::I32(20))
        .kv("general.sampling.seed", Value::U32(u32::MAX))
        .kv("tokenizer.ggml.add_bos_token", Value::Bool(true))
        .kv("tokenizer.chat_template", Value::Str(" ".into()))
        .kv("tokenizer.ggml.scores", Value::F32Array(vec![0.0, -1.0]))
        .kv("tokenizer.ggml.token_type", Value::I32Array(vec![1, 3]))
        .kv(
            "tokenizer.ggml.tokens",
            Value::StrArray(vec!["x".into(), "y".into()]),
        )
        .tensor("w", &[2, 2], GgufType::F16, &[1.0, 2.0, 3.0, 4.0])
        .tensor("v", &[3], GgufType::F32, &[1.0, 2.0, 3.0]);
    save(dir, "every-value-kind", &written(&w));
}

fn toml(dir: &Path, bundled: &[reflect_fuzz::config::Bundled], extra: &[(&str, &str)]) {
    for b in bundled {
        save(dir, b.name, b.text.as_bytes());
    }
    for (name, text) in extra {
        save(dir, name, text.as_bytes());
    }
}

fn main() {
    let seeds = Path::new("seeds");
    gguf(&seeds.join("gguf"));
    toml(
        &seeds.join("profile"),
        profile::BUNDLED,
        &[
            (
                "extends-user-reflection",
                "name = \"mine\"\nextends = \"reflection\"\ninstructions = \"\"\"\nBe brief.\"\"\"\n\0\
                 extends = \"reflection\"\nhistory = \"full\"\n[sampling]\ntemperature = 0.3\n",
            ),
            (
                "every-key",
                "description = \"d\"\nsystem = 'lit'\nthink_carefully = false\nhistory = \"answer\"\n\
                 [sampling]\ntemperature = 1\ntop_p = 0.5\ntop_k = 0\nmin_p = 0.0\n\
                 repeat_penalty = 1.1\nseed = 4294967295\nmax_tokens = 0\n\
                 [tags]\nthinking = [\"think\", \"t\"]\nreflection = []\noutput = [\"answer\"]\n\
                 start_in_thinking = true\nstop_after_output = false\n",
            ),
            (
                "inline-and-dotted",
                "sampling = { temperature = 2.5e-1, seed = 7 }\ntags.output = [\"o\"]\n",
            ),
            ("cycle", "extends = \"concise\"\n\0extends = \"concise\"\n"),
        ],
    );
    toml(
        &seeds.join("theme"),
        theme::BUNDLED,
        &[
            (
                "extends-user-dark",
                "extends = \"dark\"\n[styles]\nerror = \"#ff0000\"\nthinking = { bold = true }\n\0\
                 extends = \"dark\"\ndescription = \"mine\"\n[styles]\ntext = 255\n",
            ),
            (
                "every-style-key",
                "name = \"mine\"\n[styles]\ncode = { fg = \"light_blue\", bg = 17, bold = true, \
                 italic = true, dim = true, underline = true, reversed = true }\nmuted = {}\n",
            ),
        ],
    );
}
